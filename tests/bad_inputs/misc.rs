//! A few more: missing and existing names, notification signals and a notification another
//! process holds, a second producer on an SPSC ring, a robust mutex locked twice.

use posix_ipc::{
    ErrorKind, MessageQueue, Notification, ObjectKind, RingMode, RingReceiver, RingSender,
    RobustMutex, O_CREX,
};

use crate::common::Kind;
use crate::fixtures::{create_new, mq, open, unlink, Tick, KINDS};
use crate::table::{err, Cat, Table};

pub(crate) fn cases(t: &mut Table) {
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} open a missing name"),
            err(ErrorKind::NotFound),
            move || open(kind, &m),
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} unlink a missing name"),
            err(ErrorKind::NotFound),
            move || unlink(kind, &m),
        );
        t.with(|c| c.obj(object).named(&n));
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} create_new an existing name"),
            err(ErrorKind::AlreadyExists),
            move || {
                create_new(kind, &m)?;
                create_new(kind, &m)
            },
        );
        t.with(|c| c.obj(object).named(&n));
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "mq new O_CREX on an existing name",
        err(ErrorKind::AlreadyExists),
        move || {
            let _q = mq(&m)?;
            MessageQueue::new(Some(&m), O_CREX, 0o600, 4, 64, true, true).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    for signo in [0, -1, 100_000] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("mq notification signal {signo}"),
            err(ErrorKind::InvalidArgument),
            move || {
                mq(&m)?.request_notification(Notification::Signal(signo))?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("signal"));
    }
    let n = t.name(Kind::Mq);
    t.child(
        Cat::Misc,
        "mq notification already taken by another process",
        err(ErrorKind::NotificationBusy),
        "none",
        "notify",
        &[&n],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "second producer on an SPSC ring",
        err(ErrorKind::AlreadyExists),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            RingSender::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "robust mutex locked twice by one thread",
        err(ErrorKind::Deadlock),
        move || {
            let mutex = RobustMutex::create(&m)?;
            let _g = mutex.lock()?;
            mutex.try_lock().map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.named(&n));
}
