//! Finding the objects that exist, who holds them, what this crate's segments contain, and
//! which objects are left over from crashed runs.
//!
//! POSIX objects outlive their processes. After a crash (or a `kill -9`) the next run finds its
//! names taken; [`list`] tells what exists, who still has each object open or mapped (from
//! `/proc/*/fd` and `/proc/*/maps`), and for this crate's own segments (rings, `Shared<T>`,
//! `RobustMutex`, typed-queue companions) what their header says: kind, message size and layout
//! fingerprint, capacity and queued count, the live producers and consumers of the peer tables,
//! the lock holder. [`clean_stale`] removes exactly the objects that no live process holds, and
//! says for each why it is stale. `posix-ipc ls --holders` and `posix-ipc clean --stale` are
//! these two calls.
//!
//! ```
//! use posix_ipc_core::lifecycle::{self, Filter, State};
//! use posix_ipc_core::{ObjectKind, SharedMemory};
//!
//! # let name = format!("/doc-lifecycle-{}", std::process::id());
//! let shm = SharedMemory::create(&name, 4096)?;
//! let info = lifecycle::inspect(ObjectKind::SharedMemory, &name, true)?;
//! assert!(matches!(info.state, State::InUse(_)));           // this process holds it
//! drop(shm);                                                  // closed, name still there
//! let stale = lifecycle::clean_stale(&Filter::new().prefix(&name), true)?; // dry run
//! assert_eq!(stale.len(), 1);
//! println!("{}: {}", stale[0].object.name, stale[0].reason);  // "no process has it open or mapped"
//! lifecycle::clean_stale(&Filter::new().prefix(&name), false)?;
//! assert!(SharedMemory::open(&name).is_err());
//! # Ok::<(), posix_ipc_core::Error>(())
//! ```
//!
//! # After a crash, and how to stop
//!
//! Named objects outlive the processes that use them: that is what lets a consumer start after
//! its producer, and what leaves `/dev/shm` full of leftovers after a crash. What happens on
//! each way out of a process:
//!
//! | the process ends by | its handles | names held by [`Owned`](crate::Owned) handles | peers on the other side |
//! |---|---|---|---|
//! | returning from `main`, `?`, `drop` | closed | removed | typed queues, rings and topics: [`Disconnected`](crate::ErrorKind::Disconnected) once drained (within 100 ms for a queue, at once for a ring) |
//! | a panic (unwinding) | closed | removed while it unwinds | as above |
//! | Ctrl-C / SIGTERM, [`signals`](crate::signals) on | blocked calls return [`Cancelled`](crate::ErrorKind::Cancelled), the program unwinds | removed | as above |
//! | a second Ctrl-C / SIGTERM | closed by the kernel | removed by the signal thread, then the process dies of the signal | as above |
//! | Ctrl-C / SIGTERM without `signals`, SIGKILL, `panic = "abort"` | closed by the kernel | **left behind** | as above (the ring, the topic and the typed queue see the process gone); a [`RobustMutex`](crate::RobustMutex) it held goes to the next locker with `previous_owner_died()` |
//!
//! - **Own what you create.** Every kind has `create_owned` (or wrap a handle in
//!   [`Owned::new`](crate::Owned::new)): the name is removed when the owner is dropped, only if
//!   that handle created it, and only if the name still refers to that object
//!   ([`owned`](crate::owned)).
//! - **Stop a blocked call.** A [`CancelToken`](crate::CancelToken) attached with `with_cancel`
//!   stops that handle's waits from any thread, and
//!   [`signals::stop_on_signals`](crate::signals::stop_on_signals), called once, makes Ctrl-C
//!   and SIGTERM stop them all ([`cancel`](crate::cancel) says how fast each wait notices).
//!   Nothing is sent, received or acquired by a stopped call.
//! - **Find and remove leftovers.** [`list`] and [`inspect`] show each object's kind (including
//!   this crate's ring, shared, mutex, topic and queue-companion segments with what their
//!   headers say), whether a live process holds it ([`State`]) and which processes;
//!   [`clean_stale`] removes exactly what no live process holds. From the shell:
//!   `posix-ipc ls --holders` and `posix-ipc clean --stale` (`--dry-run` only lists). A create
//!   that finds its name taken says that it may be left over from a crashed run, and names both.
//!
//! # What can and cannot be seen
//!
//! Holders are found by device and inode, so an object is matched exactly, whatever path a
//! process reached it by. A process whose `/proc/PID/fd` this process may not read cannot be
//! inspected: another user's (without privileges), a process that is not dumpable (a
//! set-user-ID program), or one a security module or sandbox guards even from root (the init of
//! some virtual machines and containers). Its holdings are not seen, so an object only such a
//! process holds would look stale. Each object names in [`ObjectInfo::unreadable`] the
//! unreadable processes that could hold it: those whose credentials let them open it (its
//! owner, its group if the mode lets the group in, anyone if it lets others in, or a process
//! with `CAP_DAC_OVERRIDE` or `CAP_DAC_READ_SEARCH`), leaving out processes whose mappings were
//! read when the object is a semaphore (always used mapped). Zombies, exiting processes and
//! kernel threads hold nothing and are skipped. A descriptor passed over a Unix socket, or
//! opened before a `chmod`, is not foreseen. [`clean_stale`] still removes an object such a
//! process could hold: a privileged process could hold any object, and most systems run some
//! that an unprivileged user cannot read (init and other daemons), so refusing would leave
//! every leftover in place. Check [`ObjectInfo::unreadable`] of what it returns, or of a
//! [`list`] with [`Filter::holders`] before cleaning. The default [`Filter`] lists only this
//! user's objects, which other users' processes can open only if their mode allows.
//! Queues are listed from the mqueue filesystem, which must be mounted at `/dev/mqueue`
//! ([`mount_mqueue`] does it where this process may).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::sys;

