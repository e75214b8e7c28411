//! Limits the running system decides, read when asked (never frozen at build time).
//!
//! posix_ipc bakes `fs.mqueue.msg_max`, `msgsize_max` and the page size into its binary when it
//! is built; a wheel built elsewhere then reports another machine's limits (its issues #21, #42,
//! #103). Every function here reads the live value.
//!
//! ```
//! let limits = posix_ipc_core::limits::Limits::read();
//! assert!(limits.page_size >= 4096);
//! println!("{limits:#?}");
//! ```

use crate::sys;

fn read_proc(name: &str) -> Option<i64> {
    std::fs::read_to_string(format!("/proc/sys/fs/mqueue/{name}"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `fs.mqueue.msg_max`: the most messages a queue may hold without `CAP_SYS_RESOURCE`.
pub fn msg_max() -> Option<i64> {
    read_proc("msg_max")
}

/// `fs.mqueue.msgsize_max`: the largest message size without `CAP_SYS_RESOURCE`.
pub fn msgsize_max() -> Option<i64> {
    read_proc("msgsize_max")
}

/// `fs.mqueue.msg_default`: the message count of a queue created without attributes.
pub fn msg_default() -> Option<i64> {
    read_proc("msg_default")
}

/// `fs.mqueue.msgsize_default`: the message size of a queue created without attributes.
pub fn msgsize_default() -> Option<i64> {
    read_proc("msgsize_default")
}

/// `fs.mqueue.queues_max`: the most queues the system (IPC namespace) may hold.
pub fn queues_max() -> Option<i64> {
    read_proc("queues_max")
}

/// `RLIMIT_MSGQUEUE` (soft, hard) in bytes: the queue memory one user may hold.
pub fn rlimit_msgqueue() -> Option<(u64, u64)> {
    sys::getrlimit(libc::RLIMIT_MSGQUEUE).ok()
}

/// `RLIMIT_NOFILE` (soft, hard): the descriptors one process may hold.
pub fn rlimit_nofile() -> Option<(u64, u64)> {
    sys::getrlimit(libc::RLIMIT_NOFILE).ok()
}

/// The page size (`sysconf(_SC_PAGESIZE)`).
pub fn page_size() -> usize {
    sys::sysconf(libc::_SC_PAGESIZE).map_or(4096, |v| v as usize)
}

/// `SEM_VALUE_MAX` (`sysconf(_SC_SEM_VALUE_MAX)`): the largest value a semaphore may hold.
pub fn sem_value_max() -> u32 {
    sys::sysconf(libc::_SC_SEM_VALUE_MAX).map_or(i32::MAX as u32, |v| v.min(u32::MAX.into()) as u32)
}

/// `sysconf(_SC_MQ_PRIO_MAX)`: one more than the highest message priority.
pub fn mq_prio_max() -> i64 {
    sys::sysconf(libc::_SC_MQ_PRIO_MAX).unwrap_or(32768)
}

/// The kernel's hard ceiling on `mq_msgsize`, even with `CAP_SYS_RESOURCE` (`HARD_MSGSIZEMAX`).
pub const HARD_MSGSIZE_MAX: i64 = 16 * 1024 * 1024;
/// The kernel's hard ceiling on `mq_maxmsg`, even with `CAP_SYS_RESOURCE` (`HARD_MSGMAX`).
pub const HARD_MSG_MAX: i64 = 65536;

/// Bytes a queue is charged against `RLIMIT_MSGQUEUE`, as the kernel computes it
/// (`ipc/mqueue.c`): each message costs its size plus a `struct msg_msg` header, plus the
/// priority tree's bookkeeping. This is an upper estimate used to explain `EMFILE`.
pub fn queue_bytes(max_messages: i64, max_message_size: i64) -> i64 {
    let per_msg_overhead = 48 + 40; // sizeof(struct msg_msg) + sizeof(struct posix_msg_tree_node)
    max_messages.saturating_mul(max_message_size.saturating_add(per_msg_overhead))
}

/// Every limit at once, for printing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// `fs.mqueue.msg_max`.
    pub msg_max: Option<i64>,
    /// `fs.mqueue.msgsize_max`.
    pub msgsize_max: Option<i64>,
    /// `fs.mqueue.msg_default`.
    pub msg_default: Option<i64>,
    /// `fs.mqueue.msgsize_default`.
    pub msgsize_default: Option<i64>,
    /// `fs.mqueue.queues_max`.
    pub queues_max: Option<i64>,
    /// `RLIMIT_MSGQUEUE` (soft, hard).
    pub rlimit_msgqueue: Option<(u64, u64)>,
    /// `RLIMIT_NOFILE` (soft, hard).
    pub rlimit_nofile: Option<(u64, u64)>,
    /// Page size.
    pub page_size: usize,
    /// `SEM_VALUE_MAX`.
    pub sem_value_max: u32,
    /// `MQ_PRIO_MAX` (one more than the highest priority).
    pub mq_prio_max: i64,
}

impl Limits {
    /// Reads every limit now.
    pub fn read() -> Limits {
        Limits {
            msg_max: msg_max(),
            msgsize_max: msgsize_max(),
            msg_default: msg_default(),
            msgsize_default: msgsize_default(),
            queues_max: queues_max(),
            rlimit_msgqueue: rlimit_msgqueue(),
            rlimit_nofile: rlimit_nofile(),
            page_size: page_size(),
            sem_value_max: sem_value_max(),
            mq_prio_max: mq_prio_max(),
        }
    }
}
