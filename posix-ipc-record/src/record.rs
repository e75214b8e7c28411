//! The recorder: subscribes to every local topic whose name matches a pattern (new ones too)
//! and writes what it receives to an MCAP file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mcap::records::{MessageHeader, Metadata};
use posix_ipc_core::lifecycle::{glob_matches, topic_names};
use posix_ipc_core::{AnySubscriber, CancelToken, ErrorKind, SubscribeOptions, TopicInfo};

use crate::channel::{
    channel_metadata, realtime_offset_ns, EVENTS_SCHEMA, EVENTS_SCHEMA_NAME, EVENTS_TOPIC,
};
use crate::ros2::Codec;
use crate::Error;

/// How chunks are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Stored as they are (the fastest; the default).
    #[default]
    None,
    /// Zstandard.
    Zstd,
    /// LZ4 frames.
    Lz4,
}

/// What to record, where, and for how long.
#[derive(Debug, Clone)]
pub struct RecordConfig {
    /// The MCAP file to write (created, or truncated).
    pub output: PathBuf,
    /// Glob patterns of the topics to record (`*` any run, `?` one character).
    pub patterns: Vec<String>,
    /// How chunks are compressed.
    pub compression: Compression,
    /// Stop after this long (`None`: until cancelled).
    pub duration: Option<Duration>,
    /// How often the local topics are scanned for new ones.
    pub scan_interval: Duration,
    /// How often the chunk being filled is finished and written out: what a `kill -9` of the
    /// recorder can lose at most.
    pub flush_interval: Duration,
}

impl RecordConfig {
    /// Records the topics matching `patterns` into `output`, uncompressed, until cancelled.
    pub fn new(output: impl Into<PathBuf>, patterns: Vec<String>) -> RecordConfig {
        RecordConfig {
            output: output.into(),
            patterns,
            compression: Compression::None,
            duration: None,
            scan_interval: Duration::from_millis(200),
            flush_interval: Duration::from_secs(1),
        }
    }
}

/// What was recorded of one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicTotals {
    /// Samples written.
    pub samples: u64,
    /// Bytes of samples received (records, or headers and frames).
    pub bytes: u64,
    /// Times samples were missed (each recorded as a `lagged` event).
    pub gaps: u64,
    /// Samples missed in all (the recorder fell behind an `Overwrite` publisher, or the
    /// publisher reported them lost).
    pub missed: u64,
    /// Publishers that took the topic over while it was recorded.
    pub restarts: u64,
}

/// Where a recording is, for a progress line.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Since the recording started.
    pub elapsed: Duration,
    /// Totals by topic so far.
    pub topics: BTreeMap<String, TopicTotals>,
}

/// What a finished recording holds.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The file written.
    pub file: PathBuf,
    /// How long it recorded.
    pub elapsed: Duration,
    /// Totals by topic.
    pub topics: BTreeMap<String, TopicTotals>,
    /// The file's size.
    pub file_bytes: u64,
}

type McapWriter = mcap::Writer<BufWriter<File>>;

/// What the recorder's threads share.
struct Shared {
    writer: Mutex<Option<McapWriter>>,
    events_channel: u16,
    file: PathBuf,
    stop: CancelToken,
    stopping: AtomicBool,
    totals: Mutex<BTreeMap<String, TopicTotals>>,
    /// The first error that ended the recording.
    failed: Mutex<Option<Error>>,
    offset_ns: i128,
}

impl Shared {
    fn fail(&self, e: Error) {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(e);
        self.stopping.store(true, Ordering::Release);
        self.stop.cancel();
    }

