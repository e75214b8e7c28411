//! What `posix-ipc ls` shows of a topic, read with the layout's own names.

use std::sync::atomic::Ordering;

use super::Policy;
use crate::shm::Mapping;
use crate::typed::describe::SegmentInfo;
use crate::typed::header::{self, SegmentKind};
use crate::typed::peers::{owner_alive, owner_pid, Table};

use super::*;

/// What `posix-ipc ls` shows of a topic: its policy, sample type or frame size, samples
/// published and kept, and its publisher and subscribers.
pub(crate) fn describe(map: &Mapping) -> SegmentInfo {
    let mut info = SegmentInfo::new(SegmentKind::Topic, map);
    info.ready = header::u32_in(map, READY) == Some(1);
    if map.len() < PEER_TABLES_END {
        return info;
    }
    let Ok(head) = map.read_vec(0, HEADER_LEN) else {
        return info;
    };
    let u32_of = |o: usize| u32::from_ne_bytes(head[o..o + 4].try_into().unwrap_or([0; 4]));
    let u64_of = |o: usize| u64::from_ne_bytes(head[o..o + 8].try_into().unwrap_or([0; 8]));
    info.policy = Some(if u32_of(POLICY) == 1 {
        Policy::Overwrite
    } else {
        Policy::Block
    });
    info.fingerprint = Some(u64_of(FINGERPRINT));
    info.count = Some(header::atomic_u64(map, TAIL).load(Ordering::Acquire));
    info.capacity = Some(u64_of(CAPACITY));
    let frames = u32_of(SHAPE) == SHAPE_FRAMES;
    let frame_header = u64::from(u32_of(FRAME_HEADER));
    let payload = u64_of(PAYLOAD);
    info.type_size = Some(if frames {
        payload.saturating_sub(frame_header.next_multiple_of(64))
    } else {
        payload
    });
    if frames && frame_header > 0 {
        info.frame_header = Some((type_name(&head), frame_header));
    }
    info.type_name = Some(if frames {
        "byte frames".to_string()
    } else {
        type_name(&head)
    });
    let (p, c) = peer_tables(map);
    info.set_peers(p, c);
    info.generation = Some(header::atomic_u64(map, GENERATION).load(Ordering::Acquire));
    let owner = header::atomic_u64(map, OWNER).load(Ordering::Acquire);
    info.owner = (owner != 0).then(|| (owner_pid(owner), owner_alive(owner)));
    info
}

/// The type name a topic header keeps (for `ls` and error messages).
pub(super) fn type_name(head: &[u8]) -> String {
    let name = &head[TYPE_NAME..TYPE_NAME + TYPE_NAME_LEN];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// The publisher and subscriber tables of a mapped topic (for `lifecycle`).
pub(crate) fn peer_tables(map: &Mapping) -> (Table<'_>, Table<'_>) {
    (
        Table {
            map,
            base: PUBLISHERS,
            joined: PUBLISHER_JOINED,
        },
        Table {
            map,
            base: SUBSCRIBERS,
            joined: SUBSCRIBERS_JOINED,
        },
    )
}

/// The layout a topic's creator stored (of the sample type, or of the frames' header), read
/// through `shm` (for `lifecycle`, whose mapping of the header does not reach it).
pub(crate) fn stored_layout_of(
    shm: &crate::shm::SharedMemory,
) -> Option<crate::typed::layout::LayoutDesc> {
    let head = shm.map_range(0, HEADER_LEN + 48).ok()?;
    if header::u32_in(&head, READY)? != 1 {
        return None;
    }
    let fingerprint = header::u64_in(&head, FINGERPRINT)?;
    let words = (
        header::u64_in(&head, DESCRIPTION_AT)?,
        header::u64_in(&head, DESCRIPTION_LEN)?,
    );
    header::read_description(shm, words, fingerprint)
}
