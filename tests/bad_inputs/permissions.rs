//! Permissions: opening, creating over and removing another user's objects (mode 0600 and 0644),
//! as uid 65534 in a child process.

use posix_ipc::{ErrorKind, MessageQueue, ObjectKind, Semaphore, SharedMemory};

use crate::common::Kind;
use crate::fixtures::still_exists;
use crate::table::{err, Cat, Table};

pub(crate) fn cases(t: &mut Table) {
    // Objects root owns: mode 0600, and 0644 (others may read).
    let mut fixture = |mode: u32| -> (String, String, String) {
        let q = t.name(Kind::Mq);
        let s = t.name(Kind::Sem);
        let m = t.name(Kind::Shm);
        let made = MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_messages(2)
            .max_message_size(64)
            .open(&q)
            .map(drop)
            .and_then(|()| {
                Semaphore::options()
                    .create_new(true)
                    .mode(mode)
                    .open(&s)
                    .map(drop)
            })
            .and_then(|()| {
                SharedMemory::options()
                    .create_new(true)
                    .mode(mode)
                    .size(4096)
                    .open(&m)
                    .map(drop)
            });
        if let Err(e) = made {
            panic!("permission fixtures: {e}");
        }
        (q, s, m)
    };
    let (q6, s6, m6) = fixture(0o600);
    let (q4, s4, m4) = fixture(0o644);
    let pd = err(ErrorKind::PermissionDenied);
    let rows: Vec<(&str, &'static str, &str, Kind, ObjectKind)> = vec![
        (
            "mq open 0600 as another user",
            "open-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "mq open read-only 0600 as another user",
            "open-mq-ro",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open 0600 as another user",
            "open-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open 0600 as another user",
            "open-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm open read-only 0600 as another user",
            "open-shm-ro",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq unlink another user's queue",
            "unlink-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem unlink another user's semaphore",
            "unlink-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm unlink another user's segment",
            "unlink-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq open_or_create on another user's name",
            "ooc-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open_or_create on another user's name",
            "ooc-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open_or_create on another user's name",
            "ooc-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "typed Sender open on another user's queue",
            "sender-open",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "mq open write-only 0644",
            "open-mq-wo",
            &q4,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open 0644",
            "open-sem",
            &s4,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open read-write 0644",
            "open-shm",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm open with truncate 0644",
            "open-shm-trunc",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm read-only 0644 then resize",
            "shm-ro-resize",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq read-only 0644 then send",
            "mq-ro-send",
            &q4,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
    ];
    for (label, action, name, kind, object) in rows {
        t.child(Cat::Permissions, label, pd, "nobody", action, &[name]);
        let name = name.to_owned();
        t.with(|c| {
            c.obj(object)
                .named(&name)
                .after(still_exists(kind, name.clone()))
        });
    }
    t.child(
        Cat::Permissions,
        "mq create_new on another user's name fails closed",
        err(ErrorKind::AlreadyExists),
        "nobody",
        "create-mq",
        &[&q6],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&q6));
    t.child(
        Cat::Permissions,
        "shm create_new on another user's name fails closed",
        err(ErrorKind::AlreadyExists),
        "nobody",
        "create-shm",
        &[&m6],
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&m6));
}
