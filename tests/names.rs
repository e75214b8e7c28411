//! Name validation, the same rule for all three kinds, checked before any system call
//! (reliability catalogue §2.1, N1-N13; posix_ipc segfaults on a NUL, D2).

mod common;

use common::{guard, Kind};
use posix_ipc::{ErrorKind, MessageQueue, Semaphore, SharedMemory};

fn open_each(name: &str) -> [posix_ipc::Result<()>; 3] {
    [
        Semaphore::create(name, 0).map(drop),
        SharedMemory::create(name, 16).map(drop),
        MessageQueue::create(name, 1, 8).map(drop),
    ]
}

#[test]
fn malformed_names_give_invalid_name_for_every_kind() {
    let cases = [
        ("", "empty"),
        ("/", "empty"),
        ("//x", "slash"),
        ("/a/b", "slash"),
        ("/a/", "slash"),
        ("/.", "reserved"),
        ("/..", "reserved"),
        ("/a\0b", "NUL"),
        ("\0", "NUL"),
    ];
    for (name, why) in cases {
        for result in open_each(name) {
            let err = result.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidName, "{name:?}: {err}");
            assert_eq!(err.errno(), None, "{name:?}: refused before any syscall");
            assert!(err.to_string().contains(why), "{name:?}: {err}");
        }
    }
}

#[test]
fn unlink_functions_validate_names_too() {
    for name in ["", "/a/b", "/x\0"] {
        assert_eq!(
            posix_ipc::unlink_semaphore(name).unwrap_err().kind(),
            ErrorKind::InvalidName
        );
        assert_eq!(
            posix_ipc::unlink_shared_memory(name).unwrap_err().kind(),
            ErrorKind::InvalidName
        );
        assert_eq!(
            posix_ipc::unlink_message_queue(name).unwrap_err().kind(),
            ErrorKind::InvalidName
        );
    }
}

#[test]
fn length_limits_are_exact_per_kind() {
    let base = &common::unique_name("len")[1..];
    let body = |n: usize| format!("/{base}{}", "x".repeat(n - base.len()));
    // Semaphores: 251 bytes after the slash (sem. prefix), 252 refused.
    let ok = body(251);
    let _g = guard(Kind::Sem, &ok);
    Semaphore::create(&ok, 0).unwrap();
    let err = Semaphore::create(&body(252), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidName);
    assert!(err.to_string().contains("251"), "{err}");
    // Shared memory and queues: 255, 256 refused.
    let ok = body(255);
    let _g1 = guard(Kind::Shm, &ok);
    let _g2 = guard(Kind::Mq, &ok);
    SharedMemory::create(&ok, 16).unwrap();
    MessageQueue::create(&ok, 1, 8).unwrap();
    for result in [
        SharedMemory::create(&body(256), 16).map(drop),
        MessageQueue::create(&body(256), 1, 8).map(drop),
        Semaphore::create(&body(4096 - 1), 0).map(drop),
    ] {
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidName);
    }
}

#[test]
fn a_name_with_and_without_slash_is_one_object_for_every_kind() {
    let name = common::unique_name("alias");
    let bare = &name[1..];
    let _g = [
        guard(Kind::Sem, &name),
        guard(Kind::Shm, &name),
        guard(Kind::Mq, &name),
    ];
    Semaphore::create(bare, 0).unwrap();
    assert_eq!(Semaphore::open(&name).unwrap().name(), name);
    SharedMemory::create(bare, 16).unwrap();
    assert_eq!(SharedMemory::open(&name).unwrap().name(), name);
    MessageQueue::create(bare, 1, 8).unwrap();
    assert_eq!(MessageQueue::open(&name).unwrap().name(), name);
    for err in open_each(&name).map(Result::unwrap_err) {
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    }
}
