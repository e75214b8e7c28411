//! The same typed `Reading` messages as `demo`, over a shared-memory ring instead of a POSIX
//! message queue: producer processes and a consumer (this process), with a summary.
//!
//! ```text
//! cargo run --release --example ring_demo                          # 2 producers x 1,000,000
//! cargo run --release --example ring_demo -- --producers 1 --count 5000000   # SPSC ring
//! ```
//!
//! With one producer the ring is single-producer/single-consumer (the fast path); with more it
//! is multi-producer. The consumer checks that every producer's readings arrive once each and in
//! order, and stops when every producer has gone ([`ErrorKind::Disconnected`]). The segment is
//! owned: removed at the end, also on error or Ctrl-C.
//!
//! If a producer is killed (`kill -9`), the consumer notices within a second or two, stops the
//! other producers, drains what they sent, and says which process died and how, what each
//! producer sent and what arrived from it, what was lost (at most the reading it was writing)
//! and that nothing was duplicated or reordered, then exits non-zero with one line that says
//! why. Ctrl-C stops everything within a few seconds.
//!
//! [`ErrorKind::Disconnected`]: posix_ipc::ErrorKind::Disconnected

#[path = "shared/children.rs"]
mod children;
#[path = "shared/reading.rs"]
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::time::{Duration, Instant};

use children::{describe, Children};
use posix_ipc::{ErrorKind, RingMode, RingReceiver, RingSender};
use reading::{arg, Reading};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const CAPACITY: usize = 4096;
const BATCH: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = if arg(&args, "--role", "") == "produce" {
        produce(&args)
    } else {
        run(&args)
    };
    if let Err(e) = result {
        if e.to_string().starts_with("interrupted") {
            eprintln!("ring_demo: {e}");
            std::process::exit(130);
        }
        eprintln!("ring_demo: failed: {e}");
        std::process::exit(1);
    }
}

/// What arrived from one producer.
#[derive(Default, Clone, Copy)]
struct Arrivals {
    received: u64,
    next: u64,
    /// Seqs skipped (never arrived before a later one).
    skipped: u64,
    /// Seqs that arrived again or out of order.
    misordered: u64,
}

fn run(args: &[String]) -> AnyResult<()> {
    let producers: u32 = arg(args, "--producers", "2").parse()?;
    let count: u64 = arg(args, "--count", "1000000").parse()?;
    let mode = if producers > 1 {
        RingMode::Mpmc
    } else {
        RingMode::Spsc
    };
    // Ctrl-C or SIGTERM makes the receives below return `Cancelled`.
    posix_ipc::signals::stop_on_signals()?;
    let name = format!("/posix-ipc-ring-demo-{}", std::process::id());
    let rx = RingReceiver::<Reading>::create_owned(&name, CAPACITY, mode)?;
    println!(
        "ring_demo: {mode:?} ring {name}: {CAPACITY} slots of {} bytes",
        std::mem::size_of::<Reading>()
    );
    println!(
        "ring_demo: if this demo itself is killed (kill -9), remove what it leaves with `posix-ipc clean --stale --prefix /posix-ipc-ring-demo-`"
    );
    let outcome = consume(&rx, producers, count, mode);
    match rx.remove() {
        Ok(true) => eprintln!("ring_demo: removed segment {name}"),
        Ok(false) => eprintln!("ring_demo: segment {name} was already gone"),
        Err(e) => eprintln!("ring_demo: could not remove segment {name}: {e}"),
    }
    outcome
}

