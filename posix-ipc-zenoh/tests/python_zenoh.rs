//! A Python program with only `eclipse-zenoh` and numpy (from the package index, into a
//! virtual environment made at test time) reads an exported topic straight off Zenoh: the
//! description from the queryable, the dtype from it, every sample's attachment and fields.

#[path = "../../tests/common/venv.rs"]
mod venv;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use posix_ipc_core::{Policy, Publisher, TopicOptions};
use posix_ipc_derive::IpcMessage;

const BRIDGE: &str = env!("CARGO_BIN_EXE_posix-ipc-bridge");

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
struct Point {
    x: f32,
    y: f32,
}

/// A nested struct, an array of them, an array of numbers.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[ipc(crate = "posix_ipc_core")]
#[repr(C)]
struct Scan {
    seq: u64,
    stamp: f64,
    points: [Point; 2],
    levels: [u16; 4],
    flags: u32,
    pad: i32,
}

fn scan(seq: u64) -> Scan {
    Scan {
        seq,
        stamp: seq as f64 / 4.0,
        points: [
            Point {
                x: seq as f32,
                y: -(seq as f32),
            },
            Point { x: 0.5, y: 1.5 },
        ],
        levels: [seq as u16, 1, 2, 3],
        flags: 0xABCD,
        pad: -7,
    }
}

const READER: &str = r#"
import json, struct, sys
import numpy as np
import zenoh

endpoint, key, info_key, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conf = zenoh.Config()
conf.insert_json5("mode", '"peer"')
conf.insert_json5("scouting/multicast/enabled", "false")
conf.insert_json5("connect/endpoints", json.dumps([endpoint]))
with zenoh.open(conf) as session:
    description = None
    for _ in range(50):
        for reply in session.get(info_key, timeout=2.0):
            if reply.ok is not None:
                description = json.loads(reply.ok.payload.to_bytes())
        if description is not None:
            break
    assert description is not None, "no description"
    dtype = np.dtype(description["dtype"])
    assert dtype.itemsize == description["size"], (dtype, description)
    sub = session.declare_subscriber(key)
    print("subscribed", flush=True)
    last = None
    for n in range(count):
        sample = sub.recv()
        magic, version, index, generation, published = struct.unpack(
            "<4sIQQQ", sample.attachment.to_bytes())
        assert (magic, version) == (b"PIPZ", 1), (magic, version)
        assert last is None or index > last, (index, last)
        last = index
        v = np.frombuffer(sample.payload.to_bytes(), dtype)[0]
        seq = int(v["seq"])
        assert v["stamp"] == seq / 4.0
        assert (v["points"]["0"]["x"], v["points"]["0"]["y"]) == (seq, -seq), v
        assert (v["points"]["1"]["x"], v["points"]["1"]["y"]) == (0.5, 1.5), v
        assert list(v["levels"]) == [seq % 65536, 1, 2, 3], v
        assert (v["flags"], v["pad"]) == (0xABCD, -7), v
    print(f"decoded {count} samples of {description['type']} with numpy, generation "
          f"{generation}, last index {last}", flush=True)
"#;

/// A virtual environment with eclipse-zenoh and numpy, or why there is none.
fn python() -> Result<PathBuf, String> {
    venv::venv(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zenoh-venv"),
        "import zenoh, numpy",
        &["eclipse-zenoh==1.10.*", "numpy"],
    )
}

#[test]
fn a_python_zenoh_program_decodes_an_exported_topic_with_numpy() {
    let python = match python() {
        Ok(p) => p,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: no Python with eclipse-zenoh: {e}");
            return;
        }
        Err(e) => panic!("no Python with eclipse-zenoh under CI: {e}"),
    };
    let topic = format!("/pit-pyz-{}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let prefix = format!("pit{}", std::process::id());
    let options = TopicOptions::new().capacity(64).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Scan>::create_owned(&topic, &options).unwrap();
    let mut bridge = Command::new(BRIDGE)
        .args([
            "--export", &topic, "--listen", &endpoint, "--prefix", &prefix,
        ])
        .args(["--stats", "0"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let name = topic.trim_start_matches('/');
    let mut reader = Command::new(&python)
        .args([
            "-c",
            READER,
            &endpoint,
            &format!("{prefix}/{name}"),
            &format!("{prefix}/@info/{name}"),
            "100",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Publishes (Overwrite: the bridge never holds this back) until the reader has its 100.
    let mut out = reader.stdout.take().unwrap();
    let got = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let until = Instant::now() + Duration::from_secs(120);
    let mut seq = 0;
    let status = loop {
        if let Some(status) = reader.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < until,
            "the Python reader did not finish in 120 s"
        );
        publisher.send(&scan(seq)).unwrap();
        seq += 1;
        std::thread::sleep(Duration::from_millis(2));
    };
    let text = got.join().unwrap();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut reader.stderr.take().unwrap(), &mut err);
    let _ = bridge.kill();
    let _ = bridge.wait();
    assert!(status.success(), "{text}\n{err}");
    assert!(
        text.contains("decoded 100 samples of Scan with numpy"),
        "{text}\n{err}"
    );
    let _ = std::io::stderr().write_all(format!("python: {text}").as_bytes());
    drop(publisher);
    assert!(posix_ipc_core::SharedMemory::open(&topic).is_err());
}
