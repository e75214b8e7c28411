//! Interoperability with the real Python `posix_ipc` 1.3.2: one side creates and writes a kernel
//! object, its process (or handle) ends, the other side opens the same object by name and checks
//! what it finds, value for value and byte for byte. Semaphores, shared memory and message
//! queues are each tested in both directions (Python → Rust and Rust → Python), plus Rust's
//! random names opened by Python and unlinking across the two libraries.
//!
//! Skipped (with a message) when `python3` cannot `import posix_ipc`; CI sets
//! `POSIX_IPC_REQUIRE_PYTHON=1` to make that a failure. Enable with
//! `python3 -m pip install posix-ipc==1.3.2`.

mod common;

use common::{guard, guarded, Kind};
use posix_ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory, QUEUE_PRIORITY_MAX};

/// Prepended to every Python script: the imports, the byte pattern both languages compute
/// independently (see [`pattern`]) and a `key=value` printer that [`PyOut`] parses.
const PY_PRELUDE: &str = r#"
import sys, os, mmap, posix_ipc

def pattern(n, mul, add):
    return bytes((i * mul + add) % 256 for i in range(n))

def out(key, value):
    print(f"{key}={value}")

def error_name(f):
    try:
        f()
    except Exception as e:
        return type(e).__name__
    return "no error"

"#;

/// `n` bytes where byte `i` is `(i * mul + add) % 256`. With an odd `mul` every run of 256
/// consecutive bytes holds all 256 values. Python's `pattern` in [`PY_PRELUDE`] is the same
/// formula, written separately.
fn pattern(n: usize, mul: usize, add: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * mul + add) % 256) as u8).collect()
}

/// Asserts that `data` contains every byte value 0..=255.
#[track_caller]
fn assert_all_byte_values(data: &[u8]) {
    let mut seen = [false; 256];
    for &b in data {
        seen[usize::from(b)] = true;
    }
    let missing: Vec<usize> = (0..256).filter(|&b| !seen[b]).collect();
    assert!(missing.is_empty(), "byte values never seen: {missing:?}");
}

/// Asserts `got == want`, reporting the lengths and the first differing offset rather than
/// thousands of bytes.
#[track_caller]
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at offset {first:?}",
            got.len(),
            want.len()
        );
    }
}

/// Asserts that two message sequences hold the same messages, priorities and bytes, in order.
#[track_caller]
fn assert_same_messages(got: &[(Vec<u8>, u32)], want: &[(Vec<u8>, u32)]) {
    let prios = |m: &[(Vec<u8>, u32)]| m.iter().map(|(b, p)| (*p, b.len())).collect::<Vec<_>>();
    assert_eq!(
        prios(got),
        prios(want),
        "(priority, length) of each message, in the order received"
    );
    for (i, ((g, _), (w, _))) in got.iter().zip(want).enumerate() {
        assert_same_bytes(g, w, &format!("message {i}"));
    }
}

