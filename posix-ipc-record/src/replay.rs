//! Replay: makes (or takes over) the recorded topics again and republishes their samples with
//! the recorded timing.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use posix_ipc_core::lifecycle::glob_matches;
use posix_ipc_core::{CancelToken, ErrorKind, RecordPublisher, Timeout};

use crate::channel::{Recorded, EVENTS_TOPIC};
use crate::ros2::Codec;
use crate::Error;

/// What to replay, and how.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The MCAP file.
    pub input: PathBuf,
    /// Speed: 2.0 replays twice as fast; the gaps between samples are the recorded
    /// publication-time deltas divided by it.
    pub rate: f64,
    /// Start again from the beginning at the end, until cancelled.
    pub looping: bool,
    /// Glob patterns of the recorded topics to replay (empty: all).
    pub topics: Vec<String>,
    /// Topic names replaced: a sample recorded on `from` is published on `to`.
    pub remap: Vec<(String, String)>,
    /// Skip what was published less than this after the recording's first sample.
    pub start: Option<Duration>,
    /// Stop at what was published this long after the recording's first sample.
    pub end: Option<Duration>,
}

impl ReplayConfig {
    /// Replays every topic of `input` once, at the recorded speed.
    pub fn new(input: impl Into<PathBuf>) -> ReplayConfig {
        ReplayConfig {
            input: input.into(),
            rate: 1.0,
            looping: false,
            topics: Vec::new(),
            remap: Vec::new(),
            start: None,
            end: None,
        }
    }

    fn local_name<'a>(&'a self, recorded: &'a str) -> &'a str {
        self.remap
            .iter()
            .find(|(from, _)| from.trim_start_matches('/') == recorded.trim_start_matches('/'))
            .map_or(recorded, |(_, to)| to.as_str())
    }
}

/// What a replay published.
#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    /// Samples published, by local topic name.
    pub published: BTreeMap<String, u64>,
    /// Channels not replayed, and why (not recorded by posix-ipc, another encoding).
    pub skipped: BTreeMap<String, String>,
    /// Passes over the file (more than one with `looping`).
    pub passes: u64,
}

