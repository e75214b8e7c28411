//! Receives typed `Reading` messages from a POSIX message queue until every producer has sent
//! its end marker, and checks them: nothing lost or duplicated, FIFO within each priority.
//!
//! ```text
//! cargo run --release --example consumer -- --queue /readings --create --producers 1
//! ```
//!
//! Options: `--queue NAME` (default `/posix-ipc-readings`), `--producers N` (default 1),
//! `--create` (create the queue if missing), `--unlink` (remove the queue at the end).

#[path = "shared/reading.rs"]
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use posix_ipc::Receiver;
use reading::{arg, check_args, consume, Reading};

const USAGE: &str = "\
usage: consumer [--queue NAME] [--producers N] [--create] [--unlink]
  --queue NAME     the queue (default /posix-ipc-readings)
  --producers N    end markers to wait for (default 1)
  --create         create the queue if it is missing
  --unlink         remove the queue at the end
  -h, --help       this text (nothing is opened)
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    check_args(
        &args,
        &["--create", "--unlink"],
        &["--queue", "--producers"],
        USAGE,
    );
    let queue = arg(&args, "--queue", "/posix-ipc-readings");
    let producers: u32 = arg(&args, "--producers", "1").parse()?;
    let rx = if args.iter().any(|a| a == "--create") {
        Receiver::<Reading>::open_or_create(&queue, 10)?
    } else {
        Receiver::<Reading>::open(&queue)?
    };
    let summary = consume(&rx, producers, 10_000, |n| println!("progress {n}"))?;
    println!("{}", summary.line());
    if args.iter().any(|a| a == "--unlink") {
        rx.queue().unlink()?;
    }
    if summary.lost + summary.duplicated + summary.out_of_order + summary.wrong_priority > 0 {
        return Err("the consumer saw lost, duplicated or misordered readings".into());
    }
    Ok(())
}
