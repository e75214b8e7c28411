//! Typed messages and shared structs between Rust and Python's posix_ipc 1.3.2, using the
//! layouts the derive exports (`examples/python/*.py` run for real).

mod common;

#[path = "../examples/shared/reading.rs"]
#[expect(dead_code, reason = "the tests use part of the shared example module")]
mod reading;

use std::process::{Command, Stdio};

use common::{guarded, Kind};
use posix_ipc::{IpcMessage, RawShared, Receiver, Sender, Shared};
use reading::{consume, produce, Reading, Summary};

const PY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/python");

fn python(script: &str, args: &[&str]) -> std::process::Child {
    Command::new("python3")
        .arg(format!("{PY}/{script}"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3")
}

#[test]
fn python_producer_to_rust_typed_receiver() {
    if !common::python_available("typed_python::python_producer_to_rust_typed_receiver") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "py-typed-up");
    let rx = Receiver::<Reading>::create(&name, 10).unwrap();
    let format = Reading::python_format();
    let child = python("producer.py", &[&name, "2000", &format, "7"]);
    // The queue holds 10 messages: the Python side blocks until we receive, so this really is
    // two processes streaming, not a batch.
    let summary = consume(&rx, 1, u64::MAX, |_| {}).unwrap();
    common::expect_success(child, "python producer");
    assert_eq!(
        (
            summary.sent,
            summary.received,
            summary.lost,
            summary.duplicated
        ),
        (2000, 2000, 0, 0),
        "{summary:?}"
    );
    assert_eq!((summary.out_of_order, summary.wrong_priority), (0, 0));
}

#[test]
fn rust_typed_sender_to_python_consumer() {
    if !common::python_available("typed_python::rust_typed_sender_to_python_consumer") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "py-typed-down");
    let tx = Sender::<Reading>::create(&name, 10).unwrap();
    let format = Reading::python_format();
    let child = python("consumer.py", &[&name, "1", &format]);
    produce(&tx, 3, 2000, |_| {}).unwrap();
    let out = common::expect_success(child, "python consumer");
    let line = String::from_utf8_lossy(&out.stdout);
    let summary = Summary::parse(line.trim()).unwrap_or_else(|| panic!("bad line {line}"));
    assert_eq!(
        (summary.sent, summary.received, summary.lost),
        (2000, 2000, 0)
    );
    assert_eq!(
        (
            summary.duplicated,
            summary.out_of_order,
            summary.wrong_priority
        ),
        (0, 0, 0)
    );
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Position {
    x: f64,
    y: f64,
    stamp: u64,
}

#[test]
fn python_reads_a_rust_shared_struct() {
    if !common::python_available("typed_python::python_reads_a_rust_shared_struct") {
        return;
    }
    let (name, _g) = guarded(Kind::Shm, "py-shared");
    let shared = Shared::create(
        &name,
        &Position {
            x: 0.0,
            y: 0.0,
            stamp: 0,
        },
    )
    .unwrap();
    for i in 1..=3u64 {
        shared
            .store(&Position {
                x: i as f64 * 1.5,
                y: -(i as f64),
                stamp: i,
            })
            .unwrap();
    }
    let child = python(
        "read_shared.py",
        &[
            &name,
            &Position::python_format(),
            Shared::<Position>::python_header_format(),
        ],
    );
    let out = common::expect_success(child, "python read_shared");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), r#"{"version": 3, "value": [4.5, -3.0, 3]}"#);
}

#[test]
fn rust_reads_a_struct_python_wrote_header_less() {
    if !common::python_available("typed_python::rust_reads_a_struct_python_wrote_header_less") {
        return;
    }
    let (name, _g) = guarded(Kind::Shm, "py-raw");
    let script = r#"
import mmap, struct, sys, posix_ipc
name, fmt = sys.argv[1], sys.argv[2]
shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, size=struct.calcsize(fmt))
m = mmap.mmap(shm.fd, shm.size)
struct.pack_into(fmt, m, 0, 2.25, -8.5, 77)
m.close(); shm.close_fd()
"#;
    common::run_python(script, &[&name, &Position::python_format()]);
    let raw = RawShared::<Position>::open(&name).unwrap();
    assert_eq!(
        raw.read().unwrap(),
        Position {
            x: 2.25,
            y: -8.5,
            stamp: 77
        }
    );
}
