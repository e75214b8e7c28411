//! `posix-ipc topic list|echo|hz` against live topics published by this test process.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use common::{guarded, json, run, Kind, BIN};
use posix_ipc::{FramePublisher, IpcMessage, Policy, Publisher, TopicOptions};

/// A record with fields of several kinds, to check each is decoded.
#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct Pose {
    seq: u64,
    x: f64,
    y: f32,
    level: i32,
    tag: [u8; 8],
}

/// A frame header.
#[derive(Clone, Copy, Debug, IpcMessage)]
#[repr(C)]
struct FrameInfo {
    number: u64,
    width: u32,
    height: u32,
}

/// How long a test waits for a condition before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A `posix-ipc` child process, killed (and reaped) if the test ends before it does, so a
/// failing test leaves no process behind.
struct Running(Option<Child>);

impl Running {
    /// Starts `posix-ipc args` with stdout and stderr piped.
    fn start(args: &[&str]) -> Running {
        let child = StdCommand::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start posix-ipc");
        Running(Some(child))
    }

    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("not finished yet")
    }

    fn pid(&mut self) -> u32 {
        self.child().id()
    }

    /// Waits for it to exit by itself (killing it and failing after [`PATIENCE`]); what it
    /// printed.
    #[track_caller]
    fn finish(mut self) -> Output {
        let deadline = Instant::now() + PATIENCE;
        while self.child().try_wait().expect("poll the child").is_none() {
            assert!(
                Instant::now() < deadline,
                "posix-ipc did not exit within {PATIENCE:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let child = self.0.take().expect("not finished yet");
        child.wait_with_output().expect("collect the output")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `ready` until it holds, failing the test after [`PATIENCE`] with `what`.
#[track_caller]
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reads lines from a child's stdout until one contains `needle`; returns the lines read.
#[track_caller]
fn read_until(out: &mut BufReader<ChildStdout>, needle: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = out.read_line(&mut line).expect("read the child's stdout");
        assert!(n > 0, "stdout ended before {needle:?}: {lines:?}");
        let found = line.contains(needle);
        lines.push(line);
        if found {
            return lines;
        }
    }
}

/// Whether process `pid` is stopped (state `T` in `/proc/PID/stat`).
fn stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1;
            after.split_whitespace().next().map(|s| s == "T")
        })
        .unwrap_or(false)
}

fn signal(pid: u32, sig: i32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// FNV-1a 64, as `topic echo --help` says it prints for frames, written out independently.
fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn pose(seq: u64) -> Pose {
    Pose {
        seq,
        x: seq as f64 + 0.5,
        y: -(seq as f32),
        level: -7 * seq as i32,
        tag: [b'p', b'o', b's', b'0' + seq as u8, 0, 0, 0, 0],
    }
}

#[test]
fn topic_help_names_the_subcommands_and_the_checksum() {
    let out = run(&["topic", "--help"]).ok();
    for sub in ["list", "echo", "hz"] {
        assert!(out.stdout.contains(sub), "{sub} not in {}", out.stdout);
    }
    let out = run(&["topic", "echo", "--help"]).ok();
    for needle in [
        "--count", "--json", "--wait", "--follow", "FNV-1a", "fnv1a64",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle} not in {}",
            out.stdout
        );
    }
    let out = run(&["topic", "hz", "--help"]).ok();
    for needle in ["--seconds", "--window", "standard deviation"] {
        assert!(
            out.stdout.contains(needle),
            "{needle} not in {}",
            out.stdout
        );
    }
    assert!(run(&["--help"]).ok().stdout.contains("topic"));
}

