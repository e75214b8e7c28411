//! `posix-ipc`: the `ipcs`/`ipcrm` that Linux lacks for POSIX objects. Lists, inspects,
//! creates, uses and removes named semaphores, shared-memory segments and message queues, the
//! very objects Python's `posix_ipc`, C programs and the `posix-ipc` crate share.
//!
//! Built on the public API of the `posix-ipc` crate only. Run `posix-ipc --help` for the
//! commands and the exit codes.

mod commands;
mod objects;
mod output;
mod record;
mod topic;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, shown at the end of `--help` and in the README.
const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (a system limit, no space, an I/O error)
  2  bad usage: unknown option, malformed name, bad hex, argument out of range
  3  not found: no object has that name
  4  permission denied: the object's owner or mode does not allow it
  5  busy or timed out: --timeout expired, or the call would block with --timeout 0
  6  already exists: create of a name that is taken

Names may be given with or without the leading slash (`q` and `/q` are the same object).";

/// Exit code: any other failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad usage (clap's own code for usage errors, kept for ours).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: no object has that name.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: permission denied.
pub const EXIT_PERMISSION: u8 = 4;
/// Exit code: busy or timed out.
pub const EXIT_BUSY: u8 = 5;
/// Exit code: the name is taken.
pub const EXIT_EXISTS: u8 = 6;

/// POSIX semaphores, shared memory and message queues from the shell: the `ipcs`/`ipcrm` of
/// POSIX IPC.
#[derive(Debug, Parser)]
#[command(name = "posix-ipc", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// Print nothing for commands that only change state (create, send, post, rm, ...).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Platform support (posix_ipc's constants) and the live system limits.
    Limits {
        /// One JSON object; the constants under their posix_ipc names.
        #[arg(long)]
        json: bool,
    },
    /// List every shared-memory segment, semaphore and message queue visible to this user:
    /// kind (posix-ipc rings, shared structs, robust mutexes and typed-queue companions by
    /// name), size or depth, and whether a live process holds it (STATE: in use or stale).
    Ls {
        /// One JSON array of objects.
        #[arg(long)]
        json: bool,
        /// Only names starting with this prefix.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
        /// Also show which processes hold each object (pid and command).
        #[arg(long)]
        holders: bool,
    },
    /// Message queues: create, send, recv, info, rm.
    #[command(subcommand)]
    Mq(MqCommand),
    /// Named semaphores: create, post, wait, value, rm.
    #[command(subcommand)]
    Sem(SemCommand),
    /// Shared-memory segments: create, write, read, info, rm.
    #[command(subcommand)]
    Shm(ShmCommand),
    /// Publish-subscribe topics: list them, echo their samples decoded field by field, measure
    /// their rate (like `ros2 topic list/echo/hz`).
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Record the topics whose names match the patterns (new ones too) to an MCAP file:
    /// ros2msg schemas and CDR messages that Foxglove and the mcap libraries read. Ctrl-C or
    /// SIGTERM finish the file; a progress line on a terminal.
    #[command(after_help = RECORD_NOTES)]
    Record {
        /// The MCAP file to write.
        #[arg(short, long, value_name = "FILE")]
        output: std::path::PathBuf,
        /// Glob patterns of topic names (`*` any run, `?` one character).
        #[arg(required = true, value_name = "PATTERN")]
        patterns: Vec<String>,
        /// Stop after this many seconds.
        #[arg(long, value_name = "S")]
        seconds: Option<f64>,
        /// How chunks are compressed.
        #[arg(long, value_enum, default_value_t = CompressionArg::None)]
        compression: CompressionArg,
    },
    /// Replay an MCAP recording: make (or take over) the recorded topics and republish their
    /// samples with the recorded timing. Ctrl-C stops it; the topics it made are removed.
    Replay {
        /// The MCAP file.
        file: std::path::PathBuf,
        /// Speed (2 is twice as fast as recorded).
        #[arg(long, default_value_t = 1.0, value_name = "X")]
        rate: f64,
        /// Start again at the end, until Ctrl-C.
        #[arg(long = "loop")]
        looping: bool,
        /// Only the topics matching these glob patterns.
        #[arg(long, num_args = 1.., value_name = "PATTERN")]
        topics: Vec<String>,
        /// Publish what was recorded on FROM on TO instead (repeatable).
        #[arg(long, value_name = "FROM=TO")]
        remap: Vec<String>,
        /// Skip what was published less than S seconds after the recording's first sample.
        #[arg(long, value_name = "S")]
        start: Option<f64>,
        /// Stop at what was published S seconds after the recording's first sample.
        #[arg(long, value_name = "S")]
        end: Option<f64>,
    },
    /// Remove every object whose name starts with a prefix, or (--stale) the objects that no
    /// live process holds, saying why each is stale.
    Clean {
        /// The name prefix (the leading slash is optional); must name more than "/" unless
        /// --stale is given.
        #[arg(long, value_name = "P", required_unless_present = "stale")]
        prefix: Option<String>,
        /// Remove only leftovers: objects no live process has open or mapped (and, for
        /// posix-ipc segments, whose peer tables name no live process).
        #[arg(long)]
        stale: bool,
        /// With --stale: also other users' objects (default: only this user's).
        #[arg(long, requires = "stale")]
        all_users: bool,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// A live view of the message queues (depth, bytes, rate), topics (samples published,
    /// rate, publisher, live subscribers) and rings (messages queued, rate, producers,
    /// consumers), refreshed until Ctrl-C or --iterations.
    Watch {
        /// Seconds between refreshes.
        #[arg(long, default_value_t = 1.0, value_name = "SECS")]
        interval: f64,
        /// Stop after this many refreshes.
        #[arg(long, value_name = "N")]
        iterations: Option<u64>,
        /// Only queues, topics and rings whose names start with this prefix.
        #[arg(long, value_name = "P")]
        prefix: Option<String>,
    },
}

