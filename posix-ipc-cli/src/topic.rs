//! `posix-ipc topic list|echo|hz`: the topics of a machine, their samples decoded field by
//! field from the layout each topic stores, and their rate (`ros2 topic list/echo/hz`).
//!
//! `echo` and `hz` join as an [`AnySubscriber`], which copies each sample out (a seqlock read
//! that holds no buffer), so watching a topic never holds its publisher back.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use posix_ipc::lifecycle::{self, Filter, ObjectInfo, SegmentInfo, SHM_DIR};
use posix_ipc::{
    AnySample, AnySubscriber, ErrorKind, SegmentKind, SubscribeOptions, Timeout, TopicInfo,
};
use serde_json::{json, Value};

use crate::commands::slashed;
use crate::objects::{resident_bytes, Owners};
use crate::output::{print_table, stdout_failure, to_hex, Failure};
use crate::{TopicCommand, WaitArg};

type Outcome = Result<(), Failure>;

/// How many bytes of a sample `echo` shows in hexadecimal when the topic stores no layout.
const HEX_SHOWN: usize = 64;

/// Runs `posix-ipc topic ...`.
pub fn run(cmd: TopicCommand) -> Outcome {
    match cmd {
        TopicCommand::List { json, prefix } => list(json, prefix.as_deref()),
        TopicCommand::Echo {
            name,
            count,
            json,
            wait,
            follow,
        } => echo(&name, count, json, &wait, follow),
        TopicCommand::Hz {
            name,
            seconds,
            window,
            wait,
        } => hz(&name, seconds, window, &wait),
    }
}

// ---------------------------------------------------------------------------------------------
// list

/// What `topic list` shows of one topic.
struct Row<'a> {
    object: &'a ObjectInfo,
    segment: &'a SegmentInfo,
    resident: Option<u64>,
}

