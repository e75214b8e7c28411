//! What the bridge puts on the wire, for any Zenoh program (a Python one with `eclipse-zenoh`,
//! a C one with zenoh-c) to read or write without this crate.
//!
//! # Keys
//!
//! A topic `/NAME` is exported under the prefix (`posix-ipc` unless `--prefix` says otherwise):
//!
//! | key | what |
//! |---|---|
//! | `PREFIX/NAME` | the samples: one Zenoh put per sample, payload and attachment below; a delete when the publisher of a generation has gone, after its last sample |
//! | `PREFIX/@topic/NAME` | a liveliness token while a bridge exports the topic |
//! | `PREFIX/@alive/NAME/GEN` | a liveliness token while the topic's publisher of generation `GEN` is alive |
//! | `PREFIX/@info/NAME` | a queryable: its reply's payload is the topic's description (JSON, below) |
//!
//! `NAME` is the topic's name without its leading slash (topic names have no other slash).
//!
//! # A sample
//!
//! The payload is the sample's bytes: a record of the topic's record type, or a frame's
//! header (exactly its size, no padding) followed by the frame's bytes. The attachment is 32
//! bytes, little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `b"PIPZ"` |
//! | 4 | 4 | format version, 1 |
//! | 8 | 8 | the sample's index on the exporting topic |
//! | 16 | 8 | the generation of the publisher that published it |
//! | 24 | 8 | its publication time, `CLOCK_MONOTONIC` nanoseconds on the exporting machine |
//!
//! When the topic's publisher of a generation goes (it closed or died), the exporting bridge
//! puts, after that publisher's last sample, a Zenoh *delete* on the same key with no payload
//! and an attachment of the same form: the index after the last sample and the generation
//! that ended. It travels in order with the samples, where the end of the `@alive` token does
//! not; an importing bridge reports what it never received of that generation as a gap, then
//! its local publisher goes. A reader of samples skips deletes (`SampleKind::Delete`).
//!
//! Within a generation, indices rise by one per sample: a step of more than one is that many
//! samples lost (by the exporting bridge's subscriber falling behind an `Overwrite` topic, or by
//! Zenoh dropping under congestion), which an importing bridge reports to its subscribers as
//! lag with the exact count.
//!
//! # The description
//!
//! A JSON object: `name` (with its slash), `type` (the record type's name; a frame topic's:
//! its header's, or `"byte frames"`), `fingerprint` (a `0x`-prefixed hex string: JSON numbers
//! lose 64-bit integers), `frames` (bool), `size` (records: the record size; frames: the
//! maximum frame length, header not counted), `header_size` (frames: the header's size, 0 for
//! none), `policy` (`"block"` or `"overwrite"`), `capacity`, `max_subscribers`, `history`,
//! `stall_timeout_ms`, `layout`: the record's (or header's) stored layout, the bytes of
//! [`LayoutDesc::encode`] in lowercase hex, or `null`; and `dtype`: the same layout as a numpy
//! dtype specification, or `null` — `numpy.dtype(description["dtype"])` reads the records (or a
//! frame's header) in place, with no other package:
//!
//! - a struct is `{"names": [...], "formats": [...], "offsets": [...], "itemsize": N}`;
//! - a number is its numpy code in the exporting machine's byte order (`"<u8"`, `"<f4"`; 128-bit
//!   integers, which numpy lacks, are `"V16"`), an array of numbers `"(N,)<f8"`;
//! - a nested struct is its own specification, and an array of `N` structs a struct with
//!   fields `"0"` to `"N-1"`.

use std::time::Duration;

use posix_ipc_core::typed::LayoutDesc;
use posix_ipc_core::{Policy, RecordType, TopicInfo, TopicOptions};
use serde_json::{json, Value};

use crate::Error;

/// The attachment's magic bytes.
pub const ATTACHMENT_MAGIC: [u8; 4] = *b"PIPZ";
/// The attachment's format version.
pub const ATTACHMENT_VERSION: u32 = 1;
/// The attachment's length in bytes.
pub const ATTACHMENT_LEN: usize = 32;

/// What travels with each sample (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// The sample's index on the exporting topic.
    pub index: u64,
    /// The generation of the publisher that published it.
    pub generation: u64,
    /// Its publication time, `CLOCK_MONOTONIC` ns on the exporting machine.
    pub published_ns: u64,
}

