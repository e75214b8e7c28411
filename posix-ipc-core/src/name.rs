//! Validated object names.
//!
//! POSIX IPC names are `/` followed by up to `NAME_MAX` bytes without another slash. The rules
//! the kernel and glibc apply differ between the three kinds (a queue name without the slash is
//! `EINVAL`, a semaphore name without it is silently accepted; `"//q"` is `EACCES` for a queue and
//! aliases `"/q"` for a segment), so this module applies one rule to all three, **before any
//! system call**:
//!
//! - the leading slash is optional: `"q"` and `"/q"` are the same object, and
//!   [`name()`](crate::Semaphore::name) always reports `"/q"`;
//! - the rest must be non-empty, contain no `/` and no NUL byte, and not be `.` or `..`;
//! - it may be at most 255 bytes long (251 for a semaphore: glibc stores it as `sem.NAME` in
//!   `/dev/shm`, and `NAME_MAX` is 255);
//! - a shared-memory name may not start with `sem.`: it would be the file of the semaphore of the
//!   same name.
//!
//! Any other byte is accepted (posix_ipc accepts UTF-8 names such as `/résumé`).

use std::ffi::{CStr, CString};
use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};

/// Longest name body (after the slash) for shared memory and message queues: `NAME_MAX`.
pub const NAME_MAX: usize = 255;
/// Longest name body for a semaphore: `NAME_MAX` less the 4 bytes of glibc's `sem.` prefix.
pub const SEMAPHORE_NAME_MAX: usize = NAME_MAX - 4;

/// A validated, normalised name (`/` + body), ready to pass to the C library.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name {
    c: CString,
}

impl Name {
    /// Validates `name` for an object of `kind` and normalises it to start with one slash.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidName`] for an empty name, a `/` after the leading one, a NUL byte,
    /// `.` or `..`, a name longer than the kind's limit, or a shared-memory name starting with
    /// `sem.`. The error's operation is `operation`.
    pub fn new(kind: ObjectKind, name: &str, operation: Operation) -> Result<Name> {
        let body = name.strip_prefix('/').unwrap_or(name);
        let invalid = |detail: String| {
            Error::new(
                ErrorKind::InvalidName,
                operation,
                Object {
                    kind,
                    name: Some(name.to_owned()),
                },
                detail,
            )
        };
        if body.is_empty() {
            return Err(invalid(
                "the name is empty: it must be \"/\" followed by at least one character".into(),
            ));
        }
        if let Some(pos) = body.find('\0') {
            return Err(invalid(format!(
                "the name contains a NUL byte at position {}",
                pos + name.len() - body.len()
            )));
        }
        if body.contains('/') {
            return Err(invalid(
                "the name contains a slash after the leading one; POSIX IPC names are flat".into(),
            ));
        }
        if body == "." || body == ".." {
            return Err(invalid(format!("\"/{body}\" is a reserved name")));
        }
        let max = match kind {
            ObjectKind::Semaphore => SEMAPHORE_NAME_MAX,
            _ => NAME_MAX,
        };
        if body.len() > max {
            let why = match kind {
                ObjectKind::Semaphore => {
                    " (NAME_MAX 255 less the 4 bytes of glibc's \"sem.\" prefix)"
                }
                _ => " (NAME_MAX)",
            };
            return Err(invalid(format!(
                "the name is {} bytes long after the slash; a {kind} name may have at most \
                 {max}{why}",
                body.len()
            )));
        }
        if kind == ObjectKind::SharedMemory && body.starts_with("sem.") {
            return Err(invalid(
                "a shared-memory name may not start with \"sem.\": glibc keeps the semaphore \
                 of the same name in that file"
                    .into(),
            ));
        }
        let mut bytes = Vec::with_capacity(body.len() + 2);
        bytes.push(b'/');
        bytes.extend_from_slice(body.as_bytes());
        // The body was checked above to contain no NUL byte.
        let c = CString::new(bytes).map_err(|e| invalid(format!("{e}")))?;
        Ok(Name { c })
    }

    /// A random name for exclusive creation: `/` plus 5 to 12 lowercase letters, the format
    /// posix_ipc uses for `name=None`, drawn from the kernel's `getrandom`.
    pub(crate) fn random() -> Name {
        let mut raw = [0u8; 13];
        crate::sys::fill_random(&mut raw);
        let len = 5 + usize::from(raw[0] % 8);
        let mut bytes = Vec::with_capacity(len + 2);
        bytes.push(b'/');
        bytes.extend(raw[1..=len].iter().map(|b| b'a' + b % 26));
        // Only '/' and ASCII letters: no NUL.
        let c = CString::new(bytes).unwrap_or_default();
        Name { c }
    }

