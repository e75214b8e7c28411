//! `record_*` rows: the MCAP recorder (`posix-ipc-record`) on a frame topic and a stream of
//! 64-byte records, against the floor of writing the same number of bytes to the same file
//! system (a tmpfs, `/dev/shm`) in 1 MiB writes, measured in the same run.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use posix_ipc::{CancelToken, Policy, RecordPublisher, RecordType, Timeout, TopicOptions};
use posix_ipc_record::{RecordConfig, Summary};

/// One row.
pub struct RecordRow {
    pub workload: String,
    /// Bytes of one sample.
    pub size: usize,
    /// Samples published, and recorded.
    pub published: u64,
    pub recorded: u64,
    /// Samples the recorder missed (gaps).
    pub missed: u64,
    /// Seconds from the first publication to the recorder having the last sample.
    pub secs: f64,
    /// The recording's file size.
    pub file_bytes: u64,
    /// Seconds to write `file_bytes` to the same file system in 1 MiB writes.
    pub floor_secs: f64,
    pub json: String,
}

impl RecordRow {
    fn rate(&self) -> f64 {
        self.recorded as f64 / self.secs
    }
    fn mbs(&self) -> f64 {
        self.file_bytes as f64 / 1e6 / self.secs
    }
    fn floor_mbs(&self) -> f64 {
        self.file_bytes as f64 / 1e6 / self.floor_secs
    }
}

/// Writes `bytes` bytes to a new file in `/dev/shm` in 1 MiB writes: the seconds it took.
fn floor(bytes: u64) -> f64 {
    let path = format!("/dev/shm/pib-record-floor-{}", std::process::id());
    let block = vec![0x5au8; 1 << 20];
    let start = Instant::now();
    {
        let mut f = std::fs::File::create(&path).expect("create the floor's file");
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            f.write_all(&block[..n]).expect("write the floor's file");
            left -= n as u64;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&path);
    secs
}

/// Records `topic` while `publish` runs (the recorder joined first), until the recorder has
/// everything: the summary and the seconds from the first publication to that point.
fn recorded(
    topic: &str,
    publisher: &mut RecordPublisher,
    publish: impl FnOnce(&mut RecordPublisher) -> u64,
) -> (Summary, u64, f64) {
    let file = format!("/dev/shm/pib-record-{}.mcap", std::process::id());
    let cancel = CancelToken::new();
    let config = RecordConfig::new(&file, vec![topic.to_string()]);
    let c = cancel.clone();
    let recorder = std::thread::spawn(move || posix_ipc_record::record(&config, &c, |_| {}));
    let start = Instant::now();
    while publisher.status().map(|s| s.subscribers()).unwrap_or(0) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the recorder never joined {topic}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    let published = publish(publisher);
    while publisher.status().map(|s| s.most_pending()).unwrap_or(0) > 0 {
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = start.elapsed().as_secs_f64();
    cancel.cancel();
    let summary = recorder
        .join()
        .expect("the recorder's thread")
        .expect("the recording");
    let _ = std::fs::remove_file(&file);
    (summary, published, secs)
}

fn row(workload: &str, size: usize, summary: &Summary, published: u64, secs: f64) -> RecordRow {
    let t = summary.topics.values().next().cloned().unwrap_or_default();
    let floor_secs = floor(summary.file_bytes);
    let mut r = RecordRow {
        workload: workload.to_string(),
        size,
        published,
        recorded: t.samples,
        missed: t.missed,
        secs,
        file_bytes: summary.file_bytes,
        floor_secs,
        json: String::new(),
    };
    r.json = format!(
        "{{\"workload\":\"{}\",\"unit\":\"samples recorded; MB/s of MCAP file\",\"size\":{},\"published\":{},\"recorded\":{},\"missed\":{},\"secs\":{:.3},\"file_bytes\":{},\"recorder_mb_s\":{:.1},\"floor_mb_s\":{:.1},\"samples_per_s\":{:.0}}}",
        r.workload, r.size, r.published, r.recorded, r.missed, r.secs, r.file_bytes, r.mbs(), r.floor_mbs(), r.rate()
    );
    r
}

/// The camera: 1920x1080x3 frames at 60 Hz on an `Overwrite` topic of capacity 4 (as the
/// camera example publishes), for `secs` seconds.
fn camera(secs: f64) -> RecordRow {
    const FRAME: usize = 1920 * 1080 * 3;
    let topic = format!("/pib-record-cam-{}", std::process::id());
    let options = TopicOptions::new().capacity(4).policy(Policy::Overwrite);
    let mut publisher =
        RecordPublisher::create_frames(&topic, FRAME, None, None, &options).expect("the topic");
    let (summary, published, took) = recorded(&topic, &mut publisher, |p| {
        let period = Duration::from_secs_f64(1.0 / 60.0);
        let start = Instant::now();
        let n = (secs * 60.0) as u64;
        for i in 0..n {
            let due = start + period * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let mut loan = p
                .loan_with(FRAME, false, Timeout::Infinite)
                .expect("loan a frame");
            loan[..8].copy_from_slice(&i.to_le_bytes());
            loan.send();
        }
        n
    });
    let _ = publisher.unlink();
    row("record_camera_60hz", FRAME, &summary, published, took)
}

/// 64-byte records as fast as a `Block` topic lets the publisher go, for `secs` seconds.
fn stream_64(secs: f64) -> RecordRow {
    let topic = format!("/pib-record-64-{}", std::process::id());
    let options = TopicOptions::new().capacity(1024).policy(Policy::Block);
    let record = RecordType::new("Bench64", 64, 0x6464_6464);
    let mut publisher =
        RecordPublisher::create(&topic, &record, None, &options).expect("the topic");
    let (summary, published, took) = recorded(&topic, &mut publisher, |p| {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let timer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs));
            s.store(true, Ordering::Relaxed);
        });
        let mut bytes = [0u8; 64];
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            bytes[..8].copy_from_slice(&n.to_le_bytes());
            p.send(&bytes).expect("send a record");
            n += 1;
        }
        let _ = timer.join();
        n
    });
    let _ = publisher.unlink();
    row("record_stream_64", 64, &summary, published, took)
}

