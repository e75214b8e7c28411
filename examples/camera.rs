//! A camera over a publish-subscribe topic in `Overwrite` mode: 1920×1080×3 frames at 60 Hz,
//! each with a typed header, every byte checked by the subscribers.
//!
//! ```text
//! cargo run --release --example camera                                   # all in one
//! cargo run --release --example camera -- --seconds 10 --fps 30 --slow-ms 100
//! cargo run --release --example camera -- --role subscriber              # as a robot runs it:
//! cargo run --release --example camera -- --role publisher               # any order, restartable
//! cargo run --release --example camera -- --help
//! ```
//!
//! **All in one** (`--role all`, the default): one publisher process and 3 subscriber processes
//! it starts. Subscriber 3 is deliberately slow (it holds each frame for 40 ms): it gets
//! `Lagged` with the exact number of frames it missed, while the publisher and the other two
//! subscribers go on at full rate. Each subscriber prints its frame rate, latency (publication
//! to receipt) and losses every second, and a summary at the end. A frame that changed while a
//! subscriber held it, or arrived torn, would be counted as bad: the run fails if any is.
//! Killing a subscriber (`kill -9`) does not disturb the others (the run then says which one
//! died and exits non-zero); Ctrl-C stops everything within a few seconds, also with a
//! subscriber stopped (`kill -STOP`). It publishes under `--topic` too, and takes over the topic
//! a run killed with `kill -9` left.
//!
//! **Publisher and subscribers as separate programs** (`--role publisher`, `--role subscriber`),
//! under a fixed `--topic` name (default `/posix-ipc-camera`), the way a robot's processes are
//! started and restarted by a supervisor:
//!
//! - The publisher creates the topic, or takes over the one a publisher killed with `kill -9`
//!   left (`create_or_take_over`), and owns it: Ctrl-C or SIGTERM stops it and removes the
//!   topic. While a publisher is alive, a second one is refused with an error naming it.
//! - A subscriber waits for the topic, checks every frame, and follows restarts: when its
//!   publisher dies and a new one takes over, it says so (with the new publisher's generation)
//!   and goes on. If the topic was removed (its publisher stopped cleanly), it waits for it to
//!   be made again and joins that. Ctrl-C or SIGTERM prints a summary: frames and bytes
//!   checked, bad frames, restarts followed, lags.
//!
//! Frames are loaned in the segment and written in place by the publisher (without zeroing
//! them first: every byte is written), each with a `FrameInfo` header (number, publication
//! time, width, height) checked when a subscriber opens the topic; subscribers read them in
//! place (mapped read-only). `tests/demo_faults.rs` runs all of this, faults included.

#[path = "shared/children.rs"]
mod children;

use std::time::{Duration, Instant};

use children::{describe, stop_with_parent, Children};
use posix_ipc::typed::bytemuck;
use posix_ipc::{
    ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Owned, Policy, SubscribeOptions,
    Timeout, TopicOptions,
};

type AnyResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Frames the topic keeps.
const CAPACITY: usize = 4;
/// Subscribers the topic admits: the all-in-one run's 3, and one more of your own.
const MAX_SUBSCRIBERS: usize = 4;
/// Subscriber processes of the all-in-one run; the last one is slow.
const SUBSCRIBERS: usize = 3;

const USAGE: &str = "\
usage: camera [--role all|publisher|subscriber] [--topic NAME] [OPTIONS]

  --role all          (default) a publisher and 3 subscriber processes, the third slow, for
                      --seconds; a summary at the end
  --role publisher    publishes on --topic until Ctrl-C or SIGTERM (or for --seconds); takes
                      the topic over if its last publisher died; removes it when it stops
  --role subscriber   waits for --topic, checks every frame, follows publisher restarts;
                      prints a summary on Ctrl-C or SIGTERM

  --topic NAME        the topic (default /posix-ipc-camera)
  --width W           frame width in pixels of 3 bytes (default 1920)
  --height H          frame height (default 1080); W x H must be a multiple of 8
  --fps F             frames per second (default 60)
  --seconds S         publish S x F frames, then stop (all: default 5; publisher: until
                      stopped)
  --slow-ms MS        all: subscriber 3 holds each frame this long (default 40);
                      subscriber: hold each frame this long (default 0)
  -h, --help          this text (nothing is created or opened)
";

/// What travels with each frame, ahead of its pixels.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct FrameInfo {
    number: u64,
    /// `CLOCK_MONOTONIC` when the frame was published, in nanoseconds (`posix_ipc::now_ns`).
    published_ns: u64,
    width: u32,
    height: u32,
}

