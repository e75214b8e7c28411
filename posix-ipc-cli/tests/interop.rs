//! The tool against objects made by Python's `posix_ipc` 1.3.2 and by a C program, and the
//! reverse: each side creates and uses, the other lists, opens and checks value for value.
//!
//! The Python tests skip with a message when `python3 -m pip install posix-ipc==1.3.2` has not
//! been done, unless `POSIX_IPC_REQUIRE_PYTHON=1` (CI), which makes that a failure.

mod common;

use std::process::Command as StdCommand;

use common::{guarded, json, python_available, run, run_python, Kind};

#[test]
fn python_sends_and_the_cli_receives() {
    if !python_available("python_sends_and_the_cli_receives") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "py-to-cli");
    run_python(
        r#"
import sys, posix_ipc
q = posix_ipc.MessageQueue(sys.argv[1], posix_ipc.O_CREX, max_messages=4, max_message_size=64)
q.send(b"hello from python", priority=2)
q.send(bytes([0, 255, 10]), priority=9)
q.send("caf\u00e9".encode(), priority=0)
q.close()
"#,
        &[&name],
    );
    // ls shows the Python queue with its depth and sizes.
    let v = json(&run(&["ls", "--json", "--prefix", &name]).ok().stdout);
    assert_eq!(v[0]["name"], name.as_str());
    assert_eq!(v[0]["kind"], "mq");
    assert_eq!(v[0]["messages"], 3);
    assert_eq!(v[0]["max_messages"], 4);
    assert_eq!(v[0]["max_message_size"], 64);

    let out = run(&[
        "mq",
        "recv",
        &name,
        "--count",
        "3",
        "--json",
        "--timeout",
        "5",
    ])
    .ok();
    let got: Vec<serde_json::Value> = out.stdout.lines().map(json).collect();
    assert_eq!(got.len(), 3, "{}", out.stdout);
    assert_eq!(got[0]["priority"], 9);
    assert_eq!(got[0]["hex"], "00ff0a");
    assert_eq!(got[1]["priority"], 2);
    assert_eq!(got[1]["text"], "hello from python");
    assert_eq!(got[2]["text"], "caf\u{e9}");
    assert_eq!(got[2]["len"], 5);
}

