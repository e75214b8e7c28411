//! What the cases share: the message types and the helpers that make, open and remove objects
//! of each kind.

use posix_ipc::{Error, IpcMessage, MessageQueue, ObjectKind, Semaphore, SharedMemory};

use crate::common::Kind;
use crate::table::Out;

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
#[ipc(priority = 4)]
pub(crate) struct Tick {
    pub(crate) seq: u64,
    pub(crate) value: u64,
}

/// Same size as `Tick` (16 bytes), another layout: only the fingerprint tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
pub(crate) struct Other16 {
    pub(crate) a: u32,
    pub(crate) b: u32,
    pub(crate) c: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
pub(crate) struct Wide {
    pub(crate) w: [u64; 8],
}

/// 8200 bytes: above `fs.mqueue.msgsize_max` (8192) without CAP_SYS_RESOURCE.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(max_message_size = 16384)]
pub(crate) struct Jumbo {
    pub(crate) w: [u64; 1025],
}

pub(crate) const TICK: Tick = Tick { seq: 1, value: 2 };

pub(crate) const KINDS: [(Kind, ObjectKind, &str); 3] = [
    (Kind::Sem, ObjectKind::Semaphore, "sem"),
    (Kind::Shm, ObjectKind::SharedMemory, "shm"),
    (Kind::Mq, ObjectKind::MessageQueue, "mq"),
];

pub(crate) fn create_new(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => Semaphore::create(name, 0).map(drop)?,
        Kind::Shm => SharedMemory::create(name, 4096).map(drop)?,
        Kind::Mq => MessageQueue::create(name, 4, 64).map(drop)?,
    }
    Ok(())
}

pub(crate) fn open(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => Semaphore::open(name).map(drop)?,
        Kind::Shm => SharedMemory::open(name).map(drop)?,
        Kind::Mq => MessageQueue::open(name).map(drop)?,
    }
    Ok(())
}

pub(crate) fn unlink(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => posix_ipc::unlink_semaphore(name)?,
        Kind::Shm => posix_ipc::unlink_shared_memory(name)?,
        Kind::Mq => posix_ipc::unlink_message_queue(name)?,
    }
    Ok(())
}

/// The file behind a name: `/dev/shm/NAME`, `/dev/shm/sem.NAME`, `/dev/mqueue/NAME`.
pub(crate) fn path_of(kind: Kind, name: &str) -> String {
    let body = name.trim_start_matches('/');
    match kind {
        Kind::Sem => format!("/dev/shm/sem.{body}"),
        Kind::Shm => format!("/dev/shm/{body}"),
        Kind::Mq => format!("/dev/mqueue/{body}"),
    }
}

pub(crate) fn exists(kind: Kind, name: &str) -> bool {
    std::fs::symlink_metadata(path_of(kind, name)).is_ok()
}

pub(crate) fn still_exists(kind: Kind, name: String) -> impl FnOnce() -> Result<(), String> {
    move || {
        if exists(kind, &name) {
            Ok(())
        } else {
            Err(format!("{name} was removed by a call that failed"))
        }
    }
}

pub(crate) fn mq(name: &str) -> Result<MessageQueue, Error> {
    MessageQueue::create(name, 4, 64)
}

pub(crate) fn full_mq(name: &str) -> Result<MessageQueue, Error> {
    let q = MessageQueue::create(name, 2, 64)?;
    q.send(b"a", 0)?;
    q.send(b"b", 0)?;
    Ok(q)
}

pub(crate) fn returned_check(len: usize, priority: u32) -> impl Fn(&Error) -> Result<(), String> {
    move |e| match e.returned() {
        Some(r)
            if r.bytes.len() == len
                && r.bytes.iter().all(|b| *b == 0xAB)
                && r.priority == priority =>
        {
            Ok(())
        }
        Some(r) => Err(format!(
            "handed back {} bytes with priority {}, expected {len} bytes of 0xAB with priority \
             {priority}",
            r.bytes.len(),
            r.priority
        )),
        None => Err("WrongLength without the bytes handed back".into()),
    }
}
