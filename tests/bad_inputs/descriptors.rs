//! Descriptor misuse: calls the handle's access mode does not allow (read-only and write-only
//! queues, read-only segments and mappings), double unlinks, use after close, and descriptors
//! closed behind a handle's back (in a child process).

use posix_ipc::{
    ErrorKind, MessageQueue, ObjectKind, Receiver, Semaphore, Sender, SharedMemory, Timeout,
};

use crate::common::Kind;
use crate::fixtures::{create_new, mq, unlink, Tick, KINDS};
use crate::table::{ensure, err, Cat, Table, OK};

pub(crate) fn cases(t: &mut Table) {
    let pd = err(ErrorKind::PermissionDenied);
    let mq_rows: Vec<(&str, bool, bool, &str)> = vec![
        ("send on a read-only queue", true, false, "send"),
        ("receive on a write-only queue", false, true, "receive"),
        (
            "try_receive on a write-only queue",
            false,
            true,
            "try_receive",
        ),
        (
            "receive_into on a write-only queue",
            false,
            true,
            "receive_into",
        ),
    ];
    for (label, read, write, call) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(Cat::Descriptors, format!("mq {label}"), pd, move || {
            let _fixture = mq(&m)?;
            let q = MessageQueue::options().read(read).write(write).open(&m)?;
            let mut buf = [0u8; 64];
            match call {
                "send" => q.send(b"x", 0)?,
                "receive" => q.receive().map(drop)?,
                "try_receive" => q.try_receive().map(drop)?,
                _ => q.receive_into(&mut buf, Timeout::Immediate).map(drop)?,
            }
            Ok(())
        });
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("not open for")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "raw send through a typed Receiver's queue",
        pd,
        move || {
            Receiver::<Tick>::create(&m, 2)?.queue().send(b"x", 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "raw receive through a typed Sender's queue",
        pd,
        move || {
            Sender::<Tick>::create(&m, 2)?.queue().try_receive()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm resize through a read-only handle",
        pd,
        move || {
            let _rw = SharedMemory::create(&m, 4096)?;
            SharedMemory::options()
                .read_only(true)
                .open(&m)?
                .resize(8192)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("read-only")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm write through a read-only mapping",
        pd,
        move || {
            let _rw = SharedMemory::create(&m, 4096)?;
            SharedMemory::options()
                .read_only(true)
                .open(&m)?
                .map()?
                .write_at(0, b"x")?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("read-only")
    });
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Descriptors,
            format!("{tag} unlink twice"),
            err(ErrorKind::NotFound),
            move || {
                create_new(kind, &m)?;
                unlink(kind, &m)?;
                unlink(kind, &m)
            },
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm unlink through ClosedSharedMemory twice",
        err(ErrorKind::NotFound),
        move || {
            let closed = SharedMemory::create(&m, 4096)?.close_fd()?;
            closed.unlink()?;
            closed.unlink()?;
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
        Cat::Descriptors,
        "mapping outlives close_fd and unlink",
        OK,
        move || {
            let shm = SharedMemory::create(&m, 4096)?;
            let map = shm.map()?;
            map.write_at(0, b"kept")?;
            shm.close_fd()?.unlink()?;
            let mut buf = [0u8; 4];
            map.read_at(0, &mut buf)?;
            ensure(&buf == b"kept", || format!("{buf:?}"))
        },
    );
    t.with(|c| c.fresh(Kind::Shm, &n));
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Descriptors,
        "sem unlink by name after close",
        OK,
        move || {
            Semaphore::create(&n, 0)?.close()?;
            posix_ipc::unlink_semaphore(&n)?;
            Ok(())
        },
    );
    let closed = err(ErrorKind::Closed);
    for (label, action, kind) in [
        (
            "mq send after its descriptor was closed behind its back",
            "mq-send-closed",
            Kind::Mq,
        ),
        (
            "mq receive after its descriptor was closed behind its back",
            "mq-recv-closed",
            Kind::Mq,
        ),
        (
            "mq current_messages after its descriptor was closed",
            "mq-attr-closed",
            Kind::Mq,
        ),
        (
            "shm size after its descriptor was closed behind its back",
            "shm-size-closed",
            Kind::Shm,
        ),
        (
            "shm map after its descriptor was closed behind its back",
            "shm-map-closed",
            Kind::Shm,
        ),
    ] {
        let name = t.name(kind);
        t.child(Cat::Descriptors, label, closed, "none", action, &[&name]);
        t.with(|c| c.named(&name));
    }
}
