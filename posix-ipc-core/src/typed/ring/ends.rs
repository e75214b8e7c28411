//! What both typed ends share, by one macro.

use super::*;

/// The methods both ends have: ownership, cancellation, clones and what describes the ring.
macro_rules! ring_end_methods {
    ($end:ident, $what:literal) => {
        impl<T> $end<T> {
            /// Attaches a [`CancelToken`]: a call that waits (spinning, then sleeping on the
            /// ring's futex) ends with [`ErrorKind::Cancelled`] as soon as the token is
            /// cancelled (the token wakes the futex). Replaces an earlier token.
            pub fn with_cancel(mut self, token: &CancelToken) -> Self {
                self.cancel = Some(token.clone());
                self
            }

            #[doc = concat!("Another ", $what, " on the same ring, with its own registration (the ring counts it as one more ", $what, ") and the same token. Only an MPMC ring admits several.")]
            ///
            /// # Errors
            ///
            #[doc = concat!("[`ErrorKind::AlreadyExists`] for an SPSC ring; [`ErrorKind::LimitExceeded`] if the ring already has 32 live ", $what, "s or the process has no descriptor left.")]
            pub fn try_clone(&self) -> Result<Self> {
                let mut clone = Self::with(self.ring.try_clone()?)?;
                clone.cancel = self.cancel.clone();
                Ok(clone)
            }

            /// Whether this handle created the ring.
            pub fn created(&self) -> bool {
                self.ring.shm.created()
            }

            /// The ring's capacity in messages.
            pub fn capacity(&self) -> usize {
                self.ring.capacity as usize
            }

            /// The ring's mode.
            pub fn mode(&self) -> RingMode {
                self.ring.mode
            }

            /// The full layout of the message type that the ring stores (field names, offsets,
            /// kinds, counts, nested structs), for decoding its messages without the Rust type,
            /// as `posix-ipc shm info` does: see the segment layout in the
            /// [module docs](super). Read from the segment at each call.
            ///
            /// `None` if the ring stores none: made by a [`RecordSender`] or [`RecordReceiver`]
            /// (a [`RecordType`] has no layout) or by an earlier release, or its description
            /// is invalid or not of the fingerprint the header records.
            pub fn layout(&self) -> Option<crate::typed::LayoutDesc> {
                stored_layout_of(&self.ring.shm)
            }

            /// The segment's name.
            pub fn name(&self) -> &str {
                self.ring.shm.name()
            }

            /// Owner, mode and size of the segment, from `fstat` of the descriptor this handle
            /// holds (so they describe the object in use, even if its name was since given to
            /// another). Check who made a segment before trusting it with
            /// [`SegmentStat::is_private`](crate::SegmentStat::is_private) or the `uid`/`mode`
            /// fields.
            pub fn stat(&self) -> Result<crate::SegmentStat> {
                self.ring.shm.stat().map_err(as_ring)
            }

            /// Removes the segment's name; connected peers keep working.
            pub fn unlink(&self) -> Result<()> {
                self.ring.shm.unlink().map_err(as_ring)
            }
        }

        impl<T: IpcMessage> crate::owned::sealed::Sealed for $end<T> {}
        impl<T: IpcMessage> crate::owned::Removable for $end<T> {
            fn created_object(&self) -> bool {
                self.ring.shm.created()
            }
            fn owned_names(&self) -> Vec<crate::owned::OwnedName> {
                crate::owned::Removable::owned_names(&self.ring.shm)
            }
        }
    };
}

ring_end_methods!(RingSender, "producer");
ring_end_methods!(RingReceiver, "consumer");
