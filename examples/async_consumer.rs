//! The consumer example on tokio (feature `tokio`): receives typed `Reading` messages from
//! `examples/producer.rs` as a `Stream`, without a thread per queue, until every producer has
//! sent its end marker, and checks them as `consumer.rs` does: nothing lost or duplicated, FIFO
//! within each priority and producer, the priority each reading's flags call for.
//!
//! ```text
//! cargo run --release --features tokio --example async_consumer -- --queue /readings --create --producers 2 &
//! cargo run --release --example producer -- --queue /readings --id 0 --count 100000 &
//! cargo run --release --example producer -- --queue /readings --id 1 --count 100000
//! ```
//!
//! Options: `--queue NAME` (default `/posix-ipc-readings`), `--producers N` (default 1),
//! `--create` (create the queue if missing), `--unlink` (remove the queue at the end),
//! `--idle-timeout SECS` (give up when nothing arrives for that long; default 30).

#[path = "shared/reading.rs"]
#[allow(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use posix_ipc::{AsyncReceiver, IpcMessage};
use reading::{arg, Reading, Summary, FLAG_END, FLAG_URGENT, URGENT_PRIORITY};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let queue = arg(&args, "--queue", "/posix-ipc-readings");
    let producers: u32 = arg(&args, "--producers", "1").parse()?;
    let idle = Duration::from_secs_f64(arg(&args, "--idle-timeout", "30").parse()?);
    // Registers the queue descriptor with tokio's reactor (epoll), non-blocking.
    let rx = if args.iter().any(|a| a == "--create") {
        AsyncReceiver::<Reading>::open_or_create(&queue, 10)?
    } else {
        AsyncReceiver::<Reading>::open(&queue)?
    };
    println!("async consumer: waiting on {queue} for {producers} producer(s)");

    let mut s = Summary::default();
    let mut seen: HashMap<u32, Vec<bool>> = HashMap::new();
    let mut last: HashMap<(u32, u32), u64> = HashMap::new();
    let (mut ended, mut start) = (0, None);
    let mut readings = rx.with_priority();
    while ended < producers {
        // The receive is cancellation-safe: when the timeout wins, no reading is lost.
        let Ok(next) = tokio::time::timeout(idle, readings.next()).await else {
            return Err(format!("nothing arrived for {idle:?}; {} received", s.received).into());
        };
        let (r, priority) = next.expect("the stream of a queue never ends")?;
        let now = Instant::now();
        s.seconds = now.duration_since(*start.get_or_insert(now)).as_secs_f64();
        if r.flags & FLAG_END != 0 {
            ended += 1;
            s.sent += r.seq;
            continue;
        }
        s.received += 1;
        let expected = if r.flags & FLAG_URGENT != 0 {
            URGENT_PRIORITY
        } else {
            Reading::PRIORITY
        };
        s.wrong_priority += u64::from(priority != expected);
        let flags = seen.entry(r.producer).or_default();
        let i = r.seq as usize;
        if flags.len() <= i {
            flags.resize(i + 1, false);
        }
        s.duplicated += u64::from(flags[i]);
        flags[i] = true;
        if let Some(prev) = last.insert((r.producer, priority), r.seq) {
            s.out_of_order += u64::from(r.seq <= prev);
        }
        if s.received % 10_000 == 0 {
            println!("progress {}", s.received);
        }
    }
    let unique: u64 = seen
        .values()
        .map(|f| f.iter().filter(|x| **x).count() as u64)
        .sum();
    s.lost = s.sent.saturating_sub(unique);
    println!("{}", s.line());
    println!("throughput {:.0} readings/s", s.rate());
    if args.iter().any(|a| a == "--unlink") {
        rx.queue().unlink()?;
    }
    if s.lost + s.duplicated + s.out_of_order + s.wrong_priority > 0 {
        return Err("the consumer saw lost, duplicated or misordered readings".into());
    }
    Ok(())
}
