//! The same typed `Reading` messages as `demo`, over a shared-memory ring instead of a POSIX
//! message queue: producer processes and a consumer, with a summary.
//!
//! ```text
//! cargo run --release --example ring_demo                          # 2 producers x 1,000,000
//! cargo run --release --example ring_demo -- --producers 1 --count 5000000   # SPSC ring
//! ```
//!
//! With one producer the ring is single-producer/single-consumer (the fast path); with more it
//! is multi-producer. The consumer checks that every producer's readings arrive once each and in
//! order, and stops when every producer has gone ([`ErrorKind::Disconnected`]). The segment is
//! removed at the end, also on error or Ctrl-C.
//!
//! [`ErrorKind::Disconnected`]: posix_ipc::ErrorKind::Disconnected

#[path = "shared/reading.rs"]
#[allow(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use posix_ipc::{ErrorKind, RingMode, RingReceiver, RingSender};
use reading::{arg, Reading};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const CAPACITY: usize = 4096;
const BATCH: usize = 64;

/// Removes the ring's segment when dropped.
struct SegmentGuard(String);

impl Drop for SegmentGuard {
    fn drop(&mut self) {
        if posix_ipc::unlink_shared_memory(&self.0).is_ok() {
            eprintln!("ring_demo: removed segment {}", self.0);
        }
    }
}

fn main() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if arg(&args, "--role", "") == "produce" {
        return produce(&args);
    }
    let producers: u32 = arg(&args, "--producers", "2").parse()?;
    let count: u64 = arg(&args, "--count", "1000000").parse()?;
    let mode = if producers > 1 {
        RingMode::Mpmc
    } else {
        RingMode::Spsc
    };
    let name = format!("/posix-ipc-ring-demo-{}", std::process::id());
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }
    let rx = RingReceiver::<Reading>::create(&name, CAPACITY, mode)?;
    let _guard = SegmentGuard(name.clone());
    println!(
        "ring_demo: {mode:?} ring {name}: {CAPACITY} slots of {} bytes",
        std::mem::size_of::<Reading>()
    );
    // With several producers (MPMC), hold a producer handle until every producer process has
    // registered, so the consumer does not see "every producer gone" between the first
    // finishing and the last starting. (An SPSC ring admits only its one producer.)
    let mut holder = match mode {
        RingMode::Mpmc => Some(RingSender::<Reading>::open(&name)?),
        RingMode::Spsc => None,
    };
    let exe = std::env::current_exe()?;
    let mut children: Vec<Child> = (0..producers)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "--role",
                    "produce",
                    "--ring",
                    &name,
                    "--id",
                    &id.to_string(),
                    "--count",
                    &count.to_string(),
                ])
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    // Each producer announces itself with one reading flagged u32::MAX before streaming.
    let mut announced = 0;
    let mut next = vec![0u64; producers as usize];
    let (mut received, mut lost_or_dup, mut start) = (0u64, 0u64, None);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if interrupted.load(Ordering::Relaxed) {
            for c in &mut children {
                let _ = c.kill();
                let _ = c.wait();
            }
            eprintln!("ring_demo: interrupted");
            drop(rx);
            drop(_guard);
            std::process::exit(130);
        }
        batch.clear();
        match rx.recv_batch(&mut batch, BATCH) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Disconnected => break,
            Err(e) => return Err(e.into()),
        }
        for r in &batch {
            if r.flags == u32::MAX {
                announced += 1;
                if announced == producers {
                    start = Some(Instant::now());
                    // All producers registered: the holder can go.
                    drop(holder.take());
                }
                continue;
            }
            let expected = &mut next[r.producer as usize];
            if r.seq != *expected {
                lost_or_dup += 1;
            }
            *expected = r.seq + 1;
            received += 1;
        }
    }
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    let mut failed = false;
    for mut c in children {
        failed |= !c.wait()?.success();
    }
    let total = count * u64::from(producers);
    println!("ring_demo: summary");
    println!("  processes   1 consumer, {producers} producers ({mode:?})");
    println!("  sent        {total}");
    println!("  received    {received}");
    println!("  lost or duplicated or out of order  {lost_or_dup}");
    println!(
        "  throughput  {:.1} M readings/s over {secs:.3} s",
        received as f64 / secs.max(1e-9) / 1e6
    );
    if failed || received != total || lost_or_dup > 0 {
        return Err("the ring demo saw a problem (see above)".into());
    }
    Ok(())
}

fn produce(args: &[String]) -> AnyResult<()> {
    let name = arg(args, "--ring", "");
    let id: u32 = arg(args, "--id", "0").parse()?;
    let count: u64 = arg(args, "--count", "0").parse()?;
    let tx = RingSender::<Reading>::open(&name)?;
    tx.send(&Reading {
        seq: 0,
        value: 0.0,
        producer: id,
        flags: u32::MAX,
    })?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut seq = 0;
    while seq < count {
        batch.clear();
        let end = (seq + BATCH as u64).min(count);
        batch.extend((seq..end).map(|s| Reading {
            seq: s,
            value: s as f64,
            producer: id,
            flags: 0,
        }));
        tx.send_batch(&batch)?;
        seq = end;
    }
    // Dropping the sender tells the consumer this producer is done.
    Ok(())
}