    /// The name as a C string, with its leading slash.
    pub fn as_c_str(&self) -> &CStr {
        &self.c
    }

    /// The name as text, with its leading slash.
    pub fn as_str(&self) -> &str {
        // Built from a &str plus an ASCII slash, or from ASCII letters: always UTF-8.
        self.c.to_str().unwrap_or("/")
    }

    pub(crate) fn object(&self, kind: ObjectKind) -> Object {
        Object {
            kind,
            name: Some(self.as_str().to_owned()),
        }
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where glibc keeps shared-memory segments and named semaphores.
pub const SHM_DIR: &str = "/dev/shm";
/// Where the mqueue filesystem is mounted by convention.
pub const MQUEUE_DIR: &str = "/dev/mqueue";

/// The file of a segment in [`SHM_DIR`].
pub(crate) fn segment_path(name: &Name) -> PathBuf {
    PathBuf::from(SHM_DIR).join(name.as_str().trim_start_matches('/'))
}

/// The file of a semaphore in [`SHM_DIR`] (`sem.NAME`).
pub(crate) fn semaphore_path(name: &Name) -> PathBuf {
    PathBuf::from(SHM_DIR).join(format!("sem.{}", name.as_str().trim_start_matches('/')))
}

/// The file of a queue in [`MQUEUE_DIR`] (there only where the mqueue filesystem is mounted).
pub(crate) fn queue_path(name: &Name) -> PathBuf {
    PathBuf::from(MQUEUE_DIR).join(name.as_str().trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: ObjectKind, name: &str) -> Result<Name> {
        Name::new(kind, name, Operation::Open)
    }

    #[test]
    fn leading_slash_is_optional_and_normalised() {
        let a = check(ObjectKind::MessageQueue, "q").unwrap();
        let b = check(ObjectKind::MessageQueue, "/q").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "/q");
    }

    #[test]
    fn malformed_names_are_rejected_before_any_syscall() {
        for bad in ["", "/", "//q", "/a/b", "/a/", "/.", "/..", "/a\0b", "\0"] {
            for kind in [
                ObjectKind::Semaphore,
                ObjectKind::SharedMemory,
                ObjectKind::MessageQueue,
            ] {
                let err = check(kind, bad).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidName, "{kind} {bad:?}");
                assert!(err.to_string().contains(&format!("{kind}")), "{err}");
            }
        }
    }

    #[test]
    fn length_limits_differ_per_kind() {
        let ok255 = format!("/{}", "a".repeat(255));
        let bad256 = format!("/{}", "a".repeat(256));
        let ok251 = format!("/{}", "a".repeat(251));
        let bad252 = format!("/{}", "a".repeat(252));
        assert!(check(ObjectKind::SharedMemory, &ok255).is_ok());
        assert!(check(ObjectKind::MessageQueue, &ok255).is_ok());
        assert!(check(ObjectKind::SharedMemory, &bad256).is_err());
        assert!(check(ObjectKind::Semaphore, &ok251).is_ok());
        let err = check(ObjectKind::Semaphore, &bad252).unwrap_err();
        assert!(err.to_string().contains("at most 251"), "{err}");
    }

    #[test]
    fn shared_memory_may_not_shadow_a_semaphore_file() {
        assert!(check(ObjectKind::SharedMemory, "/sem.x").is_err());
        assert!(check(ObjectKind::Semaphore, "/sem.x").is_ok());
    }

    #[test]
    fn nul_position_is_reported() {
        let err = check(ObjectKind::Semaphore, "/ab\0c").unwrap_err();
        assert!(err.to_string().contains("position 3"), "{err}");
    }

    #[test]
    fn random_names_have_posix_ipc_shape() {
        for _ in 0..200 {
            let n = Name::random();
            let s = n.as_str();
            assert!((6..=13).contains(&s.len()), "{s}");
            assert!(s[1..].bytes().all(|b| b.is_ascii_lowercase()), "{s}");
        }
    }
}

/// Randomised properties (issue 6): [`Name::new`] against an independent model of the rules.
#[cfg(test)]
mod randomised {

