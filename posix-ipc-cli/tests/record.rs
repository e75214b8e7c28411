//! `posix-ipc record` and `posix-ipc replay`: recordings that Python's `mcap` and
//! `mcap-ros2-support` decode field by field, replayed into subscribers byte for byte, and
//! bad files refused with the file, the topic and the offset named.

mod common;
#[path = "../../tests/common/venv.rs"]
mod venv;

use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::{guarded, run, Kind, BIN};
use posix_ipc::typed::LayoutDesc;
use posix_ipc::{
    ErrorKind, FrameSubscriber, IpcMessage, Policy, RecordPublisher, RecordType, SubscribeOptions,
    TopicOptions,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Point {
    x: f32,
    y: f32,
}

/// Numbers of every width, a nested array of structs, bytes and a 128-bit field.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Pose {
    seq: u64,
    x: f64,
    y: f32,
    level: i32,
    points: [Point; 2],
    tag: [u8; 8],
    small: [i16; 4],
    count: u64,
    wide: u128,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct FrameInfo {
    number: u64,
    width: u32,
    height: u32,
}

fn pose(i: u64) -> Pose {
    Pose {
        seq: i,
        x: i as f64 * 0.5,
        y: -(i as f32),
        level: i as i32 - 50,
        points: [
            Point {
                x: i as f32,
                y: 1.5,
            },
            Point { x: -2.0, y: 0.25 },
        ],
        tag: *b"posix!!\0",
        small: [i as i16, -1, 2, -3],
        count: i * 3,
        wide: (u128::from(i) << 64) | 7,
    }
}

fn frame_bytes(number: u64, len: usize) -> Vec<u8> {
    (0..len).map(|k| (k as u64 * 7 + number) as u8).collect()
}

/// The directory for this test's files (removed at the end).
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("record-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A virtual environment with the `mcap` and `mcap-ros2-support` packages, or why not.
fn python() -> Result<PathBuf, String> {
    venv::venv(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mcap-venv"),
        "import mcap, mcap_ros2",
        &["mcap==1.*", "mcap-ros2-support==0.*"],
    )
}

fn python_or_skip() -> Option<PathBuf> {
    match python() {
        Ok(p) => Some(p),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: no Python with mcap and mcap-ros2-support: {e}");
            None
        }
        Err(e) => panic!("no Python with mcap and mcap-ros2-support under CI: {e}"),
    }
}

/// Checks a recording with the Python readers: every field of every pose and frame, the
/// events, the totals and the channels' metadata.
const CHECK: &str = r#"
import sys
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

path, poses_topic, frames_topic, n_poses, n_frames, lost = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
with open(path, "rb") as f:
    reader = make_reader(f, decoder_factories=[DecoderFactory()])
    summary = reader.get_summary()
    channels = {c.topic: c for c in summary.channels.values()}
    assert channels[poses_topic].metadata["posix_ipc.type"] == "Pose", channels[poses_topic].metadata
    assert channels[frames_topic].metadata["posix_ipc.max_frame_len"] == "4096"
    assert channels[poses_topic].message_encoding == "cdr"
    assert summary.schemas[channels[poses_topic].schema_id].encoding == "ros2msg"
    poses, frames, events = [], [], []
    for schema, channel, message, msg in reader.iter_decoded_messages():
        if channel.topic == poses_topic:
            poses.append((message, msg))
        elif channel.topic == frames_topic:
            frames.append((message, msg))
        elif channel.topic == "/posix-ipc/events":
            events.append(msg)
    assert len(poses) == n_poses, len(poses)
    assert len(frames) == n_frames, len(frames)
    for k, (message, p) in enumerate(poses):
        i = p.seq
        assert i == k + (lost if k >= n_poses // 2 else 0), (k, i)
        # The topic's index: the reported gap is one entry of the topic.
        assert message.sequence == k + (1 if k >= n_poses // 2 else 0), (message.sequence, k)
        assert message.publish_time <= message.log_time, (message.publish_time, message.log_time)
        assert p.x == i * 0.5 and p.y == -float(i) and p.level == i - 50, p
        assert (p.points[0].x, p.points[0].y, p.points[1].x, p.points[1].y) == (float(i), 1.5, -2.0, 0.25), p.points
        assert bytes(p.tag) == b"posix!!\0", p.tag
        assert list(p.small) == [i, -1, 2, -3], p.small
        assert p.count == 3 * i, p.count
        assert (p.wide.lo, p.wide.hi) == (7, i), p.wide
    for k, (message, fr) in enumerate(frames):
        assert (fr.number, fr.width, fr.height) == (k, 640 + k, 480), fr
        n = 1000 + 150 * k
        assert bytes(fr.data) == bytes((j * 7 + k) % 256 for j in range(n)), k
    assert [(e.topic, e.kind, e.missed) for e in events] == [(poses_topic, "lagged", lost)], events
    totals = {}
    for m in reader.iter_metadata():
        if m.name == "posix-ipc recording":
            totals = m.metadata
    assert totals[poses_topic + ".samples"] == str(n_poses), totals
    assert totals[poses_topic + ".missed"] == str(lost), totals
print(f"decoded {len(poses)} poses and {len(frames)} frames field by field, events {events}")
"#;

/// `posix-ipc record` running, killed at the end if the test ends first.
struct Recorder(Option<std::process::Child>);

impl Recorder {
    fn start(args: &[&str]) -> Recorder {
        let child = StdCommand::new(BIN)
            .arg("record")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start posix-ipc record");
        Recorder(Some(child))
    }

    fn signal(&self, sig: i32) {
        if let Some(c) = &self.0 {
            // SAFETY: a signal to a child this test started and has not reaped.
            unsafe { libc::kill(c.id() as i32, sig) };
        }
    }

    /// Waits for it to end (at most 60 s): its exit code and what it printed.
    fn wait(mut self) -> (Option<i32>, String) {
        let mut child = self.0.take().expect("running");
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until `n()` is at least 1 (the recorder has joined), at most 20 s.
fn joined(what: &str, n: impl Fn() -> usize) {
    let start = Instant::now();
    while n() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the recorder never joined {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn pose_topic(name: &str) -> RecordPublisher {
    let options = TopicOptions::new().capacity(256).policy(Policy::Block);
    RecordPublisher::create(
        name,
        &RecordType::of::<Pose>(),
        Some(&LayoutDesc::from(&Pose::LAYOUT)),
        &options,
    )
    .unwrap()
}

fn frame_topic(name: &str) -> RecordPublisher {
    let options = TopicOptions::new().capacity(32).policy(Policy::Block);
    RecordPublisher::create_frames(
        name,
        4096,
        Some(&RecordType::of::<FrameInfo>()),
        Some(&LayoutDesc::from(&FrameInfo::LAYOUT)),
        &options,
    )
    .unwrap()
}

/// Publishes 100 poses with a reported gap of 3 in the middle, and 20 frames of growing
/// length with their header.
fn publish(poses: &mut RecordPublisher, frames: &mut RecordPublisher) {
    for i in 0..100u64 {
        if i == 50 {
            poses.report_lost(3);
        }
        let seq = if i >= 50 { i + 3 } else { i };
        poses
            .send(posix_ipc::typed::bytemuck::bytes_of(&pose(seq)))
            .unwrap();
    }
    publish_frames(frames, 20);
}

fn check_in_python(python: &Path, file: &Path, poses: &str, frames: &str, n_poses: usize) {
    let out = StdCommand::new(python)
        .arg("-c")
        .arg(CHECK)
        .arg(file)
        .args([poses, frames, &n_poses.to_string(), "20", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python readers refused the recording:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", String::from_utf8_lossy(&out.stdout).trim());
}

#[test]
fn a_recording_decodes_field_by_field_in_python_with_gaps_told() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let dir = Dir::new("decode");
    for compression in ["none", "zstd", "lz4"] {
        let (poses_name, _c1) = guarded(Kind::Shm, &format!("rec-poses-{compression}"));
        let (frames_name, _c2) = guarded(Kind::Shm, &format!("rec-frames-{compression}"));
        let mut poses = pose_topic(&poses_name);
        let mut frames = frame_topic(&frames_name);
        let file = dir.0.join(format!("rec-{compression}.mcap"));
        let recorder = Recorder::start(&[
            "-o",
            file.to_str().unwrap(),
            &poses_name,
            &frames_name,
            "--compression",
            compression,
        ]);
        joined(&poses_name, || poses.status().unwrap().subscribers());
        joined(&frames_name, || frames.status().unwrap().subscribers());
        publish(&mut poses, &mut frames);
        // Every sample is read before the recorder is stopped: the topics block, and a last
        // sample of each is read only after all before it.
        caught_up(&poses);
        caught_up(&frames);
        recorder.signal(libc::SIGINT);
        let (code, text) = recorder.wait();
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!("{poses_name}: 100 samples")),
            "{text}"
        );
        assert!(text.contains("1 gaps (3 samples missed)"), "{text}");
        check_in_python(&python, &file, &poses_name, &frames_name, 100);
    }
}

/// Waits (at most 20 s) until the recorder has received everything published on `topic`.
fn caught_up(topic: &RecordPublisher) {
    let start = Instant::now();
    while topic.status().unwrap().most_pending() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the recorder did not catch up with {}",
            topic.name()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn publish_frames(frames: &mut RecordPublisher, n: u64) {
    for k in 0..n {
        let info = FrameInfo {
            number: k,
            width: 640 + k as u32,
            height: 480,
        };
        frames
            .send_with(
                &frame_bytes(k, 1000 + 150 * k as usize),
                Some(posix_ipc::typed::bytemuck::bytes_of(&info)),
                posix_ipc::Timeout::Infinite,
            )
            .unwrap();
    }
}

/// Records 20 frames of a topic made after the recorder started.
fn record_frames(dir: &Dir, frames_name: &str) -> PathBuf {
    let file = dir.0.join("frames.mcap");
    let recorder = Recorder::start(&["-o", file.to_str().unwrap(), frames_name]);
    // Made after the recorder started: found by its scan.
    let mut frames = frame_topic(frames_name);
    joined(frames_name, || frames.status().unwrap().subscribers());
    publish_frames(&mut frames, 20);
    caught_up(&frames);
    recorder.signal(libc::SIGTERM);
    let (code, text) = recorder.wait();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("{frames_name}: 20 samples")),
        "{text}"
    );
    // The publisher goes, the topic stays (as a crashed camera would leave it).
    drop(frames);
    file
}

#[test]
fn a_recording_replays_into_a_subscriber_byte_for_byte_taking_the_topic_over() {
    let dir = Dir::new("replay");
    let (frames_name, _c) = guarded(Kind::Shm, "rec-replay");
    let file = record_frames(&dir, &frames_name);
    // A subscriber of the camera's topic, waiting for the next publisher.
    let options = SubscribeOptions::new().follow_restarts(true);
    let mut sub =
        FrameSubscriber::<FrameInfo>::open_with_header_options(&frames_name, &options).unwrap();
    let replay = StdCommand::new(BIN)
        .args(["replay", file.to_str().unwrap(), "--rate", "4"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&replay.stderr).into_owned();
    assert_eq!(replay.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!("{frames_name}: 20 samples")),
        "{text}"
    );
    let mut got = 0u64;
    while got < 20 {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Ok(frame) => {
                let h = *frame.header();
                assert_eq!(
                    (h.number, h.width, h.height),
                    (got, 640 + got as u32, 480),
                    "frame {got}"
                );
                assert!(
                    *frame == frame_bytes(got, 1000 + 150 * got as usize)[..],
                    "the bytes of frame {got}"
                );
                got += 1;
            }
            Err(e) if e.kind() == ErrorKind::Restarted => {}
            Err(e) => panic!("after {got} frames: {e}"),
        }
    }
    // The replay removed the topic it took over.
    assert!(posix_ipc::SharedMemory::open(&frames_name).is_err());
}

#[test]
fn bad_recordings_are_refused_naming_the_file_the_topic_and_the_offset() {
    let dir = Dir::new("bad");
    let (frames_name, _c) = guarded(Kind::Shm, "rec-bad");
    let file = record_frames(&dir, &frames_name);
    // The topic the recording left is removed: each replay below makes it again.
    posix_ipc::unlink_shared_memory(&frames_name).unwrap();
    let bytes = std::fs::read(&file).unwrap();

    let truncated = dir.0.join("truncated.mcap");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let r = run(&["replay", truncated.to_str().unwrap(), "--rate", "100"]);
    r.one_error_line(&[
        truncated.to_str().unwrap(),
        "not a readable MCAP recording",
        "byte",
    ]);
    assert_eq!(r.code, Some(1));

    let garbage = dir.0.join("garbage.mcap");
    std::fs::write(&garbage, b"this is not an MCAP file at all").unwrap();
    let r = run(&["replay", garbage.to_str().unwrap()]);
    r.one_error_line(&[garbage.to_str().unwrap(), "not a readable MCAP recording"]);

    let missing = dir.0.join("missing.mcap");
    let r = run(&["replay", missing.to_str().unwrap()]);
    r.one_error_line(&[missing.to_str().unwrap(), "opening it"]);

    // A local topic of another type under the recorded name: refused, left as it is.
    let mut other = pose_topic(&frames_name);
    let r = run(&["replay", file.to_str().unwrap()]);
    r.one_error_line(&[file.to_str().unwrap(), &frames_name, "refused"]);
    other
        .send(posix_ipc::typed::bytemuck::bytes_of(&pose(1)))
        .unwrap();
    assert_eq!(other.status().unwrap().generation(), 1);

    let r = run(&["replay", file.to_str().unwrap(), "--rate", "0"]);
    r.one_error_line(&["--rate 0"]);
    let r = run(&["replay", file.to_str().unwrap(), "--remap", "nothing"]);
    r.one_error_line(&["--remap", "FROM=TO"]);
}

/// What Python's stream reader finds in a file whose writer was killed (or stopped by a full
/// disk): the messages of every complete chunk, in order.
const READ_KILLED: &str = r#"
import sys
from mcap.stream_reader import StreamReader
from mcap.records import Message, Channel
topic, channel, seqs, error = sys.argv[2], None, [], None
try:
    for r in StreamReader(open(sys.argv[1], "rb")).records:
        if isinstance(r, Channel) and r.topic == topic:
            channel = r.id
        elif isinstance(r, Message) and r.channel_id == channel:
            seqs.append(r.sequence)
except Exception as e:
    error = type(e).__name__
assert seqs and seqs == list(range(len(seqs))), seqs[:10]
print(f"{len(seqs)} messages readable, the stream reader stopped with {error}")
"#;

#[test]
fn a_recorder_killed_with_sigkill_leaves_a_file_readable_up_to_its_last_chunk() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let dir = Dir::new("kill");
    let (frames_name, _c) = guarded(Kind::Shm, "rec-kill");
    let file = dir.0.join("killed.mcap");
    let mut frames = frame_topic(&frames_name);
    let recorder = Recorder::start(&["-o", file.to_str().unwrap(), &frames_name]);
    joined(&frames_name, || frames.status().unwrap().subscribers());
    // Frames for more than two flush intervals (1 s each), then the kill mid-stream.
    let start = Instant::now();
    let mut k = 0u64;
    while start.elapsed() < Duration::from_millis(2500) {
        let info = FrameInfo {
            number: k,
            width: 1,
            height: 1,
        };
        frames
            .send_with(
                &frame_bytes(k, 2048),
                Some(posix_ipc::typed::bytemuck::bytes_of(&info)),
                posix_ipc::Timeout::Infinite,
            )
            .unwrap();
        k += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    recorder.signal(libc::SIGKILL);
    let (code, _) = recorder.wait();
    assert_eq!(code, None, "killed by the signal");
    let out = StdCommand::new(&python)
        .arg("-c")
        .arg(READ_KILLED)
        .arg(&file)
        .arg(&frames_name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{} (of {k} published)",
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// The camera example (`cargo test` builds the root package's examples beside its tests), or
/// `None` where this package's tests run alone.
fn camera_example() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join("camera");
    path.exists().then_some(path)
}

/// A line `  NAME   VALUE ...` of the camera subscriber's summary, as a number.
fn summary_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name:?} in:\n{text}"))
}

#[test]
fn the_camera_recorded_and_replayed_passes_its_subscribers_byte_check() {
    let Some(camera) = camera_example() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "the camera example is not built beside the tests under CI"
        );
        eprintln!("SKIPPED: the camera example is not built (run the whole workspace's tests)");
        return;
    };
    let dir = Dir::new("camera");
    let (topic, _c) = guarded(Kind::Shm, "rec-camera");
    let file = dir.0.join("camera.mcap");
    let recorder = Recorder::start(&["-o", file.to_str().unwrap(), &topic]);
    let publisher = StdCommand::new(&camera)
        .args([
            "--role",
            "publisher",
            "--topic",
            &topic,
            "--seconds",
            "2",
            "--fps",
            "15",
        ])
        .output()
        .unwrap();
    assert!(
        publisher.status.success(),
        "{}",
        String::from_utf8_lossy(&publisher.stderr)
    );
    recorder.signal(libc::SIGINT);
    let (code, text) = recorder.wait();
    assert_eq!(code, Some(0), "{text}");
    let recorded = text
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{topic}: ")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no count for {topic} in:\n{text}"));
    assert!(recorded >= 20, "{text}");

    let subscriber = StdCommand::new(&camera)
        .args(["--role", "subscriber", "--topic", &topic])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let subscriber = Recorder(Some(subscriber));
    let replay = StdCommand::new(BIN)
        .args(["replay", file.to_str().unwrap(), "--rate", "2"])
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&replay.stderr).into_owned();
    assert_eq!(replay.status.code(), Some(0), "{replayed}");
    assert!(
        replayed.contains(&format!("{topic}: {recorded} samples")),
        "{replayed}"
    );
    subscriber.signal(libc::SIGINT);
    let (code, summary) = subscriber.wait();
    assert_eq!(code, Some(0), "{summary}");
    // The subscriber joins once the replay has made the topic: it may miss the first frames,
    // never a byte of those it checks.
    let received = summary_field(&summary, "frames received");
    assert!(
        received + 5 >= recorded && received > 0,
        "{received} of {recorded}:\n{summary}"
    );
    assert_eq!(summary_field(&summary, "bad frames"), 0, "{summary}");
    assert_eq!(summary_field(&summary, "frames missed"), 0, "{summary}");
    eprintln!(
        "the camera: {recorded} frames recorded, {received} replayed frames checked byte for byte"
    );
}

