//! The companion segment of a typed queue: what the kernel does not keep for a message queue.
//!
//! A POSIX queue knows only its sizes. So that a typed [`Sender`](crate::Sender) and
//! [`Receiver`](crate::Receiver) can check the message *type* (not only its size) and tell when
//! every peer of the other side has gone, the typed API keeps a small segment beside the queue,
//! named after it: queue `/readings`, companion `/readings.pipc-q` (in `/dev/shm`). It is
//! created before the queue and removed with it by the typed API; the messages themselves go
//! through the queue exactly as before, byte for byte, so Python and C peers are unaffected.
//!
//! A queue without a companion (made by posix_ipc, by C, by [`MessageQueue`] or by
//! [`Sender::from_queue`](crate::Sender::from_queue) around such a queue) is opened with the
//! size check only and without peer tracking, as before. A companion that describes another
//! queue (its recorded device and inode are not those of the queue opened: left over from an
//! earlier queue of that name) is ignored the same way.
//!
//! # Layout (for C and Python peers; native-endian)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"PIPCTYPQ"` |
//! | 8 | 4 | version (1) |
//! | 12 | 4 | ready: 1 once the queue exists and its identity is recorded (stored last) |
//! | 16 | 8 | layout fingerprint of the message type |
//! | 24 | 8 | `size_of` the message type |
//! | 32 | 8 | `st_dev` of the queue (`fstat` of its descriptor) |
//! | 40 | 8 | `st_ino` of the queue |
//! | 48 | 4 | 1 once any producer has connected |
//! | 52 | 4 | 1 once any consumer has connected |
//! | 56 | 8 | owner word: `pid << 32 \| (start time & 0xffff_ffff)` of the process whose typed handle created the queue or took it over ([`Sender::create_or_take_over`](crate::Sender::create_or_take_over)), stored before ready and cleared when that handle (and its clones) are dropped; 0 for none |
//! | 64 | 64 | the message type's name, UTF-8, NUL-padded |
//! | 128 | 32 × 32 | producer table (see the ring's layout) |
//! | 1152 | 32 × 32 | consumer table |
//! | 2176 | 8 | offset of the stored layout of the message type, 4096 (after the segment's first 4096 bytes), stored before ready; 0: none |
//! | 2184 | 8 | its length in bytes |
//! | 4096 | length at 2184 | the stored layout of the message type, in the format of [`LayoutDesc::encode`](crate::typed::LayoutDesc::encode) |
//!
//! The segment is 4096 bytes, plus the stored layout's length when it has one.
//!
//! The stored layout (field names, offsets, kinds, counts and nested structs of the message
//! type) lets a tool or a program in another language decode the queue's messages without the
//! Rust type ([`Sender::layout`](crate::Sender::layout), `posix-ipc shm info`). The 128-byte
//! header has no room left, so its offset and length are in the free bytes after the consumer
//! table. A companion made by an earlier release is 4096 bytes with 0 at 2176 and 2184: it
//! stores none, and opens as before.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::describe::SegmentInfo;
use super::header::{self, atomic_u32, atomic_u64, HeaderSpec, SegmentKind};
use super::layout::LayoutDesc;
use super::peers::{OwnerWord, Table, ENTRY, MAX_PEERS};
use super::IpcMessage;
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::mq::{MessageQueue, QUEUE_DEV, QUEUE_INO};
use crate::shm::{Mapping, SharedMemory};

/// What a queue carries: the record type (size, fingerprint, name) and the layout its
/// companion stores. A Rust type's comes from `IpcMessage`; a peer without one (C, through
/// [`RecordQueue`](super::RecordQueue)) names it at run time.
pub(crate) struct QueueDesc {
    pub(crate) record: super::RecordType,
    pub(crate) layout: Option<LayoutDesc>,
}

