//! `cpp_sub_*` rows (issue 25): a C++ subscriber (`cpp_sub.cpp`, through `posix_ipc.hpp` and
//! the C library) against a Rust subscriber (`--child cpp-rust-sub`, `posix_ipc::Subscriber`)
//! on the same topic, fed by the same Rust publisher, alternating, in the same run: one-way
//! latency, and the rate at which each drains samples already published, for 64-byte records
//! and 1 MiB frames.
//!
//! The C library is built and installed by `posix-ipc-c/install.sh` (a release build) into
//! `target/tmp`, and the C++ subscriber compiled there with `g++ -O3`; without bash or g++
//! the rows are skipped, said on stderr; a build that fails stops the run.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use posix_ipc::{FramePublisher, IpcMessage, Policy, Publisher, Subscriber, TopicOptions};

/// The 64-byte record: kind (1 latency, 2 stream), number, publication time, padding.
#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
pub struct Rec64 {
    kind: u64,
    number: u64,
    published_ns: u64,
    pad: [u64; 5],
}

const LATENCY: u64 = 1;
const STREAM: u64 = 2;
const FRAME: usize = 1 << 20;

/// One row: the medians over repetitions of each subscriber's figures.
pub struct CppRow {
    pub workload: String,
    pub rust_latency_ns: f64,
    pub cpp_latency_ns: f64,
    pub rust_rate: f64,
    pub cpp_rate: f64,
    pub json: String,
}