fn hex_decode(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd-length hex from Python: {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits from Python"))
        .collect()
}

/// The `key=value` lines a Python script printed, in order.
struct PyOut {
    lines: Vec<(String, String)>,
    raw: String,
}

impl PyOut {
    /// The only value printed under `key`.
    fn get(&self, key: &str) -> &str {
        let all = self.all(key);
        assert_eq!(
            all.len(),
            1,
            "expected exactly one `{key}=` line from Python, got:\n{}",
            self.raw
        );
        all[0]
    }

    /// Every value printed under `key`, in order.
    fn all(&self, key: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> T
    where
        T::Err: std::fmt::Debug,
    {
        let v = self.get(key);
        v.parse()
            .unwrap_or_else(|e| panic!("`{key}={v}` from Python is not a number: {e:?}"))
    }

    fn bytes(&self, key: &str) -> Vec<u8> {
        hex_decode(self.get(key))
    }

    /// Messages printed as `msg=<priority>:<hex>`, in order.
    fn messages(&self) -> Vec<(Vec<u8>, u32)> {
        self.all("msg")
            .into_iter()
            .map(|v| {
                let (prio, hex) = v.split_once(':').expect("msg=<priority>:<hex>");
                (hex_decode(hex), prio.parse().expect("a priority"))
            })
            .collect()
    }
}

/// Runs `script` (after [`PY_PRELUDE`]) with `args` as `sys.argv[1:]` and parses its output.
fn python(script: &str, args: &[&str]) -> PyOut {
    let raw = common::run_python(&format!("{PY_PRELUDE}{script}"), args);
    let lines = raw
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    PyOut { lines, raw }
}

// --- Semaphores ------------------------------------------------------------------------------

#[test]
fn semaphore_created_by_python_is_used_by_rust() {
    if !common::python_available("interop_python::semaphore_created_by_python_is_used_by_rust") {
        return;
    }
    let (name, _g) = guarded(Kind::Sem, "py-sem");

    let created = python(
        r#"
s = posix_ipc.Semaphore(sys.argv[1], posix_ipc.O_CREX, initial_value=int(sys.argv[2]))
out("value", s.value)
s.close()
"#,
        &[&name, "5"],
    );
    assert_eq!(created.num::<u32>("value"), 5);

    let sem = Semaphore::open(&name).unwrap();
    assert!(!sem.created());
    assert_eq!(sem.value().unwrap(), 5, "Rust sees Python's initial_value");
    sem.try_acquire().unwrap();
    sem.try_acquire().unwrap();
    sem.try_acquire().unwrap();
    sem.release().unwrap();
    assert_eq!(sem.value().unwrap(), 3);

    // Python sees Rust's changes, drains the semaphore, then releases twice.
    let seen = python(
        r#"
s = posix_ipc.Semaphore(sys.argv[1])
out("before", s.value)
drained = 0
while True:
    try:
        s.acquire(0)
    except posix_ipc.BusyError:
        break
    drained += 1
out("drained", drained)
s.release()
s.release()
out("after", s.value)
"#,
        &[&name],
    );
    assert_eq!(seen.num::<u32>("before"), 3, "Python sees Rust's acquires");
    assert_eq!(seen.num::<u32>("drained"), 3);
    assert_eq!(seen.num::<u32>("after"), 2);

    assert_eq!(sem.value().unwrap(), 2, "Rust sees Python's releases");
    sem.try_acquire().unwrap();
    sem.try_acquire().unwrap();
    let err = sem.try_acquire().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
}

#[test]
fn semaphore_created_by_rust_is_used_by_python() {
    if !common::python_available("interop_python::semaphore_created_by_rust_is_used_by_python") {
        return;
    }
    let (name, _g) = guarded(Kind::Sem, "rs-sem");
    let sem = Semaphore::create(&name, 3).unwrap();
    assert!(sem.created());

    let seen = python(
        r#"
name = sys.argv[1]
out("crex", error_name(lambda: posix_ipc.Semaphore(name, posix_ipc.O_CREX)))
s = posix_ipc.Semaphore(name)
out("opened", s.value)
s.acquire(0)
s.acquire(0)
for _ in range(4):
    s.release()
out("after", s.value)
# O_CREAT on an existing semaphore ignores initial_value.
t = posix_ipc.Semaphore(name, posix_ipc.O_CREAT, initial_value=99)
out("ocreat", t.value)
"#,
        &[&name],
    );
    assert_eq!(
        seen.get("crex"),
        "ExistentialError",
        "Python sees the Rust semaphore as existing"
    );
    assert_eq!(
        seen.num::<u32>("opened"),
        3,
        "Python sees Rust's initial value"
    );
    assert_eq!(seen.num::<u32>("after"), 5);
    assert_eq!(seen.num::<u32>("ocreat"), 5);

    assert_eq!(
        sem.value().unwrap(),
        5,
        "Rust sees Python's acquires and releases"
    );
    // A second Rust handle (as a separate opener would) agrees.
    assert_eq!(Semaphore::open(&name).unwrap().value().unwrap(), 5);
}

// --- Shared memory ---------------------------------------------------------------------------

#[test]
fn shared_memory_written_by_python_is_read_by_rust() {
    if !common::python_available("interop_python::shared_memory_written_by_python_is_read_by_rust")
    {
        return;
    }
    let (name, _g) = guarded(Kind::Shm, "py-shm");
    // Not a multiple of the page size: Linux keeps the exact size.
    let size = 3 * 4096 + 123;

    let created = python(
        r#"
name, size = sys.argv[1], int(sys.argv[2])
shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, mode=0o640, size=size)
m = mmap.mmap(shm.fd, shm.size)
m[:] = pattern(size, 7, 3)
m.close()
out("size", shm.size)
out("mode", oct(os.fstat(shm.fd).st_mode & 0o7777))
shm.close_fd()
"#,
        &[&name, &size.to_string()],
    );
    assert_eq!(created.num::<usize>("size"), size);

    let expected = pattern(size, 7, 3);
    assert_all_byte_values(&expected);

    // Read-only, as a reader would open it.
    let ro = SharedMemory::options().read_only(true).open(&name).unwrap();
    assert!(!ro.created());
    assert_eq!(ro.size().unwrap(), size as u64, "sizes agree");
    let stat = ro.stat().unwrap();
    assert_eq!(format!("{:#o}", stat.mode), created.get("mode"));
    assert!(stat.linked);
    let map = ro.map().unwrap();
    assert_eq!(map.len(), size);
    let data = map.to_vec();
    assert_all_byte_values(&data);
    assert_same_bytes(&data, &expected, "Rust reads Python's bytes");
    // A mapping at an offset inside the second page sees the same bytes.
    let part = ro.map_range(4096 + 5, 300).unwrap();
    assert_same_bytes(
        &part.to_vec(),
        &expected[4096 + 5..4096 + 5 + 300],
        "offset mapping",
    );
    drop((map, part, ro));

    // Rust writes a different pattern back; Python reads it.
    let reply = pattern(size, 11, 200);
    {
        let rw = SharedMemory::open(&name).unwrap();
        rw.map().unwrap().write_at(0, &reply).unwrap();
    }
    let seen = python(
        r#"
shm = posix_ipc.SharedMemory(sys.argv[1])
m = mmap.mmap(shm.fd, shm.size)
out("size", shm.size)
out("data", m[:].hex())
"#,
        &[&name],
    );
    assert_eq!(seen.num::<usize>("size"), size);
    assert!(
        seen.bytes("data") == reply,
        "Python reads Rust's bytes exactly"
    );
}

#[test]
fn shared_memory_written_by_rust_is_read_by_python() {
    if !common::python_available("interop_python::shared_memory_written_by_rust_is_read_by_python")
    {
        return;
    }
    let (name, _g) = guarded(Kind::Shm, "rs-shm");
    let size = 2 * 4096 + 7;
    let data = pattern(size, 13, 1);
    assert_all_byte_values(&data);
    {
        let shm = SharedMemory::create(&name, size as u64).unwrap();
        assert_eq!(shm.size().unwrap(), size as u64);
        shm.map().unwrap().write_at(0, &data).unwrap();
    } // handle and mapping gone: Python finds only the kernel object

    // Python reads, then grows the segment (posix_ipc's `size=` resizes an existing segment)
    // and writes into the new part.
    let grown = 5 * 4096;
    let seen = python(
        r#"
name, grown = sys.argv[1], int(sys.argv[2])
shm = posix_ipc.SharedMemory(name)
out("size", shm.size)
m = mmap.mmap(shm.fd, shm.size)
out("data", m[:].hex())
m.close()
shm.close_fd()
big = posix_ipc.SharedMemory(name, size=grown)
out("grown", big.size)
m = mmap.mmap(big.fd, big.size)
old = int(sys.argv[3])
m[old + 100:] = pattern(grown - old - 100, 5, 77)
m.close()
"#,
        &[&name, &grown.to_string(), &size.to_string()],
    );
    assert_eq!(seen.num::<usize>("size"), size, "sizes agree");
    assert!(
        seen.bytes("data") == data,
        "Python reads Rust's bytes exactly"
    );
    assert_eq!(seen.num::<usize>("grown"), grown);

    let shm = SharedMemory::open(&name).unwrap();
    assert_eq!(
        shm.size().unwrap(),
        grown as u64,
        "Rust sees Python's resize"
    );
    let all = shm.map().unwrap().to_vec();
    assert_same_bytes(&all[..size], &data, "the resize kept Rust's bytes");
    assert!(
        all[size..size + 100].iter().all(|&b| b == 0),
        "the grown part Python did not write is zero"
    );
    assert_same_bytes(
        &all[size + 100..],
        &pattern(grown - size - 100, 5, 77),
        "Rust reads the bytes Python wrote into the grown part",
    );
}

// --- Message queues --------------------------------------------------------------------------

#[test]
fn queue_filled_by_python_is_drained_by_rust() {
    if !common::python_available("interop_python::queue_filled_by_python_is_drained_by_rust") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "py-mq");
    let max_size = 777;

    let created = python(
        r#"
name, max_size = sys.argv[1], int(sys.argv[2])
mq = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, max_messages=4, max_message_size=max_size)
mq.send(b"first of prio 1", priority=1)
mq.send(b"", priority=5)
mq.send(pattern(max_size, 3, 9), priority=1)
mq.send(b"\x00nul\x00\x00inside\x00", priority=posix_ipc.QUEUE_PRIORITY_MAX)
out("full", error_name(lambda: mq.send(b"x", timeout=0)))
out("max_messages", mq.max_messages)
out("max_message_size", mq.max_message_size)
out("current", mq.current_messages)
mq.close()
"#,
        &[&name, &max_size.to_string()],
    );
    assert_eq!(created.get("full"), "BusyError");
    assert_eq!(created.num::<usize>("max_messages"), 4);
    assert_eq!(created.num::<usize>("max_message_size"), max_size);
    assert_eq!(created.num::<usize>("current"), 4);

    let mq = MessageQueue::options().write(false).open(&name).unwrap();
    assert_eq!(mq.max_messages(), 4, "Rust reads Python's max_messages");
    assert_eq!(
        mq.max_message_size(),
        max_size,
        "Rust reads Python's max_message_size"
    );
    assert_eq!(mq.current_messages().unwrap(), 4);

    let exact = pattern(max_size, 3, 9);
    assert_all_byte_values(&exact);
    let expected: Vec<(Vec<u8>, u32)> = vec![
        (b"\0nul\0\0inside\0".to_vec(), QUEUE_PRIORITY_MAX),
        (Vec::new(), 5),
        (b"first of prio 1".to_vec(), 1),
        (exact, 1),
    ];
    let received: Vec<(Vec<u8>, u32)> = (0..4).map(|_| mq.try_receive().unwrap()).collect();
    // Highest priority first, FIFO within a priority, bytes exact.
    assert_same_messages(&received, &expected);
    let err = mq.try_receive().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
}

