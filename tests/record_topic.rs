//! Topics whose types are given at run time (`RecordPublisher`, `RecordSubscriber`, what the
//! Python module and C peers use) are the same topics as the typed ends': each side receives what
//! the other publishes, byte for byte, the checks at open are the same, and a kept loan or
//! sample behaves as its guard does.

mod common;

use common::{guarded, Kind};
use posix_ipc::typed::LayoutDesc;
use posix_ipc::{
    ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher, RecordPublisher,
    RecordSubscriber, RecordType, SubscribeOptions, Subscriber, Timeout, TopicOptions,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    price: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Image {
    width: u32,
    height: u32,
    stamp: u64,
}

fn tick_type() -> RecordType {
    RecordType::of::<Tick>()
}

#[test]
fn a_record_publisher_feeds_a_typed_subscriber_and_stores_the_layout() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-records");
    let layout = LayoutDesc::from(&Tick::LAYOUT);
    let mut publisher =
        RecordPublisher::create(&name, &tick_type(), Some(&layout), &TopicOptions::new()).unwrap();
    let mut typed = Subscriber::<Tick>::open(&name).unwrap();
    let mut dynamic = RecordSubscriber::open(&name, &tick_type()).unwrap();
    assert_eq!(dynamic.layout(), Some(layout));
    assert_eq!(dynamic.max_len(), 16);
    assert!(!dynamic.is_frames());

    let value = Tick { seq: 3, price: 1.5 };
    publisher.send(bytemuck::bytes_of(&value)).unwrap();
    let mut loan = publisher.loan().unwrap();
    loan.copy_from_slice(bytemuck::bytes_of(&Tick { seq: 4, price: 2.5 }));
    loan.send();

    assert_eq!(typed.try_recv().unwrap(), value);
    assert_eq!(typed.try_recv().unwrap().seq, 4);
    let got = dynamic.recv_with(Timeout::Immediate).unwrap();
    assert_eq!((got.index(), &*got), (0, bytemuck::bytes_of(&value)));
    drop(got);
    let mut out = [0u8; 16];
    assert_eq!(
        dynamic
            .recv_copy_into(&mut out, Timeout::Immediate)
            .unwrap(),
        1
    );
    assert_eq!(bytemuck::from_bytes::<Tick>(&out).seq, 4);
}

#[test]
fn a_typed_publisher_feeds_a_record_subscriber_and_a_wrong_type_is_refused() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-typed");
    let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new()).unwrap();
    let wrong = RecordType::new("Tock", 16, Tick::FINGERPRINT ^ 1);
    let e = RecordSubscriber::open(&name, &wrong).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}");
    let e = RecordSubscriber::open_frames(&name, None, &SubscribeOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}");

    let mut sub = RecordSubscriber::open(&name, &tick_type()).unwrap();
    assert_eq!(sub.layout(), Some(LayoutDesc::from(&Tick::LAYOUT)));
    publisher.send(&Tick { seq: 9, price: 0.5 }).unwrap();
    let mut out = [0u8; 15];
    let e = sub
        .recv_copy_into(&mut out, Timeout::Immediate)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("16 bytes, not 15"), "{e}");
    sub.recv_with(Timeout::Immediate).unwrap().keep();
    let (index, header, bytes) = sub.held().expect("the sample is kept");
    assert_eq!((index, header.len()), (0, 0));
    assert_eq!(bytemuck::from_bytes::<Tick>(bytes).seq, 9);
    sub.release();
    assert!(sub.held().is_none());
}