/// The command line.
struct Config {
    role: String,
    topic: String,
    width: u32,
    height: u32,
    fps: f64,
    seconds: Option<f64>,
    slow_ms: Option<u64>,
    /// The all-in-one run's number for its subscriber processes.
    id: String,
}

impl Config {
    fn parse(args: &[String]) -> Result<Config, String> {
        const FLAGS: [&str; 8] = [
            "--role",
            "--topic",
            "--width",
            "--height",
            "--fps",
            "--seconds",
            "--slow-ms",
            "--id",
        ];
        let mut values = std::collections::HashMap::new();
        let mut rest = args.iter().skip(1);
        while let Some(flag) = rest.next() {
            if !FLAGS.contains(&flag.as_str()) {
                return Err(format!("unknown argument {flag:?}"));
            }
            let value = rest.next().ok_or(format!("{flag} needs a value"))?;
            values.insert(flag.as_str(), value.clone());
        }
        fn number<T: std::str::FromStr>(
            values: &std::collections::HashMap<&str, String>,
            flag: &str,
        ) -> Result<Option<T>, String> {
            values
                .get(flag)
                .map(|v| {
                    v.parse()
                        .map_err(|_| format!("{flag} {v:?} is not a number"))
                })
                .transpose()
        }
        let config = Config {
            role: values.get("--role").cloned().unwrap_or("all".into()),
            topic: values
                .get("--topic")
                .cloned()
                .unwrap_or("/posix-ipc-camera".into()),
            width: number(&values, "--width")?.unwrap_or(1920),
            height: number(&values, "--height")?.unwrap_or(1080),
            fps: number(&values, "--fps")?.unwrap_or(60.0),
            seconds: number(&values, "--seconds")?,
            slow_ms: number(&values, "--slow-ms")?,
            id: values.get("--id").cloned().unwrap_or("0".into()),
        };
        if !["all", "publisher", "subscriber", "child-subscriber"].contains(&config.role.as_str()) {
            return Err(format!(
                "--role {:?}: expected all, publisher or subscriber",
                config.role
            ));
        }
        let pixels = u64::from(config.width) * u64::from(config.height);
        if pixels == 0 || pixels % 8 != 0 {
            return Err(format!(
                "a {}x{} frame: width x height must be a positive multiple of 8 (frames are \
                 checked as 8-byte words)",
                config.width, config.height
            ));
        }
        if !(config.fps.is_finite() && config.fps > 0.0) {
            return Err(format!("--fps {}: expected a positive number", config.fps));
        }
        if config.seconds.is_some_and(|s| !(s.is_finite() && s >= 0.0)) {
            return Err("--seconds: expected a positive number".into());
        }
        Ok(config)
    }

    fn frame_len(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return;
    }
    let config = match Config::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("camera: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let result = match config.role.as_str() {
        "publisher" => publisher(&config),
        "subscriber" => subscriber(&config),
        "child-subscriber" => child_subscriber(&config),
        _ => run(&config),
    };
    if let Err(e) = result {
        match e.downcast_ref::<posix_ipc::Error>() {
            Some(ipc) => eprintln!("camera: failed ({:?}): {e}", ipc.kind()),
            None => eprintln!("camera: failed: {e}"),
        }
        std::process::exit(1);
    }
}

/// Word `i` of frame `n`'s pixels: what a subscriber checks.
#[inline(always)]
fn pattern(n: u64, i: usize) -> u64 {
    n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (i as u64).wrapping_mul(0xff51_afd7_ed55_8ccd)
}

/// Whether a frame is whole: as long as its header's width × height × 3, and every 8-byte word
/// the pattern of the frame its header numbers.
fn frame_is_whole(info: &FrameInfo, bytes: &[u8]) -> bool {
    let expected = info.width as usize * info.height as usize * 3;
    bytes.len() == expected
        && bytemuck::try_cast_slice::<u8, u64>(bytes).is_ok_and(|words| {
            words
                .iter()
                .enumerate()
                .all(|(i, &w)| w == pattern(info.number, i))
        })
}

/// The topic, created or taken over from a dead publisher, owned (removed when dropped).
fn open_topic(config: &Config) -> posix_ipc::Result<Owned<FramePublisher<FrameInfo>>> {
    let options = TopicOptions::new()
        .capacity(CAPACITY)
        .policy(Policy::Overwrite)
        .max_subscribers(MAX_SUBSCRIBERS);
    FramePublisher::<FrameInfo>::create_or_take_over_with_header(
        &config.topic,
        config.frame_len(),
        &options,
    )
}

