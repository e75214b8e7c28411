//! Recovery after a crash (issue 12, item 4): the library lists this user's objects with their
//! holders (from `/proc/*/fd` and `/proc/*/maps`) and, for this crate's segments, what their
//! headers say; it judges which are stale and removes exactly those; opening a segment of
//! another posix-ipc kind fails at once naming what it is; "already exists" names the remedy.
//!
//! The stale-detection scenario runs `POSIX_IPC_FAULT_ITERATIONS` (default 100) times and prints
//! one summary line (uncaptured), which `scripts/reliability` matches by its wording and puts in
//! RELIABILITY.md.

mod common;

use common::{guarded, Kind};
use posix_ipc::lifecycle::{self, Filter, State};
use posix_ipc::{
    ErrorKind, IpcMessage, MessageQueue, ObjectKind, Receiver, RingMode, RingReceiver, RingSender,
    RobustMutex, SegmentKind, Semaphore, Sender, Shared, SharedMemory, TypedQueue,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
    value: f64,
}

/// The kinds the stale scenario rotates through.
const KINDS: [&str; 6] = ["shm", "sem", "mq", "ring", "typed", "shared"];

/// Creates an object of `kind` named `name` and keeps it (returned boxed, to hold or drop).
fn make(kind: &str, name: &str) -> Box<dyn std::any::Any> {
    let t = Tick { seq: 0, value: 0.0 };
    match kind {
        "shm" => Box::new(SharedMemory::create(name, 4096).unwrap()),
        "sem" => Box::new(Semaphore::create(name, 1).unwrap()),
        "mq" => Box::new(MessageQueue::create(name, 1, 8).unwrap()),
        "ring" => Box::new(RingReceiver::<Tick>::create(name, 4, RingMode::Mpmc).unwrap()),
        "typed" => Box::new(Receiver::<Tick>::create(name, 1).unwrap()),
        "shared" => Box::new(Shared::create(name, &t).unwrap()),
        other => panic!("unknown kind {other}"),
    }
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    match role.as_str() {
        "hold" => {
            let _held = make(&args[0], &args[1]);
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        "lock-mutex" => {
            let m = RobustMutex::open(&args[0]).unwrap();
            let _g = m.lock().unwrap();
            println!("ready");
            loop {
                std::thread::park();
            }
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn stale_objects_are_found_and_removed_and_live_ones_kept() {
    let n = common::iterations();
    let mut judged = 0u64;
    for it in 0..n {
        let kind = KINDS[it as usize % KINDS.len()];
        let prefix = common::unique_name(&format!("stale-{kind}"));
        let (live, dead) = (format!("{prefix}-live"), format!("{prefix}-dead"));
        let _guards = [
            common::guard(Kind::Shm, &live),
            common::guard(Kind::Shm, &dead),
            common::guard(Kind::Sem, &live),
            common::guard(Kind::Sem, &dead),
            common::guard(Kind::Mq, &live),
            common::guard(Kind::Mq, &dead),
        ];
        let mut holder = common::spawn_child("child_entry", "hold", &[kind, &live]);
        let mut victim = common::spawn_child("child_entry", "hold", &[kind, &dead]);
        common::wait_line(&mut holder, "ready");
        common::wait_line(&mut victim, "ready");
        victim.kill().unwrap();
        victim.wait().unwrap();
        let filter = Filter::new().prefix(&prefix);
        let listing = lifecycle::list(&filter.clone().holders(true));
        let state_of = |name: &str| {
            listing
                .objects
                .iter()
                .filter(|o| o.name == name || o.name == format!("{name}.pipc-q"))
                .map(|o| o.state.clone())
                .collect::<Vec<_>>()
        };
        let expected = if kind == "typed" { 2 } else { 1 };
        let live_states = state_of(&live);
        let dead_states = state_of(&dead);
        assert_eq!(
            live_states.len(),
            expected,
            "iteration {it} ({kind}): {listing:?}"
        );
        assert_eq!(dead_states.len(), expected, "iteration {it} ({kind})");
        for s in &live_states {
            match s {
                State::InUse(why) => assert!(why.contains(&holder.id().to_string()), "{why}"),
                other => panic!("iteration {it} ({kind}): live object judged {other:?}"),
            }
        }
        for s in &dead_states {
            assert!(
                matches!(s, State::Stale(_)),
                "iteration {it} ({kind}): killed holder's object judged {s:?}"
            );
        }
        let removed = lifecycle::clean_stale(&filter, false).unwrap();
        assert_eq!(removed.len(), expected, "iteration {it} ({kind})");
        for r in &removed {
            assert!(r.object.name.starts_with(&dead), "{}", r.object.name);
            assert!(r.outcome.is_ok(), "{:?}", r.outcome);
            if kind == "ring" {
                assert!(
                    r.reason.contains("gone"),
                    "the ring names its dead peer: {}",
                    r.reason
                );
            }
        }
        judged += 2 * expected as u64;
        let after = lifecycle::list(&filter);
        assert!(
            after.objects.iter().all(|o| o.name.starts_with(&live)),
            "{after:?}"
        );
        assert_eq!(after.objects.len(), expected, "the live object stays");
        holder.kill().unwrap();
        holder.wait().unwrap();
        lifecycle::clean_stale(&filter, false).unwrap();
        assert!(
            lifecycle::list(&filter).objects.is_empty(),
            "iteration {it}"
        );
    }
    common::say(&format!(
        "stale detection: {n} rounds, each an object held by a live process and one whose \
         holder was killed with SIGKILL (kinds {}): {judged} objects judged, every live one in \
         use and every dead one stale; clean_stale removed exactly the stale ones",
        KINDS.join(", ")
    ));
}

#[test]
fn our_segments_are_listed_with_what_their_headers_say() {
    let prefix = common::unique_name("hdr");
    let (ring, _g1) = (
        format!("{prefix}-ring"),
        common::guard(Kind::Shm, &format!("{prefix}-ring")),
    );
    let (shared, _g2) = (
        format!("{prefix}-shared"),
        common::guard(Kind::Shm, &format!("{prefix}-shared")),
    );
    let (mutex, _g3) = (
        format!("{prefix}-mutex"),
        common::guard(Kind::Shm, &format!("{prefix}-mutex")),
    );
    let (queue, _g4) = (
        format!("{prefix}-q"),
        common::guard(Kind::Mq, &format!("{prefix}-q")),
    );
    let rx = RingReceiver::<Tick>::create(&ring, 8, RingMode::Mpmc).unwrap();
    let tx = RingSender::<Tick>::open(&ring).unwrap();
    for seq in 0..3 {
        tx.send(&Tick { seq, value: 0.0 }).unwrap();
    }
    let s = Shared::create(&shared, &Tick { seq: 0, value: 0.0 }).unwrap();
    s.store(&Tick { seq: 1, value: 1.0 }).unwrap();
    s.store(&Tick { seq: 2, value: 2.0 }).unwrap();
    let _m = RobustMutex::create(&mutex).unwrap();
    let mut locker = common::spawn_child("child_entry", "lock-mutex", &[&mutex]);
    common::wait_line(&mut locker, "ready");
    let q = TypedQueue::<Tick>::create(&queue, 2).unwrap();
    let _qs = q.sender().unwrap();
    let _qr = q.receiver().unwrap();

    let me = std::process::id();
    let listing = lifecycle::list(&Filter::new().prefix(&prefix).holders(true));
    let get = |name: &str| {
        listing
            .objects
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("{name} not listed: {listing:?}"))
    };
    let r = get(&ring);
    let seg = r.segment.as_ref().expect("a ring header");
    assert_eq!((r.kind_label(), seg.kind), ("ring", SegmentKind::Ring));
    assert_eq!(seg.ring_mode, Some(RingMode::Mpmc));
    assert_eq!(
        (seg.capacity, seg.count, seg.type_size),
        (Some(8), Some(3), Some(16))
    );
    assert_eq!(seg.fingerprint, Some(Tick::FINGERPRINT));
    assert_eq!(
        (seg.producers.as_slice(), seg.consumers.as_slice()),
        (&[me][..], &[me][..])
    );
    assert!(
        r.holders.iter().any(|h| h.pid == me && h.mapped),
        "{:?}",
        r.holders
    );
    assert!(matches!(r.state, State::InUse(_)));

    let sh = get(&shared);
    let seg = sh.segment.as_ref().unwrap();
    assert_eq!(
        (sh.kind_label(), seg.count, seg.lock_holder),
        ("shared", Some(2), None)
    );
    assert_eq!(seg.fingerprint, Some(Tick::FINGERPRINT));

    let mx = get(&mutex);
    let seg = mx.segment.as_ref().unwrap();
    assert_eq!(mx.kind_label(), "mutex");
    assert_eq!(
        seg.lock_holder,
        Some(locker.id()),
        "the child holds the lock"
    );
    assert!(!seg.lock_holder_dead);
    locker.kill().unwrap();
    locker.wait().unwrap();
    let mx = lifecycle::inspect(ObjectKind::SharedMemory, &mutex, false).unwrap();
    let seg = mx.segment.unwrap();
    // The kernel marked the lock "owner died" and cleared the holder's thread id.
    assert_eq!(seg.lock_holder, None);
    assert!(seg.lock_holder_dead, "a killed holder is reported dead");

    let c = get(&format!("{queue}.pipc-q"));
    let seg = c.segment.as_ref().unwrap();
    assert_eq!(c.kind_label(), "mq-companion");
    assert_eq!(seg.type_name.as_deref(), Some("Tick"));
    assert_eq!(seg.queue, Some((queue.clone(), true)));
    assert_eq!(
        (seg.producers.as_slice(), seg.consumers.as_slice()),
        (&[me][..], &[me][..])
    );
    let mq = get(&queue);
    assert_eq!(
        (mq.kind_label(), mq.max_messages, mq.max_message_size),
        ("mq", Some(2), Some(16))
    );
    drop(rx);
}

#[test]
fn only_this_users_objects_unless_asked() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::say(
            "SKIPPED only_this_users_objects_unless_asked: needs root to give a segment away",
        );
        return;
    }
    let (name, _g) = guarded(Kind::Shm, "other-user");
    let shm = SharedMemory::create(&name, 64).unwrap();
    let path = std::ffi::CString::new(format!("/dev/shm{name}")).unwrap();
    // SAFETY: a valid path; chown to nobody.
    assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
    drop(shm);
    let filter = Filter::new().prefix(&name);
    assert!(
        lifecycle::list(&filter).objects.is_empty(),
        "another user's object is not listed"
    );
    assert!(lifecycle::clean_stale(&filter, false).unwrap().is_empty());
    assert!(SharedMemory::open(&name).is_ok(), "and not removed");
    let all = lifecycle::list(&filter.clone().all_users(true));
    assert_eq!(all.objects.len(), 1);
    assert_eq!(all.objects[0].uid, 65534);
    let removed = lifecycle::clean_stale(&filter.all_users(true), false).unwrap();
    assert_eq!(removed.len(), 1, "removed when asked");
}

#[test]
fn opening_a_segment_of_another_posix_ipc_kind_fails_at_once_naming_it() {
    let prefix = common::unique_name("kinds");
    let names: Vec<String> = ["shared", "ring", "mutex", "typed"]
        .iter()
        .map(|k| format!("{prefix}-{k}"))
        .collect();
    let _guards: Vec<_> = names
        .iter()
        .flat_map(|n| [common::guard(Kind::Shm, n), common::guard(Kind::Mq, n)])
        .collect();
    let _shared = Shared::create(&names[0], &Tick { seq: 0, value: 0.0 }).unwrap();
    let _ring = RingReceiver::<Tick>::create(&names[1], 4, RingMode::Spsc).unwrap();
    let _mutex = RobustMutex::create(&names[2]).unwrap();
    let _typed = TypedQueue::<Tick>::create(&names[3], 1).unwrap();
    let companion = format!("{}.pipc-q", names[3]);
    let segments = [
        (&names[0], "shared struct"),
        (&names[1], "ring"),
        (&names[2], "robust mutex"),
        (&companion, "companion segment"),
    ];
    let mut checked = 0;
    for (seg, what) in segments {
        let attempts: Vec<(&str, posix_ipc::Result<()>)> = vec![
            ("Shared", Shared::<Tick>::open(seg).map(|_| ())),
            ("RingReceiver", RingReceiver::<Tick>::open(seg).map(|_| ())),
            ("RingSender", RingSender::<Tick>::open(seg).map(|_| ())),
            ("RobustMutex", RobustMutex::open(seg).map(|_| ())),
        ];
        for (opener, r) in attempts {
            let own = matches!(
                (opener, what),
                ("Shared", "shared struct")
                    | ("RingReceiver" | "RingSender", "ring")
                    | ("RobustMutex", "robust mutex")
            );
            if own {
                continue;
            }
            let err = r.expect_err("another kind is refused");
            // Not NotInitialized after the one-second wait: Mismatch at once, naming the kind.
            assert_eq!(err.kind(), ErrorKind::Mismatch, "{opener} on {what}: {err}");
            let text = err.to_string();
            assert!(text.contains(what), "{opener} on {what}: {text}");
            assert!(
                !text.contains("remove it"),
                "no advice to delete a segment in use: {text}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn already_exists_names_the_remedy() {
    let (q, _g1) = guarded(Kind::Mq, "exists-q");
    let (s, _g2) = guarded(Kind::Shm, "exists-s");
    let (m, _g3) = guarded(Kind::Sem, "exists-m");
    let (r, _g4) = guarded(Kind::Shm, "exists-r");
    let _a = MessageQueue::create(&q, 1, 8).unwrap();
    let _b = SharedMemory::create(&s, 64).unwrap();
    let _c = Semaphore::create(&m, 0).unwrap();
    let _d = RingReceiver::<Tick>::create(&r, 2, RingMode::Spsc).unwrap();
    // Each names a call its type has: the kernel's objects open_or_create, the typed kinds
    // their open and create_or_take_over (a ring has no open_or_create).
    for (err, call) in [
        (
            MessageQueue::create(&q, 1, 8).unwrap_err(),
            "open_or_create",
        ),
        (
            Sender::<Tick>::create(&q, 1).unwrap_err(),
            "Sender::<Tick>::create_or_take_over",
        ),
        (SharedMemory::create(&s, 64).unwrap_err(), "open_or_create"),
        (Semaphore::create(&m, 0).unwrap_err(), "open_or_create"),
        (
            RingSender::<Tick>::create(&r, 2, RingMode::Spsc).unwrap_err(),
            "RingSender::<Tick>::create_or_take_over",
        ),
        (
            Shared::create(&s, &Tick { seq: 0, value: 0.0 }).unwrap_err(),
            "Shared::<Tick>::create_or_take_over",
        ),
    ] {
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        let text = err.to_string();
        for remedy in [
            "left over from a crashed run",
            "posix-ipc ls --holders",
            "posix-ipc clean --stale",
            call,
        ] {
            assert!(text.contains(remedy), "{remedy:?} missing: {text}");
        }
    }
}

#[test]
fn inspect_reports_a_missing_object_and_queue_state() {
    let missing = common::unique_name("missing");
    let err = lifecycle::inspect(ObjectKind::SharedMemory, &missing, true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let (q, _g) = guarded(Kind::Mq, "inspect-q");
    let mq = MessageQueue::create(&q, 3, 8).unwrap();
    mq.send(b"a", 0).unwrap();
    if !lifecycle::mqueue_mounted() && lifecycle::mount_mqueue().is_err() {
        common::say("SKIPPED inspect of a queue: the mqueue filesystem cannot be mounted here");
        return;
    }
    let info = lifecycle::inspect(ObjectKind::MessageQueue, &q, true).unwrap();
    assert_eq!(
        (info.messages, info.max_messages, info.queue_bytes),
        (Some(1), Some(3), Some(1))
    );
    assert!(matches!(info.state, State::InUse(_)), "{:?}", info.state);
    drop(mq);
    let info = lifecycle::inspect(ObjectKind::MessageQueue, &q, true).unwrap();
    match info.state {
        State::Stale(why) => assert!(why.contains("1 message"), "{why}"),
        other => panic!("{other:?}"),
    }
}