#[test]
fn a_layout_that_is_not_the_record_type_is_refused_at_creation() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-badlayout");
    let layout = LayoutDesc::from(&Image::LAYOUT);
    let e = RecordPublisher::create(&name, &tick_type(), Some(&layout), &TopicOptions::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.to_string().contains("is not the record type's"), "{e}");
    assert_eq!(
        posix_ipc::SharedMemory::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn frames_with_a_run_time_header_are_the_typed_frame_topic() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-frames");
    let header = RecordType::of::<Image>();
    let layout = LayoutDesc::from(&Image::LAYOUT);
    let options = TopicOptions::new().capacity(4).policy(Policy::Overwrite);
    let mut publisher =
        RecordPublisher::create_frames(&name, 1000, Some(&header), Some(&layout), &options)
            .unwrap();
    assert_eq!((publisher.max_len(), publisher.header_len()), (1000, 16));
    assert_eq!(publisher.record_type(), Some(header.clone()));
    let mut typed = FrameSubscriber::<Image>::open_with_header(&name).unwrap();
    let mut dynamic =
        RecordSubscriber::open_frames(&name, Some(&header), &SubscribeOptions::new()).unwrap();
    assert_eq!(dynamic.layout(), Some(layout));
    let e = RecordSubscriber::open_frames(&name, None, &SubscribeOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}");

    let image = Image {
        width: 2,
        height: 3,
        stamp: 77,
    };
    publisher
        .send_with(
            b"abcdef",
            Some(bytemuck::bytes_of(&image)),
            Timeout::Immediate,
        )
        .unwrap();
    let mut loan = publisher.loan_with(10, false, Timeout::Immediate).unwrap();
    loan.header_mut()
        .copy_from_slice(bytemuck::bytes_of(&Image { stamp: 78, ..image }));
    loan.copy_from_slice(b"0123456789");
    loan.send_len(4);
    let e = publisher
        .send_with(&[0; 1001], None, Timeout::Immediate)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
    let e = publisher
        .send_with(b"x", Some(&[0; 3]), Timeout::Immediate)
        .unwrap_err();
    assert!(e.to_string().contains("is 16 bytes, not 3"), "{e}");

    let got = typed.recv_with(Timeout::Immediate).unwrap();
    assert_eq!((*got.header(), &*got), (image, &b"abcdef"[..]));
    drop(got);
    assert_eq!(&*typed.recv_with(Timeout::Immediate).unwrap(), b"0123");

    let got = dynamic.recv_with(Timeout::Immediate).unwrap();
    assert_eq!(got.header(), bytemuck::bytes_of(&image));
    assert_eq!(&*got, b"abcdef");
    drop(got);
    let mut head = [0u8; 16];
    let mut out = Vec::new();
    dynamic
        .recv_copy_frame(&mut head, &mut out, Timeout::Immediate)
        .unwrap();
    assert_eq!(
        (bytemuck::from_bytes::<Image>(&head).stamp, &out[..]),
        (78, &b"0123"[..])
    );
}

#[test]
fn a_typed_frame_publisher_feeds_a_run_time_frame_subscriber_without_a_header() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-plainframes");
    let mut publisher = FramePublisher::create(&name, 64, &TopicOptions::new()).unwrap();
    let mut sub = RecordSubscriber::open_frames(&name, None, &SubscribeOptions::new()).unwrap();
    assert!(sub.record_type().is_none());
    publisher.send(b"hello").unwrap();
    let got = sub.recv_with(Timeout::Immediate).unwrap();
    assert_eq!((got.header(), &*got), (&[][..], &b"hello"[..]));
}

#[test]
fn a_kept_loan_is_given_back_unsent_and_a_block_topic_does_not_wait_for_it() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-kept");
    let options = TopicOptions::new().capacity(2).policy(Policy::Block);
    let mut publisher = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    let mut sub = RecordSubscriber::open(&name, &tick_type()).unwrap();
    publisher.loan().unwrap().keep();
    publisher.loaned().unwrap().1[0] = 5;
    assert!(publisher.give_back_kept());
    assert!(!publisher.send_loaned(None), "nothing is loaned any more");
    assert_eq!(
        sub.recv_with(Timeout::Immediate).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    // A kept loan sent later is the sample.
    publisher.loan().unwrap().keep();
    publisher.loaned().unwrap().1[0] = 6;
    assert!(publisher.send_loaned(None));
    assert_eq!(sub.recv_with(Timeout::Immediate).unwrap()[0], 6);
    // Many loans given back do not use up the topic's buffers.
    for _ in 0..10 {
        publisher
            .loan_with(16, true, Timeout::Immediate)
            .unwrap()
            .keep();
        publisher.give_back_kept();
    }
    publisher
        .send_with(&[1; 16], None, Timeout::Immediate)
        .unwrap();
}

#[test]
fn a_kept_sample_holds_its_buffer_until_released() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-hold");
    let options = TopicOptions::new().capacity(2).policy(Policy::Overwrite);
    let mut publisher = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    let mut sub = RecordSubscriber::open(&name, &tick_type()).unwrap();
    publisher.send(&[1; 16]).unwrap();
    sub.recv_with(Timeout::Immediate).unwrap().keep();
    // The publisher goes on in other buffers while this one is held.
    for i in 2..40u8 {
        publisher.send(&[i; 16]).unwrap();
        assert_eq!(sub.held().unwrap().2, &[1; 16]);
    }
    sub.release();
    let e = sub.recv_with(Timeout::Immediate).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Lagged, "{e}");
}

