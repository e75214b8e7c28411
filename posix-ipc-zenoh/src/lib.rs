//! Bridge posix-ipc topics between machines over [Zenoh](https://zenoh.io): the library that
//! the `posix-ipc-bridge` binary is built on, for programs that embed the bridge.
//!
//! This release has the groundwork: [`session::open`] opens the Zenoh session the bridge runs
//! on (peer mode, no scouting unless asked, endpoints as given) and [`Error`] says what failed.
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
