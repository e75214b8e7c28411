//! Typed queue channels: `#[derive(IpcMessage)]` types over `Sender`/`Receiver`, with size
//! checks at open time and wrong-length messages handed back.

mod common;

use std::time::Duration;

use common::{guarded, Kind};
use posix_ipc::{ErrorKind, IpcMessage, MessageQueue, Receiver, Sender, Timeout};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
#[ipc(priority = 5)]
struct Reading {
    seq: u64,
    value: f64,
    sensor: u32,
    flags: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Small {
    x: u32,
}

fn reading(seq: u64) -> Reading {
    Reading {
        seq,
        value: seq as f64 * 0.5,
        sensor: 7,
        flags: 0,
    }
}

#[test]
fn derived_type_reports_priority_size_and_layout() {
    assert_eq!(Reading::PRIORITY, 5);
    assert_eq!(Reading::MAX_MESSAGE_SIZE, 8192);
    assert_eq!(Reading::LAYOUT.size, 24);
    assert_eq!(Reading::LAYOUT.name, "Reading");
    let offsets: Vec<_> = Reading::LAYOUT
        .fields
        .iter()
        .map(|f| (f.name, f.offset, f.size))
        .collect();
    assert_eq!(
        offsets,
        [
            ("seq", 0, 8),
            ("value", 8, 8),
            ("sensor", 16, 4),
            ("flags", 20, 4)
        ]
    );
    assert_eq!(Reading::python_format(), "<QdII");
    assert_ne!(Reading::FINGERPRINT, Small::FINGERPRINT);
}

#[test]
fn send_and_receive_typed_messages_with_the_type_priority() {
    let (name, _g) = guarded(Kind::Mq, "typed-basic");
    let tx = Sender::<Reading>::create(&name, 4).unwrap();
    assert_eq!(tx.queue().max_message_size(), 24);
    let rx = Receiver::<Reading>::open(&name).unwrap();
    tx.send(&reading(1)).unwrap();
    tx.send_priority(&reading(2), 9).unwrap();
    assert_eq!(rx.recv_with_priority().unwrap(), (reading(2), 9));
    assert_eq!(rx.recv_with_priority().unwrap(), (reading(1), 5));
    assert_eq!(rx.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    let err = rx.recv_timeout(Duration::from_millis(20)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
}

#[test]
fn priority_override_is_checked_at_run_time() {
    let (name, _g) = guarded(Kind::Mq, "typed-prio");
    let tx = Sender::<Reading>::create(&name, 2).unwrap();
    let err = tx.send_priority(&reading(1), 40_000).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("32767"), "{err}");
    assert_eq!(tx.queue().current_messages().unwrap(), 0);
}

#[test]
fn opening_a_queue_of_another_size_fails_at_open_time_naming_both_sizes() {
    let (name, _g) = guarded(Kind::Mq, "typed-mismatch");
    let _tx = Sender::<Reading>::create(&name, 2).unwrap();
    let err = Receiver::<Small>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
    let text = err.to_string();
    assert!(
        text.contains("24 bytes") && text.contains("Small is 4 bytes"),
        "{text}"
    );
    let err = Sender::<Small>::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch);
}

#[test]
fn a_message_of_the_wrong_length_is_handed_back_and_the_receiver_keeps_working() {
    let (name, _g) = guarded(Kind::Mq, "typed-wronglen");
    let rx = Receiver::<Reading>::create(&name, 4).unwrap();
    let raw = MessageQueue::open(&name).unwrap();
    raw.send(b"short", 3).unwrap();
    raw.send(&[], 2).unwrap();
    let tx = Sender::<Reading>::open(&name).unwrap();
    tx.send_priority(&reading(9), 1).unwrap();
    let err = rx.recv().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongLength);
    assert!(
        err.to_string().contains("5-byte message with priority 3"),
        "{err}"
    );
    let returned = err.into_returned().unwrap();
    assert_eq!(
        (returned.bytes.as_slice(), returned.priority),
        (&b"short"[..], 3)
    );
    let err = rx.recv().unwrap_err();
    assert_eq!(err.returned().unwrap().bytes.len(), 0);
    assert_eq!(rx.recv().unwrap(), reading(9), "still works afterwards");
}

#[test]
fn iterators_yield_messages() {
    let (name, _g) = guarded(Kind::Mq, "typed-iter");
    let tx = Sender::<Small>::create(&name, 8).unwrap();
    let rx = Receiver::<Small>::open(&name).unwrap();
    for x in 0..5 {
        tx.send(&Small { x }).unwrap();
    }
    let got: Vec<u32> = rx.try_iter().map(|m| m.unwrap().x).collect();
    assert_eq!(got, [0, 1, 2, 3, 4]);
    tx.send(&Small { x: 42 }).unwrap();
    let first = (&rx).into_iter().next().unwrap().unwrap();
    assert_eq!(first.x, 42);
}

#[test]
fn a_full_typed_queue_reports_busy_on_try_send() {
    let (name, _g) = guarded(Kind::Mq, "typed-full");
    let tx = Sender::<Small>::create(&name, 1).unwrap();
    tx.send(&Small { x: 1 }).unwrap();
    assert_eq!(
        tx.try_send(&Small { x: 2 }).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    let err = tx
        .send_with(
            &Small { x: 2 },
            0,
            Timeout::After(Duration::from_millis(20)),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
}

#[test]
fn open_or_create_makes_one_queue_for_both_ends() {
    let (name, _g) = guarded(Kind::Mq, "typed-ooc");
    let rx = Receiver::<Reading>::open_or_create(&name, 3).unwrap();
    let tx = Sender::<Reading>::open_or_create(&name, 3).unwrap();
    assert!(rx.queue().created() && !tx.queue().created());
    tx.send(&reading(3)).unwrap();
    assert_eq!(rx.recv().unwrap(), reading(3));
}

#[test]
fn a_type_larger_than_msgsize_max_fails_at_open_with_the_sysctl() {
    #[derive(Clone, Copy, IpcMessage)]
    #[repr(C)]
    #[ipc(max_message_size = 16384)]
    struct Big {
        payload: [u8; 12000],
    }
    let (name, _g) = guarded(Kind::Mq, "typed-big");
    match Sender::<Big>::create(&name, 1) {
        Ok(tx) => assert_eq!(tx.queue().max_message_size(), 12000),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::LimitExceeded);
            assert!(err.to_string().contains("fs.mqueue.msgsize_max"), "{err}");
        }
    }
}
