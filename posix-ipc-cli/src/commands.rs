//! What each command does.

use std::collections::HashMap;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::time::{Duration, Instant};

use posix_ipc::lifecycle::{self, Filter, ObjectInfo, MQUEUE_DIR};
use posix_ipc::{
    limits, unlink_message_queue, unlink_semaphore, unlink_shared_memory, ErrorKind, MessageQueue,
    ObjectKind, Semaphore, SharedMemory, Timeout,
};
use serde_json::{json, Value};

use crate::objects::{self, Owners};
use crate::output::{input_data, print_table, stdout_failure, to_hex, Failure, Progress};
use crate::{Cli, Command, MqCommand, SemCommand, ShmCommand};

type Outcome = Result<(), Failure>;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Outcome {
    let quiet = cli.quiet;
    match cli.command {
        Command::Limits { json } => limits_cmd(json),
        Command::Ls {
            json,
            prefix,
            holders,
        } => ls(json, prefix.as_deref(), holders),
        Command::Mq(cmd) => mq(cmd, quiet),
        Command::Sem(cmd) => sem(cmd, quiet),
        Command::Shm(cmd) => shm(cmd, quiet),
        Command::Topic(cmd) => crate::topic::run(cmd),
        Command::Record {
            output,
            patterns,
            seconds,
            compression,
        } => crate::record::record(
            output,
            patterns,
            seconds,
            match compression {
                crate::CompressionArg::None => posix_ipc_record::Compression::None,
                crate::CompressionArg::Zstd => posix_ipc_record::Compression::Zstd,
                crate::CompressionArg::Lz4 => posix_ipc_record::Compression::Lz4,
            },
            quiet,
        ),
        Command::Replay {
            file,
            rate,
            looping,
            topics,
            remap,
            start,
            end,
        } => crate::record::replay(
            file,
            crate::record::ReplayArgs {
                rate,
                looping,
                topics,
                remap,
                start,
                end,
            },
            quiet,
        ),
        Command::Clean {
            prefix,
            stale: true,
            all_users,
            dry_run,
        } => clean_stale(prefix.as_deref(), all_users, dry_run, quiet),
        Command::Clean {
            prefix, dry_run, ..
        } => clean(prefix.as_deref().unwrap_or(""), dry_run, quiet),
        Command::Watch {
            interval,
            iterations,
            prefix,
        } => watch(interval, iterations, prefix.as_deref()),
    }
}

/// Prints a confirmation line unless `--quiet`.
fn say(quiet: bool, line: &str) -> Outcome {
    if !quiet {
        writeln!(io::stdout(), "{line}").map_err(stdout_failure)?;
    }
    Ok(())
}

fn out_line(line: &str) -> Outcome {
    writeln!(io::stdout(), "{line}").map_err(stdout_failure)
}

fn print_json(value: &Value) -> Outcome {
    out_line(&serde_json::to_string_pretty(value).expect("a JSON value always serialises"))
}

/// posix_ipc's timeout: none waits forever, 0 never waits, else seconds.
fn timeout(secs: Option<f64>) -> Result<Timeout, Failure> {
    match secs {
        None => Ok(Timeout::Infinite),
        Some(s) => Ok(Timeout::from_secs_f64(s)?),
    }
}

/// A prefix as names are listed: with its leading slash.
pub fn slashed(prefix: &str) -> String {
    if prefix.starts_with('/') {
        prefix.to_string()
    } else {
        format!("/{prefix}")
    }
}

