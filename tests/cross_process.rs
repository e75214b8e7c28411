//! Real child processes (this test binary re-executed) sharing each kind of object with the
//! parent: semaphore hand-off, shared-memory write/read, queue ping-pong with priorities.

mod common;

use std::time::Duration;

use common::{guarded, Kind};
use posix_ipc::{MessageQueue, Semaphore, SharedMemory};

const WAIT: Duration = Duration::from_secs(20);
const ROUNDS: u32 = 200;

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        "sem" => {
            let ping = Semaphore::open(&args[0]).unwrap();
            let pong = Semaphore::open(&args[1]).unwrap();
            for _ in 0..ROUNDS {
                ping.acquire_timeout(WAIT).unwrap();
                pong.release().unwrap();
            }
            println!("sem child done");
        }
        "shm" => {
            let shm = SharedMemory::open(&args[0]).unwrap();
            let ready = Semaphore::open(&args[1]).unwrap();
            let back = Semaphore::open(&args[2]).unwrap();
            let map = shm.map().unwrap();
            // Write every byte value, in a pattern the parent checks byte for byte.
            let data: Vec<u8> = (0..map.len()).map(|i| (i * 7 % 256) as u8).collect();
            map.write_at(0, &data).unwrap();
            ready.release().unwrap();
            // Then read what the parent wrote back.
            back.acquire_timeout(WAIT).unwrap();
            let reply = map.to_vec();
            let expected: Vec<u8> = data.iter().map(|b| b ^ 0xff).collect();
            assert_eq!(reply, expected, "parent's reply");
            println!("shm child verified {} bytes", reply.len());
        }
        "mq" => {
            let rx = MessageQueue::options().write(false).open(&args[0]).unwrap();
            let tx = MessageQueue::options().read(false).open(&args[1]).unwrap();
            // First: report the order in which the pre-loaded messages arrive.
            for _ in 0..6 {
                let (msg, prio) = rx.receive_timeout(WAIT).unwrap();
                let mut reply = msg;
                reply.push(b':');
                reply.extend_from_slice(prio.to_string().as_bytes());
                tx.send(&reply, 0).unwrap();
            }
            // Then ping-pong: echo each message with priority + 1.
            for _ in 0..ROUNDS {
                let (msg, prio) = rx.receive_timeout(WAIT).unwrap();
                tx.send_timeout(&msg, prio + 1, WAIT).unwrap();
            }
            println!("mq child done");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn semaphore_hand_off_between_processes() {
    let (ping_name, _g1) = guarded(Kind::Sem, "xp-ping");
    let (pong_name, _g2) = guarded(Kind::Sem, "xp-pong");
    let ping = Semaphore::create(&ping_name, 0).unwrap();
    let pong = Semaphore::create(&pong_name, 0).unwrap();
    let child = common::spawn_child("child_entry", "sem", &[&ping_name, &pong_name]);
    for _ in 0..ROUNDS {
        ping.release().unwrap();
        pong.acquire_timeout(WAIT).unwrap();
    }
    let out = common::expect_success(child, "semaphore child");
    assert!(String::from_utf8_lossy(&out.stdout).contains("sem child done"));
    assert_eq!((ping.value().unwrap(), pong.value().unwrap()), (0, 0));
}

#[test]
fn shared_memory_write_in_one_process_read_in_the_other() {
    let (shm_name, _g1) = guarded(Kind::Shm, "xp-shm");
    let (ready_name, _g2) = guarded(Kind::Sem, "xp-shm-ready");
    let (back_name, _g3) = guarded(Kind::Sem, "xp-shm-back");
    let shm = SharedMemory::create(&shm_name, 10_000).unwrap();
    let ready = Semaphore::create(&ready_name, 0).unwrap();
    let back = Semaphore::create(&back_name, 0).unwrap();
    let map = shm.map().unwrap();
    let child = common::spawn_child("child_entry", "shm", &[&shm_name, &ready_name, &back_name]);
    ready.acquire_timeout(WAIT).unwrap();
    let got = map.to_vec();
    let expected: Vec<u8> = (0..10_000).map(|i| (i * 7 % 256) as u8).collect();
    assert_eq!(got, expected);
    let reply: Vec<u8> = got.iter().map(|b| b ^ 0xff).collect();
    map.write_at(0, &reply).unwrap();
    back.release().unwrap();
    let out = common::expect_success(child, "shared-memory child");
    assert!(String::from_utf8_lossy(&out.stdout).contains("verified 10000 bytes"));
}

#[test]
fn queue_ping_pong_with_priorities_between_processes() {
    let (to_child, _g1) = guarded(Kind::Mq, "xp-mq-down");
    let (to_parent, _g2) = guarded(Kind::Mq, "xp-mq-up");
    let down = MessageQueue::create(&to_child, 8, 32).unwrap();
    let up = MessageQueue::create(&to_parent, 8, 32).unwrap();
    // Pre-load before the child exists: it must get highest priority first, FIFO within one.
    for (msg, prio) in [("a", 1), ("b", 3), ("c", 2), ("d", 3), ("e", 1), ("f", 0)] {
        down.send(msg.as_bytes(), prio).unwrap();
    }
    let child = common::spawn_child("child_entry", "mq", &[&to_child, &to_parent]);
    let order: Vec<String> = (0..6)
        .map(|_| String::from_utf8(up.receive_timeout(WAIT).unwrap().0).unwrap())
        .collect();
    assert_eq!(order, ["b:3", "d:3", "c:2", "a:1", "e:1", "f:0"]);
    for i in 0..ROUNDS {
        let msg = i.to_le_bytes();
        down.send_timeout(&msg, i % 100, WAIT).unwrap();
        let (echo, prio) = up.receive_timeout(WAIT).unwrap();
        assert_eq!((echo.as_slice(), prio), (&msg[..], i % 100 + 1));
    }
    let out = common::expect_success(child, "queue child");
    assert!(String::from_utf8_lossy(&out.stdout).contains("mq child done"));
}
