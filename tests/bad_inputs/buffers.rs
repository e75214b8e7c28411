//! Buffers and lengths: receive buffers too short, messages too long, raw messages of the wrong
//! length for a typed receiver, and `RawShared` and mapping offsets past the end.

use std::time::Duration;

use posix_ipc::{ErrorKind, MessageQueue, ObjectKind, RawShared, Receiver, SharedMemory, Timeout};

use crate::common::Kind;
use crate::fixtures::{full_mq, mq, returned_check, Tick, Wide, TICK};
use crate::table::{ensure, err, Cat, Table, OK};

pub(crate) fn cases(t: &mut Table) {
    for (label, len) in [
        ("0 bytes", 0usize),
        ("63 of 64 bytes", 63),
        ("1 byte for a 1-byte message", 1),
    ] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("receive_into {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                let q = mq(&m)?;
                q.send(b"x", 0)?;
                let mut buf = vec![0u8; len];
                q.receive_into(&mut buf, Timeout::Immediate)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("max_message_size")
        });
    }
    for (label, len) in [
        ("65 bytes on a 64-byte queue", 65usize),
        ("8193 bytes", 8193),
        ("1 MiB", 1 << 20),
    ] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("send {label}"),
            err(ErrorKind::MessageTooLarge),
            move || {
                mq(&m)?.send(&vec![0u8; len], 0)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("max_message_size")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "try_send too long on a full queue",
        err(ErrorKind::MessageTooLarge),
        move || {
            full_mq(&m)?.try_send(&[0u8; 65], 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Buffers,
        "zero-length message is legal",
        OK,
        move || {
            let q = mq(&n)?;
            q.send(b"", 0)?;
            let (bytes, _) = q.try_receive()?;
            ensure(bytes.is_empty(), || format!("{} bytes", bytes.len()))
        },
    );
    // A raw sender puts a message of the wrong length into a typed queue (R3).
    let rows: Vec<(&str, usize, u32, &str)> = vec![
        ("0-byte", 0, 0, "recv"),
        ("1-byte", 1, 7, "recv"),
        ("15-byte", 15, 9, "try_recv"),
        ("8-byte", 8, 32767, "recv_timeout"),
    ];
    for (label, len, prio, call) in rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("typed {call} of a {label} raw message"),
            err(ErrorKind::WrongLength),
            move || {
                let rx = Receiver::<Tick>::create(&m, 2)?;
                MessageQueue::options()
                    .write(true)
                    .read(false)
                    .open(&m)?
                    .send(&vec![0xABu8; len], prio)?;
                match call {
                    "recv" => rx.recv().map(drop)?,
                    "try_recv" => rx.try_recv().map(drop)?,
                    _ => rx.recv_timeout(Duration::from_secs(5)).map(drop)?,
                }
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("bytes")
                .check(returned_check(len, prio))
        });
    }
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Buffers,
        "typed receiver keeps working after a wrong length",
        OK,
        move || {
            let rx = Receiver::<Tick>::create(&n, 2)?;
            let raw = MessageQueue::options().read(false).open(&n)?;
            raw.send(b"short", 9)?;
            raw.send(bytemuck::bytes_of(&TICK), 1)?;
            let first = rx.try_recv();
            ensure(
                matches!(&first, Err(e) if e.kind() == ErrorKind::WrongLength),
                || format!("{first:?}"),
            )?;
            let second = rx.try_recv()?;
            ensure(second == TICK, || format!("{second:?}"))
        },
    );
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "RawShared<64 bytes> on a 16-byte segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 16)?;
            RawShared::<Wide>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("16 bytes")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "RawShared open_at past the end",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 4096)?;
            RawShared::<Tick>::open_at(&m, 4090).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    for (label, offset, len) in [
        ("read_at past the end", 4090usize, 16usize),
        ("read_at offset usize::MAX", usize::MAX, 1),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("mapping {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                let map = SharedMemory::create(&m, 4096)?.map()?;
                let mut buf = vec![0u8; len];
                map.read_at(offset, &mut buf)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::SharedMemory)
                .named(&n)
                .mention("past the end")
        });
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "mapping write_at offset usize::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?
                .map()?
                .write_at(usize::MAX, b"xy")?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
}