impl QueueDesc {
    pub(crate) fn of<T: IpcMessage>() -> QueueDesc {
        QueueDesc {
            record: super::RecordType::of::<T>(),
            layout: Some(LayoutDesc::from(&T::LAYOUT)),
        }
    }
}

pub use crate::mq::{COMPANION_MAGIC, COMPANION_SUFFIX};
/// Layout version of the companion segment.
pub const COMPANION_VERSION: u32 = 1;

const READY: usize = 12;
const FINGERPRINT: usize = 16;
const SIZE: usize = 24;
const PRODUCERS_JOINED: usize = 48;
const CONSUMERS_JOINED: usize = 52;
/// The owner word (see [`OwnerWord`]).
const OWNER: usize = 56;
const TYPE_NAME: usize = 64;
const TYPE_NAME_LEN: usize = 64;
pub(crate) const HEADER: usize = 128;
const PRODUCERS: usize = 128;
const CONSUMERS: usize = PRODUCERS + MAX_PEERS * ENTRY;
pub(crate) const SEGMENT: usize = 4096;
/// Where the stored layout starts (0: none), in the free bytes after the consumer table (the
/// header has none left); its length follows. The layout itself is at [`SEGMENT`].
const DESCRIPTION_AT: usize = CONSUMERS + MAX_PEERS * ENTRY;
const OPEN_WAIT: Duration = Duration::from_secs(1);

const _: () = assert!(DESCRIPTION_AT % 8 == 0 && DESCRIPTION_AT + 16 <= SEGMENT);

/// Which side of a typed queue a handle is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Producer,
    Consumer,
}

/// An open companion segment.
pub(crate) struct Companion {
    shm: SharedMemory,
    map: Mapping,
    /// Whether this handle made the queue or took it over, and so holds the owner word
    /// (cleared when it is dropped).
    owner: bool,
}

fn queue_object(queue: &str) -> Object {
    Object {
        kind: ObjectKind::MessageQueue,
        name: Some(queue.to_owned()),
    }
}

/// What the header of a companion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompanionHeader {
    pub(crate) fingerprint: u64,
    pub(crate) size: u64,
    pub(crate) queue_id: (u64, u64),
    pub(crate) type_name: String,
}

impl CompanionHeader {
    pub(crate) fn parse(h: &[u8]) -> CompanionHeader {
        let u64_at = |o: usize| u64::from_ne_bytes(h[o..o + 8].try_into().unwrap_or([0; 8]));
        let name = &h[TYPE_NAME..TYPE_NAME + TYPE_NAME_LEN];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        CompanionHeader {
            fingerprint: u64_at(FINGERPRINT),
            size: u64_at(SIZE),
            queue_id: (u64_at(QUEUE_DEV), u64_at(QUEUE_INO)),
            type_name: String::from_utf8_lossy(&name[..end]).into_owned(),
        }
    }
}

impl Companion {
    /// The companion's name for the (normalised) queue name `queue`.
    pub(crate) fn name_for(queue: &str) -> String {
        crate::mq::companion_name(queue)
    }