#[test]
fn echo_json_prints_each_published_record_decoded_field_by_field() {
    let (name, _g) = guarded(Kind::Shm, "echo-records");
    let mut publisher = Publisher::<Pose>::create_owned(&name, &TopicOptions::new()).unwrap();
    let echo = Running::start(&["topic", "echo", &name, "--count", "3", "--json"]);
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    for seq in 1..=4 {
        publisher.send(&pose(seq)).unwrap();
    }
    let out = echo.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(json).collect();
    assert_eq!(lines.len(), 3, "--count 3: {lines:?}");
    for (i, line) in lines.iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(line["index"], i as u64, "{line}");
        assert_eq!(line["generation"], 1, "{line}");
        let f = &line["fields"];
        assert_eq!(f["seq"], seq, "{line}");
        assert_eq!(f["x"], seq as f64 + 0.5, "{line}");
        assert_eq!(f["y"], -(seq as f64), "{line}");
        assert_eq!(f["level"], -7 * seq as i64, "{line}");
        assert_eq!(
            f["tag"],
            serde_json::json!([b'p', b'o', b's', b'0' + seq as u8, 0, 0, 0, 0]),
            "{line}"
        );
    }
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn echo_text_separates_samples_and_names_their_fields() {
    let (name, _g) = guarded(Kind::Shm, "echo-text");
    let mut publisher = Publisher::<Pose>::create_owned(&name, &TopicOptions::new()).unwrap();
    let echo = Running::start(&["topic", "echo", &name, "--count", "1"]);
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    publisher.send(&pose(2)).unwrap();
    let out = echo.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "--- sample 0 (generation 1)\nseq: 2\nx: 2.5\ny: -2.0\nlevel: -14\ntag: [112, 111, 115, 50, 0, 0, 0, 0]\n"
    );
}

#[test]
fn echo_json_of_frames_decodes_the_header_and_checks_length_and_checksum() {
    let (name, _g) = guarded(Kind::Shm, "echo-frames");
    let mut publisher =
        FramePublisher::<FrameInfo>::create_owned_with_header(&name, 4096, &TopicOptions::new())
            .unwrap();
    let echo = Running::start(&["topic", "echo", &name, "--count", "3", "--json"]);
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    let frames: Vec<Vec<u8>> = (0..3u32)
        .map(|n| (0..1000 + 500 * n).map(|i| (i * 7 + n) as u8).collect())
        .collect();
    for (n, bytes) in frames.iter().enumerate() {
        let header = FrameInfo {
            number: 100 + n as u64,
            width: 640,
            height: 480 + n as u32,
        };
        publisher.send_with_header(&header, bytes).unwrap();
    }
    let out = echo.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(json).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (n, line) in lines.iter().enumerate() {
        assert_eq!(line["index"], n as u64, "{line}");
        assert_eq!(line["generation"], 1, "{line}");
        assert_eq!(line["fields"]["number"], 100 + n as u64, "{line}");
        assert_eq!(line["fields"]["width"], 640, "{line}");
        assert_eq!(line["fields"]["height"], 480 + n as u64, "{line}");
        assert_eq!(line["len"], frames[n].len(), "{line}");
        assert_eq!(line["fnv1a64"], fnv1a64(&frames[n]), "{line}");
    }
}

#[test]
fn echo_reports_missed_samples_then_the_publishers_end_and_exits_0() {
    let (name, _g) = guarded(Kind::Shm, "echo-lag");
    let options = TopicOptions::new().capacity(2).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Pose>::create_owned(&name, &options).unwrap();
    let mut echo = Running::start(&["topic", "echo", &name, "--json"]);
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    // Stopped, echo reads nothing while ten samples overwrite the two entries.
    let pid = echo.pid();
    signal(pid, libc::SIGSTOP);
    wait_until("echo is stopped", || stopped(pid));
    for seq in 0..10 {
        publisher.send(&pose(seq)).unwrap();
    }
    drop(publisher);
    signal(pid, libc::SIGCONT);
    let out = echo.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(json).collect();
    let missed: u64 = lines
        .iter()
        .filter(|l| l["event"] == "lagged")
        .map(|l| l["missed"].as_u64().expect("missed is a count"))
        .sum();
    let samples: Vec<u64> = lines.iter().filter_map(|l| l["index"].as_u64()).collect();
    assert!(missed > 0, "a lag is reported: {lines:?}");
    assert_eq!(missed + samples.len() as u64, 10, "{lines:?}");
    assert_eq!(samples.last(), Some(&9), "{lines:?}");
    assert_eq!(
        lines.last().map(|l| l["event"].clone()),
        Some(serde_json::json!("disconnected")),
        "{lines:?}"
    );
}

