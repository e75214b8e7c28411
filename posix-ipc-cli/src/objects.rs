//! Showing the objects the library's `lifecycle` module finds: their kind (including this
//! crate's segment kinds), details, holders and state, as table cells and JSON.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use posix_ipc::lifecycle::{
    self, Holder, ObjectInfo, SegmentInfo, State, UnreadableProcess, MQUEUE_DIR, SHM_DIR,
};
use posix_ipc::{ObjectKind, SegmentKind};
use serde_json::{json, Value};

/// The long name of an object's kind, for sentences ("message queue /jobs").
pub fn long_kind(o: &ObjectInfo) -> &'static str {
    match (&o.segment, o.kind) {
        (Some(s), _) => match s.kind {
            SegmentKind::Ring => "ring",
            SegmentKind::Shared => "shared struct",
            SegmentKind::RobustMutex => "robust mutex",
            SegmentKind::Topic => "publish-subscribe topic",
            _ => "typed-queue companion",
        },
        (None, ObjectKind::Semaphore) => "semaphore",
        (None, ObjectKind::MessageQueue) => "message queue",
        (None, _) => "shared memory",
    }
}

/// User names by uid, from `/etc/passwd`.
pub struct Owners(HashMap<u32, String>);

impl Owners {
    /// Reads `/etc/passwd` (an unreadable file gives numeric owners).
    pub fn read() -> Owners {
        let text = fs::read_to_string("/etc/passwd").unwrap_or_default();
        let map = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let uid = fields.nth(1)?.parse().ok()?;
                Some((uid, name.to_string()))
            })
            .collect();
        Owners(map)
    }

    /// The user name, or the uid as text.
    pub fn name(&self, uid: u32) -> String {
        self.0.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
    }
}

/// Makes sure queues can be listed: mounts the mqueue filesystem at `/dev/mqueue` when it is
/// missing and this process may mount it. Returns why queues cannot be listed otherwise.
pub fn ensure_mqueue() -> Result<(), String> {
    lifecycle::mount_mqueue().map_err(|e| e.detail().to_string())
}

