//! The message type and the producer/consumer logic shared by `producer.rs`, `consumer.rs` and
//! `demo.rs` (included with `#[path]`, so each example stays one `cargo run --example` away).

use std::collections::HashMap;
use std::time::Instant;

use posix_ipc::{IpcMessage, Receiver, Sender};

/// One sensor reading: 24 bytes, no padding, priority 5 unless sent urgent.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
#[ipc(priority = 5)]
pub struct Reading {
    /// Per-producer sequence number, from 0.
    pub seq: u64,
    /// The measured value.
    pub value: f64,
    /// Which producer sent it.
    pub producer: u32,
    /// `FLAG_URGENT`, `FLAG_END`.
    pub flags: u32,
}

/// Sent with `URGENT_PRIORITY` instead of the type's priority.
pub const FLAG_URGENT: u32 = 1;
/// The producer's last message; its `seq` is the number of readings sent before it.
pub const FLAG_END: u32 = 2;
/// Priority of urgent readings (every 7th).
pub const URGENT_PRIORITY: u32 = 9;
/// Priority of the end marker: the lowest, so it arrives after everything queued before it.
pub const END_PRIORITY: u32 = 0;

/// Sends `count` readings (every 7th urgent) and then an end marker.
pub fn produce(tx: &Sender<Reading>, producer: u32, count: u64) -> posix_ipc::Result<()> {
    for seq in 0..count {
        let urgent = seq % 7 == 0;
        let reading = Reading {
            seq,
            value: (seq as f64).sin(),
            producer,
            flags: if urgent { FLAG_URGENT } else { 0 },
        };
        if urgent {
            tx.send_priority(&reading, URGENT_PRIORITY)?;
        } else {
            tx.send(&reading)?;
        }
    }
    tx.send_priority(
        &Reading {
            seq: count,
            value: 0.0,
            producer,
            flags: FLAG_END,
        },
        END_PRIORITY,
    )
}

/// What the consumer saw.
#[derive(Debug, Default)]
pub struct Summary {
    /// Readings the producers said they sent (from their end markers).
    pub sent: u64,
    /// Readings received (end markers not counted).
    pub received: u64,
    /// Sent but never received.
    pub lost: u64,
    /// Received more than once.
    pub duplicated: u64,
    /// Readings that arrived out of FIFO order within their priority and producer.
    pub out_of_order: u64,
    /// Readings whose priority did not match their flags.
    pub wrong_priority: u64,
    /// Seconds from the first to the last message.
    pub seconds: f64,
}

impl Summary {
    /// Received messages per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.received as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// One machine-readable line (`summary key=value ...`).
    pub fn line(&self) -> String {
        format!(
            "summary sent={} received={} lost={} duplicated={} out_of_order={} wrong_priority={} seconds={:.6}",
            self.sent,
            self.received,
            self.lost,
            self.duplicated,
            self.out_of_order,
            self.wrong_priority,
            self.seconds
        )
    }

    /// Parses [`line`](Self::line).
    pub fn parse(line: &str) -> Option<Summary> {
        let rest = line.strip_prefix("summary ")?;
        let mut s = Summary::default();
        for kv in rest.split(' ') {
            let (k, v) = kv.split_once('=')?;
            match k {
                "sent" => s.sent = v.parse().ok()?,
                "received" => s.received = v.parse().ok()?,
                "lost" => s.lost = v.parse().ok()?,
                "duplicated" => s.duplicated = v.parse().ok()?,
                "out_of_order" => s.out_of_order = v.parse().ok()?,
                "wrong_priority" => s.wrong_priority = v.parse().ok()?,
                "seconds" => s.seconds = v.parse().ok()?,
                _ => return None,
            }
        }
        Some(s)
    }
}

/// Receives until every one of `producers` has sent its end marker, checking each reading:
/// nothing lost or duplicated, FIFO within each priority and producer, priority as flagged.
/// Calls `progress(received)` every `every` readings.
pub fn consume(
    rx: &Receiver<Reading>,
    producers: u32,
    every: u64,
    mut progress: impl FnMut(u64),
) -> posix_ipc::Result<Summary> {
    let mut s = Summary::default();
    // Per producer: which seqs were seen, the last seq per priority, and whether it ended.
    let mut seen: HashMap<u32, Vec<bool>> = HashMap::new();
    let mut last: HashMap<(u32, u32), u64> = HashMap::new();
    let mut ended = 0;
    let mut start = None;
    while ended < producers {
        let (r, priority) = rx.recv_with_priority()?;
        let now = Instant::now();
        let start = *start.get_or_insert(now);
        s.seconds = now.duration_since(start).as_secs_f64();
        if r.flags & FLAG_END != 0 {
            ended += 1;
            s.sent += r.seq;
            continue;
        }
        s.received += 1;
        let expected = if r.flags & FLAG_URGENT != 0 {
            URGENT_PRIORITY
        } else {
            Reading::PRIORITY
        };
        if priority != expected {
            s.wrong_priority += 1;
        }
        let flags = seen.entry(r.producer).or_default();
        let i = r.seq as usize;
        if flags.len() <= i {
            flags.resize(i + 1, false);
        }
        if flags[i] {
            s.duplicated += 1;
        }
        flags[i] = true;
        if let Some(prev) = last.insert((r.producer, priority), r.seq) {
            if r.seq <= prev {
                s.out_of_order += 1;
            }
        }
        if s.received % every == 0 {
            progress(s.received);
        }
    }
    let unique: u64 = seen
        .values()
        .map(|f| f.iter().filter(|x| **x).count() as u64)
        .sum();
    s.lost = s.sent.saturating_sub(unique);
    Ok(s)
}

/// Reads `--key value` from the command line, or `default`.
pub fn arg(args: &[String], key: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}
