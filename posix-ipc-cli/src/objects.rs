//! Finding the POSIX objects that exist: segments and semaphores are files in `/dev/shm`
//! (a semaphore `/NAME` is `/dev/shm/sem.NAME`), queues are files of the mqueue filesystem,
//! mounted at `/dev/mqueue` by convention.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

use posix_ipc::{MessageQueue, Semaphore};
use serde_json::{json, Value};

/// Where glibc puts shared-memory segments and named semaphores.
pub const SHM_DIR: &str = "/dev/shm";
/// Where the mqueue filesystem is mounted by convention.
pub const MQUEUE_DIR: &str = "/dev/mqueue";

/// The three kinds of object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A shared-memory segment.
    Shm,
    /// A named semaphore.
    Sem,
    /// A message queue.
    Mq,
}

impl Kind {
    /// The short name used on the command line and in JSON.
    pub fn short(self) -> &'static str {
        match self {
            Kind::Shm => "shm",
            Kind::Sem => "sem",
            Kind::Mq => "mq",
        }
    }

    /// The long name used in sentences.
    pub fn long(self) -> &'static str {
        match self {
            Kind::Shm => "shared memory",
            Kind::Sem => "semaphore",
            Kind::Mq => "message queue",
        }
    }
}

/// One object found in the file systems.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Its kind.
    pub kind: Kind,
    /// Its name, with the leading slash.
    pub name: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Size in bytes (segments).
    pub size: Option<u64>,
    /// Current value (semaphores), when this user may open it.
    pub value: Option<u32>,
    /// Messages in the queue now (queues), when this user may open it.
    pub messages: Option<usize>,
    /// Capacity in messages (queues).
    pub max_messages: Option<usize>,
    /// Largest message in bytes (queues).
    pub max_message_size: Option<usize>,
    /// Bytes of message data in the queue now (`QSIZE` of the mqueue file).
    pub queue_bytes: Option<u64>,
}

impl Entry {
    /// The size, value or queue depth in words.
    pub fn detail(&self) -> String {
        match self.kind {
            Kind::Shm => format!("{} bytes", self.size.unwrap_or(0)),
            Kind::Sem => match self.value {
                Some(v) => format!("value {v}"),
                None => "value ?".to_string(),
            },
            Kind::Mq => match (self.messages, self.max_messages, self.max_message_size) {
                (Some(n), Some(max), Some(size)) => {
                    format!("{n}/{max} messages, max {size} bytes")
                }
                _ => format!("{} bytes queued", self.queue_bytes.unwrap_or(0)),
            },
        }
    }

