//! The errors of recording and replaying.

use std::path::PathBuf;

/// What went wrong, naming the file (and the offset, the topic) where it did.
#[derive(Debug)]
pub enum Error {
    /// The file could not be created, opened, read or written.
    Io {
        /// The file.
        file: PathBuf,
        /// What was being done.
        what: String,
        /// The system's error.
        source: std::io::Error,
    },
    /// Writing the MCAP file failed (a full disk, most often): what was written before stays
    /// readable up to its last complete chunk.
    Write {
        /// The file.
        file: PathBuf,
        /// Its size when the write failed.
        offset: u64,
        /// What was being written.
        what: String,
        /// The MCAP writer's error.
        source: mcap::McapError,
    },
    /// The file is not a readable MCAP recording (truncated, corrupt, of another format).
    Read {
        /// The file.
        file: PathBuf,
        /// Bytes read when the error was met: the fault is before it.
        offset: u64,
        /// What the reader said.
        why: String,
    },
    /// A recorded topic cannot be replayed: an unknown encoding, metadata that does not parse,
    /// a message that is not of its schema, a local topic of another type.
    Topic {
        /// The file.
        file: PathBuf,
        /// The topic.
        topic: String,
        /// Bytes read when it was met.
        offset: u64,
        /// Why.
        why: String,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { file, what, source } => {
                write!(f, "{}: {what}: {source}", file.display())
            }
            Error::Write {
                file,
                offset,
                what,
                source,
            } => {
                // The MCAP writer's message is general ("I/O error from writing"): the system's
                // error under it says which (a full disk: "No space left on device").
                let cause = std::error::Error::source(source)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "{}: writing {what} at byte {offset} failed: {source}{cause} (what was \
                     written before is readable up to its last complete chunk)",
                    file.display()
                )
            }
            Error::Read { file, offset, why } => write!(
                f,
                "{}: not a readable MCAP recording (at or before byte {offset}): {why}",
                file.display()
            ),
            Error::Topic {
                file,
                topic,
                offset,
                why,
            } => write!(
                f,
                "{}: topic {topic} (at or before byte {offset}): {why}",
                file.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}
