//! Topics between Python and Rust: records both ways with the layout a numpy dtype stores, and
//! the camera's 1080p frames from the Rust camera to the Python one (read as numpy views) and
//! back (written in place by numpy), with a Python publisher killed and taken over mid-run.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use posix_ipc::typed::LayoutDesc;
use posix_ipc::{IpcMessage, Publisher, Subscriber, Timeout, TopicOptions};

use crate::common;

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Pose {
    seq: u64,
    x: f64,
    y: f32,
    flags: [u8; 4],
}

const PY_POSE: &str = r#"
import sys
import numpy as np
import posix_ipc_rs as p

pose = p.RecordType.from_dtype(
    np.dtype([("seq", "<u8"), ("x", "<f8"), ("y", "<f4"), ("flags", "u1", (4,))]), name="Pose")
role, name = sys.argv[1], sys.argv[2]
if role == "publish":
    with p.Publisher(name, pose, p.O_CREX, capacity=128) as pub:
        print("created", flush=True)
        sys.stdin.readline()  # the Rust subscriber has joined
        for i in range(100):
            pub.send(np.array([(i, i / 4, -i, (i, 1, 2, 3))], pose.dtype))
    print("published 100", flush=True)
else:
    # A bare record type: the fields come from the layout the Rust topic stores.
    sub = p.Subscriber(name, p.RecordType("Pose", pose.size, pose.fingerprint))
    assert sub.record is not None and sub.record.dtype == pose.dtype, sub.record
    print("joined", flush=True)
    got = np.zeros(100, sub.record.dtype)
    n = 0
    while n < 100:
        n += sub.receive_into(got[n:], timeout=10)
    assert list(got["seq"]) == list(range(100)), got["seq"]
    assert got[7]["x"] == 7.5 and got[7]["y"] == 3.5 and list(got[7]["flags"]) == [7, 7, 7, 7]
    print(f"received {n} fingerprint {pose.fingerprint:#018x}", flush=True)
"#;

/// A Python publisher of a `from_dtype` record type feeds a Rust `Subscriber<Pose>` (the same
/// size and fingerprint as the derive's), and the topic stores the dtype's layout, which is
/// the derive's; a Rust publisher feeds a Python subscriber that names only size and
/// fingerprint and reads the fields from the stored layout.
#[test]
fn records_go_both_ways_between_python_and_rust() {
    let Some(python) = common::python_module("records_go_both_ways_between_python_and_rust") else {
        return;
    };
    let (name, _g) = common::guarded(common::Kind::Shm, "py-topic-pose");

    // Python to Rust: Python creates the topic, the Rust subscriber joins, Python publishes.
    let mut child = Command::new(&python)
        .args(["-c", PY_POSE, "publish", &name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_line(&mut child, "created");
    let mut sub = Subscriber::<Pose>::open(&name).unwrap();
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    let out = common::expect_success(child, "the Python publisher");
    assert!(String::from_utf8_lossy(&out.stdout).contains("published 100"));
    let stored = sub.status().unwrap();
    assert!(stored.published() >= 100);
    let poses: Vec<Pose> = (0..100)
        .map(|_| sub.recv_copy_with(Timeout::Immediate).unwrap())
        .collect();
    assert_eq!(
        poses[9],
        Pose {
            seq: 9,
            x: 2.25,
            y: -9.0,
            flags: [9, 1, 2, 3]
        }
    );
    assert!(poses.iter().enumerate().all(|(i, p)| p.seq == i as u64));
    drop(sub);
    posix_ipc::unlink_shared_memory(&name).unwrap();

    // The layout a dtype stores is the derive's.
    let (name, _g2) = common::guarded(common::Kind::Shm, "py-topic-pose-layout");
    let mut publisher =
        Publisher::<Pose>::create(&name, &TopicOptions::new().capacity(128)).unwrap();
    let mut child = Command::new(&python)
        .args(["-c", PY_POSE, "subscribe", &name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_line(&mut child, "joined");
    for i in 0..100u64 {
        publisher
            .send(&Pose {
                seq: i,
                x: i as f64 + 0.5,
                y: i as f32 / 2.0,
                flags: [i as u8; 4],
            })
            .unwrap();
    }
    let out = common::expect_success(child, "the Python subscriber");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "received 100 fingerprint {:#018x}",
            Pose::FINGERPRINT
        )),
        "{text}"
    );
    let info =
        posix_ipc::AnySubscriber::open_with(&name, &posix_ipc::SubscribeOptions::new()).unwrap();
    assert_eq!(info.info().layout, Some(LayoutDesc::from(&Pose::LAYOUT)));
}

/// Lines of a camera subscriber's summary: `(frames received, bad frames, restarts followed)`.
fn summary(out: &str) -> (u64, u64, u64) {
    let field = |label: &str| {
        out.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label:?} in the summary:\n{out}"))
    };
    (
        field("frames received"),
        field("bad frames"),
        field("restarts followed"),
    )
}