#[test]
fn a_topic_is_created_with_the_permission_bits_asked_for() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-mode");
    let options = TopicOptions::new().mode(0o640);
    let publisher = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    assert_eq!(publisher.stat().unwrap().mode & 0o777, 0o640);
    let e = RecordPublisher::create(
        &name,
        &tick_type(),
        None,
        &TopicOptions::new().mode(0o10000),
    )
    .unwrap_err();
    assert!(e.to_string().contains("not permission bits"), "{e}");
}

#[test]
fn a_reported_gap_reaches_every_subscriber_as_lag_with_its_count() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-gap");
    let options = TopicOptions::new().capacity(8).policy(Policy::Block);
    let mut publisher = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    let mut typed = Subscriber::<Tick>::open(&name).unwrap();
    let mut dynamic = RecordSubscriber::open(&name, &tick_type()).unwrap();
    let mut frames = posix_ipc::AnySubscriber::open_with(&name, &SubscribeOptions::new()).unwrap();
    publisher
        .send(bytemuck::bytes_of(&Tick { seq: 1, price: 0.0 }))
        .unwrap();
    publisher.report_lost(5);
    publisher.report_lost(0);
    publisher
        .send(bytemuck::bytes_of(&Tick { seq: 7, price: 0.0 }))
        .unwrap();

    assert_eq!(typed.try_recv().unwrap().seq, 1);
    let e = typed.try_recv().unwrap_err();
    assert_eq!((e.kind(), e.missed()), (ErrorKind::Lagged, Some(5)), "{e}");
    assert!(
        e.to_string()
            .contains("lost before they reached this topic"),
        "{e}"
    );
    assert_eq!(typed.try_recv().unwrap().seq, 7, "a gap of 0 is no lag");

    let mut out = [0u8; 16];
    dynamic
        .recv_copy_into(&mut out, Timeout::Immediate)
        .unwrap();
    let e = dynamic.recv_with(Timeout::Immediate).unwrap_err();
    assert_eq!(e.missed(), Some(5));
    assert_eq!(
        &dynamic.recv_with(Timeout::Immediate).unwrap()[..8],
        &7u64.to_ne_bytes()
    );

    let mut buf = Vec::new();
    frames.recv_into(&mut buf, Timeout::Immediate).unwrap();
    assert_eq!(
        frames
            .recv_into(&mut buf, Timeout::Immediate)
            .unwrap_err()
            .missed(),
        Some(5)
    );
    // A subscriber joining after the gap is not told of it.
    let mut late = Subscriber::<Tick>::open(&name).unwrap();
    publisher
        .send(bytemuck::bytes_of(&Tick { seq: 8, price: 0.0 }))
        .unwrap();
    assert_eq!(late.try_recv().unwrap().seq, 8);
}

#[test]
fn every_sample_carries_its_publication_time_and_a_bridge_can_set_it() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-time");
    let mut publisher =
        RecordPublisher::create(&name, &tick_type(), None, &TopicOptions::new()).unwrap();
    let mut typed = Subscriber::<Tick>::open(&name).unwrap();
    let mut any = posix_ipc::AnySubscriber::open_with(&name, &SubscribeOptions::new()).unwrap();
    let before = posix_ipc::now_ns();
    publisher.send(&[1; 16]).unwrap();
    let after = posix_ipc::now_ns();
    publisher.loan().unwrap().keep();
    assert!(publisher.send_loaned_at(None, 12_345));

    let first = typed.recv_with(Timeout::Immediate).unwrap();
    assert!(
        (before..=after).contains(&first.published_ns()),
        "{}",
        first.published_ns()
    );
    drop(first);
    assert_eq!(
        typed.recv_with(Timeout::Immediate).unwrap().published_ns(),
        12_345
    );
    let mut buf = Vec::new();
    let a = any.recv_into(&mut buf, Timeout::Immediate).unwrap();
    let b = any.recv_into(&mut buf, Timeout::Immediate).unwrap();
    assert!((before..=after).contains(&a.published_ns));
    assert_eq!(b.published_ns, 12_345);
}

