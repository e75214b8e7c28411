//! The message type and the producer/consumer logic shared by `producer.rs`, `consumer.rs`,
//! `async_consumer.rs` and `demo.rs` (included with `#[path]`, so each example stays one
//! `cargo run --example` away).

use std::collections::BTreeMap;
use std::time::Instant;

use posix_ipc::{ErrorKind, IpcMessage, Receiver, Sender};

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

/// Sends `count` readings (every 7th urgent) and then an end marker. `sent(n)` is told the
/// number of readings sent so far after each one, so a caller that is stopped (or fails)
/// midway knows exactly how many went out.
pub fn produce(
    tx: &Sender<Reading>,
    producer: u32,
    count: u64,
    mut sent: impl FnMut(u64),
) -> posix_ipc::Result<()> {
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
        sent(seq + 1);
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

/// What the consumer saw of one producer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FromProducer {
    /// Readings received from it (each seq once).
    pub received: u64,
    /// The highest seq received, if any.
    pub last_seq: Option<u64>,
    /// Seqs below `last_seq` that never arrived.
    pub gaps: u64,
    /// Readings it said it sent (its end marker), if the marker arrived.
    pub ended: Option<u64>,
}

/// What the consumer saw.
#[derive(Debug, Default)]
pub struct Summary {
    /// Readings the producers said they sent (from their end markers).
    pub sent: u64,
    /// Readings received (end markers not counted).
    pub received: u64,
    /// Sent (per the end markers) but never received.
    pub lost: u64,
    /// Received more than once.
    pub duplicated: u64,
    /// Readings that arrived out of FIFO order within their priority and producer.
    pub out_of_order: u64,
    /// Readings whose priority did not match their flags.
    pub wrong_priority: u64,
    /// Seconds from the first to the last message.
    pub seconds: f64,
    /// Per producer.
    pub producers: BTreeMap<u32, FromProducer>,
    /// Why the consumer stopped before every end marker came (`disconnected`: every producer
    /// had gone; `cancelled`: a stop signal), if it did.
    pub stopped: Option<String>,
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

    /// Machine-readable lines: `summary key=value ...`, then one `from producer=P ...` line per
    /// producer.
    pub fn line(&self) -> String {
        let mut out = format!(
            "summary sent={} received={} lost={} duplicated={} out_of_order={} wrong_priority={} seconds={:.6} stopped={}",
            self.sent,
            self.received,
            self.lost,
            self.duplicated,
            self.out_of_order,
            self.wrong_priority,
            self.seconds,
            self.stopped.as_deref().unwrap_or("no")
        );
        for (id, p) in &self.producers {
            out.push_str(&format!(
                "\nfrom producer={id} received={} last_seq={} gaps={} ended={}",
                p.received,
                p.last_seq.map_or("none".to_string(), |s| s.to_string()),
                p.gaps,
                p.ended.map_or("none".to_string(), |s| s.to_string())
            ));
        }
        out
    }

    /// Parses the `summary` line of [`line`](Self::line) (the `from` lines with
    /// [`parse_from`](Self::parse_from)).
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
                "stopped" => s.stopped = (v != "no").then(|| v.to_string()),
                _ => return None,
            }
        }
        Some(s)
    }

    /// Parses a `from producer=...` line into this summary.
    pub fn parse_from(&mut self, line: &str) -> Option<()> {
        let rest = line.strip_prefix("from ")?;
        let mut id = None;
        let mut p = FromProducer::default();
        let opt = |v: &str| {
            if v == "none" {
                Ok(None)
            } else {
                v.parse().map(Some)
            }
        };
        for kv in rest.split(' ') {
            let (k, v) = kv.split_once('=')?;
            match k {
                "producer" => id = Some(v.parse().ok()?),
                "received" => p.received = v.parse().ok()?,
                "last_seq" => p.last_seq = opt(v).ok()?,
                "gaps" => p.gaps = v.parse().ok()?,
                "ended" => p.ended = opt(v).ok()?,
                _ => return None,
            }
        }
        self.producers.insert(id?, p);
        Some(())
    }
}

