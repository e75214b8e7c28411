//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

/// What went wrong while setting up or running the bridge, and on which object.
///
/// Each variant keeps Zenoh's own error as its [`source`](std::error::Error::source), so a
/// program that prints the whole chain shows Zenoh's reason after ours.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The Zenoh configuration file could not be read or was refused by Zenoh's loader.
    ConfigFile {
        /// The file given as `--zenoh-config`.
        path: PathBuf,
        /// Zenoh's reason (missing file, JSON5/YAML syntax, an unknown or invalid key).
        source: zenoh::Error,
    },
    /// Zenoh refused a setting we apply on top of the configuration, such as an endpoint
    /// that does not parse (`tcp/127.0.0.1:7447` is the expected shape).
    Setting {
        /// The configuration key, such as `listen/endpoints`.
        key: &'static str,
        /// The JSON5 value we tried to set.
        value: String,
        /// Zenoh's reason.
        source: zenoh::Error,
    },
    /// `zenoh::open` failed: typically a listen endpoint whose port is taken or whose
    /// transport is not compiled in (`tls/...` needs this crate's `tls` feature), or a
    /// connection that the configuration requires (`connect/exit_on_failure`) failed, such
    /// as a TLS handshake with a server whose certificate is not trusted.
    Open {
        /// Zenoh's reason.
        source: zenoh::Error,
    },
    /// A Zenoh declaration or put of the bridge failed.
    Zenoh {
        /// What the bridge was doing, naming the topic.
        what: String,
        /// Zenoh's reason.
        source: zenoh::Error,
    },
    /// A local topic could not be opened, made or used.
    Topic {
        /// The topic's name.
        name: String,
        /// The core's error: the object, the operation and the limit.
        source: posix_ipc_core::Error,
    },
    /// The far side sent something that is not what this bridge speaks (see
    /// [`format`](mod@crate::format)), or a topic was refused; the message says which.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConfigFile { path, .. } => write!(
                f,
                "cannot load the Zenoh configuration file {}: check that it exists and is \
                 valid JSON5 or YAML with a .json5, .json, .yaml or .yml extension",
                path.display()
            ),
            Error::Setting { key, value, .. } => write!(
                f,
                "Zenoh refused {value} for the configuration key {key}: endpoints look like \
                 tcp/127.0.0.1:7447 or tcp/[::1]:7447"
            ),
            Error::Zenoh { what, .. } => write!(f, "Zenoh failed while {what}"),
            Error::Topic { name, source } => write!(f, "topic {name}: {source}"),
            Error::Protocol(why) => write!(f, "{why}"),
            Error::Open { .. } => write!(
                f,
                "cannot open the Zenoh session: a listen endpoint may be taken or of a \
                 transport not built in, or a connection the configuration requires failed"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ConfigFile { source, .. }
            | Error::Setting { source, .. }
            | Error::Open { source }
            | Error::Zenoh { source, .. } => Some(source.as_ref()),
            Error::Topic { source, .. } => Some(source),
            Error::Protocol(_) => None,
        }
    }
}
