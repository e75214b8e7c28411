//! Output helpers: hexadecimal, input data, failures with exit codes, progress, tables.

use std::fmt;
use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

use posix_ipc::{ErrorKind, ObjectKind};

use crate::EXIT_USAGE;
use crate::{ProgressMode, EXIT_BUSY, EXIT_EXISTS, EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_PERMISSION};

/// Why a command failed: printed as one line on stderr, with an exit code.
#[derive(Debug)]
pub enum Failure {
    /// The library refused; its `Display` names the object, the operation and the cause.
    Ipc {
        /// The error.
        error: posix_ipc::Error,
        /// What had been done before it, if anything.
        context: Option<String>,
    },
    /// A mistake in the arguments that the library never saw.
    Usage(String),
    /// Something else (I/O on stdin or stdout).
    Other(String),
    /// Failures already reported on stderr, one line each; only the exit code is left.
    Reported(u8),
}

impl Failure {
    /// Adds what had been done before the error.
    pub fn with_context(self, context: String) -> Failure {
        match self {
            Failure::Ipc { error, .. } => Failure::Ipc {
                error,
                context: Some(context),
            },
            other => other,
        }
    }

    /// The exit code (see `--help`).
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Other(_) => EXIT_FAILURE,
            Failure::Reported(code) => *code,
            Failure::Ipc { error, .. } => match error.kind() {
                ErrorKind::NotFound => EXIT_NOT_FOUND,
                ErrorKind::PermissionDenied => EXIT_PERMISSION,
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::NotificationBusy => {
                    EXIT_BUSY
                }
                ErrorKind::AlreadyExists => EXIT_EXISTS,
                ErrorKind::InvalidName
                | ErrorKind::InvalidArgument
                | ErrorKind::MessageTooLarge
                | ErrorKind::Mismatch => EXIT_USAGE,
                _ => EXIT_FAILURE,
            },
        }
    }
}

fn command_word(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Semaphore => "sem",
        ObjectKind::SharedMemory => "shm",
        _ => "mq",
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(s) | Failure::Other(s) => f.write_str(s),
            Failure::Reported(_) => Ok(()),
            Failure::Ipc { error, context } => {
                write!(f, "{error}")?;
                if let Some(context) = context {
                    write!(f, " ({context})")?;
                }
                let name = error.name().unwrap_or("NAME");
                let kind = error.object().kind;
                let word = command_word(kind);
                match error.kind() {
                    ErrorKind::NotFound if kind == ObjectKind::Topic => write!(
                        f,
                        "; see the topics with `posix-ipc topic list`, or give --wait SECONDS to \
                         wait for its publisher to create it"
                    ),
                    ErrorKind::TimedOut if kind == ObjectKind::Topic => {
                        write!(f, "; give a longer --wait")
                    }
                    ErrorKind::NotFound => write!(
                        f,
                        "; see what exists with `posix-ipc ls`, or create it with `posix-ipc \
                         {word} create {name}`"
                    ),
                    ErrorKind::PermissionDenied => write!(
                        f,
                        "; see its owner and mode with `posix-ipc ls`, and run as its owner (or \
                         root)"
                    ),
                    ErrorKind::AlreadyExists => write!(
                        f,
                        "; use it as it is, pick another name, or remove it first with \
                         `posix-ipc {word} rm {name}`"
                    ),
                    ErrorKind::TimedOut | ErrorKind::WouldBlock => {
                        write!(
                            f,
                            "; give a longer --timeout, or none to wait without limit"
                        )
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

impl From<posix_ipc::Error> for Failure {
    fn from(error: posix_ipc::Error) -> Failure {
        Failure::Ipc {
            error,
            context: None,
        }
    }
}

/// Maps an error writing to stdout.
pub fn stdout_failure(e: io::Error) -> Failure {
    Failure::Other(format!("cannot write to stdout: {e}"))
}

/// Bytes as lowercase hexadecimal.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Hexadecimal to bytes; whitespace is ignored, case does not matter.
pub fn from_hex(text: &str) -> Result<Vec<u8>, Failure> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bad = || {
        Failure::Usage(format!(
            "--hex data must be an even number of hexadecimal digits (like 00ff10), not {:?}",
            text.trim()
        ))
    };
    if digits.len() % 2 != 0 {
        return Err(bad());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).map_err(|_| bad())?;
            u8::from_str_radix(s, 16).map_err(|_| bad())
        })
        .collect()
}

/// The bytes of a DATA argument: `-` reads stdin; `hex` decodes hexadecimal.
pub fn input_data(data: &str, hex: bool) -> Result<Vec<u8>, Failure> {
    let raw = if data == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::Other(format!("cannot read stdin: {e}")))?;
        buf
    } else {
        data.as_bytes().to_vec()
    };
    if hex {
        from_hex(&String::from_utf8_lossy(&raw))
    } else {
        Ok(raw)
    }
}

/// A progress line on stderr for long operations, redrawn at most ten times a second.
pub struct Progress {
    enabled: bool,
    label: String,
    total: u64,
    start: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// Progress of `total` steps, shown if `mode` says so (auto: stderr is a terminal) and
    /// there is more than one step.
    pub fn new(mode: ProgressMode, label: String, total: u64) -> Progress {
        let enabled = total > 1
            && match mode {
                ProgressMode::Always => true,
                ProgressMode::Never => false,
                ProgressMode::Auto => io::stderr().is_terminal(),
            };
        Progress {
            enabled,
            label,
            total,
            start: Instant::now(),
            last: None,
        }
    }

    fn draw(&mut self, done: u64) {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
        let mut err = io::stderr().lock();
        let _ = write!(
            err,
            "\r{}: {done}/{} messages ({rate:.0}/s)\x1b[K",
            self.label, self.total
        );
        let _ = err.flush();
        self.last = Some(Instant::now());
    }

    /// Reports `done` steps finished.
    pub fn tick(&mut self, done: u64) {
        if self.enabled
            && self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
        {
            self.draw(done);
        }
    }

    /// Draws the final count and ends the line.
    pub fn finish(&mut self, done: u64) {
        if self.enabled {
            self.draw(done);
            eprintln!();
        }
    }
}

/// Prints rows as left-aligned columns (the last column unpadded).
pub fn print_table(out: &mut impl Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
