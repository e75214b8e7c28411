//! Publish-subscribe over shared memory (issue 14): broadcast to subscriber processes in both
//! policies, exact lag counts, killed and stopped subscribers, a killed publisher, frames from
//! 1 byte to 64 MiB checked byte by byte, cancellation, late joiners and history, and bad
//! inputs, each with a clear error and nothing left behind.
//!
//! The SIGKILL/SIGSTOP scenarios run `POSIX_IPC_FAULT_ITERATIONS` (default 100) times and print
//! one summary line each (uncaptured).

mod common;

use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{
    CancelToken, ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher,
    SharedMemory, Subscriber, TopicOptions,
};

/// A 64-byte sample whose every word is derived from its sequence number, so a reader can tell
/// a torn or stale sample from a good one.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    words: [u64; 7],
}

impl Tick {
    fn new(seq: u64) -> Tick {
        let mut words = [0u64; 7];
        for (j, w) in words.iter_mut().enumerate() {
            *w = seq
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(j as u32 * 9)
                ^ j as u64;
        }
        Tick { seq, words }
    }

    fn intact(&self) -> bool {
        *self == Tick::new(self.seq)
    }
}

/// A typed frame header (24 bytes: the frame's bytes start 64 bytes into the buffer).
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Image {
    seq: u64,
    len: u64,
    check: u64,
}

impl Image {
    fn of(seq: u64, len: usize) -> Image {
        Image {
            seq,
            len: len as u64,
            check: seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ len as u64,
        }
    }
}

/// A 72-byte header: the frame's bytes start 128 bytes into the buffer.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Wide {
    words: [u64; 9],
}

/// Another type of the same size.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other {
    a: [u32; 16],
}

const WAIT: Duration = Duration::from_secs(30);

/// The byte at `i` of test frame `seq`.
fn frame_byte(seq: u64, i: usize) -> u8 {
    (i as u64 ^ (i as u64 >> 8) ^ seq.wrapping_mul(131)) as u8
}

fn fill_frame(buf: &mut [u8], seq: u64) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = frame_byte(seq, i);
    }
}

fn frame_ok(buf: &[u8], seq: u64) -> bool {
    buf.iter()
        .enumerate()
        .all(|(i, &b)| b == frame_byte(seq, i))
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let name = &args[0];
    match role.as_str() {
        // Receives every sample until Disconnected; reports received, lost, duplicated, torn.
        "count" => {
            let mut sub = Subscriber::<Tick>::open(name).unwrap();
            println!("joined");
            let (mut next, mut got, mut lost, mut dup, mut torn) = (0u64, 0u64, 0u64, 0u64, 0u64);
            loop {
                match sub.recv() {
                    Ok(s) => {
                        if !s.intact() {
                            torn += 1;
                        }
                        if s.seq < next {
                            dup += 1;
                        } else {
                            lost += s.seq - next;
                            next = s.seq + 1;
                        }
                        got += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::Disconnected => break,
                    Err(e) => panic!("{e}"),
                }
            }
            println!("result {got} {lost} {dup} {torn}");
        }
        // Takes one sample, holds it, and waits to be killed or stopped; after SIGCONT, drops
        // it and checks that what follows is exact: Lagged with the right count, or in order.
        "hold" => {
            let mut sub = Subscriber::<Tick>::open(name).unwrap();
            println!("joined");
            let first = {
                let s = sub.recv().unwrap();
                assert!(s.intact());
                println!("holding {}", s.seq);
                // The parent stops or kills us here; "go" on stdin after SIGCONT.
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).unwrap();
                assert!(s.intact(), "a held sample changed under its guard");
                s.seq
            };
            let mut expect = first + 1;
            let mut missed = 0;
            loop {
                match sub.recv_timeout(WAIT) {
                    Ok(s) => {
                        assert!(s.intact());
                        assert_eq!(s.seq, expect, "after {missed} missed");
                        expect += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::Lagged => {
                        let m = e.missed().unwrap();
                        missed += m;
                        expect += m;
                    }
                    Err(e) if e.kind() == ErrorKind::Disconnected => break,
                    Err(e) => panic!("{e}"),
                }
            }
            println!("after {} missed {missed}", expect);
        }
        // Publishes `n` samples, then loans one, writes half of it and waits to be killed.
        "publish-then-die" => {
            let n: u64 = args[1].parse().unwrap();
            let mut publisher = Publisher::<Tick>::open(name).unwrap();
            let base = publisher.published();
            for seq in base..base + n {
                publisher.send(&Tick::new(seq)).unwrap();
            }
            let mut loan = publisher.loan().unwrap();
            let half = Tick::new(base + n);
            loan.seq = half.seq;
            loan.words[..3].copy_from_slice(&half.words[..3]);
            println!("mid-write");
            loop {
                std::thread::park();
            }
        }
        // Receives `count` frames of the sizes given and checks every byte.
        "frames" => {
            let sizes: Vec<usize> = args[1].split(',').map(|s| s.parse().unwrap()).collect();
            let mut sub = FrameSubscriber::open(name).unwrap();
            println!("joined");
            for (seq, &len) in sizes.iter().enumerate() {
                let f = sub.recv_timeout(WAIT).unwrap();
                assert_eq!(f.len(), len, "frame {seq}");
                assert!(
                    frame_ok(&f, seq as u64),
                    "frame {seq} of {len} bytes differs"
                );
            }
            println!("checked {}", sizes.len());
        }
        // As "frames", each frame with an `Image` header that must match it.
        "header-frames" => {
            let sizes: Vec<usize> = args[1].split(',').map(|s| s.parse().unwrap()).collect();
            let mut sub = FrameSubscriber::<Image>::open_with_header(name).unwrap();
            println!("joined");
            for (seq, &len) in sizes.iter().enumerate() {
                let f = sub.recv_timeout(WAIT).unwrap();
                assert_eq!(
                    *f.header(),
                    Image::of(seq as u64, len),
                    "header of frame {seq}"
                );
                assert_eq!(f.len(), len, "frame {seq}");
                assert!(
                    frame_ok(&f, seq as u64),
                    "frame {seq} of {len} bytes differs"
                );
            }
            println!("checked {}", sizes.len());
        }
        other => panic!("unknown child role {other}"),
    }
}

/// Reads lines from a child's stdout until one starting with `prefix`; returns it.
fn read_until(out: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before {prefix:?}"
        );
        if let Some(at) = line.find(prefix) {
            return line[at..].trim_end().to_string();
        }
    }
}

