//! The `bridge_*` rows (issue 23): samples of 64 B, 4 KiB, 1 MiB and 6 MiB from a publisher on
//! one "machine" to a subscriber on another through two bridges, against raw Zenoh
//! put/subscribe of the same payloads between two processes, both columns in the same run.
//!
//! **Bridged column.** A machine is a process in its own user, mount and IPC namespaces with a
//! private tmpfs on `/dev/shm` (`unshare -Urim`), so neither sees the other's topics; the two
//! share the loopback network. On machine A, a publisher of one frame topic per size (`Block`,
//! no header: the bridge sends such a frame's bytes as they are, the path of a record topic)
//! and an embedded [`Bridge`] exporting them, listening on a free 127.0.0.1 port; on machine B,
//! a [`Bridge`] importing them, connecting to A, and the subscriber of the local topics it
//! makes, receiving in place.
//!
//! **Raw column.** Two plain processes: a Zenoh publisher per size putting the same payloads
//! and a Zenoh subscriber (the default FIFO channel handler, as the importing bridge's),
//! sessions opened the same way ([`session::open`]: peer mode, no scouting, one listening on a
//! free 127.0.0.1 port and one connecting), and the congestion control the bridge gives a
//! `Block` topic: `CongestionControl::Block`, default priority, not express.
//!
//! **What is measured**, the same way in both columns. Each sample starts with its kind, its
//! number and, written last before it is published, its publication time (`CLOCK_MONOTONIC`,
//! which the namespaces share with the host). Latency is one-way: the time the subscriber has
//! the sample minus that publication time, median over samples sent one at a time, the next
//! only after the subscriber acknowledged the last (through a FIFO beside the measured path)
//! and at least 1 ms after the last was sent, so no queue holds anything. Throughput: samples streamed back to
//! back, counted at the receiving end from the first to the last. Both publishers produce each
//! sample with one copy of a prepared buffer (into a loaned frame, or into the `Vec` given to
//! `put`), not counted in the latency. A warm-up sample, resent until the subscriber
//! acknowledges it, proves the path is up before each size.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use posix_ipc::{
    now_ns, ErrorKind, RecordPublisher, RecordSubscriber, SubscribeOptions, Timeout, TopicOptions,
};
use posix_ipc_zenoh::bridge::{Bridge, BridgeConfig};
use posix_ipc_zenoh::session::{self, SessionConfig};
use zenoh::handlers::FifoChannelHandler;
use zenoh::qos::CongestionControl;
use zenoh::sample::Sample;
use zenoh::{Session, Wait};

/// The sizes of the rows: (tag, bytes).
pub const SIZES: [(&str, usize); 4] = [("64", 64), ("4k", 4096), ("1m", 1 << 20), ("6m", 6 << 20)];

/// What makes a machine: a private `/dev/shm`, then the program (`$0`) with its arguments.
const MACHINE: &str = "mount -t tmpfs tmpfs /dev/shm && exec \"$0\" \"$@\"";

/// Set to `1` (as CI may), a host where namespaces cannot be made fails the run instead of
/// skipping the rows.
const REQUIRE: &str = "POSIX_IPC_BENCH_REQUIRE_NAMESPACES";

/// The least time between two latency samples: at most 1,000 a second.
const LATENCY_GAP: Duration = Duration::from_millis(1);

/// Sample kinds, the first word of every sample.
const WARM: u64 = 1;
const LATENCY: u64 = 2;
const STREAM: u64 = 3;

/// Bytes of a sample's head: kind, number, publication time.
const HEAD: usize = 24;

/// Which column a process pair runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bridged,
    Raw,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Bridged => "bridged",
            Mode::Raw => "raw",
        }
    }

    fn parse(s: &str) -> Mode {
        if s == "bridged" {
            Mode::Bridged
        } else {
            Mode::Raw
        }
    }
}

/// One size's work: latency samples, then samples streamed.
#[derive(Debug, Clone, Copy)]
struct Step {
    size: usize,
    latency: usize,
    stream: usize,
}

