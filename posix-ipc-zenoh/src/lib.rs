//! Bridge posix-ipc topics between machines over [Zenoh](https://zenoh.io): the library that
//! the `posix-ipc-bridge` binary is built on, for programs that embed the bridge.
//!
//! - [`session::open`] opens the Zenoh session a bridge runs on (peer mode, no scouting
//!   unless asked, the endpoints given, a Zenoh configuration file for the rest);
//! - [`bridge::Bridge`] exports the local topics that match its patterns and imports remote
//!   ones as local topics of the same type, carrying publishers' lives and lost samples across
//!   (see its module documentation for what holds);
//! - [`format`](mod@format) documents what travels on Zenoh, for other programs;
//! - [`Error`] says what failed and on which object.
//!
//! # Features
//!
//! - `tls`: Zenoh's `tls/HOST:PORT` transport (rustls with ring). The certificates are set in
//!   a Zenoh configuration file ([`session::SessionConfig::config_file`]).

pub mod bridge;
mod error;
pub mod format;
pub mod session;

pub use error::Error;
