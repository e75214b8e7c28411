//! A camera: one publisher process of 1920×1080×3 frames at 60 Hz to 3 subscriber processes
//! over a publish-subscribe topic in `Overwrite` mode. Subscriber 3 is deliberately slow (it
//! holds each frame for 40 ms): it gets `Lagged` with the exact number of frames it missed,
//! while the publisher and the other two subscribers go on at full rate.
//!
//! ```text
//! cargo run --release --example camera
//! cargo run --release --example camera -- --seconds 10 --fps 30 --slow-ms 100
//! ```
//!
//! Frames are loaned in the segment and written in place by the publisher, each with a typed
//! header (`FrameInfo`: number, publication time, width, height) checked when a subscriber
//! opens the topic; subscribers read them in place (mapped read-only) and check every byte. Each subscriber prints its frame
//! rate, latency (publication to receipt) and losses every second, and a summary at the end.
//! A frame that changed while a subscriber held it, or arrived torn, would be counted as bad:
//! the run fails if any is. Killing a subscriber (`kill -9`) does not disturb the others (the
//! run then says which one died and exits non-zero); Ctrl-C stops everything within a few
//! seconds, also with a subscriber stopped (`kill -STOP`). The topic is owned: removed at the
//! end, also on error or Ctrl-C; after a `kill -9` of the publisher the start-up line says how
//! to remove it.

#[path = "shared/children.rs"]
mod children;
#[path = "shared/reading.rs"]
#[expect(dead_code, reason = "each example uses part of the shared module")]
mod reading;

use std::time::{Duration, Instant};

use children::{describe, stop_with_parent, Children};
use posix_ipc::typed::bytemuck;
use posix_ipc::{ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, TopicOptions};
use reading::arg;

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

const WIDTH: usize = 1920;
const HEIGHT: usize = 1080;
const FRAME: usize = WIDTH * HEIGHT * 3;
const SUBSCRIBERS: usize = 3;