fn print_pairs(pairs: &[(&str, String)]) -> Outcome {
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .map(|(k, v)| vec![(*k).to_string(), v.clone()])
        .collect();
    print_table(&mut io::stdout().lock(), &rows).map_err(stdout_failure)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

fn limits_cmd(json: bool) -> Outcome {
    let l = limits::Limits::read();
    let mounted = lifecycle::mqueue_mounted();
    if json {
        return print_json(&json!({
            "MESSAGE_QUEUES_SUPPORTED": posix_ipc::MESSAGE_QUEUES_SUPPORTED,
            "SEMAPHORE_TIMEOUT_SUPPORTED": posix_ipc::SEMAPHORE_TIMEOUT_SUPPORTED,
            "SEMAPHORE_VALUE_SUPPORTED": posix_ipc::SEMAPHORE_VALUE_SUPPORTED,
            "QUEUE_MESSAGES_MAX_DEFAULT": posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT,
            "QUEUE_MESSAGE_SIZE_MAX_DEFAULT": posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT,
            "QUEUE_PRIORITY_MAX": posix_ipc::QUEUE_PRIORITY_MAX,
            "USER_SIGNAL_MIN": *posix_ipc::USER_SIGNAL_MIN,
            "USER_SIGNAL_MAX": *posix_ipc::USER_SIGNAL_MAX,
            "VERSION": posix_ipc::VERSION,
            "POSIX_IPC_VERSION": posix_ipc::POSIX_IPC_VERSION,
            "msg_max": l.msg_max,
            "msgsize_max": l.msgsize_max,
            "msg_default": l.msg_default,
            "msgsize_default": l.msgsize_default,
            "queues_max": l.queues_max,
            "rlimit_msgqueue": l.rlimit_msgqueue.map(|(s, h)| json!({"soft": s, "hard": h})),
            "rlimit_nofile": l.rlimit_nofile.map(|(s, h)| json!({"soft": s, "hard": h})),
            "page_size": l.page_size,
            "sem_value_max": l.sem_value_max,
            "mq_prio_max": l.mq_prio_max,
            "mqueue_mounted": mounted,
        }));
    }
    let rlimit = |r: Option<(u64, u64)>| {
        r.map_or_else(
            || "unknown".to_string(),
            |(s, h)| {
                let show = |v: u64| {
                    if v == u64::MAX {
                        "unlimited".to_string()
                    } else {
                        v.to_string()
                    }
                };
                format!("{} (hard {})", show(s), show(h))
            },
        )
    };
    print_pairs(&[
        (
            "MESSAGE_QUEUES_SUPPORTED",
            posix_ipc::MESSAGE_QUEUES_SUPPORTED.to_string(),
        ),
        (
            "SEMAPHORE_TIMEOUT_SUPPORTED",
            posix_ipc::SEMAPHORE_TIMEOUT_SUPPORTED.to_string(),
        ),
        (
            "SEMAPHORE_VALUE_SUPPORTED",
            posix_ipc::SEMAPHORE_VALUE_SUPPORTED.to_string(),
        ),
        (
            "QUEUE_MESSAGES_MAX_DEFAULT",
            posix_ipc::QUEUE_MESSAGES_MAX_DEFAULT.to_string(),
        ),
        (
            "QUEUE_MESSAGE_SIZE_MAX_DEFAULT",
            posix_ipc::QUEUE_MESSAGE_SIZE_MAX_DEFAULT.to_string(),
        ),
        (
            "QUEUE_PRIORITY_MAX",
            posix_ipc::QUEUE_PRIORITY_MAX.to_string(),
        ),
        ("USER_SIGNAL_MIN", posix_ipc::USER_SIGNAL_MIN.to_string()),
        ("USER_SIGNAL_MAX", posix_ipc::USER_SIGNAL_MAX.to_string()),
        ("fs.mqueue.msg_max", opt(l.msg_max)),
        ("fs.mqueue.msgsize_max", opt(l.msgsize_max)),
        ("fs.mqueue.msg_default", opt(l.msg_default)),
        ("fs.mqueue.msgsize_default", opt(l.msgsize_default)),
        ("fs.mqueue.queues_max", opt(l.queues_max)),
        ("RLIMIT_MSGQUEUE (bytes)", rlimit(l.rlimit_msgqueue)),
        ("RLIMIT_NOFILE", rlimit(l.rlimit_nofile)),
        ("page size", l.page_size.to_string()),
        ("SEM_VALUE_MAX", l.sem_value_max.to_string()),
        ("MQ_PRIO_MAX", l.mq_prio_max.to_string()),
        (
            "mqueue filesystem",
            if mounted {
                format!("mounted at {}", MQUEUE_DIR)
            } else {
                format!("not mounted at {}", MQUEUE_DIR)
            },
        ),
    ])
}

/// Lists with the library (holders looked up: the STATE column needs them), after mounting the
/// mqueue filesystem if needed; prints the notes on stderr.
fn listing(prefix: Option<&str>, holders: bool) -> lifecycle::Listing {
    let mut filter = Filter::new().all_users(true).holders(holders);
    if let Some(p) = prefix {
        filter = filter.prefix(p);
    }
    let mount = objects::ensure_mqueue();
    let mut listing = lifecycle::list(&filter);
    if let Err(why) = mount {
        // The library's own note says the same, less precisely.
        listing
            .notes
            .retain(|n| !n.starts_with("message queues not listed"));
        listing.notes.push(why);
    }
    for note in &listing.notes {
        eprintln!("posix-ipc: {note}");
    }
    // A process that could not be inspected matters only where it could hold an object that
    // looks stale: the judgement may be wrong there.
    if let Some(note) = objects::unseen_holders_note(&listing.objects) {
        eprintln!("posix-ipc: {note}");
    }
    listing
}

fn ls(json: bool, prefix: Option<&str>, holders: bool) -> Outcome {
    let listing = listing(prefix, true);
    let owners = Owners::read();
    if json {
        let list: Vec<Value> = listing
            .objects
            .iter()
            .map(|o| objects::to_json(o, &owners))
            .collect();
        return print_json(&Value::Array(list));
    }
    let mut header = vec![
        "KIND",
        "NAME",
        "SIZE/VALUE/MESSAGES",
        "MODE",
        "OWNER",
        "STATE",
    ];
    if holders {
        header.push("HOLDERS");
    }
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    rows.extend(listing.objects.iter().map(|o| {
        let mut row = vec![
            o.kind_label().to_string(),
            o.name.clone(),
            objects::detail(o),
            format!("{:04o}", o.mode),
            owners.name(o.uid),
            objects::state_word(&o.state).to_string(),
        ];
        if holders {
            row.push(objects::holders_text(&o.holders));
        }
        row
    }));
    print_table(&mut io::stdout().lock(), &rows).map_err(stdout_failure)
}

/// `info` of one object through the library: kind, details, header, holders, state.
fn info(kind: ObjectKind, name: &str, json: bool) -> Outcome {
    if kind == ObjectKind::MessageQueue {
        let _ = objects::ensure_mqueue();
    }
    let o = lifecycle::inspect(kind, name, true)?;
    let owners = Owners::read();
    if json {
        return print_json(&objects::to_json(&o, &owners));
    }
    print_pairs(&objects::info_pairs(&o, &owners))
}

fn mq(cmd: MqCommand, quiet: bool) -> Outcome {
    match cmd {
        MqCommand::Create {
            name,
            max_messages,
            max_message_size,
            mode,
        } => {
            let mut options = MessageQueue::options();
            options.create_new(true).mode(mode.mode);
            if let Some(n) = max_messages {
                options.max_messages(n);
            }
            if let Some(n) = max_message_size {
                options.max_message_size(n);
            }
            let q = options.open(&name)?;
            let real_mode = objects::queue_file_stat(q.name()).map_or(q.mode(), |s| s.0);
            say(
                quiet,
                &format!(
                    "created message queue {}: {} messages of at most {} bytes, mode {:04o}",
                    q.name(),
                    q.max_messages(),
                    q.max_message_size(),
                    real_mode
                ),
            )
        }
        MqCommand::Send {
            name,
            data,
            priority,
            timeout: secs,
            hex,
        } => {
            let data = input_data(&data, hex)?;
            let wait = timeout(secs)?;
            let q = MessageQueue::options()
                .read(false)
                .write(true)
                .open(&name)?;
            q.send_with(&data, priority, wait)?;
            say(
                quiet,
                &format!(
                    "sent {} bytes to message queue {} with priority {priority}",
                    data.len(),
                    q.name()
                ),
            )
        }
        MqCommand::Recv {
            name,
            count,
            timeout: secs,
            json,
            hex,
            progress,
        } => {
            let wait = timeout(secs)?;
            let q = MessageQueue::options()
                .read(true)
                .write(false)
                .open(&name)?;
            let mut progress =
                Progress::new(progress, format!("receiving from {}", q.name()), count);
            let mut buf = vec![0u8; q.max_message_size()];
            let mut out = BufWriter::new(io::stdout().lock());
            let mut received = 0u64;
            let result = (|| -> Outcome {
                while received < count {
                    let (len, priority) = match q.receive_into(&mut buf, Timeout::Immediate) {
                        Ok(r) => r,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            // Nothing waiting: show what we have before blocking.
                            out.flush().map_err(stdout_failure)?;
                            q.receive_into(&mut buf, wait)?
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let msg = &buf[..len];
                    if json {
                        let mut obj = json!({"priority": priority, "len": len});
                        let map = obj.as_object_mut().expect("an object");
                        if let Ok(text) = std::str::from_utf8(msg) {
                            map.insert("text".into(), json!(text));
                        }
                        map.insert("hex".into(), json!(to_hex(msg)));
                        writeln!(out, "{obj}")
                    } else if hex {
                        writeln!(out, "{}", to_hex(msg))
                    } else {
                        out.write_all(msg).and_then(|()| out.write_all(b"\n"))
                    }
                    .map_err(stdout_failure)?;
                    received += 1;
                    progress.tick(received);
                }
                Ok(())
            })();
            let flushed = out.flush().map_err(stdout_failure);
            progress.finish(received);
            match result {
                Err(e) if received > 0 => Err(e.with_context(format!(
                    "after {received} of {count} messages were received"
                ))),
                Err(e) => Err(e),
                Ok(()) => flushed,
            }
        }
        MqCommand::Info { name, json } => info(ObjectKind::MessageQueue, &name, json),
        MqCommand::Rm { name } => {
            unlink_message_queue(&name)?;
            say(quiet, &format!("removed message queue {}", slashed(&name)))
        }
    }
}

fn sem(cmd: SemCommand, quiet: bool) -> Outcome {
    match cmd {
        SemCommand::Create { name, value, mode } => {
            let s = Semaphore::options()
                .create_new(true)
                .initial_value(value)
                .mode(mode.mode)
                .open(&name)?;
            say(
                quiet,
                &format!(
                    "created semaphore {} with value {value}, mode {:04o}",
                    s.name(),
                    objects::semaphore_file_mode(s.name()).unwrap_or(mode.mode)
                ),
            )
        }
        SemCommand::Post { name } => {
            let s = Semaphore::open(&name)?;
            s.release()?;
            say(quiet, &format!("posted semaphore {}", s.name()))
        }
        SemCommand::Wait {
            name,
            timeout: secs,
        } => {
            let wait = timeout(secs)?;
            let s = Semaphore::open(&name)?;
            s.acquire_with(wait)?;
            say(quiet, &format!("acquired semaphore {}", s.name()))
        }
        SemCommand::Value { name } => {
            let s = Semaphore::open(&name)?;
            out_line(&s.value()?.to_string())
        }
        SemCommand::Rm { name } => {
            unlink_semaphore(&name)?;
            say(quiet, &format!("removed semaphore {}", slashed(&name)))
        }
    }
}

fn shm(cmd: ShmCommand, quiet: bool) -> Outcome {
    match cmd {
        ShmCommand::Create { name, size, mode } => {
            let m = SharedMemory::options()
                .create_new(true)
                .size(size)
                .mode(mode.mode)
                .open(&name)?;
            let stat = m.stat()?;
            say(
                quiet,
                &format!(
                    "created shared memory {}: {} bytes, mode {:04o}",
                    m.name(),
                    stat.size,
                    stat.mode & 0o7777
                ),
            )
        }
        ShmCommand::Write {
            name,
            data,
            offset,
            hex,
        } => {
            let data = input_data(&data, hex)?;
            let m = SharedMemory::open(&name)?;
            if !data.is_empty() {
                m.map_range(offset, data.len())?.write_at(0, &data)?;
            }
            say(
                quiet,
                &format!(
                    "wrote {} bytes to shared memory {} at offset {offset}",
                    data.len(),
                    m.name()
                ),
            )
        }
        ShmCommand::Read {
            name,
            offset,
            len,
            hex,
        } => {
            let m = SharedMemory::options().read_only(true).open(&name)?;
            let size = m.size()?;
            if offset > size {
                return Err(Failure::Usage(format!(
                    "cannot read shared memory {:?}: offset {offset} is past its end ({size} bytes)",
                    m.name()
                )));
            }
            let len = len.unwrap_or(size - offset);
            let bytes = if len == 0 {
                Vec::new()
            } else {
                let len = usize::try_from(len).map_err(|_| {
                    Failure::Usage(format!("--len {len} is too large for this machine"))
                })?;
                m.map_range(offset, len)?.read_vec(0, len)?
            };
            let mut out = io::stdout().lock();
            if hex {
                writeln!(out, "{}", to_hex(&bytes))
            } else {
                out.write_all(&bytes)
            }
            .and_then(|()| out.flush())
            .map_err(stdout_failure)
        }
        ShmCommand::Info { name, json } => info(ObjectKind::SharedMemory, &name, json),
        ShmCommand::Rm { name } => {
            unlink_shared_memory(&name)?;
            say(quiet, &format!("removed shared memory {}", slashed(&name)))
        }
    }
}

fn remove(o: &ObjectInfo) -> posix_ipc::Result<()> {
    match o.kind {
        ObjectKind::Semaphore => unlink_semaphore(&o.name),
        ObjectKind::MessageQueue => unlink_message_queue(&o.name),
        _ => unlink_shared_memory(&o.name),
    }
}

fn clean(prefix: &str, dry_run: bool, quiet: bool) -> Outcome {
    let prefix = slashed(prefix);
    if prefix == "/" {
        return Err(Failure::Usage(
            "refusing to remove every object: give --prefix at least one character after the \
             slash (or --stale to remove only leftovers)"
                .to_string(),
        ));
    }
    let listing = listing(Some(&prefix), false);
    let mut first_failure: Option<u8> = None;
    let mut removed = 0usize;
    for o in &listing.objects {
        let what = format!("{} {}", objects::long_kind(o), o.name);
        if dry_run {
            out_line(&format!("would remove {what}"))?;
            continue;
        }
        match remove(o) {
            Ok(()) => {
                removed += 1;
                say(quiet, &format!("removed {what}"))?;
            }
            // Removed between the listing and now (by someone else, or with its queue): the
            // goal is reached.
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                let failure = Failure::from(e);
                eprintln!("posix-ipc: {failure}");
                first_failure.get_or_insert(failure.code());
            }
        }
    }
    if !dry_run && listing.objects.is_empty() {
        say(
            quiet,
            &format!("nothing to remove: no object name starts with {prefix}"),
        )?;
    } else if !dry_run && removed > 0 {
        say(quiet, &format!("removed {removed} object(s)"))?;
    }
    match first_failure {
        // Each failure has its line already: exit with the first one's code.
        Some(code) => Err(Failure::Reported(code)),
        None => Ok(()),
    }
}

fn clean_stale(prefix: Option<&str>, all_users: bool, dry_run: bool, quiet: bool) -> Outcome {
    let mut filter = Filter::new().all_users(all_users);
    if let Some(p) = prefix {
        filter = filter.prefix(p);
    }
    if let Err(why) = objects::ensure_mqueue() {
        eprintln!("posix-ipc: {why}");
    }
    let removals = lifecycle::clean_stale(&filter, dry_run)?;
    if let Some(note) = objects::unseen_holders_note(removals.iter().map(|r| &r.object)) {
        eprintln!(
            "posix-ipc: {note}; {}",
            if dry_run {
                "without --dry-run, clean --stale removes what looks stale all the same"
            } else {
                "removed all the same"
            }
        );
    }
    let mut first_failure: Option<u8> = None;
    let mut removed = 0usize;
    let none = removals.is_empty();
    for r in removals {
        let what = format!("{} {}", objects::long_kind(&r.object), r.object.name);
        match r.outcome {
            Ok(()) if dry_run => out_line(&format!("would remove {what}: {}", r.reason))?,
            Ok(()) => {
                removed += 1;
                say(quiet, &format!("removed {what}: {}", r.reason))?;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                say(quiet, &format!("left {what}: {}", e.detail()))?;
            }
            Err(e) => {
                let failure = Failure::from(e);
                eprintln!("posix-ipc: {failure}");
                first_failure.get_or_insert(failure.code());
            }
        }
    }
    if none {
        say(
            quiet,
            "nothing stale: every object listed is held by a live process",
        )?;
    } else if !dry_run {
        say(quiet, &format!("removed {removed} stale object(s)"))?;
    }
    match first_failure {
        Some(code) => Err(Failure::Reported(code)),
        None => Ok(()),
    }
}

/// What a `watch` row counted at the last refresh, by kind and name, for the rates.
type Counts = HashMap<(&'static str, String), (u64, Instant)>;

/// The change since the last refresh, per second, or `-` for a first sight.
fn rate(
    name: (&'static str, &str),
    count: u64,
    now: Instant,
    previous: &Counts,
    seen: &mut Counts,
) -> String {
    let key = (name.0, name.1.to_string());
    let text = match previous.get(&key) {
        Some(&(before, at)) => {
            let dt = now.duration_since(at).as_secs_f64();
            format!("{:+.1}", (count as f64 - before as f64) / dt.max(1e-9))
        }
        None => "-".to_string(),
    };
    seen.insert(key, (count, now));
    text
}

/// `2 (4567,4568)`, or `0`.
fn live(pids: &[u32]) -> String {
    if pids.is_empty() {
        return "0".to_string();
    }
    let list: Vec<String> = pids.iter().map(u32::to_string).collect();
    format!("{} ({})", pids.len(), list.join(","))
}

fn header(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_string()).collect()
}

/// One refresh of `watch`: a table each of queues (depth), topics (samples published, rate,
/// publisher, live subscribers) and rings (messages queued = tail - head, rate, producers,
/// consumers), from the library's listing. Returns the tables and what each row counted.
fn watch_tables(prefix: &str, previous: &Counts) -> ([Vec<Vec<String>>; 3], Counts) {
    let listing = lifecycle::list(&Filter::new().all_users(true).prefix(prefix));
    let now = Instant::now();
    let mut seen = Counts::new();
    let mut queues = vec![header(&[
        "NAME", "DEPTH", "MAX", "MSGSIZE", "BYTES", "RATE/s",
    ])];
    let mut topics = vec![header(&[
        "TOPIC",
        "PUBLISHED",
        "RATE/s",
        "KEEPS",
        "POLICY",
        "PUBLISHER",
        "SUBSCRIBERS",
    ])];
    let mut rings = vec![header(&[
        "RING",
        "QUEUED",
        "CAPACITY",
        "RATE/s",
        "MODE",
        "PRODUCERS",
        "CONSUMERS",
    ])];
    let unknown = |v: Option<String>| v.unwrap_or_else(|| "?".to_string());
    for o in listing.objects {
        let rate_of = |label, count: Option<u64>, seen: &mut Counts| {
            count.map_or_else(
                || "-".to_string(),
                |n| rate((label, &o.name), n, now, previous, seen),
            )
        };
        match (&o.segment, o.kind) {
            (None, ObjectKind::MessageQueue) => {
                let depth = o.messages.map(|d| d as u64);
                queues.push(vec![
                    o.name.clone(),
                    unknown(depth.map(|d| d.to_string())),
                    unknown(o.max_messages.map(|m| m.to_string())),
                    unknown(o.max_message_size.map(|m| m.to_string())),
                    opt(o.queue_bytes),
                    rate_of("mq", depth, &mut seen),
                ]);
            }
            (Some(s), _) if s.kind == posix_ipc::SegmentKind::Topic => {
                topics.push(vec![
                    o.name.clone(),
                    unknown(s.count.map(|n| n.to_string())),
                    rate_of("topic", s.count, &mut seen),
                    unknown(s.capacity.map(|n| n.to_string())),
                    unknown(s.policy.map(|p| format!("{p:?}"))),
                    match s.producers.as_slice() {
                        [] => "none".to_string(),
                        pids => pids
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(","),
                    },
                    live(&s.consumers),
                ]);
            }
            (Some(s), _) if s.kind == posix_ipc::SegmentKind::Ring => {
                rings.push(vec![
                    o.name.clone(),
                    unknown(s.count.map(|n| n.to_string())),
                    unknown(s.capacity.map(|n| n.to_string())),
                    rate_of("ring", s.count, &mut seen),
                    unknown(s.ring_mode.map(|m| format!("{m:?}"))),
                    live(&s.producers),
                    live(&s.consumers),
                ]);
            }
            _ => {}
        }
    }
    ([queues, topics, rings], seen)
}

fn watch(interval: f64, iterations: Option<u64>, prefix: Option<&str>) -> Outcome {
    if !(interval.is_finite() && interval > 0.0) {
        return Err(Failure::Usage(format!(
            "--interval must be a positive number of seconds, not {interval}"
        )));
    }
    // Without the mqueue filesystem the queues cannot be listed, but topics and rings can.
    let queues_listed = match objects::ensure_mqueue() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("posix-ipc: {why}");
            false
        }
    };
    let prefix = prefix.map_or_else(|| "/".to_string(), slashed);
    let interval = Duration::from_secs_f64(interval);
    let tty = io::stdout().is_terminal();
    let start = Instant::now();
    let mut previous = Counts::new();
    let mut frame = 0u64;
    loop {
        frame += 1;
        let (tables, seen) = watch_tables(&prefix, &previous);
        previous = seen;
        let [queues, topics, rings] = &tables;
        let mut out = io::stdout().lock();
        let result = (|| -> io::Result<()> {
            if tty {
                write!(out, "\x1b[H\x1b[2J")?;
            } else if frame > 1 {
                writeln!(out)?;
            }
            writeln!(
                out,
                "posix-ipc watch: {} queue(s), {} topic(s), {} ring(s) at +{:.1}s, refresh every \
                 {:.1}s{}",
                if queues_listed {
                    (queues.len() - 1).to_string()
                } else {
                    "?".to_string()
                },
                topics.len() - 1,
                rings.len() - 1,
                start.elapsed().as_secs_f64(),
                interval.as_secs_f64(),
                match iterations {
                    Some(n) => format!(", refresh {frame} of {n}"),
                    None => "; Ctrl-C to stop".to_string(),
                }
            )?;
            let shown: Vec<&Vec<Vec<String>>> = tables.iter().filter(|t| t.len() > 1).collect();
            if shown.is_empty() {
                writeln!(
                    out,
                    "no queue, topic or ring has a name starting with {prefix}"
                )?;
            }
            for (i, table) in shown.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                print_table(&mut out, table)?;
            }
            if !shown.is_empty() {
                writeln!(
                    out,
                    "(RATE: change per second of DEPTH, PUBLISHED or QUEUED; PUBLISHER, \
                     SUBSCRIBERS, PRODUCERS, CONSUMERS: the live ones and their pids)"
                )?;
            }
            out.flush()
        })();
        result.map_err(stdout_failure)?;
        drop(out);
        if iterations.is_some_and(|n| frame >= n) {
            return Ok(());
        }
        std::thread::sleep(interval);
    }
}