fn pids(list: &[u32]) -> String {
    list.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What this crate's header says, in a few words.
pub fn segment_summary(s: &SegmentInfo) -> String {
    let mut parts = Vec::new();
    if !s.ready {
        parts.push("not ready".to_string());
    }
    match s.kind {
        SegmentKind::Ring => {
            if let Some(mode) = s.ring_mode {
                parts.push(format!("{mode:?}"));
            }
            if let (Some(cap), Some(size)) = (s.capacity, s.type_size) {
                parts.push(format!("{cap} x {size} B"));
            }
            if let Some(n) = s.count {
                parts.push(format!("{n} queued"));
            }
            parts.push(format!(
                "producers [{}] consumers [{}]",
                pids(&s.producers),
                pids(&s.consumers)
            ));
        }
        SegmentKind::Topic => {
            if let Some(policy) = s.policy {
                parts.push(format!("{policy:?}"));
            }
            match (s.type_name.as_deref(), s.type_size) {
                (Some("byte frames"), Some(size)) => parts.push(match &s.frame_header {
                    Some((h, n)) => format!("byte frames with a {h} header ({n} B) up to {size} B"),
                    None => format!("byte frames up to {size} B"),
                }),
                (Some(t), Some(size)) => parts.push(format!("{t} ({size} B)")),
                (None, Some(size)) => parts.push(format!("{size} B samples")),
                _ => {}
            }
            if let Some(cap) = s.capacity {
                parts.push(format!("keeps {cap}"));
            }
            if let Some(n) = s.count {
                parts.push(format!("{n} published"));
            }
            parts.push(format!(
                "publisher [{}] subscribers [{}] ({} live)",
                pids(&s.producers),
                pids(&s.consumers),
                s.consumers.len()
            ));
        }
        SegmentKind::Shared => {
            if let Some(size) = s.type_size {
                parts.push(format!("{size} B value"));
            }
            if let Some(n) = s.count {
                parts.push(format!("{n} stores"));
            }
            if let Some(pid) = s.lock_holder {
                parts.push(format!(
                    "locked by {pid}{}",
                    if s.lock_holder_dead { " (dead)" } else { "" }
                ));
            }
        }
        SegmentKind::RobustMutex => match s.lock_holder {
            None if s.lock_holder_dead => {
                parts.push("its holder died: the next locker takes it over".to_string())
            }
            Some(pid) => parts.push(format!(
                "held by {pid}{}",
                if s.lock_holder_dead {
                    " (dead: next locker takes over)"
                } else {
                    ""
                }
            )),
            None => parts.push("unlocked".to_string()),
        },
        _ => {
            if let Some((queue, exists)) = &s.queue {
                parts.push(format!(
                    "of {queue}{}",
                    if *exists { "" } else { " (gone)" }
                ));
            }
            if let Some(t) = &s.type_name {
                parts.push(t.clone());
            }
            parts.push(format!(
                "producers [{}] consumers [{}]",
                pids(&s.producers),
                pids(&s.consumers)
            ));
        }
    }
    parts.join(", ")
}

/// Bytes of memory `/dev/shm` holds for a segment now (`st_blocks` × 512 of its file), as
/// against its size, which a topic reserves in full when it is created.
pub fn resident_bytes(name: &str) -> Option<u64> {
    let md = fs::metadata(Path::new(SHM_DIR).join(name.trim_start_matches('/'))).ok()?;
    Some(md.blocks() * 512)
}

/// The size, value or queue depth in words (with the header summary for our segments).
pub fn detail(o: &ObjectInfo) -> String {
    match o.kind {
        ObjectKind::Semaphore => match o.value {
            Some(v) => format!("value {v}"),
            None => "value ?".to_string(),
        },
        ObjectKind::MessageQueue => match (o.messages, o.max_messages, o.max_message_size) {
            (Some(n), Some(max), Some(size)) => format!("{n}/{max} messages, max {size} bytes"),
            _ => format!("{} bytes queued", o.queue_bytes.unwrap_or(0)),
        },
        _ => {
            let mut size = format!("{} bytes", o.size.unwrap_or(0));
            if is_topic(o) {
                size.push_str(&format!(
                    " reserved, {} resident",
                    resident_bytes(&o.name).map_or("?".to_string(), |r| r.to_string())
                ));
            }
            match &o.segment {
                Some(s) => format!("{size}: {}", segment_summary(s)),
                None => size,
            }
        }
    }
}

/// Whether the object is a publish-subscribe topic.
pub fn is_topic(o: &ObjectInfo) -> bool {
    o.segment
        .as_ref()
        .is_some_and(|s| s.kind == SegmentKind::Topic)
}

/// "in use", "stale" or "-" (not judged).
pub fn state_word(state: &State) -> &'static str {
    match state {
        State::InUse(_) => "in use",
        State::Stale(_) => "stale",
        _ => "-",
    }
}

/// The state with its reason.
pub fn state_text(state: &State) -> String {
    match state {
        State::InUse(why) => format!("in use: {why}"),
        State::Stale(why) => format!("stale: {why}"),
        _ => "not checked".to_string(),
    }
}

