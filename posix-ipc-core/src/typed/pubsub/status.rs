//! [`TopicStatus`]: a topic's counters, readable while a sample or frame borrowed from a
//! subscriber is alive.

use std::sync::atomic::Ordering;

use super::topic::{Topic, TopicView};
use crate::error::Result;

/// A topic's state, read from its own mapping of the topic's control block: it borrows no
/// handle, so it can be read in any arm of a `match` on a receive's result while the
/// [`Sample`](super::Sample) or [`Frame`](super::Frame) borrows the subscriber.
///
/// ```
/// use std::time::Duration;
/// use posix_ipc::{ErrorKind, IpcMessage, Publisher, Subscriber, TopicOptions};
///
/// #[derive(Clone, Copy, IpcMessage)]
/// #[repr(C)]
/// struct Tick { n: u64 }
///
/// # let name = format!("/doc-status-{}", std::process::id());
/// let mut publisher = Publisher::<Tick>::create_owned(&name, &TopicOptions::new())?;
/// let mut sub = Subscriber::<Tick>::open(&name)?;
/// let status = sub.status()?;
/// publisher.send(&Tick { n: 1 })?;
/// match sub.recv_timeout(Duration::from_millis(10)) {
///     Ok(tick) => assert_eq!((tick.n, status.pending(), status.subscribers()), (1, 0, 1)),
///     Err(e) if e.kind() == ErrorKind::TimedOut => println!("{} subscribers", status.subscribers()),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), posix_ipc::Error>(())
/// ```
pub struct TopicStatus {
    view: TopicView,
    /// The subscriber entry whose cursor `pending` reads.
    entry: Option<usize>,
}

impl TopicStatus {
    pub(super) fn of(topic: &Topic, entry: Option<usize>) -> Result<TopicStatus> {
        Ok(TopicStatus {
            view: TopicView::map(topic)?,
            entry,
        })
    }

    /// Samples published on the topic so far.
    pub fn published(&self) -> u64 {
        self.view.tail()
    }

    /// Live subscribers that have joined (as the handles' `subscribers()`).
    pub fn subscribers(&self) -> usize {
        self.view.live_subscribers()
    }

    /// For a subscriber's status: samples published that it has not received yet (0 for a
    /// publisher's).
    pub fn pending(&self) -> u64 {
        match self.entry {
            Some(k) => {
                let cursor = self.view.cursor(k).load(Ordering::Acquire);
                self.view.tail().saturating_sub(cursor.saturating_sub(1))
            }
            None => 0,
        }
    }

    /// The most samples a live subscriber has yet to receive: 0 when every subscriber has
    /// received everything published (how a publisher, a test or a tool knows that its
    /// subscribers have caught up).
    pub fn most_pending(&self) -> u64 {
        self.view.most_pending()
    }

    /// Whether the topic has a live publisher now.
    pub fn publisher_alive(&self) -> bool {
        self.view.publisher_alive()
    }

    /// The generation of the topic's current (or last) publisher: 1 for the first, one more
    /// for each publisher that opened or took it over since.
    pub fn generation(&self) -> u64 {
        self.view.generation()
    }
}

impl std::fmt::Debug for TopicStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicStatus")
            .field("published", &self.published())
            .field("subscribers", &self.subscribers())
            .field("pending", &self.pending())
            .field("publisher_alive", &self.publisher_alive())
            .field("generation", &self.generation())
            .finish()
    }
}