fn topic(tag: &str) -> (String, common::Cleanup) {
    guarded(Kind::Shm, tag)
}

#[test]
fn every_subscriber_gets_every_sample_in_order_and_copies_match_guards() {
    let (name, _g) = topic("ps-basic");
    let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(8)).unwrap();
    let mut subs: Vec<_> = (0..3)
        .map(|_| Subscriber::<Tick>::open(&name).unwrap())
        .collect();
    assert_eq!(publisher.subscribers(), 3);
    for seq in 0..100u64 {
        if seq % 2 == 0 {
            let mut loan = publisher.loan().unwrap();
            assert_eq!(
                *loan,
                Tick {
                    seq: 0,
                    words: [0; 7]
                },
                "a loan starts zeroed"
            );
            *loan = Tick::new(seq);
            loan.send();
        } else {
            publisher.send(&Tick::new(seq)).unwrap();
        }
        for sub in &mut subs {
            if seq % 3 == 0 {
                assert_eq!(sub.try_recv().unwrap(), Tick::new(seq));
            } else {
                let s = sub.recv().unwrap();
                assert_eq!((s.index(), *s), (seq, Tick::new(seq)));
            }
        }
    }
    for sub in &mut subs {
        assert_eq!(sub.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    }
    assert_eq!(publisher.published(), 100);
}

/// A subscriber enters the subscriber table a moment before it places its cursor at the tail
/// (the documented joining steps); a sample published in that moment is not its to read. So
/// `subscribers()` counts it only once its cursor is placed: a publisher that waits for
/// `subscribers()` before publishing then loses nothing (counting table entries made a
/// subscriber in another process miss the first sample under load). The half-joined
/// subscriber is made by hand, following the layout in the `typed::pubsub` docs.
#[test]
fn a_subscriber_counts_once_it_has_joined_not_when_it_enters_the_table() {
    const SUBSCRIBERS: usize = 512 + 32 * 32; // after the publisher table
    const CURSORS: usize = 4096;
    let (name, _g) = topic("ps-half-joined");
    let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(4)).unwrap();
    let map = SharedMemory::open(&name).unwrap().map().unwrap();
    let pid = std::process::id();
    // Step 1 of joining: an entry in the subscriber table (pid; start time 0: not checked).
    map.write_at(SUBSCRIBERS, &pid.to_ne_bytes()).unwrap();
    assert_eq!(publisher.subscribers(), 0, "in the table, no cursor yet");
    publisher.send(&Tick::new(0)).unwrap(); // not this subscriber's to read, nor to wait for
                                            // Step 2: the cursor at the tail (stored as index + 1).
    map.write_at(CURSORS, &(publisher.published() + 1).to_ne_bytes())
        .unwrap();
    assert_eq!(publisher.subscribers(), 1, "joined");
    // A real subscriber counts at once: its open returns after both steps.
    let _sub = Subscriber::<Tick>::open(&name).unwrap();
    assert_eq!(publisher.subscribers(), 2);
    // Leaving: cursor first, then the table entry.
    map.write_at(CURSORS, &0u64.to_ne_bytes()).unwrap();
    assert_eq!(publisher.subscribers(), 1, "left");
    map.write_at(SUBSCRIBERS, &0u32.to_ne_bytes()).unwrap();
}