impl Attachment {
    /// The 32 bytes on the wire.
    pub fn encode(&self) -> [u8; ATTACHMENT_LEN] {
        let mut out = [0u8; ATTACHMENT_LEN];
        out[0..4].copy_from_slice(&ATTACHMENT_MAGIC);
        out[4..8].copy_from_slice(&ATTACHMENT_VERSION.to_le_bytes());
        out[8..16].copy_from_slice(&self.index.to_le_bytes());
        out[16..24].copy_from_slice(&self.generation.to_le_bytes());
        out[24..32].copy_from_slice(&self.published_ns.to_le_bytes());
        out
    }

    /// Reads an attachment; `None` for anything that is not one of this version.
    pub fn decode(bytes: &[u8]) -> Option<Attachment> {
        if bytes.len() != ATTACHMENT_LEN
            || bytes[0..4] != ATTACHMENT_MAGIC
            || bytes[4..8] != ATTACHMENT_VERSION.to_le_bytes()
        {
            return None;
        }
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        Some(Attachment {
            index: word(8),
            generation: word(16),
            published_ns: word(24),
        })
    }
}

/// A topic as the bridge describes it to the far side.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The topic's name, with its leading slash.
    pub name: String,
    /// The record type's name (frames: the header's, or `byte frames`).
    pub type_name: String,
    /// The record type's (or header's) layout fingerprint.
    pub fingerprint: u64,
    /// Whether it carries frames.
    pub frames: bool,
    /// Records: the record size. Frames: the maximum frame length.
    pub size: usize,
    /// Frames: the header's size (0: none).
    pub header_size: usize,
    /// The policy for slow subscribers.
    pub policy: Policy,
    /// Samples kept.
    pub capacity: usize,
    /// Most subscribers at once.
    pub max_subscribers: usize,
    /// Samples a late subscriber is given.
    pub history: usize,
    /// How long a `Block` publisher waits for a stopped subscriber.
    pub stall_timeout: Duration,
    /// The record's (or header's) stored layout.
    pub layout: Option<LayoutDesc>,
}

impl Description {
    /// The description of a local topic, from what its subscriber read.
    pub fn of(name: &str, info: &TopicInfo) -> Description {
        Description {
            name: name.to_string(),
            type_name: info.type_name.clone(),
            fingerprint: info.fingerprint,
            frames: info.frames,
            size: info.sample_size,
            header_size: info.header_size,
            policy: info.policy,
            capacity: info.capacity,
            max_subscribers: info.max_subscribers,
            history: info.history,
            stall_timeout: info.stall_timeout,
            layout: info.layout.clone(),
        }
    }

    /// The record type of a record topic, or the header's of a frame topic (`None`: frames
    /// without a header).
    pub fn record_type(&self) -> Option<RecordType> {
        if self.frames && self.header_size == 0 {
            return None;
        }
        let size = if self.frames {
            self.header_size
        } else {
            self.size
        };
        Some(RecordType::new(
            self.type_name.clone(),
            size,
            self.fingerprint,
        ))
    }

    /// The options a topic of this description is made with.
    pub fn options(&self) -> TopicOptions {
        TopicOptions::new()
            .capacity(self.capacity)
            .max_subscribers(self.max_subscribers)
            .policy(self.policy)
            .history(self.history)
            .stall_timeout(self.stall_timeout)
    }

    /// Bytes of a sample's payload on the wire at most: a record, or a header and a frame.
    pub fn max_payload(&self) -> usize {
        if self.frames {
            self.header_size + self.size
        } else {
            self.size
        }
    }

    /// The JSON text on the wire.
    pub fn to_json(&self) -> String {
        let layout = self.layout.as_ref().map(|l| hex(&l.encode()));
        json!({
            "name": self.name,
            "type": self.type_name,
            "fingerprint": format!("{:#018x}", self.fingerprint),
            "frames": self.frames,
            "size": self.size,
            "header_size": self.header_size,
            "policy": match self.policy {
                Policy::Block => "block",
                _ => "overwrite",
            },
            "capacity": self.capacity,
            "max_subscribers": self.max_subscribers,
            "history": self.history,
            "stall_timeout_ms": u64::try_from(self.stall_timeout.as_millis()).unwrap_or(u64::MAX),
            "layout": layout,
            "dtype": self.layout.as_ref().map(numpy_dtype),
        })
        .to_string()
    }

