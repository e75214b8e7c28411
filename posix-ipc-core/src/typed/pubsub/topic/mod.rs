//! The topic segment and its protocol on bytes: [`Topic`] (the mapped segment), [`PubCore`]
//! (the publisher's side) and [`SubCore`] (a subscriber's side). The typed and frame ends wrap
//! these. The layout and the protocol are described in the parent module's documentation.

use super::{
    Policy, TopicOptions, FRAME_CAPACITY_DEFAULT, FRAME_SUBSCRIBERS_DEFAULT, PUBSUB_MAGIC,
    PUBSUB_MAX_SUBSCRIBERS, PUBSUB_VERSION, RECORD_CAPACITY_DEFAULT, RECORD_SUBSCRIBERS_DEFAULT,
};

mod describe;
mod layout;
mod publish;
mod segment;
mod sinks;
mod subscribe;
mod takeover;

pub(crate) use describe::*;
pub(crate) use layout::*;
pub(crate) use publish::*;
pub(crate) use segment::*;
pub(in crate::typed::pubsub) use sinks::*;
pub(crate) use subscribe::*;
pub(in crate::typed::pubsub) use takeover::*;
