//! Record posix-ipc topics to MCAP files that the tools robotics users already have read
//! (Foxglove, the `mcap` libraries, `mcap-ros2-support`), and replay them.
//!
//! A recording has one channel per topic, whose schema is the `ros2msg` definition generated
//! from the layout the topic stores ([`ros2`]) and whose messages are CDR; the channel's
//! metadata holds what makes the topic again (type name, fingerprint, policy, capacity,
//! maximum frame length, layout). Each message's `log_time` is when the recorder received it,
//! its `publish_time` when it was published (both Unix-epoch nanoseconds), its `sequence` the
//! sample's index on the topic (modulo 2³²). A gap is never silent: it is a message on the
//! channel `/posix-ipc/events` (`kind` `lagged` and the count missed, or `restarted` and the
//! new generation), and the totals of each topic are a metadata record, `posix-ipc
//! recording`, at the end.
//!
//! `posix-ipc record` and `posix-ipc replay` are [`record::record`] and [`replay::replay`].

pub mod channel;
mod error;
pub mod record;
pub mod replay;
pub mod ros2;

pub use error::Error;
pub use record::{record, Compression, Progress, RecordConfig, Summary, TopicTotals};
pub use replay::{replay, ReplayConfig, ReplaySummary};
