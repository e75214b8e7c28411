//! Whether an object is stale, and removing it only if its name still names the same object.

use std::collections::HashMap;

use crate::error::{Error, ErrorKind, ObjectKind, Operation, Result};
use crate::name::Name;
use crate::sys;

use crate::name::queue_path;

use super::*;

/// How each kind removes and identifies its names (each kind's own).
pub(super) fn remover(kind: ObjectKind) -> &'static crate::owned::Remover {
    match kind {
        ObjectKind::Semaphore => &crate::sem::REMOVER,
        ObjectKind::MessageQueue => &crate::mq::REMOVER,
        _ => &crate::shm::REMOVER,
    }
}

pub(super) fn remove_if_same(o: &ObjectInfo) -> Result<()> {
    let name = Name::new(o.kind, &o.name, Operation::Unlink)?;
    let now = (remover(o.kind).identify)(&name);
    let still = match o.kind {
        // A queue's identity is only known through the mqueue filesystem here.
        ObjectKind::MessageQueue => {
            sys::stat_id(&queue_path(&name)).ok() == Some(o.id) || now == Some(o.id)
        }
        _ => now == Some(o.id),
    };
    if !still {
        return Err(Error::new(
            ErrorKind::NotFound,
            Operation::Unlink,
            name.object(o.kind),
            "the name was removed, or given to a new object, after it was judged stale: left \
             alone",
        ));
    }
    match o.kind {
        ObjectKind::Semaphore => crate::unlink_semaphore(&o.name),
        ObjectKind::MessageQueue => {
            // Remove the queue only: its companion, if stale too, is judged on its own.
            sys::mq_unlink(name.as_c_str())
                .map_err(|e| crate::error::os(e, Operation::Unlink, name.object(o.kind)))
        }
        _ => crate::unlink_shared_memory(&o.name),
    }
}

pub(super) fn judge(o: &ObjectInfo, queue_held: &HashMap<String, bool>) -> State {
    let pids = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if !o.holders.is_empty() {
        let who: Vec<String> = o
            .holders
            .iter()
            .map(|h| format!("{} ({})", h.pid, h.command))
            .collect();
        return State::InUse(format!("held by pid {}", who.join(", ")));
    }
    if let Some(seg) = &o.segment {
        let live: Vec<u32> = seg
            .producers
            .iter()
            .chain(&seg.consumers)
            .copied()
            .collect();
        if !live.is_empty() {
            return State::InUse(format!("peers registered and alive: pid {}", pids(&live)));
        }
        if let Some((queue, exists)) = &seg.queue {
            if *exists && queue_held.get(queue).copied().unwrap_or(false) {
                return State::InUse(format!("its queue {queue} is in use"));
            }
            if !exists {
                return State::Stale(format!(
                    "companion of queue {queue}, which no longer exists (or was made again \
                     without it); no process has it open or mapped"
                ));
            }
        }
    }
    let mut reason = "no process has it open or mapped".to_string();
    match o.kind {
        ObjectKind::MessageQueue => {
            if let Some(n) = o.messages.filter(|&n| n > 0) {
                reason.push_str(&format!(" (it still holds {n} message(s), lost with it)"));
            }
        }
        ObjectKind::Semaphore => {
            if let Some(v) = o.value {
                reason.push_str(&format!(" (value {v})"));
            }
        }
        _ => {
            if let Some(seg) = &o.segment {
                if !seg.dead_peers.is_empty() {
                    reason.push_str(&format!(
                        "; the peers it records are gone: pid {}",
                        pids(&seg.dead_peers)
                    ));
                }
                if !seg.ready {
                    reason.push_str("; its creator never finished it");
                }
            }
        }
    }
    State::Stale(reason)
}