impl Step {
    fn for_size(size: usize, quick: bool) -> Step {
        let (latency, stream) = match size {
            0..=64 => (300, 200_000),
            65..=4096 => (300, 100_000),
            4097..=1_048_576 => (60, 400),
            _ => (30, 60),
        };
        if quick {
            Step {
                size,
                latency: (latency / 5).max(10),
                stream: (stream / 20).max(10),
            }
        } else {
            Step {
                size,
                latency,
                stream,
            }
        }
    }
}

fn plan_arg(plan: &[Step]) -> String {
    let steps: Vec<String> = plan
        .iter()
        .map(|s| format!("{}:{}:{}", s.size, s.latency, s.stream))
        .collect();
    steps.join(",")
}

fn parse_plan(arg: &str) -> Vec<Step> {
    arg.split(',')
        .map(|s| {
            let n: Vec<usize> = s
                .split(':')
                .map(|v| v.parse().expect("a number in the plan"))
                .collect();
            Step {
                size: n[0],
                latency: n[1],
                stream: n[2],
            }
        })
        .collect()
}

fn topic(size: usize) -> String {
    format!("/pib-bridge-{size}")
}

fn key(size: usize) -> String {
    format!("pib-bench/raw/{size}")
}

/// The topic options on machine A (the importing bridge makes B's alike): `Block`, so nothing
/// is lost and a slow far side holds the publisher back, as Zenoh's `Block` does; 1024 samples
/// deep for the small sizes (as the ring rows; Zenoh's own queues hold about a megabyte), the
/// frame topics' default of 4 for the large ones.
fn options(size: usize) -> TopicOptions {
    TopicOptions::new()
        .capacity(if size <= 4096 { 1024 } else { 4 })
        .max_subscribers(2)
}

// --- what each process of a pair does -------------------------------------------------------

/// The pacing channel between the two processes of a pair: a FIFO both open read-write (so
/// neither open waits for the other), the subscriber writing one byte per acknowledgement and
/// the publisher reading them. It is beside the measured path.
struct Fifo(std::fs::File);

impl Fifo {
    fn open(path: &str) -> Fifo {
        Fifo(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap_or_else(|e| panic!("opening the FIFO {path}: {e}")),
        )
    }

    fn signal(&mut self) {
        self.0.write_all(&[1]).expect("write to the FIFO");
    }

