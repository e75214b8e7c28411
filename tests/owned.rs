//! Ownership (issue 12, item 3): an owning handle removes the object it created when it is
//! dropped, also on an early return with `?` and while a panic unwinds; never one it only
//! opened, and never a name that meanwhile refers to another object. (Ctrl-C and SIGTERM with
//! `posix_ipc::signals` are in `tests/cancel.rs`.)

mod common;

use common::{guarded, Kind};
use posix_ipc::{
    IpcMessage, MessageQueue, Owned, RawShared, Receiver, RingMode, RingReceiver, RingSender,
    RobustMutex, Semaphore, Sender, Shared, SharedMemory, TypedQueue,
};

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Tick {
    seq: u64,
}

fn shm_exists(name: &str) -> bool {
    SharedMemory::open(name).is_ok()
}

fn mq_exists(name: &str) -> bool {
    MessageQueue::open(name).is_ok()
}

fn sem_exists(name: &str) -> bool {
    Semaphore::open(name).is_ok()
}

#[test]
fn every_kind_of_owner_removes_its_object_when_dropped() {
    let t = Tick { seq: 0 };
    let (sem, _g1) = guarded(Kind::Sem, "own-sem");
    let (shm, _g2) = guarded(Kind::Shm, "own-shm");
    let (mq, _g3) = guarded(Kind::Mq, "own-mq");
    let (tx, _g4) = guarded(Kind::Mq, "own-tx");
    let (rx, _g5) = guarded(Kind::Mq, "own-rx");
    let (tq, _g6) = guarded(Kind::Mq, "own-tq");
    let (sh, _g7) = guarded(Kind::Shm, "own-shared");
    let (raw, _g8) = guarded(Kind::Shm, "own-raw");
    let (rs, _g9) = guarded(Kind::Shm, "own-ringtx");
    let (rr, _g10) = guarded(Kind::Shm, "own-ringrx");
    let (mx, _g11) = guarded(Kind::Shm, "own-mutex");
    {
        let a = Semaphore::create_owned(&sem, 0).unwrap();
        let b = SharedMemory::create_owned(&shm, 64).unwrap();
        let c = MessageQueue::create_owned(&mq, 1, 8).unwrap();
        let d = Sender::<Tick>::create_owned(&tx, 1).unwrap();
        let e = Receiver::<Tick>::create_owned(&rx, 1).unwrap();
        let f = TypedQueue::<Tick>::create_owned(&tq, 1).unwrap();
        let g = Shared::create_owned(&sh, &t).unwrap();
        let h = RawShared::create_owned(&raw, &t).unwrap();
        let i = RingSender::<Tick>::create_owned(&rs, 2, RingMode::Spsc).unwrap();
        let j = RingReceiver::<Tick>::create_owned(&rr, 2, RingMode::Spsc).unwrap();
        let k = RobustMutex::create_owned(&mx).unwrap();
        assert!(a.owns() && b.owns() && c.owns() && d.owns() && e.owns() && f.owns());
        assert!(g.owns() && h.owns() && i.owns() && j.owns() && k.owns());
        assert_eq!(d.names(), [tx.as_str(), &format!("{tx}.pipc-q")]);
        // They work through the owner.
        a.release().unwrap();
        d.send(&t).unwrap();
        assert!(sem_exists(&sem) && shm_exists(&shm) && mq_exists(&mq));
        assert!(mq_exists(&tx) && mq_exists(&rx) && mq_exists(&tq));
        assert!(shm_exists(&sh) && shm_exists(&raw) && shm_exists(&rs) && shm_exists(&rr));
        assert!(shm_exists(&mx) && shm_exists(&format!("{tx}.pipc-q")));
    }
    assert!(!sem_exists(&sem) && !shm_exists(&shm) && !mq_exists(&mq));
    for q in [&tx, &rx, &tq] {
        assert!(!mq_exists(q), "{q}");
        assert!(!shm_exists(&format!("{q}.pipc-q")), "{q}'s companion");
    }
    for s in [&sh, &raw, &rs, &rr, &mx] {
        assert!(!shm_exists(s), "{s}");
    }
}