#[test]
fn a_full_disk_ends_the_recording_with_an_error_and_keeps_what_was_written() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let dir = Dir::new("full");
    let (topic, _c) = guarded(Kind::Shm, "rec-full");
    let mount = dir.0.join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let file = mount.join("full.mcap");
    // A 1 MiB file system of its own, in a private mount namespace (the topics in /dev/shm
    // are the same there).
    // After the recorder stops, Python's stream reader reads what it wrote, there (the mount
    // goes with the namespace).
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs '{m}' || exit 97; '{BIN}' record -o '{f}' '{topic}'; \
         rc=$?; '{py}' -c \"$READ\" '{f}' '{topic}' || exit 98; exit $rc",
        m = mount.display(),
        f = file.display(),
        py = python.display(),
    );
    let mut frames = frame_topic(&topic);
    let child = StdCommand::new("unshare")
        .args(["-Urm", "sh", "-c", &script])
        .env("READ", READ_KILLED)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(child) = child else {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare cannot run under CI"
        );
        eprintln!("SKIPPED: unshare cannot run here");
        return;
    };
    let recorder = Recorder(Some(child));
    let start = Instant::now();
    while frames.status().unwrap().subscribers() == 0 {
        if start.elapsed() > Duration::from_secs(20) {
            let (code, text) = recorder.wait();
            if code == Some(97) && std::env::var_os("CI").is_none() {
                eprintln!("SKIPPED: no private mount namespace here: {text}");
                return;
            }
            panic!("the recorder never joined ({code:?}): {text}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // 4 KiB frames until the recorder stops (the file system is full) or 30 s pass.
    let mut k = 0u64;
    while frames.status().unwrap().subscribers() > 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the recorder did not stop"
        );
        let info = FrameInfo {
            number: k,
            width: 2,
            height: 2,
        };
        frames
            .send_with(
                &frame_bytes(k, 4096),
                Some(posix_ipc::typed::bytemuck::bytes_of(&info)),
                posix_ipc::Timeout::from(Duration::from_secs(1)),
            )
            .ok();
        k += 1;
        // About 0.4 MB/s: the file system fills after two or more of the recorder's writes
        // of its chunk (every second).
        std::thread::sleep(Duration::from_millis(10));
    }
    let (code, text) = recorder.wait();
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&file.display().to_string())
            && text.contains("at byte")
            && text.contains("No space left"),
        "{text}"
    );
    // What was written before the disk filled stays readable.
    assert!(text.contains("messages readable"), "{text}");
    eprintln!("full disk: {}", text.trim());
}