use crate::name::{queue_path, segment_path, semaphore_path};
pub use crate::name::{MQUEUE_DIR, SHM_DIR};
pub use crate::typed::describe::SegmentInfo;

mod details;
mod mqueue;
mod scan;
mod select;
mod stale;

use details::fill_details;
pub use mqueue::{mount_mqueue, mqueue_mounted, queue_bytes};
use scan::scan_processes;
pub use select::{glob_matches, topic_names};
use stale::{judge, remove_if_same};

/// Which objects [`list`] and [`clean_stale`] consider.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    prefix: Option<String>,
    all_users: bool,
    holders: bool,
}

impl Filter {
    /// This user's objects of every name; holders not looked up.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Only names starting with `prefix` (the leading slash is optional).
    pub fn prefix(mut self, prefix: &str) -> Filter {
        let p = prefix.strip_prefix('/').unwrap_or(prefix);
        self.prefix = Some(format!("/{p}"));
        self
    }

    /// Also other users' objects (default: only those owned by this process's effective user).
    pub fn all_users(mut self, all: bool) -> Filter {
        self.all_users = all;
        self
    }

    /// Look up which processes hold each object, and judge whether it is stale
    /// ([`ObjectInfo::state`]). [`clean_stale`] always does.
    pub fn holders(mut self, holders: bool) -> Filter {
        self.holders = holders;
        self
    }

    fn matches(&self, name: &str, uid: u32) -> bool {
        self.prefix.as_deref().is_none_or(|p| name.starts_with(p))
            && (self.all_users || uid == sys::effective_uid())
    }
}

/// A process that holds an object.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub command: String,
    /// Whether it has a descriptor of the object open.
    pub open: bool,
    /// Whether it has the object mapped.
    pub mapped: bool,
}

/// A live process whose descriptors (and maybe mappings) could not be read, so it may hold
/// objects without being listed as their holder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnreadableProcess {
    /// Its process id.
    pub pid: u32,
    /// Its command name (`/proc/PID/comm`).
    pub command: String,
    /// Its effective user id, if its status was readable.
    pub uid: Option<u32>,
    /// Whether its mappings (`/proc/PID/maps`) were read: then what it maps was seen, and only
    /// what it holds by descriptor was not.
    pub maps_readable: bool,
    /// Why it could not be read and what would let it be read, in words.
    pub reason: String,
    credentials: Option<scan::Credentials>,
}

/// Whether an object is in use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Not judged: holders were not looked up ([`Filter::holders`]).
    Unchecked,
    /// A live process holds it (or is registered in its peer tables); why.
    InUse(String),
    /// No live process holds it: left over; why.
    Stale(String),
}