fn make_and_fail(name: &str) -> posix_ipc::Result<()> {
    let _owner = MessageQueue::create_owned(name, 1, 8)?;
    // An error on the way out: `?` returns, the owner is dropped.
    MessageQueue::open("/no such/name")?;
    Ok(())
}

#[test]
fn an_owner_removes_its_object_on_question_mark_and_on_panic() {
    let (name, _g) = guarded(Kind::Mq, "own-q");
    assert!(make_and_fail(&name).is_err());
    assert!(!mq_exists(&name), "removed on the early return");

    let (seg, _g2) = guarded(Kind::Shm, "own-panic");
    let s = seg.clone();
    let unwound = std::panic::catch_unwind(move || {
        let _owner = SharedMemory::create_owned(&s, 64).unwrap();
        panic!("on purpose");
    });
    assert!(unwound.is_err());
    assert!(!shm_exists(&seg), "removed while the panic unwound");
}

#[test]
fn an_owner_of_an_opened_object_removes_nothing() {
    let (name, _g) = guarded(Kind::Mq, "own-opened");
    let creator = MessageQueue::create(&name, 1, 8).unwrap();
    {
        let opened = Owned::new(MessageQueue::open(&name).unwrap());
        assert!(!opened.owns());
        assert!(opened.names().is_empty());
        // open_or_create that found the queue did not create it either.
        let found = Owned::new(MessageQueue::open_or_create(&name, 1, 8).unwrap());
        assert!(!found.owns());
    }
    assert!(mq_exists(&name));
    drop(creator);
    let (tq, _g2) = guarded(Kind::Mq, "own-opened-typed");
    let _keep = TypedQueue::<Tick>::create(&tq, 1).unwrap();
    drop(Owned::new(Receiver::<Tick>::open(&tq).unwrap()));
    assert!(mq_exists(&tq) && shm_exists(&format!("{tq}.pipc-q")));
}

#[test]
fn into_inner_keeps_the_object_and_remove_reports() {
    let (name, _g) = guarded(Kind::Shm, "own-keep");
    let owner = SharedMemory::create_owned(&name, 64).unwrap();
    let handle = owner.into_inner();
    assert!(shm_exists(&name));
    drop(handle);
    assert!(shm_exists(&name), "kept after giving up ownership");
    posix_ipc::unlink_shared_memory(&name).unwrap();

    let owner = SharedMemory::create_owned(&name, 64).unwrap();
    assert!(owner.remove().unwrap(), "removed now");
    assert!(!shm_exists(&name));
}

#[test]
fn an_owner_leaves_alone_a_name_that_now_refers_to_another_object() {
    let (name, _g) = guarded(Kind::Shm, "own-replaced");
    let owner = SharedMemory::create_owned(&name, 64).unwrap();
    // Someone removes ours and makes a new segment under the same name.
    posix_ipc::unlink_shared_memory(&name).unwrap();
    let theirs = SharedMemory::create(&name, 128).unwrap();
    drop(owner);
    assert_eq!(theirs.size().unwrap(), 128);
    assert!(shm_exists(&name), "the other segment is still there");

    let (q, _g2) = guarded(Kind::Mq, "own-replaced-q");
    let owner = MessageQueue::create_owned(&q, 1, 8).unwrap();
    posix_ipc::unlink_message_queue(&q).unwrap();
    let _theirs = MessageQueue::create(&q, 2, 8).unwrap();
    assert!(!owner.remove().unwrap(), "nothing of ours to remove");
    assert_eq!(MessageQueue::open(&q).unwrap().max_messages(), 2);

    let (s, _g3) = guarded(Kind::Sem, "own-replaced-s");
    let owner = Semaphore::create_owned(&s, 0).unwrap();
    posix_ipc::unlink_semaphore(&s).unwrap();
    let _theirs = Semaphore::create(&s, 5).unwrap();
    drop(owner);
    assert_eq!(Semaphore::open(&s).unwrap().value().unwrap(), 5);
}