#[test]
fn echo_stops_cleanly_on_sigterm_with_a_summary() {
    let (name, _g) = guarded(Kind::Shm, "echo-stop");
    let mut publisher = Publisher::<Pose>::create_owned(&name, &TopicOptions::new()).unwrap();
    let mut echo = Running::start(&["topic", "echo", &name]);
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    publisher.send(&pose(1)).unwrap();
    let mut stdout = BufReader::new(echo.child().stdout.take().expect("piped"));
    read_until(&mut stdout, "tag:");
    signal(echo.pid(), libc::SIGTERM);
    let out = echo.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert_eq!(
        err,
        format!("posix-ipc topic echo: stopped after 1 sample(s) of {name}\n")
    );
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "nothing after the sample");
    assert_eq!(publisher.subscribers(), 0, "echo left the topic");
}

#[test]
fn echo_of_a_missing_topic_exits_3_and_waits_when_asked() {
    let (name, _g) = guarded(Kind::Shm, "echo-missing");
    let out = run(&["topic", "echo", &name]).code(3);
    out.one_error_line(&[&name, "topic list", "--wait"]);
    let out = run(&["topic", "echo", &name, "--wait", "0.1"]).code(5);
    out.one_error_line(&[&name, "--wait"]);
    // With --wait, echo starts before its publisher.
    let echo = Running::start(&["topic", "echo", &name, "--wait", "20", "--count", "1"]);
    let mut publisher = Publisher::<Pose>::create_owned(&name, &TopicOptions::new()).unwrap();
    wait_until("echo joins the topic", || publisher.subscribers() >= 1);
    publisher.send(&pose(5)).unwrap();
    let out = echo.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("seq: 5"),
        "{}",
        text(&out.stdout)
    );
}

/// The number after `rate ` and before `/s` in `line`.
fn rate_in(line: &str) -> f64 {
    let after = line
        .split("rate ")
        .nth(1)
        .unwrap_or_else(|| panic!("no rate in {line:?}"));
    after
        .split("/s")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no number after rate in {line:?}"))
}

#[test]
fn hz_measures_the_rate_of_a_publisher_sending_every_10_ms() {
    let (name, _g) = guarded(Kind::Shm, "hz");
    let options = TopicOptions::new().policy(Policy::Overwrite);
    let mut publisher = Publisher::<Pose>::create_owned(&name, &options).unwrap();
    let mut hz = Running::start(&["topic", "hz", &name, "--seconds", "2"]);
    wait_until("hz joins the topic", || publisher.subscribers() >= 1);
    // The pace of the publisher, not a synchronisation: hz measures whatever arrives.
    let mut seq = 0;
    while hz.child().try_wait().expect("poll hz").is_none() {
        publisher.send(&pose(seq)).unwrap();
        seq += 1;
        std::thread::sleep(Duration::from_millis(10));
        assert!(seq < 2000, "hz did not stop after --seconds 2");
    }
    let out = hz.finish();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let summary = stdout
        .lines()
        .find(|l| l.starts_with(&format!("summary of {name}: ")))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let rate = rate_in(summary);
    assert!((30.0..=150.0).contains(&rate), "{rate}/s: {stdout}");
    for needle in ["min ", "max ", "std dev ", "B/s", "0 missed"] {
        assert!(summary.contains(needle), "{needle:?} not in {summary}");
    }
    // A line a second before the summary, with the rate over the window.
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains("window ")).collect();
    assert!(!lines.is_empty(), "no per-second line in {stdout}");
    assert!(rate_in(lines[0]) > 0.0, "{stdout}");
}

#[test]
fn hz_rejects_a_window_without_an_interval() {
    run(&["topic", "hz", "/pit-x", "--window", "1"])
        .code(2)
        .one_error_line(&["--window"]);
    run(&["topic", "hz", "/pit-x", "--seconds", "0"])
        .code(2)
        .one_error_line(&["--seconds"]);
}

