//! The named-segment header protocol every typed segment of this crate follows.
//!
//! A `Shared<T>`, a ring, a `RobustMutex` and a typed queue's companion all start with 8 magic
//! bytes and a `u32` layout version, and carry a `u32` ready flag that their creator stores
//! (with release ordering) after everything else. This module knows the four magics, so that
//! opening a segment of one kind as another fails at once with
//! [`ErrorKind::Mismatch`](crate::ErrorKind::Mismatch) naming what it really is, and so that
//! [`lifecycle`](crate::lifecycle) can tell what a segment in `/dev/shm` is.

use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::shm::Mapping;

/// What kind of posix-ipc segment a shared-memory object is, from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SegmentKind {
    /// A [`Shared<T>`](crate::Shared): magic `PIPCSHM\0`.
    Shared,
    /// A ring of [`RingSender`](crate::RingSender)/[`RingReceiver`](crate::RingReceiver):
    /// magic `PIPCRING`.
    Ring,
    /// A [`RobustMutex`](crate::RobustMutex): magic `PIPCMUTX`.
    RobustMutex,
    /// The companion segment of a typed queue ([`Sender`](crate::Sender)/
    /// [`Receiver`](crate::Receiver)): its type's fingerprint and its peers. Magic `PIPCTYPQ`.
    QueueCompanion,
    /// A publish-subscribe topic ([`Publisher`](crate::Publisher)/
    /// [`Subscriber`](crate::Subscriber), or their frame forms): magic `PIPCPUBS`.
    Topic,
}

impl SegmentKind {
    /// Every kind, with its magic.
    pub const ALL: [(SegmentKind, [u8; 8]); 5] = [
        (SegmentKind::Shared, SegmentKind::Shared.magic()),
        (SegmentKind::Ring, SegmentKind::Ring.magic()),
        (SegmentKind::RobustMutex, SegmentKind::RobustMutex.magic()),
        (
            SegmentKind::QueueCompanion,
            SegmentKind::QueueCompanion.magic(),
        ),
        (SegmentKind::Topic, SegmentKind::Topic.magic()),
    ];

    /// The kind whose magic is `magic`.
    pub fn from_magic(magic: &[u8]) -> Option<SegmentKind> {
        Self::ALL
            .iter()
            .find(|(_, m)| magic.get(..8) == Some(&m[..]))
            .map(|(k, _)| *k)
    }

    /// The magic bytes of this kind: the registry every kind takes its own magic from. A
    /// companion's is the queue layer's, which removes a companion with its queue.
    pub const fn magic(self) -> [u8; 8] {
        match self {
            SegmentKind::Shared => *b"PIPCSHM\0",
            SegmentKind::Ring => *b"PIPCRING",
            SegmentKind::RobustMutex => *b"PIPCMUTX",
            SegmentKind::QueueCompanion => crate::mq::COMPANION_MAGIC,
            SegmentKind::Topic => *b"PIPCPUBS",
        }
    }

    /// A short name: `shared`, `ring`, `mutex`, `mq-companion` (the CLI's `KIND` column).
    pub fn short(self) -> &'static str {
        match self {
            SegmentKind::Shared => "shared",
            SegmentKind::Ring => "ring",
            SegmentKind::RobustMutex => "mutex",
            SegmentKind::QueueCompanion => "mq-companion",
            SegmentKind::Topic => "topic",
        }
    }

    /// What it is, in words: "a posix-ipc ring (RingSender/RingReceiver)".
    pub fn describe(self) -> &'static str {
        match self {
            SegmentKind::Shared => "a posix-ipc shared struct (Shared<T>)",
            SegmentKind::Ring => "a posix-ipc ring (RingSender/RingReceiver)",
            SegmentKind::RobustMutex => "a posix-ipc robust mutex (RobustMutex)",
            SegmentKind::QueueCompanion => {
                "the companion segment of a posix-ipc typed queue (Sender/Receiver)"
            }
            SegmentKind::Topic => "a posix-ipc publish-subscribe topic (Publisher/Subscriber)",
        }
    }
}

