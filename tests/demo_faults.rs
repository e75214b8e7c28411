//! The demos survive faults (issue 12, item 5), for real: `kill -9` of a producer or of the
//! consumer while `demo` runs, of a producer while `ring_demo` runs, and Ctrl-C (SIGINT to the
//! whole process group) while the consumer is stopped with SIGSTOP. Each time the demo ends by
//! itself, says which process died and how and what was lost (nothing duplicated or reordered),
//! removes its objects and exits non-zero; every child process is gone. The camera's publisher
//! and subscriber run as separate programs too (issue 21, item 8): a subscriber goes on when its
//! publisher is killed with SIGKILL and restarted, and a second publisher is refused. The demos
//! are the example binaries `cargo test` builds (debug).

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{ErrorKind, MessageQueue, SharedMemory};

const HANG: Duration = Duration::from_secs(60);

/// A running demo: its stdout lines arrive on a channel; stderr is collected. If the test fails
/// while it runs, dropping it ends the demo (SIGTERM: it stops its children and removes its
/// objects; SIGKILL of its process group after 5 s) and removes the names it uses (a camera's
/// topic is named by the test and removed by its guard).
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    own_group: bool,
    finished: bool,
}

impl Drop for Demo {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own, not yet reaped child (its pid cannot be reused).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let target = if self.own_group { -pid } else { pid };
            // SAFETY: as above (a negative pid: the process group this test made for it).
            unsafe { libc::kill(target, libc::SIGKILL) };
            let _ = self.child.wait();
        }
        for name in [
            format!("/posix-ipc-demo-{pid}"),
            format!("/posix-ipc-ring-demo-{pid}"),
        ] {
            let _ = posix_ipc::unlink_message_queue(&name);
            let _ = posix_ipc::unlink_shared_memory(&name);
            let _ = posix_ipc::unlink_shared_memory(&format!("{name}.pipc-q"));
        }
    }
}

impl Demo {
    fn start(example: &str, args: &[&str], own_group: bool) -> Demo {
        let mut cmd = Command::new(common::example(example));
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if own_group {
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().expect("start the demo");
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(err), &mut s);
            s
        });
        Demo {
            child,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
            own_group,
            finished: false,
        }
    }

    /// The first stdout line containing `word` (waiting for it; fails if the demo ends first,
    /// or prints other lines only for `HANG`).
    fn line_with(&mut self, word: &str) -> String {
        let deadline = Instant::now() + HANG;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no line with {word:?}; so far:\n{}", self.stdout.join("\n"))
            });
            self.stdout.push(line.clone());
            if line.contains(word) {
                return line;
            }
        }
    }

    /// Waits for the end (fails after `HANG`); returns (status, stdout, stderr, time taken).
    fn finish(mut self) -> (std::process::ExitStatus, String, String, Duration) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > HANG {
                panic!("the demo hung: no exit {HANG:?} after the fault");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = start.elapsed();
        self.finished = true;
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.stdout.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        (status, self.stdout.join("\n"), stderr, took)
    }
}

fn pids_after(line: &str, word: &str) -> Vec<u32> {
    line.split(word)
        .nth(1)
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid of a process this test started (a child of the demo it runs).
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0, "kill {pid}");
}