#[test]
fn block_broadcast_to_four_processes_loses_duplicates_and_tears_nothing() {
    let n: u64 = std::env::var("POSIX_IPC_PUBSUB_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (name, _g) = topic("ps-four");
    let mut publisher =
        Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(256)).unwrap();
    let mut children: Vec<_> = (0..4)
        .map(|_| common::spawn_child("child_entry", "count", &[&name]))
        .collect();
    for c in &mut children {
        common::wait_line(c, "joined");
    }
    let started = Instant::now();
    for seq in 0..n {
        let mut loan = publisher.loan().unwrap();
        *loan = Tick::new(seq);
        loan.send();
    }
    drop(publisher);
    for c in children {
        let out = common::expect_success(c, "subscriber");
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .find_map(|l| l.split("result ").nth(1))
            .unwrap();
        assert_eq!(line, format!("{n} 0 0 0"), "received lost duplicated torn");
    }
    common::say(&format!(
        "pubsub block: {n} samples to each of 4 subscriber processes in {:.2?}: 0 lost, 0 \
         duplicated, 0 torn",
        started.elapsed()
    ));
}

#[test]
fn overwrite_lag_counts_add_up_exactly_and_nothing_is_torn() {
    let (name, _g) = topic("ps-lag");
    let opts = TopicOptions::new().capacity(8).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Tick>::create(&name, &opts).unwrap();
    let mut slow = Subscriber::<Tick>::open(&name).unwrap();
    let n = 200_000u64;
    let reader = std::thread::spawn(move || {
        let (mut expect, mut got, mut missed, mut lags) = (0u64, 0u64, 0u64, 0u64);
        loop {
            // Every other receive is a copy (a seqlock read racing the publisher), the others
            // in place (under a hold).
            if got % 2 == 1 {
                match slow.recv_copy_with(WAIT) {
                    Ok(s) => {
                        assert!(s.intact(), "torn copy {}", s.seq);
                        assert_eq!(s.seq, expect);
                        expect += 1;
                        got += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::Lagged => {
                        missed += e.missed().unwrap();
                        expect += e.missed().unwrap();
                        lags += 1;
                    }
                    Err(e) if e.kind() == ErrorKind::Disconnected => break,
                    Err(e) => panic!("{e}"),
                }
                continue;
            }
            match slow.recv_timeout(WAIT) {
                Ok(s) => {
                    assert!(s.intact(), "torn sample {}", s.seq);
                    assert_eq!(s.seq, expect);
                    expect += 1;
                    got += 1;
                    // Deliberately slow: touch the sample for a while every few samples.
                    if got % 4 == 0 {
                        for _ in 0..200 {
                            std::hint::black_box(s.words);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::Lagged => {
                    let m = e.missed().unwrap();
                    assert!(m > 0);
                    missed += m;
                    expect += m;
                    lags += 1;
                }
                Err(e) if e.kind() == ErrorKind::Disconnected => break,
                Err(e) => panic!("{e}"),
            }
        }
        (got, missed, lags)
    });
    for seq in 0..n {
        publisher.send(&Tick::new(seq)).unwrap();
    }
    drop(publisher);
    let (got, missed, lags) = reader.join().unwrap();
    assert_eq!(got + missed, n, "received {got} + missed {missed}");
    assert!(
        lags > 0,
        "the slow subscriber never lagged: the test proves nothing"
    );
    common::say(&format!(
        "pubsub overwrite: {n} published, slow subscriber received {got}, missed {missed} in \
         {lags} lags: exact"
    ));
}

#[test]
fn a_killed_subscriber_holding_a_sample_holds_the_publisher_back_only_briefly() {
    let (name, _g) = topic("ps-kill-sub");
    // One subscriber at a time: the buffer a killed one held must come back, or the second
    // iteration runs out of buffers.
    let opts = TopicOptions::new().capacity(4).max_subscribers(1);
    let mut publisher = Publisher::<Tick>::create(&name, &opts).unwrap();
    let iterations = common::iterations();
    let mut worst = Duration::ZERO;
    for _ in 0..iterations {
        let mut child = common::spawn_child_with_stdin("child_entry", "hold", &[&name]);
        common::wait_line(&mut child, "joined");
        let seq = publisher.published();
        publisher.send(&Tick::new(seq)).unwrap();
        common::wait_line(&mut child, &format!("holding {seq}"));
        child.kill().unwrap();
        let _ = child.wait();
        // The dead subscriber's cursor is at most capacity behind: filling past it must not
        // block for long.
        let t = Instant::now();
        for _ in 0..12 {
            let seq = publisher.published();
            publisher
                .send_with(&Tick::new(seq), Duration::from_secs(10))
                .unwrap();
        }
        worst = worst.max(t.elapsed());
        assert_eq!(publisher.subscribers(), 0);
    }
    common::say(&format!(
        "pubsub SIGKILL subscriber mid-read: {iterations} iterations, publisher blocked at most \
         {worst:.2?}, every held buffer came back"
    ));
}

#[test]
fn a_stopped_subscriber_is_skipped_after_the_stall_timeout_and_then_counts_its_loss() {
    use std::io::Write;
    let (name, _g) = topic("ps-stop-sub");
    let stall = Duration::from_millis(20);
    let opts = TopicOptions::new().capacity(4).stall_timeout(stall);
    let mut publisher = Some(Publisher::<Tick>::create(&name, &opts).unwrap());
    let iterations = common::iterations();
    let mut worst = Duration::ZERO;
    for _ in 0..iterations {
        let p = publisher.as_mut().unwrap();
        let mut child = common::spawn_child_with_stdin("child_entry", "hold", &[&name]);
        common::wait_line(&mut child, "joined");
        let first = p.published();
        p.send(&Tick::new(first)).unwrap();
        common::wait_line(&mut child, &format!("holding {first}"));
        let pid = child.id() as i32;
        // SAFETY: kill sends a signal to our own child; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        let t = Instant::now();
        for _ in 0..12 {
            let seq = p.published();
            p.send_with(&Tick::new(seq), Duration::from_secs(10))
                .unwrap();
        }
        worst = worst.max(t.elapsed());
        let last = p.published();
        // SAFETY: as above.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        // Without a publisher the child drains and sees Disconnected.
        drop(publisher.take());
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let line = read_until(&mut out, "after ");
        // The child saw every sample after the one it held, or an exact Lagged for them.
        assert!(line.starts_with(&format!("after {last} missed ")), "{line}");
        let missed: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(
            missed > 0,
            "a 4-sample topic moved 12 on: something was missed"
        );
        assert!(child.wait().unwrap().success());
        publisher = Some(Publisher::<Tick>::open(&name).unwrap());
    }
    common::say(&format!(
        "pubsub SIGSTOP subscriber mid-read: {iterations} iterations, stall timeout {stall:?}, \
         publisher blocked at most {worst:.2?}, the resumed subscriber's loss counted exactly"
    ));
}

#[test]
fn a_publisher_killed_mid_write_leaves_whole_samples_then_disconnected() {
    let (name, _g) = topic("ps-kill-pub");
    drop(Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(8)).unwrap());
    let mut sub = Subscriber::<Tick>::open(&name).unwrap();
    let iterations = common::iterations();
    let mut expect = 0u64;
    for _ in 0..iterations {
        let mut child = common::spawn_child("child_entry", "publish-then-die", &[&name, "3"]);
        common::wait_line(&mut child, "mid-write");
        child.kill().unwrap();
        let _ = child.wait();
        for _ in 0..3 {
            let s = sub.recv_timeout(WAIT).unwrap();
            assert!(s.intact());
            assert_eq!(s.seq, expect);
            expect += 1;
        }
        let e = sub.recv_timeout(WAIT).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
        assert!(e.to_string().contains("publisher has gone"), "{e}");
    }
    common::say(&format!(
        "pubsub SIGKILL publisher mid-write: {iterations} iterations, every whole sample \
         received, the half-written one never, then Disconnected"
    ));
}

#[test]
fn a_polling_subscriber_notices_a_killed_publisher_promptly() {
    let (name, _g) = topic("ps-poll-kill");
    drop(Publisher::<Tick>::create(&name, &TopicOptions::new()).unwrap());
    let mut sub = Subscriber::<Tick>::open(&name).unwrap();
    let mut child = common::spawn_child("child_entry", "publish-then-die", &[&name, "2"]);
    common::wait_line(&mut child, "mid-write");
    // While the publisher lives, an empty poll says WouldBlock.
    assert_eq!(sub.try_recv().unwrap().seq, 0);
    assert_eq!(sub.try_recv().unwrap().seq, 1);
    assert_eq!(sub.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    child.kill().unwrap();
    let _ = child.wait();
    let t = Instant::now();
    let e = loop {
        match sub.try_recv() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(t.elapsed() < WAIT, "the poll never noticed");
                std::hint::spin_loop();
            }
            other => break other.unwrap_err(),
        }
    };
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    common::say(&format!(
        "pubsub: a polling subscriber saw its killed publisher as Disconnected {:.2?} after the kill",
        t.elapsed()
    ));
}

#[test]
fn frames_from_one_byte_to_64_mib_arrive_byte_for_byte_in_another_process() {
    let (name, _g) = topic("ps-frames");
    let max = 64 << 20;
    let opts = TopicOptions::new().capacity(2).max_subscribers(1);
    let mut publisher = FramePublisher::create(&name, max, &opts).unwrap();
    let sizes = [1usize, 4096, 1 << 20, 64 << 20, 1, 3, 64 << 20];
    let list = sizes.map(|s| s.to_string()).join(",");
    let mut child = common::spawn_child("child_entry", "frames", &[&name, &list]);
    common::wait_line(&mut child, "joined");
    for (seq, &len) in sizes.iter().enumerate() {
        let mut loan = publisher.loan_uninit(len).unwrap();
        let bytes = loan.as_uninit();
        for (i, b) in bytes.iter_mut().enumerate() {
            b.write(frame_byte(seq as u64, i));
        }
        // SAFETY: every byte was written just above.
        unsafe { loan.assume_init() }.send();
    }
    let out = common::expect_success(child, "frame subscriber");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("checked {}", sizes.len())));
    // In-process too, through loan() (zeroed), send() (copied) and recv_into.
    let mut sub = FrameSubscriber::open_checked(&name, max).unwrap();
    let mut f = publisher.loan(5000).unwrap();
    assert!(f.iter().all(|&b| b == 0), "a frame loan starts zeroed");
    fill_frame(&mut f, 9);
    f.send();
    let mut copy = vec![0u8; 1 << 20];
    fill_frame(&mut copy, 10);
    publisher.send(&copy).unwrap();
    assert!(frame_ok(&sub.recv().unwrap(), 9));
    let mut out = Vec::new();
    assert_eq!(sub.recv_into(&mut out, WAIT).unwrap(), 1 << 20);
    assert!(frame_ok(&out, 10));
}