#[test]
fn queue_filled_by_rust_is_drained_by_python() {
    if !common::python_available("interop_python::queue_filled_by_rust_is_drained_by_python") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "rs-mq");
    let max_size = 1024;
    let exact = pattern(max_size, 5, 250);
    assert_all_byte_values(&exact);
    let sent: Vec<(Vec<u8>, u32)> = vec![
        (exact.clone(), 2),
        (b"\0\0\0".to_vec(), 2),
        (Vec::new(), QUEUE_PRIORITY_MAX),
        (b"mid\0dle".to_vec(), 100),
    ];
    {
        let mq = MessageQueue::create(&name, 4, max_size).unwrap();
        for (msg, prio) in &sent {
            mq.send(msg, *prio).unwrap();
        }
        let err = mq.try_send(b"x", 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    } // closed: Python finds only the kernel object

    let seen = python(
        r#"
mq = posix_ipc.MessageQueue(sys.argv[1], write=False)
out("max_messages", mq.max_messages)
out("max_message_size", mq.max_message_size)
out("current", mq.current_messages)
for _ in range(4):
    msg, prio = mq.receive(0)
    out("msg", f"{prio}:{msg.hex()}")
out("after", error_name(lambda: mq.receive(0)))
"#,
        &[&name],
    );
    assert_eq!(
        seen.num::<usize>("max_messages"),
        4,
        "Python reads Rust's max_messages"
    );
    assert_eq!(
        seen.num::<usize>("max_message_size"),
        max_size,
        "Python reads Rust's max_message_size"
    );
    assert_eq!(seen.num::<usize>("current"), 4);
    let expected = vec![
        sent[2].clone(),
        sent[3].clone(),
        sent[0].clone(),
        sent[1].clone(),
    ];
    let received = seen.messages();
    // Highest priority first, FIFO within a priority, bytes exact.
    assert_same_messages(&received, &expected);
    assert_eq!(seen.get("after"), "BusyError", "Python emptied the queue");
    assert_eq!(
        MessageQueue::open(&name)
            .unwrap()
            .current_messages()
            .unwrap(),
        0
    );
}

