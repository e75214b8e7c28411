//! The bridge: exports local topics to Zenoh and imports remote ones as local topics.
//!
//! **Export.** A scan (every [`BridgeConfig::scan_interval`]) finds the local topics whose
//! names match an export pattern, new ones included. Each gets a thread with an ordinary
//! subscriber that follows restarts and copies each sample once, in place, into the message
//! Zenoh sends: under `Overwrite` it never holds the local publisher back (a buffer it holds
//! is skipped) (when it falls behind, the samples it missed are a gap in the indices the far
//! side counts), and under `Block` it does, as any subscriber, so that a congested network
//! slows the publisher down (its Zenoh publisher uses `CongestionControl::Block`; an
//! `Overwrite` topic's uses `Drop`). It declares the topic (a liveliness token and a queryable
//! with its [`Description`]), keeps a second token while the topic's publisher is alive
//! (`@alive/NAME/GEN`), and puts every sample with its [`Attachment`].
//!
//! **Import.** A liveliness subscriber learns which topics are exported; for each that matches
//! an import pattern it asks for the description, creates the local topic of the same type and
//! geometry (or takes over one a killed bridge left; a local topic of another type, or one with
//! a live publisher, is refused and never overwritten) and republishes every sample through a
//! loan, in Zenoh's callback on the thread that read it from the link (no hand-over to another
//! thread; frames over 64 KiB go through a two-deep queue to the topic's worker, which copies
//! one while Zenoh reads the next; a loan that waits for a `Block` topic's slow subscribers holds back that link, which
//! is the back-pressure such a topic asks for). The local publisher exists while the remote one does: when the remote publisher (or
//! the exporting bridge) goes away, so does the local publisher, and local subscribers see
//! it as they would a local one (`Disconnected`, or a restart they follow when it comes
//! back). A gap in the indices of one remote generation (samples lost on the way) is published
//! as a gap: local subscribers get `Lagged` with the exact count.
//!
//! See [`format`](mod@crate::format) for the keys, the attachment and the description.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use posix_ipc_core::lifecycle;
use posix_ipc_core::{
    AnySubscriber, CancelToken, ErrorKind, Policy, RecordPublisher, SubscribeOptions, Timeout,
};
use zenoh::bytes::ZBytes;
use zenoh::liveliness::LivelinessToken;
use zenoh::qos::CongestionControl;
use zenoh::sample::SampleKind;
use zenoh::{Session, Wait};

use crate::format::{
    alive_of_token, alive_token_key, glob_matches, info_key, sample_key, topic_of_token,
    topic_token_key, Attachment, Description,
};
use crate::Error;

/// What a bridge exports and imports, and under which prefix.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The first part of every key (`posix-ipc` by default).
    pub prefix: String,
    /// Glob patterns of the local topics to export (`*` any run, `?` one character).
    pub export: Vec<String>,
    /// Glob patterns of the remote topics to import.
    pub import: Vec<String>,
    /// How often the local topics are scanned for new ones to export.
    pub scan_interval: Duration,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            prefix: "posix-ipc".to_string(),
            export: Vec::new(),
            import: Vec::new(),
            scan_interval: Duration::from_millis(200),
        }
    }
}

/// What a bridge did with one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicStats {
    /// Samples put on Zenoh (export).
    pub exported: u64,
    /// Samples the exporting subscriber missed (an `Overwrite` topic that outran it).
    pub export_missed: u64,
    /// Samples republished locally (import).
    pub imported: u64,
    /// Samples lost on the way, published as gaps (import).
    pub import_lost: u64,
    /// Samples that came twice or out of order, dropped (import).
    pub import_dropped: u64,
    /// Times the local publisher went away because the remote one (or its bridge) did.
    pub publisher_gone: u64,
    /// Why the topic was not imported, if it was refused.
    pub refused: Option<String>,
}