#[test]
fn a_subscriber_that_does_not_follow_receives_the_next_publisher_after_one_disconnection() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-reopen");
    let options = TopicOptions::new().capacity(4).policy(Policy::Block);
    let first = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    let mut sub = RecordSubscriber::open(&name, &tick_type()).unwrap();
    drop(first);
    let mut second = RecordPublisher::open(&name, &tick_type()).unwrap();
    assert_eq!(second.generation(), 2);
    second
        .send_with(&[2; 16], None, Timeout::Immediate)
        .unwrap();
    let mut out = [0u8; 16];
    let mut disconnected = 0;
    let got = loop {
        match sub.recv_copy_into(&mut out, Timeout::Immediate) {
            Ok(_) => break out,
            Err(e) if e.kind() == ErrorKind::Disconnected => disconnected += 1,
            Err(e) => panic!("{e}"),
        }
        assert!(disconnected < 3, "Disconnected more than once");
    };
    assert_eq!((got, disconnected), ([2; 16], 1));
}

#[test]
fn an_any_subscriber_reads_in_place_the_header_and_the_frame_bytes() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-inplace");
    let header = RecordType::of::<Image>();
    let options = TopicOptions::new().capacity(2).policy(Policy::Block);
    let mut publisher =
        RecordPublisher::create_frames(&name, 100, Some(&header), None, &options).unwrap();
    let mut any = posix_ipc::AnySubscriber::open_with(&name, &SubscribeOptions::new()).unwrap();
    let image = Image {
        width: 4,
        height: 5,
        stamp: 6,
    };
    for i in 0..5u8 {
        publisher
            .send_with(
                &[i; 7][..3 + i as usize],
                Some(bytemuck::bytes_of(&image)),
                Timeout::Immediate,
            )
            .unwrap();
        let (index, head, bytes) = any
            .recv_in_place(Timeout::Immediate, |s, h, b| {
                (s.index, h.to_vec(), b.to_vec())
            })
            .unwrap();
        // The header without the padding after it, then exactly the frame's bytes.
        assert_eq!(
            (index, &head[..], &bytes[..]),
            (
                u64::from(i),
                bytemuck::bytes_of(&image),
                &[i; 7][..3 + i as usize]
            )
        );
    }
    // Nothing more to read; a sample published later is read as the others.
    let e = any
        .recv_in_place(Timeout::Immediate, |_, _, _| ())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WouldBlock, "{e}");
    publisher
        .send_with(b"x", Some(bytemuck::bytes_of(&image)), Timeout::Immediate)
        .unwrap();
    let last = any.recv_in_place(Timeout::Immediate, |s, _, b| (s.index, b.to_vec()));
    assert_eq!(last.unwrap(), (5, b"x".to_vec()));

    // Records: no header, the whole record.
    let (rname, _rcleanup) = guarded(Kind::Shm, "rtopic-inplace-rec");
    let mut records = RecordPublisher::create(&rname, &tick_type(), None, &options).unwrap();
    let mut any = posix_ipc::AnySubscriber::open_with(&rname, &SubscribeOptions::new()).unwrap();
    records.send(&[9; 16]).unwrap();
    let got = any
        .recv_in_place(Timeout::Immediate, |s, h, b| (s.len, h.len(), b.to_vec()))
        .unwrap();
    assert_eq!(got, (16, 0, vec![9; 16]));
}

#[test]
fn a_subscriber_that_does_not_spin_sleeps_and_is_woken_by_the_next_sample() {
    let (name, _cleanup) = guarded(Kind::Shm, "rtopic-nospin");
    let options = TopicOptions::new().capacity(4).policy(Policy::Block);
    let mut publisher = RecordPublisher::create(&name, &tick_type(), None, &options).unwrap();
    let mut sub =
        RecordSubscriber::open_with(&name, &tick_type(), &SubscribeOptions::new().spin(false))
            .unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        for _ in 0..3 {
            ready_tx.send(()).unwrap();
            let sample = sub.recv_with(Timeout::from(std::time::Duration::from_secs(30)));
            got.push(sample.map(|s| s.to_vec()).unwrap());
        }
        got
    });
    for i in 1..=3u8 {
        // Sent once the reader is about to wait (or waiting) for it.
        ready_rx.recv().unwrap();
        publisher.send(&[i; 16]).unwrap();
    }
    assert_eq!(
        reader.join().unwrap(),
        vec![vec![1; 16], vec![2; 16], vec![3; 16]]
    );
}