/// The count `replay` printed for `topic`, 0 if none.
fn replayed_count(text: &str, topic: &str) -> u64 {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{topic}: ")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn replay_remaps_selects_cuts_and_loops_until_stopped() {
    let dir = Dir::new("options");
    let (frames_name, _c) = guarded(Kind::Shm, "rec-opts");
    let (remapped, _c2) = guarded(Kind::Shm, "rec-opts-to");
    let file = dir.0.join("frames.mcap");
    let file = {
        let f = record_frames(&dir, &frames_name);
        std::fs::rename(&f, &file).unwrap();
        file
    };
    posix_ipc::unlink_shared_memory(&frames_name).unwrap();
    let path = file.to_str().unwrap();
    let replay = |args: &[&str]| {
        let r = run(&[&["replay", path, "--rate", "50"], args].concat());
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        r.stderr
    };
    let text = replay(&["--remap", &format!("{frames_name}={remapped}")]);
    assert_eq!(
        (
            replayed_count(&text, &remapped),
            replayed_count(&text, &frames_name)
        ),
        (20, 0),
        "{text}"
    );
    let text = replay(&["--topics", "/no-such-topic*"]);
    assert_eq!(replayed_count(&text, &frames_name), 0, "{text}");
    let text = replay(&["--end", "0"]);
    assert_eq!(replayed_count(&text, &frames_name), 1, "{text}");
    let text = replay(&["--start", "1000"]);
    assert_eq!(replayed_count(&text, &frames_name), 0, "{text}");
    // --loop goes on until Ctrl-C, which ends it with exit 0 and the topic removed.
    let looping = StdCommand::new(BIN)
        .args(["replay", path, "--rate", "50", "--loop"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let looping = Recorder(Some(looping));
    let start = Instant::now();
    // Running (the topic made) for a while: several passes at 50 times the speed.
    while posix_ipc::SharedMemory::open(&frames_name).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "replay --loop never made the topic"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    looping.signal(libc::SIGINT);
    let (code, text) = looping.wait();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(stopped)"), "{text}");
    assert!(replayed_count(&text, &frames_name) > 20, "{text}");
    assert!(posix_ipc::SharedMemory::open(&frames_name).is_err());
}

#[test]
fn a_typed_topic_recorded_and_replayed_reaches_a_typed_subscriber_field_for_field() {
    let dir = Dir::new("typed");
    let (name, _c) = guarded(Kind::Shm, "rec-typed");
    let file = dir.0.join("poses.mcap");
    let mut poses = pose_topic(&name);
    let recorder = Recorder::start(&["-o", file.to_str().unwrap(), &name]);
    joined(&name, || poses.status().unwrap().subscribers());
    for i in 0..50u64 {
        poses
            .send(posix_ipc::typed::bytemuck::bytes_of(&pose(i)))
            .unwrap();
    }
    caught_up(&poses);
    recorder.signal(libc::SIGINT);
    let (code, text) = recorder.wait();
    assert_eq!(code, Some(0), "{text}");
    drop(poses);
    let options = SubscribeOptions::new().follow_restarts(true);
    let mut sub = posix_ipc::Subscriber::<Pose>::open_with(&name, &options).unwrap();
    let r = run(&["replay", file.to_str().unwrap(), "--rate", "20"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut got = 0u64;
    while got < 50 {
        match sub.recv_timeout(Duration::from_secs(10)) {
            Ok(p) => {
                assert_eq!(*p, pose(got));
                got += 1;
            }
            Err(e) if e.kind() == ErrorKind::Restarted => {}
            Err(e) => panic!("after {got} poses: {e}"),
        }
    }
}

/// Writes an MCAP file with a JSON channel, as another program would.
const FOREIGN: &str = r#"
import sys
from mcap.writer import Writer
with open(sys.argv[1], "wb") as f:
    w = Writer(f)
    w.start()
    s = w.register_schema(name="Thing", encoding="jsonschema", data=b"{}")
    c = w.register_channel(topic="/thing", message_encoding="json", schema_id=s)
    w.add_message(channel_id=c, log_time=1, publish_time=1, data=b"{}")
    w.finish()
"#;

#[test]
fn channels_of_other_encodings_are_skipped_and_said() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let dir = Dir::new("foreign");
    let file = dir.0.join("foreign.mcap");
    let out = StdCommand::new(&python)
        .arg("-c")
        .arg(FOREIGN)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = run(&["replay", file.to_str().unwrap()]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("/thing: skipped: message encoding \"json\", not cdr"),
        "{}",
        r.stderr
    );
}