/// Why a segment that is not of the kind `want` was refused: names what it is instead.
pub(crate) fn foreign_detail(header: &[u8], size: u64, want: SegmentKind) -> String {
    let open_as = match want {
        SegmentKind::Shared => "open it with Shared<T>",
        SegmentKind::Ring => "open it with RingSender/RingReceiver",
        SegmentKind::RobustMutex => "open it with RobustMutex",
        SegmentKind::QueueCompanion => "open the queue with Sender/Receiver",
        SegmentKind::Topic => "open it with Publisher/Subscriber",
    };
    match SegmentKind::from_magic(header) {
        Some(kind) if kind != want => {
            let other = match kind {
                SegmentKind::Shared => "open it with Shared<T>",
                SegmentKind::Ring => "open it with RingSender/RingReceiver",
                SegmentKind::RobustMutex => "open it with RobustMutex",
                SegmentKind::QueueCompanion => "open its queue with Sender/Receiver",
                SegmentKind::Topic => "open it with Publisher/Subscriber",
            };
            format!(
                "it is {}, not {}: {other}, or use another name",
                kind.describe(),
                want.describe()
            )
        }
        _ if header.iter().all(|&b| b == 0) => format!(
            "not {} ({size} bytes, blank header): it was made by something else \
             (RawShared<T>, SharedMemory, posix_ipc or C) or is still empty; {open_as} only \
             segments its creator made",
            want.describe()
        ),
        _ => format!(
            "not {} (magic {:?}, {size} bytes): it was made by something else",
            want.describe(),
            String::from_utf8_lossy(&header[..header.len().min(8)])
        ),
    }
}

/// How a typed layer (`Shared`, the ring, the robust mutex, the queue companion) describes the
/// header it waits for at open.
pub(crate) struct HeaderSpec<'a> {
    /// Header length in bytes (mapped and copied).
    pub len: usize,
    /// The size below which the segment is still being made (at least `len`).
    pub min_size: usize,
    /// Whether a creator of this kind makes a segment of exactly this many bytes: a blank
    /// segment of any other size is not one being made, but someone else's.
    pub made_size: &'a dyn Fn(u64) -> bool,
    /// Which kind this is (its magic, for the error about another kind).
    pub kind: SegmentKind,
    /// The layout version, a `u32` at offset 8, written with the magic.
    pub version: u32,
    /// Offset of the `u32` ready flag the creator stores (`Release`) after the rest. Creators
    /// never write it otherwise (`ftruncate` zeroed it), so it is only accessed atomically.
    pub ready: usize,
    /// The object, for the error when its name goes away during the wait.
    pub object: crate::error::Object,
}

/// Waits until the creator of a typed segment has published its header, and returns a copy.
///
/// A segment is made in steps: `shm_open` (size 0), `ftruncate` to its exact size (all zeros),
/// the header, then the ready flag. An opener may arrive at any step, so an empty segment, or
/// one of the size its creator makes with the magic still blank or partly written (every byte
/// either 0 or the magic's), means "not yet": wait with back-off until `deadline`, then
/// `not_ready`. Anything else is not worth waiting for and is `foreign(header, size)` at once:
/// a segment of another posix-ipc kind (whatever its size), a magic that cannot become ours, a
/// non-empty segment too small for the header or blank at a size no creator makes, or our
/// magic with another non-zero version. If the name is removed during the wait (a creator that
/// failed cleans up), the answer is `NotFound`. The header is copied only after the ready flag
/// was loaded with `Acquire`, so every field the creator wrote before it is seen.
pub(crate) fn published_header(
    shm: &crate::SharedMemory,
    spec: &HeaderSpec<'_>,
    deadline: std::time::Instant,
    not_ready: &dyn Fn(&str) -> crate::Error,
    foreign: &dyn Fn(&[u8], u64) -> crate::Error,
) -> crate::Result<Vec<u8>> {
    use std::time::{Duration, Instant};
    let magic_of_ours = spec.kind.magic();
    let mut backoff = Duration::from_micros(50);
    let mut map: Option<crate::Mapping> = None;
    loop {
        let stat = shm.stat()?;
        if !stat.linked {
            return Err(crate::Error::new(
                crate::ErrorKind::NotFound,
                crate::error::Operation::Open,
                spec.object.clone(),
                "its name was removed while waiting for its creator to finish (a creator that \
                 fails removes what it made): open it again once it exists",
            ));
        }
        let waiting_for = if stat.size == 0 {
            "the segment is still empty"
        } else if stat.size < spec.min_size.max(spec.len) as u64 {
            // Creators size the segment in one step before writing anything: a smaller one is
            // not being made by one of them.
            let len = usize::try_from(stat.size).unwrap_or(spec.len).min(spec.len);
            let mut bytes = shm.map_range(0, len)?.read_vec(0, len)?;
            bytes.resize(spec.len, 0);
            return Err(foreign(&bytes, stat.size));
        } else {
            let header = match &map {
                Some(m) => m,
                None => map.insert(shm.map_range(0, spec.len)?),
            };
            let mut start = [0u8; 12];
            header.read_at(0, &mut start)?;
            let magic = &start[..8];
            let version = u32::from_ne_bytes([start[8], start[9], start[10], start[11]]);
            if magic == magic_of_ours {
                if version != 0 && version != spec.version {
                    return Err(foreign(&header.read_vec(0, spec.len)?, stat.size));
                }
                if header.load_u32_acquire(spec.ready)? == 1 {
                    return header.read_vec(0, spec.len);
                }
                "the segment is not marked ready"
            } else if (spec.made_size)(stat.size)
                && magic
                    .iter()
                    .zip(&magic_of_ours)
                    .all(|(&b, &m)| b == 0 || b == m)
            {
                "the segment's header is still blank"
            } else {
                return Err(foreign(&header.read_vec(0, spec.len)?, stat.size));
            }
        };
        if Instant::now() >= deadline {
            return Err(not_ready(waiting_for));
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(10));
    }
}

