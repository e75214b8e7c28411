//! posix_ipc's `tests/test_message_queues.py` (creation, send/receive, destruction, properties;
//! 38 of its 44 tests; the 6 notification tests are in `notification.rs`), ported, plus limits,
//! names, timeouts and the crash cases of posix_ipc (D1, D3, D5).

mod common;

use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use common::{guard, guarded, Kind};
use posix_ipc::{ErrorKind, MessageQueue, Timeout, O_CREAT, O_CREX, O_NONBLOCK};

/// posix_ipc's setUp: `MessageQueue(None, O_CREX, max_messages=10, max_message_size=10)`.
fn setup() -> (MessageQueue, common::Cleanup) {
    let mq = MessageQueue::new(None, O_CREX, 0o600, 10, 10, true, true).unwrap();
    let g = guard(Kind::Mq, mq.name());
    (mq, g)
}

fn fill(mq: &MessageQueue) {
    while mq.current_messages().unwrap() < mq.max_messages() {
        mq.send(b" ", 0).unwrap();
    }
}

// --- TestMessageQueueCreation ----------------------------------------------------------------

#[test]
fn no_flags_opens_the_existing_queue() {
    let (mq, _g) = setup();
    let other = MessageQueue::new(Some(mq.name()), 0, 0o600, 10, 10, true, true).unwrap();
    assert_eq!(other.name(), mq.name());
    assert!(!other.created());
}

#[test]
fn o_creat_on_an_existing_queue_opens_it_and_keeps_its_sizes() {
    let (mq, _g) = setup();
    let other = MessageQueue::new(Some(mq.name()), O_CREAT, 0o600, 3, 5, true, true).unwrap();
    assert!(!other.created());
    assert_eq!((other.max_messages(), other.max_message_size()), (10, 10));
}

#[test]
fn o_creat_on_a_new_name_creates() {
    let (name, _g) = guarded(Kind::Mq, "mq-creat");
    let mq = MessageQueue::new(Some(&name), O_CREAT, 0o600, 3, 5, true, true).unwrap();
    assert!(mq.created());
    assert_eq!((mq.max_messages(), mq.max_message_size()), (3, 5));
}

#[test]
fn o_crex_on_an_existing_name_is_existential() {
    let (mq, _g) = setup();
    let err = MessageQueue::new(Some(mq.name()), O_CREX, 0o600, 10, 10, true, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(err.is_existential());
}

#[test]
fn randomly_generated_name() {
    let (mq, _g) = setup();
    assert!(mq.name().starts_with('/') && (6..=13).contains(&mq.name().len()));
}

#[test]
fn builder_accepts_every_constructor_argument() {
    let (name, _g) = guarded(Kind::Mq, "mq-kwargs");
    let mq = MessageQueue::options()
        .create_new(true)
        .mode(0o600)
        .max_messages(2)
        .max_message_size(16)
        .read(true)
        .write(true)
        .open(&name)
        .unwrap();
    assert_eq!(
        format!("{mq:?}"),
        format!(
            "posix_ipc.MessageQueue({name:?}, mode=0600, max_message_size=16, max_messages=2, \
             read=True, write=True)"
        )
    );
    assert_eq!(mq.to_string(), name);
}

#[test]
fn max_messages_limits_the_queue() {
    let (name, _g) = guarded(Kind::Mq, "mq-maxmsgs");
    let mq = MessageQueue::create(&name, 1, 10).unwrap();
    mq.send_with(b"a", 0, Duration::ZERO).unwrap();
    let err = mq.send_with(b"b", 0, Duration::ZERO).unwrap_err();
    assert!(err.is_busy(), "{err}");
}

#[test]
fn max_message_size_limits_messages() {
    let (mq, _g) = setup();
    let err = mq.send(&[b'x'; 11], 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MessageTooLarge);
    assert_eq!(err.posix_ipc_exception(), "ValueError");
    // posix_ipc D5 loses this text; here it names both lengths.
    assert!(err.to_string().contains("11 bytes"), "{err}");
    assert!(err.to_string().contains("(10 bytes)"), "{err}");
    assert_eq!(mq.current_messages().unwrap(), 0);
}

#[test]
fn read_false_on_a_new_queue_sends_but_cannot_receive() {
    let (name, _g) = guarded(Kind::Mq, "mq-noread");
    let mq = MessageQueue::new(Some(&name), O_CREX, 0o600, 2, 10, false, true).unwrap();
    mq.send(b"foo", 0).unwrap();
    let err = mq.receive().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.is_permissions());
}