/// What one subscriber run reported.
struct Figures {
    latency_ns: f64,
    rate: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The installed library and the compiled C++ subscriber, or why not.
fn build() -> Result<PathBuf, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let prefix = root.join("target/tmp/bench-cpp");
    let out = Command::new("bash")
        .arg(root.join("posix-ipc-c/install.sh"))
        .arg("--prefix")
        .arg(&prefix)
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run install.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "posix-ipc-c/install.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let exe = prefix.join("cpp_sub");
    let out = Command::new("g++")
        .args(["-std=c++17", "-O3", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", prefix.join("include").display()))
        .arg(root.join("posix-ipc-bench/src/cpp_sub.cpp"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", prefix.join("lib").display()))
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-lposix_ipc")
        .output()
        .map_err(|e| format!("cannot run g++: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "g++ failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(exe)
}

/// The counts of one run: latency samples, stream rounds, samples per round.
#[derive(Clone, Copy)]
struct Counts {
    latencies: u64,
    rounds: u64,
    burst: u64,
}

/// A subscriber process started and joined, its stdout read line by line.
struct Peer {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Peer {
    fn start(cmd: &mut Command, name: &str, kind: &str, c: Counts) -> Peer {
        let mut child = cmd
            .arg(name)
            .arg(kind)
            .args([c.latencies, c.rounds, c.burst].map(|n| n.to_string()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a subscriber");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut peer_line = String::new();
        out.read_line(&mut peer_line)
            .expect("the subscriber's first line");
        assert_eq!(peer_line.trim(), "joined", "the subscriber did not join");
        Peer { child, out }
    }

    /// Tells it a burst is there and waits until it has drained it.
    fn drain(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").expect("tell the subscriber");
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out
            .read_line(&mut line)
            .expect("the subscriber's word");
        assert_eq!(line.trim(), "drained", "the subscriber failed");
    }

    fn figures(mut self, c: Counts) -> Figures {
        drop(self.child.stdin.take());
        let mut text = String::new();
        std::io::Read::read_to_string(&mut self.out, &mut text).unwrap();
        let status = self.child.wait().expect("wait for the subscriber");
        assert!(status.success(), "the subscriber failed: {text}");
        let words: Vec<&str> = text.split_whitespace().collect();
        let num = |key: &str| -> f64 {
            let i = words.iter().position(|w| *w == key).expect(key);
            words[i + 1].parse().expect(key)
        };
        assert_eq!(num("stream") as u64, c.rounds * c.burst);
        Figures {
            latency_ns: num("latency_ns"),
            rate: num("stream") / (num("stream_ns") / 1e9),
        }
    }
}

fn now_ns() -> u64 {
    posix_ipc::now_ns()
}

fn spin_for(d: Duration) {
    let until = Instant::now() + d;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// One run of the 64-byte row with the subscriber `cmd` starts.
fn run_rec64(cmd: &mut Command, name: &str, c: Counts) -> Figures {
    let options = TopicOptions::new()
        .capacity(2048)
        .policy(Policy::Block)
        .stall_timeout(Duration::from_secs(30));
    let mut publisher = Publisher::<Rec64>::create(name, &options).expect("create the topic");
    let mut peer = Peer::start(cmd, name, "rec64", c);
    let mut rec = Rec64 {
        kind: LATENCY,
        number: 0,
        published_ns: 0,
        pad: [0; 5],
    };
    for i in 0..c.latencies {
        rec.number = i;
        rec.published_ns = now_ns();
        publisher.send(&rec).unwrap();
        spin_for(Duration::from_micros(200));
    }
    rec.kind = STREAM;
    for _ in 0..c.rounds {
        for i in 0..c.burst {
            rec.number = i;
            publisher.send(&rec).unwrap();
        }
        peer.drain();
    }
    drop(publisher);
    let f = peer.figures(c);
    let _ = posix_ipc::unlink_shared_memory(name);
    f
}

/// One run of the 1 MiB frame row.
fn run_frame(cmd: &mut Command, name: &str, c: Counts) -> Figures {
    let options = TopicOptions::new()
        .capacity(8)
        .policy(Policy::Block)
        .stall_timeout(Duration::from_secs(30));
    let mut publisher = FramePublisher::create(name, FRAME, &options).expect("create the topic");
    let mut peer = Peer::start(cmd, name, "frame1m", c);
    let fill: Vec<u8> = (0..FRAME).map(|i| (i * 7) as u8).collect();
    let mut send = |kind: u64, i: u64| {
        let mut frame = publisher.loan_unzeroed(FRAME).unwrap();
        frame.copy_from_slice(&fill);
        frame[0..8].copy_from_slice(&kind.to_ne_bytes());
        frame[8..16].copy_from_slice(&i.to_ne_bytes());
        frame[16..24].copy_from_slice(&now_ns().to_ne_bytes());
        frame.send();
    };
    for i in 0..c.latencies {
        send(LATENCY, i);
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..c.rounds {
        for i in 0..c.burst {
            send(STREAM, i);
        }
        peer.drain();
    }
    drop(publisher);
    let f = peer.figures(c);
    let _ = posix_ipc::unlink_shared_memory(name);
    f
}

/// `--child cpp-rust-sub TOPIC KIND LATENCIES ROUNDS BURST`: the Rust subscriber, the same
/// work as `cpp_sub.cpp`.
pub fn child(args: &[String]) {
    let (name, kind) = (&args[0], &args[1]);
    let n = |i: usize| -> u64 { args[i].parse().expect("a count") };
    let c = Counts {
        latencies: n(2),
        rounds: n(3),
        burst: n(4),
    };
    let options = posix_ipc::SubscribeOptions::new().wait(Duration::from_secs(10));
    if kind == "rec64" {
        let mut sub = Subscriber::<Rec64>::open_with(name, &options).expect("open");
        serve(c, || {
            let s = sub.recv_timeout(Duration::from_secs(30)).expect("a record");
            (s.published_ns, s.kind ^ s.number)
        });
    } else {
        let mut sub = posix_ipc::FrameSubscriber::open_with(name, &options).expect("open");
        serve(c, || {
            let f = sub.recv_timeout(Duration::from_secs(30)).expect("a frame");
            // One word per 64-byte line, as cpp_sub.cpp.
            let word = |i: usize| u64::from_ne_bytes(f[i..i + 8].try_into().unwrap());
            let mut sum = 0u64;
            for line in f.chunks_exact(64) {
                sum ^= u64::from_ne_bytes(line[..8].try_into().unwrap());
            }
            (word(16), sum)
        });
    }
}

/// The subscriber's protocol, around `take` (one sample: its publication time and checksum).
fn serve(c: Counts, mut take: impl FnMut() -> (u64, u64)) {
    println!("joined");
    let _ = std::io::stdout().flush();
    let mut lat = Vec::new();
    let mut checksum = 0u64;
    for _ in 0..c.latencies {
        let (published, sum) = take();
        lat.push(now_ns() - published);
        checksum ^= sum;
    }
    let mut stream_ns = 0u64;
    let stdin = std::io::stdin();
    for _ in 0..c.rounds {
        let mut line = String::new();
        stdin.read_line(&mut line).expect("the publisher's word");
        let t0 = now_ns();
        for _ in 0..c.burst {
            checksum ^= take().1;
        }
        stream_ns += now_ns() - t0;
        println!("drained");
        let _ = std::io::stdout().flush();
    }
    lat.sort_unstable();
    let median = lat.get(lat.len() / 2).copied().unwrap_or(0);
    println!(
        "latency_ns {median} stream {} stream_ns {stream_ns} checksum {checksum}",
        c.rounds * c.burst
    );
}

/// The rows (none if `only` excludes them, or the C++ side cannot be built).
pub fn run(quick: bool, only: Option<&str>) -> Vec<CppRow> {
    let want = |name: &str| only.is_none_or(|s| name.contains(s));
    let workloads: Vec<&str> = ["cpp_sub_64", "cpp_sub_frame_1m"]
        .into_iter()
        .filter(|w| want(w))
        .collect();
    if workloads.is_empty() {
        return Vec::new();
    }
    let cpp = match build() {
        Ok(exe) => exe,
        // No compiler here: said and skipped. A build that fails is a bug: the run fails.
        Err(why) if why.starts_with("cannot run") => {
            eprintln!("posix-ipc-bench: cpp_sub_* rows skipped: {why}");
            return Vec::new();
        }
        Err(why) => panic!("the cpp_sub_* rows cannot be built: {why}"),
    };
    let me = std::env::current_exe().expect("this benchmark's path");
    let reps = if quick { 1 } else { 5 };
    let mut rows = Vec::new();
    for w in workloads {
        let (mut rust, mut cpp_figures) = (Vec::new(), Vec::new());
        for rep in 0..reps {
            for (is_cpp, out) in [(false, &mut rust), (true, &mut cpp_figures)] {
                let name = format!("/pib-cpp-{}-{rep}-{is_cpp}", std::process::id());
                let mut cmd = if is_cpp {
                    Command::new(&cpp)
                } else {
                    let mut c = Command::new(&me);
                    c.args(["--child", "cpp-rust-sub"]);
                    c
                };
                let f = if w == "cpp_sub_64" {
                    let c = Counts {
                        latencies: if quick { 300 } else { 3000 },
                        rounds: if quick { 20 } else { 200 },
                        burst: 1000,
                    };
                    run_rec64(&mut cmd, &name, c)
                } else {
                    let c = Counts {
                        latencies: if quick { 30 } else { 200 },
                        rounds: if quick { 10 } else { 100 },
                        burst: 4,
                    };
                    run_frame(&mut cmd, &name, c)
                };
                out.push(f);
            }
        }
        let lat = |v: &[Figures]| median(v.iter().map(|f| f.latency_ns).collect());
        let rate = |v: &[Figures]| median(v.iter().map(|f| f.rate).collect());
        let row = CppRow {
            workload: w.to_string(),
            rust_latency_ns: lat(&rust),
            cpp_latency_ns: lat(&cpp_figures),
            rust_rate: rate(&rust),
            cpp_rate: rate(&cpp_figures),
            json: String::new(),
        };
        let json = format!(
            "{{\"workload\":\"{}\",\"rust_latency_ns\":{:.0},\"cpp_latency_ns\":{:.0},\
             \"rust_samples_per_s\":{:.0},\"cpp_samples_per_s\":{:.0},\"reps\":{reps}}}",
            row.workload, row.rust_latency_ns, row.cpp_latency_ns, row.rust_rate, row.cpp_rate
        );
        rows.push(CppRow { json, ..row });
    }
    rows
}

/// The rows as a Markdown table.
pub fn table(rows: &[CppRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n## A C++ subscriber against a Rust subscriber on the same topic, same run\n"
    )?;
    writeln!(
        out,
        "| row | Rust latency ns | C++ latency ns | C++/Rust latency | Rust samples/s | C++ samples/s | Rust/C++ time per sample |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|")?;
    for r in rows {
        writeln!(
            out,
            "| `{}` | {:.0} | {:.0} | {:.3} | {:.0} | {:.0} | {:.3} |",
            r.workload,
            r.rust_latency_ns,
            r.cpp_latency_ns,
            r.cpp_latency_ns / r.rust_latency_ns,
            r.rust_rate,
            r.cpp_rate,
            r.rust_rate / r.cpp_rate
        )?;
    }
    Ok(())
}

/// The target (at most 1.1x the Rust subscriber), checked against this run.
pub fn targets(rows: &[CppRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    writeln!(
        out,
        "\n## C++ subscriber targets, checked against this run\n"
    )?;
    for r in rows {
        let lat = r.cpp_latency_ns / r.rust_latency_ns;
        let time = r.rust_rate / r.cpp_rate;
        writeln!(
            out,
            "- `{}`: latency {lat:.3}x the Rust subscriber's (needs at most 1.1x): {}; time per \
             streamed sample {time:.3}x (needs at most 1.1x): {}",
            r.workload,
            verdict(lat <= 1.1),
            verdict(time <= 1.1)
        )?;
    }
    Ok(())
}

/// What the rows measure.
pub fn descriptions(rows: &[CppRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "- `cpp_sub_*`: one Rust publisher (`Block`, 30 s stall timeout) and one subscriber \
         process, the Rust one (`posix_ipc::Subscriber<Rec64>` / `FrameSubscriber`, receiving \
         in place) or the C++ one (`posix_ipc.hpp` over `libposix_ipc.so`, built by \
         `posix-ipc-c/install.sh` and `g++ -O3`, as CMake's Release builds, receiving in place into one \
         guard: a library call per sample), alternating, 5 \
         repetitions each (1 with `--quick`), medians. Latency: publication time written in \
         the sample to its receipt, median over samples sent 200 µs apart (records) or 2 ms \
         apart (frames); rate: the publisher publishes a burst (1000 records, or 4 frames), \
         then tells the subscriber (a line on its stdin), which drains it, timed from before \
         its first receive to after its last: the cost of taking samples that are there, \
         without the publisher's pace; 200 rounds (100 of frames; a tenth with `--quick`). `cpp_sub_64`: 64-byte records; `cpp_sub_frame_1m`: 1 MiB \
         frames, of which either subscriber reads one word per 64-byte line."
    )?;
    Ok(())
}