/// [`published_header`] with the errors every typed segment gives: `NotInitialized` naming
/// what it waited for and for how long (`creator` is who did not finish: "the ring's
/// creator"), and `Mismatch` for a segment that is not of this kind (saying what it is, with
/// `hint` added when it is no posix-ipc segment at all) or of another layout version. Version
/// 0 with the ready flag set is refused as well: a creator writes the version before the flag.
pub(crate) fn open_published(
    shm: &crate::SharedMemory,
    spec: &HeaderSpec<'_>,
    wait: std::time::Duration,
    creator: &str,
    hint: &str,
) -> crate::Result<Vec<u8>> {
    use crate::error::{Error, ErrorKind, Operation};
    let not_ready = |what: &str| {
        Error::new(
            ErrorKind::NotInitialized,
            Operation::Open,
            spec.object.clone(),
            format!(
                "{what} after waiting {wait:?}: {creator} has not finished initialising it (or \
                 died doing so); remove it if no creator is running"
            ),
        )
    };
    let foreign = |head: &[u8], size: u64| {
        let detail = if head.get(..8) == Some(&spec.kind.magic()[..]) {
            format!(
                "it is {} of layout version {}, but this library speaks version {}: build both \
                 sides with the same posix-ipc release",
                spec.kind.describe(),
                version_of(head),
                spec.version
            )
        } else {
            let mut d = foreign_detail(head, size, spec.kind);
            if SegmentKind::from_magic(head).is_none() {
                d.push_str(hint);
            }
            d
        };
        Error::new(
            ErrorKind::Mismatch,
            Operation::Open,
            spec.object.clone(),
            detail,
        )
    };
    let deadline = std::time::Instant::now() + wait;
    let head = published_header(shm, spec, deadline, &not_ready, &foreign)?;
    if version_of(&head) != spec.version {
        return Err(foreign(&head, shm.size()?));
    }
    Ok(head)
}

/// The layout version, the `u32` after the magic.
fn version_of(head: &[u8]) -> u32 {
    head.get(8..12)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

/// The error for a segment of this kind made for another record type (size or layout
/// fingerprint): `holds` says what the segment is ("the ring carries"), `unit` what its
/// records are called ("messages").
pub(crate) fn type_mismatch(
    object: crate::error::Object,
    holds: &str,
    unit: &str,
    (size, fingerprint): (u64, u64),
    record: &super::RecordType,
) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Mismatch,
        crate::error::Operation::Open,
        object,
        format!(
            "{holds} another type: {unit} of {size} bytes with layout fingerprint \
             {fingerprint:#018x}, but {} is {} bytes with fingerprint {:#018x}",
            record.name, record.size, record.fingerprint
        ),
    )
}