/// One object.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Semaphore, shared memory or message queue.
    pub kind: ObjectKind,
    /// Its name, with the leading slash.
    pub name: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Size in bytes (segments).
    pub size: Option<u64>,
    /// Current value (semaphores, when this user may open it).
    pub value: Option<u32>,
    /// Messages queued now (queues, when this user may open it).
    pub messages: Option<usize>,
    /// Capacity in messages (queues).
    pub max_messages: Option<usize>,
    /// Largest message in bytes (queues).
    pub max_message_size: Option<usize>,
    /// Bytes of message data queued now (`QSIZE` of the mqueue file).
    pub queue_bytes: Option<u64>,
    /// For this crate's segments, what the header says.
    pub segment: Option<SegmentInfo>,
    /// Processes holding it (when asked for).
    pub holders: Vec<Holder>,
    /// Whether it is in use or stale (when holders were asked for).
    pub state: State,
    /// Processes that could not be inspected and could hold it without being in
    /// [`holders`](Self::holders) (when holders were asked for): if it is judged stale, they
    /// are why that may be wrong.
    pub unreadable: Vec<UnreadableProcess>,
    id: (u64, u64),
    gid: u32,
}

impl ObjectInfo {
    /// The kind in the CLI's words: `shm`, `sem`, `mq`, or for this crate's segments `ring`,
    /// `shared`, `mutex`, `mq-companion`.
    pub fn kind_label(&self) -> &'static str {
        match (&self.segment, self.kind) {
            (Some(seg), _) => seg.kind.short(),
            (None, ObjectKind::Semaphore) => "sem",
            (None, ObjectKind::MessageQueue) => "mq",
            (None, _) => "shm",
        }
    }
}

/// The result of [`list`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Listing {
    /// The objects, sorted by kind and name.
    pub objects: Vec<ObjectInfo>,
    /// The processes that could not be inspected and could hold one of the objects listed
    /// (when holders were asked for), sorted by pid. Each object names its own in
    /// [`ObjectInfo::unreadable`].
    pub unreadable: Vec<UnreadableProcess>,
    /// What could not be listed, in words.
    pub notes: Vec<String>,
}

/// One object [`clean_stale`] removed (or would remove).
#[derive(Debug)]
#[non_exhaustive]
pub struct Removal {
    /// The object, as listed.
    pub object: ObjectInfo,
    /// Why it is stale.
    pub reason: String,
    /// The removal's outcome (`Ok` for a dry run).
    pub outcome: Result<()>,
}

/// Lists the objects `filter` selects: segments and semaphores from [`SHM_DIR`], queues from
/// [`MQUEUE_DIR`] (if mounted: see [`mount_mqueue`]), with their sizes, values and depths, the
/// headers of this crate's segments and, if asked, their holders and state.
pub fn list(filter: &Filter) -> Listing {
    let mut listing = Listing::default();
    let mut found = Vec::new();
    match fs::read_dir(SHM_DIR) {
        Ok(dir) => {
            for item in dir.flatten() {
                let Ok(md) = item.metadata() else { continue };
                if !md.is_file() {
                    continue;
                }
                let file = item.file_name().to_string_lossy().into_owned();
                let (kind, name) = match file.strip_prefix("sem.") {
                    Some(sem) => (ObjectKind::Semaphore, format!("/{sem}")),
                    None => (ObjectKind::SharedMemory, format!("/{file}")),
                };
                if filter.matches(&name, md.uid()) {
                    found.push(bare(kind, name, &md));
                }
            }
        }
        Err(e) => listing.notes.push(format!(
            "shared memory and semaphores not listed: cannot read {SHM_DIR}: {e}"
        )),
    }
    if mqueue_mounted() {
        match fs::read_dir(MQUEUE_DIR) {
            Ok(dir) => {
                for item in dir.flatten() {
                    let Ok(md) = item.metadata() else { continue };
                    if !md.is_file() {
                        continue;
                    }
                    let name = format!("/{}", item.file_name().to_string_lossy());
                    if filter.matches(&name, md.uid()) {
                        let mut info = bare(ObjectKind::MessageQueue, name, &md);
                        info.queue_bytes = queue_bytes(&info.name);
                        info.size = None;
                        found.push(info);
                    }
                }
            }
            Err(e) => listing.notes.push(format!(
                "message queues not listed: cannot read {MQUEUE_DIR}: {e}"
            )),
        }
    } else {
        listing.notes.push(format!(
            "message queues not listed: the mqueue filesystem is not mounted at {MQUEUE_DIR} \
             (as root: `mkdir -p {MQUEUE_DIR} && mount -t mqueue none {MQUEUE_DIR}`)"
        ));
    }
    // Holders first: the inspection below opens and maps objects itself.
    if filter.holders {
        let ids: HashSet<(u64, u64)> = found.iter().map(|o| o.id).collect();
        let scan = scan_processes(&ids);
        for o in &mut found {
            o.holders = scan.by_id.get(&o.id).cloned().unwrap_or_default();
            o.unreadable = scan
                .unreadable
                .iter()
                .filter(|p| p.could_hold(o))
                .cloned()
                .collect();
        }
        listing.unreadable = scan
            .unreadable
            .into_iter()
            .filter(|p| found.iter().any(|o| o.unreadable.contains(p)))
            .collect();
    }
    let queues: HashMap<String, (u64, u64)> = found
        .iter()
        .filter(|o| o.kind == ObjectKind::MessageQueue)
        .map(|o| (o.name.clone(), o.id))
        .collect();
    for o in &mut found {
        fill_details(o, &queues);
    }
    if filter.holders {
        let held: HashMap<String, bool> = found
            .iter()
            .filter(|o| o.kind == ObjectKind::MessageQueue)
            .map(|o| (o.name.clone(), !o.holders.is_empty()))
            .collect();
        for o in &mut found {
            o.state = judge(o, &held);
        }
    }
    found.sort_by(|a, b| (order(a.kind), &a.name).cmp(&(order(b.kind), &b.name)));
    listing.objects = found;
    listing
}

