//! Resource exhaustion, in child processes: `RLIMIT_NOFILE` full or 0, `RLIMIT_MSGQUEUE` 0,
//! `queues_max` 0 in a private IPC namespace, a 64 KiB `/dev/shm`, and more mappings than the
//! truncation guard tracks.

use posix_ipc::{ErrorKind, ObjectKind, Semaphore, SharedMemory};

use crate::common::Kind;
use crate::fixtures::mq;
use crate::table::{err, Cat, Table};

pub(crate) fn cases(t: &mut Table) {
    let q = t.name(Kind::Mq);
    let s = t.name(Kind::Sem);
    let m = t.name(Kind::Shm);
    let made = mq(&q)
        .map(drop)
        .and_then(|()| Semaphore::create(&s, 0).map(drop))
        .and_then(|()| SharedMemory::create(&m, 4096).map(drop));
    if let Err(e) = made {
        panic!("exhaustion fixtures: {e}");
    }
    let le = err(ErrorKind::LimitExceeded);
    let nofile: Vec<(&str, &'static str, Option<&str>, Kind, ObjectKind)> = vec![
        (
            "RLIMIT_NOFILE full: mq create",
            "create-mq",
            None,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: sem create",
            "create-sem",
            None,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "RLIMIT_NOFILE full: shm create",
            "create-shm",
            None,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "RLIMIT_NOFILE full: mq open",
            "open-mq",
            Some(q.as_str()),
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: sem open",
            "open-sem",
            Some(s.as_str()),
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "RLIMIT_NOFILE full: shm open",
            "open-shm",
            Some(m.as_str()),
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "RLIMIT_NOFILE full: typed Sender create",
            "create-sender",
            None,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: ring create",
            "create-ring",
            None,
            Kind::Shm,
            ObjectKind::Ring,
        ),
    ];
    for (label, action, existing, kind, object) in nofile {
        let name = match existing {
            Some(n) => n.to_owned(),
            None => t.name(kind),
        };
        t.child(Cat::Exhaustion, label, le, "nofile", action, &[&name]);
        let creates = existing.is_none();
        t.with(|c| {
            let c = c.obj(object).named(&name).mention("RLIMIT_NOFILE");
            if creates {
                c.fresh(kind, &name)
            } else {
                c
            }
        });
    }
    let name = t.name(Kind::Mq);
    t.child(
        Cat::Exhaustion,
        "RLIMIT_NOFILE 0: mq open",
        le,
        "nofile0",
        "open-mq",
        &[&q],
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&q)
            .mention("RLIMIT_NOFILE")
    });
    for (label, action) in [
        ("mq create", "create-mq"),
        ("typed Receiver create", "create-receiver"),
        ("mq open_or_create", "ooc-mq"),
    ] {
        let name = t.name(Kind::Mq);
        t.child(
            Cat::Exhaustion,
            format!("RLIMIT_MSGQUEUE 0: {label}"),
            le,
            "msgqueue0",
            action,
            &[&name],
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&name)
                .mention("RLIMIT_MSGQUEUE")
                .fresh(Kind::Mq, &name)
        });
    }
    t.child(
        Cat::Exhaustion,
        "RLIMIT_MSGQUEUE 0: mq create_random",
        le,
        "msgqueue0",
        "create-mq-random",
        &[],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).mention("RLIMIT_MSGQUEUE"));
    t.child(
        Cat::Exhaustion,
        "fs.mqueue.queues_max 0 (private IPC namespace): mq create",
        le,
        "queues0",
        "create-mq",
        &[&name],
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&name)
            .mention("queues_max")
            .fresh(Kind::Mq, &name)
    });
    let name = t.name(Kind::Shm);
    t.child(
        Cat::Exhaustion,
        "/dev/shm of 64 KiB (private mount): 1 MiB create",
        err(ErrorKind::NoSpace),
        "tinyshm",
        "create-shm-1m",
        &[&name],
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&name)
            .mention("/dev/shm")
            .fresh(Kind::Shm, &name)
    });
    t.child(
        Cat::Exhaustion,
        "more mappings than the truncation guard tracks",
        le,
        "none",
        "map-many",
        &[&m],
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&m)
            .mention("mappings")
    });
}