/// The `AlreadyExists` error of a kind's `create`, naming calls that exist on that kind:
/// `open` (its way to join the object) and `take_over` (its `create_or_take_over`), in place of
/// the generic hint's "open it with open_or_create", which not every kind has. Other errors
/// (and `AlreadyExists` errors that do not end with the generic hint) are returned unchanged.
pub(crate) fn exists_naming(e: crate::Error, open: &str, take_over: &str) -> crate::Error {
    use crate::error::LEFTOVER_HINT;
    if e.kind() != crate::ErrorKind::AlreadyExists {
        return e;
    }
    let Some(stem) = e.detail().strip_suffix(LEFTOVER_HINT) else {
        return e;
    };
    // The generic hint without its last clause (", or open it with open_or_create").
    let leftover = LEFTOVER_HINT
        .rsplit_once(", or ")
        .map_or(LEFTOVER_HINT, |(head, _)| head);
    let renamed = crate::Error::new(
        crate::ErrorKind::AlreadyExists,
        e.operation(),
        e.object().clone(),
        format!(
            "{stem}{leftover}; open it with {open}, or, once its owner is gone, take it over \
             with {take_over}"
        ),
    );
    match e.errno() {
        Some(errno) => renamed.with_errno(errno),
        None => renamed,
    }
}

/// Where every typed segment keeps its `u32` layout version (after the 8 magic bytes).
pub(crate) const VERSION: usize = 8;

/// The kind of the segment mapped at `map`, from its magic bytes.
pub(crate) fn kind_of(map: &Mapping) -> Option<SegmentKind> {
    SegmentKind::from_magic(&map.read_vec(0, 8).ok()?)
}

/// The layout version of the segment mapped at `map`.
pub(crate) fn version_in(map: &Mapping) -> Option<u32> {
    u32_in(map, VERSION)
}

/// A copy of the `u32` at `offset` of a mapping, `None` past its end (for descriptions).
pub(crate) fn u32_in(map: &Mapping, offset: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(
        map.read_vec(offset, 4).ok()?.try_into().ok()?,
    ))
}

/// A copy of the `u64` at `offset` of a mapping, `None` past its end (for descriptions).
pub(crate) fn u64_in(map: &Mapping, offset: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(
        map.read_vec(offset, 8).ok()?.try_into().ok()?,
    ))
}

/// The `u32` at `offset` of a mapping of a typed segment, as an atomic.
///
/// # Panics
///
/// If `offset` is not 4-aligned or the word is not inside the mapping: callers pass offsets of
/// their own layout, checked against the mapping's size when it was opened, so this is a bug.
#[inline]
pub(crate) fn atomic_u32(map: &Mapping, offset: usize) -> &AtomicU32 {
    assert!(
        offset % 4 == 0 && offset + 4 <= map.len(),
        "u32 at {offset} of a {}-byte mapping",
        map.len()
    );
    let ptr = map.as_ptr().wrapping_add(offset);
    assert!(ptr as usize % 4 == 0);
    // SAFETY: the word lies inside the mapping (asserted), which stays mapped while `map` is
    // borrowed, and is 4-aligned (asserted). Every process following the layout accesses these
    // header words only atomically (or through futex), so a shared `&AtomicU32` is sound; a
    // peer breaking that rule can only produce wrong values (any 4 bytes are a valid u32).
    unsafe { &*ptr.cast::<AtomicU32>() }
}

/// The `u64` at `offset` of a mapping of a typed segment, as an atomic (see [`atomic_u32`]).
///
/// # Panics
///
/// As [`atomic_u32`], for 8-byte alignment.
#[inline]
pub(crate) fn atomic_u64(map: &Mapping, offset: usize) -> &AtomicU64 {
    assert!(
        offset % 8 == 0 && offset + 8 <= map.len(),
        "u64 at {offset} of a {}-byte mapping",
        map.len()
    );
    let ptr = map.as_ptr().wrapping_add(offset);
    assert!(ptr as usize % 8 == 0);
    // SAFETY: as in `atomic_u32`, for an 8-aligned word inside the mapping.
    unsafe { &*ptr.cast::<AtomicU64>() }
}

/// The most bytes of a stored layout description a segment carries (1 MiB): a creator whose
/// type's description is longer stores none, and readers believe no longer length.
pub(crate) const DESCRIPTION_MAX: u64 = 1 << 20;

/// The stored layout description of `layout` that a creator appends to its segment
/// ([`LayoutDesc::encode`](super::LayoutDesc::encode)): empty for none, which is also what a
/// layout whose description would be longer than [`DESCRIPTION_MAX`] gets.
pub(crate) fn description_of(layout: Option<&super::Layout>) -> Vec<u8> {
    description_of_desc(layout.map(super::LayoutDesc::from).as_ref())
}

