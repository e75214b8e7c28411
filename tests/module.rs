//! posix_ipc's `tests/test_module.py`: constants, module-level unlink functions, the priority
//! range and the error classes.

mod common;

use common::{guarded, Kind};
use posix_ipc::{
    ErrorKind, MessageQueue, Semaphore, SharedMemory, O_CREAT, O_CREX, O_EXCL, O_NONBLOCK,
    O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, QUEUE_MESSAGES_MAX_DEFAULT,
    QUEUE_MESSAGE_SIZE_MAX_DEFAULT, QUEUE_PRIORITY_MAX, USER_SIGNAL_MAX, USER_SIGNAL_MIN,
};

#[test]
fn constant_values_match_fcntl_and_posix_ipc() {
    assert_eq!(O_CREAT, libc::O_CREAT);
    assert_eq!(O_EXCL, libc::O_EXCL);
    assert_eq!(O_TRUNC, libc::O_TRUNC);
    assert_eq!(O_CREX, O_CREAT | O_EXCL);
    // posix_ipc's Linux values.
    assert_eq!((O_CREAT, O_EXCL, O_CREX, O_TRUNC), (64, 128, 192, 512));
    assert_eq!((O_RDONLY, O_WRONLY, O_RDWR, O_NONBLOCK), (0, 1, 2, 2048));
    assert_eq!(QUEUE_MESSAGES_MAX_DEFAULT, 10);
    assert_eq!(QUEUE_MESSAGE_SIZE_MAX_DEFAULT, 8192);
    assert_eq!(QUEUE_PRIORITY_MAX, 32767);
    assert_eq!(
        i64::from(QUEUE_PRIORITY_MAX),
        posix_ipc::limits::mq_prio_max() - 1
    );
    assert_eq!(*USER_SIGNAL_MIN, libc::SIGRTMIN());
    assert_eq!(*USER_SIGNAL_MAX, libc::SIGRTMAX());
    assert!(*USER_SIGNAL_MIN >= 1 && *USER_SIGNAL_MIN < *USER_SIGNAL_MAX);
    const _: () = assert!(posix_ipc::MESSAGE_QUEUES_SUPPORTED);
    const _: () = assert!(posix_ipc::SEMAPHORE_TIMEOUT_SUPPORTED);
    const _: () = assert!(posix_ipc::SEMAPHORE_VALUE_SUPPORTED);
    assert_eq!(posix_ipc::VERSION, env!("CARGO_PKG_VERSION"));
    assert_eq!(posix_ipc::POSIX_IPC_VERSION, "1.3.2");
    assert!(!posix_ipc::AUTHOR.is_empty() && !posix_ipc::LICENSE.is_empty());
}

#[test]
#[expect(
    deprecated,
    reason = "checks the deprecated constants still hold run-time values"
)]
fn deprecated_constants_hold_run_time_values() {
    // SAFETY-free: sysconf through the limits module, compared with libc directly.
    let page = posix_ipc::limits::page_size();
    assert_eq!(*posix_ipc::PAGE_SIZE, page);
    assert!(page.is_power_of_two() && page >= 4096);
    assert_eq!(
        *posix_ipc::SEMAPHORE_VALUE_MAX,
        posix_ipc::limits::sem_value_max()
    );
    assert!(*posix_ipc::SEMAPHORE_VALUE_MAX >= 1);
}

#[test]
fn limits_are_read_from_the_running_system() {
    let limits = posix_ipc::limits::Limits::read();
    let proc = |f: &str| -> Option<i64> {
        std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{f}"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    };
    assert_eq!(limits.msg_max, proc("msg_max"));
    assert_eq!(limits.msgsize_max, proc("msgsize_max"));
    assert_eq!(limits.queues_max, proc("queues_max"));
    assert!(limits.rlimit_msgqueue.is_some());
    assert!(limits.rlimit_nofile.is_some());
}

#[test]
fn unlink_semaphore_removes_the_name() {
    let (name, _g) = guarded(Kind::Sem, "mod-unlink-sem");
    let sem = Semaphore::create(&name, 0).unwrap();
    posix_ipc::unlink_semaphore(&name).unwrap();
    sem.close().unwrap();
    let err = Semaphore::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.is_existential());
}

#[test]
fn unlink_shared_memory_removes_the_name() {
    let (name, _g) = guarded(Kind::Shm, "mod-unlink-shm");
    let shm = SharedMemory::create(&name, 1024).unwrap();
    shm.close_fd().unwrap();
    posix_ipc::unlink_shared_memory(&name).unwrap();
    let err = SharedMemory::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.is_existential());
}

#[test]
fn unlink_message_queue_removes_the_name() {
    let (name, _g) = guarded(Kind::Mq, "mod-unlink-mq");
    let mq = MessageQueue::create(&name, 1, 8).unwrap();
    posix_ipc::unlink_message_queue(&name).unwrap();
    mq.close().unwrap();
    let err = MessageQueue::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn unlink_functions_report_missing_objects() {
    let name = common::unique_name("mod-missing");
    for err in [
        posix_ipc::unlink_semaphore(&name).unwrap_err(),
        posix_ipc::unlink_shared_memory(&name).unwrap_err(),
        posix_ipc::unlink_message_queue(&name).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(err.to_string().contains(&name), "{err}");
    }
}

#[test]
fn every_priority_round_trips_and_one_more_is_refused() {
    let (name, _g) = guarded(Kind::Mq, "mod-prio");
    let mq = MessageQueue::create(&name, 1, 4).unwrap();
    for priority in 0..=QUEUE_PRIORITY_MAX {
        mq.send(&priority.to_le_bytes(), priority).unwrap();
        let (bytes, got) = mq.receive().unwrap();
        assert_eq!(got, priority);
        assert_eq!(bytes, priority.to_le_bytes());
    }
    let err = mq.send(b"x", QUEUE_PRIORITY_MAX + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.posix_ipc_exception(), "ValueError");
    assert!(err.to_string().contains("32767"), "{err}");
    assert_eq!(mq.current_messages().unwrap(), 0, "nothing was queued");
}

#[test]
fn error_kinds_map_onto_posix_ipc_exception_classes() {
    use posix_ipc::ErrorKind as K;
    let cases = [
        (K::NotFound, "ExistentialError"),
        (K::AlreadyExists, "ExistentialError"),
        (K::Closed, "ExistentialError"),
        (K::PermissionDenied, "PermissionsError"),
        (K::WouldBlock, "BusyError"),
        (K::TimedOut, "BusyError"),
        (K::NotificationBusy, "BusyError"),
        (K::Interrupted, "SignalError"),
        (K::InvalidName, "ValueError"),
        (K::InvalidArgument, "ValueError"),
        (K::MessageTooLarge, "ValueError"),
        (K::OutOfMemory, "MemoryError"),
        (K::Overflow, "OSError"),
        (K::LimitExceeded, "OSError"),
    ];
    for (kind, class) in cases {
        assert_eq!(kind.posix_ipc_exception(), class, "{kind:?}");
    }
}

#[test]
fn errors_convert_to_io_errors_with_matching_kinds() {
    let name = common::unique_name("mod-io");
    let err = Semaphore::open(&name).unwrap_err();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(io.to_string().contains(&name));
    let inner = io.get_ref().expect("the posix_ipc error is kept inside");
    let source = std::error::Error::source(inner).expect("errno kept as source");
    assert!(source.to_string().contains("No such file"), "{source}");
}