    /// Reads a description; the error says which field is wrong.
    pub fn from_json(text: &[u8]) -> Result<Description, Error> {
        let bad = |what: &str| Error::Protocol(format!("a topic description {what}"));
        let v: Value =
            serde_json::from_slice(text).map_err(|e| bad(&format!("is not JSON ({e})")))?;
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("has no string {k:?}")))
        };
        let n = |k: &str| {
            v.get(k)
                .and_then(Value::as_u64)
                .and_then(|x| usize::try_from(x).ok())
                .ok_or_else(|| bad(&format!("has no count {k:?}")))
        };
        let fingerprint = s("fingerprint")?;
        let fingerprint = u64::from_str_radix(fingerprint.trim_start_matches("0x"), 16)
            .map_err(|_| bad("has a fingerprint that is not hex"))?;
        let policy = match s("policy")? {
            "block" => Policy::Block,
            "overwrite" => Policy::Overwrite,
            other => return Err(bad(&format!("has an unknown policy {other:?}"))),
        };
        let layout = match v.get("layout") {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) => {
                let bytes = unhex(h).ok_or_else(|| bad("has a layout that is not hex"))?;
                Some(
                    LayoutDesc::decode(&bytes)
                        .map_err(|e| bad(&format!("has a layout that does not decode: {e}")))?,
                )
            }
            Some(_) => return Err(bad("has a layout that is not a string")),
        };
        let name = s("name")?.to_string();
        if !name.starts_with('/') || name[1..].contains('/') || name.len() < 2 {
            return Err(bad(&format!("names {name:?}, not a topic name")));
        }
        Ok(Description {
            name,
            type_name: s("type")?.to_string(),
            fingerprint,
            frames: v
                .get("frames")
                .and_then(Value::as_bool)
                .ok_or_else(|| bad("has no bool \"frames\""))?,
            size: n("size")?,
            header_size: n("header_size")?,
            policy,
            capacity: n("capacity")?,
            max_subscribers: n("max_subscribers")?,
            history: n("history")?,
            stall_timeout: Duration::from_millis(n("stall_timeout_ms")? as u64),
            layout,
        })
    }
}

/// A layout as a numpy dtype specification (see the [module documentation](self)).
pub fn numpy_dtype(layout: &LayoutDesc) -> Value {
    use posix_ipc_core::typed::{ElementDesc, Primitive};
    let order = if cfg!(target_endian = "little") {
        "<"
    } else {
        ">"
    };
    let primitive = |p: &Primitive| -> String {
        let code = match p {
            Primitive::U8 => "u1",
            Primitive::I8 => "i1",
            Primitive::U16 => "u2",
            Primitive::I16 => "i2",
            Primitive::U32 => "u4",
            Primitive::I32 => "i4",
            Primitive::U64 => "u8",
            Primitive::I64 => "i8",
            Primitive::F32 => "f4",
            Primitive::F64 => "f8",
            _ => return "V16".to_string(),
        };
        format!("{order}{code}")
    };
    let mut names = Vec::new();
    let mut formats = Vec::new();
    let mut offsets = Vec::new();
    for f in &layout.fields {
        names.push(json!(f.name));
        offsets.push(json!(f.offset));
        formats.push(match &f.element {
            ElementDesc::Primitive(p) if f.count == 1 => json!(primitive(p)),
            ElementDesc::Primitive(p) => json!(format!("({},){}", f.count, primitive(p))),
            ElementDesc::Struct(inner) if f.count == 1 => numpy_dtype(inner),
            ElementDesc::Struct(inner) => {
                let one = numpy_dtype(inner);
                json!({
                    "names": (0..f.count).map(|i| i.to_string()).collect::<Vec<_>>(),
                    "formats": vec![one; f.count as usize],
                    "offsets": (0..f.count).map(|i| i * inner.size).collect::<Vec<_>>(),
                    "itemsize": f.count * inner.size,
                })
            }
            _ => json!(format!("V{}", f.size)),
        });
    }
    json!({"names": names, "formats": formats, "offsets": offsets, "itemsize": layout.size})
}

/// The key of a topic's samples: `PREFIX/NAME`.
pub fn sample_key(prefix: &str, topic: &str) -> String {
    format!("{prefix}/{}", topic.trim_start_matches('/'))
}

/// The key of a topic's export token: `PREFIX/@topic/NAME`.
pub fn topic_token_key(prefix: &str, topic: &str) -> String {
    format!("{prefix}/@topic/{}", topic.trim_start_matches('/'))
}