impl Row<'_> {
    /// A topic of byte frames (otherwise of fixed-size records).
    fn frames(&self) -> bool {
        self.segment.type_name.as_deref() == Some("byte frames")
    }

    /// The sample type, or the frames' header type (`None`: frames without a header).
    fn type_name(&self) -> Option<&str> {
        if self.frames() {
            self.segment.frame_header.as_ref().map(|(h, _)| h.as_str())
        } else {
            self.segment.type_name.as_deref()
        }
    }

    fn type_cell(&self) -> String {
        match (self.frames(), &self.segment.frame_header) {
            (true, Some((h, n))) => format!("frames + {h} header ({n} B)"),
            (true, None) => "frames".to_string(),
            (false, _) => self.type_name().unwrap_or("?").to_string(),
        }
    }

    fn size_cell(&self) -> String {
        match (self.segment.type_size, self.frames()) {
            (Some(n), true) => format!("max {n} B"),
            (Some(n), false) => format!("{n} B"),
            (None, _) => "?".to_string(),
        }
    }

    fn publisher_cell(&self) -> String {
        match self.segment.producers.as_slice() {
            // A publisher killed without closing leaves its owner word: name it.
            [] => match self.segment.owner {
                Some((pid, false)) => format!("{pid} dead"),
                _ => "none live".to_string(),
            },
            pids => pids
                .iter()
                .map(|p| format!("{p} alive"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    fn subscribers_cell(&self) -> String {
        let pids = &self.segment.consumers;
        if pids.is_empty() {
            return "0".to_string();
        }
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        format!("{} ({})", pids.len(), list.join(","))
    }

    fn cells(&self) -> Vec<String> {
        let s = self.segment;
        let unknown = |v: Option<String>| v.unwrap_or_else(|| "?".to_string());
        vec![
            self.object.name.clone(),
            self.type_cell(),
            self.size_cell(),
            unknown(s.policy.map(|p| format!("{p:?}"))),
            unknown(s.capacity.map(|c| c.to_string())),
            self.publisher_cell(),
            s.generation
                .map_or_else(|| "-".to_string(), |g| g.to_string()),
            self.subscribers_cell(),
            unknown(s.count.map(|n| n.to_string())),
            unknown(self.object.size.map(human_bytes)),
            unknown(self.resident.map(human_bytes)),
        ]
    }

    fn to_json(&self, owners: &Owners) -> Value {
        let s = self.segment;
        let frames = self.frames();
        json!({
            "name": self.object.name,
            "kind": if frames { "frames" } else { "records" },
            "type_name": self.type_name(),
            "sample_size": if frames { None } else { s.type_size },
            "max_frame_len": if frames { s.type_size } else { None },
            "header_size": s.frame_header.as_ref().map(|(_, n)| n),
            "fingerprint": s.fingerprint.map(|f| format!("{f:#018x}")),
            "policy": s.policy.map(|p| format!("{p:?}")),
            "capacity": s.capacity,
            "publisher": s.producers.first().map(|pid| json!({"pid": pid, "alive": true})),
            "generation": s.generation,
            "owner_process": s.owner.map(|(pid, alive)| json!({"pid": pid, "alive": alive})),
            "subscribers": s.consumers,
            "published": s.count,
            "dead_peers": s.dead_peers,
            "ready": s.ready,
            "reserved": self.object.size,
            "resident": self.resident,
            "mode": format!("{:04o}", self.object.mode),
            "owner": owners.name(self.object.uid),
        })
    }
}

fn list(json: bool, prefix: Option<&str>) -> Outcome {
    // The library notes a /dev/shm it cannot read among other notes; here it is the whole answer.
    std::fs::read_dir(SHM_DIR)
        .map_err(|e| Failure::Other(format!("cannot list topics: cannot read {SHM_DIR}: {e}")))?;
    let prefix = prefix.map_or_else(|| "/".to_string(), slashed);
    let listing = lifecycle::list(&Filter::new().all_users(true).prefix(&prefix));
    let rows: Vec<Row<'_>> = listing
        .objects
        .iter()
        .filter_map(|o| {
            let segment = o.segment.as_ref()?;
            (segment.kind == SegmentKind::Topic).then(|| Row {
                object: o,
                segment,
                resident: resident_bytes(&o.name),
            })
        })
        .collect();
    let owners = Owners::read();
    let mut out = io::stdout().lock();
    if json {
        let list: Vec<Value> = rows.iter().map(|r| r.to_json(&owners)).collect();
        let text = serde_json::to_string_pretty(&list).expect("a JSON value always serialises");
        return writeln!(out, "{text}").map_err(stdout_failure);
    }
    if rows.is_empty() {
        return writeln!(out, "no topic has a name starting with {prefix}").map_err(stdout_failure);
    }
    let mut table = vec![[
        "TOPIC",
        "TYPE",
        "SIZE",
        "POLICY",
        "KEEPS",
        "PUBLISHER",
        "GEN",
        "SUBSCRIBERS",
        "PUBLISHED",
        "RESERVED",
        "RESIDENT",
    ]
    .iter()
    .map(|h| (*h).to_string())
    .collect::<Vec<_>>()];
    table.extend(rows.iter().map(Row::cells));
    print_table(&mut out, &table).map_err(stdout_failure)
}

/// `512 B`, `45.1 KiB`, `56.0 MiB`.
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

// ---------------------------------------------------------------------------------------------
// echo and hz: joining

/// Turns Ctrl-C and SIGTERM into a stop of the blocking calls (they return
/// [`ErrorKind::Cancelled`]), then joins the topic as `wait` and `follow` say. `None`: stopped
/// by a signal while waiting for the topic.
fn subscribe(name: &str, wait: &WaitArg, follow: bool) -> Result<Option<AnySubscriber>, Failure> {
    posix_ipc::signals::stop_on_signals()?;
    let options = SubscribeOptions::new().follow_restarts(follow);
    let result = match wait.wait {
        None => AnySubscriber::open_with(name, &options),
        Some(secs) => AnySubscriber::open_with(name, &options.wait(Timeout::from_secs_f64(secs)?)),
    };
    match result {
        Ok(sub) => Ok(Some(sub)),
        Err(e) if cancelled(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether an error ends the command as a clean stop: Ctrl-C or SIGTERM.
fn cancelled(e: &posix_ipc::Error) -> bool {
    e.kind() == ErrorKind::Cancelled
}

/// A write to stdout that failed: a closed pipe (`| head`) ends the command quietly.
fn write_failed(e: io::Error) -> Option<Failure> {
    (e.kind() != io::ErrorKind::BrokenPipe).then(|| stdout_failure(e))
}

// ---------------------------------------------------------------------------------------------
// echo

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the checksum `echo`
/// prints for a frame's bytes.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The bytes as hexadecimal, at most [`HEX_SHOWN`] of them.
fn hex_start(bytes: &[u8]) -> String {
    to_hex(&bytes[..bytes.len().min(HEX_SHOWN)])
}

/// Indents every line of `text` by two spaces.
fn indented(text: &str) -> String {
    text.lines().fold(String::new(), |mut out, line| {
        let _ = writeln!(out, "  {line}");
        out
    })
}

/// One sample as `echo` prints it: text lines (ending in a newline), or one JSON line.
fn format_sample(info: &TopicInfo, sample: &AnySample, bytes: &[u8], json: bool) -> String {
    let bytes = &bytes[..sample.len.min(bytes.len())];
    let mut out = String::new();
    if !info.frames {
        match (&info.layout, json) {
            (Some(layout), false) => {
                let _ = write!(
                    out,
                    "--- sample {} (generation {})\n{}",
                    sample.index,
                    sample.generation,
                    layout.format_sample_text(bytes)
                );
            }
            (Some(layout), true) => {
                let _ = writeln!(
                    out,
                    "{{\"index\":{},\"generation\":{},\"fields\":{}}}",
                    sample.index,
                    sample.generation,
                    layout.format_sample_json(bytes)
                );
            }
            (None, false) => {
                let _ = writeln!(
                    out,
                    "--- sample {} (generation {})\n(the topic stores no layout: the first {} of \
                     its {} bytes in hexadecimal)\n{}",
                    sample.index,
                    sample.generation,
                    bytes.len().min(HEX_SHOWN),
                    bytes.len(),
                    hex_start(bytes)
                );
            }
            (None, true) => {
                let line = json!({
                    "index": sample.index,
                    "generation": sample.generation,
                    "fields": Value::Null,
                    "len": bytes.len(),
                    "hex": hex_start(bytes),
                });
                let _ = writeln!(out, "{line}");
            }
        }
        return out;
    }
    // A frame: the typed header at the start of the buffer, the frame's bytes from the frame
    // offset on (an entry shorter than that is a frame of no bytes).
    let header = &bytes[..info.header_size.min(bytes.len())];
    let frame = bytes.get(info.frame_offset..).unwrap_or(&[]);
    let checksum = format!("{:016x}", fnv1a64(frame));
    if json {
        let fields = match (&info.layout, info.header_size) {
            (_, 0) => "null".to_string(),
            (Some(layout), _) => layout.format_sample_json(header),
            (None, _) => json!({ "hex": hex_start(header) }).to_string(),
        };
        let _ = writeln!(
            out,
            "{{\"index\":{},\"generation\":{},\"fields\":{fields},\"len\":{},\"fnv1a64\":\"{checksum}\"}}",
            sample.index,
            sample.generation,
            frame.len(),
        );
        return out;
    }
    let _ = writeln!(
        out,
        "--- sample {} (generation {})",
        sample.index, sample.generation
    );
    match (&info.layout, info.header_size) {
        (_, 0) => {}
        (Some(layout), _) => {
            let _ = write!(
                out,
                "header:\n{}",
                indented(&layout.format_sample_text(header))
            );
        }
        (None, _) => {
            let _ = writeln!(
                out,
                "header: {} (the topic stores no layout for it)",
                hex_start(header)
            );
        }
    }
    let _ = writeln!(out, "len: {}\nfnv1a64: {checksum}", frame.len());
    out
}

/// Something that happened on the topic other than a sample, as `echo` prints it.
fn format_event(json: bool, event: &str, text: &str, extra: Option<(&str, u64)>) -> String {
    if json {
        let mut v = json!({ "event": event });
        if let Some((key, n)) = extra {
            v[key] = json!(n);
        }
        format!("{v}\n")
    } else {
        format!("--- {text}\n")
    }
}

/// Why `echo` stopped.
enum EchoEnd {
    /// `--count` samples were printed.
    Count,
    /// The publisher is gone (and `--follow` was not given).
    Disconnected,
    /// Ctrl-C or SIGTERM.
    Stopped,
    /// Stdout was closed (`| head`).
    PipeClosed,
}

fn echo(name: &str, count: Option<u64>, json: bool, wait: &WaitArg, follow: bool) -> Outcome {
    let Some(mut sub) = subscribe(name, wait, follow)? else {
        eprintln!(
            "posix-ipc topic echo: stopped while waiting for {}",
            slashed(name)
        );
        return Ok(());
    };
    let info = sub.info().clone();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut buf = Vec::new();
    let (mut received, mut missed) = (0u64, 0u64);
    let result = (|| -> Result<EchoEnd, Failure> {
        loop {
            if count.is_some_and(|n| received >= n) {
                return Ok(EchoEnd::Count);
            }
            let text = match sub.recv_into(&mut buf, Timeout::Infinite) {
                Ok(sample) => {
                    received += 1;
                    format_sample(&info, &sample, &buf, json)
                }
                Err(e) => match e.kind() {
                    ErrorKind::Lagged => {
                        let n = e.missed().unwrap_or(0);
                        missed += n;
                        format_event(
                            json,
                            "lagged",
                            &format!(
                                "missed {n} sample(s): the publisher overwrote them before they \
                                 were read"
                            ),
                            Some(("missed", n)),
                        )
                    }
                    ErrorKind::Restarted => {
                        let g = e.generation().unwrap_or(0);
                        format_event(
                            json,
                            "restarted",
                            &format!("publisher restarted: generation {g}"),
                            Some(("generation", g)),
                        )
                    }
                    ErrorKind::Disconnected => {
                        let text = format_event(
                            json,
                            "disconnected",
                            &format!(
                                "publisher gone: no more samples on {} (--follow waits for the \
                                 next one)",
                                sub.name()
                            ),
                            None,
                        );
                        if let Err(e) = out.write_all(text.as_bytes()) {
                            return write_failed(e).map_or(Ok(EchoEnd::PipeClosed), Err);
                        }
                        return Ok(EchoEnd::Disconnected);
                    }
                    _ if cancelled(&e) => return Ok(EchoEnd::Stopped),
                    _ => return Err(e.into()),
                },
            };
            if let Err(e) = out.write_all(text.as_bytes()) {
                return write_failed(e).map_or(Ok(EchoEnd::PipeClosed), Err);
            }
            // Flush when nothing else is waiting: lines appear as samples arrive, and a burst
            // is written in one go.
            if !sub.has_samples() {
                if let Err(e) = out.flush() {
                    return write_failed(e).map_or(Ok(EchoEnd::PipeClosed), Err);
                }
            }
        }
    })();
    let flushed = match out.flush() {
        Err(e) => write_failed(e).map_or(Ok(()), Err),
        Ok(()) => Ok(()),
    };
    match result {
        Ok(EchoEnd::Stopped) => {
            eprintln!(
                "posix-ipc topic echo: stopped after {received} sample(s) of {}{}",
                sub.name(),
                if missed > 0 {
                    format!(" ({missed} missed)")
                } else {
                    String::new()
                }
            );
            flushed
        }
        Ok(EchoEnd::Count | EchoEnd::Disconnected) => flushed,
        Ok(EchoEnd::PipeClosed) => Ok(()),
        Err(e) if received > 0 => {
            Err(e.with_context(format!("after {received} sample(s) were printed")))
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// hz

/// Seconds as `850.0 us`, `9.871 ms` or `1.250 s`.
fn human_secs(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.3} s")
    } else if secs >= 1e-3 {
        format!("{:.3} ms", secs * 1e3)
    } else {
        format!("{:.1} us", secs * 1e6)
    }
}

/// Intervals between arrivals: count, mean and variance (Welford), shortest and longest.
#[derive(Default)]
struct Intervals {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Intervals {
    fn add(&mut self, secs: f64) {
        self.n += 1;
        if self.n == 1 {
            (self.min, self.max) = (secs, secs);
        } else {
            self.min = self.min.min(secs);
            self.max = self.max.max(secs);
        }
        let delta = secs - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (secs - self.mean);
    }

    fn std_dev(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).sqrt()
        }
    }

    /// `rate 99.95/s  min 9.871 ms  max 10.204 ms  std dev 0.061 ms  800 B/s`, for
    /// `bytes` received over the intervals.
    fn describe(&self, bytes: u64) -> String {
        let span = self.mean * self.n as f64;
        format!(
            "rate {:.2}/s  min {}  max {}  std dev {}  {}/s",
            1.0 / self.mean,
            human_secs(self.min),
            human_secs(self.max),
            human_secs(self.std_dev()),
            human_rate(bytes as f64 / span),
        )
    }
}

/// Bytes per second as `800 B`, `1.2 MiB`.
fn human_rate(per_sec: f64) -> String {
    if per_sec.is_finite() && per_sec >= 0.0 {
        // Rounded to whole bytes: the precision shown is in human_bytes' decimals.
        human_bytes(per_sec.round() as u64)
    } else {
        "? B".to_string()
    }
}

/// What `hz` counts: the latest `window` arrivals for the once-a-second line, and every
/// interval for the summary.
struct Rate {
    window: VecDeque<(Instant, u64)>,
    size: usize,
    all: Intervals,
    /// Bytes of every sample after the first (the ones that end an interval).
    all_bytes: u64,
    received: u64,
    missed: u64,
    restarts: u64,
    /// Samples received since the last line.
    fresh: u64,
}

impl Rate {
    fn new(size: usize) -> Rate {
        Rate {
            window: VecDeque::with_capacity(size.min(1 << 16)),
            size,
            all: Intervals::default(),
            all_bytes: 0,
            received: 0,
            missed: 0,
            restarts: 0,
            fresh: 0,
        }
    }

    fn arrived(&mut self, at: Instant, bytes: u64) {
        if let Some(&(last, _)) = self.window.back() {
            self.all.add(at.duration_since(last).as_secs_f64());
            self.all_bytes += bytes;
        }
        if self.window.len() == self.size {
            self.window.pop_front();
        }
        self.window.push_back((at, bytes));
        self.received += 1;
        self.fresh += 1;
    }

    /// The once-a-second line, over the window.
    fn line(&mut self, since_start: f64) -> String {
        let fresh = std::mem::take(&mut self.fresh);
        let mut line = format!("{since_start:6.1}s  ");
        if self.received == 0 {
            line.push_str("no sample yet");
        } else if fresh == 0 {
            let last = self
                .window
                .back()
                .map_or(0.0, |(t, _)| t.elapsed().as_secs_f64());
            let _ = write!(
                line,
                "no new sample (the last one {} ago)",
                human_secs(last)
            );
        } else if self.window.len() < 2 {
            line.push_str("1 sample, no interval yet");
        } else {
            let mut window = Intervals::default();
            let mut bytes = 0;
            for pair in self.window.iter().zip(self.window.iter().skip(1)) {
                let ((before, _), (after, n)) = pair;
                window.add(after.duration_since(*before).as_secs_f64());
                bytes += n;
            }
            let _ = write!(
                line,
                "{}  window {}",
                window.describe(bytes),
                self.window.len()
            );
        }
        if self.missed > 0 {
            let _ = write!(line, "  missed {}", self.missed);
        }
        line
    }

    /// The summary of the run.
    fn summary(&self, name: &str, elapsed: f64) -> String {
        let mut line = format!(
            "summary of {name}: {} sample(s) in {elapsed:.2} s",
            self.received
        );
        if self.all.n > 0 {
            let _ = write!(line, ": {}", self.all.describe(self.all_bytes));
        }
        let _ = write!(line, ", {} missed", self.missed);
        if self.restarts > 0 {
            let _ = write!(line, ", {} publisher restart(s)", self.restarts);
        }
        line
    }
}

fn hz(name: &str, seconds: Option<f64>, window: usize, wait: &WaitArg) -> Outcome {
    if let Some(s) = seconds {
        if !(s.is_finite() && s > 0.0) {
            return Err(Failure::Usage(format!(
                "--seconds must be a positive number of seconds, not {s}"
            )));
        }
    }
    if window < 2 {
        return Err(Failure::Usage(format!(
            "--window must be at least 2 samples (one interval), not {window}"
        )));
    }
    let Some(mut sub) = subscribe(name, wait, false)? else {
        eprintln!(
            "posix-ipc topic hz: stopped while waiting for {}",
            slashed(name)
        );
        return Ok(());
    };
    let info = sub.info().clone();
    let start = Instant::now();
    let end = seconds.map(|s| start + Duration::from_secs_f64(s));
    let mut next_line = start + Duration::from_secs(1);
    let mut rate = Rate::new(window);
    let mut buf = Vec::new();
    let mut out = io::stdout().lock();
    let mut emit = |text: &str| -> Result<bool, Failure> {
        match writeln!(out, "{text}") {
            Ok(()) => Ok(true),
            Err(e) => write_failed(e).map_or(Ok(false), Err),
        }
    };
    loop {
        let now = Instant::now();
        if end.is_some_and(|end| now >= end) {
            break;
        }
        if now >= next_line {
            if !emit(&rate.line(now.duration_since(start).as_secs_f64()))? {
                return Ok(());
            }
            while next_line <= now {
                next_line += Duration::from_secs(1);
            }
        }
        let until = end.map_or(next_line, |end| end.min(next_line));
        match sub.recv_into(&mut buf, until.saturating_duration_since(now)) {
            Ok(sample) => {
                let bytes = if info.frames {
                    sample.len.saturating_sub(info.frame_offset) + info.header_size
                } else {
                    sample.len
                };
                rate.arrived(Instant::now(), bytes as u64);
            }
            Err(e) => match e.kind() {
                ErrorKind::TimedOut | ErrorKind::WouldBlock => {}
                ErrorKind::Lagged => rate.missed += e.missed().unwrap_or(0),
                ErrorKind::Restarted => rate.restarts += 1,
                ErrorKind::Disconnected => {
                    if !emit(&format!(
                        "publisher gone: no more samples on {}",
                        sub.name()
                    ))? {
                        return Ok(());
                    }
                    break;
                }
                _ if cancelled(&e) => break,
                _ => return Err(e.into()),
            },
        }
    }
    emit(&rate.summary(sub.name(), start.elapsed().as_secs_f64()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn intervals_give_rate_extremes_and_standard_deviation() {
        let mut i = Intervals::default();
        for s in [0.01, 0.02, 0.03] {
            i.add(s);
        }
        assert_eq!((i.n, i.min, i.max), (3, 0.01, 0.03));
        assert!((i.mean - 0.02).abs() < 1e-12);
        assert!((i.std_dev() - (2.0f64 / 3.0).sqrt() * 0.01).abs() < 1e-12);
        assert!(i
            .describe(300)
            .starts_with("rate 50.00/s  min 10.000 ms  max 30.000 ms"));
        // 300 bytes over 60 ms.
        assert!(
            i.describe(300).ends_with("4.9 KiB/s"),
            "{}",
            i.describe(300)
        );
    }

    #[test]
    fn human_bytes_uses_binary_units_from_1024_on() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(56 << 20), "56.0 MiB");
    }
}