    use proptest::prelude::*;

    use super::*;

    use crate::proptest_run::run;

    const KINDS: [ObjectKind; 3] = [
        ObjectKind::Semaphore,
        ObjectKind::SharedMemory,
        ObjectKind::MessageQueue,
    ];

    /// The rules, written again over bytes from the module documentation: the normalised name
    /// the model accepts, or `None`.
    fn model(kind: ObjectKind, name: &str) -> Option<Vec<u8>> {
        let bytes = name.as_bytes();
        let body = match bytes.first() {
            Some(b'/') => &bytes[1..],
            _ => bytes,
        };
        let limit = if kind == ObjectKind::Semaphore {
            251
        } else {
            255
        };
        let ok = !body.is_empty()
            && body.iter().all(|&b| b != 0 && b != b'/')
            && body != b"."
            && body != b".."
            && body.len() <= limit
            && !(kind == ObjectKind::SharedMemory && body.len() >= 4 && &body[..4] == b"sem.");
        ok.then(|| [b"/".as_slice(), body].concat())
    }

    /// Names near every rule: optional and doubled slashes, `.`/`..`, `sem.`, NUL, slashes,
    /// multi-byte characters, and lengths around 251, 255 and 256 bytes; plus any string.
    fn names() -> impl Strategy<Value = String> {
        let prefix = prop::sample::select(vec![
            "", "/", "//", "/sem.", "sem.", "/.", ".", "/..", "..", "/sem", "/\0",
        ]);
        let piece = prop::sample::select(vec![
            "a", "a", "a", "/", "\0", ".", "..", "é", "€", "😀", "sem.", " ", "\n",
        ]);
        let pad = prop_oneof![
            2 => Just(0usize),
            1 => 0usize..20,
            3 => 245usize..=258,
        ];
        let built = (
            prefix,
            pad,
            prop::collection::vec(piece, 0..4),
            any::<bool>(),
        )
            .prop_map(|(prefix, pad, pieces, pieces_first)| {
                let pieces = pieces.concat();
                let pad = "a".repeat(pad);
                if pieces_first {
                    format!("{prefix}{pieces}{pad}")
                } else {
                    format!("{prefix}{pad}{pieces}")
                }
            });
        prop_oneof![3 => built, 1 => any::<String>()]
    }

    fn operation() -> impl Strategy<Value = Operation> {
        prop::sample::select(vec![Operation::Open, Operation::Create, Operation::Unlink])
    }

    #[test]
    fn name_validation_matches_the_model_and_round_trips() {
        run(
            "names::validation_vs_model",
            4000,
            (names(), operation()),
            |(name, op)| {
                for kind in KINDS {
                    let got = Name::new(kind, &name, op);
                    match (model(kind, &name), got) {
                        (Some(want), Ok(n)) => {
                            prop_assert_eq!(n.as_c_str().to_bytes(), want.as_slice());
                            prop_assert_eq!(n.as_str().as_bytes(), want.as_slice());
                            prop_assert_eq!(n.to_string(), n.as_str());
                            // Normalising is idempotent, and the slash-less spelling is the
                            // same name.
                            let again = Name::new(kind, n.as_str(), op).map_err(|e| {
                                TestCaseError::fail(format!("{kind} {n:?} rejected: {e}"))
                            })?;
                            prop_assert_eq!(&again, &n);
                            let bare = Name::new(kind, &n.as_str()[1..], op).map_err(|e| {
                                TestCaseError::fail(format!("{kind} bare {n:?} rejected: {e}"))
                            })?;
                            prop_assert_eq!(&bare, &n);
                        }
                        (None, Err(e)) => {
                            prop_assert_eq!(e.kind(), ErrorKind::InvalidName, "{}", e);
                            prop_assert_eq!(e.operation(), op);
                            prop_assert_eq!(e.name(), Some(name.as_str()));
                            prop_assert!(e.to_string().contains(&kind.to_string()), "{}", e);
                        }
                        (Some(_), Err(e)) => {
                            return Err(TestCaseError::fail(format!(
                                "{kind} {name:?}: the model accepts it, Name::new says {e}"
                            )))
                        }
                        (None, Ok(n)) => {
                            return Err(TestCaseError::fail(format!(
                                "{kind} {name:?}: the model rejects it, Name::new accepted {n:?}"
                            )))
                        }
                    }
                }
                Ok(())
            },
        );
    }
}
