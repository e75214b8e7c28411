//! Sends typed `Reading` messages over a POSIX message queue, with mixed priorities.
//!
//! ```text
//! cargo run --release --example consumer -- --queue /readings --create &
//! cargo run --release --example producer -- --queue /readings --count 100000
//! ```
//!
//! Options: `--queue NAME` (default `/posix-ipc-readings`), `--count N` (default 100000),
//! `--id N` (this producer's number, default 0), `--create` (create the queue if missing).
//! `--print-layout` prints the Python `struct` format and the C declaration of `Reading`;
//! `--print-python` prints a Python module describing `Reading` for `posix_ipc_rs` (format,
//! size, fingerprint, a `NamedTuple` with `pack`/`unpack`, the `RecordType` for rings).

#[path = "shared/reading.rs"]
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use posix_ipc::{IpcMessage, Sender};
use reading::{arg, check_args, produce, Reading};

const USAGE: &str = "\
usage: producer [--queue NAME] [--count N] [--id N] [--create]
       producer --print-layout | --print-python
  --queue NAME     the queue (default /posix-ipc-readings)
  --count N        readings to send (default 100000), then an end marker
  --id N           this producer's number (default 0)
  --create         create the queue if it is missing
  --print-layout   print Reading's Python struct format and C declaration, and exit
  --print-python   print a Python module describing Reading for posix_ipc_rs, and exit
  -h, --help       this text (nothing is opened)
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    check_args(
        &args,
        &["--create", "--print-layout", "--print-python"],
        &["--queue", "--count", "--id"],
        USAGE,
    );
    if args.iter().any(|a| a == "--print-python") {
        print!("{}", posix_ipc::typed::python_module::<Reading>());
        return Ok(());
    }
    if args.iter().any(|a| a == "--print-layout") {
        println!("python struct format: {}", Reading::python_format());
        println!("fields: {:?}", Reading::LAYOUT.python_field_names());
        println!("{}", Reading::c_declaration());
        return Ok(());
    }
    let queue = arg(&args, "--queue", "/posix-ipc-readings");
    let count: u64 = arg(&args, "--count", "100000").parse()?;
    let id: u32 = arg(&args, "--id", "0").parse()?;
    let tx = if args.iter().any(|a| a == "--create") {
        Sender::<Reading>::open_or_create(&queue, 10)?
    } else {
        Sender::<Reading>::open(&queue)?
    };
    let start = std::time::Instant::now();
    produce(&tx, id, count, |_| {})?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "producer {id}: sent {count} readings and an end marker to {queue} in {secs:.3} s ({:.0} msg/s)",
        count as f64 / secs
    );
    Ok(())
}
