//! C programs on topics, with Rust and Python peers.
//!
//! - Through the C library (`libposix_ipc`, `posix-ipc-c`, installed by its `install.sh`): a
//!   C publisher of a typed topic feeds a Python subscriber (`posix_ipc_rs`, the record type
//!   from a numpy dtype with a nested struct), a Python publisher feeds a C subscriber, and a
//!   Python frame publisher feeds a C frame subscriber and the reverse, every field and byte
//!   checked; rings and typed queues go both ways too. (C and Rust, both ways and under
//!   `kill -9`, are the `posix-ipc-c` crate's own tests.)
//! - Without the library: `tests/c/protocol_subscriber.c` follows only the segment layout and
//!   protocol documented in `posix_ipc::typed::pubsub` and checks every byte of every frame of
//!   a Rust `FramePublisher`: it registers in the subscriber table, holds each frame with its
//!   holder bit, moves its cursor, sleeps on the data futex when there is nothing to read, and
//!   leaves, for frames without a header and with a typed header. It proves the documented
//!   layout is enough for a foreign implementation.

mod common;
#[path = "../posix-ipc-c/tests/support/install.rs"]
mod install;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{guarded, Kind};
use posix_ipc::typed::FRAME_FINGERPRINT;
use posix_ipc::{FrameHeader, FrameLoan, FramePublisher, IpcMessage, TopicOptions};

/// The typed header of the second run, as the C program declares it.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
struct CHeader {
    seq: u64,
    len: u64,
}

const SUBSCRIBER: &str = include_str!("c/protocol_subscriber.c");

fn expected(seq: u64, i: u64) -> u8 {
    (seq.wrapping_mul(131) + i * 7 + (i >> 8)) as u8
}

