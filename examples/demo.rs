//! The main demo: typed producer and consumer **processes** over a POSIX message queue.
//!
//! ```text
//! cargo run --release --example demo                      # 2 producers x 100,000 readings
//! cargo run --release --example demo -- --producers 3 --count 50000
//! ```
//!
//! The demo creates a typed queue for `Reading` (24 bytes, 10 slots; owned, so it is removed on
//! every way out), starts the consumer and the producers as separate processes (this program
//! re-executed with `--role`), shows live progress, and ends with a summary: readings sent and
//! received, lost, duplicated, whether FIFO order held within each priority, and throughput.
//!
//! It survives its children: if one is killed (try `kill -9` on a producer or the consumer),
//! the parent notices within a second or two, stops the others, says which process died and
//! how, what each producer had sent and what the consumer received from it, what was lost (at
//! most what was in flight) and that nothing was duplicated or reordered, removes the queue and
//! exits non-zero with one line that says why. Ctrl-C (or SIGTERM) stops every process cleanly
//! within a few seconds, also when one of them is stopped (SIGSTOP): the children stop their
//! blocked calls ([`posix_ipc::signals`]) and report, and the parent kills what does not end.

#[path = "shared/children.rs"]
mod children;
#[path = "shared/reading.rs"]
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::io::{IsTerminal, Write};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use children::{describe, Children};
use posix_ipc::{ErrorKind, Receiver, Sender, TypedQueue};
use reading::{arg, consume, produce, Reading, Summary};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = match arg(&args, "--role", "").as_str() {
        "produce" => producer(&args),
        "consume" => consumer(&args),
        _ => run(&args),
    };
    if let Err(e) = result {
        if e.is::<Interrupted>() {
            eprintln!("demo: {e}");
            std::process::exit(130);
        }
        eprintln!("demo: failed: {e}");
        std::process::exit(1);
    }
}

/// The run was stopped by Ctrl-C or SIGTERM (exit status 130, as a shell reports SIGINT).
#[derive(Debug)]
struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted by a stop signal (Ctrl-C or SIGTERM); every process ended")
    }
}

impl std::error::Error for Interrupted {}

/// A producer process: reports `ready` once registered, `sent N` every 1000 readings, and at
/// the end `done N` or `stopped N WHY` (a stop signal, or every consumer gone).
fn producer(args: &[String]) -> AnyResult<()> {
    posix_ipc::signals::stop_on_signals()?;
    children::stop_with_parent();
    let tx = Sender::<Reading>::open(&arg(args, "--queue", ""))?;
    println!("ready");
    let (id, count) = (
        arg(args, "--id", "0").parse()?,
        arg(args, "--count", "0").parse()?,
    );
    let mut sent = 0;
    let r = produce(&tx, id, count, |n| {
        sent = n;
        if n % 1000 == 0 {
            println!("sent {n}");
        }
    });
    match r {
        Ok(()) => println!("done {sent}"),
        Err(e) if e.kind() == ErrorKind::Cancelled => println!("stopped {sent} signal"),
        Err(e) if e.kind() == ErrorKind::Disconnected => println!("stopped {sent} consumer-gone"),
        Err(e) => {
            println!("stopped {sent} error");
            return Err(e.into());
        }
    }
    Ok(())
}

/// The consumer process: `progress N` lines, then the summary lines.
fn consumer(args: &[String]) -> AnyResult<()> {
    posix_ipc::signals::stop_on_signals()?;
    children::stop_with_parent();
    let rx = Receiver::<Reading>::open(&arg(args, "--queue", ""))?;
    let producers = arg(args, "--producers", "1").parse()?;
    let summary = consume(&rx, producers, 5_000, |n| println!("progress {n}"))?;
    println!("{}", summary.line());
    Ok(())
}

/// What the parent knows of one producer.
#[derive(Default, Clone)]
struct ProducerState {
    ready: bool,
    /// Last `sent N` report.
    reported: u64,
    /// `done N` / `stopped N WHY`.
    last: Option<(u64, String)>,
}