#[test]
fn queue_sizes_set_by_one_side_are_read_by_the_other() {
    if !common::python_available(
        "interop_python::queue_sizes_set_by_one_side_are_read_by_the_other",
    ) {
        return;
    }
    let (py_name, _g1) = guarded(Kind::Mq, "py-mq-attr");
    let (rs_name, _g2) = guarded(Kind::Mq, "rs-mq-attr");

    python(
        r#"
posix_ipc.MessageQueue(sys.argv[1], posix_ipc.O_CREX, max_messages=2, max_message_size=100).close()
"#,
        &[&py_name],
    );
    let rs = MessageQueue::create(&rs_name, 3, 513).unwrap();

    // Rust reads Python's sizes, also through open_or_create (the sizes given are ignored for
    // an existing queue).
    let opened = MessageQueue::open(&py_name).unwrap();
    assert_eq!((opened.max_messages(), opened.max_message_size()), (2, 100));
    let adopted = MessageQueue::open_or_create(&py_name, 4, 64).unwrap();
    assert!(!adopted.created());
    assert_eq!(
        (adopted.max_messages(), adopted.max_message_size()),
        (2, 100)
    );
    // A message of exactly 100 bytes fits, 101 does not.
    opened.send(&[0xAB; 100], 0).unwrap();
    let err = opened.send(&[0xAB; 101], 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge, "{err}");

    // Python reads Rust's sizes, also through O_CREAT with other sizes.
    let seen = python(
        r#"
mq = posix_ipc.MessageQueue(sys.argv[1])
out("sizes", f"{mq.max_messages},{mq.max_message_size}")
again = posix_ipc.MessageQueue(sys.argv[1], posix_ipc.O_CREAT, max_messages=4, max_message_size=64)
out("ocreat", f"{again.max_messages},{again.max_message_size}")
out("too_long", error_name(lambda: mq.send(b"y" * 514)))
mq.send(b"y" * 513, priority=3)
"#,
        &[&rs_name],
    );
    assert_eq!(seen.get("sizes"), "3,513");
    assert_eq!(seen.get("ocreat"), "3,513");
    assert_eq!(seen.get("too_long"), "ValueError");
    assert_eq!(rs.try_receive().unwrap(), (vec![b'y'; 513], 3));
}

