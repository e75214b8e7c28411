//! Creating a topic, or taking over a stale one of the same type and geometry
//! (`create_or_take_over` of the publishing ends).

use std::sync::atomic::Ordering;

use super::TopicOptions;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::owned::OwnedName;
use crate::shm::SharedMemory;
use crate::typed::header::SegmentKind;
use crate::typed::peers::{describe_pid, owner_alive, owner_pid, OwnerWord, Table};
use crate::typed::record::RecordType;

use super::*;

/// What a topic's segment says about who holds it, read without checking its type.
struct Probe {
    /// The live publishers' pids.
    publishers: Vec<u32>,
    /// The owner word.
    owner: u64,
    /// (device, inode) of the segment probed.
    id: Option<(u64, u64)>,
    /// Whether it is a topic at all.
    topic: bool,
    /// The type name it records.
    type_name: String,
}

fn probe(name: &str) -> Result<Probe> {
    let shm = SharedMemory::open(name).map_err(as_topic)?;
    let id = crate::owned::Removable::owned_names(&shm)
        .first()
        .and_then(|n| n.id);
    let size = shm.size().unwrap_or(0);
    if size < ENTRIES as u64 {
        return Ok(Probe {
            publishers: Vec::new(),
            owner: 0,
            id,
            topic: false,
            type_name: String::new(),
        });
    }
    let ctrl = shm.map_range(0, ENTRIES).map_err(as_topic)?;
    let mut magic = [0u8; 8];
    ctrl.read_at(0, &mut magic)?;
    if SegmentKind::from_magic(&magic) != Some(SegmentKind::Topic) {
        return Ok(Probe {
            publishers: Vec::new(),
            owner: 0,
            id,
            topic: false,
            type_name: String::new(),
        });
    }
    let table = Table {
        map: &ctrl,
        base: PUBLISHERS,
        joined: PUBLISHER_JOINED,
    };
    Ok(Probe {
        publishers: table.live_pids(),
        owner: crate::typed::header::atomic_u64(&ctrl, OWNER).load(Ordering::Acquire),
        id,
        topic: true,
        type_name: {
            let mut head = [0u8; HEADER_LEN];
            ctrl.read_at(0, &mut head)?;
            type_name(&head)
        },
    })
}

fn in_use(name: &str, pids: &[u32], subscribe: &str) -> Error {
    let who: Vec<String> = pids.iter().map(|&p| describe_pid(p)).collect();
    Error::new(
        ErrorKind::AlreadyExists,
        Operation::Create,
        object(name),
        format!(
            "the topic is in use: its publisher, {}, is alive (a topic has one publisher at a \
             time); stop that process first, or receive from it with {subscribe}",
            who.join(", ")
        ),
    )
}

/// The options a topic was made with, next to those asked for: `None` if they agree.
fn geometry_differs(topic: &Topic, opts: &TopicOptions, frames: bool) -> Option<String> {
    let (capacity, subscribers) = opts.resolved(frames);
    let mut diffs = Vec::new();
    if topic.capacity != capacity as u64 {
        diffs.push(format!("capacity {} (asked: {capacity})", topic.capacity));
    }
    if topic.max_subscribers != subscribers {
        diffs.push(format!(
            "max_subscribers {} (asked: {subscribers})",
            topic.max_subscribers
        ));
    }
    if topic.policy != opts.policy {
        diffs.push(format!(
            "policy {:?} (asked: {:?})",
            topic.policy, opts.policy
        ));
    }
    if topic.history != opts.history as u64 {
        diffs.push(format!(
            "history {} (asked: {})",
            topic.history, opts.history
        ));
    }
    (!diffs.is_empty()).then(|| diffs.join(", "))
}