/// Counts the bytes read, for error messages.
struct Counting {
    file: File,
    read: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// A local topic being replayed into.
struct Out {
    publisher: RecordPublisher,
    codec: Codec,
    frames: bool,
}

impl Drop for Out {
    fn drop(&mut self) {
        // The topic was made (or taken over) for the replay: it goes with it.
        let _ = self.publisher.unlink();
    }
}

fn make_topic(name: &str, r: &Recorded, cancel: &CancelToken) -> Result<Out, String> {
    let record = r.record_type();
    let options = r.options();
    let made = if r.frames {
        RecordPublisher::create_or_take_over_frames(
            name,
            r.size,
            record.as_ref(),
            r.layout.as_ref(),
            &options,
        )
    } else {
        match record.as_ref() {
            Some(t) => RecordPublisher::create_or_take_over(name, t, r.layout.as_ref(), &options),
            None => return Err("records without a type".to_string()),
        }
    };
    let publisher = made
        .map_err(|e| {
            format!(
                "refused: {e} (a local topic of another type, or with a live publisher, is \
                 never overwritten)"
            )
        })?
        .into_inner()
        .with_cancel(cancel);
    Ok(Out {
        publisher,
        codec: r.codec(),
        frames: r.frames,
    })
}

/// Replays as `config` says until the end (or, looping, until cancelled); Ctrl-C through
/// `cancel` stops it between samples or in a wait. The topics it made are removed at the end.
pub fn replay(
    config: &ReplayConfig,
    cancel: &CancelToken,
    mut progress: impl FnMut(&ReplaySummary),
) -> Result<ReplaySummary, Error> {
    let mut summary = ReplaySummary::default();
    let mut outs: HashMap<String, Out> = HashMap::new();
    loop {
        summary.passes += 1;
        let more = pass(config, cancel, &mut outs, &mut summary, &mut progress)?;
        if !more || !config.looping || cancel.is_cancelled() {
            break;
        }
    }
    drop(outs);
    Ok(summary)
}

/// One pass over the file; `false` once cancelled.
fn pass(
    config: &ReplayConfig,
    cancel: &CancelToken,
    outs: &mut HashMap<String, Out>,
    summary: &mut ReplaySummary,
    progress: &mut impl FnMut(&ReplaySummary),
) -> Result<bool, Error> {
    let file = File::open(&config.input).map_err(|source| Error::Io {
        file: config.input.clone(),
        what: "opening it".to_string(),
        source,
    })?;
    let read = Rc::new(Cell::new(0));
    let source = BufReader::with_capacity(
        1 << 20,
        Counting {
            file,
            read: Rc::clone(&read),
        },
    );
    let rate = if config.rate > 0.0 { config.rate } else { 1.0 };
    // The recording's first publication time, and when (here) its replay started.
    let mut origin: Option<(u64, Instant)> = None;
    let mut last_progress = Instant::now();
    let mut recorded: HashMap<u16, Option<Recorded>> = HashMap::new();
    for message in mcap::io::MessageReader::new(source) {
        if cancel.is_cancelled() {
            return Ok(false);
        }
        let message = message.map_err(|e| Error::Read {
            file: config.input.clone(),
            offset: read.get(),
            why: e.to_string(),
        })?;
        let topic = message.channel.topic.clone();
        let topic_err = |why: String| Error::Topic {
            file: config.input.clone(),
            topic: topic.clone(),
            offset: read.get(),
            why,
        };
        let (first, started) = *origin.get_or_insert((message.publish_time, Instant::now()));
        let since = Duration::from_nanos(message.publish_time.saturating_sub(first));
        if config.end.is_some_and(|end| since > end) {
            break;
        }
        if topic == EVENTS_TOPIC
            || !(config.topics.is_empty() || config.topics.iter().any(|p| glob_matches(p, &topic)))
            || config.start.is_some_and(|start| since < start)
        {
            continue;
        }
        let entry = match recorded.get(&message.channel.id) {
            Some(r) => r.clone(),
            None => {
                let r = if message.channel.message_encoding != "cdr" {
                    summary.skipped.insert(
                        topic.clone(),
                        format!(
                            "message encoding {:?}, not cdr",
                            message.channel.message_encoding
                        ),
                    );
                    None
                } else {
                    match Recorded::from_metadata(&message.channel.metadata) {
                        Ok(Some(r)) => Some(r),
                        Ok(None) => {
                            summary.skipped.insert(
                                topic.clone(),
                                "not recorded by posix-ipc (its channel has no posix_ipc.* \
                                 metadata)"
                                    .to_string(),
                            );
                            None
                        }
                        Err(why) => return Err(topic_err(why)),
                    }
                };
                recorded.insert(message.channel.id, r.clone());
                r
            }
        };
        let Some(r) = entry else { continue };
        let local = config.local_name(&topic).to_string();
        if !outs.contains_key(&local) {
            let out = make_topic(&local, &r, cancel).map_err(|why| Error::Topic {
                file: config.input.clone(),
                topic: local.clone(),
                offset: read.get(),
                why,
            })?;
            outs.insert(local.clone(), out);
        }
        let Some(out) = outs.get_mut(&local) else {
            continue;
        };
        let (record, frame) = out
            .codec
            .decode(&message.data)
            .map_err(|why| topic_err(format!("a message not of its schema: {why}")))?;
        // The recorded timing, scaled.
        let due = started + since.div_f64(rate);
        while let Some(wait) = due.checked_duration_since(Instant::now()) {
            if cancel.is_cancelled() {
                return Ok(false);
            }
            std::thread::sleep(wait.min(Duration::from_millis(20)));
        }
        let sent = if out.frames {
            let header = (!record.is_empty()).then_some(&record[..]);
            out.publisher
                .send_with(&message.data[frame], header, Timeout::Infinite)
        } else {
            out.publisher.send_with(&record, None, Timeout::Infinite)
        };
        match sent {
            Ok(()) => *summary.published.entry(local).or_default() += 1,
            Err(e) if e.kind() == ErrorKind::Cancelled => return Ok(false),
            Err(e) => return Err(topic_err(format!("publishing: {e}"))),
        }
        if last_progress.elapsed() >= Duration::from_millis(500) {
            last_progress = Instant::now();
            progress(summary);
        }
    }
    Ok(true)
}