/// The key of a topic's publisher token: `PREFIX/@alive/NAME/GEN`.
pub fn alive_token_key(prefix: &str, topic: &str, generation: u64) -> String {
    format!(
        "{prefix}/@alive/{}/{generation}",
        topic.trim_start_matches('/')
    )
}

/// The key of a topic's description queryable: `PREFIX/@info/NAME`.
pub fn info_key(prefix: &str, topic: &str) -> String {
    format!("{prefix}/@info/{}", topic.trim_start_matches('/'))
}

/// The topic name (with its slash) a token key under `PREFIX/@topic/` names.
pub fn topic_of_token(prefix: &str, key: &str) -> Option<String> {
    let name = key.strip_prefix(prefix)?.strip_prefix("/@topic/")?;
    (!name.is_empty() && !name.contains('/')).then(|| format!("/{name}"))
}

/// The topic name and generation a key under `PREFIX/@alive/` names.
pub fn alive_of_token(prefix: &str, key: &str) -> Option<(String, u64)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix("/@alive/")?;
    let (name, generation) = rest.split_once('/')?;
    Some((format!("/{name}"), generation.parse().ok()?))
}

pub use posix_ipc_core::lifecycle::glob_matches;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attachment_round_trips_and_anything_else_is_refused() {
        let a = Attachment {
            index: 7,
            generation: 2,
            published_ns: u64::MAX - 1,
        };
        let bytes = a.encode();
        assert_eq!(&bytes[0..4], b"PIPZ");
        assert_eq!(Attachment::decode(&bytes), Some(a));
        assert_eq!(Attachment::decode(&bytes[..31]), None);
        let mut other = bytes;
        other[4] = 2;
        assert_eq!(Attachment::decode(&other), None, "another version");
    }

    #[test]
    fn a_description_round_trips_with_its_layout() {
        #[derive(Clone, Copy, posix_ipc_derive::IpcMessage)]
        #[ipc(crate = "posix_ipc_core")]
        #[repr(C)]
        struct Tick {
            seq: u64,
            price: f64,
        }
        use posix_ipc_core::IpcMessage;
        let d = Description {
            name: "/ticks".into(),
            type_name: "Tick".into(),
            fingerprint: Tick::FINGERPRINT,
            frames: false,
            size: 16,
            header_size: 0,
            policy: Policy::Overwrite,
            capacity: 64,
            max_subscribers: 8,
            history: 2,
            stall_timeout: Duration::from_millis(500),
            layout: Some(LayoutDesc::from(&Tick::LAYOUT)),
        };
        let text = d.to_json();
        assert!(text.contains("\"policy\":\"overwrite\""), "{text}");
        assert!(
            text.contains(
                r#""dtype":{"formats":["<u8","<f8"],"itemsize":16,"names":["seq","price"],"offsets":[0,8]}"#
            ),
            "{text}"
        );
        assert_eq!(Description::from_json(text.as_bytes()).unwrap(), d);
        assert_eq!(d.record_type(), Some(RecordType::of::<Tick>()));
        let e = Description::from_json(br#"{"name": "/x"}"#).unwrap_err();
        assert!(e.to_string().contains("fingerprint"), "{e}");
        let e = Description::from_json(text.replace("/ticks", "/a/b").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("not a topic name"), "{e}");
    }

    #[test]
    fn keys_and_globs() {
        assert_eq!(sample_key("posix-ipc", "/camera"), "posix-ipc/camera");
        assert_eq!(
            topic_of_token("p", &topic_token_key("p", "/cam")),
            Some("/cam".into())
        );
        assert_eq!(
            alive_of_token("p", &alive_token_key("p", "/cam", 3)),
            Some(("/cam".into(), 3))
        );
        assert_eq!(topic_of_token("p", "p/@alive/cam/1"), None);
        assert!(glob_matches("*", "/anything"));
        assert!(glob_matches("/cam*", "/camera"));
        assert!(glob_matches("cam?ra", "/camera"));
        assert!(glob_matches("*era", "/camera"));
        assert!(glob_matches("c*m*a", "/camera"));
        assert!(!glob_matches("/cam", "/camera"));
        assert!(!glob_matches("x*", "/camera"));
        assert!(!glob_matches("*x", "/camera"));
    }
}
