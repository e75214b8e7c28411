//! Sizes and attributes: queue depths and message sizes (zero, negative, over the sysctl and the
//! hard limits), contradictory open flags, semaphore values, segment sizes and mapping ranges,
//! ring capacities, and typed channels beyond the queue limits.

use posix_ipc::{
    ErrorKind, MessageQueue, ObjectKind, Receiver, RingMode, RingSender, Semaphore, Sender,
    SharedMemory, O_CREAT, O_CREX, O_EXCL,
};

use crate::common::Kind;
use crate::fixtures::{Jumbo, Tick, KINDS};
use crate::table::{err, Cat, Table};

pub(crate) fn cases(t: &mut Table) {
    let msg_max = posix_ipc::limits::msg_max().unwrap_or(10);
    let msgsize_max = posix_ipc::limits::msgsize_max().unwrap_or(8192);
    let mq_rows: Vec<(&str, i64, i64, ErrorKind, Option<&str>)> = vec![
        (
            "max_messages 0",
            0,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_message_size 0",
            4,
            0,
            ErrorKind::InvalidArgument,
            Some("max_message_size"),
        ),
        (
            "max_messages -1",
            -1,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_message_size -56",
            4,
            -56,
            ErrorKind::InvalidArgument,
            Some("max_message_size"),
        ),
        (
            "max_messages i64::MIN",
            i64::MIN,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_messages msg_max+1",
            msg_max + 1,
            64,
            ErrorKind::LimitExceeded,
            Some("fs.mqueue.msg_max"),
        ),
        (
            "max_message_size msgsize_max+1",
            4,
            msgsize_max + 1,
            ErrorKind::LimitExceeded,
            Some("fs.mqueue.msgsize_max"),
        ),
        (
            "max_messages 65537 (hard limit)",
            65537,
            64,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
        (
            "max_message_size 16 MiB+1 (hard limit)",
            4,
            (16 << 20) + 1,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
        (
            "max_messages i64::MAX",
            i64::MAX,
            64,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
    ];
    for (label, mm, ms, kind, mention) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("mq new {label}"),
            err(kind),
            move || {
                MessageQueue::new(Some(&m), O_CREX, 0o600, mm, ms, true, true).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            let c = c
                .obj(ObjectKind::MessageQueue)
                .named(&n)
                .fresh(Kind::Mq, &n);
            match mention {
                Some(m) => c.mention(m),
                None => c,
            }
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq builder max_messages usize::MAX",
        err(ErrorKind::LimitExceeded),
        move || {
            MessageQueue::create(&m, usize::MAX, 64).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq builder max_message_size usize::MAX",
        err(ErrorKind::LimitExceeded),
        move || {
            MessageQueue::create(&m, 4, usize::MAX).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq open_or_create max_message_size 0",
        err(ErrorKind::InvalidArgument),
        move || {
            MessageQueue::open_or_create(&m, 4, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    t.here(
        Cat::Sizes,
        "mq create_random max_messages 0",
        err(ErrorKind::InvalidArgument),
        || {
            MessageQueue::create_random(0, 64).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq neither read nor write",
        err(ErrorKind::InvalidArgument),
        move || {
            MessageQueue::options()
                .create_new(true)
                .read(false)
                .write(false)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("{tag} new with O_EXCL without O_CREAT"),
            err(ErrorKind::InvalidArgument),
            move || {
                match kind {
                    Kind::Sem => Semaphore::new(Some(&m), O_EXCL, 0o600, 0).map(drop)?,
                    Kind::Shm => {
                        SharedMemory::new(Some(&m), O_EXCL, 0o600, 4096, false).map(drop)?
                    }
                    Kind::Mq => {
                        MessageQueue::new(Some(&m), O_EXCL, 0o600, 4, 64, true, true).map(drop)?
                    }
                }
                Ok(())
            },
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
        t.here(
            Cat::Sizes,
            format!("{tag} new with name None without O_EXCL"),
            err(ErrorKind::InvalidArgument),
            move || {
                match kind {
                    Kind::Sem => Semaphore::new(None, O_CREAT, 0o600, 0).map(drop)?,
                    Kind::Shm => SharedMemory::new(None, O_CREAT, 0o600, 4096, false).map(drop)?,
                    Kind::Mq => {
                        MessageQueue::new(None, O_CREAT, 0o600, 4, 64, true, true).map(drop)?
                    }
                }
                Ok(())
            },
        );
        t.with(|c| c.obj(object));
    }
    let max = posix_ipc::limits::sem_value_max();
    for (label, value) in [
        ("SEM_VALUE_MAX+1", u64::from(max) + 1),
        ("u32::MAX", u64::from(u32::MAX)),
    ] {
        let n = t.name(Kind::Sem);
        let m = n.clone();
        let value = u32::try_from(value).unwrap_or(u32::MAX);
        t.here(
            Cat::Sizes,
            format!("sem initial value {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                Semaphore::create(&m, value).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::Semaphore)
                .named(&n)
                .fresh(Kind::Sem, &n)
                .mention("SEM_VALUE_MAX")
        });
    }
    let n = t.name(Kind::Sem);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "sem release at SEM_VALUE_MAX",
        err(ErrorKind::Overflow),
        move || {
            let sem = Semaphore::create(&m, max)?;
            sem.release()?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::Semaphore)
            .named(&n)
            .mention("SEM_VALUE_MAX")
    });
    for (label, size) in [("i64::MAX+1", i64::MAX as u64 + 1), ("u64::MAX", u64::MAX)] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("shm create size {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                SharedMemory::create(&m, size).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::SharedMemory)
                .named(&n)
                .fresh(Kind::Shm, &n)
        });
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm resize u64::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?.resize(u64::MAX)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map a size-0 segment",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create_new(true)
                .open(&m)?
                .map()
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range length 0",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?.map_range(0, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range past the end",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 4096)?
                .map_range(4000, 200)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range offset u64::MAX (overflow)",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 4096)?
                .map_range(u64::MAX, 16)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm read_only with a size",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create(true)
                .read_only(true)
                .size(4096)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm read_only with truncate",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create(true)
                .read_only(true)
                .truncate(true)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm size 2^50 (beyond /dev/shm)",
        err(ErrorKind::NoSpace),
        move || {
            SharedMemory::create(&m, 1 << 50).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
            .mention("/dev/shm")
    });
    for capacity in [0usize, 1, 3, 1 << 31] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("ring capacity {capacity}"),
            err(ErrorKind::InvalidArgument),
            move || {
                RingSender::<Tick>::create(&m, capacity, RingMode::Spsc).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::Ring)
                .named(&n)
                .fresh(Kind::Shm, &n)
                .mention("power of two")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Sender capacity 0",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Receiver capacity msg_max+1",
        err(ErrorKind::LimitExceeded),
        move || {
            Receiver::<Tick>::create(&m, usize::try_from(msg_max + 1).unwrap_or(11)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
            .mention("fs.mqueue.msg_max")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Sender of an 8200-byte type",
        err(ErrorKind::LimitExceeded),
        move || {
            Sender::<Jumbo>::create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
            .mention("fs.mqueue.msgsize_max")
    });
}