/// One topic's counters, kept by the thread that handles it (atomics: no lock per sample) and
/// read by [`Bridge::stats`].
#[derive(Default)]
struct Counters {
    exported: AtomicU64,
    export_missed: AtomicU64,
    imported: AtomicU64,
    import_lost: AtomicU64,
    import_dropped: AtomicU64,
    publisher_gone: AtomicU64,
    refused: Mutex<Option<String>>,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> TopicStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TopicStats {
            exported: get(&self.exported),
            export_missed: get(&self.export_missed),
            imported: get(&self.imported),
            import_lost: get(&self.import_lost),
            import_dropped: get(&self.import_dropped),
            publisher_gone: get(&self.publisher_gone),
            refused: self
                .refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// Counters by topic name, shared by the bridge's threads.
type Stats = Arc<Mutex<BTreeMap<String, Arc<Counters>>>>;

/// The counters of topic `name` (made the first time).
fn counters(stats: &Stats, name: &str) -> Arc<Counters> {
    let mut all = stats.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(all.entry(name.to_string()).or_default())
}

fn snapshot(stats: &Stats) -> BTreeMap<String, TopicStats> {
    stats
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(n, c)| (n.clone(), c.snapshot()))
        .collect()
}

/// What the bridge's threads share.
struct Ctx {
    session: Session,
    config: BridgeConfig,
    stop: AtomicBool,
    cancel: CancelToken,
    stats: Stats,
    /// Topics this bridge imports: never exported back.
    imported: Mutex<HashSet<String>>,
    /// What went wrong, one line each, for the program to print.
    log: mpsc::Sender<String>,
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn say(&self, line: String) {
        let _ = self.log.send(line);
    }

    fn is_imported(&self, name: &str) -> bool {
        self.imported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(name)
    }
}

/// A running bridge: its threads export and import until [`stop`](Bridge::stop).
pub struct Bridge {
    ctx: Arc<Ctx>,
    threads: Vec<JoinHandle<()>>,
    log: mpsc::Receiver<String>,
}

impl Bridge {
    /// Starts exporting and importing on `session` as `config` says.
    pub fn start(session: Session, config: BridgeConfig) -> Result<Bridge, Error> {
        if config.prefix.is_empty() || config.prefix.contains(['*', '$', '#', '?']) {
            return Err(Error::Protocol(format!(
                "the prefix {:?} is not a plain key expression (no *, $, # or ?)",
                config.prefix
            )));
        }
        let (log_tx, log) = mpsc::channel();
        let ctx = Arc::new(Ctx {
            session,
            config,
            stop: AtomicBool::new(false),
            cancel: CancelToken::new(),
            stats: Arc::default(),
            imported: Mutex::default(),
            log: log_tx,
        });
        let mut threads = Vec::new();
        if !ctx.config.export.is_empty() {
            let c = Arc::clone(&ctx);
            threads.push(spawn("export scan", move || export_scan(&c)));
        }
        if !ctx.config.import.is_empty() {
            let c = Arc::clone(&ctx);
            let importer = Importer::declare(&c)?;
            threads.push(spawn("import", move || importer.run(&c)));
        }
        Ok(Bridge { ctx, threads, log })
    }

    /// The counters of every topic seen so far.
    pub fn stats(&self) -> BTreeMap<String, TopicStats> {
        snapshot(&self.ctx.stats)
    }

