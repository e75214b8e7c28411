//! Values, depths and headers of the objects listed: each kind of segment describes itself.

use std::collections::HashMap;

use crate::error::{ObjectKind, Operation};
use crate::name::Name;
use crate::typed::companion::Companion;
use crate::typed::header::{self, SegmentKind};
use crate::{MessageQueue, Semaphore, SharedMemory};

use super::*;

/// Values, depths and this crate's headers (opens and maps the objects briefly).
pub(super) fn fill_details(o: &mut ObjectInfo, queues: &HashMap<String, (u64, u64)>) {
    match o.kind {
        ObjectKind::Semaphore => {
            o.value = Semaphore::open(&o.name).and_then(|s| s.value()).ok();
        }
        ObjectKind::MessageQueue => {
            let mq = MessageQueue::options()
                .read(true)
                .write(false)
                .nonblocking(true)
                .open(&o.name);
            let mq = match mq {
                Err(e) if e.is_permissions() => MessageQueue::options()
                    .read(false)
                    .write(true)
                    .nonblocking(true)
                    .open(&o.name),
                other => other,
            };
            if let Ok(mq) = mq {
                o.messages = mq.current_messages().ok();
                o.max_messages = Some(mq.max_messages());
                o.max_message_size = Some(mq.max_message_size());
            }
        }
        _ => o.segment = read_segment(&o.name, o.size.unwrap_or(0), queues),
    }
}

pub(super) fn read_segment(
    name: &str,
    size: u64,
    queues: &HashMap<String, (u64, u64)>,
) -> Option<SegmentInfo> {
    if size < 12 {
        return None;
    }
    let shm = SharedMemory::options().read_only(true).open(name).ok()?;
    let len = usize::try_from(size.min(4096)).ok()?;
    let map = shm.map_range(0, len).ok()?;
    // Each kind reads its own layout.
    let mut info = match header::kind_of(&map)? {
        SegmentKind::Shared => crate::typed::shared::describe(&map),
        SegmentKind::Ring => crate::typed::ring::describe(&map),
        SegmentKind::Topic => crate::typed::pubsub::describe(&map),
        SegmentKind::RobustMutex => crate::mutex::describe(&map),
        SegmentKind::QueueCompanion => Companion::describe(&map, name, &|queue, id| {
            queues.get(queue).map_or_else(
                || {
                    Name::new(ObjectKind::MessageQueue, queue, Operation::Stat)
                        .ok()
                        .and_then(|n| crate::mq::identity_of(&n))
                        == Some(id)
                },
                |known| *known == id,
            )
        }),
    };
    // The stored layout of the type, which the first page does not always reach.
    if info.layout.is_none() {
        info.layout = match info.kind {
            SegmentKind::Shared => crate::typed::shared::stored_layout_of(&shm),
            SegmentKind::Ring => crate::typed::ring::stored_layout_of(&shm),
            SegmentKind::Topic => crate::typed::pubsub::stored_layout_of(&shm),
            SegmentKind::QueueCompanion => crate::typed::companion::stored_layout_of(&shm),
            _ => None,
        };
    }
    Some(info)
}