    /// The error that ended the recording, if one did.
    fn check(&self) -> Result<(), Error> {
        match self
            .failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn stopped(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Runs `f` on the writer; a write that fails ends the recording with an error naming the
    /// file and the offset where it failed.
    fn write(&self, what: &str, f: impl FnOnce(&mut McapWriter) -> mcap::McapResult<()>) {
        let mut guard = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(w) = guard.as_mut() else { return };
        if let Err(e) = f(w) {
            let at = std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
            drop(guard);
            self.fail(Error::Write {
                file: self.file.clone(),
                offset: at,
                what: what.to_string(),
                source: e,
            });
        }
    }

    fn totals(&self, topic: &str, f: impl FnOnce(&mut TopicTotals)) {
        let mut all = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        f(all.entry(topic.to_string()).or_default());
    }

    fn now_realtime(&self) -> u64 {
        (posix_ipc_core::now_ns() as i128 + self.offset_ns).max(0) as u64
    }

    /// Records an event (a gap, a restart) on the events channel.
    fn event(&self, topic: &str, kind: &str, missed: u64, generation: u64) {
        let data = crate::channel::encode_event(topic, kind, missed, generation);
        let header = MessageHeader {
            channel_id: self.events_channel,
            sequence: 0,
            log_time: self.now_realtime(),
            publish_time: self.now_realtime(),
        };
        self.write("an event", |w| w.write_to_known_channel(&header, &data));
    }
}

fn mcap_compression(c: Compression) -> Option<mcap::Compression> {
    match c {
        Compression::None => None,
        Compression::Zstd => Some(mcap::Compression::Zstd),
        Compression::Lz4 => Some(mcap::Compression::Lz4),
    }
}

fn open_writer(config: &RecordConfig) -> Result<(McapWriter, u16), Error> {
    let io = |what: &str| {
        let file = config.output.clone();
        let what = what.to_string();
        move |source| Error::Io { file, what, source }
    };
    let file = File::create(&config.output).map_err(io("creating it"))?;
    let options = mcap::WriteOptions::new()
        .compression(mcap_compression(config.compression))
        .profile("ros2")
        .library(concat!("posix-ipc-record ", env!("CARGO_PKG_VERSION")))
        .chunk_size(Some(4 << 20))
        // Every chunk has its CRC; the data section's would be a second pass over every byte
        // written (a 6 MB frame 60 times a second).
        .calculate_data_section_crc(false);
    let mcap_err = |what: &str| {
        let file = config.output.clone();
        let what = what.to_string();
        move |source| Error::Write {
            file,
            offset: 0,
            what,
            source,
        }
    };
    let mut writer = options
        .create(BufWriter::with_capacity(1 << 20, file))
        .map_err(mcap_err("writing the header"))?;
    let schema = writer
        .add_schema(EVENTS_SCHEMA_NAME, "ros2msg", EVENTS_SCHEMA.as_bytes())
        .map_err(mcap_err("writing the events' schema"))?;
    let channel = writer
        .add_channel(schema, EVENTS_TOPIC, "cdr", &BTreeMap::new())
        .map_err(mcap_err("writing the events' channel"))?;
    Ok((writer, channel))
}

/// Records until `cancel` fires, the configured duration ends, or a write fails; calls
/// `progress` about twice a second; finishes the file (summary and indexes) in every case but
/// a failed write, after which the file is readable up to its last complete chunk.
pub fn record(
    config: &RecordConfig,
    cancel: &CancelToken,
    mut progress: impl FnMut(&Progress),
) -> Result<Summary, Error> {
    let (writer, events_channel) = open_writer(config)?;
    let shared = Arc::new(Shared {
        writer: Mutex::new(Some(writer)),
        events_channel,
        file: config.output.clone(),
        stop: CancelToken::new(),
        stopping: AtomicBool::new(false),
        totals: Mutex::default(),
        failed: Mutex::default(),
        offset_ns: realtime_offset_ns(),
    });
    let start = Instant::now();
    let mut threads: BTreeMap<String, JoinHandle<()>> = BTreeMap::new();
    let (mut last_scan, mut last_flush, mut last_progress) = (None::<Instant>, start, start);
    while !shared.stopped() && !cancel.is_cancelled() {
        if config.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        if last_scan.is_none_or(|t| t.elapsed() >= config.scan_interval) {
            last_scan = Some(Instant::now());
            for name in topic_names() {
                if threads.contains_key(&name)
                    || !config.patterns.iter().any(|p| glob_matches(p, &name))
                {
                    continue;
                }
                let s = Arc::clone(&shared);
                let n = name.clone();
                let t = std::thread::Builder::new()
                    .name(format!("record {name}"))
                    .spawn(move || record_topic(&s, &n))
                    .map_err(|e| Error::Io {
                        file: config.output.clone(),
                        what: format!("starting the thread of {name}"),
                        source: e,
                    })?;
                threads.insert(name, t);
            }
            // A topic whose recording ended (removed, not of a known form) may come back.
            threads.retain(|_, t| !t.is_finished());
        }
        if last_flush.elapsed() >= config.flush_interval {
            last_flush = Instant::now();
            shared.write("a chunk", |w| w.flush());
        }
        if last_progress.elapsed() >= Duration::from_millis(500) {
            last_progress = Instant::now();
            progress(&Progress {
                elapsed: start.elapsed(),
                topics: shared
                    .totals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    shared.stopping.store(true, Ordering::Release);
    shared.stop.cancel();
    for (_, t) in threads {
        let _ = t.join();
    }
    let elapsed = start.elapsed();
    let topics = shared
        .totals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    // What was written stays: every chunk finished before a failure is readable.
    shared.check()?;
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "seconds".to_string(),
        format!("{:.3}", elapsed.as_secs_f64()),
    );
    for (name, t) in &topics {
        metadata.insert(format!("{name}.samples"), t.samples.to_string());
        metadata.insert(format!("{name}.gaps"), t.gaps.to_string());
        metadata.insert(format!("{name}.missed"), t.missed.to_string());
        metadata.insert(format!("{name}.restarts"), t.restarts.to_string());
    }
    shared.write("the totals", |w| {
        w.write_metadata(&Metadata {
            name: "posix-ipc recording".to_string(),
            metadata,
        })
    });
    shared.write("the summary", |w| w.finish().map(drop));
    let writer = shared
        .writer
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    shared.check()?;
    if let Some(w) = writer {
        let buffered = w.into_inner();
        buffered.into_inner().map_err(|e| Error::Io {
            file: config.output.clone(),
            what: "writing its end".to_string(),
            source: e.into_error(),
        })?;
    }
    let file_bytes = std::fs::metadata(&config.output)
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(Summary {
        file: config.output.clone(),
        elapsed,
        topics,
        file_bytes,
    })
}

/// Records one topic until the recording stops or the topic cannot be read.
fn record_topic(shared: &Shared, name: &str) {
    let options = SubscribeOptions::new()
        .follow_restarts(true)
        .spin(false)
        .cancel(&shared.stop);
    let Ok(mut sub) = AnySubscriber::open_with(name, &options) else {
        // Gone between the scan and the open, or not ready yet: the next scan tries again.
        return;
    };
    let info = sub.info().clone();
    let codec = codec_of(&info);
    let metadata = channel_metadata(&info, &codec);
    let mut channel = None;
    shared.write("a topic's schema and channel", |w| {
        let schema = w.add_schema(&codec.schema_name, "ros2msg", codec.schema_text.as_bytes())?;
        channel = Some(w.add_channel(schema, name, "cdr", &metadata)?);
        Ok(())
    });
    let Some(channel_id) = channel else { return };
    shared.totals(name, |_| {});
    let mut buf = Vec::new();
    while !shared.stopped() {
        let got = sub.recv_in_place(Duration::from_millis(100), |sample, header, bytes| {
            buf.clear();
            if codec.frames {
                codec.encode_into(header, Some(bytes), &mut buf);
            } else {
                codec.encode_into(bytes, None, &mut buf);
            }
            (*sample, header.len() + bytes.len())
        });
        match got {
            Ok((sample, len)) => {
                let header = MessageHeader {
                    channel_id,
                    sequence: sample.index as u32,
                    log_time: shared.now_realtime(),
                    publish_time: (sample.published_ns as i128 + shared.offset_ns).max(0) as u64,
                };
                shared.write("a message", |w| w.write_to_known_channel(&header, &buf));
                shared.totals(name, |t| {
                    t.samples += 1;
                    t.bytes += len as u64;
                });
            }
            Err(e) => match e.kind() {
                ErrorKind::Lagged => {
                    let missed = e.missed().unwrap_or(0);
                    shared.event(name, "lagged", missed, 0);
                    shared.totals(name, |t| {
                        t.gaps += 1;
                        t.missed += missed;
                    });
                }
                ErrorKind::Restarted => {
                    let generation = e.generation().unwrap_or(0);
                    shared.event(name, "restarted", 0, generation);
                    shared.totals(name, |t| t.restarts += 1);
                }
                ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Disconnected => {}
                _ => return,
            },
        }
    }
}

/// The codec of a topic, from what its subscriber read.
pub(crate) fn codec_of(info: &TopicInfo) -> Codec {
    if info.frames {
        Codec::new(
            &info.type_name,
            info.layout.as_ref(),
            info.header_size,
            true,
        )
    } else {
        Codec::new(
            &info.type_name,
            info.layout.as_ref(),
            info.sample_size,
            false,
        )
    }
}