/// What travels with each frame, ahead of its pixels.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct FrameInfo {
    number: u64,
    /// `CLOCK_MONOTONIC` when the frame was published, in nanoseconds.
    published_ns: u64,
    width: u32,
    height: u32,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let result = if arg(&args, "--role", "") == "subscribe" {
        subscribe(&args)
    } else {
        run(&args)
    };
    if let Err(e) = result {
        eprintln!("camera: failed: {e}");
        std::process::exit(1);
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: the same clock in every process.
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Word `i` of frame `n`'s pixels: what a subscriber checks.
#[inline(always)]
fn pattern(n: u64, i: usize) -> u64 {
    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

fn run(args: &[String]) -> AnyResult<()> {
    let seconds: f64 = arg(args, "--seconds", "5").parse()?;
    let fps: f64 = arg(args, "--fps", "60").parse()?;
    let slow_ms = arg(args, "--slow-ms", "40");
    posix_ipc::signals::stop_on_signals()?;
    let name = format!("/posix-ipc-camera-{}", std::process::id());
    let options = TopicOptions::new()
        .capacity(4)
        .policy(Policy::Overwrite)
        .max_subscribers(SUBSCRIBERS);
    let mut publisher =
        FramePublisher::<FrameInfo>::create_owned_with_header(&name, FRAME, &options)?;
    println!(
        "camera: topic {name}: {WIDTH}x{HEIGHT}x3 frames ({FRAME} bytes) at {fps} Hz for \
         {seconds} s, Overwrite, keeps 4 frames; {SUBSCRIBERS} subscriber processes, number 3 \
         slow ({slow_ms} ms per frame)"
    );
    println!(
        "camera: if this process is killed with SIGKILL, its subscribers stop and the topic \
         stays behind: remove it with `posix-ipc clean --stale --prefix /posix-ipc-camera-`"
    );
    let exe = std::env::current_exe()?;
    let mut kids = Children::new();
    for id in 1..=SUBSCRIBERS {
        let mut a = vec![
            "--role".to_string(),
            "subscribe".to_string(),
            "--topic".to_string(),
            name.clone(),
            "--id".to_string(),
            id.to_string(),
        ];
        if id == SUBSCRIBERS {
            a.extend(["--slow-ms".to_string(), slow_ms.clone()]);
        }
        kids.spawn(format!("subscriber {id}"), &exe, &a)?;
    }
    let pids: Vec<String> = kids.procs.iter().map(|p| p.pid.to_string()).collect();
    println!("camera: subscriber pids {}", pids.join(","));
    let mut joined = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while joined < SUBSCRIBERS {
        let left = deadline.saturating_duration_since(Instant::now());
        match kids.lines.recv_timeout(left) {
            Ok((_, line)) if line.starts_with("joined") => joined += 1,
            Ok((_, line)) => println!("{line}"),
            Err(_) => return Err("the subscribers did not join within 10 s".into()),
        }
    }
    let period = Duration::from_secs_f64(1.0 / fps);
    let frames = (seconds * fps).round() as u64;
    let start = Instant::now();
    let mut write_ns = Vec::with_capacity(frames as usize);
    let mut summaries = Vec::new();
    for n in 0..frames {
        let due = start + period * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if posix_ipc::signals::stop_requested() {
            break;
        }
        let t = Instant::now();
        let mut frame = publisher.loan(FRAME)?;
        let words: &mut [u64] = bytemuck::cast_slice_mut(&mut frame[..]);
        for (i, w) in words.iter_mut().enumerate() {
            *w = pattern(n, i);
        }
        *frame.header_mut() = FrameInfo {
            number: n,
            published_ns: now_ns(),
            width: WIDTH as u32,
            height: HEIGHT as u32,
        };
        frame.send();
        write_ns.push(t.elapsed().as_nanos() as u64);
        while let Ok((_, line)) = kids.lines.try_recv() {
            if line.starts_with("summary") {
                summaries.push(line);
            } else {
                println!("{line}");
            }
        }
        if (n + 1) % (fps as u64).max(1) == 0 {
            println!(
                "publisher: {} frames, {} subscribers live",
                n + 1,
                publisher.subscribers()
            );
        }
    }
    let elapsed = start.elapsed();
    let published = publisher.published();
    // Without a publisher the subscribers drain what is left and then see Disconnected. After
    // Ctrl-C (which reached them too) a stopped subscriber would never answer: wait less.
    let interrupted = posix_ipc::signals::stop_requested();
    publisher.remove()?;
    let deadline = Instant::now() + Duration::from_secs(if interrupted { 2 } else { 20 });
    while !kids.all_ended() && Instant::now() < deadline {
        kids.reap();
        while let Ok((_, line)) = kids.lines.recv_timeout(Duration::from_millis(20)) {
            if line.starts_with("summary") {
                summaries.push(line);
            } else {
                println!("{line}");
            }
        }
    }
    kids.stop_all(Duration::from_secs(2));
    while let Ok((_, line)) = kids.lines.try_recv() {
        if line.starts_with("summary") {
            summaries.push(line);
        }
    }
    write_ns.sort_unstable();
    let median = write_ns.get(write_ns.len() / 2).copied().unwrap_or(0);
    println!();
    println!(
        "published {published} frames in {:.2} s ({:.1} frames/s); writing a frame in place \
         took {:.2} ms (median)",
        elapsed.as_secs_f64(),
        published as f64 / elapsed.as_secs_f64(),
        median as f64 / 1e6
    );
    println!("subscriber  received  missed  lags  bad  latency p50  p99      max");
    let mut bad_total = 0u64;
    summaries.sort();
    for s in &summaries {
        let f: Vec<&str> = s.split_whitespace().collect();
        // summary ID received missed lags bad p50 p99 max
        if f.len() < 9 {
            continue;
        }
        bad_total += f[5].parse::<u64>().unwrap_or(1);
        println!(
            "{:<11} {:>8}  {:>6}  {:>4}  {:>3}  {:>8} ms  {:>5} ms  {:>5} ms",
            f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
        );
    }
    for p in &kids.procs {
        if let Some(status) = p.status {
            if !status.success() {
                println!("{} {}", p.role, describe(status));
            }
        }
    }
    if interrupted {
        return Err(format!(
            "interrupted after {published} frames; {} of {SUBSCRIBERS} subscribers reported",
            summaries.len()
        )
        .into());
    }
    if summaries.len() < SUBSCRIBERS {
        return Err(format!(
            "only {} of {SUBSCRIBERS} subscribers reported",
            summaries.len()
        )
        .into());
    }
    if bad_total > 0 {
        return Err(format!("{bad_total} frames were torn or changed under a guard").into());
    }
    println!("every frame received was whole: 0 torn, 0 changed while held");
    Ok(())
}

fn subscribe(args: &[String]) -> AnyResult<()> {
    stop_with_parent();
    posix_ipc::signals::stop_on_signals()?;
    let topic = arg(args, "--topic", "");
    let id = arg(args, "--id", "0");
    let slow = Duration::from_millis(arg(args, "--slow-ms", "0").parse()?);
    let label = if slow.is_zero() {
        format!("subscriber {id}")
    } else {
        format!("subscriber {id} (slow)")
    };
    // Opening checks the header type (FrameInfo's name, size and layout) and the frame size.
    let mut sub = FrameSubscriber::<FrameInfo>::open_checked_with_header(&topic, FRAME)?;
    println!("joined");
    let (mut received, mut missed, mut lags, mut bad) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies: Vec<u64> = Vec::new();
    let mut second = Vec::new();
    let mut tick = Instant::now();
    let mut second_missed = 0;
    loop {
        match sub.recv() {
            Ok(frame) => {
                let info = *frame.header();
                let latency = now_ns().saturating_sub(info.published_ns);
                if !slow.is_zero() {
                    // Deliberately slow, holding the frame: the publisher goes on with others.
                    std::thread::sleep(slow);
                }
                let words: &[u64] = bytemuck::cast_slice(&frame);
                let n = info.number;
                if (info.width, info.height) != (WIDTH as u32, HEIGHT as u32)
                    || words.len() * 8 != FRAME
                    || !words.iter().enumerate().all(|(i, &w)| w == pattern(n, i))
                {
                    bad += 1;
                }
                received += 1;
                latencies.push(latency);
                second.push(latency);
            }
            Err(e) if e.kind() == ErrorKind::Lagged => {
                let m = e.missed().unwrap_or(0);
                missed += m;
                second_missed += m;
                lags += 1;
            }
            Err(e) if e.kind() == ErrorKind::Disconnected => break,
            Err(e) if e.kind() == ErrorKind::Cancelled => break,
            Err(e) => return Err(e.into()),
        }
        if tick.elapsed() >= Duration::from_secs(1) {
            second.sort_unstable();
            let ms = |v: &[u64], q: f64| {
                v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
                    .map_or(0.0, |&ns| ns as f64 / 1e6)
            };
            println!(
                "{label}: {} frames/s, latency p50 {:.2} ms max {:.2} ms, missed {second_missed}",
                second.len(),
                ms(&second, 0.5),
                ms(&second, 1.0)
            );
            second.clear();
            second_missed = 0;
            tick = Instant::now();
        }
    }
    latencies.sort_unstable();
    let ms = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&ns| ns as f64 / 1e6)
    };
    println!(
        "summary {id}{} {received} {missed} {lags} {bad} {:.2} {:.2} {:.2}",
        if slow.is_zero() { "" } else { "(slow)" },
        ms(0.5),
        ms(0.99),
        ms(1.0)
    );
    Ok(())
}