/// The rows asked for (`only` filters by name).
pub fn run(quick: bool, only: Option<&str>) -> Vec<RecordRow> {
    let want = |name: &str| only.is_none_or(|s| name.contains(s));
    let secs = if quick { 2.0 } else { 10.0 };
    let mut rows = Vec::new();
    if want("record_camera_60hz") {
        rows.push(camera(secs));
    }
    if want("record_stream_64") {
        rows.push(stream_64(if quick { 1.0 } else { 3.0 }));
    }
    rows
}

/// The rows as a Markdown table.
pub fn table(rows: &[RecordRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n## Recording to MCAP against writing the same bytes, same run\n"
    )?;
    writeln!(
        out,
        "| row | published | recorded | missed | seconds | samples/s recorded | recorder MB/s | floor MB/s | floor/recorder time |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for r in rows {
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.3} |",
            r.workload,
            r.published,
            r.recorded,
            r.missed,
            r.secs,
            r.rate(),
            r.mbs(),
            r.floor_mbs(),
            r.floor_secs / r.secs
        )?;
    }
    Ok(())
}

/// The targets, checked against this run.
pub fn targets(rows: &[RecordRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    writeln!(out, "\n## Recording targets, checked against this run\n")?;
    for r in rows {
        let line = if r.workload == "record_camera_60hz" {
            format!(
                "{} of {} frames recorded at 60 Hz ({:.0} MB/s), {} missed (needs 0): {}",
                r.recorded,
                r.published,
                r.mbs(),
                r.missed,
                verdict(r.missed == 0 && r.recorded == r.published)
            )
        } else {
            format!(
                "{:.0} samples/s recorded (needs at least 1,000,000): {}",
                r.rate(),
                verdict(r.rate() >= 1e6)
            )
        };
        writeln!(out, "- `{}`: {line}", r.workload)?;
    }
    Ok(())
}

/// What the rows measure.
pub fn descriptions(rows: &[RecordRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "- `record_*`: `posix_ipc_record::record` (what `posix-ipc record` runs; uncompressed, \
         chunks of 4 MiB, written out every second) in a thread of this process, recording one \
         topic to an MCAP file in `/dev/shm` (a tmpfs) while another thread publishes: \
         `record_camera_60hz` 1920x1080x3 frames at 60 Hz (373 MB/s) on an `Overwrite` topic of \
         capacity 4, as the camera example does; `record_stream_64` 64-byte records as fast as \
         a `Block` topic of capacity 1024 lets the publisher go. `seconds` runs from the first \
         publication to the recorder having the last sample; `floor` writes as many bytes as \
         the recording's file holds to a new file in `/dev/shm` in 1 MiB writes, in the same \
         run; `floor/recorder time` is the floor's time over the recording's."
    )
}