#[test]
fn frames_with_a_typed_header_arrive_whole_and_the_header_type_is_checked() {
    let (name, _g) = topic("ps-header");
    let max = 1 << 20;
    let opts = TopicOptions::new().capacity(2).max_subscribers(2);
    let mut publisher = FramePublisher::<Image>::create_with_header(&name, max, &opts).unwrap();
    assert_eq!(publisher.max_frame_len(), max);
    // In another process, in place: header and bytes of frames of 1 B, 4 KiB and 1 MiB (the
    // maximum).
    let sizes = [1usize, 4096, 1 << 20, 3, 1 << 20];
    let list = sizes.map(|s| s.to_string()).join(",");
    let mut child = common::spawn_child("child_entry", "header-frames", &[&name, &list]);
    common::wait_line(&mut child, "joined");
    for (seq, &len) in sizes.iter().enumerate() {
        let mut loan = publisher.loan_uninit(len).unwrap();
        assert_eq!(
            *loan.header_mut(),
            Image::of(0, 0),
            "a loan's header starts zeroed"
        );
        *loan.header_mut() = Image::of(seq as u64, len);
        for (i, b) in loan.as_uninit().iter_mut().enumerate() {
            b.write(frame_byte(seq as u64, i));
        }
        // SAFETY: every byte of the frame was written just above.
        unsafe { loan.assume_init() }.send();
    }
    let out = common::expect_success(child, "header frame subscriber");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("checked {}", sizes.len())));

    // In process: a zeroed loan (header too, although its buffer held a header before),
    // truncate, copies in and out.
    let mut sub = FrameSubscriber::<Image>::open_with_header(&name).unwrap();
    assert_eq!(sub.max_frame_len(), max);
    for round in 0..4u64 {
        let mut f = publisher.loan(5000).unwrap();
        assert_eq!(
            *f.header(),
            Image::of(0, 0),
            "round {round}: header not zeroed"
        );
        assert!(f.iter().all(|&b| b == 0), "round {round}: frame not zeroed");
        *f.header_mut() = Image::of(round, 4000);
        fill_frame(&mut f, round);
        f.truncate(usize::MAX);
        assert_eq!(f.len(), 5000, "truncating to more is no change");
        f.truncate(4000);
        assert_eq!(f.len(), 4000);
        f.send();
        let got = sub.recv().unwrap();
        assert_eq!(*got.header(), Image::of(round, 4000));
        assert_eq!(got.len(), 4000);
        assert!(frame_ok(&got, round));
    }
    let mut copy = vec![0u8; 777];
    fill_frame(&mut copy, 7);
    publisher
        .send_with_header(&Image::of(7, 777), &copy)
        .unwrap();
    let (header, bytes) = sub.try_recv_with_header().unwrap();
    assert_eq!((header, bytes.len()), (Image::of(7, 777), 777));
    assert!(frame_ok(&bytes, 7));
    let mut big = vec![0u8; max];
    fill_frame(&mut big, 8);
    publisher
        .send_with_header(&Image::of(8, max), &big)
        .unwrap();
    let mut out = vec![1u8; 10];
    let header = sub.recv_into_with_header(&mut out, WAIT).unwrap();
    assert_eq!((header, out.len()), (Image::of(8, max), max));
    assert!(frame_ok(&out, 8));
    // Too long a frame, with the header: the maximum is the frame's alone.
    let e = publisher
        .send_with_header(&Image::of(9, 0), &vec![0u8; max + 1])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge, "{e}");
    assert!(e.to_string().contains(&max.to_string()), "{e}");
    assert_eq!(
        sub.try_recv_with_header().unwrap_err().kind(),
        ErrorKind::WouldBlock
    );

    // Opened without its header, with another one, or as records: Mismatch naming what to do.
    let e = FrameSubscriber::open(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(
        e.to_string().contains("Image header") && e.to_string().contains("open_with_header"),
        "{e}"
    );
    let e = FramePublisher::open(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}");
    let e = FrameSubscriber::<Other>::open_with_header(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(
        e.to_string().contains("Other") && e.to_string().contains("fingerprint"),
        "{e}"
    );
    let e = Subscriber::<Image>::open(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch, "{e}");
    assert!(
        e.to_string()
            .contains(&format!("up to {max} bytes with a 24-byte Image header")),
        "{e}"
    );
    // A second publisher while this one lives; then one with the header after it is gone.
    let e = FramePublisher::<Image>::open_with_header(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    drop(publisher);
    let mut again = FramePublisher::<Image>::open_with_header(&name).unwrap();
    again
        .send_with_header(&Image::of(1, 1), &[frame_byte(1, 0)])
        .unwrap();
    // The subscriber is told its publisher went before it gets the new one's frames.
    let e = sub.try_recv_with_header().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    let (header, bytes) = sub.try_recv_with_header().unwrap();
    assert_eq!((header, bytes.len()), (Image::of(1, 1), 1));

    // A plain frame topic opened with a header.
    let (plain, _g2) = topic("ps-header-plain");
    let _p = FramePublisher::create(&plain, 100, &TopicOptions::new()).unwrap();
    let e = FrameSubscriber::<Image>::open_with_header(&plain).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("no header"), "{e}");

    // A zero frame length and a header and frame over 1 GiB: InvalidArgument, nothing made.
    for (len, word) in [
        (0, "is 0"),
        (
            posix_ipc::typed::FRAME_LEN_MAX,
            "after a 24-byte Image header",
        ),
    ] {
        let (n, _g3) = topic("ps-header-bad");
        let e =
            FramePublisher::<Image>::create_with_header(&n, len, &TopicOptions::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains(word), "{e}");
        assert_eq!(
            SharedMemory::open(&n).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

#[test]
fn a_header_past_64_bytes_and_a_dishonest_short_length_are_handled() {
    // A 72-byte header puts the frame at 128: in place and copied, header and bytes intact.
    let (name, _g) = topic("ps-header-wide");
    let opts = TopicOptions::new().capacity(2).max_subscribers(1);
    let mut publisher = FramePublisher::<Wide>::create_with_header(&name, 300, &opts).unwrap();
    let mut sub = FrameSubscriber::<Wide>::open_checked_with_header(&name, 300).unwrap();
    let wide = |seq: u64| Wide {
        words: std::array::from_fn(|i| seq * 100 + i as u64),
    };
    let mut f = publisher.loan(300).unwrap();
    *f.header_mut() = wide(1);
    fill_frame(&mut f, 1);
    f.send();
    let got = sub.recv().unwrap();
    assert_eq!((*got.header(), got.len()), (wide(1), 300));
    assert!(frame_ok(&got, 1));
    drop(got);
    let mut bytes = vec![0u8; 300];
    fill_frame(&mut bytes, 2);
    publisher.send_with_header(&wide(2), &bytes[..299]).unwrap();
    let (header, copy) = sub.try_recv_with_header().unwrap();
    assert_eq!((header, copy.len()), (wide(2), 299));
    assert!(frame_ok(&copy, 2));
    let e = FrameSubscriber::<Wide>::open_checked_with_header(&name, 301).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("at most 300 bytes"), "{e}");

    // An entry length shorter than the header, as a dishonest peer with write access could
    // store: an empty frame, in place and copied, never a read outside the buffer or a panic.
    // Entry `e`'s length is at 8192 + 64 e + 16 (the layout table); samples 2 and 3 use
    // entries 0 and 1.
    let shm = SharedMemory::open(&name).unwrap();
    let map = shm.map().unwrap();
    publisher.send_with_header(&wide(3), &bytes).unwrap();
    map.write_at(8192 + 16, &10u64.to_ne_bytes()).unwrap();
    let got = sub.recv().unwrap();
    assert_eq!((got.len(), got.header().words[0]), (0, 300));
    drop(got);
    publisher.send_with_header(&wide(4), &bytes).unwrap();
    map.write_at(8192 + 64 + 16, &10u64.to_ne_bytes()).unwrap();
    let (header, copy) = sub.try_recv_with_header().unwrap();
    assert!(copy.is_empty());
    assert_eq!(header.words[0], 400, "the 10 bytes there are copied");
    assert_eq!(header.words[1] & 0xffff, 401 & 0xffff);
    assert_eq!(
        header.words[2..],
        [0; 7],
        "the rest of the header is left zero"
    );
}

#[test]
fn blocked_publisher_and_subscriber_are_stopped_by_their_cancel_tokens() {
    let (name, _g) = topic("ps-cancel");
    let token = CancelToken::new();
    let mut publisher = Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(2))
        .unwrap()
        .with_cancel(&token);
    let mut sub = Subscriber::<Tick>::open(&name).unwrap().with_cancel(&token);
    publisher.send(&Tick::new(0)).unwrap();
    publisher.send(&Tick::new(1)).unwrap();
    // The stopper cancels once this thread sleeps in the kernel (on the topic's futex).
    let (pid, tid) = (std::process::id(), common::gettid());
    let t2 = token.clone();
    let stopper = std::thread::spawn(move || {
        assert!(
            common::wait_until_sleeping(pid, tid),
            "the send never slept"
        );
        t2.cancel();
    });
    let e = publisher.send(&Tick::new(2)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    stopper.join().unwrap();
    token.reset();
    assert_eq!(sub.recv().unwrap().seq, 0);
    assert_eq!(sub.recv().unwrap().seq, 1);
    let t2 = token.clone();
    let stopper = std::thread::spawn(move || {
        assert!(
            common::wait_until_sleeping(pid, tid),
            "the receive never slept"
        );
        t2.cancel();
    });
    let e = sub.recv().map(|s| s.seq).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    stopper.join().unwrap();
    assert_eq!(
        publisher.published(),
        2,
        "the cancelled send published nothing"
    );
}

#[test]
fn late_joiners_get_the_history_and_then_everything_new() {
    let (name, _g) = topic("ps-history");
    let opts = TopicOptions::new().capacity(8).history(3);
    let mut publisher = Publisher::<Tick>::create(&name, &opts).unwrap();
    for seq in 0..10 {
        publisher.send(&Tick::new(seq)).unwrap();
    }
    let mut late = Subscriber::<Tick>::open(&name).unwrap();
    assert_eq!(late.pending(), 3, "the history is pending");
    assert!(late.has_samples());
    for seq in 7..10 {
        assert_eq!(late.try_recv().unwrap().seq, seq);
    }
    assert_eq!(late.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(!late.has_samples());
    publisher.send(&Tick::new(10)).unwrap();
    assert_eq!(late.pending(), 1);
    assert_eq!(late.recv().unwrap().seq, 10);
}

#[test]
fn thirty_two_subscribers_in_threads_each_get_everything() {
    let (name, _g) = topic("ps-32");
    let mut publisher =
        Publisher::<Tick>::create(&name, &TopicOptions::new().capacity(64)).unwrap();
    let n = 2000u64;
    let subs: Vec<_> = (0..32)
        .map(|_| Subscriber::<Tick>::open(&name).unwrap())
        .collect();
    let readers: Vec<_> = subs
        .into_iter()
        .map(|mut sub| {
            std::thread::spawn(move || {
                for seq in 0..n {
                    let s = sub.recv_timeout(WAIT).unwrap();
                    assert!(s.intact());
                    assert_eq!(s.seq, seq);
                }
            })
        })
        .collect();
    for seq in 0..n {
        publisher.send(&Tick::new(seq)).unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn bad_inputs_get_clear_errors_and_leave_nothing_behind() {
    let (name, _g) = topic("ps-bad");
    let mut publisher = FramePublisher::create(&name, 1000, &TopicOptions::new()).unwrap();
    let mut sub = FrameSubscriber::open(&name).unwrap();
    // A frame longer than the maximum.
    let e = publisher.send(&[0u8; 1001]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(
        e.to_string().contains("1001") && e.to_string().contains("1000"),
        "{e}"
    );
    assert!(publisher.loan(1001).is_err());
    // Copying more into an uninitialised loan than it was made for is an error, not a panic,
    // and publishes nothing; copying less makes a shorter frame.
    let e = publisher
        .loan_uninit(4)
        .unwrap()
        .copy_from_slice(b"12345")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MessageTooLarge);
    assert!(
        e.to_string().contains("5 bytes") && e.to_string().contains("4-byte"),
        "{e}"
    );
    assert_eq!(publisher.published(), 0);
    // Loans dropped unsent publish nothing and give their buffers back.
    for _ in 0..1000 {
        drop(publisher.loan(10).unwrap());
    }
    assert_eq!(publisher.published(), 0);
    assert_eq!(sub.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
    publisher.send(b"after").unwrap();
    assert_eq!(sub.try_recv().unwrap(), b"after");
    publisher
        .loan_uninit(100)
        .unwrap()
        .copy_from_slice(b"short")
        .unwrap()
        .send();
    assert_eq!(sub.try_recv().unwrap(), b"short");
    // Another frame size, another type, frames as a type.
    let e = FrameSubscriber::open_checked(&name, 2000).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("1000"), "{e}");
    let e = Subscriber::<Tick>::open(&name).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("byte frames"), "{e}");
    let (typed, _g2) = topic("ps-bad-typed");
    let _tp = Publisher::<Tick>::create(&typed, &TopicOptions::new()).unwrap();
    let e = Subscriber::<Other>::open(&typed).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(
        e.to_string().contains("Other") && e.to_string().contains("fingerprint"),
        "{e}"
    );
    assert_eq!(
        FrameSubscriber::open(&typed).unwrap_err().kind(),
        ErrorKind::Mismatch
    );
    // A second publisher.
    let e = Publisher::<Tick>::open(&typed).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    // 33 subscribers.
    let mut many: Vec<_> = (0..31)
        .map(|_| Subscriber::<Tick>::open(&typed).unwrap())
        .collect();
    many.push(Subscriber::<Tick>::open(&typed).unwrap());
    let e = Subscriber::<Tick>::open(&typed).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LimitExceeded);
    assert!(e.to_string().contains("32"), "{e}");
    drop(many);
    // Options out of range, each named; nothing is created.
    for (opts, word) in [
        (TopicOptions::new().capacity(3), "capacity"),
        (TopicOptions::new().capacity(1 << 17), "capacity"),
        (TopicOptions::new().history(16), "history"),
        (TopicOptions::new().max_subscribers(33), "max_subscribers"),
        (TopicOptions::new().max_subscribers(0), "max_subscribers"),
        (
            TopicOptions::new().stall_timeout(Duration::ZERO),
            "stall_timeout",
        ),
    ] {
        let (n, _g3) = topic("ps-bad-opts");
        let e = Publisher::<Tick>::create(&n, &opts).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains(word), "{e}");
        assert_eq!(
            SharedMemory::open(&n).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    let (n, _g3) = topic("ps-bad-len");
    let e = FramePublisher::create(&n, 0, &TopicOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        SharedMemory::open(&n).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // A foreign segment, a blank one and a truncated topic.
    let (foreign, _g4) = topic("ps-foreign");
    let shm = SharedMemory::create(&foreign, 16384).unwrap();
    shm.map().unwrap().write_at(0, b"NOTOURS!").unwrap();
    let e = Subscriber::<Tick>::open(&foreign).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(
        e.to_string()
            .contains("not a posix-ipc publish-subscribe topic"),
        "{e}"
    );
    let (ring, _g5) = topic("ps-ring");
    let _r = posix_ipc::RingReceiver::<Tick>::create(&ring, 4, posix_ipc::RingMode::Spsc).unwrap();
    let e = Subscriber::<Tick>::open(&ring).unwrap_err();
    assert!(e.to_string().contains("ring"), "{e}");
    let (cut, _g6) = topic("ps-cut");
    let p = Publisher::<Tick>::create(&cut, &TopicOptions::new()).unwrap();
    drop(p);
    SharedMemory::open(&cut).unwrap().resize(9000).unwrap();
    let e = Subscriber::<Tick>::open(&cut).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mismatch);
    assert!(e.to_string().contains("truncated"), "{e}");
}