/// One object by kind and name, with its details and (if `holders`) its holders and state.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] if no such object exists; [`ErrorKind::InvalidName`] for a
/// malformed name; [`ErrorKind::Unsupported`] for a queue when the mqueue filesystem is not
/// mounted (see [`mount_mqueue`]).
pub fn inspect(kind: ObjectKind, name: &str, holders: bool) -> Result<ObjectInfo> {
    let op = Operation::Stat;
    let valid = Name::new(kind, name, op)?;
    let path = match kind {
        ObjectKind::Semaphore => semaphore_path(&valid),
        ObjectKind::MessageQueue => {
            if !mqueue_mounted() {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    op,
                    valid.object(kind),
                    format!(
                        "the mqueue filesystem is not mounted at {MQUEUE_DIR}, so the queue's \
                         holders cannot be found (see posix_ipc::lifecycle::mount_mqueue)"
                    ),
                ));
            }
            queue_path(&valid)
        }
        _ => segment_path(&valid),
    };
    let md = fs::metadata(&path).map_err(|e| {
        crate::error::os(
            e.raw_os_error().unwrap_or(libc::EIO),
            op,
            valid.object(kind),
        )
    })?;
    let listing = list(
        &Filter::new()
            .prefix(valid.as_str())
            .all_users(true)
            .holders(holders),
    );
    listing
        .objects
        .into_iter()
        .find(|o| o.kind == kind && o.name == valid.as_str() && o.id == (md.dev(), md.ino()))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                op,
                valid.object(kind),
                "it was removed while it was being inspected",
            )
        })
}

/// Removes every object `filter` selects that is stale: no live process has it open or
/// mapped, and, for this crate's segments, no live process is registered in its peer tables.
/// Returns what it removed (or, with `dry_run`, would remove) and why each is stale. Other
/// users' objects are considered only with [`Filter::all_users`]. A name that refers to
/// another object by the time it is removed (made again meanwhile) is left alone.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a prefix of just `/` with `all_users` (every object of
/// every user): name a prefix, or clean this user's objects only.
pub fn clean_stale(filter: &Filter, dry_run: bool) -> Result<Vec<Removal>> {
    if filter.all_users && filter.prefix.as_deref().is_none_or(|p| p == "/") {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            Operation::Unlink,
            Object {
                kind: ObjectKind::SharedMemory,
                name: None,
            },
            "refusing to clean every user's objects without a name prefix: give a prefix",
        ));
    }
    let listing = list(&filter.clone().holders(true));
    let mut removed = Vec::new();
    for o in listing.objects {
        let State::Stale(reason) = o.state.clone() else {
            continue;
        };
        let outcome = if dry_run { Ok(()) } else { remove_if_same(&o) };
        removed.push(Removal {
            object: o,
            reason,
            outcome,
        });
    }
    Ok(removed)
}

fn order(kind: ObjectKind) -> u8 {
    match kind {
        ObjectKind::SharedMemory => 0,
        ObjectKind::Semaphore => 1,
        _ => 2,
    }
}

fn bare(kind: ObjectKind, name: String, md: &fs::Metadata) -> ObjectInfo {
    ObjectInfo {
        kind,
        name,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        size: (kind == ObjectKind::SharedMemory).then_some(md.len()),
        value: None,
        messages: None,
        max_messages: None,
        max_message_size: None,
        queue_bytes: None,
        segment: None,
        holders: Vec::new(),
        state: State::Unchecked,
        unreadable: Vec::new(),
        id: (md.dev(), md.ino()),
        gid: md.gid(),
    }
}