#[test]
fn list_shows_topics_with_type_policy_peers_and_footprint() {
    let prefix = format!("/pit-{}-cli-tlist-", std::process::id());
    let (records, _g1) = guarded(Kind::Shm, "tlist-poses");
    let (frames, _g2) = guarded(Kind::Shm, "tlist-frames");
    let options = TopicOptions::new().capacity(8).policy(Policy::Overwrite);
    let mut poses = Publisher::<Pose>::create_owned(&records, &options).unwrap();
    let _sub = posix_ipc::Subscriber::<Pose>::open(&records).unwrap();
    poses.send(&pose(1)).unwrap();
    poses.send(&pose(2)).unwrap();
    let _video =
        FramePublisher::<FrameInfo>::create_owned_with_header(&frames, 4096, &TopicOptions::new())
            .unwrap();
    let me = std::process::id();

    let out = run(&["topic", "list", &prefix]).ok();
    let row = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in\n{}", out.stdout))
            .to_string()
    };
    let r = row(&records);
    for part in ["Pose", "32 B", "Overwrite", &format!("{me} alive")] {
        assert!(r.contains(part), "{part:?} not in {r}");
    }
    let f = row(&frames);
    for part in ["frames + FrameInfo header (16 B)", "max 4096 B", "Block"] {
        assert!(f.contains(part), "{part:?} not in {f}");
    }
    for header in [
        "TYPE",
        "POLICY",
        "PUBLISHER",
        "GEN",
        "SUBSCRIBERS",
        "RESERVED",
        "RESIDENT",
    ] {
        assert!(
            out.stdout.contains(header),
            "{header} not in {}",
            out.stdout
        );
    }

    let v = json(&run(&["topic", "list", "--json", &prefix]).ok().stdout);
    let list = v.as_array().expect("an array");
    assert_eq!(list.len(), 2, "{v}");
    let r = list.iter().find(|t| t["name"] == records.as_str()).unwrap();
    assert_eq!(r["kind"], "records");
    assert_eq!(r["type_name"], "Pose");
    assert_eq!(r["sample_size"], 32);
    assert_eq!(r["policy"], "Overwrite");
    assert_eq!(r["capacity"], 8);
    assert_eq!(r["published"], 2);
    assert_eq!(r["publisher"]["pid"], me);
    assert_eq!(r["publisher"]["alive"], true);
    assert_eq!(r["generation"], 1);
    assert_eq!(r["owner_process"]["pid"], me);
    assert_eq!(r["subscribers"], serde_json::json!([me]));
    let reserved = r["reserved"].as_u64().expect("reserved bytes");
    assert_eq!(reserved, poses.footprint().unwrap().reserved);
    assert!(r["resident"].as_u64().expect("resident bytes") > 0, "{r}");
    let f = list.iter().find(|t| t["name"] == frames.as_str()).unwrap();
    assert_eq!(f["kind"], "frames");
    assert_eq!(f["type_name"], "FrameInfo");
    assert_eq!(f["header_size"], 16);
    assert_eq!(f["max_frame_len"], 4096);
    assert!(f["publisher"]["pid"] == me, "{f}");

    // ls shows a topic's reserved and resident bytes too.
    let ls = run(&["ls", "--prefix", &records]).ok().stdout;
    assert!(
        ls.contains(&format!("{reserved} bytes reserved, ")) && ls.contains(" resident"),
        "{ls}"
    );
    let v = json(&run(&["ls", "--json", "--prefix", &records]).ok().stdout);
    assert_eq!(v[0]["size"], reserved);
    assert!(
        v[0]["resident"].as_u64().expect("resident bytes") > 0,
        "{v}"
    );

    let none = format!("/pit-{}-cli-tlist-none-", std::process::id());
    let out = run(&["topic", "list", &none]).ok();
    assert_eq!(
        out.stdout,
        format!("no topic has a name starting with {none}\n")
    );
    assert_eq!(
        json(&run(&["topic", "list", "--json", &none]).ok().stdout),
        serde_json::json!([])
    );
}