/// When to show progress of long operations on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressMode {
    /// When stderr is a terminal.
    Auto,
    /// Always (even into a pipe).
    Always,
    /// Never.
    Never,
}

/// Options for creating an object.
#[derive(Debug, Args)]
pub struct ModeArg {
    /// Permission bits in octal, for example 600 or 0o644 (the umask applies).
    #[arg(long, default_value = "600", value_parser = parse_mode, value_name = "OCTAL")]
    pub mode: u32,
}

/// `posix-ipc mq ...`
#[derive(Debug, Subcommand)]
pub enum MqCommand {
    /// Create a new queue (fails if the name is taken).
    Create {
        /// Queue name.
        name: String,
        /// Capacity in messages (default: the system's fs.mqueue.msg_default).
        #[arg(long, value_name = "N")]
        max_messages: Option<usize>,
        /// Largest message in bytes (default: fs.mqueue.msgsize_default).
        #[arg(long, value_name = "N")]
        max_message_size: Option<usize>,
        /// Permission bits of the new object.
        #[command(flatten)]
        mode: ModeArg,
    },
    /// Send one message.
    Send {
        /// Queue name.
        name: String,
        /// The message; `-` reads it from stdin.
        data: String,
        /// Priority, 0 to 32767 (higher is received first).
        #[arg(long, short, default_value_t = 0)]
        priority: u32,
        /// Seconds to wait while the queue is full (0: fail at once; default: wait forever).
        #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
        timeout: Option<f64>,
        /// DATA (or stdin) is hexadecimal, for example 00ff10.
        #[arg(long)]
        hex: bool,
    },
    /// Receive messages and print them, one a line.
    Recv {
        /// Queue name.
        name: String,
        /// How many messages to receive.
        #[arg(long, short = 'n', default_value_t = 1, value_name = "N")]
        count: u64,
        /// Seconds to wait for each message (0: fail at once if empty; default: forever).
        #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
        timeout: Option<f64>,
        /// One JSON object a line: priority, len, text (when UTF-8), hex.
        #[arg(long, conflicts_with = "hex")]
        json: bool,
        /// Print each message in hexadecimal.
        #[arg(long)]
        hex: bool,
        /// Progress on stderr for --count above 1.
        #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
        progress: ProgressMode,
    },
    /// Show a queue's attributes, depth, mode and owner.
    Info {
        /// Queue name.
        name: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Remove a queue's name.
    Rm {
        /// Queue name.
        name: String,
    },
}

/// `posix-ipc sem ...`
#[derive(Debug, Subcommand)]
pub enum SemCommand {
    /// Create a new semaphore (fails if the name is taken).
    Create {
        /// Semaphore name.
        name: String,
        /// Initial value.
        #[arg(long, default_value_t = 0)]
        value: u32,
        /// Permission bits of the new object.
        #[command(flatten)]
        mode: ModeArg,
    },
    /// Add one to the value (sem_post).
    Post {
        /// Semaphore name.
        name: String,
    },
    /// Take one from the value, waiting while it is 0 (sem_wait).
    Wait {
        /// Semaphore name.
        name: String,
        /// Seconds to wait (0: fail at once; default: wait forever).
        #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
        timeout: Option<f64>,
    },
    /// Print the current value.
    Value {
        /// Semaphore name.
        name: String,
    },
    /// Remove a semaphore's name.
    Rm {
        /// Semaphore name.
        name: String,
    },
}

/// `posix-ipc shm ...`
#[derive(Debug, Subcommand)]
pub enum ShmCommand {
    /// Create a new segment of SIZE zero bytes (fails if the name is taken).
    Create {
        /// Segment name.
        name: String,
        /// Size in bytes.
        #[arg(long, value_name = "N")]
        size: u64,
        /// Permission bits of the new object.
        #[command(flatten)]
        mode: ModeArg,
    },
    /// Copy bytes into the segment.
    Write {
        /// Segment name.
        name: String,
        /// The bytes; `-` reads them from stdin.
        data: String,
        /// Where to write.
        #[arg(long, default_value_t = 0, value_name = "N")]
        offset: u64,
        /// DATA (or stdin) is hexadecimal.
        #[arg(long)]
        hex: bool,
    },
    /// Copy bytes out of the segment to stdout (raw, or hex with --hex).
    Read {
        /// Segment name.
        name: String,
        /// Where to start.
        #[arg(long, default_value_t = 0, value_name = "N")]
        offset: u64,
        /// How many bytes (default: to the end).
        #[arg(long, value_name = "N")]
        len: Option<u64>,
        /// Print hexadecimal and a newline.
        #[arg(long)]
        hex: bool,
    },
    /// Show a segment's size, mode and owner.
    Info {
        /// Segment name.
        name: String,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Remove a segment's name.
    Rm {
        /// Segment name.
        name: String,
    },
}

/// How `topic echo` and `topic hz` wait for a topic that does not exist yet.
#[derive(Debug, Args)]
pub struct WaitArg {
    /// Wait up to this many seconds for the topic to be created (its publisher may start
    /// later); default: fail at once if it does not exist.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<f64>,
}

/// `posix-ipc topic ...`
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// List the topics: sample type (or largest frame and header type), policy, samples kept,
    /// publisher, live subscribers, samples published, and the bytes the segment reserves and
    /// holds in memory now (RESIDENT: st_blocks x 512 of its file in /dev/shm).
    #[command(after_help = TOPIC_LIST_NOTES)]
    List {
        /// One JSON array of objects.
        #[arg(long)]
        json: bool,
        /// Only topics whose names start with this prefix (the leading slash is optional).
        prefix: Option<String>,
    },
    /// Print each new sample of a topic, decoded field by field from the layout the topic
    /// stores, until Ctrl-C, --count or the publisher's end. Copies samples out: never holds
    /// the publisher back.
    #[command(after_help = TOPIC_ECHO_NOTES)]
    Echo {
        /// Topic name.
        name: String,
        /// Exit after this many samples.
        #[arg(long, short = 'n', value_name = "N")]
        count: Option<u64>,
        /// One JSON object a line (see below).
        #[arg(long)]
        json: bool,
        /// Waiting for the topic to exist.
        #[command(flatten)]
        wait: WaitArg,
        /// Go on with the next publisher when this one closes or dies (prints its generation)
        /// instead of exiting.
        #[arg(long)]
        follow: bool,
    },
    /// Measure a topic's rate: once a second the samples per second, the shortest and longest
    /// interval between samples and their standard deviation, and bytes per second over the
    /// last --window samples; a summary of the whole run at the end.
    #[command(after_help = TOPIC_HZ_NOTES)]
    Hz {
        /// Topic name.
        name: String,
        /// Stop after this many seconds (default: at Ctrl-C).
        #[arg(long, value_name = "S")]
        seconds: Option<f64>,
        /// Samples the once-a-second figures are computed over (the latest ones).
        #[arg(long, default_value_t = 10_000, value_name = "N")]
        window: usize,
        /// Waiting for the topic to exist.
        #[command(flatten)]
        wait: WaitArg,
    },
}

/// What `topic list --help` adds after the options.
const TOPIC_LIST_NOTES: &str = "\
PUBLISHER is the live publisher's pid, or `none live`. GEN (the publisher's generation) is `-`:
it is not readable without joining the topic yet.";

/// What `topic echo --help` adds after the options.
const TOPIC_ECHO_NOTES: &str = "\
Text output: `--- sample INDEX (generation G)`, then one `field: value` line per field. A frame
shows its header's fields (under `header:`), its length in bytes (without the header) and the
FNV-1a 64-bit hash of those bytes (`fnv1a64`). A topic that stores no layout shows the first 64
bytes of each sample in hexadecimal.

--json: one object a line. A sample: {\"index\", \"generation\", \"fields\"}; a frame adds \"len\"
and \"fnv1a64\" (\"fields\" holds its header's, or null); a topic without a stored layout has
\"hex\" instead of \"fields\". Events: {\"event\": \"lagged\", \"missed\": N}, {\"event\":
\"restarted\", \"generation\": G}, {\"event\": \"disconnected\"}.

Missed samples (the publisher overwrote them first) are reported and echo goes on; a restart
(--follow) is reported and echo goes on; the publisher's end is reported and echo exits 0.
Ctrl-C or SIGTERM stop it with exit 0 and a summary on stderr.";

/// How `record` compresses chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// Stored as they are (the fastest).
    None,
    /// Zstandard.
    Zstd,
    /// LZ4.
    Lz4,
}

/// What `record --help` adds after the options.
const RECORD_NOTES: &str = "\
Each topic is a channel whose schema is the ros2msg definition made from the layout the topic
stores (a frame topic: its header's fields, then uint8[] data) and whose messages are CDR;
log_time is when it was received, publish_time when it was published, sequence the sample's
index. Gaps (samples missed) and restarts are messages on /posix-ipc/events and totals in a
metadata record at the end, and in the summary on stderr. Chunks are written out every second:
a recorder killed with kill -9 leaves a file readable up to its last complete chunk.";

/// What `topic hz --help` adds after the options.
const TOPIC_HZ_NOTES: &str = "\
Each line: rate (samples/s), min, max and standard deviation of the interval between samples,
bytes per second (a record's size, or a frame's length plus its header's size), over the latest
--window samples as they arrived here. The summary covers every sample received. Ctrl-C or
SIGTERM end the run early with the summary, exit 0.";

fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(format!(
            "{s:?} is not an octal mode between 0 and 7777 (for example 600 or 0o644)"
        )),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !matches!(failure, output::Failure::Reported(_)) {
                eprintln!("posix-ipc: {failure}");
            }
            ExitCode::from(failure.code())
        }
    }
}