/// As [`description_of`], for a layout given at run time.
pub(crate) fn description_of_desc(layout: Option<&super::LayoutDesc>) -> Vec<u8> {
    let bytes = layout.map(super::LayoutDesc::encode).unwrap_or_default();
    if bytes.len() as u64 > DESCRIPTION_MAX {
        return Vec::new();
    }
    bytes
}

/// Marks a segment just created at its base size (`shm`, no stored layout yet) as this kind's
/// (`magic` and `version`, not ready), then grows it to `full` bytes to make room for a stored
/// layout. An opener waits for a blank header only at a kind's exact base size (its
/// `made_size`), so a segment is never blank at any other size: a blank segment of another
/// size is someone else's at once, not waited for.
pub(crate) fn mark_and_grow(
    shm: &crate::SharedMemory,
    magic: [u8; 8],
    version: u32,
    full: u64,
) -> crate::Result<()> {
    let start = shm.map_range(0, 12)?;
    start.write_at(0, &magic)?;
    start.write_at(8, &version.to_ne_bytes())?;
    drop(start);
    if full > shm.size()? {
        shm.resize(full)?;
    }
    Ok(())
}

/// Writes `description` at byte `at` of `map` (a mapping of the segment from its start) and
/// records where it is in the two `u64` words from byte `words` on: its offset, then its length.
/// Does nothing for an empty description: the words stay 0, "none". A creator calls it before
/// it stores the ready flag (release), so an opener that saw the flag sees all of it.
pub(crate) fn write_description(
    map: &Mapping,
    words: usize,
    at: usize,
    description: &[u8],
) -> crate::Result<()> {
    if description.is_empty() {
        return Ok(());
    }
    map.write_at(at, description)?;
    atomic_u64(map, words).store(at as u64, std::sync::atomic::Ordering::Relaxed);
    atomic_u64(map, words + 8).store(
        description.len() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(())
}

/// The stored layout at `(offset, length)` of the segment `shm` (read through a mapping of its
/// own, so anywhere in the segment), if it describes the values of fingerprint `fingerprint`
/// (the one the segment's header records).
///
/// `None` when there is none (offset or length 0), when the length is above
/// [`DESCRIPTION_MAX`] or the bytes lie past the segment's end, when they are not a valid
/// stored layout ([`LayoutDesc::decode`](super::LayoutDesc::decode)), or when the layout has
/// another fingerprint: a description that does not describe the values is worse than none.
pub(crate) fn read_description(
    shm: &crate::SharedMemory,
    (at, len): (u64, u64),
    fingerprint: u64,
) -> Option<super::LayoutDesc> {
    if at == 0 || len == 0 || len > DESCRIPTION_MAX {
        return None;
    }
    // Mapping past the segment's end is refused.
    let len = usize::try_from(len).ok()?;
    let bytes = shm.map_range(at, len).ok()?.read_vec(0, len).ok()?;
    super::LayoutDesc::decode(&bytes)
        .ok()
        .filter(|l| l.check_fingerprint(fingerprint))
}

/// As [`read_description`], from `map`, a mapping of the segment from its start (a kind's
/// `describe`), with the words at byte `words` of it: `None` also when the mapping does not
/// cover the words and the description.
pub(crate) fn description_in(
    map: &Mapping,
    words: usize,
    fingerprint: u64,
) -> Option<super::LayoutDesc> {
    let at = usize::try_from(u64_in(map, words)?).ok()?;
    let len = usize::try_from(u64_in(map, words.checked_add(8)?)?).ok()?;
    if at == 0 || len == 0 || len as u64 > DESCRIPTION_MAX {
        return None;
    }
    let bytes = map.read_vec(at, len).ok()?;
    super::LayoutDesc::decode(&bytes)
        .ok()
        .filter(|l| l.check_fingerprint(fingerprint))
}

/// The two words (offset, length) of a stored layout description at byte `words` of the
/// segment `shm`, read through a mapping of their own: `None` when the segment ends before
/// them (a segment made before descriptions were stored, where the words lie past its end).
pub(crate) fn description_words(shm: &crate::SharedMemory, words: u64) -> Option<(u64, u64)> {
    // Mapping past the segment's end is refused.
    let map = shm.map_range(words, 16).ok()?;
    Some((u64_in(&map, 0)?, u64_in(&map, 8)?))
}