// --- Random names ----------------------------------------------------------------------------

#[test]
fn random_names_from_rust_are_opened_by_python() {
    if !common::python_available("interop_python::random_names_from_rust_are_opened_by_python") {
        return;
    }
    let sem = Semaphore::create_random(7).unwrap();
    let _gs = guard(Kind::Sem, sem.name());
    let shm = SharedMemory::create_random(4096).unwrap();
    let _gh = guard(Kind::Shm, shm.name());
    let mq = MessageQueue::create_random(2, 64).unwrap();
    let _gq = guard(Kind::Mq, mq.name());

    for name in [sem.name(), shm.name(), mq.name()] {
        // posix_ipc's shape: '/' plus 5 to 12 lowercase letters.
        assert!((6..=13).contains(&name.len()), "{name}");
        assert!(name.starts_with('/'), "{name}");
        assert!(name[1..].bytes().all(|b| b.is_ascii_lowercase()), "{name}");
    }
    let data = pattern(4096, 9, 4);
    shm.map().unwrap().write_at(0, &data).unwrap();
    mq.send(b"random\0name", 9).unwrap();

    let seen = python(
        r#"
s = posix_ipc.Semaphore(sys.argv[1])
out("value", s.value)
s.acquire(0)
shm = posix_ipc.SharedMemory(sys.argv[2])
out("size", shm.size)
out("data", mmap.mmap(shm.fd, shm.size)[:].hex())
mq = posix_ipc.MessageQueue(sys.argv[3])
msg, prio = mq.receive(0)
out("msg", f"{prio}:{msg.hex()}")
mq.send(b"back\x00", priority=4)
"#,
        &[sem.name(), shm.name(), mq.name()],
    );
    assert_eq!(seen.num::<u32>("value"), 7);
    assert_eq!(sem.value().unwrap(), 6, "Rust sees Python's acquire");
    assert_eq!(seen.num::<usize>("size"), 4096);
    assert_same_bytes(&seen.bytes("data"), &data, "Python reads Rust's bytes");
    assert_eq!(seen.messages(), vec![(b"random\0name".to_vec(), 9)]);
    assert_eq!(mq.try_receive().unwrap(), (b"back\0".to_vec(), 4));
}

