//! Topics a robot can live with (issue 21): a publisher restarted under a fixed name after
//! `kill -9` takes its topic over (`create_or_take_over`), exactly one of two racing processes
//! wins, subscribers that follow restarts go on with the new publisher (told once), no
//! subscriber is handed a dead publisher's history as new, late subscribers wait for the
//! topic, the wait stops on Ctrl-C, and the footprint is what the documentation says.
//!
//! The kill and race scenarios run `POSIX_IPC_FAULT_ITERATIONS` (default 100) rounds and print
//! one summary line each (uncaptured).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use common::{guarded, Kind};
use posix_ipc::{
    ErrorKind, FramePublisher, FrameSubscriber, IpcMessage, Policy, Publisher, SubscribeOptions,
    Subscriber, TopicOptions,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    generation: u64,
    seq: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other {
    value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct FrameInfo {
    number: u64,
    published_ns: u64,
    width: u32,
    height: u32,
}

fn options() -> TopicOptions {
    TopicOptions::new().capacity(8).max_subscribers(4)
}

/// Reads the child's next stdout line that starts with `word`, with the rest of the line.
fn line_starting(lines: &mut impl Iterator<Item = std::io::Result<String>>, word: &str) -> String {
    for line in lines.by_ref() {
        let line = line.expect("read the child's stdout");
        if let Some(at) = line.find(word) {
            return line[at + word.len()..].trim().to_string();
        }
    }
    panic!("the child ended before printing {word:?}");
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    let name = &args[0];
    match role.as_str() {
        // Creates or takes over the topic, publishes `count` samples, says so, and waits for a
        // line on stdin (or to be killed) before it ends.
        "publish" => {
            let count: u64 = args[1].parse().unwrap();
            let started = Instant::now();
            let mut publisher = match Publisher::<Tick>::create_or_take_over(name, &options()) {
                Ok(p) => p,
                Err(e) => {
                    println!("REFUSED {:?} {}", e.kind(), e);
                    return;
                }
            };
            let generation = publisher.generation();
            println!(
                "READY {generation} {} {}",
                u8::from(publisher.owns()),
                started.elapsed().as_micros()
            );
            for seq in 0..count {
                publisher.send(&Tick { generation, seq }).unwrap();
            }
            println!("PUBLISHED {count}");
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        }
        // Waits (up to a minute) for the topic, then receives one sample.
        "late" => {
            println!("WAITING {}", common::gettid());
            let mut sub = Subscriber::<Tick>::open_wait(name, Duration::from_secs(60)).unwrap();
            println!("joined");
            let tick = sub.recv_copy_with(Duration::from_secs(60)).unwrap();
            println!("got {} {}", tick.generation, tick.seq);
        }
        // Waits forever for a topic nobody makes, stopped by SIGINT.
        "wait-forever" => {
            posix_ipc::signals::stop_on_signals().unwrap();
            println!("WAITING {}", common::gettid());
            let started = Instant::now();
            let err = Subscriber::<Tick>::open_with(
                name,
                &SubscribeOptions::new().wait(posix_ipc::Timeout::Infinite),
            )
            .unwrap_err();
            println!(
                "stopped {:?} after {} ms: {err}",
                err.kind(),
                started.elapsed().as_millis()
            );
        }
        other => panic!("unknown role {other}"),
    }
}

fn spawn_publisher(name: &str, count: u64) -> std::process::Child {
    common::spawn_child_with_stdin("child_entry", "publish", &[name, &count.to_string()])
}

/// A publisher killed with SIGKILL is replaced by one that takes the topic over and owns it,
/// round after round; after the last round the owner removes the topic.
#[test]
fn a_publisher_restarted_after_kill_takes_its_topic_over() {
    let (name, _cleanup) = guarded(Kind::Shm, "takeover");
    let rounds = common::iterations();
    let mut slowest = Duration::ZERO;
    let mut generations = Vec::new();
    let mut takeover_us = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let mut child = spawn_publisher(&name, 3);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = line_starting(&mut lines, "READY ");
        slowest = slowest.max(started.elapsed());
        let fields: Vec<&str> = ready.split(' ').collect();
        assert_eq!(
            fields[1], "1",
            "a taken-over topic is owned by its new publisher"
        );
        generations.push(fields[0].parse::<u64>().unwrap());
        if fields[0] != "1" {
            takeover_us.push(fields[2].parse::<u64>().unwrap());
        }
        line_starting(&mut lines, "PUBLISHED ");
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let expected: Vec<u64> = (1..=rounds).collect();
    assert_eq!(
        generations, expected,
        "each take-over starts the next generation"
    );
    // A clean stop of the last owner removes the topic.
    {
        let owner = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
        assert!(owner.owns());
        assert_eq!(owner.generation(), rounds + 1);
    }
    assert_eq!(
        Subscriber::<Tick>::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    takeover_us.sort_unstable();
    common::say(&format!(
        "restarts: take-over after SIGKILL: {rounds} rounds; create_or_take_over took median {} \
         us, max {} us; process start to ready at most {slowest:?}",
        takeover_us.get(takeover_us.len() / 2).copied().unwrap_or(0),
        takeover_us.last().copied().unwrap_or(0)
    ));
}

/// Two processes racing to create or take over one name: exactly one wins, and the other's
/// error names the winner.
#[test]
fn of_two_racing_publishers_exactly_one_wins_and_the_other_names_it() {
    let rounds = common::iterations();
    for round in 0..rounds {
        let (name, _cleanup) = guarded(Kind::Shm, "race");
        if round % 2 == 1 {
            // Every other round, race on a stale topic (its publisher killed).
            let mut first = spawn_publisher(&name, 1);
            let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
            line_starting(&mut lines, "PUBLISHED ");
            first.kill().unwrap();
            first.wait().unwrap();
        }
        let mut a = spawn_publisher(&name, 1);
        let mut b = spawn_publisher(&name, 1);
        let mut outcomes = Vec::new();
        for child in [&mut a, &mut b] {
            let pid = child.id();
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            for line in lines.by_ref() {
                let line = line.unwrap();
                if let Some(at) = line.find("READY ") {
                    outcomes.push((pid, Ok(line[at..].to_string())));
                    break;
                }
                if let Some(at) = line.find("REFUSED ") {
                    outcomes.push((pid, Err(line[at..].to_string())));
                    break;
                }
            }
        }
        for child in [&mut a, &mut b] {
            if let Some(stdin) = child.stdin.as_mut() {
                let _ = stdin.write_all(b"go\n");
            }
            child.wait().unwrap();
        }
        let winners: Vec<_> = outcomes.iter().filter(|(_, o)| o.is_ok()).collect();
        let losers: Vec<_> = outcomes.iter().filter(|(_, o)| o.is_err()).collect();
        assert_eq!(
            (winners.len(), losers.len()),
            (1, 1),
            "round {round}: {outcomes:?}"
        );
        let (winner, loser) = (winners[0].0, losers[0].1.as_ref().unwrap_err());
        assert!(
            loser.contains("AlreadyExists") && loser.contains(&format!("pid {winner} (")),
            "round {round}: the loser's error names the winner {winner}: {loser}"
        );
    }
    common::say(&format!(
        "restarts: create_or_take_over race: {rounds} rounds, exactly one winner each"
    ));
}

/// A subscriber that follows restarts goes on across 10 publishers, each a process killed with
/// SIGKILL after it published: every sample is received once, in order within its generation,
/// and each restart is reported once, with the new generation, before that generation's first
/// sample.
#[test]
fn a_following_subscriber_goes_on_across_ten_restarts() {
    let (name, _cleanup) = guarded(Kind::Shm, "follow");
    // Fewer than the capacity (8): a publisher never waits for the subscriber here.
    let per_run = 6u64;
    let first = Publisher::<Tick>::create_or_take_over(&name, &options())
        .unwrap()
        .into_inner();
    let mut sub =
        Subscriber::<Tick>::open_with(&name, &SubscribeOptions::new().follow_restarts(true))
            .unwrap();
    let status = sub.status().unwrap();
    drop(first);
    let mut received: Vec<(u64, u64)> = Vec::new();
    let mut restarts = Vec::new();
    let mut longest_gap = Duration::ZERO;
    for _ in 0..10 {
        let spawned = Instant::now();
        let mut child = spawn_publisher(&name, per_run);
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        line_starting(&mut lines, "READY ");
        assert!(status.publisher_alive());
        match sub.recv_copy_with(Duration::from_secs(10)) {
            Err(e) if e.kind() == ErrorKind::Restarted => {
                longest_gap = longest_gap.max(spawned.elapsed());
                restarts.push(e.generation().unwrap());
            }
            other => panic!("expected Restarted, got {other:?}"),
        }
        line_starting(&mut lines, "PUBLISHED ");
        child.kill().unwrap();
        child.wait().unwrap();
        // What it published before it was killed, and nothing more.
        loop {
            match sub.recv_copy_with(Duration::from_millis(100)) {
                Ok(t) => received.push((t.generation, t.seq)),
                Err(e) if e.kind() == ErrorKind::TimedOut => break,
                Err(e) => panic!("{e} ({status:?}, received {received:?})"),
            }
        }
        assert!(!status.publisher_alive());
    }
    let expected: Vec<(u64, u64)> = (2..=11)
        .flat_map(|g| (0..per_run).map(move |s| (g, s)))
        .collect();
    assert_eq!(received, expected, "every sample once, in order");
    assert_eq!(restarts, (2..=11).collect::<Vec<u64>>());
    common::say(&format!(
        "restarts: follow restarts: 10 publisher processes killed in turn, {} samples, 0 lost, 0 \
         duplicated; new publisher process spawned to Restarted received: at most {longest_gap:?}",
        received.len()
    ));
}

/// Without following, a subscriber gets Disconnected when its publisher dies, as before; a new
/// publisher's samples come after that, never silently mixed in.
#[test]
fn a_subscriber_that_does_not_follow_is_told_its_publisher_went() {
    let (name, _cleanup) = guarded(Kind::Shm, "nofollow");
    let mut first = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    let mut sub = Subscriber::<Tick>::open(&name).unwrap();
    first
        .send(&Tick {
            generation: 1,
            seq: 0,
        })
        .unwrap();
    // A new publisher takes over while the subscriber has not looked: it learns that the
    // publisher it received from went away before it sees the new one's sample.
    let first = first.into_inner();
    drop(first);
    let mut second = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    second
        .send(&Tick {
            generation: 2,
            seq: 0,
        })
        .unwrap();
    assert_eq!(sub.try_recv().unwrap().generation, 1);
    assert_eq!(sub.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
    assert_eq!(sub.try_recv().unwrap().generation, 2);
}

/// A publisher's clean stop removes its topic; a subscriber that follows restarts joins the
/// topic made again under the name and goes on, told once.
#[test]
fn a_following_subscriber_joins_the_topic_made_again_after_a_clean_stop() {
    let (name, _cleanup) = guarded(Kind::Shm, "remade");
    let mut first = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    let mut sub =
        Subscriber::<Tick>::open_with(&name, &SubscribeOptions::new().follow_restarts(true))
            .unwrap();
    first
        .send(&Tick {
            generation: 1,
            seq: 0,
        })
        .unwrap();
    drop(first); // removes the topic
    assert_eq!(sub.recv_copy().unwrap().seq, 0);
    assert_eq!(
        sub.recv_copy_with(Duration::from_millis(20))
            .unwrap_err()
            .kind(),
        ErrorKind::TimedOut
    );
    let mut second = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    second
        .send(&Tick {
            generation: 9,
            seq: 1,
        })
        .unwrap();
    let e = sub.recv_copy_with(Duration::from_secs(10)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Restarted, "{e}");
    assert_eq!(e.generation(), Some(1), "the new topic's first publisher");
    assert_eq!(
        sub.recv_copy().unwrap(),
        Tick {
            generation: 9,
            seq: 1
        }
    );
    assert_eq!(second.subscribers(), 1, "it joined the new topic");
    // Non-blocking receives find the new topic too.
    drop(second);
    let mut third = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    third
        .send(&Tick {
            generation: 9,
            seq: 2,
        })
        .unwrap();
    let started = Instant::now();
    let restarted = loop {
        match sub.try_recv() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "never rejoined"
                );
                std::thread::yield_now();
            }
            other => break other,
        }
    };
    assert_eq!(restarted.unwrap_err().kind(), ErrorKind::Restarted);
    assert_eq!(sub.try_recv().unwrap().seq, 2);
}

/// A dead publisher's history is not handed to a new subscriber as fresh.
#[test]
fn a_dead_publishers_history_is_not_delivered_as_new() {
    let (name, _cleanup) = guarded(Kind::Shm, "history");
    let opts = options().history(2).policy(Policy::Overwrite);
    let mut publisher = Publisher::<Tick>::create(&name, &opts).unwrap();
    for seq in 0..3 {
        publisher.send(&Tick { generation: 1, seq }).unwrap();
    }
    // Live publisher: a late subscriber gets the history.
    let mut live = Subscriber::<Tick>::open(&name).unwrap();
    assert_eq!(live.try_recv().unwrap().seq, 1);
    drop(publisher);
    // Dead publisher: nothing of it is new.
    let mut late = Subscriber::<Tick>::open(&name).unwrap();
    assert_eq!(late.try_recv().unwrap_err().kind(), ErrorKind::Disconnected);
    // Taken over: history holds only the new publisher's samples.
    let mut next = Publisher::<Tick>::create_or_take_over(&name, &opts).unwrap();
    next.send(&Tick {
        generation: 2,
        seq: 0,
    })
    .unwrap();
    let mut after = Subscriber::<Tick>::open(&name).unwrap();
    assert_eq!(
        after.try_recv().unwrap(),
        Tick {
            generation: 2,
            seq: 0
        }
    );
    assert_eq!(after.try_recv().unwrap_err().kind(), ErrorKind::WouldBlock);
}

/// A stale topic of another type or geometry is a Mismatch naming both, unless replacing is
/// asked for; a live one is AlreadyExists naming its publisher and a call that exists.
#[test]
fn take_over_refuses_what_does_not_match_and_what_is_alive() {
    let (name, _cleanup) = guarded(Kind::Shm, "mismatch");
    let live = Publisher::<Tick>::create(&name, &options()).unwrap();
    let err = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    let me = std::process::id();
    assert!(err.to_string().contains(&format!("pid {me} (")), "{err}");
    // The call the message names exists (this line compiles).
    assert!(
        err.to_string().contains("Subscriber::<Tick>::open"),
        "{err}"
    );
    let _ = Subscriber::<Tick>::open(&name).unwrap();
    // A plain create names the same calls, and the take-over.
    let err = Publisher::<Tick>::create(&name, &options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert!(
        err.to_string().contains("Subscriber::<Tick>::open")
            && err
                .to_string()
                .contains("Publisher::<Tick>::create_or_take_over"),
        "{err}"
    );
    let err = FramePublisher::<FrameInfo>::create_with_header(&name, 64, &options()).unwrap_err();
    assert!(
        err.to_string()
            .contains("FramePublisher::<FrameInfo>::create_or_take_over_with_header"),
        "{err}"
    );
    let _ = FramePublisher::<FrameInfo>::create_or_take_over_with_header;
    drop(live);

    let err = Publisher::<Other>::create_or_take_over(&name, &options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(
        err.to_string().contains("Tick") && err.to_string().contains("Other"),
        "{err}"
    );
    let err = Publisher::<Tick>::create_or_take_over(&name, &options().capacity(16)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Mismatch, "{err}");
    assert!(err.to_string().contains("capacity 8 (asked: 16)"), "{err}");
    let replaced =
        Publisher::<Other>::create_or_take_over(&name, &options().replace_stale(true)).unwrap();
    assert!(replaced.owns());
    assert_eq!(replaced.generation(), 1, "a new topic");
}

/// A late subscriber waits for the topic; the publisher comes after it.
#[test]
fn a_late_subscriber_waits_for_its_publisher() {
    let (name, _cleanup) = guarded(Kind::Shm, "late");
    let mut late = common::spawn_child("child_entry", "late", &[&name]);
    let mut out = BufReader::new(late.stdout.take().unwrap());
    // The subscriber starts first and is seen asleep waiting; the publisher comes after.
    let tid: i32 = line_starting(&mut (&mut out).lines(), "WAITING ")
        .parse()
        .unwrap();
    assert!(
        common::wait_until_sleeping(late.id(), tid),
        "the late subscriber never slept waiting"
    );
    let mut publisher = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    let waited = Instant::now();
    while publisher.subscribers() == 0 {
        assert!(waited.elapsed() < Duration::from_secs(30), "never joined");
        std::thread::sleep(Duration::from_millis(1));
    }
    publisher
        .send(&Tick {
            generation: 1,
            seq: 7,
        })
        .unwrap();
    let mut text = String::new();
    use std::io::Read;
    out.read_to_string(&mut text).unwrap();
    assert!(late.wait().unwrap().success());
    assert!(text.contains("got 1 7"), "{text}");
}

/// Waiting for a topic that never comes stops on Ctrl-C (SIGINT), at once.
#[test]
fn open_wait_is_stopped_by_ctrl_c() {
    let (name, _cleanup) = guarded(Kind::Shm, "ctrlc");
    let mut child = common::spawn_child("child_entry", "wait-forever", &[&name]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let tid: i32 = line_starting(&mut lines, "WAITING ").parse().unwrap();
    assert!(
        common::wait_until_sleeping(child.id(), tid),
        "the child never slept waiting"
    );
    let sent = Instant::now();
    // SAFETY: kill(2) with a valid signal on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let text = lines
        .map_while(std::io::Result::ok)
        .collect::<Vec<_>>()
        .join("\n");
    child.wait().unwrap();
    let stopped_in = sent.elapsed();
    assert!(text.contains("stopped Cancelled"), "{text}");
    assert!(text.contains("SIGINT"), "{text}");
    assert!(
        stopped_in < Duration::from_secs(5),
        "stopped in {stopped_in:?}"
    );
}

/// The default 1080p frame topic stays under 64 MB, all of it reserved at creation, as
/// `footprint_for` says beforehand.
#[test]
fn a_default_1080p_frame_topic_is_under_64_mb_and_says_so() {
    let (name, _cleanup) = guarded(Kind::Shm, "footprint");
    let frame = 1920 * 1080 * 3;
    let before =
        FramePublisher::<FrameInfo>::footprint_for_header(frame, &TopicOptions::new()).unwrap();
    let camera = FramePublisher::<FrameInfo>::create_or_take_over_with_header(
        &name,
        frame,
        &TopicOptions::new(),
    )
    .unwrap();
    let after = camera.footprint().unwrap();
    assert_eq!(after.reserved, before);
    assert!(after.resident >= after.reserved, "{after:?}");
    assert!(before < 64 << 20, "{before} bytes");
    let sub = FrameSubscriber::<FrameInfo>::open_with_header(&name).unwrap();
    assert_eq!(sub.footprint().unwrap().reserved, before);
    common::say(&format!(
        "restarts: default 1920x1080x3 frame topic: {before} bytes reserved ({:.1} MB), \
         {} resident",
        before as f64 / 1e6,
        after.resident
    ));
}

/// Taking over a topic whose publisher closed, in one process, round after round: each
/// take-over is the next generation and owns the topic; prints the time a take-over takes.
#[test]
fn take_over_in_process_starts_the_next_generation_each_time() {
    let (name, _cleanup) = guarded(Kind::Shm, "inprocess");
    let mut times = Vec::new();
    for round in 1..=100u64 {
        let started = Instant::now();
        let publisher = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
        times.push(started.elapsed());
        assert!(publisher.owns());
        assert_eq!(publisher.generation(), round);
        // Closed without removing the topic: the next round takes it over.
        drop(publisher.into_inner());
    }
    // `posix-ipc ls` and `topic list` read the generation and the owner from the segment.
    let live = Publisher::<Tick>::create_or_take_over(&name, &options()).unwrap();
    let info = posix_ipc::lifecycle::inspect(posix_ipc::ObjectKind::SharedMemory, &name, false)
        .unwrap()
        .segment
        .unwrap();
    assert_eq!(info.generation, Some(101));
    assert_eq!(info.owner, Some((std::process::id(), true)));
    assert_eq!(info.producers, vec![std::process::id()]);
    // And the layout the topic stores, for tools that have no Rust type.
    assert_eq!(
        info.layout,
        Some(posix_ipc::LayoutDesc::from(&Tick::LAYOUT))
    );
    drop(live);
    times.sort_unstable();
    common::say(&format!(
        "restarts: create_or_take_over of a closed publisher's topic, in process: median {:?}, max \
         {:?} (100 rounds, the first a create)",
        times[50], times[99]
    ));
}

/// A topic larger than `/dev/shm` can hold is an error at creation naming the topic and the
/// space left, never a SIGBUS later (and nothing is left behind).
#[test]
fn a_topic_too_big_for_dev_shm_is_an_error_naming_it_and_the_space_left() {
    let (name, _cleanup) = guarded(Kind::Shm, "toobig");
    // 65536 frames of 1 MiB: 64 GiB, more than this machine's /dev/shm (half its memory).
    let options = TopicOptions::new().capacity(1 << 16);
    let err = FramePublisher::create_or_take_over(&name, 1 << 20, &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpace, "{err}");
    let text = err.to_string();
    assert!(text.contains(&name), "{text}");
    assert!(text.contains("bytes are left"), "{text}");
    assert_eq!(
        FrameSubscriber::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound,
        "nothing left behind"
    );
}