/// How a publishing end calls [`create_or_take_over`]: its record, shape, header and frame
/// length, and the subscribing call to name in errors.
pub(in crate::typed::pubsub) struct TakeOver<'a> {
    pub(in crate::typed::pubsub) record: &'a RecordType,
    pub(in crate::typed::pubsub) shape: u32,
    pub(in crate::typed::pubsub) header_size: usize,
    pub(in crate::typed::pubsub) frame_len: Option<usize>,
    pub(in crate::typed::pubsub) layout: Option<&'a crate::typed::LayoutDesc>,
    pub(in crate::typed::pubsub) subscribe: &'a str,
}

/// Creates the topic, or takes over the one there if its publisher and owner are gone and it
/// has the type and geometry asked for. Returns the topic and whether it was taken over.
pub(in crate::typed::pubsub) fn create_or_take_over(
    name: &str,
    how: &TakeOver<'_>,
    opts: &TopicOptions,
) -> Result<(Topic, bool)> {
    let frames = how.shape == SHAPE_FRAMES;
    // A name removed or made again between two steps is tried again (a few times).
    let mut last = None;
    for _ in 0..8 {
        match Topic::create(
            name,
            how.record,
            how.shape,
            how.header_size,
            how.layout,
            opts,
        ) {
            Ok(topic) => return Ok((topic, false)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let seen = match probe(name) {
            Ok(p) => p,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if !seen.publishers.is_empty() {
            return Err(in_use(name, &seen.publishers, how.subscribe));
        }
        if seen.topic && owner_alive(seen.owner) && owner_pid(seen.owner) != crate::sys::getpid() {
            return Err(in_use(name, &[owner_pid(seen.owner)], how.subscribe));
        }
        let replace = |why: String| -> Result<()> {
            if !opts.replace_stale || !seen.topic {
                let hint = if seen.topic {
                    "; its publisher is gone: replace it with TopicOptions::replace_stale(true), \
                     or remove it (`posix-ipc rm`)"
                } else {
                    ""
                };
                return Err(Error::new(
                    ErrorKind::Mismatch,
                    Operation::Create,
                    object(name),
                    format!("{why}{hint}"),
                ));
            }
            // Removed only if the name still names the segment judged stale.
            let stale = OwnedName::new(
                &crate::name::Name::new(
                    crate::error::ObjectKind::SharedMemory,
                    name,
                    Operation::Unlink,
                )?,
                seen.id,
                &crate::shm::REMOVER,
            );
            stale.remove().map(|_| ())
        };
        let topic = match Topic::open(
            name,
            how.record,
            how.shape,
            how.header_size,
            true,
            how.frame_len,
        ) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) if e.kind() == ErrorKind::Mismatch => {
                replace(format!(
                    "a stale topic of {} is there, not of {}: {}",
                    if seen.type_name.is_empty() {
                        "another type"
                    } else {
                        &seen.type_name
                    },
                    how.record.name,
                    e.detail()
                ))?;
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(diff) = geometry_differs(&topic, opts, frames) {
            replace(format!(
                "a stale topic of this type but another geometry is there: {diff}"
            ))?;
            continue;
        }
        let owner = topic.owner();
        let now = owner.load();
        if owner_alive(now) && owner_pid(now) != crate::sys::getpid() {
            return Err(in_use(name, &[owner_pid(now)], how.subscribe));
        }
        if let Err(winner) = owner.claim(now) {
            return Err(in_use(name, &[owner_pid(winner)], how.subscribe));
        }
        let mut topic = topic;
        topic.shm.take_over();
        return Ok((topic, true));
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorKind::AlreadyExists,
            Operation::Create,
            object(name),
            "the name kept being removed and made again by other processes while this one \
             tried to create or take it over",
        )
    }))
}

impl Topic {
    /// Releases the owner word if this process holds it (its publisher closed).
    pub(in crate::typed::pubsub) fn release_owner(&self) {
        OwnerWord(self.u64_at(OWNER)).release();
    }
}

