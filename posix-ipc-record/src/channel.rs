//! What a recording says of each topic besides its samples: the channel's metadata (enough to
//! make the topic again), and the events channel (gaps and restarts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use posix_ipc_core::typed::LayoutDesc;
use posix_ipc_core::{Policy, RecordType, TopicInfo, TopicOptions};

use crate::ros2::Codec;

/// The channel of the events: every gap (`lagged`, with the samples missed) and restart
/// (`restarted`, with the new generation) met while recording, by topic.
pub const EVENTS_TOPIC: &str = "/posix-ipc/events";
/// The events' schema name.
pub const EVENTS_SCHEMA_NAME: &str = "posix_ipc/msg/Event";
/// The events' schema (`ros2msg`).
pub const EVENTS_SCHEMA: &str = "string topic\nstring kind\nuint64 missed\nuint64 generation\n";

/// The prefix of this project's channel metadata keys.
const KEY: &str = "posix_ipc.";

/// How far `CLOCK_REALTIME` is ahead of `CLOCK_MONOTONIC` now, in nanoseconds: the recording's
/// times are Unix-epoch nanoseconds, as MCAP readers and Foxglove expect.
pub(crate) fn realtime_offset_ns() -> i128 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as i128;
    real - posix_ipc_core::now_ns() as i128
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The metadata of a topic's channel: its type, fingerprint, shape, geometry and layout.
pub(crate) fn channel_metadata(info: &TopicInfo, codec: &Codec) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(format!("{KEY}{k}"), v);
    };
    put("type", info.type_name.clone());
    put("fingerprint", format!("{:#018x}", info.fingerprint));
    put("frames", info.frames.to_string());
    put(
        if info.frames { "max_frame_len" } else { "size" },
        info.sample_size.to_string(),
    );
    put("header_size", info.header_size.to_string());
    put(
        "policy",
        if info.policy == Policy::Block {
            "block"
        } else {
            "overwrite"
        }
        .to_string(),
    );
    put("capacity", info.capacity.to_string());
    put("max_subscribers", info.max_subscribers.to_string());
    put("history", info.history.to_string());
    put(
        "stall_timeout_ns",
        info.stall_timeout.as_nanos().to_string(),
    );
    put("cdr_verbatim", codec.verbatim.to_string());
    if let Some(layout) = &info.layout {
        put("layout", hex(&layout.encode()));
    }
    m
}

/// A recorded topic, from its channel's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The record type's (frames: the header's) name.
    pub type_name: String,
    /// Its layout fingerprint.
    pub fingerprint: u64,
    /// Whether the topic carries frames.
    pub frames: bool,
    /// Records: the record size. Frames: the maximum frame length.
    pub size: usize,
    /// Frames: the header's size (0: none).
    pub header_size: usize,
    /// The options it was made with.
    pub policy: Policy,
    /// Samples kept.
    pub capacity: usize,
    /// Most subscribers.
    pub max_subscribers: usize,
    /// History given to late subscribers.
    pub history: usize,
    /// The `Block` stall timeout.
    pub stall_timeout: Duration,
    /// The stored layout.
    pub layout: Option<LayoutDesc>,
}

impl Recorded {
    /// Reads a channel's metadata; `Err` says which key is missing or malformed (`Ok(None)`: a
    /// channel this project did not write).
    pub fn from_metadata(m: &BTreeMap<String, String>) -> Result<Option<Recorded>, String> {
        if !m.contains_key(&format!("{KEY}type")) {
            return Ok(None);
        }
        let get = |k: &str| {
            m.get(&format!("{KEY}{k}"))
                .ok_or_else(|| format!("the channel's metadata has no {KEY}{k}"))
        };
        let num = |k: &str| -> Result<usize, String> {
            get(k)?
                .parse()
                .map_err(|_| format!("{KEY}{k} is not a number"))
        };
        let frames = get("frames")? == "true";
        let fingerprint = get("fingerprint")?;
        let fingerprint = u64::from_str_radix(fingerprint.trim_start_matches("0x"), 16)
            .map_err(|_| format!("{KEY}fingerprint {fingerprint:?} is not hexadecimal"))?;
        let layout = match m.get(&format!("{KEY}layout")) {
            Some(h) => {
                let bytes = unhex(h).ok_or_else(|| format!("{KEY}layout is not hexadecimal"))?;
                Some(
                    LayoutDesc::decode(&bytes)
                        .map_err(|e| format!("{KEY}layout does not decode: {e}"))?,
                )
            }
            None => None,
        };
        Ok(Some(Recorded {
            type_name: get("type")?.clone(),
            fingerprint,
            frames,
            size: num(if frames { "max_frame_len" } else { "size" })?,
            header_size: num("header_size")?,
            policy: if get("policy")? == "block" {
                Policy::Block
            } else {
                Policy::Overwrite
            },
            capacity: num("capacity")?,
            max_subscribers: num("max_subscribers")?,
            history: num("history")?,
            stall_timeout: Duration::from_nanos(num("stall_timeout_ns")? as u64),
            layout,
        }))
    }

    /// The record type of a record topic, or the header's of a frame topic (`None`: frames
    /// without a header).
    pub fn record_type(&self) -> Option<RecordType> {
        match (self.frames, self.header_size) {
            (true, 0) => None,
            (true, h) => Some(RecordType::new(self.type_name.clone(), h, self.fingerprint)),
            (false, _) => Some(RecordType::new(
                self.type_name.clone(),
                self.size,
                self.fingerprint,
            )),
        }
    }

    /// The options the topic is made with again.
    pub fn options(&self) -> TopicOptions {
        TopicOptions::new()
            .capacity(self.capacity)
            .max_subscribers(self.max_subscribers)
            .policy(self.policy)
            .history(self.history)
            .stall_timeout(self.stall_timeout)
    }

    /// The codec of its messages.
    pub fn codec(&self) -> Codec {
        let record = if self.frames {
            self.header_size
        } else {
            self.size
        };
        Codec::new(&self.type_name, self.layout.as_ref(), record, self.frames)
    }
}

/// The CDR message of an event.
pub(crate) fn encode_event(topic: &str, kind: &str, missed: u64, generation: u64) -> Vec<u8> {
    let mut out = crate::ros2::CDR_LE.to_vec();
    let string = |out: &mut Vec<u8>, s: &str| {
        while (out.len() - 4) % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&(s.len() as u32 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    };
    string(&mut out, topic);
    string(&mut out, kind);
    for v in [missed, generation] {
        while (out.len() - 4) % 8 != 0 {
            out.push(0);
        }
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