    fn spec(queue: &str) -> HeaderSpec<'static> {
        HeaderSpec {
            len: HEADER,
            min_size: SEGMENT,
            made_size: &made_size,
            kind: SegmentKind::QueueCompanion,
            version: COMPANION_VERSION,
            ready: READY,
            object: queue_object(queue),
        }
    }

    fn invalid_name(queue: &str, op: Operation, why: &Error) -> Error {
        Error::new(
            ErrorKind::InvalidName,
            op,
            queue_object(queue),
            format!(
                "a typed queue keeps a companion segment named after it, {:?}, and that name is \
                 not valid ({}): use a name of at most {} bytes that does not start with \
                 \"sem.\", or make the queue with MessageQueue and wrap it with from_queue \
                 (size check only, no peer tracking)",
                Self::name_for(queue),
                why.detail(),
                crate::name::NAME_MAX - COMPANION_SUFFIX.len()
            ),
        )
    }

    /// Creates the companion of the queue `queue` (not created yet) for `T`, with `T`'s stored
    /// layout after its first 4096 bytes, exclusively. An existing companion with no queue is a
    /// leftover (its queue was removed without it, or its creator died) and is replaced; with a
    /// queue, the queue exists: `AlreadyExists`.
    pub(crate) fn create(desc: &QueueDesc, queue: &str, mode: u32) -> Result<Companion> {
        let cname = Self::name_for(queue);
        let description = header::description_of_desc(desc.layout.as_ref());
        for _ in 0..16 {
            let made = SharedMemory::options()
                .create_new(true)
                .mode(mode)
                .size(SEGMENT as u64)
                .open(&cname);
            match made {
                Ok(shm) => {
                    let full = (SEGMENT + description.len()) as u64;
                    if let Err(e) =
                        header::mark_and_grow(&shm, COMPANION_MAGIC, COMPANION_VERSION, full)
                    {
                        let _ = shm.unlink();
                        let context = format!("sizing its companion segment {cname:?}");
                        return Err(e.reframed(queue_object(queue), &context));
                    }
                    let map = match shm.map() {
                        Ok(m) => m,
                        Err(e) => {
                            let _ = shm.unlink();
                            let context = format!("mapping its companion segment {cname:?}");
                            return Err(e.reframed(queue_object(queue), &context));
                        }
                    };
                    let mut head = [0u8; HEADER];
                    head[0..8].copy_from_slice(&COMPANION_MAGIC);
                    head[8..12].copy_from_slice(&COMPANION_VERSION.to_ne_bytes());
                    head[FINGERPRINT..FINGERPRINT + 8]
                        .copy_from_slice(&desc.record.fingerprint.to_ne_bytes());
                    head[SIZE..SIZE + 8].copy_from_slice(&(desc.record.size as u64).to_ne_bytes());
                    let type_name = desc.record.name.as_bytes();
                    let n = type_name.len().min(TYPE_NAME_LEN - 1);
                    head[TYPE_NAME..TYPE_NAME + n].copy_from_slice(&type_name[..n]);
                    // Everything but the ready word (stored atomically by `publish`).
                    map.write_at(0, &head[..READY])?;
                    map.write_at(READY + 4, &head[READY + 4..])?;
                    header::write_description(&map, DESCRIPTION_AT, SEGMENT, &description)?;
                    return Ok(Companion {
                        shm,
                        map,
                        owner: true,
                    });
                }
                Err(e) if e.kind() == ErrorKind::InvalidName => {
                    return Err(Self::invalid_name(queue, Operation::Create, &e))
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    match Self::existing_is_leftover(queue, &cname)? {
                        None => return Err(exists(queue)),
                        // Only the segment judged a leftover: a concurrent creator's new
                        // companion under the name since then is left alone.
                        Some(id) => unlink_segment_if(&cname, id),
                    }
                }
                Err(e) => {
                    let context = format!("creating its companion segment {cname:?}");
                    return Err(e.reframed(queue_object(queue), &context));
                }
            }
        }
        Err(Error::new(
            ErrorKind::AlreadyExists,
            Operation::Create,
            queue_object(queue),
            format!(
                "other processes keep creating the companion {cname:?} of this typed queue \
                 while this one replaces a leftover: try again"
            ),
        ))
    }

    /// Whether the existing companion `cname` is a leftover (its queue does not exist once the
    /// companion is ready, or its creator never finished it): its identity if so.
    fn existing_is_leftover(queue: &str, cname: &str) -> Result<Option<Option<(u64, u64)>>> {
        if queue_exists(queue) {
            return Ok(None);
        }
        let Ok(shm) = SharedMemory::options().read_only(true).open(cname) else {
            // Gone meanwhile (a replacer was faster): try to create it again.
            return Ok(Some(None));
        };
        let id = crate::sys::fstat_id(std::os::fd::AsFd::as_fd(&shm)).ok();
        let spec = Self::spec(queue);
        let waited = header::published_header(
            &shm,
            &spec,
            Instant::now() + OPEN_WAIT,
            &|_| {
                Error::new(
                    ErrorKind::NotInitialized,
                    Operation::Open,
                    queue_object(queue),
                    "",
                )
            },
            &|bytes, size| {
                Error::new(
                    ErrorKind::AlreadyExists,
                    Operation::Create,
                    queue_object(queue),
                    format!(
                        "the name of its companion segment, {cname:?}, is taken by another \
                         segment ({}); remove that segment or choose another queue name",
                        header::foreign_detail(bytes, size, SegmentKind::QueueCompanion)
                    ),
                )
            },
        );
        let leftover = match waited {
            // Its creator made the queue meanwhile: it exists.
            Ok(_) => !queue_exists(queue),
            Err(e) if e.kind() == ErrorKind::NotInitialized => !queue_exists(queue),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Some(None)),
            Err(e) => return Err(e),
        };
        Ok(leftover.then_some(id))
    }

    /// Records the queue's identity and this process as its owner, and marks the companion
    /// ready (release): openers may use it from now on.
    pub(crate) fn publish(&self, mq: &MessageQueue) -> Result<()> {
        let (dev, ino) = mq.identity()?;
        atomic_u64(&self.map, QUEUE_DEV).store(dev, Ordering::Relaxed);
        atomic_u64(&self.map, QUEUE_INO).store(ino, Ordering::Relaxed);
        self.owner_word().set_me();
        atomic_u32(&self.map, READY).store(1, Ordering::Release);
        Ok(())
    }

    /// Opens the companion of the open queue `mq` and checks that it was made for `T`.
    ///
    /// `Ok(None)`: the queue has no (valid) companion: it was not made by the typed API, or the
    /// companion describes another queue of the same name, or its creator died before
    /// finishing it. Then only the size check applies.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Mismatch`] if the queue was made for another type, naming both types and
    /// fingerprints.
    pub(crate) fn open(desc: &QueueDesc, mq: &MessageQueue) -> Result<Option<Companion>> {
        let queue = mq.name();
        let cname = Self::name_for(queue);
        let shm = match SharedMemory::open(&cname) {
            Ok(shm) => shm,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                match SharedMemory::options().read_only(true).open(&cname) {
                    Ok(shm) => shm,
                    Err(_) => return Ok(None),
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::InvalidName) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let spec = Self::spec(queue);
        let nothing = |_: &str| {
            Error::new(
                ErrorKind::NotInitialized,
                Operation::Open,
                queue_object(queue),
                "",
            )
        };
        let foreign = |_: &[u8], _: u64| {
            Error::new(
                ErrorKind::Mismatch,
                Operation::Open,
                queue_object(queue),
                "",
            )
        };
        let bytes = match header::published_header(
            &shm,
            &spec,
            Instant::now() + OPEN_WAIT,
            &nothing,
            &foreign,
        ) {
            Ok(b) => b,
            // Not ours, never finished, or removed meanwhile: no companion for this queue.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NotInitialized | ErrorKind::Mismatch | ErrorKind::NotFound
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let head = CompanionHeader::parse(&bytes);
        if head.queue_id != mq.identity()? {
            return Ok(None);
        }
        let size = desc.record.size as u64;
        if head.fingerprint != desc.record.fingerprint || head.size != size {
            return Err(Error::new(
                ErrorKind::Mismatch,
                Operation::Open,
                queue_object(queue),
                format!(
                    "the queue was made for {} ({} bytes, layout fingerprint {:#018x}), but {} \
                     is {size} bytes with fingerprint {:#018x}: open it with the type it was made \
                     for, or remove it (the queue and its companion {cname:?}) and create it again",
                    if head.type_name.is_empty() {
                        "another type"
                    } else {
                        &head.type_name
                    },
                    head.size,
                    head.fingerprint,
                    desc.record.name,
                    desc.record.fingerprint
                ),
            ));
        }
        let map = shm.map_range(0, SEGMENT)?;
        Ok(Some(Companion {
            shm,
            map,
            owner: false,
        }))
    }

    /// The layout of the message type this companion stores, if it stores one (see
    /// [`stored_layout_of`]).
    pub(crate) fn stored_layout(&self) -> Option<LayoutDesc> {
        stored_layout_of(&self.shm)
    }

    /// The queue's owner word (see [`OwnerWord`]).
    pub(crate) fn owner_word(&self) -> OwnerWord<'_> {
        OwnerWord(atomic_u64(&self.map, OWNER))
    }

    /// Makes this handle the holder of the owner word it claimed (a take-over): it is
    /// cleared when this handle is dropped.
    pub(crate) fn hold_owner(&mut self) {
        self.owner = true;
    }

    /// Removes the companion of `queue` if it describes the queue with identity `id`.
    pub(crate) fn unlink_for(queue: &str, id: (u64, u64)) {
        crate::mq::unlink_companion(queue, id);
    }

    /// What `posix-ipc ls` shows of the companion `name`: its message type, its peers, and
    /// whether the queue it describes still exists (`queue_is`: whether the queue of that name
    /// has the identity given).
    pub(crate) fn describe(
        map: &Mapping,
        name: &str,
        queue_is: &dyn Fn(&str, (u64, u64)) -> bool,
    ) -> SegmentInfo {
        let mut info = SegmentInfo::new(SegmentKind::QueueCompanion, map);
        info.ready = header::u32_in(map, READY) == Some(1);
        info.owner = header::u64_in(map, OWNER).and_then(super::peers::owner_info);
        if let Ok(head) = map.read_vec(0, HEADER) {
            let h = CompanionHeader::parse(&head);
            info.fingerprint = Some(h.fingerprint);
            info.type_size = Some(h.size);
            info.type_name = Some(h.type_name);
            let queue = name
                .strip_suffix(COMPANION_SUFFIX)
                .unwrap_or(name)
                .to_string();
            let exists = queue_is(&queue, h.queue_id);
            info.queue = Some((queue, exists));
            if info.ready {
                info.layout = header::description_in(map, DESCRIPTION_AT, h.fingerprint);
            }
        }
        if map.len() >= SEGMENT {
            let c = Self::tables_of(map);
            info.set_peers(c(Side::Producer), c(Side::Consumer));
        }
        info
    }

    /// The table of one side.
    pub(crate) fn table(&self, side: Side) -> Table<'_> {
        Self::tables_of(&self.map)(side)
    }

    /// The tables of a mapped companion segment (for `lifecycle`).
    pub(crate) fn tables_of<'m>(map: &'m Mapping) -> impl Fn(Side) -> Table<'m> {
        move |side| match side {
            Side::Producer => Table {
                map,
                base: PRODUCERS,
                joined: PRODUCERS_JOINED,
            },
            Side::Consumer => Table {
                map,
                base: CONSUMERS,
                joined: CONSUMERS_JOINED,
            },
        }
    }

    /// Whether this handle may register (the companion is mapped writable).
    pub(crate) fn writable(&self) -> bool {
        self.map.is_writable()
    }

    /// The companion segment's name.
    pub(crate) fn name(&self) -> &str {
        self.shm.name()
    }

    /// Device and inode of the companion segment this handle maps.
    pub(crate) fn identity(&self) -> Option<(u64, u64)> {
        crate::sys::fstat_id(std::os::fd::AsFd::as_fd(&self.shm)).ok()
    }
}