fn run(args: &[String]) -> AnyResult<()> {
    let producers: u32 = arg(args, "--producers", "2").parse()?;
    let count: u64 = arg(args, "--count", "100000").parse()?;
    let total = count * u64::from(producers);
    let stop = posix_ipc::signals::stop_on_signals()?;
    let name = format!("/posix-ipc-demo-{}", std::process::id());
    // Owned: removed when `run` returns, whatever the reason (and on a second Ctrl-C).
    let queue = TypedQueue::<Reading>::create_owned(&name, 10)?;
    println!(
        "demo: queue {name}: {} slots of {} bytes (Reading: {})",
        queue.queue().max_messages(),
        queue.queue().max_message_size(),
        <Reading as posix_ipc::IpcMessage>::python_format()
    );
    println!(
        "demo: if this demo itself is killed (kill -9), remove what it leaves with `posix-ipc clean --stale --prefix /posix-ipc-demo-`"
    );
    let outcome = supervise(&queue, producers, count, total, &stop);
    let removed = queue.remove();
    match removed {
        Ok(true) => eprintln!("demo: removed queue {name}"),
        Ok(false) => eprintln!("demo: queue {name} was already gone"),
        Err(e) => eprintln!("demo: could not remove queue {name}: {e}"),
    }
    outcome
}

