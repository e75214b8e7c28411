//! Message priorities around `QUEUE_PRIORITY_MAX`.

use std::time::Duration;

use posix_ipc::{ErrorKind, ObjectKind, Receiver, Sender, Timeout};

use crate::common::Kind;
use crate::fixtures::{full_mq, mq, Tick, TICK};
use crate::table::{ensure, err, Cat, Expect, Table, OK};

pub(crate) fn cases(t: &mut Table) {
    let rows: Vec<(&str, u32, Expect)> = vec![
        ("32767 (QUEUE_PRIORITY_MAX)", 32767, OK),
        ("32768", 32768, err(ErrorKind::InvalidArgument)),
        ("2^31", 1 << 31, err(ErrorKind::InvalidArgument)),
        ("u32::MAX", u32::MAX, err(ErrorKind::InvalidArgument)),
    ];
    for (label, prio, expect) in rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Priorities,
            format!("mq send priority {label}"),
            expect,
            move || {
                mq(&m)?.send(b"x", prio)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("QUEUE_PRIORITY_MAX")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "priority checked before the length",
        err(ErrorKind::InvalidArgument),
        move || {
            mq(&m)?.send(&[0u8; 65], 40000)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("40000"));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "bad priority on a full queue is not a timeout",
        err(ErrorKind::InvalidArgument),
        move || {
            full_mq(&m)?.send_timeout(b"x", 32768, Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send_priority 32768",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 2)?.send_priority(&TICK, 32768)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send_with u32::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 2)?.send_with(&TICK, u32::MAX, Timeout::Immediate)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send uses the type's priority",
        OK,
        move || {
            let tx = Sender::<Tick>::create(&m, 2)?;
            let rx = Receiver::<Tick>::open(&m)?;
            tx.send(&TICK)?;
            let (_, prio) = rx.recv_with(Timeout::Immediate)?;
            ensure(prio == 4, || format!("priority {prio}, expected 4"))
        },
    );
}