#[test]
fn the_cli_sends_and_python_receives() {
    if !python_available("the_cli_sends_and_python_receives") {
        return;
    }
    let (name, _g) = guarded(Kind::Mq, "cli-to-py");
    run(&[
        "mq",
        "create",
        &name,
        "--max-messages",
        "4",
        "--max-message-size",
        "128",
    ])
    .ok();
    run(&["mq", "send", &name, "from the cli", "--priority", "5"]).ok();
    run(&[
        "mq",
        "send",
        &name,
        "deadbeef",
        "--hex",
        "--priority",
        "300",
    ])
    .ok();
    let out = run_python(
        r#"
import sys, posix_ipc
q = posix_ipc.MessageQueue(sys.argv[1])
print(q.max_messages, q.max_message_size, q.current_messages)
for _ in range(2):
    msg, prio = q.receive(5)
    print(prio, msg.hex())
q.close()
"#,
        &[&name],
    );
    assert_eq!(
        out,
        format!(
            "4 128 2\n300 deadbeef\n5 {}\n",
            "from the cli"
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    );
    run(&["mq", "rm", &name]).ok();
}

#[test]
fn python_semaphores_and_segments_are_listed_and_usable_and_the_reverse() {
    if !python_available("python_semaphores_and_segments_are_listed_and_usable_and_the_reverse") {
        return;
    }
    let (py_sem, _g1) = guarded(Kind::Sem, "py-sem");
    let (py_shm, _g2) = guarded(Kind::Shm, "py-shm");
    let (cli_sem, _g3) = guarded(Kind::Sem, "cli-sem");
    let (cli_shm, _g4) = guarded(Kind::Shm, "cli-shm");
    run_python(
        r#"
import sys, mmap, posix_ipc
s = posix_ipc.Semaphore(sys.argv[1], posix_ipc.O_CREX, initial_value=3)
s.close()
m = posix_ipc.SharedMemory(sys.argv[2], posix_ipc.O_CREX, size=16)
with mmap.mmap(m.fd, m.size) as mm:
    mm[0:6] = b"python"
m.close_fd()
"#,
        &[&py_sem, &py_shm],
    );
    assert_eq!(run(&["sem", "value", &py_sem]).ok().stdout, "3\n");
    run(&["sem", "wait", &py_sem, "--timeout", "0"]).ok();
    let v = json(&run(&["ls", "--json", "--prefix", &py_sem]).ok().stdout);
    assert_eq!(v[0]["value"], 2);
    assert_eq!(
        run(&["shm", "read", &py_shm, "--len", "6"]).ok().stdout,
        "python"
    );
    let v = json(&run(&["shm", "info", &py_shm, "--json"]).ok().stdout);
    assert_eq!(v["size"], 16);

    run(&["sem", "create", &cli_sem, "--value", "1"]).ok();
    run(&["shm", "create", &cli_shm, "--size", "32"]).ok();
    run(&["shm", "write", &cli_shm, "from the cli", "--offset", "2"]).ok();
    let out = run_python(
        r#"
import sys, mmap, posix_ipc
s = posix_ipc.Semaphore(sys.argv[1])
s.acquire(0)
print(s.value)
m = posix_ipc.SharedMemory(sys.argv[2])
with mmap.mmap(m.fd, m.size) as mm:
    print(m.size, bytes(mm[2:14]).decode())
ps = posix_ipc.Semaphore(sys.argv[3])
print(ps.value)
"#,
        &[&cli_sem, &cli_shm, &py_sem],
    );
    assert_eq!(out, "0\n32 from the cli\n2\n");
    // The CLI removes what Python made.
    run(&["sem", "rm", &py_sem]).ok();
    run(&["shm", "rm", &py_shm]).ok();
    let out = run_python(
        r#"
import sys, posix_ipc
for f in (lambda: posix_ipc.Semaphore(sys.argv[1]), lambda: posix_ipc.SharedMemory(sys.argv[2])):
    try:
        f()
        print("exists")
    except posix_ipc.ExistentialError:
        print("gone")
"#,
        &[&py_sem, &py_shm],
    );
    assert_eq!(out, "gone\ngone\n");
}

/// A C program that makes or reads objects with the plain POSIX calls.
const C_PROGRAM: &str = r#"
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "make") == 0) {
        struct mq_attr attr = {0};
        attr.mq_maxmsg = 3;
        attr.mq_msgsize = 40;
        mqd_t q = mq_open(argv[2], O_CREAT | O_EXCL | O_WRONLY, 0600, &attr);
        if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
        if (mq_send(q, "from C", 6, 11) != 0) { perror("mq_send"); return 1; }
        mq_close(q);
        sem_t *s = sem_open(argv[3], O_CREAT | O_EXCL, 0600, 7);
        if (s == SEM_FAILED) { perror("sem_open"); return 1; }
        sem_close(s);
        int fd = shm_open(argv[4], O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0 || ftruncate(fd, 24) != 0) { perror("shm_open"); return 1; }
        if (pwrite(fd, "C bytes", 7, 0) != 7) { perror("pwrite"); return 1; }
        close(fd);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "recv") == 0) {
        mqd_t q = mq_open(argv[2], O_RDONLY);
        if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
        char buf[8192];
        unsigned prio;
        ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
        if (n < 0) { perror("mq_receive"); return 1; }
        printf("%u %.*s\n", prio, (int)n, buf);
        return 0;
    }
    return 2;
}
"#;

#[test]
fn c_objects_are_listed_and_usable_and_the_reverse() {
    if StdCommand::new("cc").arg("--version").output().is_err() {
        common::say(
            "SKIPPED c_objects_are_listed_and_usable_and_the_reverse: no C compiler (`cc`)",
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("posix-ipc-cli-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("peer.c");
    let exe = dir.join("peer");
    std::fs::write(&source, C_PROGRAM).unwrap();
    let built = StdCommand::new("cc")
        .args(["-std=c11", "-D_DEFAULT_SOURCE", "-Wall", "-o"])
        .arg(&exe)
        .arg(&source)
        .args(["-lrt", "-pthread"])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let (mq, _g1) = guarded(Kind::Mq, "c-mq");
    let (sem, _g2) = guarded(Kind::Sem, "c-sem");
    let (shm, _g3) = guarded(Kind::Shm, "c-shm");
    let made = StdCommand::new(&exe)
        .args(["make", &mq, &sem, &shm])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let prefix = format!("/pit-{}-cli-c-", std::process::id());
    let v = json(&run(&["ls", "--json", "--prefix", &prefix]).ok().stdout);
    let find = |name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {v}"))
            .clone()
    };
    assert_eq!(find(&mq)["messages"], 1);
    assert_eq!(find(&mq)["max_message_size"], 40);
    assert_eq!(find(&sem)["value"], 7);
    assert_eq!(find(&shm)["size"], 24);

    let out = run(&["mq", "recv", &mq, "--json", "--timeout", "5"]).ok();
    let msg = json(&out.stdout);
    assert_eq!(
        (msg["priority"].clone(), msg["text"].clone()),
        (11.into(), "from C".into())
    );
    assert_eq!(run(&["sem", "value", &sem]).ok().stdout, "7\n");
    assert_eq!(
        run(&["shm", "read", &shm, "--len", "7"]).ok().stdout,
        "C bytes"
    );

    // The reverse: the CLI sends, C receives.
    run(&["mq", "send", &mq, "from the cli", "--priority", "4"]).ok();
    let got = StdCommand::new(&exe).args(["recv", &mq]).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&got.stdout), "4 from the cli\n");
}
