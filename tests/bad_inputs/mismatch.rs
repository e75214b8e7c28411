//! Mismatched attributes on open: typed queues, `Shared`, rings and the robust mutex opened on an
//! object made for another type, size, capacity or mode, or on foreign or half-made segments;
//! `open_or_create` keeping what exists.

use std::time::{Duration, Instant};

use posix_ipc::{
    ErrorKind, MessageQueue, ObjectKind, Receiver, RingMode, RingReceiver, RingSender, RobustMutex,
    Semaphore, Sender, Shared, SharedMemory,
};

use crate::common::Kind;
use crate::fixtures::{mq, Other16, Tick, Wide, TICK};
use crate::table::{ensure, err, Cat, Table, OK};

pub(crate) fn cases(t: &mut Table) {
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Receiver<Tick> on a queue made for Wide",
        err(ErrorKind::Mismatch),
        move || {
            let _tx = Sender::<Wide>::create(&m, 2)?;
            Receiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .mention("64 bytes")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender<Tick> on a raw 4 x 64 queue",
        err(ErrorKind::Mismatch),
        move || {
            let _q = mq(&m)?;
            Sender::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .mention("16 bytes")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Receiver open_or_create on another type's queue",
        err(ErrorKind::Mismatch),
        move || {
            let _q = mq(&m)?;
            Receiver::<Tick>::open_or_create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender open_or_create on another type's queue",
        err(ErrorKind::Mismatch),
        move || {
            let _rx = Receiver::<Wide>::create(&m, 2)?;
            Sender::<Tick>::open_or_create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender::from_queue with a 64-byte queue",
        err(ErrorKind::Mismatch),
        move || {
            Sender::<Tick>::from_queue(mq(&m)?).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Mismatch,
        "mq open_or_create keeps the existing sizes (A1)",
        OK,
        move || {
            let _first = mq(&n)?;
            let again = MessageQueue::open_or_create(&n, 8, 128)?;
            ensure(
                !again.created() && again.max_messages() == 4 && again.max_message_size() == 64,
                || {
                    format!(
                        "created {} sizes {} x {}",
                        again.created(),
                        again.max_messages(),
                        again.max_message_size()
                    )
                },
            )
        },
    );
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Mismatch,
        "sem open_or_create ignores the new value (A2)",
        OK,
        move || {
            let _first = Semaphore::create(&n, 1)?;
            let again = Semaphore::open_or_create(&n, 77)?;
            let v = again.value()?;
            ensure(!again.created() && v == 1, || {
                format!("created {} value {v}", again.created())
            })
        },
    );
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared<Tick> on a Shared<Wide> segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Wide { w: [0; 8] })?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("fingerprint")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared<Tick> on a same-size Other16 segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Other16 { a: 1, b: 2, c: 3 })?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("fingerprint")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open_or_create on another type",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Other16 { a: 1, b: 2, c: 3 })?;
            Shared::open_or_create(&m, &TICK).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared on a segment of foreign bytes",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 8192)?
                .map()?
                .write_at(0, &[0x5Au8; 8192])?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("not a posix-ipc shared struct")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of a size-0 segment (creator not done)",
        err(ErrorKind::NotInitialized),
        move || {
            let _s = SharedMemory::options().create_new(true).open(&m)?;
            Shared::<Tick>::open_timeout(&m, Duration::from_millis(5)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of a sized all-zero segment (creator between resize and header)",
        err(ErrorKind::NotInitialized),
        move || {
            // The exact size a creator makes for Tick: a 64-byte header and two 64-byte slots.
            let _s = SharedMemory::create(&m, 192)?;
            Shared::<Tick>::open_timeout(&m, Duration::from_millis(5)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of an all-zero segment of a size no creator makes (not waited for)",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 4096)?;
            let started = Instant::now();
            let got = Shared::<Tick>::open(&m).map(drop);
            ensure(started.elapsed() < Duration::from_millis(500), || {
                format!(
                    "waited {:?} for a creator that cannot exist",
                    started.elapsed()
                )
            })?;
            got?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("RawShared")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Ring open of a sized all-zero segment (creator between resize and header)",
        err(ErrorKind::NotInitialized),
        move || {
            let _s = SharedMemory::create(&m, 8192)?;
            RingReceiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RingSender<Wide> on a Tick ring",
        err(ErrorKind::Mismatch),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
            RingSender::<Wide>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n).mention("fingerprint"));
    for (label, cap, mode) in [
        ("capacity 8", 8usize, RingMode::Spsc),
        ("mode Mpmc", 4, RingMode::Mpmc),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Mismatch,
            format!("ring open_checked {label} on a 4-slot Spsc ring"),
            err(ErrorKind::Mismatch),
            move || {
                let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
                RingSender::<Tick>::open_checked(&m, cap, mode).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Ring).named(&n).mention("capacity"));
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RingReceiver on a segment of foreign bytes",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 8192)?
                .map()?
                .write_at(0, &[0x5Au8; 8192])?;
            RingReceiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::Ring)
            .named(&n)
            .mention("not a posix-ipc ring")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RobustMutex on a Shared segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Wide { w: [1; 8] })?;
            RobustMutex::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.named(&n));
}