    /// The entry as a JSON object.
    pub fn to_json(&self, owners: &Owners) -> Value {
        let mut v = json!({
            "kind": self.kind.short(),
            "name": self.name,
            "mode": format!("{:04o}", self.mode),
            "uid": self.uid,
            "owner": owners.name(self.uid),
        });
        let map = v.as_object_mut().expect("json! made an object");
        match self.kind {
            Kind::Shm => {
                map.insert("size".into(), json!(self.size));
            }
            Kind::Sem => {
                map.insert("value".into(), json!(self.value));
            }
            Kind::Mq => {
                map.insert("messages".into(), json!(self.messages));
                map.insert("max_messages".into(), json!(self.max_messages));
                map.insert("max_message_size".into(), json!(self.max_message_size));
                map.insert("queue_bytes".into(), json!(self.queue_bytes));
            }
        }
        v
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

/// Whether the mqueue filesystem is mounted at `/dev/mqueue` (from `/proc/self/mountinfo`).
pub fn mqueue_mounted() -> bool {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines().any(|line| {
        let mut halves = line.splitn(2, " - ");
        let (Some(left), Some(right)) = (halves.next(), halves.next()) else {
            return false;
        };
        left.split(' ').nth(4) == Some(MQUEUE_DIR) && right.split(' ').next() == Some("mqueue")
    })
}

/// Makes sure queues can be listed: mounts the mqueue filesystem at `/dev/mqueue` when it is
/// missing and this process may mount it. Returns why queues cannot be listed otherwise.
pub fn ensure_mqueue() -> Result<(), String> {
    if mqueue_mounted() {
        return Ok(());
    }
    let _ = fs::create_dir_all(MQUEUE_DIR);
    let _ = Command::new("mount")
        .args(["-t", "mqueue", "none", MQUEUE_DIR])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if mqueue_mounted() {
        Ok(())
    } else {
        Err(format!(
            "message queues not listed: the mqueue filesystem is not mounted at {MQUEUE_DIR} and \
             this user may not mount it; as root run `mkdir -p {MQUEUE_DIR} && mount -t mqueue \
             none {MQUEUE_DIR}` (or add `none {MQUEUE_DIR} mqueue defaults 0 0` to /etc/fstab)"
        ))
    }
}

/// `QSIZE` of a queue's file: bytes of message data queued now.
pub fn queue_bytes(name: &str) -> Option<u64> {
    let text = fs::read_to_string(Path::new(MQUEUE_DIR).join(name.trim_start_matches('/'))).ok()?;
    let rest = text.trim_start().strip_prefix("QSIZE:")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// Opens a queue only to read its attributes: read-only, else write-only, never blocking.
pub fn open_queue_for_attributes(name: &str) -> posix_ipc::Result<MessageQueue> {
    let read_only = MessageQueue::options()
        .read(true)
        .write(false)
        .nonblocking(true)
        .open(name);
    match read_only {
        Err(e) if e.is_permissions() => MessageQueue::options()
            .read(false)
            .write(true)
            .nonblocking(true)
            .open(name),
        other => other,
    }
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

fn queue_entry(name: String, mode: u32, uid: u32) -> Entry {
    let queue_bytes = queue_bytes(&name);
    let attrs = open_queue_for_attributes(&name).ok().map(|mq| {
        (
            mq.current_messages().ok(),
            mq.max_messages(),
            mq.max_message_size(),
        )
    });
    Entry {
        kind: Kind::Mq,
        mode,
        uid,
        size: None,
        value: None,
        messages: attrs.and_then(|a| a.0),
        max_messages: attrs.map(|a| a.1),
        max_message_size: attrs.map(|a| a.2),
        queue_bytes,
        name,
    }
}

/// Every object whose name starts with `prefix` (with its leading slash). Returns the entries,
/// sorted by kind and name, and notes on what could not be listed.
pub fn list(prefix: &str) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut notes = Vec::new();
    match fs::read_dir(SHM_DIR) {
        Ok(dir) => {
            for item in dir.flatten() {
                let Ok(md) = item.metadata() else { continue };
                if !md.is_file() {
                    continue;
                }
                let file = item.file_name().to_string_lossy().into_owned();
                let (kind, name) = match file.strip_prefix("sem.") {
                    Some(sem) => (Kind::Sem, format!("/{sem}")),
                    None => (Kind::Shm, format!("/{file}")),
                };
                if !name.starts_with(prefix) {
                    continue;
                }
                let value = match kind {
                    Kind::Sem => Semaphore::open(&name).and_then(|s| s.value()).ok(),
                    _ => None,
                };
                entries.push(Entry {
                    kind,
                    name,
                    mode: md.mode() & 0o7777,
                    uid: md.uid(),
                    size: (kind == Kind::Shm).then_some(md.len()),
                    value,
                    messages: None,
                    max_messages: None,
                    max_message_size: None,
                    queue_bytes: None,
                });
            }
        }
        Err(e) => notes.push(format!(
            "shared memory and semaphores not listed: cannot read {SHM_DIR}: {e}"
        )),
    }
    match ensure_mqueue() {
        Ok(()) => match fs::read_dir(MQUEUE_DIR) {
            Ok(dir) => {
                for item in dir.flatten() {
                    let Ok(md) = item.metadata() else { continue };
                    if !md.is_file() {
                        continue;
                    }
                    let name = format!("/{}", item.file_name().to_string_lossy());
                    if name.starts_with(prefix) {
                        entries.push(queue_entry(name, md.mode() & 0o7777, md.uid()));
                    }
                }
            }
            Err(e) => notes.push(format!(
                "message queues not listed: cannot read {MQUEUE_DIR}: {e}"
            )),
        },
        Err(note) => notes.push(note),
    }
    entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    (entries, notes)
}
