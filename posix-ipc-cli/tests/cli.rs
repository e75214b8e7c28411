//! Every command of the `posix-ipc` binary and its error paths, run as a real process.

mod common;

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use common::{guarded, json, run, run_with_stdin, Kind, BIN};
use posix_ipc::{MessageQueue, Semaphore, SharedMemory};

// ---------------------------------------------------------------------------------------------
// help, usage, limits

#[test]
fn help_documents_commands_and_exit_codes() {
    let out = run(&["--help"]).ok();
    for needle in [
        "limits",
        "ls",
        "mq",
        "sem",
        "shm",
        "clean",
        "watch",
        "Exit codes:",
        "2  bad usage",
        "3  not found",
        "4  permission denied",
        "5  busy or timed out",
        "6  already exists",
    ] {
        assert!(out.stdout.contains(needle), "{needle:?} not in help");
    }
    for sub in [
        &["mq", "--help"][..],
        &["mq", "recv", "--help"],
        &["sem", "wait", "--help"],
        &["shm", "read", "--help"],
        &["watch", "--help"],
    ] {
        let out = run(sub).ok();
        assert!(out.stdout.contains("Usage: posix-ipc"), "{sub:?}");
    }
    let out = run(&["--version"]).ok();
    assert_eq!(
        out.stdout.trim(),
        format!("posix-ipc {}", posix_ipc::VERSION)
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &[],
        &["mq"],
        &["mq", "send", "/pit-x"],
        &["mq", "create", "/pit-x", "--mode", "9"],
        &["mq", "create", "/pit-x", "--max-messages", "-1"],
        &["shm", "create", "/pit-x"],
        &["sem", "create", "/pit-x", "--value", "lots"],
        &["clean"],
    ] {
        let out = run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn malformed_names_and_arguments_exit_2_with_one_line() {
    run(&["mq", "info", "a/b"])
        .code(2)
        .one_error_line(&["message queue \"a/b\"", "slash"]);
    run(&["sem", "value", ""])
        .code(2)
        .one_error_line(&["semaphore"]);
    run(&["shm", "create", "/sem.x", "--size", "10"])
        .code(2)
        .one_error_line(&["shared memory"]);
    run(&["clean", "--prefix", "/"])
        .code(2)
        .one_error_line(&["refusing"]);
    run(&["clean", "--prefix", ""])
        .code(2)
        .one_error_line(&["refusing"]);
    run(&["watch", "--interval", "0", "--iterations", "1"])
        .code(2)
        .one_error_line(&["--interval"]);
}

#[test]
fn limits_prints_the_constants_and_live_limits() {
    let out = run(&["limits"]).ok();
    for line in [
        "MESSAGE_QUEUES_SUPPORTED        true",
        "QUEUE_PRIORITY_MAX              32767",
        "QUEUE_MESSAGES_MAX_DEFAULT      10",
    ] {
        assert!(out.stdout.contains(line), "{line:?} in\n{}", out.stdout);
    }
    assert!(out.stdout.contains("fs.mqueue.msg_max"));
    assert!(out.stdout.contains("RLIMIT_MSGQUEUE"));

    let v = json(&run(&["limits", "--json"]).ok().stdout);
    assert_eq!(v["MESSAGE_QUEUES_SUPPORTED"], true);
    assert_eq!(v["SEMAPHORE_TIMEOUT_SUPPORTED"], true);
    assert_eq!(v["SEMAPHORE_VALUE_SUPPORTED"], true);
    assert_eq!(v["QUEUE_MESSAGES_MAX_DEFAULT"], 10);
    assert_eq!(v["QUEUE_MESSAGE_SIZE_MAX_DEFAULT"], 8192);
    assert_eq!(v["QUEUE_PRIORITY_MAX"], 32767);
    assert_eq!(v["USER_SIGNAL_MIN"], *posix_ipc::USER_SIGNAL_MIN);
    assert_eq!(v["USER_SIGNAL_MAX"], *posix_ipc::USER_SIGNAL_MAX);
    assert_eq!(
        v["msg_max"],
        serde_json::json!(posix_ipc::limits::msg_max())
    );
    assert_eq!(
        v["msgsize_max"],
        serde_json::json!(posix_ipc::limits::msgsize_max())
    );
    assert_eq!(v["page_size"], posix_ipc::limits::page_size());
    assert_eq!(v["sem_value_max"], posix_ipc::limits::sem_value_max());
    let (soft, _) = posix_ipc::limits::rlimit_msgqueue().unwrap();
    assert_eq!(v["rlimit_msgqueue"]["soft"], soft);
}

// ---------------------------------------------------------------------------------------------
// message queues

#[test]
fn mq_create_send_recv_info_rm() {
    let (name, _g) = guarded(Kind::Mq, "mq-cycle");
    let out = run(&[
        "mq",
        "create",
        &name,
        "--max-messages",
        "5",
        "--max-message-size",
        "64",
        "--mode",
        "640",
    ])
    .ok();
    assert_eq!(
        out.stdout,
        format!("created message queue {name}: 5 messages of at most 64 bytes, mode 0640\n")
    );
    // The library sees what the command made.
    let q = MessageQueue::open(&name).unwrap();
    assert_eq!((q.max_messages(), q.max_message_size()), (5, 64));

    run(&["mq", "send", &name, "low"]).ok();
    run(&["mq", "send", &name, "high", "--priority", "7"]).ok();
    run_with_stdin(&["mq", "send", &name, "-", "-p", "3"], b"from\nstdin").ok();
    run(&["mq", "send", &name, "00ff0a41", "--hex", "-p", "1"]).ok();
    assert_eq!(q.current_messages().unwrap(), 4);

    let info = run(&["mq", "info", &name]).ok().stdout;
    assert!(has_pair(&info, &["max_messages", "5"]), "{info}");
    assert!(has_pair(&info, &["current_messages", "4"]), "{info}");
    assert!(has_pair(&info, &["mode", "0640"]), "{info}");
    let v = json(&run(&["mq", "info", &name, "--json"]).ok().stdout);
    assert_eq!(v["messages"], 4);
    assert_eq!(v["max_message_size"], 64);
    assert_eq!(v["queue_bytes"], 3 + 4 + 10 + 4);
    assert_eq!(v["mode"], "0640");

    // Highest priority first; plain output is the bytes and a newline.
    let out = run(&["mq", "recv", &name]).ok();
    assert_eq!(out.stdout, "high\n");
    let out = run(&["mq", "recv", &name, "--hex"]).ok();
    assert_eq!(out.stdout, "66726f6d0a737464696e\n");
    let out = run(&["mq", "recv", &name, "--count", "2", "--json"]).ok();
    let lines: Vec<serde_json::Value> = out.stdout.lines().map(json).collect();
    assert_eq!(lines.len(), 2);
    // Not UTF-8: no "text".
    assert_eq!(lines[0]["priority"], 1);
    assert_eq!(lines[0]["len"], 4);
    assert_eq!(lines[0]["hex"], "00ff0a41");
    assert!(lines[0].get("text").is_none(), "{}", lines[0]);
    assert_eq!(lines[1]["priority"], 0);
    assert_eq!(lines[1]["text"], "low");
    assert_eq!(lines[1]["hex"], "6c6f77");
    assert!(
        out.stderr.is_empty(),
        "no progress into a pipe: {:?}",
        out.stderr
    );

    let out = run(&["mq", "rm", &name]).ok();
    assert_eq!(out.stdout, format!("removed message queue {name}\n"));
    run(&["mq", "info", &name]).code(3);
}

#[test]
fn mq_name_without_slash_is_the_same_queue_and_quiet_prints_nothing() {
    let (name, _g) = guarded(Kind::Mq, "mq-slash");
    let bare = name.trim_start_matches('/');
    let out = run(&[
        "-q",
        "mq",
        "create",
        bare,
        "--max-messages",
        "2",
        "--max-message-size",
        "16",
    ])
    .ok();
    assert!(out.stdout.is_empty());
    let out = run(&["mq", "send", bare, "x", "--quiet"]).ok();
    assert!(out.stdout.is_empty());
    assert_eq!(run(&["mq", "recv", &name]).ok().stdout, "x\n");
}

#[test]
fn mq_errors_have_distinct_exit_codes() {
    let (name, _g) = guarded(Kind::Mq, "mq-errors");
    let missing = common::unique_name("mq-missing");
    for args in [
        &["mq", "info", &missing][..],
        &["mq", "send", &missing, "x"],
        &["mq", "recv", &missing],
        &["mq", "rm", &missing],
    ] {
        run(args)
            .code(3)
            .one_error_line(&["message queue", &missing, "ENOENT", "posix-ipc ls"]);
    }
    run(&[
        "mq",
        "create",
        &name,
        "--max-messages",
        "1",
        "--max-message-size",
        "8",
    ])
    .ok();
    run(&["mq", "create", &name])
        .code(6)
        .one_error_line(&["already exists", "posix-ipc mq rm"]);
    // Empty: --timeout 0 fails at once, a short timeout after waiting.
    run(&["mq", "recv", &name, "--timeout", "0"])
        .code(5)
        .one_error_line(&["receive from message queue", "--timeout"]);
    let start = Instant::now();
    run(&["mq", "recv", &name, "--timeout", "0.2"]).code(5);
    assert!(start.elapsed() >= Duration::from_millis(200));
    // Full: sending with --timeout 0 or a short timeout is busy.
    run(&["mq", "send", &name, "a"]).ok();
    run(&["mq", "send", &name, "b", "--timeout", "0"])
        .code(5)
        .one_error_line(&["send to message queue"]);
    run(&["mq", "send", &name, "b", "--timeout", "0.1"]).code(5);
    // Arguments the library refuses.
    run(&["mq", "send", &name, "123456789"])
        .code(2)
        .one_error_line(&["9 bytes", "max_message_size (8 bytes)"]);
    run(&["mq", "send", &name, "x", "--priority", "32768"])
        .code(2)
        .one_error_line(&["32767"]);
    run(&["mq", "send", &name, "0g", "--hex"])
        .code(2)
        .one_error_line(&["hexadecimal"]);
    run(&["mq", "send", &name, "abc", "--hex"]).code(2);
    run(&["mq", "recv", &name, "--timeout", "-1"])
        .code(2)
        .one_error_line(&["non-negative"]);
    // A limit no privilege can raise: exit 1, the message names it.
    let (big, _g2) = guarded(Kind::Mq, "mq-huge");
    run(&["mq", "create", &big, "--max-messages", "70000"])
        .code(1)
        .one_error_line(&["max_messages 70000", "hard limit"]);
    // Nothing was consumed by the failures.
    assert_eq!(run(&["mq", "recv", &name]).ok().stdout, "a\n");
}

#[test]
fn mq_recv_count_stops_at_a_timeout_after_printing_what_arrived() {
    let (name, _g) = guarded(Kind::Mq, "mq-partial");
    let q = MessageQueue::create(&name, 4, 32).unwrap();
    q.send(b"one", 0).unwrap();
    q.send(b"two", 0).unwrap();
    let out = run(&["mq", "recv", &name, "--count", "3", "--timeout", "0"]).code(5);
    assert_eq!(out.stdout, "one\ntwo\n");
    out.one_error_line(&["after 2 of 3 messages were received"]);
}

#[test]
fn mq_recv_progress_shows_only_when_asked_or_on_a_terminal() {
    let (name, _g) = guarded(Kind::Mq, "mq-progress");
    let q = MessageQueue::create(&name, 10, 16).unwrap();
    for i in 0..10u8 {
        q.send(&[b'a' + i], 0).unwrap();
    }
    let out = run(&["mq", "recv", &name, "-n", "5", "--progress", "always"]).ok();
    assert_eq!(out.stdout, "a\nb\nc\nd\ne\n");
    assert!(
        out.stderr
            .contains(&format!("receiving from {name}: 5/5 messages")),
        "{:?}",
        out.stderr
    );
    // stderr is a pipe here: auto stays quiet.
    let out = run(&["mq", "recv", &name, "-n", "5"]).ok();
    assert_eq!(out.stdout, "f\ng\nh\ni\nj\n");
    assert!(out.stderr.is_empty(), "{:?}", out.stderr);
}

#[test]
fn mq_recv_many_streams_while_a_sender_fills_the_queue() {
    const N: usize = 3000;
    let (name, _g) = guarded(Kind::Mq, "mq-stream");
    let q = MessageQueue::create(&name, 10, 32).unwrap();
    let mut child = StdCommand::new(BIN)
        .args([
            "mq",
            "recv",
            &name,
            "--count",
            &N.to_string(),
            "--timeout",
            "30",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The queue holds 10: these sends block until the receiver takes messages.
    for i in 0..N {
        q.send_timeout(format!("m{i}").as_bytes(), 0, Duration::from_secs(30))
            .unwrap();
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    assert_eq!(stdout.lines().collect::<Vec<_>>(), want);
    assert!(out.stderr.is_empty());
}

// ---------------------------------------------------------------------------------------------
// semaphores

#[test]
fn sem_create_post_wait_value_rm() {
    let (name, _g) = guarded(Kind::Sem, "sem-cycle");
    let out = run(&["sem", "create", &name, "--value", "2"]).ok();
    assert_eq!(
        out.stdout,
        format!("created semaphore {name} with value 2, mode 0600\n")
    );
    assert_eq!(Semaphore::open(&name).unwrap().value().unwrap(), 2);
    assert_eq!(run(&["sem", "value", &name]).ok().stdout, "2\n");
    assert_eq!(
        run(&["sem", "post", &name]).ok().stdout,
        format!("posted semaphore {name}\n")
    );
    assert_eq!(run(&["sem", "value", &name]).ok().stdout, "3\n");
    for _ in 0..3 {
        run(&["sem", "wait", &name, "--timeout", "0"]).ok();
    }
    assert_eq!(run(&["sem", "value", &name]).ok().stdout, "0\n");
    run(&["sem", "wait", &name, "--timeout", "0"])
        .code(5)
        .one_error_line(&["acquire semaphore", &name]);
    let start = Instant::now();
    run(&["sem", "wait", &name, "--timeout", "0.2"]).code(5);
    assert!(start.elapsed() >= Duration::from_millis(200));
    run(&["sem", "create", &name])
        .code(6)
        .one_error_line(&["posix-ipc sem rm"]);
    run(&["sem", "rm", &name]).ok();
    run(&["sem", "value", &name])
        .code(3)
        .one_error_line(&["no semaphore exists", "posix-ipc sem create"]);
    run(&["sem", "post", &name]).code(3);
    run(&["sem", "wait", &name]).code(3);
    run(&["sem", "rm", &name]).code(3);
}

#[test]
fn sem_wait_returns_when_another_process_posts() {
    let (name, _g) = guarded(Kind::Sem, "sem-block");
    let sem = Semaphore::create(&name, 0).unwrap();
    let waiter = StdCommand::new(BIN)
        .args(["sem", "wait", &name, "--timeout", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    run(&["sem", "post", &name]).ok();
    let out = waiter.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sem.value().unwrap(), 0, "the waiter took the post");
}

// ---------------------------------------------------------------------------------------------
// shared memory

#[test]
fn shm_create_write_read_info_rm() {
    let (name, _g) = guarded(Kind::Shm, "shm-cycle");
    let out = run(&["shm", "create", &name, "--size", "32", "--mode", "0o640"]).ok();
    assert_eq!(
        out.stdout,
        format!("created shared memory {name}: 32 bytes, mode 0640\n")
    );
    let out = run(&["shm", "write", &name, "hello", "--offset", "4"]).ok();
    assert_eq!(
        out.stdout,
        format!("wrote 5 bytes to shared memory {name} at offset 4\n")
    );
    run_with_stdin(
        &["shm", "write", &name, "-", "--offset", "16"],
        b"\x00\xffraw",
    )
    .ok();
    run(&["shm", "write", &name, "0102", "--hex"]).ok();

    let seg = SharedMemory::open(&name).unwrap();
    let bytes = seg.map().unwrap().to_vec();
    assert_eq!(&bytes[..2], &[1, 2]);
    assert_eq!(&bytes[4..9], b"hello");
    assert_eq!(&bytes[16..21], b"\x00\xffraw");

    let out = run(&["shm", "read", &name]).ok();
    assert_eq!(out.stdout_bytes, bytes);
    let out = run(&["shm", "read", &name, "--offset", "4", "--len", "5"]).ok();
    assert_eq!(out.stdout, "hello");
    let out = run(&[
        "shm", "read", &name, "--offset", "16", "--len", "5", "--hex",
    ])
    .ok();
    assert_eq!(out.stdout, "00ff726177\n");
    let out = run(&["shm", "read", &name, "--offset", "32"]).ok();
    assert!(out.stdout.is_empty());

    let info = run(&["shm", "info", &name]).ok().stdout;
    assert!(has_pair(&info, &["size", "32", "bytes"]), "{info}");
    assert!(has_pair(&info, &["mode", "0640"]), "{info}");
    let v = json(&run(&["shm", "info", &name, "--json"]).ok().stdout);
    assert_eq!(v["size"], 32);
    assert_eq!(v["kind"], "shm");

    run(&["shm", "rm", &name]).ok();
    assert!(SharedMemory::open(&name).unwrap_err().is_existential());
}

#[test]
fn shm_errors_have_distinct_exit_codes() {
    let (name, _g) = guarded(Kind::Shm, "shm-errors");
    let missing = common::unique_name("shm-missing");
    for args in [
        &["shm", "info", &missing][..],
        &["shm", "read", &missing],
        &["shm", "write", &missing, "x"],
        &["shm", "rm", &missing],
    ] {
        run(args)
            .code(3)
            .one_error_line(&["shared memory", &missing]);
    }
    run(&["shm", "create", &name, "--size", "8"]).ok();
    run(&["shm", "create", &name, "--size", "8"]).code(6);
    run(&["shm", "write", &name, "too long for it"])
        .code(2)
        .one_error_line(&["the segment is 8 bytes"]);
    run(&["shm", "write", &name, "x", "--offset", "8"]).code(2);
    run(&["shm", "read", &name, "--offset", "9"])
        .code(2)
        .one_error_line(&["past its end"]);
    run(&["shm", "read", &name, "--len", "9"]).code(2);
}

/// Whether a line of `info`'s output has exactly these words (the columns are aligned to the
/// longest key, so the spacing is not fixed).
fn has_pair(info: &str, words: &[&str]) -> bool {
    info.lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == words)
}

// ---------------------------------------------------------------------------------------------
// ls, clean, watch

#[test]
fn ls_shows_every_kind_with_size_value_depth_mode_owner() {
    let (shm, _g1) = guarded(Kind::Shm, "ls");
    let (sem, _g2) = guarded(Kind::Sem, "ls");
    let (mq, _g3) = guarded(Kind::Mq, "ls");
    let _s = SharedMemory::options()
        .create_new(true)
        .size(100)
        .mode(0o644)
        .open(&shm)
        .unwrap();
    let _m = Semaphore::create(&sem, 4).unwrap();
    let q = MessageQueue::create(&mq, 3, 50).unwrap();
    q.send(b"x", 0).unwrap();

    let text = run(&["ls"]).ok().stdout;
    assert!(text.starts_with("KIND"), "{text}");
    let row = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row(&shm),
        format!("shm {shm} 100 bytes 0644 root in use").replace("root", &owner())
    );
    assert_eq!(
        row(&sem),
        format!("sem {sem} value 4 0600 {} in use", owner())
    );
    assert_eq!(
        row(&mq),
        format!("mq {mq} 1/3 messages, max 50 bytes 0600 {} in use", owner())
    );

    let prefix = format!("/pit-{}-cli-ls-", std::process::id());
    let v = json(&run(&["ls", "--json", "--prefix", &prefix]).ok().stdout);
    let list = v.as_array().unwrap();
    let find = |name: &str| {
        list.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {v}"))
    };
    assert_eq!(find(&shm)["kind"], "shm");
    assert_eq!(find(&shm)["size"], 100);
    assert_eq!(find(&shm)["mode"], "0644");
    assert_eq!(find(&sem)["kind"], "sem");
    assert_eq!(find(&sem)["value"], 4);
    assert_eq!(find(&mq)["kind"], "mq");
    assert_eq!(find(&mq)["messages"], 1);
    assert_eq!(find(&mq)["max_messages"], 3);
    assert_eq!(find(&mq)["queue_bytes"], 1);
    assert!(list
        .iter()
        .all(|e| e["name"].as_str().unwrap().starts_with(&prefix)));
}

fn owner() -> String {
    let uid = StdCommand::new("id").arg("-un").output().unwrap();
    String::from_utf8(uid.stdout).unwrap().trim().to_string()
}

#[test]
fn clean_lists_then_removes_everything_under_a_prefix_and_nothing_else() {
    let prefix = format!("/pit-{}-cli-clean-", std::process::id());
    let (shm, _g1) = guarded(Kind::Shm, "clean");
    let (sem, _g2) = guarded(Kind::Sem, "clean");
    let (mq, _g3) = guarded(Kind::Mq, "clean");
    let (other, _g4) = guarded(Kind::Sem, "kept");
    SharedMemory::create(&shm, 10).unwrap();
    Semaphore::create(&sem, 0).unwrap();
    MessageQueue::create(&mq, 1, 8).unwrap();
    Semaphore::create(&other, 0).unwrap();

    let out = run(&["clean", "--prefix", &prefix, "--dry-run"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "would remove shared memory {shm}\nwould remove semaphore {sem}\nwould remove \
             message queue {mq}\n"
        )
    );
    assert!(Semaphore::open(&sem).is_ok(), "dry run removed nothing");

    let out = run(&["clean", "--prefix", prefix.trim_start_matches('/')]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "removed shared memory {shm}\nremoved semaphore {sem}\nremoved message queue \
             {mq}\nremoved 3 object(s)\n"
        )
    );
    assert!(SharedMemory::open(&shm).unwrap_err().is_existential());
    assert!(Semaphore::open(&sem).unwrap_err().is_existential());
    assert!(MessageQueue::open(&mq).unwrap_err().is_existential());
    assert!(Semaphore::open(&other).is_ok(), "another prefix is kept");
    let out = run(&["clean", "--prefix", &prefix]).ok();
    assert_eq!(
        out.stdout,
        format!("nothing to remove: no object name starts with {prefix}\n")
    );
}

#[derive(Clone, Copy, posix_ipc::IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
}

#[test]
fn ls_names_our_segment_kinds_their_state_and_holders() {
    use posix_ipc::{RingMode, RingReceiver, RingSender, RobustMutex, Shared, TypedQueue};
    let prefix = format!("/pit-{}-cli-kinds-", std::process::id());
    let (ring, _g1) = guarded(Kind::Shm, "kinds-ring");
    let (shared, _g2) = guarded(Kind::Shm, "kinds-shared");
    let (mutex, _g3) = guarded(Kind::Shm, "kinds-mutex");
    let (queue, _g4) = guarded(Kind::Mq, "kinds-q");
    let (idle, _g5) = guarded(Kind::Shm, "kinds-idle");
    let _rx = RingReceiver::<Tick>::create(&ring, 4, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Tick>::open(&ring).unwrap();
    tx.send(&Tick { seq: 1 }).unwrap();
    let _s = Shared::create(&shared, &Tick { seq: 0 }).unwrap();
    let _m = RobustMutex::create(&mutex).unwrap();
    let _q = TypedQueue::<Tick>::create(&queue, 2).unwrap();
    drop(SharedMemory::create(&idle, 64).unwrap());
    // A second process holds the queue: a blocked `posix-ipc mq recv`.
    let mut blocked = StdCommand::new(BIN)
        .args(["mq", "recv", &queue])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = blocked.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = run(&["ls", "--prefix", &prefix, "--holders"]).ok().stdout;
        if text.contains(&format!("{pid} (posix-ipc)")) || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let row = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
            .to_string()
    };
    let me = std::process::id().to_string();
    let r = row(&ring);
    assert!(r.starts_with("ring "), "{r}");
    assert!(
        r.contains("Mpmc") && r.contains("4 x 8 B") && r.contains("1 queued"),
        "{r}"
    );
    assert!(
        r.contains(&format!("producers [{me}] consumers [{me}]")),
        "{r}"
    );
    assert!(
        r.contains("in use") && r.contains(&format!("{me} (cli-")),
        "{r}"
    );
    assert!(row(&shared).starts_with("shared "), "{text}");
    assert!(
        row(&mutex).starts_with("mutex ") && row(&mutex).contains("unlocked"),
        "{text}"
    );
    let c = row(&format!("{queue}.pipc-q"));
    assert!(c.starts_with("mq-companion ") && c.contains("Tick"), "{c}");
    let q = row(&queue);
    assert!(
        q.starts_with("mq ") && q.contains(&format!("{pid} (posix-ipc)")),
        "{q}"
    );
    assert!(row(&idle).contains("stale"), "nobody holds it: {text}");

    let v = json(&run(&["shm", "info", &ring, "--json"]).ok().stdout);
    assert_eq!(v["kind"], "ring");
    assert_eq!(v["segment"]["capacity"], 4);
    assert_eq!(v["segment"]["count"], 1);
    assert_eq!(v["state"], "in use");
    assert!(v["holders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["pid"] == std::process::id()));
    let info = run(&["shm", "info", &ring]).ok().stdout;
    assert!(has_pair(&info, &["kind", "ring", "(ring)"]), "{info}");
    assert!(has_pair(&info, &["capacity", "4"]), "{info}");
    let info = run(&["mq", "info", &queue]).ok().stdout;
    assert!(info.contains(&format!("{pid} (posix-ipc)")), "{info}");

    // clean --stale removes exactly what nobody holds, and says why. "Held" is judged at an
    // instant: another test's `posix-ipc ls` without a prefix, running at the same time, maps
    // every segment for a moment, the idle one too. So ask again until it is seen idle.
    let stale_run = |args: &[&str], want: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = run(args).ok();
            if want(&out.stdout) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let expected = format!("would remove shared memory {idle}: no process has it open or mapped\n");
    let out = stale_run(
        &["clean", "--stale", "--prefix", &prefix, "--dry-run"],
        &|o| o == expected,
    );
    assert_eq!(out.stdout, expected);
    assert!(
        SharedMemory::open(&idle).is_ok(),
        "a dry run removes nothing"
    );
    let out = stale_run(&["clean", "--stale", "--prefix", &prefix], &|o| {
        o.starts_with("removed")
    });
    assert!(
        out.stdout
            .starts_with(&format!("removed shared memory {idle}: ")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("removed 1 stale object(s)\n"),
        "{}",
        out.stdout
    );
    assert!(SharedMemory::open(&idle).is_err());
    // The blocked receiver dies: its queue is stale now (the test still maps the companion).
    blocked.kill().unwrap();
    blocked.wait().unwrap();
    drop(_q);
    let out = run(&["clean", "--stale", "--prefix", &queue]).ok();
    assert!(
        out.stdout.contains(&format!(
            "removed message queue {queue}: no process has it open"
        )),
        "{}",
        out.stdout
    );
    assert!(MessageQueue::open(&queue).is_err());
    assert!(
        run(&["ls", "--prefix", &ring])
            .ok()
            .stdout
            .contains("in use"),
        "ours stays"
    );
}

#[test]
fn watch_shows_queue_depth_and_rate_then_stops_by_itself() {
    let prefix = format!("/pit-{}-cli-watch-", std::process::id());
    let (name, _g) = guarded(Kind::Mq, "watch");
    let q = MessageQueue::create(&name, 10, 16).unwrap();
    for _ in 0..3 {
        q.send(b"abcd", 1).unwrap();
    }
    let out = run(&[
        "watch",
        "--prefix",
        &prefix,
        "--interval",
        "0.05",
        "--iterations",
        "3",
    ])
    .ok();
    let frames: Vec<&str> = out.stdout.split("posix-ipc watch: ").skip(1).collect();
    assert_eq!(frames.len(), 3, "{}", out.stdout);
    for (i, frame) in frames.iter().enumerate() {
        assert!(frame.starts_with("1 queue(s)"), "{frame}");
        assert!(
            frame.contains(&format!("refresh {} of 3", i + 1)),
            "{frame}"
        );
        let row: Vec<&str> = frame
            .lines()
            .find(|l| l.starts_with(&name))
            .unwrap_or_else(|| panic!("{name} not in {frame}"))
            .split_whitespace()
            .collect();
        let rate = if i == 0 { "-" } else { "+0.0" };
        assert_eq!(row, [name.as_str(), "3", "10", "16", "12", rate]);
    }
    assert!(out.stderr.is_empty());
}

#[test]
fn watch_shows_live_topics_and_rings_with_their_counts_and_peers() {
    use posix_ipc::{
        Policy, Publisher, RingMode, RingReceiver, RingSender, Subscriber, TopicOptions,
    };
    let prefix = format!("/pit-{}-cli-watchseg-", std::process::id());
    let (topic, _g1) = guarded(Kind::Shm, "watchseg-topic");
    let (ring, _g2) = guarded(Kind::Shm, "watchseg-ring");
    let opts = TopicOptions::new().capacity(8).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Tick>::create(&topic, &opts).unwrap();
    let _subscriber = Subscriber::<Tick>::open(&topic).unwrap();
    for seq in 0..3 {
        publisher.send(&Tick { seq }).unwrap();
    }
    let _rx = RingReceiver::<Tick>::create(&ring, 4, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Tick>::open(&ring).unwrap();
    tx.send(&Tick { seq: 1 }).unwrap();
    tx.send(&Tick { seq: 2 }).unwrap();

    let out = run(&[
        "watch",
        "--prefix",
        &prefix,
        "--interval",
        "0.05",
        "--iterations",
        "2",
    ])
    .ok();
    let me = std::process::id().to_string();
    let frames: Vec<&str> = out.stdout.split("posix-ipc watch: ").skip(1).collect();
    assert_eq!(frames.len(), 2, "{}", out.stdout);
    for (i, frame) in frames.iter().enumerate() {
        assert!(
            frame.starts_with("0 queue(s), 1 topic(s), 1 ring(s) at "),
            "{frame}"
        );
        assert!(
            frame.contains(&format!("refresh {} of 2", i + 1)),
            "{frame}"
        );
        let row = |name: &str| -> Vec<String> {
            frame
                .lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("{name} not in {frame}"))
                .split_whitespace()
                .map(String::from)
                .collect()
        };
        let rate = if i == 0 { "-" } else { "+0.0" };
        let live_me = format!("({me})");
        // Samples published, their rate, samples kept, policy, the live publisher, the live
        // subscribers.
        assert_eq!(
            row(&topic),
            [&topic, "3", rate, "8", "Overwrite", &me, "1", &live_me],
            "{frame}"
        );
        // Messages queued (tail - head), capacity, rate, mode, live producers and consumers.
        assert_eq!(
            row(&ring),
            [&ring, "2", "4", rate, "Mpmc", "1", &live_me, "1", &live_me],
            "{frame}"
        );
        for header in [
            "TOPIC",
            "PUBLISHED",
            "SUBSCRIBERS",
            "RING",
            "QUEUED",
            "CONSUMERS",
        ] {
            assert!(frame.contains(header), "{header} not in {frame}");
        }
    }
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn watch_with_nothing_under_its_prefix_says_so() {
    let prefix = format!("/pit-{}-cli-watchnone-", std::process::id());
    let out = run(&["watch", "--prefix", &prefix, "--iterations", "1"]).ok();
    assert!(
        out.stdout.contains(&format!(
            "no queue, topic or ring has a name starting with {prefix}"
        )),
        "{}",
        out.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// processes that cannot be inspected

/// The note `ls` and `clean --stale` print when a process that could not be inspected could
/// hold an object that looks stale.
const UNSEEN_NOTE: &str = "could not be inspected";

#[test]
fn ls_of_objects_in_use_prints_no_note_about_processes_it_could_not_inspect() {
    let prefix = format!("/pit-{}-cli-noteclean-", std::process::id());
    let (shm, _g1) = guarded(Kind::Shm, "noteclean-shm");
    let (sem, _g2) = guarded(Kind::Sem, "noteclean-sem");
    let (mq, _g3) = guarded(Kind::Mq, "noteclean-mq");
    let _s = SharedMemory::create(&shm, 64).unwrap();
    let _m = Semaphore::create(&sem, 1).unwrap();
    let _q = MessageQueue::create(&mq, 2, 16).unwrap();
    for args in [
        &["ls", "--prefix", &prefix][..],
        &["ls", "--prefix", &prefix, "--holders"],
        &["ls", "--prefix", &prefix, "--json"],
        // Nothing listed: nothing an unreadable process could hold.
        &["ls", "--prefix", &format!("{prefix}nothing-")],
    ] {
        let out = run(args).ok();
        assert!(out.stderr.is_empty(), "{args:?} printed {:?}", out.stderr);
    }
    let text = run(&["ls", "--prefix", &prefix]).ok().stdout;
    for name in [&shm, &sem, &mq] {
        assert!(
            text.lines()
                .any(|l| l.contains(name.as_str()) && l.contains("in use")),
            "{name} in use in\n{text}"
        );
    }
}

#[test]
fn library_lists_unreadable_processes_only_when_they_could_hold_a_listed_object() {
    use posix_ipc::lifecycle::{self, Filter, State};
    let nothing = format!("/pit-{}-cli-notelib-nothing-", std::process::id());
    let listing = lifecycle::list(&Filter::new().prefix(&nothing).holders(true));
    assert!(listing.objects.is_empty());
    assert!(
        listing.unreadable.is_empty(),
        "nothing listed, nothing held unseen: {:?}",
        listing.unreadable
    );
    assert!(
        listing.notes.iter().all(|n| !n.contains(UNSEEN_NOTE)),
        "{:?}",
        listing.notes
    );

    let (shm, _g) = guarded(Kind::Shm, "notelib-shm");
    drop(SharedMemory::create(&shm, 64).unwrap());
    let listing = lifecycle::list(&Filter::new().prefix(&shm).holders(true));
    assert_eq!(listing.objects.len(), 1, "{listing:?}");
    let o = &listing.objects[0];
    assert!(matches!(o.state, State::Stale(_)), "{o:?}");
    assert_eq!(
        o.unreadable, listing.unreadable,
        "one object: the same processes"
    );
    let me = std::process::id();
    for p in &listing.unreadable {
        assert_ne!(p.pid, me, "this process can always read itself");
        let state = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).unwrap_or_default();
        let state = state.rsplit(") ").next().unwrap_or("").chars().next();
        assert!(
            !matches!(state, Some('Z' | 'X')),
            "{} is not a zombie",
            p.pid
        );
        assert!(!p.command.is_empty() && !p.reason.is_empty(), "{p:?}");
        assert!(p.reason.contains("permission denied"), "{p:?}");
    }
}

#[test]
fn a_stale_object_names_the_processes_that_could_hold_it_unseen_and_why() {
    let (shm, _g) = guarded(Kind::Shm, "notestale-shm");
    drop(SharedMemory::create(&shm, 64).unwrap());
    let v = json(&run(&["ls", "--prefix", &shm, "--json"]).ok().stdout);
    let o = &v.as_array().unwrap()[0];
    assert_eq!(o["state"], "stale", "{v}");
    // Which processes could hold it unseen depends on the machine (none in a plain container
    // as root; pid 1 in a sandbox that guards it; other users' processes otherwise): the
    // note must name exactly those, with why, and appear only if there are any.
    let unseen: Vec<(String, String)> = o
        .get("may_be_held_by")
        .and_then(|list| list.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let who = format!("{} ({})", p["pid"], p["command"].as_str().unwrap());
            (who, p["reason"].as_str().unwrap().to_string())
        })
        .collect();
    for args in [
        &["ls", "--prefix", &shm][..],
        &["clean", "--stale", "--prefix", &shm, "--dry-run"],
    ] {
        let out = run(args).ok();
        if unseen.is_empty() {
            assert!(out.stderr.is_empty(), "{args:?}: {}", out.stderr);
            continue;
        }
        let note = out.one_error_line(&[&shm, "looks stale", UNSEEN_NOTE]);
        let (who, why) = &unseen[0];
        assert!(
            !why.is_empty() && note.contains(why.as_str()),
            "{why} in {note}"
        );
        assert!(note.contains(who.as_str()), "{who} in {note}");
    }
    let info = run(&["shm", "info", &shm]).ok().stdout;
    assert_eq!(
        info.contains("may be held by"),
        !unseen.is_empty(),
        "{info}"
    );
}

// ---------------------------------------------------------------------------------------------
// permissions

#[test]
fn permission_denied_exits_4() {
    let is_root = owner() == "root";
    let (name, _g) = guarded(Kind::Mq, "perm");
    let (sem, _g2) = guarded(Kind::Sem, "perm");
    let (shm, _g3) = guarded(Kind::Shm, "perm");
    let mode = if is_root { "600" } else { "000" };
    run(&[
        "mq",
        "create",
        &name,
        "--max-messages",
        "1",
        "--max-message-size",
        "8",
        "--mode",
        mode,
    ])
    .ok();
    run(&["sem", "create", &sem, "--mode", mode]).ok();
    run(&["shm", "create", &shm, "--size", "8", "--mode", mode]).ok();
    // root passes every mode check: run the tool as `nobody` instead.
    let as_other = |args: &[&str]| {
        if is_root {
            let mut cmd = assert_cmd::Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
                .args(args)
                .timeout(Duration::from_secs(60));
            let out = cmd.output().expect("run setpriv");
            common::Ran {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stdout_bytes: out.stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        } else {
            run(args)
        }
    };
    if is_root
        && StdCommand::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
    {
        common::say("SKIPPED permission_denied_exits_4: running as root without setpriv");
        return;
    }
    as_other(&["mq", "send", &name, "x"])
        .code(4)
        .one_error_line(&["permission denied", "posix-ipc ls"]);
    as_other(&["mq", "recv", &name, "--timeout", "0"]).code(4);
    as_other(&["sem", "post", &sem]).code(4);
    as_other(&["shm", "read", &shm]).code(4);
    // ls still lists what it cannot open.
    let text = as_other(&["ls", "--prefix", &name]).ok().stdout;
    assert!(text.contains(&name), "{text}");
    if is_root {
        // /dev/shm and /dev/mqueue are sticky: another user may not remove root's objects.
        // clean reports each refusal on its own line, goes on, and exits 4.
        let prefix = format!("/pit-{}-cli-perm-", std::process::id());
        let out = as_other(&["clean", "--prefix", &prefix]).code(4);
        assert_eq!(out.stderr.lines().count(), 3, "{}", out.stderr);
        for object in [&name, &sem, &shm] {
            assert!(out.stderr.contains(object.as_str()), "{}", out.stderr);
        }
        assert!(out
            .stderr
            .lines()
            .all(|l| l.starts_with("posix-ipc: cannot unlink")));
        assert!(Semaphore::open(&sem).is_ok(), "still there");
    }
}

#[test]
fn mq_recv_progress_auto_shows_on_a_terminal() {
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    if StdCommand::new("script").arg("--version").output().is_err() {
        common::say("SKIPPED mq_recv_progress_auto_shows_on_a_terminal: no `script` (util-linux)");
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "mq-tty");
    let q = MessageQueue::create(&name, 10, 16).unwrap();
    for _ in 0..3 {
        q.send(b"x", 0).unwrap();
    }
    let out = StdCommand::new("script")
        .args([
            "-qec",
            &format!("{BIN} mq recv {name} -n 3 > /dev/null"),
            "/dev/null",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains(&format!("receiving from {name}: 3/3 messages")),
        "{screen:?}"
    );
    assert_eq!(q.current_messages().unwrap(), 0);
}

#[test]
fn ls_shows_a_topics_kind_type_policy_and_live_subscribers() {
    use posix_ipc::{FramePublisher, Policy, Publisher, Subscriber, TopicOptions};
    let prefix = format!("/pit-{}-cli-topic-", std::process::id());
    let (topic, _g1) = guarded(Kind::Shm, "topic-ticks");
    let (frames, _g2) = guarded(Kind::Shm, "topic-frames");
    let (headed, _g3) = guarded(Kind::Shm, "topic-headed");
    let opts = TopicOptions::new().capacity(8).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Tick>::create(&topic, &opts).unwrap();
    let _a = Subscriber::<Tick>::open(&topic).unwrap();
    let b = Subscriber::<Tick>::open(&topic).unwrap();
    publisher.send(&Tick { seq: 1 }).unwrap();
    publisher.send(&Tick { seq: 2 }).unwrap();
    let _f = FramePublisher::create(&frames, 4096, &TopicOptions::new()).unwrap();
    let _h =
        FramePublisher::<Tick>::create_with_header(&headed, 1000, &TopicOptions::new()).unwrap();
    let me = std::process::id();
    let text = run(&["ls", "--prefix", &prefix]).ok().stdout;
    let row = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} not in\n{text}"))
            .to_string()
    };
    let t = row(&topic);
    assert!(t.starts_with("topic "), "{t}");
    for part in [
        "Overwrite",
        "Tick (8 B)",
        "keeps 8",
        "2 published",
        &format!("publisher [{me}] subscribers [{me},{me}] (2 live)"),
    ] {
        assert!(t.contains(part), "{part:?} not in {t}");
    }
    let f = row(&frames);
    assert!(
        f.starts_with("topic ") && f.contains("Block") && f.contains("byte frames up to 4096 B"),
        "{f}"
    );
    assert!(f.contains("subscribers [] (0 live)"), "{f}");
    let h = row(&headed);
    assert!(
        h.contains("byte frames with a Tick header (8 B) up to 1000 B"),
        "{h}"
    );
    let v = json(&run(&["shm", "info", &headed, "--json"]).ok().stdout);
    assert_eq!(v["segment"]["type_name"], "byte frames");
    assert_eq!(v["segment"]["type_size"], 1000);
    assert_eq!(v["segment"]["frame_header"]["type_name"], "Tick");
    assert_eq!(v["segment"]["frame_header"]["size"], 8);
    let info = run(&["shm", "info", &headed]).ok().stdout;
    assert!(
        has_pair(&info, &["frame", "header", "Tick", "(8", "bytes)"]),
        "{info}"
    );
    let v = json(&run(&["shm", "info", &frames, "--json"]).ok().stdout);
    assert!(v["segment"]["frame_header"].is_null(), "{v}");
    drop(b);
    let v = json(&run(&["shm", "info", &topic, "--json"]).ok().stdout);
    assert_eq!(v["kind"], "topic");
    assert_eq!(v["segment"]["policy"], "Overwrite");
    assert_eq!(v["segment"]["type_name"], "Tick");
    assert_eq!(v["segment"]["count"], 2);
    assert_eq!(v["segment"]["consumers"].as_array().unwrap().len(), 1);
    let info = run(&["shm", "info", &topic]).ok().stdout;
    assert!(
        has_pair(&info, &["kind", "topic", "(publish-subscribe", "topic)"]),
        "{info}"
    );
    assert!(has_pair(&info, &["policy", "Overwrite"]), "{info}");
}
