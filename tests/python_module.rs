//! The `posix_ipc_rs` Python module (posix-ipc-python): posix_ipc 1.3.2's own test suite run
//! unchanged against it, our Python tests, the type stubs, and posix_ipc's demos.
//!
//! The module is built from this tree into a virtual environment (see
//! `common::python_module`); without Python or the package index these tests are skipped with a
//! message, and with `POSIX_IPC_REQUIRE_PYTHON=1` (CI) they fail instead.

mod common;
#[path = "python_module/topics.rs"]
mod topics;

/// posix_ipc's `tests/` folder from its sdist, with `posix_ipc` resolved to `posix_ipc_rs`:
/// all 93 tests pass, and every test module imported our module.
#[test]
fn posix_ipc_own_suite_passes_unchanged() {
    let Some(python) = common::python_module("posix_ipc_own_suite_passes_unchanged") else {
        return;
    };
    let Some(tree) = common::posix_ipc_sdist("posix_ipc_own_suite_passes_unchanged") else {
        return;
    };
    let sdist = tree.parent().unwrap().join("posix_ipc-1.3.2.tar.gz");
    let out = common::run_module_python(
        &python,
        &["run_posix_ipc_suite.py", "--sdist", sdist.to_str().unwrap()],
    );
    assert!(out.contains("Ran 93 tests"), "{out}");
    assert!(out.contains("\nOK"), "{out}");
    assert!(
        out.contains("test modules loaded: 4, of which imported posix_ipc_rs as posix_ipc: 4"),
        "{out}"
    );
}