impl Drop for Companion {
    fn drop(&mut self) {
        if self.owner {
            self.owner_word().release();
        }
    }
}

/// Removes the segment `name` if it is still the one with identity `id` (`None`: it was gone
/// already, nothing to remove).
pub(crate) fn unlink_segment_if(name: &str, id: Option<(u64, u64)>) {
    let Some(id) = id else { return };
    let Ok(valid) = crate::name::Name::new(ObjectKind::SharedMemory, name, Operation::Unlink)
    else {
        return;
    };
    if crate::sys::stat_id(&crate::name::segment_path(&valid)).ok() == Some(id) {
        let _ = crate::shm::unlink_shared_memory(name);
    }
}

/// A creator makes a companion of 4096 bytes (and marks its header before it grows it for a
/// stored layout: a blank header is only ever seen at 4096 bytes).
fn made_size(size: u64) -> bool {
    size == SEGMENT as u64
}

/// The layout of the message type that the companion segment `shm` stores after its first
/// 4096 bytes (see the layout in the module docs), for tools: read through mappings of its own
/// (`Companion::describe` sees only what its mapping covers, which at 4096 bytes is not the
/// layout). `None` for a companion that is not ready, stores none (made by an earlier release)
/// or holds a description that is invalid or not of the messages' fingerprint.
pub(crate) fn stored_layout_of(shm: &SharedMemory) -> Option<LayoutDesc> {
    let head = shm.map_range(0, SEGMENT).ok()?;
    if head.load_u32_acquire(READY).ok()? != 1 {
        return None;
    }
    let fingerprint = header::u64_in(&head, FINGERPRINT)?;
    let words = (
        header::u64_in(&head, DESCRIPTION_AT)?,
        header::u64_in(&head, DESCRIPTION_AT + 8)?,
    );
    header::read_description(shm, words, fingerprint)
}