fn consume(
    rx: &RingReceiver<Reading>,
    producers: u32,
    count: u64,
    mode: RingMode,
) -> AnyResult<()> {
    // With several producers (MPMC), hold a producer handle until every producer process has
    // registered, so the consumer does not see "every producer gone" between the first
    // finishing and the last starting. (An SPSC ring admits only its one producer.)
    let mut holder = match mode {
        RingMode::Mpmc => Some(RingSender::<Reading>::open(rx.name())?),
        RingMode::Spsc => None,
    };
    let exe = std::env::current_exe()?;
    let mut kids = Children::new();
    for id in 0..producers {
        kids.spawn(
            format!("producer {id}"),
            &exe,
            &[
                "--role".into(),
                "produce".into(),
                "--ring".into(),
                rx.name().into(),
                "--id".into(),
                id.to_string(),
                "--count".into(),
                count.to_string(),
            ],
        )?;
    }
    let pids: Vec<String> = kids.procs.iter().map(|p| p.pid.to_string()).collect();
    println!("ring_demo: producer pids {}", pids.join(", "));
    let mut announced = 0;
    let mut from = vec![Arrivals::default(); producers as usize];
    let mut reported: Vec<Option<(u64, String)>> = vec![None; producers as usize];
    let mut start = None;
    let mut batch = Vec::with_capacity(BATCH);
    let mut fault: Option<String> = None;
    let mut interrupted = false;
    let mut give_up: Option<Instant> = None;
    let mut checked = Instant::now();
    let total = count * u64::from(producers);
    let mut next_report = total / 4;
    loop {
        batch.clear();
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                batch.push(r);
                rx.try_recv_batch(&mut batch, BATCH - 1);
            }
            Err(e) if e.kind() == ErrorKind::TimedOut => {}
            Err(e) if e.kind() == ErrorKind::Disconnected => {
                // The producers may have stopped for the same Ctrl-C.
                interrupted |= posix_ipc::signals::stop_requested();
                break;
            }
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                if !interrupted {
                    eprintln!("ring_demo: interrupted; stopping the producers");
                    interrupted = true;
                    holder = None;
                    give_up = Some(Instant::now() + Duration::from_secs(1));
                }
                // Keep draining what the producers sent before they stop.
                if let Ok(r) = rx.try_recv() {
                    batch.push(r);
                } else if kids.all_ended() {
                    break;
                } else {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            Err(e) => return Err(e.into()),
        }
        for r in &batch {
            if r.flags == u32::MAX {
                announced += 1;
                if announced == producers {
                    start = Some(Instant::now());
                    // All producers registered: the holder can go.
                    holder = None;
                }
                continue;
            }
            let a = &mut from[r.producer as usize];
            if r.seq < a.next {
                a.misordered += 1;
                continue;
            }
            a.skipped += r.seq - a.next;
            a.next = r.seq + 1;
            a.received += 1;
        }
        if checked.elapsed() < Duration::from_millis(100) {
            continue;
        }
        checked = Instant::now();
        // A busy consumer rarely waits, so look at the stop flag here too.
        if posix_ipc::signals::stop_requested() && !interrupted {
            eprintln!("ring_demo: interrupted; stopping the producers");
            interrupted = true;
            holder = None;
            give_up = Some(Instant::now() + Duration::from_secs(1));
        }
        let received: u64 = from.iter().map(|a| a.received).sum();
        if next_report > 0 && received >= next_report {
            println!("ring_demo: {received}/{total} readings received");
            next_report += total / 4;
        }
        while let Ok((i, line)) = kids.lines.try_recv() {
            note_report(&mut reported[i], &line);
        }
        for i in kids.reap() {
            let p = &kids.procs[i];
            let status = p.status.expect("reaped");
            if status.success() || fault.is_some() || interrupted {
                continue;
            }
            let why = format!("{} (pid {}) {}", p.role, p.pid, describe(status));
            eprintln!("ring_demo: {why}; stopping the other producers");
            fault = Some(why);
            holder = None;
            // The ring tells the consumer when every producer has gone; stop the rest so that
            // happens now, after draining what they sent.
            kids.signal(|_, _| true, libc::SIGTERM);
            give_up = Some(Instant::now() + Duration::from_secs(3));
        }
        if give_up.is_some_and(|t| Instant::now() >= t) {
            kids.stop_all(Duration::from_secs(1));
            while let Ok(r) = rx.try_recv() {
                if r.flags != u32::MAX {
                    let a = &mut from[r.producer as usize];
                    a.received += 1;
                    a.next = a.next.max(r.seq + 1);
                }
            }
            break;
        }
    }
    drop(holder);
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    kids.stop_all(Duration::from_secs(2));
    while let Ok((i, line)) = kids.lines.recv_timeout(Duration::from_millis(200)) {
        note_report(&mut reported[i], &line);
    }
    let received: u64 = from.iter().map(|a| a.received).sum();
    let misordered: u64 = from.iter().map(|a| a.misordered).sum();
    println!("ring_demo: summary");
    println!("  processes   1 consumer, {producers} producers ({mode:?})");
    println!("  received    {received}");
    println!("  duplicated or out of order  {misordered}");
    println!(
        "  throughput  {:.1} M readings/s over {secs:.3} s",
        received as f64 / secs.max(1e-9) / 1e6
    );
    let mut lost_total = 0;
    let mut exact = true;
    for (i, a) in from.iter().enumerate() {
        let p = &kids.procs[i];
        let how = p
            .status
            .map_or_else(|| "is still running".to_string(), describe);
        let sent = match &reported[i] {
            Some((n, why)) => {
                lost_total += n.saturating_sub(a.received);
                if why == "done" {
                    format!("sent {n} (all)")
                } else {
                    format!("sent exactly {n}, then stopped ({why})")
                }
            }
            None => {
                exact = false;
                "sent: unknown exactly (it died before reporting)".to_string()
            }
        };
        println!(
            "  {} (pid {}) {how}: {sent}; received {} in order (seq up to {}), {} skipped",
            p.role,
            p.pid,
            a.received,
            a.next.saturating_sub(1),
            a.skipped
        );
    }
    let skipped: u64 = from.iter().map(|a| a.skipped).sum();
    println!(
        "  lost        {lost_total} of what the producers reported sending{}; {skipped} skipped in the middle of a stream",
        if exact {
            String::new()
        } else {
            "; a killed producer loses at most the reading it was writing (its claimed slot is skipped)".to_string()
        }
    );
    if let Some(why) = fault {
        return Err(why.into());
    }
    if interrupted {
        return Err("interrupted by a stop signal (Ctrl-C or SIGTERM); every process ended".into());
    }
    if received != total || misordered + skipped + lost_total > 0 {
        return Err(format!(
            "{received} of {total} readings arrived, {misordered} duplicated or out of order, {skipped} skipped"
        )
        .into());
    }
    Ok(())
}