    /// Lines the bridge has to say since the last call (topics exported, imported, refused,
    /// publishers gone, errors).
    pub fn messages(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Stops every thread (a blocked loan or receive included), removes the topics it
    /// imported, closes the session and returns the final counters and what it had left to
    /// say.
    pub fn stop(self) -> (BTreeMap<String, TopicStats>, Vec<String>) {
        self.ctx.stop.store(true, Ordering::Release);
        self.ctx.cancel.cancel();
        // Closing the session first ends a put blocked by a far side that does not read (a
        // stopped process, a congested link) at once, instead of after Zenoh gives up on it.
        let _ = self.ctx.session.close().wait();
        for t in self.threads {
            let _ = t.join();
        }
        (snapshot(&self.ctx.stats), self.log.try_iter().collect())
    }
}

fn spawn<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> JoinHandle<R> {
    std::thread::Builder::new()
        .name(format!("bridge {what}"))
        .spawn(f)
        .expect("the bridge starts a thread")
}

/// Sleeps up to `d`, in slices, returning early once the bridge stops.
fn nap(ctx: &Ctx, d: Duration) {
    let until = Instant::now() + d;
    while !ctx.stopped() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

fn matches(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| glob_matches(p, name))
}

fn export_scan(ctx: &Arc<Ctx>) {
    let mut running: HashMap<String, JoinHandle<Option<String>>> = HashMap::new();
    // The last error of each topic: said once, and said again only if it changes.
    let mut failed: HashMap<String, String> = HashMap::new();
    while !ctx.stopped() {
        let done: Vec<String> = running
            .iter()
            .filter(|(_, t)| t.is_finished())
            .map(|(n, _)| n.clone())
            .collect();
        for name in done {
            if let Some(Ok(Some(e))) = running.remove(&name).map(JoinHandle::join) {
                if failed.get(&name) != Some(&e) {
                    ctx.say(format!("export {name}: {e}"));
                    failed.insert(name, e);
                }
            }
        }
        for name in lifecycle::topic_names() {
            if running.contains_key(&name)
                || !matches(&ctx.config.export, &name)
                || ctx.is_imported(&name)
            {
                continue;
            }
            let c = Arc::clone(ctx);
            let n = name.clone();
            running.insert(
                name,
                spawn("export", move || {
                    export_topic(&c, &n).err().map(|e| e.to_string())
                }),
            );
        }
        nap(ctx, ctx.config.scan_interval);
    }
    for (_, t) in running {
        let _ = t.join();
    }
}

/// How often an exporter looks at its publisher's liveness while samples flow.
const ALIVE_CHECK: Duration = Duration::from_millis(50);

fn export_topic(ctx: &Ctx, name: &str) -> Result<(), Error> {
    let prefix = &ctx.config.prefix;
    let topic_err = |source| Error::Topic {
        name: name.to_string(),
        source,
    };
    // No spinning while it waits: on a machine of few cores, the core it would take is the
    // one the publisher, Zenoh's threads or the far side's processes need.
    let options = SubscribeOptions::new()
        .follow_restarts(true)
        .spin(false)
        .cancel(&ctx.cancel);
    let mut sub = AnySubscriber::open_with(name, &options).map_err(topic_err)?;
    let info = sub.info().clone();
    let description = Description::of(name, &info);
    let congestion = match info.policy {
        Policy::Block => CongestionControl::Block,
        _ => CongestionControl::Drop,
    };
    let zerr = |what: &str, source| Error::Zenoh {
        what: format!("{what} for topic {name}"),
        source,
    };
    let publisher = ctx
        .session
        .declare_publisher(sample_key(prefix, name))
        .congestion_control(congestion)
        .wait()
        .map_err(|e| zerr("declaring the publisher", e))?;
    let json = description.to_json();
    let _queryable = ctx
        .session
        .declare_queryable(info_key(prefix, name))
        .callback(move |query| {
            let _ = query.reply(query.key_expr().clone(), json.clone()).wait();
        })
        .wait()
        .map_err(|e| zerr("declaring the description", e))?;
    let _token = ctx
        .session
        .liveliness()
        .declare_token(topic_token_key(prefix, name))
        .wait()
        .map_err(|e| zerr("declaring the token", e))?;
    ctx.say(format!(
        "export {name}: {} {}, {} {}",
        if info.frames {
            "frames of"
        } else {
            "records of"
        },
        info.type_name,
        info.sample_size,
        if info.frames {
            "bytes at most"
        } else {
            "bytes each"
        }
    ));
    let counters = counters(&ctx.stats, name);
    let status = sub.status().map_err(topic_err)?;
    let mut alive: Option<(u64, LivelinessToken)> = None;
    let mut last_check = Instant::now() - ALIVE_CHECK;
    // Whether the last receive found nothing: every sample of a publisher that has gone was
    // put, so its end may be told.
    let mut drained = false;
    // The index after the last sample put.
    let mut next_index = 0;
    while !ctx.stopped() {
        if last_check.elapsed() >= ALIVE_CHECK {
            last_check = Instant::now();
            let generation = status.generation();
            // Generation 0: a publisher registered but not yet counted (it is starting).
            let up = status.publisher_alive() && generation > 0;
            let current = alive.as_ref().map(|(g, _)| *g);
            if (!up || current != Some(generation)) && drained {
                if let Some((g, token)) = alive.take() {
                    // The end of that publisher, in order after its last sample on the same
                    // Zenoh publisher (a liveliness token's end travels apart, and can
                    // overtake the samples still on the way): a delete with the attachment.
                    let end = Attachment {
                        index: next_index,
                        generation: g,
                        published_ns: posix_ipc_core::now_ns(),
                    };
                    publisher
                        .delete()
                        .attachment(end.encode().to_vec())
                        .wait()
                        .map_err(|e| zerr("telling the end of a publisher", e))?;
                    let _ = token.undeclare().wait();
                }
            }
            if up && alive.is_none() {
                let token = ctx
                    .session
                    .liveliness()
                    .declare_token(alive_token_key(prefix, name, generation))
                    .wait()
                    .map_err(|e| zerr("declaring the publisher's token", e))?;
                alive = Some((generation, token));
            }
        }
        // In place: one copy at memory speed into the message Zenoh owns (the header, then
        // the frame's bytes; the padding between is not sent).
        let got = sub.recv_in_place(Duration::from_millis(100), |sample, header, bytes| {
            let mut payload = Vec::with_capacity(header.len() + bytes.len());
            payload.extend_from_slice(header);
            payload.extend_from_slice(bytes);
            (*sample, payload)
        });
        match got {
            Ok((sample, payload)) => {
                drained = false;
                next_index = sample.index + 1;
                let attachment = Attachment {
                    index: sample.index,
                    generation: sample.generation,
                    published_ns: sample.published_ns,
                };
                publisher
                    .put(payload)
                    .attachment(attachment.encode().to_vec())
                    .wait()
                    .map_err(|e| zerr("putting a sample", e))?;
                Counters::add(&counters.exported, 1);
            }
            Err(e) => match e.kind() {
                ErrorKind::Lagged => {
                    let missed = e.missed().unwrap_or(0);
                    Counters::add(&counters.export_missed, missed);
                }
                ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Disconnected => {
                    drained = true;
                }
                ErrorKind::Restarted => {}
                ErrorKind::Cancelled => break,
                _ => return Err(topic_err(e)),
            },
        }
    }
    Ok(())
}

/// What the import thread tells a topic's worker.
enum Control {
    /// The remote publisher of this generation is alive.
    Up(u64),
    /// The topic is no longer exported (its bridge stopped or died).
    Gone,
}

/// The import side: the liveliness subscribers and a worker per imported topic.
struct Importer {
    topics: zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
    alive: zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
}

impl Importer {
    fn declare(ctx: &Ctx) -> Result<Importer, Error> {
        let prefix = &ctx.config.prefix;
        let zerr = |what: &'static str| {
            move |source| Error::Zenoh {
                what: what.to_string(),
                source,
            }
        };
        let topics = ctx
            .session
            .liveliness()
            .declare_subscriber(format!("{prefix}/@topic/*"))
            .history(true)
            .wait()
            .map_err(zerr("subscribing to the exported topics"))?;
        let alive = ctx
            .session
            .liveliness()
            .declare_subscriber(format!("{prefix}/@alive/*/*"))
            .history(true)
            .wait()
            .map_err(zerr("subscribing to the remote publishers"))?;
        Ok(Importer { topics, alive })
    }