#[test]
fn read_false_on_an_existing_queue() {
    let (mq, _g) = setup();
    let w = MessageQueue::new(Some(mq.name()), 0, 0o600, 0, 0, false, true).unwrap();
    w.send(b"foo", 0).unwrap();
    assert!(w.try_receive().unwrap_err().is_permissions());
    assert_eq!(mq.receive().unwrap().0, b"foo");
}

#[test]
fn write_false_on_a_new_queue_cannot_send() {
    let (name, _g) = guarded(Kind::Mq, "mq-nowrite");
    let mq = MessageQueue::new(Some(&name), O_CREX, 0o600, 2, 10, true, false).unwrap();
    let err = mq.send(b"foo", 0).unwrap_err();
    assert!(err.is_permissions());
    assert!(err.to_string().contains("not open for writing"), "{err}");
}

#[test]
fn write_false_on_an_existing_queue() {
    let (mq, _g) = setup();
    let r = MessageQueue::options()
        .write(false)
        .open(mq.name())
        .unwrap();
    assert!(r.send(b"foo", 0).unwrap_err().is_permissions());
    mq.send(b"bar", 2).unwrap();
    assert_eq!(r.receive().unwrap(), (b"bar".to_vec(), 2));
}

#[test]
fn read_and_write_both_false_is_refused() {
    let (mq, _g) = setup();
    let err = MessageQueue::new(Some(mq.name()), 0, 0o600, 0, 0, false, false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

// --- TestMessageQueueSendReceive ------------------------------------------------------------

#[test]
fn send() {
    let (mq, _g) = setup();
    mq.send(b"foo", 0).unwrap();
    assert_eq!(mq.current_messages().unwrap(), 1);
}

#[test]
fn send_on_a_full_queue_with_zero_timeout_is_busy() {
    let (mq, _g) = setup();
    fill(&mq);
    let err = mq.send_with(b"x", 0, Timeout::Immediate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(err.to_string().contains("full"), "{err}");
    assert!(mq.try_send(b"x", 0).unwrap_err().is_busy());
    assert_eq!(mq.current_messages().unwrap(), 10, "nothing was queued");
}

#[test]
fn send_with_zero_timeout_on_a_non_full_queue_succeeds() {
    let (mq, _g) = setup();
    mq.send_with(b"foo", 0, Duration::ZERO).unwrap();
    assert_eq!(mq.receive().unwrap().0, b"foo");
}

#[test]
fn send_with_nonzero_timeout_on_a_full_queue_expires() {
    let (mq, _g) = setup();
    fill(&mq);
    let start = Instant::now();
    let err = mq
        .send_timeout(b"x", 0, Duration::from_secs(1))
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn default_priority_is_zero() {
    let (mq, _g) = setup();
    mq.send(b"foo", 0).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 0));
}

#[test]
fn same_priority_is_fifo() {
    let (mq, _g) = setup();
    for m in [b"a", b"b", b"c"] {
        mq.send(m, 0).unwrap();
    }
    for m in [b"a", b"b", b"c"] {
        assert_eq!(mq.receive().unwrap().0, m);
    }
}

#[test]
fn higher_priority_is_received_first() {
    let (mq, _g) = setup();
    mq.send(b"a1", 1).unwrap();
    mq.send(b"b3", 3).unwrap();
    mq.send(b"c1", 1).unwrap();
    mq.send(b"d2", 2).unwrap();
    mq.send(b"e3", 3).unwrap();
    let order: Vec<_> = (0..5).map(|_| mq.receive().unwrap()).collect();
    assert_eq!(
        order,
        vec![
            (b"b3".to_vec(), 3),
            (b"e3".to_vec(), 3),
            (b"d2".to_vec(), 2),
            (b"a1".to_vec(), 1),
            (b"c1".to_vec(), 1)
        ]
    );
}

#[test]
fn priority_42() {
    let (mq, _g) = setup();
    mq.send_with(b"foo", 42, Timeout::Infinite).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 42));
}

#[test]
fn receive_returns_bytes_and_priority() {
    let (mq, _g) = setup();
    mq.send(b"foo", 3).unwrap();
    assert_eq!(mq.receive().unwrap(), (b"foo".to_vec(), 3));
}

