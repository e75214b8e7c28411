//! The opt-in check of who owns an object and what its permission bits allow
//! (`verify_owner`, `verify_mode`, `verify_private` on the three option builders).
//!
//! Exclusive creation (`create_new`) already guarantees an object nobody else made. When a
//! program must *open* an object made by a peer, these checks refuse one that a third user
//! pre-created under the expected name (a classic squatting attack on `/dev/shm`) or made
//! readable or writable by others. They inspect the object actually opened (`fstat` of its
//! descriptor; for a semaphore, the file behind its mapping), not the name, so swapping the
//! name between the check and the use gains nothing.

use crate::error::{Error, ErrorKind, Object, Operation, Result};

/// What an opened object must satisfy. Empty (the default) checks nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Verify {
    owner: Option<u32>,
    allowed_mode: Option<u32>,
}

impl Verify {
    pub(crate) fn owner(&mut self, uid: u32) {
        self.owner = Some(uid);
    }

    pub(crate) fn mode(&mut self, allowed: u32) {
        self.allowed_mode = Some(allowed & 0o7777);
    }

    /// Owned by this process's effective user, and no access for group or others.
    pub(crate) fn private(&mut self) {
        self.owner(crate::sys::effective_uid());
        self.mode(0o600);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.owner.is_none() && self.allowed_mode.is_none()
    }

    /// Checks an object's owner and permission bits, as read from the opened object.
    pub(crate) fn check(&self, uid: u32, mode: u32, object: Object, op: Operation) -> Result<()> {
        if let Some(want) = self.owner {
            if uid != want {
                return Err(Error::new(
                    ErrorKind::Untrusted,
                    op,
                    object,
                    format!(
                        "it is owned by uid {uid}, but verify_owner requires uid {want}: \
                         another user created it (perhaps before your program did, to \
                         intercept its data); remove it if you did not expect this, or create \
                         it yourself with create_new"
                    ),
                ));
            }
        }
        if let Some(allowed) = self.allowed_mode {
            let extra = mode & 0o7777 & !allowed;
            if extra != 0 {
                return Err(Error::new(
                    ErrorKind::Untrusted,
                    op,
                    object,
                    format!(
                        "its mode {:04o} grants {extra:04o} beyond the {allowed:04o} that \
                         verify_mode allows: its creator made it accessible to more users; \
                         have it created with mode({:04o}) (and mind the umask), or widen the \
                         check",
                        mode & 0o7777,
                        mode & allowed & 0o7777
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The three builder methods, documented once for the semaphore, segment and queue options
/// (each has a `verify: Verify` field).
macro_rules! verify_methods {
    ($what:literal) => {
        #[doc = concat!("Refuse the ", $what, " unless it is owned by user `uid`.")]
        ///
        /// Checked on the object actually opened (its descriptor or mapping, not its name)
        /// before it is returned or resized; a failure is
        /// [`ErrorKind::Untrusted`](crate::ErrorKind::Untrusted). An object this call creates
        /// is checked the same way and removed again if it fails. See also
        /// [`verify_private`](Self::verify_private).
        pub fn verify_owner(&mut self, uid: u32) -> &mut Self {
            self.verify.owner(uid);
            self
        }

        #[doc = concat!("Refuse the ", $what, " if its permission bits grant anything outside `allowed`.")]
        ///
        /// `verify_mode(0o600)` refuses an object that group or others may read or write;
        /// `verify_mode(0o660)` allows the group too. Checked like
        /// [`verify_owner`](Self::verify_owner) (a created object has the requested mode minus
        /// the umask).
        pub fn verify_mode(&mut self, allowed: u32) -> &mut Self {
            self.verify.mode(allowed);
            self
        }

        #[doc = concat!("Refuse the ", $what, " unless this process's effective user owns it and nobody else may access it.")]
        ///
        /// The same as `verify_owner(geteuid())` plus `verify_mode(0o600)`: what a program that
        /// shares objects only with its own user's processes should ask for when it opens one
        /// another process made.
        pub fn verify_private(&mut self) -> &mut Self {
            self.verify.private();
            self
        }
    };
}

pub(crate) use verify_methods;