    fn run(self, ctx: &Arc<Ctx>) {
        let prefix = ctx.config.prefix.clone();
        let mut workers: HashMap<String, (mpsc::Sender<Control>, JoinHandle<()>)> = HashMap::new();
        // Remote publishers alive, by topic: what a worker starts with.
        let mut alive: HashMap<String, HashSet<u64>> = HashMap::new();
        while !ctx.stopped() {
            workers.retain(|_, (_, t)| !t.is_finished());
            while let Ok(Some(sample)) = self.alive.try_recv() {
                let Some((name, generation)) = alive_of_token(&prefix, sample.key_expr().as_str())
                else {
                    continue;
                };
                let set = alive.entry(name.clone()).or_default();
                if sample.kind() != SampleKind::Put {
                    // Its end is told in order with the samples (a delete after the last), or
                    // by `Gone` if the exporting bridge died: the token's end can overtake
                    // samples still on the way, and is not acted on.
                    set.remove(&generation);
                    continue;
                }
                set.insert(generation);
                if let Some((tx, _)) = workers.get(&name) {
                    let _ = tx.send(Control::Up(generation));
                }
            }
            match self.topics.recv_timeout(Duration::from_millis(50)) {
                Ok(Some(sample)) => {
                    let Some(name) = topic_of_token(&prefix, sample.key_expr().as_str()) else {
                        continue;
                    };
                    if !matches(&ctx.config.import, &name) {
                        continue;
                    }
                    if sample.kind() == SampleKind::Delete {
                        if let Some((tx, _)) = workers.get(&name) {
                            let _ = tx.send(Control::Gone);
                        }
                        continue;
                    }
                    if workers.contains_key(&name) {
                        continue;
                    }
                    let (tx, rx) = mpsc::channel();
                    let c = Arc::clone(ctx);
                    let up: Vec<u64> = alive
                        .get(&name)
                        .map(|s| s.iter().copied().collect())
                        .unwrap_or_default();
                    for g in up {
                        let _ = tx.send(Control::Up(g));
                    }
                    let n = name.clone();
                    let t = spawn("import", move || {
                        if let Err(e) = import_topic(&c, &n, &rx) {
                            c.say(format!("import {n}: {e}"));
                        }
                    });
                    workers.insert(name, (tx, t));
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
        for (_, (_, t)) in workers {
            let _ = t.join();
        }
    }
}

/// Asks the exporting bridge for a topic's description.
fn describe(ctx: &Ctx, name: &str) -> Result<Description, Error> {
    let replies = ctx
        .session
        .get(info_key(&ctx.config.prefix, name))
        .timeout(Duration::from_secs(5))
        .wait()
        .map_err(|source| Error::Zenoh {
            what: format!("asking for the description of {name}"),
            source,
        })?;
    while let Ok(reply) = replies.recv() {
        if let Ok(sample) = reply.into_result() {
            return Description::from_json(&sample.payload().to_bytes());
        }
    }
    Err(Error::Protocol(format!(
        "no description of {name} came within 5 s (its exporting bridge may have gone)"
    )))
}

/// Opens the local topic of `description` as its publisher.
fn reopen(name: &str, description: &Description) -> Result<RecordPublisher, posix_ipc_core::Error> {
    match description.record_type() {
        Some(record) if !description.frames => RecordPublisher::open(name, &record),
        header => RecordPublisher::open_frames(name, header.as_ref()),
    }
}

/// The local end of an imported topic.
struct Local {
    ctx: Arc<Ctx>,
    counters: Arc<Counters>,
    name: String,
    description: Description,
    /// The local publisher, while the remote one is alive.
    publisher: Option<RecordPublisher>,
    /// Whether this bridge made the topic (or took it over): it removes it at the end.
    made: bool,
}

impl Local {
    /// Becomes the topic's publisher: makes the topic (or takes over one a killed bridge left)
    /// the first time, opens it again later (a new local generation). A local topic of another
    /// type, or with a live publisher of its own, is refused: [`Error::Protocol`].
    fn open(&mut self) -> Result<(), Error> {
        if self.publisher.is_some() {
            return Ok(());
        }
        let d = &self.description;
        let name = self.name.as_str();
        let publisher = if self.made {
            reopen(name, d).map_err(|source| Error::Topic {
                name: name.to_string(),
                source,
            })?
        } else {
            let record = d.record_type();
            let options = d.options();
            let made = match (d.frames, record.as_ref()) {
                (true, header) => RecordPublisher::create_or_take_over_frames(
                    name,
                    d.size,
                    header,
                    d.layout.as_ref(),
                    &options,
                ),
                (false, Some(r)) => {
                    RecordPublisher::create_or_take_over(name, r, d.layout.as_ref(), &options)
                }
                (false, None) => {
                    return Err(Error::Protocol(format!(
                        "the description of {name} has records without a type"
                    )))
                }
            };
            let owned = made.map_err(|e| {
                Error::Protocol(format!(
                    "refused: {e} (a local topic of another type, or with a live publisher, \
                     is never overwritten)"
                ))
            })?;
            self.made = true;
            self.ctx
                .imported
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(name.to_string());
            // The name is removed when the import ends, not when a publisher goes.
            owned.into_inner()
        };
        self.publisher = Some(publisher.with_cancel(&self.ctx.cancel));
        Ok(())
    }

    /// The local publisher goes (the remote one did): local subscribers see it gone.
    fn drop_publisher(&mut self) {
        if self.publisher.take().is_some() {
            Counters::add(&self.counters.publisher_gone, 1);
        }
    }

    /// Publishes one sample's payload (a record, or a header and a frame), copying each piece
    /// the message arrived in straight into the loan.
    fn publish(&mut self, payload: &ZBytes) -> Result<(), posix_ipc_core::Error> {
        let d = &self.description;
        let Some(p) = self.publisher.as_mut() else {
            return Ok(());
        };
        let total = payload.len();
        let header = if d.frames {
            d.header_size.min(total)
        } else {
            0
        };
        let mut loan = p.loan_with(total - header, false, Timeout::Infinite)?;
        let mut at = 0;
        for piece in payload.slices() {
            let mut piece = piece;
            if at < header {
                let n = piece.len().min(header - at);
                loan.header_mut()[at..at + n].copy_from_slice(&piece[..n]);
                piece = &piece[n..];
                at += n;
            }
            let from = at - header;
            loan[from..from + piece.len()].copy_from_slice(piece);
            at += piece.len();
        }
        loan.send();
        Ok(())
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // The import ends: the publisher goes, and the name with it if this bridge made it,
        // unless another publisher took the topic over meanwhile (then it is not ours).
        let publisher = self.publisher.take();
        if self.made {
            if let Some(p) = publisher.or_else(|| reopen(&self.name, &self.description).ok()) {
                let _ = p.unlink();
            }
            self.ctx
                .imported
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.name);
        }
    }
}

fn import_topic(
    ctx: &Arc<Ctx>,
    name: &str,
    control: &mpsc::Receiver<Control>,
) -> Result<(), Error> {
    let prefix = &ctx.config.prefix;
    // Each sample is republished in Zenoh's callback, on the thread that read it from the
    // link: no hand-over to another thread on the way (large frames excepted, below). A loan that waits there (a `Block`
    // topic whose local subscribers are behind) holds back what comes on that link, which is
    // the back-pressure such a topic asks for; it ends when the bridge stops (cancelled).
    let state: Arc<Mutex<Import>> = Arc::new(Mutex::new(Import::default()));
    let in_callback = Arc::clone(&state);
    // Set once the description is known, for topics of large frames: those go through a short
    // queue to this topic's worker instead, so that one frame is copied into its loan while
    // Zenoh reads the next from the link (on two cores, a third of the throughput).
    let queue: Arc<OnceLock<mpsc::SyncSender<zenoh::sample::Sample>>> = Arc::default();
    let to_queue = Arc::clone(&queue);
    // The subscription first, then the question: Zenoh keeps the order of what goes on one
    // link, so the exporting bridge knows of this subscriber before it answers, and before the
    // first sample it puts after that (a put with no known subscriber is dropped unseen).
    // Samples that come before the description is known are not republished, and the indices
    // tell the local subscribers how many they missed.
    let samples = ctx
        .session
        .declare_subscriber(sample_key(prefix, name))
        .callback(move |sample| match to_queue.get() {
            // Full: waits (back-pressure); the worker gone: the import is ending.
            Some(tx) => drop(tx.send(sample)),
            None => lock(&in_callback).on_sample(&sample),
        })
        .wait()
        .map_err(|source| Error::Zenoh {
            what: format!("subscribing to {name}"),
            source,
        })?;
    let description = describe(ctx, name)?;
    ctx.say(format!(
        "import {name}: {} {} from {}",
        if description.frames {
            "frames,"
        } else {
            "records of"
        },
        description.type_name,
        sample_key(prefix, name)
    ));
    let description_frames_len = if description.frames {
        description.size
    } else {
        0
    };
    lock(&state).local = Some(Local {
        ctx: Arc::clone(ctx),
        counters: counters(&ctx.stats, name),
        name: name.to_string(),
        description,
        publisher: None,
        made: false,
    });
    let queued = (description_frames_len > QUEUED_FROM).then(|| {
        let (tx, rx) = mpsc::sync_channel(QUEUE_DEPTH);
        let _ = queue.set(tx);
        rx
    });
    let result = control_loop(ctx, &state, control, queued.as_ref());
    // No sample is republished after this (a callback waiting on the full queue is let go
    // first), and the local end goes (with the topic if this bridge made it).
    drop(queued);
    let _ = samples.undeclare().wait();
    let local = lock(&state).local.take();
    drop(local);
    if let Err(Error::Protocol(why)) = &result {
        *counters(&ctx.stats, name)
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(why.clone());
    }
    result
}

fn lock(state: &Mutex<Import>) -> std::sync::MutexGuard<'_, Import> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An imported topic's state, shared by Zenoh's callback (samples) and the topic's worker
/// (the remote publisher's life).
#[derive(Default)]
struct Import {
    /// The local end, once the description is known (and until the import ends).
    local: Option<Local>,
    /// The remote generation whose samples are published now.
    remote: Option<u64>,
    /// The next index expected from it.
    expected: Option<u64>,
    /// The latest remote generation whose end came (a delete after its last sample).
    ended: Option<u64>,
    /// What ended the import, met in the callback, for the worker to return.
    failed: Option<Error>,
}

impl Import {
    /// The remote publisher's life, as the liveliness tokens tell it.
    fn on_control(&mut self, c: Control) -> Result<(), Error> {
        let Some(local) = self.local.as_mut() else {
            return Ok(());
        };
        match c {
            // A token of a publisher whose end came already (tokens travel apart from the
            // samples, and can come late).
            Control::Up(g) if self.ended.is_some_and(|e| g <= e) => {}
            Control::Up(g) => {
                match self.remote {
                    None => self.remote = Some(g),
                    // A new remote publisher: a new local generation.
                    Some(r) if g > r => {
                        local.drop_publisher();
                        self.remote = Some(g);
                        self.expected = None;
                    }
                    // The same one, back after its bridge was away: what was lost meanwhile is
                    // counted from the indices.
                    Some(r) if g == r => {}
                    Some(_) => return Ok(()),
                }
                local.open()?;
            }
            Control::Gone => local.drop_publisher(),
        }
        Ok(())
    }

    /// One sample from Zenoh: republished, or counted as a duplicate, a late sample or a gap.
    fn on_sample(&mut self, sample: &zenoh::sample::Sample) {
        if self.failed.is_some() {
            return;
        }
        let Some(local) = self.local.as_mut() else {
            // Before the description came: the indices will count it as lost.
            return;
        };
        let Some(att) = sample
            .attachment()
            .and_then(|a| Attachment::decode(&a.to_bytes()))
        else {
            Counters::add(&local.counters.import_dropped, 1);
            return;
        };
        if self.ended.is_some_and(|e| att.generation <= e)
            || self.remote.is_some_and(|r| att.generation < r)
        {
            // A late sample (or end) of a publisher already ended or replaced.
            if sample.kind() == SampleKind::Put {
                Counters::add(&local.counters.import_dropped, 1);
            }
            return;
        }
        if sample.kind() == SampleKind::Delete {
            // The end of the remote publisher, after its last sample: what did not come of its
            // samples is told as a gap, then the local publisher goes.
            if let (Some(e), Some(p)) = (self.expected, local.publisher.as_mut()) {
                if self.remote == Some(att.generation) && att.index > e {
                    p.report_lost(att.index - e);
                    Counters::add(&local.counters.import_lost, att.index - e);
                }
            }
            local.drop_publisher();
            self.remote = Some(att.generation);
            self.ended = Some(att.generation);
            self.expected = None;
            return;
        }
        match self.remote {
            Some(r) if att.generation > r => {
                local.drop_publisher();
                self.expected = None;
            }
            _ => {}
        }
        self.remote = Some(att.generation);
        if let Err(e) = local.open() {
            self.failed = Some(e);
            return;
        }
        match self.expected {
            Some(e) if att.index < e => {
                Counters::add(&local.counters.import_dropped, 1);
                return;
            }
            Some(e) if att.index > e => {
                let lost = att.index - e;
                if let Some(p) = local.publisher.as_mut() {
                    p.report_lost(lost);
                }
                Counters::add(&local.counters.import_lost, lost);
            }
            _ => {}
        }
        self.expected = Some(att.index + 1);
        match local.publish(sample.payload()) {
            Ok(()) => Counters::add(&local.counters.imported, 1),
            Err(e) if e.kind() == ErrorKind::Cancelled => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::MessageTooLarge | ErrorKind::InvalidArgument
                ) =>
            {
                // A payload that is not a sample of this topic (not from a bridge of ours).
                Counters::add(&local.counters.import_dropped, 1);
            }
            Err(source) => {
                self.failed = Some(Error::Topic {
                    name: local.name.clone(),
                    source,
                })
            }
        }
    }
}

/// Frames longer than this go through a queue to the topic's worker (see `import_topic`).
const QUEUED_FROM: usize = 64 * 1024;
/// How many samples that queue holds before Zenoh's callback waits.
const QUEUE_DEPTH: usize = 2;

/// Follows the remote publisher's life until the bridge stops, the topic is no longer
/// exported, or something fails: the local publisher exists from the remote one's first sign
/// of life (its token or a sample) until it goes.
fn control_loop(
    ctx: &Ctx,
    state: &Mutex<Import>,
    control: &mpsc::Receiver<Control>,
    queued: Option<&mpsc::Receiver<zenoh::sample::Sample>>,
) -> Result<(), Error> {
    let tick = Duration::from_millis(50);
    while !ctx.stopped() {
        match queued {
            Some(samples) => {
                match samples.recv_timeout(tick) {
                    Ok(sample) => lock(state).on_sample(&sample),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                while let Ok(c) = control.try_recv() {
                    lock(state).on_control(c)?;
                }
            }
            None => match control.recv_timeout(tick) {
                Ok(c) => lock(state).on_control(c)?,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            },
        }
        if let Some(e) = lock(state).failed.take() {
            return Err(e);
        }
    }
    Ok(())
}