/// Checks readings as they arrive: nothing duplicated, FIFO within each priority and producer,
/// the priority each reading's flags call for, and per producer what arrived.
#[derive(Default)]
pub struct Tally {
    s: Summary,
    seen: BTreeMap<u32, Vec<bool>>,
    last: BTreeMap<(u32, u32), u64>,
    ended: u32,
    start: Option<Instant>,
}

impl Tally {
    /// Takes one received reading; returns whether it was an end marker.
    pub fn observe(&mut self, r: &Reading, priority: u32) -> bool {
        let now = Instant::now();
        let start = *self.start.get_or_insert(now);
        self.s.seconds = now.duration_since(start).as_secs_f64();
        let from = self.s.producers.entry(r.producer).or_default();
        if r.flags & FLAG_END != 0 {
            self.ended += 1;
            self.s.sent += r.seq;
            from.ended = Some(r.seq);
            return true;
        }
        self.s.received += 1;
        let expected = if r.flags & FLAG_URGENT != 0 {
            URGENT_PRIORITY
        } else {
            Reading::PRIORITY
        };
        self.s.wrong_priority += u64::from(priority != expected);
        let flags = self.seen.entry(r.producer).or_default();
        let i = r.seq as usize;
        if flags.len() <= i {
            flags.resize(i + 1, false);
        }
        if flags[i] {
            self.s.duplicated += 1;
        } else {
            from.received += 1;
        }
        flags[i] = true;
        from.last_seq = Some(from.last_seq.map_or(r.seq, |s| s.max(r.seq)));
        if let Some(prev) = self.last.insert((r.producer, priority), r.seq) {
            self.s.out_of_order += u64::from(r.seq <= prev);
        }
        false
    }

    /// End markers seen so far.
    pub fn ended(&self) -> u32 {
        self.ended
    }

    /// Readings received so far.
    pub fn received(&self) -> u64 {
        self.s.received
    }

    /// The summary: lost readings are those an end marker announced that never arrived.
    pub fn finish(mut self, stopped: Option<String>) -> Summary {
        for (id, from) in &mut self.s.producers {
            let flags = self.seen.get(id).map(Vec::as_slice).unwrap_or(&[]);
            let upto = from.last_seq.map_or(0, |s| s as usize + 1);
            from.gaps = flags[..upto.min(flags.len())]
                .iter()
                .filter(|x| !**x)
                .count() as u64;
            if let Some(n) = from.ended {
                self.s.lost += n.saturating_sub(from.received);
            }
        }
        self.s.stopped = stopped;
        self.s
    }
}

/// Receives until every one of `producers` has sent its end marker, or every producer has
/// gone (`Disconnected`: killed, or stopped before its marker), or a stop signal cancels the
/// wait; checks each reading (see [`Tally`]). Calls `progress(received)` every `every`
/// readings.
pub fn consume(
    rx: &Receiver<Reading>,
    producers: u32,
    every: u64,
    mut progress: impl FnMut(u64),
) -> posix_ipc::Result<Summary> {
    let mut tally = Tally::default();
    while tally.ended() < producers {
        let (r, priority) = match rx.recv_with_priority() {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::Disconnected => {
                return Ok(tally.finish(Some("disconnected".into())))
            }
            Err(e) if e.kind() == ErrorKind::Cancelled => {
                return Ok(tally.finish(Some("cancelled".into())))
            }
            Err(e) => return Err(e),
        };
        if !tally.observe(&r, priority) && tally.received() % every == 0 {
            progress(tally.received());
        }
    }
    Ok(tally.finish(None))
}

/// Reads `--key value` from the command line, or `default`.
/// Checks the command line before anything is opened: `-h`/`--help` prints `usage` and exits
/// 0; an option not in `flags` (taking no value) or `valued` (taking one) prints the usage to
/// stderr and exits 2.
pub fn check_args(args: &[String], flags: &[&str], valued: &[&str], usage: &str) {
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if a == "-h" || a == "--help" {
            print!("{usage}");
            std::process::exit(0);
        }
        if valued.contains(&a.as_str()) {
            if rest.next().is_none() {
                eprint!("{a} needs a value\n{usage}");
                std::process::exit(2);
            }
        } else if !flags.contains(&a.as_str()) {
            eprint!("unknown argument {a:?}\n{usage}");
            std::process::exit(2);
        }
    }
}

pub fn arg(args: &[String], key: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}