impl TopicOptions {
    /// Capacity and subscriber count, with the defaults of records or frames for those unset.
    pub(in crate::typed::pubsub) fn resolved(&self, frames: bool) -> (usize, usize) {
        let (capacity, subscribers) = if frames {
            (FRAME_CAPACITY_DEFAULT, FRAME_SUBSCRIBERS_DEFAULT)
        } else {
            (RECORD_CAPACITY_DEFAULT, RECORD_SUBSCRIBERS_DEFAULT)
        };
        (
            self.capacity.unwrap_or(capacity),
            self.max_subscribers.unwrap_or(subscribers),
        )
    }
}

/// Bytes a topic of `payload`-byte buffers with `(capacity, max_subscribers)` reserves in
/// `/dev/shm` (the options checked as `Topic::create` checks them).
pub(in crate::typed::pubsub) fn footprint_of(
    payload: usize,
    layout: Option<&crate::typed::LayoutDesc>,
    (capacity, subscribers): (usize, usize),
) -> Result<u64> {
    let description = layout.map_or(0, |l| l.encode().len() as u64);
    let bad = |detail: String| {
        Error::new(
            ErrorKind::InvalidArgument,
            Operation::Create,
            crate::error::Object {
                kind: crate::error::ObjectKind::Topic,
                name: None,
            },
            detail,
        )
    };
    if capacity < 2 || !capacity.is_power_of_two() || capacity > CAPACITY_MAX {
        return Err(bad(format!(
            "topic capacity {capacity} must be a power of two from 2 to {CAPACITY_MAX}"
        )));
    }
    if subscribers == 0 || subscribers > PUBSUB_MAX_SUBSCRIBERS {
        return Err(bad(format!(
            "max_subscribers {subscribers} must be from 1 to {PUBSUB_MAX_SUBSCRIBERS}"
        )));
    }
    geometry(payload as u64, capacity as u64, subscribers as u64)
        .map(|g| g.total + description)
        .ok_or_else(|| bad("the topic's size overflows the address space".to_string()))
}

impl Topic {
    /// Opens a topic of whatever type it carries, as a subscriber: its record (type name,
    /// fingerprint, size), shape and frame header are taken from its own header.
    pub(in crate::typed::pubsub) fn open_any(name: &str) -> Result<Topic> {
        let shm = SharedMemory::open(name).map_err(as_topic)?;
        let size = shm.size().map_err(as_topic)?;
        let not_topic = |detail: &str| {
            Error::new(
                ErrorKind::Mismatch,
                Operation::Open,
                object(name),
                detail.to_string(),
            )
        };
        // A segment its creator is still sizing or writing (no size yet, a blank header, not
        // ready): not there yet, so that a wait for it goes on.
        let unfinished = || {
            Error::new(
                ErrorKind::NotInitialized,
                Operation::Open,
                object(name),
                "its creator has not finished making it",
            )
        };
        if size == 0 {
            return Err(unfinished());
        }
        if size < ENTRIES as u64 {
            return Err(not_topic("the segment is too small to be a topic"));
        }
        let ctrl = shm.map_range(0, HEADER_LEN).map_err(as_topic)?;
        let mut head = [0u8; HEADER_LEN];
        ctrl.read_at(0, &mut head)?;
        if head[..8] == [0; 8] {
            return Err(unfinished());
        }
        match SegmentKind::from_magic(&head) {
            Some(SegmentKind::Topic) => {}
            Some(other) => {
                return Err(not_topic(&format!(
                    "it is {}, not a topic",
                    other.describe()
                )))
            }
            None => return Err(not_topic("it is not a posix-ipc segment")),
        }
        drop((ctrl, shm));
        let u32_of = |o: usize| u32::from_ne_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
        let u64_of = |o: usize| u64::from_ne_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
        let shape = u32_of(SHAPE);
        let record = RecordType::new(
            type_name(&head),
            usize::try_from(u64_of(PAYLOAD)).unwrap_or(usize::MAX),
            u64_of(FINGERPRINT),
        );
        let header_size = u32_of(FRAME_HEADER) as usize;
        Topic::open(name, &record, shape, header_size, false, None)
    }
}