#[test]
fn receive_with_zero_timeout_on_an_empty_queue_is_busy() {
    let (mq, _g) = setup();
    let err = mq.receive_with(Timeout::Immediate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(mq.try_recv().unwrap_err().is_busy());
}

#[test]
fn receive_with_nonzero_timeout_on_an_empty_queue_expires() {
    let (mq, _g) = setup();
    let start = Instant::now();
    let err = mq.receive_timeout(Duration::from_secs(1)).unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn a_message_of_exactly_max_size_round_trips() {
    let (mq, _g) = setup();
    mq.send(b"abcdefghij", 0).unwrap();
    assert_eq!(mq.receive().unwrap().0, b"abcdefghij");
}

#[test]
fn empty_messages_and_embedded_nuls_are_kept() {
    let (mq, _g) = setup();
    mq.send(b"", 1).unwrap();
    mq.send(b"a\0b\0", 0).unwrap();
    assert_eq!(mq.receive().unwrap(), (Vec::new(), 1));
    assert_eq!(mq.receive().unwrap(), (b"a\0b\0".to_vec(), 0));
}

#[test]
fn receive_into_a_caller_buffer() {
    let (mq, _g) = setup();
    mq.send(b"xyz", 5).unwrap();
    let mut buf = [0u8; 10];
    let (n, p) = mq.receive_into(&mut buf, Timeout::Infinite).unwrap();
    assert_eq!((&buf[..n], p), (&b"xyz"[..], 5));
    let mut small = [0u8; 9];
    let err = mq.receive_into(&mut small, Timeout::Immediate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("max_message_size (10)"), "{err}");
}

#[test]
fn a_timed_receive_wakes_when_a_message_arrives() {
    let (mq, _g) = setup();
    std::thread::scope(|s| {
        let r = s.spawn(|| mq.receive_timeout(Duration::from_secs(10)));
        mq.send(b"wake", 1).unwrap();
        assert_eq!(r.join().unwrap().unwrap(), (b"wake".to_vec(), 1));
    });
}

#[test]
fn a_timed_send_wakes_when_room_appears() {
    let (mq, _g) = setup();
    fill(&mq);
    std::thread::scope(|s| {
        let w = s.spawn(|| mq.send_timeout(b"late", 7, Duration::from_secs(10)));
        mq.receive().unwrap();
        w.join().unwrap().unwrap();
    });
    assert_eq!(mq.receive().unwrap(), (b"late".to_vec(), 7));
}

// --- TestMessageQueueDestruction ------------------------------------------------------------

#[test]
fn after_unlink_and_close_reopening_is_existential() {
    let (mq, _g) = setup();
    let name = mq.name().to_owned();
    mq.unlink().unwrap();
    mq.close().unwrap();
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn an_unlinked_queue_works_until_closed() {
    let (mq, _g) = setup();
    mq.unlink().unwrap();
    mq.send(b"ghost", 1).unwrap();
    assert_eq!(mq.receive().unwrap().0, b"ghost");
    assert_eq!(mq.unlink().unwrap_err().kind(), ErrorKind::NotFound);
}

// --- TestMessageQueuePropertiesAndAttributes ------------------------------------------------

#[test]
fn name_mqd_and_fileno_properties() {
    let (mq, _g) = setup();
    assert!(mq.name().starts_with('/'));
    assert!(mq.mqd() >= 0);
    assert_eq!(mq.fileno(), mq.mqd());
    assert_eq!(mq.as_raw_fd(), mq.mqd());
    assert_eq!(mq.as_fd().as_raw_fd(), mq.mqd());
    // SAFETY: fcntl(F_GETFD) only inspects the descriptor table.
    let flags = unsafe { libc::fcntl(mq.mqd(), libc::F_GETFD) };
    assert!(flags & libc::FD_CLOEXEC != 0, "close-on-exec");
}

#[test]
fn max_messages_and_max_message_size_properties() {
    let (mq, _g) = setup();
    assert_eq!(mq.max_messages(), 10);
    assert_eq!(mq.max_message_size(), 10);
}

#[test]
fn current_messages_counts() {
    let (mq, _g) = setup();
    assert_eq!(mq.current_messages().unwrap(), 0);
    mq.send(b"", 0).unwrap();
    assert_eq!(mq.current_messages().unwrap(), 1);
    for _ in 0..3 {
        mq.send(b"", 0).unwrap();
    }
    for expected in [4, 3, 2, 1, 0] {
        assert_eq!(mq.current_messages().unwrap(), expected);
        if expected > 0 {
            mq.receive().unwrap();
        }
    }
}

#[test]
fn block_defaults_to_true_and_can_toggle() {
    let (mq, _g) = setup();
    assert!(mq.block().unwrap());
    mq.set_block(false).unwrap();
    assert!(!mq.block().unwrap());
    mq.set_block(true).unwrap();
    assert!(mq.block().unwrap());
}

#[test]
fn block_false_makes_every_timeout_return_at_once() {
    let (mq, _g) = setup();
    mq.set_block(false).unwrap();
    let start = Instant::now();
    let err = mq.receive_timeout(Duration::from_secs(10)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    let err = mq.receive().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    fill(&mq);
    let err = mq
        .send_timeout(b" ", 0, Duration::from_secs(10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(mq.send(b" ", 0).unwrap_err().is_busy());
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn block_is_per_descriptor() {
    let (mq, _g) = setup();
    let other = MessageQueue::open(mq.name()).unwrap();
    mq.set_block(false).unwrap();
    assert!(other.block().unwrap());
}

#[test]
fn o_nonblock_flag_starts_non_blocking() {
    let (mq, _g) = setup();
    let nb = MessageQueue::new(Some(mq.name()), O_NONBLOCK, 0o600, 0, 0, true, true).unwrap();
    assert!(!nb.block().unwrap());
    assert_eq!(nb.receive().unwrap_err().kind(), ErrorKind::WouldBlock);
}

// --- limits, sizes and names --------------------------------------------------------------------

#[test]
fn max_messages_above_msg_max_names_the_sysctl() {
    let Some(msg_max) = posix_ipc::limits::msg_max() else {
        return;
    };
    let (name, _g) = guarded(Kind::Mq, "mq-msgmax");
    let want = usize::try_from(msg_max).unwrap() + 1;
    match MessageQueue::create(&name, want, 8) {
        // CAP_SYS_RESOURCE lifts the limit: then the queue must really have `want` slots.
        Ok(mq) => assert_eq!(mq.max_messages(), want),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
            let text = err.to_string();
            assert!(text.contains("fs.mqueue.msg_max"), "{text}");
            assert!(text.contains(&format!("({msg_max})")), "{text}");
            assert!(
                text.contains(&format!("sysctl -w fs.mqueue.msg_max={want}")),
                "{text}"
            );
            assert!(text.contains(&name), "{text}");
        }
    }
}

#[test]
fn max_message_size_above_msgsize_max_names_the_sysctl() {
    let Some(max) = posix_ipc::limits::msgsize_max() else {
        return;
    };
    let (name, _g) = guarded(Kind::Mq, "mq-msgsizemax");
    let want = usize::try_from(max).unwrap() + 1;
    match MessageQueue::create(&name, 1, want) {
        Ok(mq) => assert_eq!(mq.max_message_size(), want),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
            assert!(err.to_string().contains("fs.mqueue.msgsize_max"), "{err}");
        }
    }
}

#[test]
fn zero_negative_and_hard_limit_sizes_are_refused_before_mq_open() {
    let (name, _g) = guarded(Kind::Mq, "mq-badsize");
    for (m, s) in [(0, 10), (10, 0), (-1, 10), (10, -5)] {
        let err = MessageQueue::new(Some(&name), O_CREX, 0o600, m, s, true, true).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{m} {s}: {err}");
    }
    let err = MessageQueue::create(&name, 65537, 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert!(err.to_string().contains("hard limit"), "{err}");
    let err = MessageQueue::create(&name, 1, usize::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        MessageQueue::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn default_sizes_come_from_the_running_system() {
    let (name, _g) = guarded(Kind::Mq, "mq-defaults");
    let mq = MessageQueue::options()
        .create_new(true)
        .max_message_size(16)
        .open(&name)
        .unwrap();
    assert_eq!(
        mq.max_messages() as i64,
        posix_ipc::limits::msg_default().unwrap_or(10)
    );
}

#[test]
fn malformed_names_are_refused_before_mq_open() {
    for bad in ["", "/", "//q", "/a/b", "/.", "/..", "/nul\0x"] {
        let err = MessageQueue::create(bad, 1, 8).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName, "{bad:?}: {err}");
        assert_eq!(err.errno(), None, "refused before any system call");
    }
    let long = format!("/{}", "q".repeat(256));
    let err = MessageQueue::create(&long, 1, 8).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidName);
    assert!(err.to_string().contains("at most 255"), "{err}");
}

#[test]
fn names_without_slash_and_at_the_length_limit_work() {
    let base = common::unique_name("mq");
    let body = format!("{}{}", &base[1..], "x".repeat(255 - (base.len() - 1)));
    assert_eq!(body.len(), 255);
    let g = guard(Kind::Mq, &body);
    let mq = MessageQueue::create(&body, 1, 8).unwrap();
    assert_eq!(mq.name(), format!("/{body}"));
    drop(mq);
    drop(g);
}

#[test]
fn utf8_names_work() {
    let name = format!("{}-résumé", common::unique_name("mq"));
    let _g = guard(Kind::Mq, &name);
    let mq = MessageQueue::create(&name, 1, 8).unwrap();
    mq.send("héllo".as_bytes(), 0).unwrap();
    assert_eq!(mq.receive().unwrap().0, "héllo".as_bytes());
}

#[test]
fn message_queue_handles_are_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MessageQueue>();
}