fn gone(pids: &[u32]) {
    for &pid in pids {
        let deadline = Instant::now() + Duration::from_secs(5);
        while common::process_running(pid) {
            assert!(
                Instant::now() < deadline,
                "process {pid} still runs after the demo ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn queue_of(demo: &Child) -> String {
    format!("/posix-ipc-demo-{}", demo.id())
}

#[test]
fn demo_survives_a_killed_producer() {
    let mut demo = Demo::start("demo", &["--count", "400000"], false);
    let queue = queue_of(&demo.child);
    let started = demo.line_with("producer processes (pids");
    let consumer = pids_after(&started, "consumer pid")[0];
    let producers = pids_after(&started, "(pids");
    demo.line_with("readings received");
    kill(producers[0], libc::SIGKILL);
    let (status, out, err, took) = demo.finish();
    assert_eq!(status.code(), Some(1), "non-zero exit\n{out}\n{err}");
    let why = format!(
        "demo: failed: producer 0 (pid {}) was killed by SIGKILL",
        producers[0]
    );
    assert!(
        err.trim_end().ends_with(&why),
        "one line that says why: {err}"
    );
    assert!(out.contains("what each process did"), "{out}");
    assert!(
        out.contains("sent at least"),
        "the killed producer's last report: {out}"
    );
    assert!(out.contains("nothing was duplicated or reordered"), "{out}");
    assert!(out.contains("duplicated      0"), "{out}");
    assert!(out.contains("0 gap(s)"), "{out}");
    assert!(err.contains(&format!("removed queue {queue}")), "{err}");
    assert!(MessageQueue::open(&queue).is_err(), "the queue is removed");
    assert!(
        SharedMemory::open(&format!("{queue}.pipc-q")).is_err(),
        "and its companion"
    );
    gone(&[consumer, producers[1]]);
    common::say(&format!(
        "demo: a producer killed with SIGKILL: the demo reported it and ended {:.2} s later",
        took.as_secs_f64()
    ));
}

#[test]
fn demo_survives_a_killed_consumer() {
    let mut demo = Demo::start("demo", &["--count", "400000"], false);
    let queue = queue_of(&demo.child);
    let started = demo.line_with("producer processes (pids");
    let consumer = pids_after(&started, "consumer pid")[0];
    let producers = pids_after(&started, "(pids");
    demo.line_with("readings received");
    kill(consumer, libc::SIGKILL);
    let (status, out, err, took) = demo.finish();
    assert_eq!(status.code(), Some(1), "non-zero exit\n{out}\n{err}");
    assert!(
        err.trim_end().ends_with(&format!(
            "demo: failed: the consumer (pid {consumer}) was killed by SIGKILL"
        )),
        "{err}"
    );
    assert!(out.contains("the consumer died"), "{out}");
    assert!(
        out.contains("sent exactly"),
        "the producers' exact counts: {out}"
    );
    assert!(out.contains("left in the queue"), "{out}");
    assert!(MessageQueue::open(&queue).is_err(), "the queue is removed");
    gone(&producers);
    common::say(&format!(
        "demo: the consumer killed with SIGKILL: the demo reported it and ended {:.2} s later",
        took.as_secs_f64()
    ));
}

#[test]
fn ctrl_c_of_the_group_ends_the_demo_while_the_consumer_is_stopped() {
    let mut demo = Demo::start("demo", &["--count", "2000000"], true);
    let queue = queue_of(&demo.child);
    let group = demo.child.id() as i32;
    let started = demo.line_with("producer processes (pids");
    let consumer = pids_after(&started, "consumer pid")[0];
    let producers = pids_after(&started, "(pids");
    demo.line_with("readings received");
    kill(consumer, libc::SIGSTOP);
    // The queue fills and the producers block on it.
    let q = MessageQueue::options()
        .nonblocking(true)
        .open(&queue)
        .unwrap();
    let deadline = Instant::now() + HANG;
    while q.current_messages().unwrap() < q.max_messages() {
        assert!(Instant::now() < deadline, "the queue never filled");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(q);
    // SAFETY: kill(2) on the process group of the demo this test started.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
    let (status, out, err, took) = demo.finish();
    assert_eq!(
        status.code(),
        Some(130),
        "exit 130 after Ctrl-C\n{out}\n{err}"
    );
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        out.contains("stopped (signal)"),
        "producers stopped cleanly: {out}"
    );
    assert!(MessageQueue::open(&queue).is_err(), "the queue is removed");
    gone(&[consumer]);
    gone(&producers);
    common::say(&format!(
        "demo: Ctrl-C to the process group with the consumer stopped (SIGSTOP): every process ended and the queue was removed {:.2} s later",
        took.as_secs_f64()
    ));
}

#[test]
fn ring_demo_survives_a_killed_producer() {
    let mut demo = Demo::start("ring_demo", &["--count", "30000000"], false);
    let segment = format!("/posix-ipc-ring-demo-{}", demo.child.id());
    let started = demo.line_with("producer pids");
    let producers = pids_after(&started, "producer pids");
    demo.line_with("readings received");
    kill(producers[1], libc::SIGKILL);
    let (status, out, err, took) = demo.finish();
    assert_eq!(status.code(), Some(1), "non-zero exit\n{out}\n{err}");
    let why = format!(
        "ring_demo: failed: producer 1 (pid {}) was killed by SIGKILL",
        producers[1]
    );
    assert!(err.trim_end().ends_with(&why), "{err}");
    assert!(out.contains("duplicated or out of order  0"), "{out}");
    assert!(out.contains("0 skipped in the middle"), "{out}");
    assert!(
        out.contains("sent exactly"),
        "the other producer's exact count: {out}"
    );
    assert!(SharedMemory::open(&segment).is_err(), "the ring is removed");
    gone(&producers);
    common::say(&format!(
        "ring_demo: a producer killed with SIGKILL: the demo reported it and ended {:.2} s later",
        took.as_secs_f64()
    ));
}

#[test]
fn ctrl_c_of_the_group_ends_ring_demo() {
    let mut demo = Demo::start("ring_demo", &["--count", "40000000"], true);
    let segment = format!("/posix-ipc-ring-demo-{}", demo.child.id());
    let group = demo.child.id() as i32;
    let started = demo.line_with("producer pids");
    let producers = pids_after(&started, "producer pids");
    demo.line_with("readings received");
    // SAFETY: kill(2) on the process group of the demo this test started.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
    let (status, out, err, took) = demo.finish();
    assert_eq!(
        status.code(),
        Some(130),
        "exit 130 after Ctrl-C\n{out}\n{err}"
    );
    assert!(out.contains("duplicated or out of order  0"), "{out}");
    assert!(SharedMemory::open(&segment).is_err(), "the ring is removed");
    gone(&producers);
    common::say(&format!("ring_demo: Ctrl-C to the process group: every process ended and the ring was removed {:.2} s later", took.as_secs_f64()));
}

#[test]
fn camera_delivers_whole_frames_and_counts_the_slow_subscribers_loss() {
    // The slow subscriber takes 120 ms a frame, more than the 50 ms between frames: it must lag.
    let (topic, _cleanup) = guarded(Kind::Shm, "camera");
    let demo = Demo::start(
        "camera",
        &[
            "--topic",
            &topic,
            "--seconds",
            "2",
            "--fps",
            "20",
            "--slow-ms",
            "120",
        ],
        false,
    );
    let (status, out, err, _) = demo.finish();
    assert!(status.success(), "{out}\n{err}");
    let row = |id: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("no summary row {id}:\n{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    // subscriber received missed lags bad ...
    for id in ["1", "2"] {
        let r = row(id);
        assert_eq!(r[4], "0", "no bad frame: {out}");
    }
    let slow = row("3(slow)");
    assert_eq!(slow[4], "0", "{out}");
    let (received, missed): (u64, u64) = (slow[1].parse().unwrap(), slow[2].parse().unwrap());
    assert!(
        missed > 0 && slow[3] != "0",
        "the slow subscriber lagged: {out}"
    );
    assert_eq!(
        received + missed,
        40,
        "received + missed = published: {out}"
    );
    assert!(out.contains("published 40 frames"), "{out}");
    assert!(out.contains("0 torn, 0 changed while held"), "{out}");
    assert!(SharedMemory::open(&topic).is_err(), "the topic is removed");
}

#[test]
fn camera_survives_a_killed_subscriber() {
    let (topic, _cleanup) = guarded(Kind::Shm, "camera");
    let mut demo = Demo::start(
        "camera",
        &["--topic", &topic, "--seconds", "4", "--fps", "20"],
        false,
    );
    let started = demo.line_with("subscriber pids");
    let subs = pids_after(&started, "subscriber pids");
    demo.line_with("subscriber 2:");
    kill(subs[0], libc::SIGKILL);
    let (status, out, err, _) = demo.finish();
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("subscriber 1 was killed by SIGKILL"), "{out}");
    assert!(
        out.contains("published 80 frames"),
        "the publisher went on: {out}"
    );
    let r: Vec<&str> = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some("2"))
        .unwrap()
        .split_whitespace()
        .collect();
    let (received, missed): (u64, u64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
    assert_eq!(r[4], "0", "subscriber 2's frames were whole: {out}");
    assert_eq!(
        received + missed,
        80,
        "and it accounted for every frame: {out}"
    );
    assert!(err.contains("only 2 of 3 subscribers reported"), "{err}");
    assert!(SharedMemory::open(&topic).is_err(), "the topic is removed");
    gone(&subs);
}

#[test]
fn ctrl_c_of_the_group_ends_camera_with_a_subscriber_stopped() {
    let (topic, _cleanup) = guarded(Kind::Shm, "camera");
    let mut demo = Demo::start(
        "camera",
        &["--topic", &topic, "--seconds", "60", "--fps", "20"],
        true,
    );
    let started = demo.line_with("subscriber pids");
    let subs = pids_after(&started, "subscriber pids");
    demo.line_with("subscriber 1:");
    kill(subs[1], libc::SIGSTOP);
    let group = demo.child.id() as i32;
    // SAFETY: kill(2) of the process group this test made for the demo.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
    let (status, out, err, took) = demo.finish();
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("interrupted after"), "{err}");
    assert!(SharedMemory::open(&topic).is_err(), "the topic is removed");
    gone(&subs);
    common::say(&format!(
        "camera: Ctrl-C to the process group with a subscriber stopped (SIGSTOP): every process \
         ended and the topic was removed {:.2} s later",
        took.as_secs_f64()
    ));
}

/// `camera --role publisher` on `topic`, with small frames at 100 Hz (the restart scenario
/// needs frames, not 1080p ones).
fn camera_publisher(topic: &str) -> Demo {
    let args = [
        "--role",
        "publisher",
        "--topic",
        topic,
        "--width",
        "64",
        "--height",
        "48",
        "--fps",
        "100",
    ];
    Demo::start("camera", &args, false)
}

/// A subscriber's summary figure: the number after `label` on its summary line.
fn figure(out: &str, label: &str) -> u64 {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in the summary:\n{out}"))
}

/// The restart a robot lives through: a subscriber waits for the topic, its publisher is
/// killed with SIGKILL and started again (nobody cleans up), the new publisher takes the topic
/// over and the subscriber goes on, saying so once; Ctrl-C ends the subscriber at once while
/// the publisher is stopped (SIGSTOP), with a summary of whole frames; Ctrl-C of the publisher
/// removes the topic.
#[test]
fn camera_subscriber_follows_a_publisher_killed_and_restarted() {
    let (topic, _cleanup) = guarded(Kind::Shm, "camera-restart");
    let mut sub = Demo::start(
        "camera",
        &["--role", "subscriber", "--topic", &topic],
        false,
    );
    sub.line_with("waiting for topic");
    let mut first = camera_publisher(&topic);
    first.line_with("created the topic: generation 1");
    sub.line_with("first frame of generation 1");
    first.line_with("publisher: 100 frames");
    kill(first.child.id(), libc::SIGKILL);
    let (status, ..) = first.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    let mut second = camera_publisher(&topic);
    second.line_with("took the topic over from a publisher that is gone: generation 2");
    let restarted = sub.line_with("publisher restarted");
    assert!(
        restarted.contains("generation 2 took the topic over"),
        "{restarted}"
    );
    sub.line_with("first frame of generation 2");
    // The new publisher's first 100 frames, all published while the subscriber is joined.
    second.line_with("publisher: 100 frames");

    let publisher = second.child.id();
    kill(publisher, libc::SIGSTOP);
    kill(sub.child.id(), libc::SIGINT);
    let (status, out, err, took) = sub.finish();
    kill(publisher, libc::SIGCONT);
    assert!(
        status.success(),
        "the subscriber ends cleanly\n{out}\n{err}"
    );
    assert!(
        took < Duration::from_secs(5),
        "Ctrl-C ended the subscriber {took:?} later, with its publisher stopped"
    );
    assert_eq!(
        out.matches("publisher restarted").count(),
        1,
        "one restart, told once: {out}"
    );
    assert_eq!(figure(&out, "restarts followed"), 1, "{out}");
    assert!(out.contains("(to generation 2)"), "{out}");
    assert_eq!(figure(&out, "bad frames"), 0, "{out}");
    let frames = figure(&out, "frames received");
    assert!(
        frames + figure(&out, "frames missed") >= 100,
        "received or missed, it accounts for the new publisher's frames at least: {out}"
    );
    assert_eq!(
        figure(&out, "bytes checked"),
        frames * 64 * 48 * 3,
        "every byte of every frame: {out}"
    );

    kill(publisher, libc::SIGINT);
    let (status, out, err, _) = second.finish();
    assert!(
        status.success(),
        "the publisher stops cleanly\n{out}\n{err}"
    );
    assert!(out.contains(&format!("removed topic {topic}")), "{out}");
    assert_eq!(
        SharedMemory::open(&topic).map(drop).unwrap_err().kind(),
        ErrorKind::NotFound,
        "nothing of the topic is left"
    );
    common::say(&format!(
        "camera: a publisher killed with SIGKILL and started again: the subscriber followed the \
         restart with {frames} frames whole, and ended {:.2} s after Ctrl-C with its publisher \
         stopped",
        took.as_secs_f64()
    ));
}

/// A second `camera --role publisher` on a topic whose publisher is alive fails, naming it,
/// without a panic; the first goes on and removes the topic when stopped.
#[test]
fn a_second_camera_publisher_is_refused_naming_the_first() {
    let (topic, _cleanup) = guarded(Kind::Shm, "camera-second");
    let mut first = camera_publisher(&topic);
    first.line_with("created the topic: generation 1");
    let (status, out, err, _) = camera_publisher(&topic).finish();
    assert_eq!(status.code(), Some(1), "{out}\n{err}");
    assert!(
        err.contains("failed (AlreadyExists)")
            && err.contains(&format!("pid {} (", first.child.id())),
        "the error names the live publisher: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    first.line_with("publisher: 100 frames");
    kill(first.child.id(), libc::SIGINT);
    let (status, out, err, _) = first.finish();
    assert!(status.success(), "{out}\n{err}");
    assert!(SharedMemory::open(&topic).is_err(), "the topic is removed");
}

/// `camera --help` prints the usage and exits, even with a role: it creates nothing (a
/// publisher that did would run until stopped, and this test would hang and fail).
#[test]
fn camera_help_prints_usage_and_creates_nothing() {
    let (topic, _cleanup) = guarded(Kind::Shm, "camera-help");
    let demo = Demo::start(
        "camera",
        &["--role", "publisher", "--topic", &topic, "--help"],
        false,
    );
    let (status, out, err, _) = demo.finish();
    assert!(status.success(), "{out}\n{err}");
    assert!(out.starts_with("usage: camera"), "{out}");
    assert!(out.contains("--role subscriber"), "{out}");
    assert!(SharedMemory::open(&topic).is_err(), "no topic was made");
}

/// `producer --help` and `consumer --help` print their usage and open nothing; an unknown
/// option is refused with the usage before anything is opened.
#[test]
fn producer_and_consumer_help_print_usage_and_open_nothing() {
    let (queue, _cleanup) = guarded(Kind::Mq, "producer-help");
    for example in ["producer", "consumer"] {
        let demo = Demo::start(example, &["--queue", &queue, "--create", "--help"], false);
        let (status, out, err, _) = demo.finish();
        assert!(status.success(), "{out}\n{err}");
        assert!(out.starts_with(&format!("usage: {example}")), "{out}");
        let demo = Demo::start(example, &["--queue", &queue, "--create", "--bogus"], false);
        let (status, out, err, _) = demo.finish();
        assert_eq!(status.code(), Some(2), "{out}\n{err}");
        assert!(err.contains("unknown argument \"--bogus\""), "{err}");
        assert!(
            posix_ipc::MessageQueue::open(&queue).is_err(),
            "no queue was made"
        );
    }
}