    /// Waits up to `timeout` for an acknowledgement; whether one came.
    fn wait(&mut self, timeout: Duration) -> bool {
        use std::os::fd::AsRawFd;
        let mut fds = libc::pollfd {
            fd: self.0.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, its descriptor open for as long as `self` lives.
        let n = unsafe { libc::poll(&mut fds, 1, ms) };
        if n <= 0 {
            return false;
        }
        let mut b = [0u8; 1];
        self.0.read_exact(&mut b).expect("read from the FIFO");
        true
    }
}

/// `--child bridge-pub|bridge-sub MODE ENDPOINT FIFO PLAN`: machine A's or B's process.
pub fn child(role: &str, args: &[String]) {
    let mode = Mode::parse(&args[0]);
    let endpoint = args[1].clone();
    let mut fifo = Fifo::open(&args[2]);
    let plan = parse_plan(&args[3]);
    match role {
        "bridge-pub" => publisher(mode, endpoint, &mut fifo, &plan),
        "bridge-sub" => subscriber(mode, endpoint, &mut fifo, &plan),
        other => panic!("unknown bridge role {other}"),
    }
}

/// Writes a sample's head: its kind, its number, and last its publication time.
fn stamp(bytes: &mut [u8], kind: u64, seq: u64) {
    bytes[0..8].copy_from_slice(&kind.to_le_bytes());
    bytes[8..16].copy_from_slice(&seq.to_le_bytes());
    bytes[16..24].copy_from_slice(&now_ns().to_le_bytes());
}

/// Where machine A's samples go.
enum Sink {
    Topic(Box<RecordPublisher>),
    Zenoh(zenoh::pubsub::Publisher<'static>),
}

impl Sink {
    /// Publishes a copy of `bytes` stamped as `kind` number `seq`.
    fn send(&mut self, bytes: &[u8], kind: u64, seq: u64) {
        match self {
            Sink::Topic(p) => {
                let mut loan = p
                    .loan_with(bytes.len(), false, Timeout::Infinite)
                    .expect("loan a frame");
                loan.copy_from_slice(bytes);
                stamp(&mut loan, kind, seq);
                loan.send();
            }
            Sink::Zenoh(p) => {
                let mut v = bytes.to_vec();
                stamp(&mut v, kind, seq);
                p.put(v).wait().expect("put a sample");
            }
        }
    }
}

fn open_session(config: SessionConfig) -> Session {
    session::open(&config).unwrap_or_else(|e| panic!("opening the Zenoh session: {e}"))
}

/// Machine A: the publisher (and in the bridged column the exporting bridge).
fn publisher(mode: Mode, endpoint: String, fifo: &mut Fifo, plan: &[Step]) {
    let session = open_session(SessionConfig {
        listen: vec![endpoint],
        ..Default::default()
    });
    let mut sinks: Vec<Sink> = plan
        .iter()
        .map(|s| match mode {
            Mode::Bridged => Sink::Topic(Box::new(
                RecordPublisher::create_frames(
                    &topic(s.size),
                    s.size,
                    None,
                    None,
                    &options(s.size),
                )
                .expect("create the topic"),
            )),
            Mode::Raw => Sink::Zenoh(
                session
                    .declare_publisher(key(s.size))
                    .congestion_control(CongestionControl::Block)
                    .wait()
                    .expect("declare the Zenoh publisher"),
            ),
        })
        .collect();
    let bridge = (mode == Mode::Bridged).then(|| {
        let config = BridgeConfig {
            export: vec!["/pib-bridge-*".into()],
            scan_interval: Duration::from_millis(20),
            ..Default::default()
        };
        Bridge::start(session.clone(), config).expect("start the exporting bridge")
    });
    for (step, sink) in plan.iter().zip(&mut sinks) {
        let size = step.size;
        let bytes: Vec<u8> = (0..size).map(|i| i as u8).collect();
        // Warm-up: resent, less and less often, until the subscriber has one.
        let (start, mut every, mut n) = (Instant::now(), Duration::from_millis(20), 0);
        loop {
            sink.send(&bytes, WARM, n);
            n += 1;
            if fifo.wait(every) {
                break;
            }
            every = (every * 2).min(Duration::from_secs(1));
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no warm-up sample of {size} B reached the subscriber within 60 s"
            );
        }
        let mut last = Instant::now();
        for i in 0..step.latency {
            if let Some(wait) = LATENCY_GAP.checked_sub(last.elapsed()) {
                std::thread::sleep(wait);
            }
            last = Instant::now();
            sink.send(&bytes, LATENCY, i as u64);
            assert!(
                fifo.wait(Duration::from_secs(30)),
                "latency sample {i} of {size} B was not acknowledged within 30 s"
            );
        }
        for i in 0..step.stream {
            sink.send(&bytes, STREAM, i as u64);
        }
        assert!(
            fifo.wait(Duration::from_secs(120)),
            "the stream of {size} B was not received within 120 s"
        );
    }
    drop(sinks);
    match bridge {
        Some(b) => drop(b.stop()),
        None => drop(session.close().wait()),
    }
}

/// Where machine B's samples come from.
enum Source {
    Topic(Box<RecordSubscriber>),
    Zenoh(zenoh::pubsub::Subscriber<FifoChannelHandler<Sample>>),
}

/// A received sample's head and when it was received.
struct Got {
    kind: u64,
    seq: u64,
    latency: u64,
    at: u64,
    /// Bridged: the part of the latency spent on machine B's topic, from the importing
    /// bridge's publication to the subscriber having it (0 in the raw column).
    last_hop: u64,
}

fn head(bytes: &[u8; HEAD], at: u64) -> Got {
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
    Got {
        kind: word(0),
        seq: word(8),
        latency: at.saturating_sub(word(16)),
        at,
        last_hop: 0,
    }
}

impl Source {
    /// The next sample of `size` bytes, in place, waiting up to `timeout`; samples reported
    /// lost are added to `lost`.
    fn recv(&mut self, size: usize, timeout: Duration, lost: &mut u64) -> Result<Got, String> {
        let mut h = [0u8; HEAD];
        match self {
            Source::Topic(s) => loop {
                match s.recv_with(timeout) {
                    Ok(sample) => {
                        let at = now_ns();
                        if sample.len() != size {
                            return Err(format!(
                                "a frame of {} B on the {size} B topic",
                                sample.len()
                            ));
                        }
                        h.copy_from_slice(&sample[..HEAD]);
                        let last_hop = at.saturating_sub(sample.published_ns());
                        return Ok(Got {
                            last_hop,
                            ..head(&h, at)
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::Lagged => *lost += e.missed().unwrap_or(0),
                    // The importing bridge creates the topic and then becomes its publisher: a
                    // subscriber that joined in between is told of a restart, and goes on.
                    Err(e) if e.kind() == ErrorKind::Restarted => {}
                    Err(e) => return Err(format!("receiving a frame of {size} B: {e}")),
                }
            },
            Source::Zenoh(s) => {
                let sample = s
                    .recv_timeout(timeout)
                    .map_err(|e| format!("the Zenoh subscriber of {size} B closed: {e}"))?
                    .ok_or_else(|| format!("no sample of {size} B within {timeout:?}"))?;
                let at = now_ns();
                let payload = sample.payload();
                if payload.len() != size {
                    return Err(format!(
                        "a sample of {} B on the {size} B key",
                        payload.len()
                    ));
                }
                payload
                    .reader()
                    .read_exact(&mut h)
                    .map_err(|e| format!("reading a sample's head: {e}"))?;
                Ok(head(&h, at))
            }
        }
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0)
}

/// Machine B: the subscriber (and in the bridged column the importing bridge). Prints one
/// `result` line per size; on a failure, what the bridge said and its counters.
fn subscriber(mode: Mode, endpoint: String, fifo: &mut Fifo, plan: &[Step]) {
    let session = open_session(SessionConfig {
        connect: vec![endpoint],
        ..Default::default()
    });
    let bridge = (mode == Mode::Bridged).then(|| {
        let config = BridgeConfig {
            import: vec!["/pib-bridge-*".into()],
            ..Default::default()
        };
        Bridge::start(session.clone(), config).expect("start the importing bridge")
    });
    let wait = SubscribeOptions::new()
        .wait(Duration::from_secs(60))
        .follow_restarts(true);
    let sources: Vec<Source> = plan
        .iter()
        .map(|s| match mode {
            Mode::Bridged => Source::Topic(Box::new(
                RecordSubscriber::open_frames(&topic(s.size), None, &wait)
                    .expect("the imported topic within 60 s"),
            )),
            Mode::Raw => Source::Zenoh(
                session
                    .declare_subscriber(key(s.size))
                    .wait()
                    .expect("declare the Zenoh subscriber"),
            ),
        })
        .collect();
    let outcome = receive(fifo, plan, sources);
    let said = match bridge {
        Some(b) => {
            let (stats, lines) = b.stop();
            format!("the importing bridge said {lines:?}; its counters: {stats:?}")
        }
        None => {
            let _ = session.close().wait();
            String::new()
        }
    };
    if let Err(why) = outcome {
        panic!("{why}; {said}");
    }
}

/// Receives what [`publisher`] sends through `plan`, one source per step.
fn receive(fifo: &mut Fifo, plan: &[Step], mut sources: Vec<Source>) -> Result<(), String> {
    let long = Duration::from_secs(60);
    for (step, source) in plan.iter().zip(&mut sources) {
        let size = step.size;
        let mut lost = 0;
        while source.recv(size, long, &mut lost)?.kind != WARM {}
        fifo.signal();
        let mut latencies = Vec::with_capacity(step.latency);
        let mut hops = Vec::with_capacity(step.latency);
        while latencies.len() < step.latency {
            let got = source.recv(size, long, &mut lost)?;
            match got.kind {
                WARM => {}
                LATENCY => {
                    latencies.push(got.latency);
                    hops.push(got.last_hop);
                    fifo.signal();
                }
                other => {
                    return Err(format!(
                        "a sample of kind {other} among the latency samples"
                    ))
                }
            }
        }
        latencies.sort_unstable();
        hops.sort_unstable();
        lost = 0;
        let (mut first, mut received) = (0, 0u64);
        let last = loop {
            let got = source.recv(size, long, &mut lost)?;
            if got.kind != STREAM {
                return Err(format!("a sample of kind {} in the stream", got.kind));
            }
            if received == 0 {
                first = got.at;
            }
            received += 1;
            if got.seq + 1 >= step.stream as u64 {
                break got.at;
            }
        };
        fifo.signal();
        let rate = (received.saturating_sub(1)) as f64 * 1e9 / (last - first).max(1) as f64;
        println!(
            "result {size} {} {} {} {rate:.1} {received} {lost} {}",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.9),
            percentile(&latencies, 0.0),
            percentile(&hops, 0.5),
        );
    }
    Ok(())
}

// --- the parent: process pairs, repetitions, rows ------------------------------------------

/// One size's figures from one process pair.
#[derive(Debug, Clone, Copy)]
struct Measure {
    /// One-way latency, ns: median, 90th percentile, least.
    latency: f64,
    latency_p90: f64,
    latency_min: f64,
    /// Samples per second streamed, at the receiving end.
    rate: f64,
    /// Samples reported lost in the stream (none expected: everything blocks).
    lost: u64,
    /// Bridged: median ns from the importing bridge's publication on B to the subscriber.
    last_hop: f64,
}

/// Whether a machine can be made here; why not otherwise.
fn namespaces() -> Result<(), String> {
    let out = Command::new("unshare")
        .args(["-Urim", "sh", "-c", "mount -t tmpfs tmpfs /dev/shm"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "unshare -Urim with a private /dev/shm failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A FIFO in the temporary directory, removed on drop.
struct FifoPath(PathBuf);

impl FifoPath {
    fn new() -> FifoPath {
        let path = std::env::temp_dir().join(format!(
            "pib-bridge-{}-{}.fifo",
            std::process::id(),
            crate::harness::next_counter()
        ));
        let c =
            std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("no NUL in a path");
        // SAFETY: a NUL-terminated path that outlives the call.
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(
            rc,
            0,
            "mkfifo {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        FifoPath(path)
    }
}

impl Drop for FifoPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn spawn(mode: Mode, role: &str, args: &[String]) -> Child {
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let mut cmd = match mode {
        Mode::Bridged => {
            let mut c = Command::new("unshare");
            c.args(["-Urim", "sh", "-c", MACHINE]).arg(&exe);
            c
        }
        Mode::Raw => Command::new(&exe),
    };
    cmd.arg("--child")
        .arg(role)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the {} {role} process: {e}", mode.name()))
}

/// Waits for both processes (up to `limit`), killing both if either fails or time runs out;
/// the subscriber's output.
fn finish_pair(mode: Mode, mut a: Child, mut b: Child, limit: Duration) -> String {
    let until = Instant::now() + limit;
    let (mut a_done, mut b_done) = (false, false);
    let mut failure = None;
    while !(a_done && b_done) && failure.is_none() {
        for (child, done, what) in [
            (&mut a, &mut a_done, "publisher"),
            (&mut b, &mut b_done, "subscriber"),
        ] {
            if *done {
                continue;
            }
            if let Some(status) = child.try_wait().expect("wait for a child") {
                *done = true;
                if !status.success() {
                    failure = Some(format!("the {} {what} failed: {status}", mode.name()));
                }
            }
        }
        if Instant::now() > until {
            failure = Some(format!(
                "the {} pair did not finish within {limit:?}",
                mode.name()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if let Some(why) = failure {
        for c in [&mut a, &mut b] {
            let _ = c.kill();
            let _ = c.wait();
        }
        panic!("bridge rows: {why}");
    }
    let mut out = String::new();
    if let Some(mut s) = b.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    out
}

/// Runs one process pair of `mode` through `plan`: a figure per step.
fn pair(mode: Mode, plan: &[Step], quick: bool) -> Vec<Measure> {
    let fifo = FifoPath::new();
    let args = vec![
        mode.name().to_string(),
        format!("tcp/127.0.0.1:{}", free_port()),
        fifo.0.to_string_lossy().into_owned(),
        plan_arg(plan),
    ];
    let a = spawn(mode, "bridge-pub", &args);
    let b = spawn(mode, "bridge-sub", &args);
    let limit = Duration::from_secs(if quick { 60 } else { 300 });
    let out = finish_pair(mode, a, b, limit);
    let results: Vec<Measure> = out
        .lines()
        .filter_map(|l| l.strip_prefix("result "))
        .map(|l| {
            let v: Vec<f64> = l
                .split_whitespace()
                .map(|w| w.parse().unwrap_or(f64::NAN))
                .collect();
            Measure {
                latency: v[1],
                latency_p90: v[2],
                latency_min: v[3],
                rate: v[4],
                lost: v[6] as u64,
                last_hop: v[7],
            }
        })
        .collect();
    assert_eq!(
        results.len(),
        plan.len(),
        "the {} subscriber reported {} sizes of {}:\n{out}",
        mode.name(),
        results.len(),
        plan.len()
    );
    results
}

/// One `bridge_*` row.
pub struct BridgeRow {
    pub workload: String,
    size: usize,
    /// Medians over the repetitions: one-way latency ns, samples per second.
    bridged_latency: f64,
    raw_latency: f64,
    bridged_rate: f64,
    raw_rate: f64,
    /// Medians of the per-repetition comparisons.
    latency_diff: f64,
    latency_ratio: f64,
    rate_ratio: f64,
    /// Median ns of the bridged latency spent on machine B's topic (importing bridge to
    /// subscriber).
    last_hop: f64,
    lost: u64,
    pub json: String,
}

/// The rows, or why there are none.
#[derive(Default)]
pub struct BridgeRows {
    pub rows: Vec<BridgeRow>,
    pub skipped: Option<String>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Runs the rows whose name contains `only` (all without it). Skips them, saying why, where
/// namespaces cannot be made, unless `POSIX_IPC_BENCH_REQUIRE_NAMESPACES=1`.
pub fn run(quick: bool, only: Option<&str>) -> BridgeRows {
    let wanted: Vec<(&str, usize)> = SIZES
        .into_iter()
        .filter(|(tag, _)| only.is_none_or(|s| format!("bridge_{tag}").contains(s)))
        .collect();
    if wanted.is_empty() {
        return BridgeRows::default();
    }
    if let Err(why) = namespaces() {
        if std::env::var(REQUIRE).as_deref() == Ok("1") {
            eprintln!("posix-ipc-bench: bridge_* rows: {why} ({REQUIRE}=1)");
            std::process::exit(1);
        }
        eprintln!("posix-ipc-bench: bridge_* rows skipped: {why}");
        return BridgeRows {
            rows: Vec::new(),
            skipped: Some(why),
        };
    }
    let plan: Vec<Step> = wanted
        .iter()
        .map(|&(_, size)| Step::for_size(size, quick))
        .collect();
    let reps = if quick { 1 } else { 7 };
    let (mut bridged, mut raw) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        // Alternate the order so that neither column always runs first.
        if rep % 2 == 0 {
            bridged.push(pair(Mode::Bridged, &plan, quick));
            raw.push(pair(Mode::Raw, &plan, quick));
        } else {
            raw.push(pair(Mode::Raw, &plan, quick));
            bridged.push(pair(Mode::Bridged, &plan, quick));
        }
    }
    let mut rows = Vec::new();
    for (i, (&(tag, size), step)) in wanted.iter().zip(&plan).enumerate() {
        let b: Vec<Measure> = bridged.iter().map(|r| r[i]).collect();
        let r: Vec<Measure> = raw.iter().map(|r| r[i]).collect();
        let pick = |v: &[Measure], f: fn(&Measure) -> f64| median(v.iter().map(f).collect());
        let paired = |f: fn(&Measure, &Measure) -> f64| {
            median(b.iter().zip(&r).map(|(b, r)| f(b, r)).collect())
        };
        let workload = format!("bridge_{tag}");
        let row = BridgeRow {
            size,
            bridged_latency: pick(&b, |m| m.latency),
            raw_latency: pick(&r, |m| m.latency),
            bridged_rate: pick(&b, |m| m.rate),
            raw_rate: pick(&r, |m| m.rate),
            latency_diff: paired(|b, r| b.latency - r.latency),
            latency_ratio: paired(|b, r| b.latency / r.latency),
            rate_ratio: paired(|b, r| b.rate / r.rate),
            last_hop: pick(&b, |m| m.last_hop),
            lost: b.iter().chain(&r).map(|m| m.lost).sum(),
            json: String::new(),
            workload,
        };
        let json = format!(
            "{{\"workload\":\"{}\",\"unit\":\"one-way latency ns; samples/s\",\"size\":{size},\"bridged_latency\":{:.0},\"raw_latency\":{:.0},\"latency_diff\":{:.0},\"latency_ratio\":{:.4},\"bridged_last_hop\":{:.0},\"bridged_latency_p90\":{:.0},\"raw_latency_p90\":{:.0},\"bridged_latency_min\":{:.0},\"raw_latency_min\":{:.0},\"bridged_rate\":{:.1},\"raw_rate\":{:.1},\"bridged_mb_s\":{:.1},\"raw_mb_s\":{:.1},\"rate_ratio\":{:.4},\"lost\":{},\"reps\":{reps},\"latency_samples\":{},\"stream_samples\":{}}}",
            row.workload,
            row.bridged_latency,
            row.raw_latency,
            row.latency_diff,
            row.latency_ratio,
            row.last_hop,
            pick(&b, |m| m.latency_p90),
            pick(&r, |m| m.latency_p90),
            pick(&b, |m| m.latency_min),
            pick(&r, |m| m.latency_min),
            row.bridged_rate,
            row.raw_rate,
            mb(row.bridged_rate, size),
            mb(row.raw_rate, size),
            row.rate_ratio,
            row.lost,
            step.latency,
            step.stream,
        );
        eprintln!(
            "{:<22} latency bridged {:>9.1} us (B's topic {:.1})  raw {:>9.1} us  ({:+.1} us, {:.3}x)  rate bridged {:>10.1}/s  raw {:>10.1}/s  ({:.3}x)",
            row.workload,
            row.bridged_latency / 1e3,
            row.last_hop / 1e3,
            row.raw_latency / 1e3,
            row.latency_diff / 1e3,
            row.latency_ratio,
            row.bridged_rate,
            row.raw_rate,
            row.rate_ratio
        );
        rows.push(BridgeRow { json, ..row });
    }
    BridgeRows {
        rows,
        skipped: None,
    }
}

/// Megabytes (10^6 bytes) per second.
fn mb(rate: f64, size: usize) -> f64 {
    rate * size as f64 / 1e6
}

/// The rows as a Markdown table.
pub fn table(rows: &BridgeRows, out: &mut impl Write) -> std::io::Result<()> {
    if rows.rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n## Bridge: two machines through two bridges against raw Zenoh, same run\n"
    )?;
    writeln!(
        out,
        "| row | bridged latency us | of which on B's topic us | raw Zenoh latency us | bridged - raw us | bridged/raw latency | bridged samples/s | raw Zenoh samples/s | bridged MB/s | raw Zenoh MB/s | bridged/raw rate |"
    )?;
    writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for r in &rows.rows {
        writeln!(
            out,
            "| `{}` | {:.1} | {:.1} | {:.1} | {:+.1} | {:.3} | {:.0} | {:.0} | {:.1} | {:.1} | {:.3} |",
            r.workload,
            r.bridged_latency / 1e3,
            r.last_hop / 1e3,
            r.raw_latency / 1e3,
            r.latency_diff / 1e3,
            r.latency_ratio,
            r.bridged_rate,
            r.raw_rate,
            mb(r.bridged_rate, r.size),
            mb(r.raw_rate, r.size),
            r.rate_ratio,
        )?;
    }
    Ok(())
}

/// The targets, checked against this run.
pub fn targets(rows: &BridgeRows, out: &mut impl Write) -> std::io::Result<()> {
    if let Some(why) = &rows.skipped {
        return writeln!(
            out,
            "\n## Bridge targets\n\n- Not in this run: {why} (set {REQUIRE}=1 to make that a failure)."
        );
    }
    if rows.rows.is_empty() {
        return Ok(());
    }
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    writeln!(out, "\n## Bridge targets, checked against this run\n")?;
    for r in &rows.rows {
        let mut parts = vec![format!(
            "throughput {:.3}x raw Zenoh's (needs at least 0.9x): {}",
            r.rate_ratio,
            verdict(r.rate_ratio >= 0.9)
        )];
        if r.size == 64 {
            parts.push(format!(
                "latency raw Zenoh's {:+.1} us (needs at most +25 us): {}",
                r.latency_diff / 1e3,
                verdict(r.latency_diff <= 25_000.0)
            ));
        } else if r.size >= 1 << 20 {
            parts.push(format!(
                "latency {:.3}x raw Zenoh's (needs at most 1.1x): {}",
                r.latency_ratio,
                verdict(r.latency_ratio <= 1.1)
            ));
        }
        if r.lost > 0 {
            parts.push(format!("{} samples reported lost", r.lost));
        }
        writeln!(out, "- `{}`: {}", r.workload, parts.join("; "))?;
    }
    Ok(())
}

/// What the rows measure.
pub fn descriptions(rows: &BridgeRows, out: &mut impl Write) -> std::io::Result<()> {
    if rows.rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "- `bridge_*`: samples of that size from a publisher on machine A to a subscriber on \
         machine B through two embedded bridges (`bridged`), against raw Zenoh put/subscribe of \
         the same payloads between two processes (`raw`), on the same loopback TCP with the same \
         sessions (peer mode, no scouting) and `CongestionControl::Block` (what the bridge uses \
         for a `Block` topic). A machine is a process in its own user, mount and IPC namespaces \
         with its own `/dev/shm` (`unshare -Urim`); A publishes a `Block` frame topic without a \
         header (sent as is, as a record topic) that its bridge exports, B's bridge imports it \
         and B's subscriber receives in place. Latency is one-way, `CLOCK_MONOTONIC` from just \
         before the publish call to the subscriber having the sample, median over samples sent \
         one at a time (the next once the last was acknowledged beside the measured path, at \
         most 1,000 a second); throughput is samples streamed back to back, counted at the \
         receiving end from the first to the last. Each repetition runs both columns, in \
         alternating order; the table gives the medians over repetitions and the medians of the \
         per-repetition differences and ratios. `of which on B's topic`: the part of the \
         bridged latency from the importing bridge's publication on B (the time B's topic \
         records) to the subscriber having the sample."
    )
}
