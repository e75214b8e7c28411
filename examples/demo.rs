//! The main demo: typed producer and consumer **processes** over a POSIX message queue.
//!
//! ```text
//! cargo run --release --example demo                      # 2 producers x 100,000 readings
//! cargo run --release --example demo -- --producers 3 --count 50000
//! ```
//!
//! The demo creates a queue sized for `Reading` (24 bytes, 10 slots), starts the consumer and
//! the producers as separate processes (this program re-executed with `--role`), shows live
//! progress, and ends with a summary: readings sent and received, lost, duplicated, whether
//! FIFO order held within each priority, and throughput. It removes the queue when done, and
//! also when interrupted with Ctrl-C.

#[path = "shared/reading.rs"]
#[allow(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use posix_ipc::{Receiver, Sender};
use reading::{arg, consume, produce, Reading, Summary};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> AnyResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let queue = arg(&args, "--queue", "");
    match arg(&args, "--role", "").as_str() {
        "produce" => {
            let tx = Sender::<Reading>::open(&queue)?;
            produce(
                &tx,
                arg(&args, "--id", "0").parse()?,
                arg(&args, "--count", "0").parse()?,
            )?;
            Ok(())
        }
        "consume" => {
            let rx = Receiver::<Reading>::open(&queue)?;
            let producers = arg(&args, "--producers", "1").parse()?;
            let summary = consume(&rx, producers, 5_000, |n| {
                println!("progress {n}");
            })?;
            println!("{}", summary.line());
            Ok(())
        }
        _ => run(&args),
    }
}

/// Removes the queue when dropped: on success, on error, and after Ctrl-C.
struct QueueGuard(String);

impl Drop for QueueGuard {
    fn drop(&mut self) {
        if posix_ipc::unlink_message_queue(&self.0).is_ok() {
            eprintln!("demo: removed queue {}", self.0);
        }
    }
}

fn spawn(exe: &std::path::Path, args: &[String]) -> AnyResult<Child> {
    Ok(Command::new(exe)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?)
}

fn run(args: &[String]) -> AnyResult<()> {
    let producers: u32 = arg(args, "--producers", "2").parse()?;
    let count: u64 = arg(args, "--count", "100000").parse()?;
    let total = count * u64::from(producers);
    let queue = format!("/posix-ipc-demo-{}", std::process::id());

    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
    }

    // Create the queue for `Reading` before any child starts; the guard removes it at the end.
    let creator = Sender::<Reading>::create(&queue, 10)?;
    let _guard = QueueGuard(queue.clone());
    println!(
        "demo: queue {queue}: {} slots of {} bytes (Reading: {})",
        creator.queue().max_messages(),
        creator.queue().max_message_size(),
        <Reading as posix_ipc::IpcMessage>::python_format()
    );
    drop(creator);

    let exe = std::env::current_exe()?;
    let s = |x: &str| x.to_string();
    let mut consumer = spawn(
        &exe,
        &[
            s("--role"),
            s("consume"),
            s("--queue"),
            queue.clone(),
            s("--producers"),
            producers.to_string(),
        ],
    )?;
    let mut children = Vec::new();
    for id in 0..producers {
        children.push(spawn(
            &exe,
            &[
                s("--role"),
                s("produce"),
                s("--queue"),
                queue.clone(),
                s("--id"),
                id.to_string(),
                s("--count"),
                count.to_string(),
            ],
        )?);
    }
    println!(
        "demo: consumer pid {} and {producers} producer processes started, {total} readings to go",
        consumer.id()
    );

    let (tx, rx) = mpsc::channel();
    let out = consumer.stdout.take().ok_or("consumer has no stdout")?;
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut summary = None;
    let mut next_report = total / 4;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            for child in children.iter_mut().chain(std::iter::once(&mut consumer)) {
                let _ = child.kill();
                let _ = child.wait();
            }
            eprintln!("\ndemo: interrupted; stopped the children");
            // `exit` skips destructors, so remove the queue here.
            drop(_guard);
            std::process::exit(130);
        }
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                if let Some(n) = line
                    .strip_prefix("progress ")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    if tty {
                        let width = 30;
                        let filled = (n * width / total.max(1)) as usize;
                        eprint!(
                            "\r[{}{}] {:>3}% {n}/{total} readings, {:.0} msg/s   ",
                            "#".repeat(filled),
                            " ".repeat(width as usize - filled.min(width as usize)),
                            n * 100 / total.max(1),
                            n as f64 / start.elapsed().as_secs_f64()
                        );
                        let _ = std::io::stderr().flush();
                    } else if n >= next_report {
                        println!("demo: {n}/{total} readings received");
                        next_report += total / 4;
                    }
                } else if let Some(s) = Summary::parse(&line) {
                    summary = Some(s);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The consumer's output ended: it finished, or (after Ctrl-C) it was killed.
            Err(mpsc::RecvTimeoutError::Disconnected) if !interrupted.load(Ordering::Relaxed) => {
                break
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
        }
    }
    if tty {
        eprintln!();
    }
    let mut failed = !consumer.wait()?.success();
    for mut child in children {
        failed |= !child.wait()?.success();
    }
    let summary = summary.ok_or("the consumer ended without a summary")?;
    println!("demo: summary");
    println!("  processes       1 consumer, {producers} producers");
    println!("  sent            {}", summary.sent);
    println!("  received        {}", summary.received);
    println!("  lost            {}", summary.lost);
    println!("  duplicated      {}", summary.duplicated);
    println!(
        "  priority order  {} (FIFO within each priority and producer; {} out of order, {} with a wrong priority)",
        if summary.out_of_order + summary.wrong_priority == 0 { "held" } else { "BROKEN" },
        summary.out_of_order,
        summary.wrong_priority
    );
    println!(
        "  throughput      {:.0} readings/s over {:.3} s",
        summary.rate(),
        summary.seconds
    );
    if failed
        || summary.lost + summary.duplicated + summary.out_of_order + summary.wrong_priority > 0
        || summary.received != total
    {
        return Err("the demo saw a problem (see above)".into());
    }
    Ok(())
}