fn camera_py() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/python/camera.py")
}

/// The Rust camera's 1080p frames reach the Python camera subscriber, which checks every byte
/// through numpy views into the segment.
#[test]
fn python_receives_the_rust_cameras_frames_as_numpy_views() {
    let Some(python) = common::python_module("python_receives_the_rust_cameras_frames") else {
        return;
    };
    let topic = common::unique_name("py-camera-in");
    let _g = common::guard(common::Kind::Shm, &topic);
    let mut sub = Command::new(&python)
        .arg(camera_py())
        .args(["--role", "subscriber", "--topic", &topic, "--frames", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_line(&mut sub, "Ctrl-C or SIGTERM stops it");
    // Enough frames for the subscriber's 20 (it joins on the first ones).
    let publisher = Command::new(common::example("camera"))
        .args(["--role", "publisher", "--topic", &topic])
        .args(["--fps", "10", "--seconds", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = common::expect_success(sub, "the Python camera subscriber");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    common::expect_success(publisher, "the Rust camera publisher");
    let (received, bad, _) = summary(&text);
    common::say(&format!(
        "topics: the Python subscriber checked {received} frames of 1920x1080x3 from the Rust \
         camera, {bad} bad"
    ));
    assert_eq!((received, bad), (20, 0), "{text}");
    assert!(text.contains("bytes checked      124416000"), "{text}");
}

/// The Python camera publisher writes 1080p frames in place with numpy; the Rust camera
/// subscriber checks every byte. The first Python publisher is killed with SIGKILL mid-run; a
/// second takes the topic over, and the Rust subscriber follows the restart. The topic is gone
/// at the end.
#[test]
fn rust_receives_frames_python_wrote_in_place_across_a_kill() {
    let Some(python) = common::python_module("rust_receives_frames_python_wrote_in_place") else {
        return;
    };
    let topic = common::unique_name("py-camera-out");
    let _g = common::guard(common::Kind::Shm, &topic);
    let mut sub = Command::new(common::example("camera"))
        .args(["--role", "subscriber", "--topic", &topic])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_line(&mut sub, "Ctrl-C or SIGTERM stops it");
    let py_publisher = |seconds: Option<&str>| {
        let mut c = Command::new(&python);
        c.arg(camera_py())
            .args(["--role", "publisher", "--topic", &topic, "--fps", "10"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(s) = seconds {
            c.args(["--seconds", s]);
        }
        c.spawn().unwrap()
    };
    let mut first = py_publisher(None);
    // Ten frames published with a subscriber live, then a kill -9 mid-run.
    common::wait_line(&mut first, "publisher: 10 frames, 1 subscribers live");
    first.kill().unwrap();
    first.wait().unwrap();
    let second = py_publisher(Some("2"));
    let out = common::expect_success(second, "the second Python publisher");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("generation 2"),
        "it took the topic over:\n{text}"
    );
    assert!(text.contains("removed topic"), "{text}");
    // SAFETY: a plain signal to the child's pid, which has not been waited for.
    assert_eq!(unsafe { libc::kill(sub.id() as i32, libc::SIGTERM) }, 0);
    let mut out = String::new();
    sub.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let status = sub.wait().unwrap();
    assert!(status.success(), "{status}\n{out}");
    let (received, bad, restarts) = summary(&out);
    common::say(&format!(
        "topics: the Rust subscriber checked {received} frames the Python publishers wrote in \
         place, {bad} bad, {restarts} restart followed"
    ));
    assert!(received >= 25, "{out}");
    assert_eq!((bad, restarts), (0, 1), "{out}");
    assert!(
        posix_ipc::SharedMemory::open(&topic).is_err(),
        "the topic is removed"
    );
}