// --- Unlinking across the libraries ----------------------------------------------------------

#[test]
fn objects_unlinked_by_one_side_are_gone_for_the_other() {
    if !common::python_available(
        "interop_python::objects_unlinked_by_one_side_are_gone_for_the_other",
    ) {
        return;
    }
    let (py_sem, _g1) = guarded(Kind::Sem, "py-unlink-sem");
    let (py_shm, _g2) = guarded(Kind::Shm, "py-unlink-shm");
    let (py_mq, _g3) = guarded(Kind::Mq, "py-unlink-mq");
    let (rs_sem, _g4) = guarded(Kind::Sem, "rs-unlink-sem");
    let (rs_shm, _g5) = guarded(Kind::Shm, "rs-unlink-shm");
    let (rs_mq, _g6) = guarded(Kind::Mq, "rs-unlink-mq");

    // Python creates, Rust unlinks, Python no longer finds them.
    python(
        r#"
posix_ipc.Semaphore(sys.argv[1], posix_ipc.O_CREX).close()
posix_ipc.SharedMemory(sys.argv[2], posix_ipc.O_CREX, size=4096).close_fd()
posix_ipc.MessageQueue(sys.argv[3], posix_ipc.O_CREX, max_messages=1, max_message_size=8).close()
"#,
        &[&py_sem, &py_shm, &py_mq],
    );
    posix_ipc::unlink_semaphore(&py_sem).unwrap();
    posix_ipc::unlink_shared_memory(&py_shm).unwrap();
    posix_ipc::unlink_message_queue(&py_mq).unwrap();
    let seen = python(
        r#"
out("sem", error_name(lambda: posix_ipc.Semaphore(sys.argv[1])))
out("shm", error_name(lambda: posix_ipc.SharedMemory(sys.argv[2])))
out("mq", error_name(lambda: posix_ipc.MessageQueue(sys.argv[3])))
"#,
        &[&py_sem, &py_shm, &py_mq],
    );
    for kind in ["sem", "shm", "mq"] {
        assert_eq!(seen.get(kind), "ExistentialError", "{kind}");
    }

    // Rust creates, Python unlinks, Rust no longer finds them.
    drop(Semaphore::create(&rs_sem, 0).unwrap());
    drop(SharedMemory::create(&rs_shm, 4096).unwrap());
    drop(MessageQueue::create(&rs_mq, 1, 8).unwrap());
    python(
        r#"
posix_ipc.unlink_semaphore(sys.argv[1])
posix_ipc.unlink_shared_memory(sys.argv[2])
posix_ipc.unlink_message_queue(sys.argv[3])
"#,
        &[&rs_sem, &rs_shm, &rs_mq],
    );
    assert_eq!(
        Semaphore::open(&rs_sem).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        SharedMemory::open(&rs_shm).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        MessageQueue::open(&rs_mq).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}
