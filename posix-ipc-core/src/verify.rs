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

/// Which user must own the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// This user id.
    Uid(u32),
    /// This process's effective user id at the time of the check (`verify_private`).
    Me,
}

/// What an opened object must satisfy. Empty (the default) checks nothing. Each part
/// remembers which builder method set it, for the error message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Verify {
    owner: Option<(Owner, &'static str)>,
    allowed_mode: Option<(u32, &'static str)>,
}

impl Verify {
    pub(crate) fn owner(&mut self, uid: u32) {
        self.owner = Some((Owner::Uid(uid), "verify_owner"));
    }

    pub(crate) fn mode(&mut self, allowed: u32) {
        self.allowed_mode = Some((allowed & 0o7777, "verify_mode"));
    }

    /// Owned by this process's effective user, and no access for group or others.
    pub(crate) fn private(&mut self) {
        self.owner = Some((Owner::Me, "verify_private"));
        self.allowed_mode = Some((0o600, "verify_private"));
    }

    /// The operation to name in an error: creating, if this call created the object.
    pub(crate) fn operation(created: bool) -> Operation {
        if created {
            Operation::Create
        } else {
            Operation::Open
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.owner.is_none() && self.allowed_mode.is_none()
    }

    /// Checks an object's owner and permission bits, as read from the opened object.
    /// `created`: this call created it (the message then says so, and that it is removed).
    pub(crate) fn check(
        &self,
        uid: u32,
        mode: u32,
        object: Object,
        op: Operation,
        created: bool,
    ) -> Result<()> {
        let untrusted =
            |detail: String| Err(Error::new(ErrorKind::Untrusted, op, object.clone(), detail));
        if let Some((owner, by)) = self.owner {
            let (want, whose) = match owner {
                Owner::Uid(uid) => (uid, ""),
                Owner::Me => (
                    crate::sys::effective_uid(),
                    " (this process's effective user)",
                ),
            };
            if uid != want {
                return untrusted(if created {
                    format!(
                        "this call created it, so it is owned by uid {uid}, but {by} requires \
                         uid {want}{whose}; it was removed again"
                    )
                } else {
                    format!(
                        "it is owned by uid {uid}, but {by} requires uid {want}{whose}. If you \
                         did not expect that user, it may have taken the name before your \
                         program did, to intercept its data: remove it, or create the object \
                         yourself with create_new"
                    )
                });
            }
        }
        if let Some((allowed, by)) = self.allowed_mode {
            let mode = mode & 0o7777;
            let extra = mode & !allowed;
            if extra != 0 {
                let fix = mode & allowed;
                return untrusted(if created {
                    format!(
                        "this call created it with mode {mode:04o} (the requested mode minus \
                         the umask), which grants {extra:04o} beyond the {allowed:04o} that {by} \
                         allows; it was removed again: request mode({fix:04o}) or widen the \
                         check"
                    )
                } else {
                    format!(
                        "its mode {mode:04o} grants {extra:04o} beyond the {allowed:04o} that \
                         {by} allows: its creator made it accessible to more users; have it \
                         created with mode({fix:04o}), or widen the check"
                    )
                });
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
        /// Checked on the object actually opened, not on its name: `fstat` of its descriptor,
        /// or for a semaphore the file in `/dev/shm` matched by device and inode to the mapping
        /// that holds it (this needs `/proc/self/maps`). It is checked before the object is
        /// returned, resized or truncated; a failure is
        /// [`ErrorKind::Untrusted`](crate::ErrorKind::Untrusted), and leaves someone else's
        /// object as it was. An object this call creates is checked the same way and removed
        /// again if it fails. Replaces the owner part of an earlier
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
        /// the umask). Replaces the mode part of an earlier
        /// [`verify_private`](Self::verify_private).
        pub fn verify_mode(&mut self, allowed: u32) -> &mut Self {
            self.verify.mode(allowed);
            self
        }

        #[doc = concat!("Refuse the ", $what, " unless this process's effective user owns it and nobody else may access it.")]
        ///
        /// The same as `verify_owner(geteuid())` plus `verify_mode(0o600)`, with the effective
        /// user read when the object is opened: what a program that shares objects only with
        /// its own user's processes should ask for when it opens one another process made. A
        /// later `verify_owner` or `verify_mode` replaces the matching half.
        pub fn verify_private(&mut self) -> &mut Self {
            self.verify.private();
            self
        }
    };
}

pub(crate) use verify_methods;