/// `1234 (demo), 1240 (demo)`, or `-`.
pub fn holders_text(holders: &[Holder]) -> String {
    if holders.is_empty() {
        return "-".to_string();
    }
    holders
        .iter()
        .map(|h| format!("{} ({})", h.pid, h.command))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many names or processes a note spells out before "and N more".
const SHOWN: usize = 5;

fn first_few(items: &[String]) -> String {
    let mut text = items[..items.len().min(SHOWN)].join(", ");
    if items.len() > SHOWN {
        text.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    text
}

/// Why a judgement of stale may be wrong: the objects among `objects` that are stale although
/// a process that could not be inspected could hold them, and those processes (pid, command
/// and why they could not be read, grouped by reason). `None` when no stale object could be
/// held unseen: an unreadable process that could only hold objects seen in use changes nothing.
pub fn unseen_holders_note<'a>(
    objects: impl IntoIterator<Item = &'a ObjectInfo>,
) -> Option<String> {
    let mut names = Vec::new();
    let mut processes: Vec<&UnreadableProcess> = Vec::new();
    for o in objects {
        if matches!(o.state, State::Stale(_)) && !o.unreadable.is_empty() {
            names.push(o.name.clone());
            for p in &o.unreadable {
                if !processes.iter().any(|q| q.pid == p.pid) {
                    processes.push(p);
                }
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    processes.sort_by_key(|p| p.pid);
    let mut reasons: Vec<(&str, Vec<String>)> = Vec::new();
    for p in &processes {
        let who = format!("{} ({})", p.pid, p.command);
        match reasons.iter_mut().find(|(r, _)| *r == p.reason) {
            Some((_, pids)) => pids.push(who),
            None => reasons.push((&p.reason, vec![who])),
        }
    }
    let why: Vec<String> = reasons
        .iter()
        .map(|(reason, who)| format!("{}: {reason}", first_few(who)))
        .collect();
    Some(format!(
        "{} {} stale, but {} process(es) that could not be inspected could hold {}: {}",
        first_few(&names),
        if names.len() == 1 { "looks" } else { "look" },
        processes.len(),
        if names.len() == 1 { "it" } else { "them" },
        why.join("; ")
    ))
}

fn unreadable_json(list: &[UnreadableProcess]) -> Value {
    list.iter()
        .map(|p| json!({"pid": p.pid, "command": p.command, "uid": p.uid, "reason": p.reason}))
        .collect()
}

fn segment_json(s: &SegmentInfo) -> Value {
    json!({
        "kind": s.kind.short(),
        "version": s.version,
        "ready": s.ready,
        "type_size": s.type_size,
        "fingerprint": s.fingerprint.map(|f| format!("{f:#018x}")),
        "type_name": s.type_name,
        "frame_header": s.frame_header.as_ref().map(|(name, size)| json!({"type_name": name, "size": size})),
        "ring_mode": s.ring_mode.map(|m| format!("{m:?}")),
        "policy": s.policy.map(|p| format!("{p:?}")),
        "capacity": s.capacity,
        "count": s.count,
        "producers": s.producers,
        "consumers": s.consumers,
        "dead_peers": s.dead_peers,
        "lock_holder": s.lock_holder,
        "lock_holder_dead": s.lock_holder_dead,
        "queue": s.queue.as_ref().map(|(q, _)| q),
        "queue_exists": s.queue.as_ref().map(|(_, e)| e),
    })
}

/// The object as a JSON object.
pub fn to_json(o: &ObjectInfo, owners: &Owners) -> Value {
    let mut v = json!({
        "kind": o.kind_label(),
        "name": o.name,
        "mode": format!("{:04o}", o.mode),
        "uid": o.uid,
        "owner": owners.name(o.uid),
    });
    let map = v.as_object_mut().expect("json! made an object");
    match o.kind {
        ObjectKind::Semaphore => {
            map.insert("value".into(), json!(o.value));
        }
        ObjectKind::MessageQueue => {
            map.insert("messages".into(), json!(o.messages));
            map.insert("max_messages".into(), json!(o.max_messages));
            map.insert("max_message_size".into(), json!(o.max_message_size));
            map.insert("queue_bytes".into(), json!(o.queue_bytes));
        }
        _ => {
            map.insert("size".into(), json!(o.size));
            if is_topic(o) {
                map.insert("resident".into(), json!(resident_bytes(&o.name)));
            }
        }
    }
    if let Some(s) = &o.segment {
        map.insert("segment".into(), segment_json(s));
    }
    match &o.state {
        State::InUse(why) | State::Stale(why) => {
            map.insert("state".into(), json!(state_word(&o.state)));
            map.insert("reason".into(), json!(why));
            let holders: Vec<Value> = o
                .holders
                .iter()
                .map(|h| json!({"pid": h.pid, "command": h.command, "open": h.open, "mapped": h.mapped}))
                .collect();
            map.insert("holders".into(), Value::Array(holders));
            if matches!(o.state, State::Stale(_)) && !o.unreadable.is_empty() {
                map.insert("may_be_held_by".into(), unreadable_json(&o.unreadable));
            }
        }
        _ => {}
    }
    v
}

/// The object as name/value lines for `info`.
pub fn info_pairs(o: &ObjectInfo, owners: &Owners) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        ("name", o.name.clone()),
        ("kind", format!("{} ({})", o.kind_label(), long_kind(o))),
    ];
    match o.kind {
        ObjectKind::MessageQueue => {
            let opt = |v: Option<usize>| v.map_or("?".to_string(), |v| v.to_string());
            pairs.push(("max_messages", opt(o.max_messages)));
            pairs.push(("max_message_size", opt(o.max_message_size)));
            pairs.push(("current_messages", opt(o.messages)));
            pairs.push((
                "queued bytes",
                o.queue_bytes.map_or("?".to_string(), |v| v.to_string()),
            ));
        }
        ObjectKind::Semaphore => {
            pairs.push(("value", o.value.map_or("?".to_string(), |v| v.to_string())))
        }
        _ => pairs.push(("size", format!("{} bytes", o.size.unwrap_or(0)))),
    }
    if is_topic(o) {
        pairs.push((
            "resident",
            resident_bytes(&o.name).map_or("?".to_string(), |r| format!("{r} bytes")),
        ));
    }
    if let Some(s) = &o.segment {
        pairs.push(("layout version", s.version.to_string()));
        pairs.push(("ready", s.ready.to_string()));
        if let Some(t) = &s.type_name {
            pairs.push(("type", t.clone()));
        }
        if let Some((h, n)) = &s.frame_header {
            pairs.push(("frame header", format!("{h} ({n} bytes)")));
        }
        if let Some(size) = s.type_size {
            pairs.push(("type size", format!("{size} bytes")));
        }
        if let Some(f) = s.fingerprint {
            pairs.push(("fingerprint", format!("{f:#018x}")));
        }
        if let Some(m) = s.ring_mode {
            pairs.push(("ring mode", format!("{m:?}")));
        }
        if let Some(p) = s.policy {
            pairs.push(("policy", format!("{p:?}")));
        }
        if let Some(c) = s.capacity {
            pairs.push(("capacity", c.to_string()));
        }
        if let Some(n) = s.count {
            let what = match s.kind {
                SegmentKind::Shared => "stores",
                SegmentKind::Topic => "published",
                _ => "queued",
            };
            pairs.push((what, n.to_string()));
        }
        if s.kind == SegmentKind::Topic {
            pairs.push(("publisher", format!("[{}]", pids(&s.producers))));
            pairs.push(("subscribers", format!("[{}]", pids(&s.consumers))));
            if !s.dead_peers.is_empty() {
                pairs.push(("gone peers", format!("[{}]", pids(&s.dead_peers))));
            }
        }
        if matches!(s.kind, SegmentKind::Ring | SegmentKind::QueueCompanion) {
            pairs.push(("producers", format!("[{}]", pids(&s.producers))));
            pairs.push(("consumers", format!("[{}]", pids(&s.consumers))));
            if !s.dead_peers.is_empty() {
                pairs.push(("gone peers", format!("[{}]", pids(&s.dead_peers))));
            }
        }
        if let Some((q, exists)) = &s.queue {
            pairs.push((
                "queue",
                format!("{q}{}", if *exists { "" } else { " (no longer exists)" }),
            ));
        }
        match s.lock_holder {
            Some(pid) => pairs.push((
                "lock holder",
                format!("{pid}{}", if s.lock_holder_dead { " (dead)" } else { "" }),
            )),
            None if s.lock_holder_dead => pairs.push((
                "lock holder",
                "died holding it; the next locker takes it over".to_string(),
            )),
            None => {}
        }
    }
    pairs.push(("mode", format!("{:04o}", o.mode)));
    pairs.push(("owner", format!("{} (uid {})", owners.name(o.uid), o.uid)));
    pairs.push(("holders", holders_text(&o.holders)));
    pairs.push(("state", state_text(&o.state)));
    if matches!(o.state, State::Stale(_)) && !o.unreadable.is_empty() {
        let who: Vec<String> = o
            .unreadable
            .iter()
            .map(|p| format!("{} ({}): {}", p.pid, p.command, p.reason))
            .collect();
        pairs.push((
            "may be held by",
            format!("processes that could not be inspected: {}", who.join("; ")),
        ));
    }
    pairs
}

/// The real mode and owner of a queue, from its file in the mqueue filesystem.
pub fn queue_file_stat(name: &str) -> Option<(u32, u32)> {
    let md = fs::metadata(Path::new(MQUEUE_DIR).join(name.trim_start_matches('/'))).ok()?;
    Some((md.mode() & 0o7777, md.uid()))
}

/// The real mode of a semaphore, from its file `/dev/shm/sem.NAME`.
pub fn semaphore_file_mode(name: &str) -> Option<u32> {
    let file = format!("sem.{}", name.trim_start_matches('/'));
    let md = fs::metadata(Path::new(SHM_DIR).join(file)).ok()?;
    Some(md.mode() & 0o7777)
}