#[test]
fn a_c_subscriber_following_the_documented_layout_gets_every_frame_byte_for_byte() {
    let Some((dir, exe)) = common::compile_c("pubsub_c", "subscriber", SUBSCRIBER, &["-O2"]) else {
        return;
    };
    let (name, _g) = guarded(Kind::Shm, "ps-c");
    // Block: the publisher waits for the C subscriber, so every frame must arrive.
    let opts = TopicOptions::new().capacity(4).max_subscribers(2);
    let mut publisher = FramePublisher::create(&name, 1 << 20, &opts).unwrap();
    let line = run_c_subscriber(&exe, &mut publisher, FRAME_FINGERPRINT, 0, |_, _, _| {});
    common::say(&format!("pubsub C subscriber: {line}"));
    // Frames with a typed header: the C program reads the header's size at offset 88 and
    // checks each header.
    let (headed, _g2) = guarded(Kind::Shm, "ps-c-header");
    let mut publisher =
        FramePublisher::<CHeader>::create_with_header(&headed, 1 << 20, &opts).unwrap();
    let line = run_c_subscriber(
        &exe,
        &mut publisher,
        CHeader::FINGERPRINT,
        16,
        |f, seq, len| {
            *f.header_mut() = CHeader {
                seq,
                len: len as u64,
            }
        },
    );
    common::say(&format!(
        "pubsub C subscriber, frames with a header: {line}"
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the C subscriber on `publisher`'s topic for 200 frames of 1 B, 4 KiB, 65,543 B and
/// 1 MiB (`header` sets each frame's header); returns its last line.
fn run_c_subscriber<H: FrameHeader>(
    exe: &std::path::Path,
    publisher: &mut FramePublisher<H>,
    fingerprint: u64,
    header_size: u32,
    header: impl Fn(&mut FrameLoan<'_, H>, u64, usize),
) -> String {
    let count = 200u64;
    let mut child = Command::new(exe)
        .args([
            publisher.name(),
            &count.to_string(),
            &fingerprint.to_string(),
            &header_size.to_string(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Publish only once the subscriber has placed its cursor (it prints "joined" then): it
    // is in the subscriber table a moment before, and a frame published in that moment is
    // rightly not its to read (it starts at the tail it finds), which under load made it miss
    // frame 0 and wait for a 201st.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    if first.trim() != "joined" {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "the C subscriber did not join: {first}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        publisher.subscribers(),
        1,
        "the C subscriber is in the table"
    );
    for seq in 0..count {
        let len = [1usize, 4096, 65543, 1 << 20][(seq % 4) as usize];
        let mut frame = publisher.loan(len).unwrap();
        header(&mut frame, seq, len);
        for (i, b) in frame.iter_mut().enumerate() {
            *b = expected(seq, i as u64);
        }
        frame.send();
        if seq % 50 == 0 {
            // Let the subscriber run dry and sleep on the futex now and then.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total: u64 = (0..count)
        .map(|s| [1u64, 4096, 65543, 1 << 20][(s % 4) as usize])
        .sum();
    assert!(
        text.contains(&format!("received {count} frames, {total} bytes, 0 bad")),
        "{text}"
    );
    assert!(
        !text.contains("slept 0 times"),
        "the futex wait was exercised: {text}"
    );
    assert_eq!(publisher.subscribers(), 0, "the C subscriber left");
    text.lines().last().unwrap_or("").to_string()
}

/// The C library, built and installed by `posix-ipc-c/install.sh` into a prefix of this test
/// binary's (see `posix-ipc-c/tests/support/install.rs`). Without bash or cargo this panics:
/// both are what running this suite takes.
fn c_library(_test: &str) -> Option<std::path::PathBuf> {
    Some(install::c_prefix(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/posix-ipc-c/install.sh"
        )),
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
    ))
}

/// `posix-ipc-c/tests/c/peer.c` built against the installed library.
/// Compiled once per test binary: the tests share the prefix and run in parallel, and writing
/// the program while another test runs it fails with "Text file busy".
fn c_peer(prefix: &std::path::Path) -> std::path::PathBuf {
    static PEER: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PEER.get_or_init(|| compile_peer(prefix)).clone()
}

fn compile_peer(prefix: &std::path::Path) -> std::path::PathBuf {
    let sources = concat!(env!("CARGO_MANIFEST_DIR"), "/posix-ipc-c/tests/c");
    let exe = prefix.join("peer");
    let out = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-pthread"])
        .arg(format!("-I{}", prefix.join("include").display()))
        .arg(format!("-I{sources}"))
        .arg(format!("{sources}/peer.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", prefix.join("lib").display()))
        .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()))
        .arg("-lposix_ipc")
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// The Python side: `pose.h`'s Pose and FrameHead as numpy dtypes (`RecordType.from_dtype`
/// gives the fingerprint the C layout gives), and the same values.
const PY_PEER: &str = r#"
import sys
import numpy as np
import posix_ipc_rs as p

point = np.dtype([("x", "<f8"), ("y", "<f8")])
pose = p.RecordType.from_dtype(np.dtype([("seq", "<u8"), ("stamp", "<f8"), ("points", point, (2,)),
                                         ("cov", "<f4", (3,)), ("flags", "<u4")]), name="Pose")
head = p.RecordType.from_dtype(np.dtype([("seq", "<u8"), ("width", "<u4"), ("height", "<u4")]),
                               name="FrameHead")

def make(i):
    a = np.zeros(1, pose.dtype)
    a[0]["seq"] = i
    a[0]["stamp"] = i * 0.5
    a[0]["points"]["x"] = [i, i + 1]
    a[0]["points"]["y"] = [i, i - 1]
    a[0]["cov"] = [i, i * 2, i * 3]
    a[0]["flags"] = i ^ 0xA5A5
    return a

def frame(i):
    n = 1000 + (i * 997) % 60000
    return ((i * 31 + np.arange(n, dtype=np.uint64) * 7) & 0xff).astype(np.uint8)

role, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "publish":
    with p.Publisher(name, pose, p.O_CREX, capacity=16, stall_timeout=30) as pub:
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(n):
            pub.send(make(i))
    print(f"published {n}", flush=True)
elif role == "frames":
    with p.FramePublisher(name, 65536, p.O_CREX, header=head, capacity=4, stall_timeout=30) as pub:
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(n):
            data = frame(i)
            h = np.array([(i, len(data), 1)], head.dtype)
            pub.send(data, header=h)
    print(f"published {n}", flush=True)
elif role == "frames-in":
    sub = p.FrameSubscriber(name, header=head, wait=10)
    print("joined", flush=True)
    sys.stdin.readline()
    for i in range(n):
        with sub.receive(timeout=30) as f:
            # Views of the frame are let go before the frame is released.
            h = np.frombuffer(f.header, head.dtype).copy()[0]
            assert (h["seq"], h["width"], h["height"]) == (i, len(f), 1), (i, h)
            data = np.frombuffer(f, np.uint8)
            same = np.array_equal(data, frame(i))
            del data
            assert same, i
    print(f"received {n}", flush=True)
elif role == "ring-out":
    with p.RingSender(name, pose, p.O_CREX, capacity=8) as tx:
        print("ready", flush=True)
        sys.stdin.readline()
        for i in range(n):
            tx.send(make(i), 30)
        sys.stdin.readline()  # the C receiver has them all
        tx.unlink()
    print(f"sent {n}", flush=True)
elif role == "ring-in":
    rx = p.RingReceiver(name, pose)
    print("joined", flush=True)
    for i in range(n):
        assert rx.receive(30) == make(i).tobytes(), i
    print(f"received {n}", flush=True)
elif role == "queue-out":
    mq = p.MessageQueue(name, p.O_CREX, max_messages=8, max_message_size=pose.size)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(n):
        mq.send(make(i).tobytes(), 30, i % 5)
    sys.stdin.readline()  # the C receiver has them all
    mq.unlink()
    print(f"sent {n}", flush=True)
elif role == "queue-in":
    mq = p.MessageQueue(name, write=False)
    assert mq.max_message_size == pose.size
    print("joined", flush=True)
    seen = set()
    last = {}
    for _ in range(n):
        got, priority = mq.receive(30)
        seq = int(np.frombuffer(got, pose.dtype)[0]["seq"])
        assert got == make(seq).tobytes() and priority == seq % 5, (seq, priority)
        assert last.get(priority, -1) < seq, (seq, last)
        last[priority] = seq
        seen.add(seq)
    assert seen == set(range(n)), len(seen)
    print(f"received {n}", flush=True)
else:
    sub = p.Subscriber(name, pose)
    print("joined", flush=True)
    sys.stdin.readline()
    got = np.zeros(n, pose.dtype)
    k = 0
    while k < n:
        k += sub.receive_into(got[k:], timeout=30)
    for i in range(n):
        assert got[i].tobytes() == make(i).tobytes(), (i, got[i], make(i))
    print(f"received {n} fingerprint {pose.fingerprint:#018x}", flush=True)
"#;

fn spawn_python(python: &std::path::Path, args: &[&str]) -> std::process::Child {
    Command::new(python)
        .arg("-c")
        .arg(PY_PEER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python")
}

/// Starts `program` with `args` (all pipes) and reads its lines until `word`.
fn start(program: &std::path::Path, args: &[&str], word: &str) -> std::process::Child {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
    read_until(&mut child, word);
    child
}

/// Reads lines from `child` until one equal to `word`.
fn read_until(child: &mut std::process::Child, word: &str) {
    let out = child.stdout.as_mut().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if out.read(&mut byte).unwrap() == 0 {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("exited before {word:?}: {err}");
        }
        if byte[0] == b'\n' {
            if String::from_utf8_lossy(&line).trim() == word {
                return;
            }
            line.clear();
        } else {
            line.push(byte[0]);
        }
    }
}

fn finished(child: std::process::Child, word: &str) -> String {
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains(word),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn c_programs_on_the_library_and_python_share_typed_topics_and_frames_both_ways() {
    const TEST: &str = "c_programs_on_the_library_and_python_share_typed_topics_and_frames";
    let Some(python) = common::python_module(TEST) else {
        return;
    };
    let Some(prefix) = c_library(TEST) else {
        return;
    };
    let peer = c_peer(&prefix);
    let n = "500";

    // C publishes (by loan and by copy), Python subscribes and compares every record.
    let (name, _g) = guarded(Kind::Shm, "c-py");
    let mut c = start(&peer, &["pub-poses", &name, n], "ready");
    let mut py = spawn_python(&python, &["subscribe", &name, n]);
    read_until(&mut py, "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
    let text = finished(py, "received 500");
    assert!(
        text.contains(&format!("fingerprint {:#018x}", pose_fingerprint())),
        "{text}"
    );
    finished(c, "");

    // Python publishes, C subscribes (in place and by copy) until the publisher is gone.
    let (name, _g) = guarded(Kind::Shm, "py-c");
    let mut py = spawn_python(&python, &["publish", &name, n]);
    read_until(&mut py, "ready");
    let c = start(&peer, &["sub-poses", &name, n], "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    finished(py, "published 500");
    finished(c, "received 500");

    // Python frames with a header, C checks every byte and header.
    let (name, _g) = guarded(Kind::Shm, "py-c-frames");
    let mut py = spawn_python(&python, &["frames", &name, "200"]);
    read_until(&mut py, "ready");
    let c = start(&peer, &["sub-frames", &name, "200"], "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    finished(py, "published 200");
    finished(c, "received 200");

    // C frames with a header, Python checks them.
    let (name, _g) = guarded(Kind::Shm, "c-py-frames");
    let mut c = start(&peer, &["pub-frames", &name, "200"], "ready");
    let mut py = spawn_python(&python, &["frames-in", &name, "200"]);
    read_until(&mut py, "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
    finished(py, "received 200");
    finished(c, "");
}

#[test]
fn c_programs_on_the_library_and_python_share_rings_and_typed_queues_both_ways() {
    const TEST: &str = "c_programs_on_the_library_and_python_share_rings_and_typed_queues";
    let Some(python) = common::python_module(TEST) else {
        return;
    };
    let Some(prefix) = c_library(TEST) else {
        return;
    };
    let peer = c_peer(&prefix);
    let n = "500";

    // A ring: Python creates and sends, C receives; C creates (owned) and sends, Python
    // receives.
    let (name, _g) = guarded(Kind::Shm, "py-c-ring");
    let mut py = spawn_python(&python, &["ring-out", &name, n]);
    read_until(&mut py, "ready");
    let c = start(&peer, &["ring-recv", &name, n], "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    finished(c, "received 500");
    writeln!(py.stdin.as_mut().unwrap(), "done").unwrap();
    finished(py, "sent 500");

    let (name, _g) = guarded(Kind::Shm, "c-py-ring");
    let mut c = start(&peer, &["ring-send", &name, n], "ready");
    let mut py = spawn_python(&python, &["ring-in", &name, n]);
    read_until(&mut py, "joined");
    writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
    finished(py, "received 500");
    writeln!(c.stdin.as_mut().unwrap(), "done").unwrap();
    finished(c, "");

    // A typed queue: C creates it (with its companion) and sends with priorities, Python's
    // MessageQueue receives; Python creates a plain queue of the record's size and sends, C
    // receives (no companion: the size check only, no peer tracking).
    let (name, _q) = guarded(Kind::Mq, "c-py-queue");
    let _companion = common::guard(
        Kind::Shm,
        &format!("{name}{}", posix_ipc::typed::COMPANION_SUFFIX),
    );
    let mut c = start(&peer, &["queue-send", &name, n], "ready");
    let mut py = spawn_python(&python, &["queue-in", &name, n]);
    read_until(&mut py, "joined");
    writeln!(c.stdin.as_mut().unwrap(), "go").unwrap();
    finished(py, "received 500");
    writeln!(c.stdin.as_mut().unwrap(), "done").unwrap();
    finished(c, "");

    let (name, _q) = guarded(Kind::Mq, "py-c-queue");
    let mut py = spawn_python(&python, &["queue-out", &name, n]);
    read_until(&mut py, "ready");
    let c = start(&peer, &["queue-recv", &name, n, "untracked"], "joined");
    writeln!(py.stdin.as_mut().unwrap(), "go").unwrap();
    finished(c, "received 500");
    writeln!(py.stdin.as_mut().unwrap(), "done").unwrap();
    finished(py, "sent 500");
}

/// The fingerprint of `pose.h`'s Pose: the derive's on the same fields.
fn pose_fingerprint() -> u64 {
    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    struct Point {
        x: f64,
        y: f64,
    }
    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    struct Pose {
        seq: u64,
        stamp: f64,
        points: [Point; 2],
        cov: [f32; 3],
        flags: u32,
    }
    Pose::FINGERPRINT
}

/// The C++ camera examples (`examples/cpp`), built with CMake's `find_package(posix_ipc)`
/// against the installed library; `None` (said) without cmake, which under `CI` is a failure.
fn cpp_examples(test: &str, prefix: &std::path::Path) -> Option<std::path::PathBuf> {
    if Command::new("cmake").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: cmake is needed under CI"
        );
        common::say(&format!("SKIPPED {test}: no cmake (apt-get install cmake)"));
        return None;
    }
    let build = prefix.join("cpp-build");
    for args in [
        vec![
            "-S".to_string(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/cpp").to_string(),
            "-B".to_string(),
            build.display().to_string(),
            format!("-DCMAKE_PREFIX_PATH={}", prefix.display()),
            "-DCMAKE_BUILD_TYPE=Release".to_string(),
        ],
        vec!["--build".to_string(), build.display().to_string()],
    ] {
        let out = Command::new("cmake").args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "cmake {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Some(build)
}

/// What a camera subscriber's summary says: frames checked and bad, in the C++ format
/// ("N frames (..) checked .., B bad, ..") or the Rust and Python one ("frames received  N",
/// "bad frames  B").
fn camera_summary(out: &str) -> (u64, u64) {
    if let Some(line) = out.lines().find(|l| l.contains(" checked in ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let frames = words[1].parse().unwrap();
        let bad = line
            .split(", ")
            .find(|p| p.ends_with(" bad"))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        return (frames, bad);
    }
    let field = |label: &str| -> u64 {
        out.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label:?} in:\n{out}"))
    };
    (field("frames received"), field("bad frames"))
}

/// The C++ camera publisher feeds the Rust camera example's and the Python camera's
/// subscribers, and the C++ camera subscriber checks the Rust and the Python publishers'
/// frames: every byte of every frame, 1920x1080x3, the programs as a user runs them.
#[test]
fn the_cpp_camera_talks_to_the_rust_and_python_cameras() {
    const TEST: &str = "the_cpp_camera_talks_to_the_rust_and_python_cameras";
    let Some(python) = common::python_module(TEST) else {
        return;
    };
    let Some(prefix) = c_library(TEST) else {
        return;
    };
    let Some(build) = cpp_examples(TEST, &prefix) else {
        return;
    };
    let camera_py = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python/camera.py");
    let cpp_pub = build.join("camera_publisher");
    let cpp_sub = build.join("camera_subscriber");
    let rust = common::example("camera");
    let mut python_cmd = Command::new(&python);
    python_cmd.arg(camera_py);
    let subscribers: [(&str, Command); 2] = [("Rust", Command::new(&rust)), ("Python", python_cmd)];
    // C++ publishes; the Rust and the Python subscribers check (each until it has 20, or is
    // stopped when the publisher is done).
    for (who, mut sub_cmd) in subscribers {
        let (topic, _g) = guarded(Kind::Shm, "cpp-camera-out");
        let mut sub = sub_cmd
            .args(["--role", "subscriber", "--topic", &topic])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        common::wait_line(&mut sub, "Ctrl-C or SIGTERM stops it");
        let publisher = Command::new(&cpp_pub)
            .args(["--topic", &topic, "--fps", "20", "--frames", "40"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = common::expect_success(publisher, "the C++ camera publisher");
        assert!(String::from_utf8_lossy(&out.stdout).contains("published 40 frames"));
        // The subscriber's summary on SIGTERM, as its user gets on Ctrl-C.
        // SAFETY: kill(2) on the child's pid, which has not been waited for.
        unsafe { libc::kill(sub.id() as i32, libc::SIGTERM) };
        let out = common::expect_success(sub, &format!("the {who} camera subscriber"));
        let text = String::from_utf8_lossy(&out.stdout);
        let (frames, bad) = camera_summary(&text);
        common::say(&format!(
            "C++ camera -> {who} subscriber: {frames} frames of 1920x1080x3 checked, {bad} bad"
        ));
        assert!(frames >= 20 && bad == 0, "{text}");
    }
    // The Rust and the Python publishers; the C++ subscriber checks 20 frames of each.
    let mut python_cmd = Command::new(&python);
    python_cmd.arg(camera_py);
    let publishers: [(&str, Command); 2] = [("Rust", Command::new(&rust)), ("Python", python_cmd)];
    for (who, mut pub_cmd) in publishers {
        let (topic, _g) = guarded(Kind::Shm, "cpp-camera-in");
        let mut sub = Command::new(&cpp_sub)
            .args(["--topic", &topic, "--frames", "20"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        common::wait_line(&mut sub, "Ctrl-C or SIGTERM stops it");
        let mut publisher = pub_cmd
            .args([
                "--role",
                "publisher",
                "--topic",
                &topic,
                "--fps",
                "20",
                "--seconds",
                "20",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = common::expect_success(sub, "the C++ camera subscriber");
        let text = String::from_utf8_lossy(&out.stdout);
        let (frames, bad) = camera_summary(&text);
        common::say(&format!(
            "{who} camera -> C++ subscriber: {frames} frames of 1920x1080x3 checked, {bad} bad"
        ));
        assert_eq!((frames, bad), (20, 0), "{text}");
        // SAFETY: kill(2) on the child's pid, which has not been waited for.
        unsafe { libc::kill(publisher.id() as i32, libc::SIGTERM) };
        let _ = publisher.wait();
    }
}