/// Whether a queue of that name exists (an open refused for permissions means it does).
fn queue_exists(queue: &str) -> bool {
    match MessageQueue::options()
        .read(true)
        .write(false)
        .nonblocking(true)
        .open(queue)
    {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::NotFound,
    }
}

fn exists(queue: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        Operation::Create,
        queue_object(queue),
        format!(
            "a queue with the specified name already exists{}",
            crate::error::LEFTOVER_HINT
        ),
    )
    .with_errno(libc::EEXIST)
}

/// A handle's entry in a companion's table, shared by its clones; freed on drop.
pub(crate) struct Registration {
    pub(crate) companion: Companion,
    side: Side,
    entry: Option<usize>,
}

impl Registration {
    /// Registers on `side` if the companion is writable and has a free entry (otherwise the
    /// handle works, but the other side cannot see it).
    pub(crate) fn new(companion: Companion, side: Side) -> Registration {
        let entry = if companion.writable() {
            companion.table(side).register()
        } else {
            None
        };
        Registration {
            companion,
            side,
            entry,
        }
    }

    /// A registration on neither side ([`TypedQueue`](crate::TypedQueue)): the companion is
    /// kept for its tables, nothing is registered.
    pub(crate) fn observer(companion: Companion) -> Registration {
        Registration {
            companion,
            side: Side::Producer,
            entry: None,
        }
    }

    /// The `Disconnected` error if every peer of the other side has gone.
    pub(crate) fn other_side_gone(&self, queue: &str, op: Operation) -> Option<Error> {
        let other = match self.side {
            Side::Producer => Side::Consumer,
            Side::Consumer => Side::Producer,
        };
        if !self.companion.table(other).disconnected() {
            return None;
        }
        let detail = match self.side {
            Side::Consumer => {
                "every producer (typed Sender) has gone, closed or died, and the queue is \
                 drained: no message will come"
            }
            Side::Producer => {
                "every consumer (typed Receiver) has gone, closed or died, and the queue is \
                 full: no message will be taken"
            }
        };
        Some(Error::new(
            ErrorKind::Disconnected,
            op,
            queue_object(queue),
            detail,
        ))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(i) = self.entry {
            self.companion.table(self.side).deregister(i);
        }
    }
}