/// Writes frame `n` in place (every byte, so the loan need not be zeroed) and publishes it.
fn publish(publisher: &mut FramePublisher<FrameInfo>, n: u64, config: &Config) -> AnyResult<()> {
    let mut frame = publisher.loan_unzeroed(config.frame_len())?;
    let words: &mut [u64] = bytemuck::try_cast_slice_mut(&mut frame[..])
        .map_err(|e| format!("a frame is not a slice of 8-byte words: {e:?}"))?;
    for (i, w) in words.iter_mut().enumerate() {
        *w = pattern(n, i);
    }
    *frame.header_mut() = FrameInfo {
        number: n,
        published_ns: posix_ipc::now_ns(),
        width: config.width,
        height: config.height,
    };
    frame.send();
    Ok(())
}

/// Sleeps until `due`, in slices, so a stop request is seen within 50 ms at any frame rate.
fn sleep_until(due: Instant) {
    while let Some(wait) = due.checked_duration_since(Instant::now()) {
        if posix_ipc::signals::stop_requested() {
            return;
        }
        std::thread::sleep(wait.min(Duration::from_millis(50)));
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// `--role publisher`: publishes until stopped, then removes the topic.
fn publisher(config: &Config) -> AnyResult<()> {
    posix_ipc::signals::stop_on_signals()?;
    let name = &config.topic;
    let mut publisher = open_topic(config)?;
    let generation = publisher.generation();
    println!(
        "publisher: pid {}, topic {name}: {}x{}x3 frames ({} bytes) at {} Hz, Overwrite, keeps \
         {CAPACITY} frames, up to {MAX_SUBSCRIBERS} subscribers, {:.1} MB of /dev/shm",
        std::process::id(),
        config.width,
        config.height,
        config.frame_len(),
        config.fps,
        megabytes(publisher.footprint()?.reserved)
    );
    if generation > 1 {
        println!(
            "publisher: took the topic over from a publisher that is gone: generation \
             {generation}; Ctrl-C or SIGTERM stops and removes it"
        );
    } else {
        println!(
            "publisher: created the topic: generation {generation}; Ctrl-C or SIGTERM stops \
             and removes it"
        );
    }
    let frames = config.seconds.map(|s| (s * config.fps).round() as u64);
    let per_second = (config.fps.round() as u64).max(1);
    let period = Duration::from_secs_f64(1.0 / config.fps);
    let start = Instant::now();
    let (mut n, mut due) = (0u64, start);
    while frames.is_none_or(|f| n < f) {
        sleep_until(due);
        if posix_ipc::signals::stop_requested() {
            break;
        }
        publish(&mut publisher, n, config)?;
        n += 1;
        // A camera that fell behind (stopped with SIGSTOP, starved of CPU) skips the frames it
        // missed rather than sending them in a burst.
        due = (due + period).max(Instant::now());
        if n % per_second == 0 {
            println!(
                "publisher: {n} frames, {} subscribers live",
                publisher.subscribers()
            );
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    publisher.remove()?;
    println!("publisher: stopped after {n} frames in {elapsed:.1} s; removed topic {name}");
    Ok(())
}

/// Latency percentiles in milliseconds of nanosecond samples (sorted here).
fn percentiles(ns: &mut [u64], qs: &[f64]) -> Vec<f64> {
    ns.sort_unstable();
    qs.iter()
        .map(|q| {
            ns.get(((ns.len() as f64 * q) as usize).min(ns.len().saturating_sub(1)))
                .map_or(0.0, |&v| v as f64 / 1e6)
        })
        .collect()
}

/// What a `--role subscriber` saw, for its summary.
#[derive(Default)]
struct Tally {
    frames: u64,
    bytes: u64,
    bad: u64,
    lags: u64,
    missed: u64,
    restarts: Vec<u64>,
    rejoins: u64,
    latencies: Vec<u64>,
}

/// `--role subscriber`: waits for the topic, checks every frame, follows restarts; a summary
/// when stopped.
fn subscriber(config: &Config) -> AnyResult<()> {
    posix_ipc::signals::stop_on_signals()?;
    let name = &config.topic;
    let slow = Duration::from_millis(config.slow_ms.unwrap_or(0));
    let options = SubscribeOptions::new()
        .wait(Timeout::Infinite)
        .follow_restarts(true);
    let mut tally = Tally::default();
    println!(
        "subscriber: pid {}, waiting for topic {name}; Ctrl-C or SIGTERM stops it",
        std::process::id()
    );
    'join: loop {
        let mut sub = match FrameSubscriber::<FrameInfo>::open_with_header_options(name, &options) {
            Ok(sub) => sub,
            Err(e) if e.kind() == ErrorKind::Cancelled => break 'join,
            Err(e) => return Err(e.into()),
        };
        // Reads the topic's counters while a frame borrows `sub`.
        let status = sub.status()?;
        let mut generation = sub.generation();
        // Between a topic's creation and its publisher's start, there is no generation yet.
        let publisher_state = |generation: u64| match (status.publisher_alive(), generation) {
            (true, _) => format!("publisher generation {generation} alive"),
            (false, 0) => "no publisher yet".to_string(),
            (false, _) => format!("publisher generation {generation} gone"),
        };
        println!(
            "subscriber: joined {name}: {}, frames of up to {} bytes",
            publisher_state(generation),
            sub.max_frame_len()
        );
        let mut seen_first = false;
        let mut said_waiting = false;
        let (mut second, mut second_missed, mut tick) = (Vec::new(), 0u64, Instant::now());
        loop {
            // The frame is checked and dropped in this `match`: the one below may use `sub`.
            let received = match sub.recv_timeout(Duration::from_secs(1)) {
                Ok(frame) => {
                    let info = *frame.header();
                    let latency = posix_ipc::now_ns().saturating_sub(info.published_ns);
                    if !slow.is_zero() {
                        // Deliberately slow, holding the frame: the publisher goes on.
                        std::thread::sleep(slow);
                    }
                    if !frame_is_whole(&info, &frame) {
                        tally.bad += 1;
                        println!(
                            "subscriber: frame {} of generation {} is bad: {} bytes, header \
                             {info:?}",
                            info.number,
                            status.generation(),
                            frame.len()
                        );
                    }
                    tally.frames += 1;
                    tally.bytes += frame.len() as u64;
                    tally.latencies.push(latency);
                    second.push(latency);
                    Ok(info)
                }
                Err(e) => Err(e),
            };
            match received {
                Ok(info) => {
                    // A subscriber that joined while no publisher was alive is not told of the
                    // next one: its frames are the first it receives.
                    generation = sub.generation();
                    if !seen_first {
                        seen_first = true;
                        println!(
                            "subscriber: first frame of generation {generation}: number {}, \
                             {}x{}",
                            info.number, info.width, info.height
                        );
                    }
                    said_waiting = false;
                }
                Err(e) if e.kind() == ErrorKind::Lagged => {
                    let missed = e.missed().unwrap_or(0);
                    tally.missed += missed;
                    second_missed += missed;
                    tally.lags += 1;
                }
                Err(e) if e.kind() == ErrorKind::Restarted => {
                    generation = e.generation().unwrap_or(generation + 1);
                    tally.restarts.push(generation);
                    seen_first = false;
                    println!(
                        "subscriber: publisher restarted: generation {generation} took the \
                         topic over; going on ({} frames so far)",
                        tally.frames
                    );
                }
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    if !status.publisher_alive() && !said_waiting {
                        said_waiting = true;
                        println!(
                            "subscriber: {}; waiting for a publisher",
                            publisher_state(generation)
                        );
                    }
                    if !status.publisher_alive() && !sub.stat()?.linked {
                        // Its publisher stopped cleanly and removed it: a new publisher makes
                        // a new topic under the name, which this subscriber joins.
                        tally.rejoins += 1;
                        println!(
                            "subscriber: topic {name} was removed (its publisher stopped); \
                             waiting for it to be made again"
                        );
                        continue 'join;
                    }
                }
                // Not expected while following restarts (a receive waits for the next
                // publisher instead); should it come, the answer is to join the topic again.
                Err(e) if e.kind() == ErrorKind::Disconnected => {
                    tally.rejoins += 1;
                    println!("subscriber: {e}; joining {name} again");
                    continue 'join;
                }
                Err(e) if e.kind() == ErrorKind::Cancelled => break 'join,
                Err(e) => return Err(e.into()),
            }
            if tick.elapsed() >= Duration::from_secs(1) {
                if !second.is_empty() || second_missed > 0 {
                    let p = percentiles(&mut second, &[0.5, 1.0]);
                    println!(
                        "subscriber: {} frames/s, latency p50 {:.2} ms max {:.2} ms, missed \
                         {second_missed}, {} pending",
                        second.len(),
                        p[0],
                        p[1],
                        status.pending()
                    );
                }
                second.clear();
                second_missed = 0;
                tick = Instant::now();
            }
        }
    }
    let p = percentiles(&mut tally.latencies, &[0.5, 0.99, 1.0]);
    let restarts: Vec<String> = tally.restarts.iter().map(u64::to_string).collect();
    println!();
    println!("subscriber: summary of topic {name}");
    println!("  frames received    {}", tally.frames);
    println!(
        "  bytes checked      {} ({:.1} MB, every byte of every frame)",
        tally.bytes,
        megabytes(tally.bytes)
    );
    println!(
        "  bad frames         {} (wrong size, torn, or changed while held)",
        tally.bad
    );
    println!(
        "  restarts followed  {}{}",
        tally.restarts.len(),
        if restarts.is_empty() {
            String::new()
        } else {
            format!(" (to generation {})", restarts.join(", "))
        }
    );
    println!(
        "  topic made again   {} (joined anew after its publisher removed it)",
        tally.rejoins
    );
    println!(
        "  frames missed      {} (overwritten before this subscriber read them)",
        tally.missed
    );
    println!("  lags               {} (times it fell behind)", tally.lags);
    println!(
        "  latency            p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p[0], p[1], p[2]
    );
    println!("  (frames published while this subscriber was not joined are not counted)");
    if tally.bad > 0 {
        return Err(format!("{} frames were bad", tally.bad).into());
    }
    Ok(())
}

/// `--role all`: the publisher, and the subscriber processes it starts.
fn run(config: &Config) -> AnyResult<()> {
    let seconds = config.seconds.unwrap_or(5.0);
    let fps = config.fps;
    let slow_ms = config.slow_ms.unwrap_or(40).to_string();
    let (width, height, frame_len) = (config.width, config.height, config.frame_len());
    posix_ipc::signals::stop_on_signals()?;
    let name = config.topic.clone();
    let mut publisher = open_topic(config)?;
    println!(
        "camera: topic {name}: {width}x{height}x3 frames ({frame_len} bytes) at {fps} Hz for \
         {seconds} s, Overwrite, keeps {CAPACITY} frames; {SUBSCRIBERS} subscriber processes, \
         number 3 slow ({slow_ms} ms per frame)"
    );
    println!(
        "camera: if this process is killed with SIGKILL, its subscribers stop and the topic \
         stays behind: the next run takes it over"
    );
    let exe = std::env::current_exe()?;
    let mut kids = Children::new();
    for id in 1..=SUBSCRIBERS {
        let mut a: Vec<String> = [
            "--role",
            "child-subscriber",
            "--topic",
            &name,
            "--id",
            &id.to_string(),
            "--width",
            &width.to_string(),
            "--height",
            &height.to_string(),
        ]
        .map(str::to_string)
        .to_vec();
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
    let frames = (seconds * fps).round() as u64;
    let start = Instant::now();
    let mut write_ns = Vec::with_capacity(frames as usize);
    let mut summaries = Vec::new();
    for n in 0..frames {
        sleep_until(start + Duration::from_secs_f64(n as f64 / fps));
        if posix_ipc::signals::stop_requested() {
            break;
        }
        let t = Instant::now();
        publish(&mut publisher, n, config)?;
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
    // This run's frames (the topic's count includes those of a publisher it took over from).
    let published = write_ns.len() as u64;
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

/// A subscriber process of the all-in-one run: ends when the publisher has gone and every frame
/// it published was received (`Disconnected`), and prints one `summary` line for it.
fn child_subscriber(config: &Config) -> AnyResult<()> {
    stop_with_parent();
    posix_ipc::signals::stop_on_signals()?;
    let id = &config.id;
    let slow = Duration::from_millis(config.slow_ms.unwrap_or(0));
    let label = if slow.is_zero() {
        format!("subscriber {id}")
    } else {
        format!("subscriber {id} (slow)")
    };
    // Opening checks the header type (FrameInfo's name, size and layout) and the frame size.
    let mut sub =
        FrameSubscriber::<FrameInfo>::open_checked_with_header(&config.topic, config.frame_len())?;
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
                let latency = posix_ipc::now_ns().saturating_sub(info.published_ns);
                if !slow.is_zero() {
                    // Deliberately slow, holding the frame: the publisher goes on with others.
                    std::thread::sleep(slow);
                }
                if (info.width, info.height) != (config.width, config.height)
                    || !frame_is_whole(&info, &frame)
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
            let p = percentiles(&mut second, &[0.5, 1.0]);
            println!(
                "{label}: {} frames/s, latency p50 {:.2} ms max {:.2} ms, missed {second_missed}",
                second.len(),
                p[0],
                p[1]
            );
            second.clear();
            second_missed = 0;
            tick = Instant::now();
        }
    }
    let p = percentiles(&mut latencies, &[0.5, 0.99, 1.0]);
    println!(
        "summary {id}{} {received} {missed} {lags} {bad} {:.2} {:.2} {:.2}",
        if slow.is_zero() { "" } else { "(slow)" },
        p[0],
        p[1],
        p[2]
    );
    Ok(())
}