/// Our own Python tests of the module (posix-ipc-python/tests/test_*.py, pytest): the surface
/// against the C module, bad inputs, the fuzzer, blocking calls and signals, notifications,
/// RobustMutex. They remove their objects, and fail if any is left.
#[test]
fn our_python_tests_pass() {
    let Some(python) = common::python_module("our_python_tests_pass") else {
        return;
    };
    let out = common::run_module_python(&python, &["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
    assert!(out.contains(" passed"), "{out}");
    assert!(!out.contains(" failed"), "{out}");
}

/// The shipped type stub (`posix_ipc_rs.pyi`, with `py.typed`) matches the module at run time
/// (`mypy.stubtest`), and our Python tests and examples type-check against it with
/// `mypy --strict`.
#[test]
fn the_type_stub_is_accurate() {
    let Some(python) = common::python_module("the_type_stub_is_accurate") else {
        return;
    };
    let out = common::run_module_python(
        &python,
        &[
            "-m",
            "mypy.stubtest",
            "posix_ipc_rs",
            "--allowlist",
            "stubtest-allowlist.txt",
        ],
    );
    assert!(out.contains("Success"), "{out}");
    let out = common::run_module_python(
        &python,
        &[
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "../pyproject.toml",
            ".",
            "../../examples/python",
            "../../posix-ipc-bench/src/py_compare.py",
        ],
    );
    assert!(out.contains("Success: no issues found"), "{out}");
}

/// posix_ipc's demos 1 to 4 from its sdist, unchanged, on posix_ipc_rs (every Python process,
/// children included, checked to have used it); demo1's Python halves also paired with the Rust
/// `shm_ping_pong` and with demo1's C premise and conclusion, built from the sdist.
#[test]
fn posix_ipc_demos_run_on_it() {
    let Some(python) = common::python_module("posix_ipc_demos_run_on_it") else {
        return;
    };
    let Some(tree) = common::posix_ipc_sdist("posix_ipc_demos_run_on_it") else {
        return;
    };
    let sdist = tree.parent().unwrap().join("posix_ipc-1.3.2.tar.gz");
    let ping_pong = common::example("shm_ping_pong");
    let out = common::run_module_python(
        &python,
        &[
            "run_posix_ipc_demos.py",
            "--sdist",
            sdist.to_str().unwrap(),
            "--shm-ping-pong",
            ping_pong.to_str().unwrap(),
        ],
    );
    for line in [
        "demo1 premise.py + conclusion.py: 1000 iterations",
        "demo1 premise.py + C conclusion: 1000 iterations",
        "demo1 C premise + conclusion.py: 1000 iterations",
        "demo1 premise.py + Rust shm_ping_pong: 1000 iterations",
        "demo1 Rust shm_ping_pong + conclusion.py: 1000 iterations",
        "demo2 premise.py + conclusion.py: 1000 iterations",
        "demo3 repeating_thread.py: 2 notification(s) received",
        "demo4 parent.py + child.py",
        "Python processes run: 14; on posix_ipc_rs: 14",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

mod cross_language {
    //! Typed messages between Rust and Python processes, byte for byte, over a queue, a ring
    //! and a `Shared` segment: the Python side learns the type from the module the Rust side
    //! generates (`posix_ipc::typed::python_module::<Tick>()`).

    use super::common;
    use posix_ipc::{IpcMessage, Receiver, RingMode, RingReceiver, RingSender, Sender, Shared};
    use std::path::PathBuf;

    #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
    #[ipc(priority = 3)]
    #[repr(C)]
    struct Tick {
        seq: u64,
        value: f64,
        tag: [u8; 8],
        id: u32,
        flags: u32,
    }

    fn tick(i: u64) -> Tick {
        let mut tag = *b"tick----";
        tag[4..].copy_from_slice(format!("{:04}", i % 10_000).as_bytes());
        Tick {
            seq: i,
            value: i as f64 * 0.5,
            tag,
            id: 7,
            flags: (i % 3) as u32,
        }
    }

    /// The same records, built on the Python side from the generated module, so that each
    /// side checks the other's bytes against its own construction.
    const SCRIPT: &str = r#"
import sys, posix_ipc_rs as p
from tick_layout import FORMAT, SIZE, PRIORITY, RECORD, Tick

def tick(i: int) -> Tick:
    return Tick(i, i * 0.5, b"tick%04d" % (i % 10000), 7, i % 3)

mode, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "ring-in":
    rx = p.RingReceiver(name, RECORD)
    for i in range(count):
        got = rx.receive(30)
        assert got == tick(i).pack(), (i, got, tick(i).pack())
        assert Tick.unpack(got) == tick(i)
elif mode == "ring-out":
    tx = p.RingSender(name, RECORD)
    for i in range(count):
        tx.send(tick(i).pack(), 30)
elif mode == "queue-in":
    mq = p.MessageQueue(name, write=False)
    for i in range(count):
        got, priority = mq.receive(30)
        assert (got, priority) == (tick(i).pack(), PRIORITY), (i, got, priority)
elif mode == "queue-out":
    mq = p.MessageQueue(name, read=False)
    assert mq.max_message_size == SIZE
    for i in range(count):
        mq.send(tick(i).pack(), 30, PRIORITY)
elif mode == "shared":
    s = p.Shared(name, RECORD)
    assert s.load() == tick(1).pack(), s.load()
    s.store(tick(2).pack())
print(f"python {mode}: {count} records of {SIZE} bytes ({FORMAT}) checked", flush=True)
"#;

    /// A folder with the generated `tick_layout.py`; `None` if the module is not available.
    fn setup(test: &str) -> Option<(PathBuf, PathBuf)> {
        let python = common::python_module(test)?;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cross-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("tick_layout.py"),
            posix_ipc::typed::python_module::<Tick>(),
        )
        .unwrap();
        Some((python, dir))
    }

    fn python(python: &PathBuf, dir: &PathBuf, args: &[&str]) -> std::process::Child {
        std::process::Command::new(python)
            .arg("-c")
            .arg(SCRIPT)
            .args(args)
            .env("PYTHONPATH", dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start python")
    }

    fn finish(child: std::process::Child, what: &str) {
        let out = common::expect_success(child, what);
        let text = String::from_utf8_lossy(&out.stdout);
        common::say(text.trim());
        assert!(text.contains("checked"), "{text}");
    }

    const COUNT: u64 = 20_000;
    /// No wait may hang the test if the Python side fails.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

    #[test]
    fn ring_rust_to_python_and_back() {
        let Some((py, dir)) = setup("ring") else {
            return;
        };
        let name = common::unique_name("xring-a");
        let tx = RingSender::<Tick>::create_owned(&name, 64, RingMode::Spsc).unwrap();
        let child = python(&py, &dir, &["ring-in", &name, &COUNT.to_string()]);
        for i in 0..COUNT {
            tx.send_timeout(&tick(i), WAIT).unwrap();
        }
        finish(child, "python ring receiver");

        let name = common::unique_name("xring-b");
        let rx = RingReceiver::<Tick>::create_owned(&name, 64, RingMode::Mpmc).unwrap();
        let child = python(&py, &dir, &["ring-out", &name, &COUNT.to_string()]);
        for i in 0..COUNT {
            assert_eq!(
                rx.recv_timeout(WAIT).unwrap(),
                tick(i),
                "record {i} from Python"
            );
        }
        finish(child, "python ring sender");
        common::say(&format!(
            "ring: {COUNT} Ticks Rust -> Python and {COUNT} Python -> Rust, byte for byte"
        ));
    }

    #[test]
    fn queue_rust_to_python_and_back() {
        let Some((py, dir)) = setup("queue") else {
            return;
        };
        let name = common::unique_name("xq-a");
        let tx = Sender::<Tick>::create_owned(&name, 8).unwrap();
        let child = python(&py, &dir, &["queue-in", &name, &COUNT.to_string()]);
        for i in 0..COUNT {
            tx.send_timeout(&tick(i), WAIT).unwrap();
        }
        finish(child, "python queue receiver");

        let name = common::unique_name("xq-b");
        let rx = Receiver::<Tick>::create_owned(&name, 8).unwrap();
        let child = python(&py, &dir, &["queue-out", &name, &COUNT.to_string()]);
        for i in 0..COUNT {
            assert_eq!(
                rx.recv_timeout(WAIT).unwrap(),
                tick(i),
                "message {i} from Python"
            );
        }
        finish(child, "python queue sender");
    }

    #[test]
    fn shared_struct_both_ways() {
        let Some((py, dir)) = setup("shared") else {
            return;
        };
        let name = common::unique_name("xshared");
        let shared = Shared::<Tick>::create_owned(&name, &tick(1)).unwrap();
        let child = python(&py, &dir, &["shared", &name, "1"]);
        finish(child, "python Shared");
        assert_eq!(
            shared.load_versioned(),
            (tick(2), 1),
            "the value Python stored"
        );
    }

    #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
    #[repr(C)]
    struct Point {
        x: f32,
        y: f32,
    }

    /// Nested structs, arrays of them, a byte array and a two-dimensional array.
    #[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
    #[repr(C)]
    struct Scan {
        seq: u64,
        points: [Point; 3],
        level: i16,
        flags: [u8; 6],
        grid: [[u16; 2]; 2],
    }

    const FROM_DTYPE: &str = r#"
import sys
import numpy as np
import posix_ipc_rs as p

name = sys.argv[1]
point = np.dtype([("x", "=f4"), ("y", "=f4")])
scan = np.dtype([("seq", "=u8"), ("points", point, (3,)), ("level", "=i2"),
                 ("flags", "u1", (6,)), ("grid", "=u2", (2, 2))])
record = p.RecordType.from_dtype(scan, name="Scan")
again = p.RecordType.from_dtype(record.dtype, name="Scan")
assert again == record, (again, record)
shared = p.Shared(name, record)          # the Rust segment's size and fingerprint check
value = np.frombuffer(shared.load(), dtype=record.dtype)[0]
# A record type of only a size and a fingerprint learns the fields from the segment, which
# stores the Rust type's layout.
bare = p.Shared(name, p.RecordType("Scan", record.size, record.fingerprint))
assert bare.record.dtype == record.dtype, (bare.record.dtype, record.dtype)
print(f"size {record.size} fingerprint {record.fingerprint:#018x} seq {value['seq']} "
      f"x2 {value['points'][2]['x']} grid {int(value['grid'][3])}", flush=True)
"#;

    /// `RecordType.from_dtype` gives what `#[derive(IpcMessage)]` gives for the same fields,
    /// nested structs and arrays included, and the dtype back reads a Rust value in place; a
    /// `Shared` opened with a bare record type reads the layout the Rust side stored.
    #[test]
    fn a_record_type_from_a_numpy_dtype_matches_the_derive() {
        let Some(python) = common::python_module("from_dtype") else {
            return;
        };
        let (name, _g) = common::guarded(common::Kind::Shm, "py-dtype");
        let value = Scan {
            seq: 77,
            points: [
                Point { x: 1.0, y: 2.0 },
                Point { x: 3.0, y: 4.0 },
                Point { x: 5.5, y: 6.0 },
            ],
            level: -3,
            flags: [1, 2, 3, 4, 5, 6],
            grid: [[10, 11], [12, 13]],
        };
        let _shared = Shared::create(&name, &value).unwrap();
        let out = common::run_module_python(&python, &["-c", FROM_DTYPE, &name]);
        let expected = format!(
            "size {} fingerprint {:#018x} seq 77 x2 5.5 grid 13",
            std::mem::size_of::<Scan>(),
            Scan::FINGERPRINT
        );
        assert!(out.contains(&expected), "expected {expected:?} in:\n{out}");
    }

    #[test]
    fn the_generated_module_describes_the_type() {
        let module = posix_ipc::typed::python_module::<Tick>();
        assert!(module.contains("FORMAT = \"<Qd8sII\""), "{module}");
        assert!(module.contains("SIZE = 32"), "{module}");
        assert!(
            module.contains(&format!("FINGERPRINT = {:#018x}", Tick::FINGERPRINT)),
            "{module}"
        );
        assert!(module.contains("PRIORITY = 3"), "{module}");
        assert!(module.contains("    tag: bytes\n"), "{module}");
        assert!(module.contains("    value: float\n"), "{module}");
    }
}