fn supervise(
    queue: &TypedQueue<Reading>,
    producers: u32,
    count: u64,
    total: u64,
    stop: &posix_ipc::CancelToken,
) -> AnyResult<()> {
    // Until every producer has registered, a sender held here keeps the consumer from taking
    // "every producer has gone" for the end of the run.
    let mut holder = Some(queue.sender()?);
    let exe = std::env::current_exe()?;
    let s = |x: &str| x.to_string();
    let mut kids = Children::new();
    kids.spawn(
        s("the consumer"),
        &exe,
        &[
            s("--role"),
            s("consume"),
            s("--queue"),
            s(queue.name()),
            s("--producers"),
            producers.to_string(),
        ],
    )?;
    for id in 0..producers {
        kids.spawn(
            format!("producer {id}"),
            &exe,
            &[
                s("--role"),
                s("produce"),
                s("--queue"),
                s(queue.name()),
                s("--id"),
                id.to_string(),
                s("--count"),
                count.to_string(),
            ],
        )?;
    }
    let pids: Vec<String> = kids.procs.iter().map(|p| p.pid.to_string()).collect();
    println!(
        "demo: consumer pid {} and {producers} producer processes (pids {}) started, {total} readings to go",
        pids[0],
        pids[1..].join(", ")
    );

    let tty = std::io::stderr().is_terminal();
    let start = Instant::now();
    let mut state = vec![ProducerState::default(); producers as usize];
    let mut progress = 0u64;
    let mut summary: Option<Summary> = None;
    let mut next_report = total / 4;
    let mut fault: Option<String> = None;
    let mut interrupted: Option<Instant> = None;
    let mut give_up: Option<Instant> = None;
    loop {
        match kids.lines.recv_timeout(Duration::from_millis(50)) {
            Ok((0, line)) => {
                if let Some(n) = line.strip_prefix("progress ").and_then(|n| n.parse().ok()) {
                    progress = n;
                    if tty {
                        let width = 30;
                        let filled = (n * width / total.max(1)).min(width) as usize;
                        eprint!(
                            "\r[{}{}] {:>3}% {n}/{total} readings, {:.0} msg/s   ",
                            "#".repeat(filled),
                            " ".repeat(width as usize - filled),
                            n * 100 / total.max(1),
                            n as f64 / start.elapsed().as_secs_f64()
                        );
                        let _ = std::io::stderr().flush();
                    } else if n >= next_report {
                        println!("demo: {n}/{total} readings received");
                        next_report += total / 4;
                    }
                } else if let Some(parsed) = Summary::parse(&line) {
                    summary = Some(parsed);
                } else if let Some(s) = summary.as_mut() {
                    s.parse_from(&line);
                }
            }
            Ok((i, line)) => {
                let p = &mut state[i - 1];
                let mut words = line.split(' ');
                match (words.next(), words.next().and_then(|n| n.parse().ok())) {
                    (Some("ready"), _) => p.ready = true,
                    (Some("sent"), Some(n)) => p.reported = n,
                    (Some("done" | "stopped"), Some(n)) => {
                        p.last = Some((n, words.next().unwrap_or("done").to_string()))
                    }
                    _ => {}
                }
                if holder.is_some() && state.iter().all(|p| p.ready) {
                    holder = None;
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {}
        }
        for i in kids.reap() {
            let p = &kids.procs[i];
            let status = p.status.expect("reaped");
            if status.success() || fault.is_some() || interrupted.is_some() {
                continue;
            }
            let why = format!("{} (pid {}) {}", p.role, p.pid, describe(status));
            eprintln!(
                "{}demo: {why}; stopping the others",
                if tty { "\n" } else { "" }
            );
            fault = Some(why);
            holder = None;
            if i == 0 {
                // The consumer is gone: blocked producers learn it from the queue within
                // 100 ms; stop them all now so their reports come at once.
                kids.signal(|_, _| true, libc::SIGTERM);
            } else {
                // Stop the other producers; the consumer drains what they sent and ends
                // when every producer has gone.
                kids.signal(|j, _| j != 0, libc::SIGTERM);
            }
            give_up = Some(Instant::now() + Duration::from_secs(3));
        }
        if stop.is_cancelled() && interrupted.is_none() {
            eprintln!(
                "{}demo: interrupted; stopping the processes",
                if tty { "\n" } else { "" }
            );
            interrupted = Some(Instant::now());
            holder = None;
            // The children got the same Ctrl-C if it went to the process group; give them a
            // second to stop on their own before SIGTERM, then SIGKILL.
            give_up = Some(Instant::now() + Duration::from_secs(1));
        }
        if kids.all_ended() {
            break;
        }
        if give_up.is_some_and(|t| Instant::now() >= t) {
            kids.stop_all(Duration::from_secs(1));
            break;
        }
    }
    if tty {
        eprintln!();
    }
    // Lines printed just before the children ended.
    while let Ok((i, line)) = kids.lines.recv_timeout(Duration::from_millis(200)) {
        if i == 0 {
            if let Some(parsed) = Summary::parse(&line) {
                summary = Some(parsed);
            } else if let Some(s) = summary.as_mut() {
                s.parse_from(&line);
            }
        } else if let Some(rest) = line
            .strip_prefix("done ")
            .or_else(|| line.strip_prefix("stopped "))
        {
            let mut w = rest.split(' ');
            if let Some(n) = w.next().and_then(|n| n.parse().ok()) {
                state[i - 1].last = Some((n, w.next().unwrap_or("done").to_string()));
            }
        } else if let Some(n) = line.strip_prefix("sent ").and_then(|n| n.parse().ok()) {
            state[i - 1].reported = n;
        }
    }
    let left = queue.queue().current_messages().unwrap_or(0);
    report(&kids, &state, summary.as_ref(), progress, left, producers);
    if let Some(why) = fault {
        return Err(why.into());
    }
    if interrupted.is_some() {
        return Err(Interrupted.into());
    }
    let s = summary.ok_or("the consumer ended without a summary")?;
    if s.lost + s.duplicated + s.out_of_order + s.wrong_priority > 0 || s.received != total {
        return Err(format!(
            "the consumer saw {} lost, {} duplicated, {} out of order, {} with a wrong priority, {} of {total} received",
            s.lost, s.duplicated, s.out_of_order, s.wrong_priority, s.received
        )
        .into());
    }
    Ok(())
}

/// The summary, and after a fault what each process did.
fn report(
    kids: &Children,
    state: &[ProducerState],
    summary: Option<&Summary>,
    progress: u64,
    left: usize,
    producers: u32,
) {
    println!("demo: summary");
    println!("  processes       1 consumer, {producers} producers");
    let exact: Vec<Option<u64>> = state.iter().map(|p| p.last.as_ref().map(|l| l.0)).collect();
    let sent_known: u64 = state
        .iter()
        .map(|p| p.last.as_ref().map_or(p.reported, |l| l.0))
        .sum();
    let all_exact = exact.iter().all(Option::is_some);
    println!(
        "  sent            {}{sent_known}",
        if all_exact { "" } else { "at least " }
    );
    match summary {
        Some(s) => {
            println!("  received        {}", s.received);
            println!("  lost            {}", s.lost);
            println!("  duplicated      {}", s.duplicated);
            println!(
                "  priority order  {} (FIFO within each priority and producer; {} out of order, {} with a wrong priority)",
                if s.out_of_order + s.wrong_priority == 0 { "held" } else { "BROKEN" },
                s.out_of_order,
                s.wrong_priority
            );
            println!(
                "  throughput      {:.0} readings/s over {:.3} s",
                s.rate(),
                s.seconds
            );
        }
        None => println!("  received        at least {progress} (the consumer's last report)"),
    }
    let clean = kids
        .procs
        .iter()
        .all(|p| p.status.is_some_and(|s| s.success()))
        && state
            .iter()
            .all(|p| p.last.as_ref().is_some_and(|l| l.1 == "done"));
    if clean {
        return;
    }
    println!("demo: what each process did");
    let consumer = &kids.procs[0];
    println!(
        "  the consumer (pid {}) {}",
        consumer.pid,
        consumer
            .status
            .map_or_else(|| "is still running".to_string(), describe)
    );
    for (i, p) in state.iter().enumerate() {
        let proc_ = &kids.procs[i + 1];
        let how = proc_
            .status
            .map_or_else(|| "is still running".to_string(), describe);
        let sent = match &p.last {
            Some((n, why)) if why == "done" => format!("sent {n} (all)"),
            Some((n, why)) => format!("sent exactly {n}, then stopped ({why})"),
            None => format!("sent at least {} (its last report)", p.reported),
        };
        let got = summary
            .and_then(|s| s.producers.get(&(i as u32)))
            .map_or_else(
                || "received: unknown (the consumer did not report)".to_string(),
                |f| {
                    format!(
                        "the consumer received {} (seq {}, {} gap(s))",
                        f.received,
                        f.last_seq
                            .map_or("none".to_string(), |l| format!("0..={l}")),
                        f.gaps
                    )
                },
            );
        println!("  {} (pid {}) {how}: {sent}; {got}", proc_.role, proc_.pid);
    }
    match summary {
        Some(s) => {
            let received_total: u64 = s.producers.values().map(|f| f.received).sum();
            let exact_lost: u64 = state
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    let (n, _) = p.last.as_ref()?;
                    let got = s.producers.get(&(i as u32)).map_or(0, |f| f.received);
                    Some(n.saturating_sub(got))
                })
                .sum();
            let killed: Vec<&str> = kids.procs[1..]
                .iter()
                .zip(state)
                .filter(|(_, p)| p.last.is_none())
                .map(|(k, _)| k.role.as_str())
                .collect();
            let unreceived = if left > 0 {
                format!(
                    " ({left} still in the queue when the consumer stopped, removed with it)"
                )
            } else {
                String::new()
            };
            println!(
                "  not received    {exact_lost} of what the stopped producers sent{unreceived}{}",
                if killed.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; of {}, at most the one reading each was sending when it died (the queue keeps what was sent: {received_total} received in all)",
                        killed.join(", ")
                    )
                }
            );
            println!(
                "  duplicated      {}; out of order {}: nothing was duplicated or reordered{}",
                s.duplicated,
                s.out_of_order,
                if s.duplicated + s.out_of_order == 0 { "" } else { " -- BROKEN" }
            );
        }
        None => println!(
            "  lost            the consumer died: at least {progress} were received; {left} were left in the queue (removed with it); the rest, at most {}, were taken by the consumer before it died or in flight",
            sent_known.saturating_sub(progress + left as u64)
        ),
    }
}
