//! The topic segment and its protocol on bytes: [`Topic`] (the mapped segment), [`PubCore`]
//! (the publisher's side) and [`SubCore`] (a subscriber's side). The typed and frame ends wrap
//! these. The layout and the protocol are described in the parent module's documentation.

use super::{Policy, TopicOptions, PUBSUB_MAGIC, PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION};

mod describe;
mod layout;
mod publish;
mod segment;
mod sinks;
mod subscribe;

pub(crate) use describe::*;
pub(crate) use layout::*;
pub(crate) use publish::*;
pub(crate) use segment::*;
pub(in crate::typed::pubsub) use sinks::*;
pub(crate) use subscribe::*;