/// `done N` / `stopped N WHY` lines of a producer.
fn note_report(slot: &mut Option<(u64, String)>, line: &str) {
    let mut words = line.split(' ');
    if let (Some("done" | "stopped"), Some(n)) =
        (words.next(), words.next().and_then(|n| n.parse().ok()))
    {
        *slot = Some((n, words.next().unwrap_or("done").to_string()));
    }
}

fn produce(args: &[String]) -> AnyResult<()> {
    posix_ipc::signals::stop_on_signals()?;
    children::stop_with_parent();
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
    let mut sent = 0;
    while sent < count {
        // A busy producer rarely waits, so a stop signal may never reach it through a blocked
        // send: look at the flag between batches too.
        if posix_ipc::signals::stop_requested() {
            println!("stopped {sent} signal");
            return Ok(());
        }
        batch.clear();
        let end = (sent + BATCH as u64).min(count);
        batch.extend((sent..end).map(|s| Reading {
            seq: s,
            value: s as f64,
            producer: id,
            flags: 0,
        }));
        let mut rest = &batch[..];
        while !rest.is_empty() {
            // As `send_batch`, but counting exactly what went out.
            let n = tx.try_send_batch(rest);
            sent += n as u64;
            rest = &rest[n..];
            if n == 0 {
                match tx.send(&rest[0]) {
                    Ok(()) => {
                        sent += 1;
                        rest = &rest[1..];
                    }
                    Err(e) if e.kind() == ErrorKind::Cancelled => {
                        println!("stopped {sent} signal");
                        return Ok(());
                    }
                    Err(e) => {
                        println!("stopped {sent} error");
                        return Err(e.into());
                    }
                }
            }
        }
    }
    println!("done {sent}");
    // Dropping the sender tells the consumer this producer is done.
    Ok(())
}
