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
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::time::Duration;

use futures::StreamExt;
use posix_ipc::AsyncReceiver;
use reading::{arg, Reading, Tally};

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

    let mut tally = Tally::default();
    let mut readings = rx.with_priority();
    while tally.ended() < producers {
        // The receive is cancellation-safe: when the timeout wins, no reading is lost.
        let Ok(next) = tokio::time::timeout(idle, readings.next()).await else {
            return Err(format!(
                "nothing arrived for {idle:?}; {} received",
                tally.received()
            )
            .into());
        };
        let (r, priority) = next.expect("the stream of a queue never ends")?;
        if !tally.observe(&r, priority) && tally.received() % 10_000 == 0 {
            println!("progress {}", tally.received());
        }
    }
    let s = tally.finish(None);
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
