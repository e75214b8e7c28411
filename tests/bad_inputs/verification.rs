//! The opt-in owner and mode checks on open and create (`verify_owner`, `verify_mode`,
//! `verify_private`); counted under the permissions category.

use std::os::fd::{AsFd, AsRawFd};

use posix_ipc::{ErrorKind, MessageQueue, ObjectKind, Semaphore, SharedMemory};

use crate::common::Kind;
use crate::fixtures::{still_exists, KINDS};
use crate::run::{run_child, Outcome};
use crate::table::{ensure, err, Cat, Expect, Out, Table, OK};

/// The opt-in owner and mode checks (`verify_owner`, `verify_mode`, `verify_private`): objects
/// given to uid 65534 (`fchown`/`chown`, as if that user had pre-created the name), objects with
/// mode 0644, and creations whose mode the check refuses (removed again).
pub(crate) fn cases(t: &mut Table) {
    const NOBODY: u32 = 65534;
    let sem_path = |name: &str| format!("/dev/shm/sem.{}", name.trim_start_matches('/'));
    // Per kind: one object owned by nobody (0600), one of ours with mode 0644, one of ours 0600.
    let mut made = Vec::new();
    for mode in [0o600, 0o644, 0o600] {
        let (q, s, m) = (t.name(Kind::Mq), t.name(Kind::Sem), t.name(Kind::Shm));
        let fixture = MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_messages(2)
            .max_message_size(64)
            .open(&q)
            .and_then(|mq| {
                let sem = Semaphore::options().create_new(true).mode(mode).open(&s)?;
                let shm = SharedMemory::options()
                    .create_new(true)
                    .mode(mode)
                    .size(4096)
                    .open(&m)?;
                Ok((mq, sem, shm))
            });
        let (mq, _sem, shm) = fixture.unwrap_or_else(|e| panic!("verification fixtures: {e}"));
        // The umask may have taken bits off: set the mode exactly.
        let path = sem_path(&s);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {path}: {e}"));
        let fd_mode = |fd: std::os::fd::BorrowedFd<'_>| {
            // SAFETY: `fd` is an open descriptor borrowed for the call; fchmod touches no memory.
            let rc = unsafe { libc::fchmod(fd.as_raw_fd(), mode) };
            assert_eq!(rc, 0, "fchmod: {}", std::io::Error::last_os_error());
        };
        fd_mode(mq.as_fd());
        fd_mode(shm.as_fd());
        if made.is_empty() {
            let give = |r: std::io::Result<()>, what: &str| {
                r.unwrap_or_else(|e| panic!("give {what} to uid {NOBODY}: {e}"))
            };
            give(
                std::os::unix::fs::fchown(&mq, Some(NOBODY), Some(NOBODY)),
                &q,
            );
            give(
                std::os::unix::fs::fchown(&shm, Some(NOBODY), Some(NOBODY)),
                &m,
            );
            give(
                std::os::unix::fs::chown(sem_path(&s), Some(NOBODY), Some(NOBODY)),
                &s,
            );
        }
        made.push((q, s, m));
    }
    let [(qn, sn, mn), (q4, s4, m4), (q6, s6, m6)] =
        [made[0].clone(), made[1].clone(), made[2].clone()];
    let untrusted = err(ErrorKind::Untrusted);
    let cat = Cat::Permissions;

    // Owned by someone else.
    for (label, expect, owner) in [
        (
            "verify_private on objects another user owns",
            untrusted,
            None,
        ),
        (
            "verify_owner(65534) on objects 65534 owns",
            Expect::Ok,
            Some(NOBODY),
        ),
    ] {
        for (kind, object, name) in [
            (Kind::Mq, ObjectKind::MessageQueue, qn.clone()),
            (Kind::Sem, ObjectKind::Semaphore, sn.clone()),
            (Kind::Shm, ObjectKind::SharedMemory, mn.clone()),
        ] {
            let n = name.clone();
            t.here(cat, format!("{label}: {kind:?}"), expect, move || {
                verified_open(kind, &n, |v| match owner {
                    Some(uid) => v.owner(uid),
                    None => v.private(),
                })
            });
            let n = name.clone();
            t.with(move |c| {
                let c = c.after(still_exists(kind, n.clone()));
                if owner.is_none() {
                    c.obj(object).named(&n).mention("owned by uid 65534")
                } else {
                    c
                }
            });
        }
    }
    // The same, with objects really created by uid 65534 in a child process (the attack the
    // check exists for: another user squats the name first).
    for (kind, object, tag) in KINDS {
        let name = t.name(kind);
        let action = match kind {
            Kind::Mq => "create-mq",
            Kind::Sem => "create-sem",
            Kind::Shm => "create-shm",
        };
        match run_child("nobody", action, std::slice::from_ref(&name)) {
            Outcome::Ok => {
                let n = name.clone();
                t.here(
                    cat,
                    format!("verify_private on a {tag} uid 65534 created first"),
                    untrusted,
                    move || verified_open(kind, &n, |v| v.private()),
                );
                t.with(|c| {
                    c.obj(object)
                        .named(&name)
                        .mention("owned by uid 65534")
                        .after(still_exists(kind, name.clone()))
                });
            }
            // The machine cannot switch to uid 65534: the runner reports the skip and why.
            Outcome::Skip(_) => {
                t.child(
                    cat,
                    format!("uid 65534 creates a {tag}"),
                    OK,
                    "nobody",
                    action,
                    &[&name],
                );
            }
            Outcome::Err { display, .. } => {
                panic!("verification fixture: uid 65534 could not create {name}: {display}")
            }
            Outcome::Test(m) | Outcome::Panic(m) => {
                panic!("verification fixture: uid 65534 could not create {name}: {m}")
            }
        }
    }
    // Mode 0644 against verify_mode(0600), then allowed by verify_mode(0644); our 0600 objects
    // pass verify_private; another owner fails a verify_owner of ours.
    type Row<'a> = (&'a str, Expect, Vec<String>, VerifyStep, Option<&'a str>);
    let rows: Vec<Row> = vec![
        (
            "verify_mode(0600) on mode 0644",
            untrusted,
            vec![s4.clone(), m4.clone(), q4.clone()],
            VerifyStep::Mode(0o600),
            Some("grants 0044"),
        ),
        (
            "verify_mode(0644) on mode 0644",
            Expect::Ok,
            vec![s4, m4, q4],
            VerifyStep::Mode(0o644),
            None,
        ),
        (
            "verify_private on our own 0600 objects",
            Expect::Ok,
            vec![s6.clone(), m6.clone(), q6.clone()],
            VerifyStep::Private,
            None,
        ),
        (
            "verify_owner(12345) on our own objects",
            untrusted,
            vec![s6, m6, q6],
            VerifyStep::Owner(12345),
            Some("requires uid 12345"),
        ),
    ];
    for (label, expect, names, step, text) in rows {
        for ((kind, object, _), name) in KINDS.iter().copied().zip(names) {
            let n = name.clone();
            t.here(cat, format!("{label}: {kind:?}"), expect, move || {
                verified_open(kind, &n, |v| step.apply(v))
            });
            t.with(|c| match text {
                Some(text) => c.obj(object).named(&name).mention(text),
                None => c,
            });
        }
    }
    // A refused check leaves the segment as it was: truncate happens only after the check.
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        cat,
        "truncate + verify_mode(0600) on a 0644 segment: refused, and not truncated",
        untrusted,
        move || {
            let shm = SharedMemory::options()
                .create_new(true)
                .mode(0o644)
                .size(4096)
                .open(&m)?;
            // SAFETY: `shm` is an open descriptor for the call; fchmod touches no memory.
            let rc = unsafe { libc::fchmod(shm.as_fd().as_raw_fd(), 0o644) };
            ensure(rc == 0, || "fchmod 0644".to_owned())?;
            let got = SharedMemory::options()
                .truncate(true)
                .verify_mode(0o600)
                .open(&m)
                .map(drop);
            ensure(shm.size()? == 4096, || {
                "a refused open truncated the segment anyway".to_owned()
            })?;
            got?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("grants 0044")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        cat,
        "truncate + verify_private on our own 0600 segment: truncated after the check",
        OK,
        move || {
            let shm = SharedMemory::create(&m, 4096)?;
            SharedMemory::options()
                .truncate(true)
                .verify_private()
                .open(&m)
                .map(drop)?;
            ensure(shm.size()? == 0, || {
                "truncate(true) did not truncate".to_owned()
            })
        },
    );
    t.with(|c| c.named(&n));
    // A creation whose own mode the check refuses is removed again.
    for (kind, object, _) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            cat,
            format!("create with mode 0666 under verify_mode(0600) is undone: {kind:?}"),
            untrusted,
            move || verified_create(kind, &m, 0o666),
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
    }
}

/// One `verify_*` step on an options builder.
#[derive(Clone, Copy)]
enum VerifyStep {
    Owner(u32),
    Mode(u32),
    Private,
}

impl VerifyStep {
    fn apply(self, v: &mut dyn VerifyOptions) {
        match self {
            VerifyStep::Owner(uid) => v.owner(uid),
            VerifyStep::Mode(mode) => v.mode(mode),
            VerifyStep::Private => v.private(),
        }
    }
}

/// The `verify_*` methods of the three option builders, behind one trait for the table.
trait VerifyOptions {
    fn owner(&mut self, uid: u32);
    fn mode(&mut self, allowed: u32);
    fn private(&mut self);
}

macro_rules! verify_options {
    ($($t:ty),*) => {$(
        impl VerifyOptions for $t {
            fn owner(&mut self, uid: u32) {
                self.verify_owner(uid);
            }
            fn mode(&mut self, allowed: u32) {
                self.verify_mode(allowed);
            }
            fn private(&mut self) {
                self.verify_private();
            }
        }
    )*};
}

verify_options!(
    posix_ipc::MessageQueueOptions,
    posix_ipc::SemaphoreOptions,
    posix_ipc::SharedMemoryOptions
);

/// Opens the existing object `name` of `kind` with the checks `set` asks for.
fn verified_open(kind: Kind, name: &str, set: impl FnOnce(&mut dyn VerifyOptions)) -> Out {
    match kind {
        Kind::Mq => {
            let mut o = MessageQueue::options();
            set(&mut o);
            o.open(name).map(drop)?
        }
        Kind::Sem => {
            let mut o = Semaphore::options();
            set(&mut o);
            o.open(name).map(drop)?
        }
        Kind::Shm => {
            let mut o = SharedMemory::options();
            set(&mut o);
            o.open(name).map(drop)?
        }
    }
    Ok(())
}

/// Creates `name` with `mode` under `verify_mode(0o600)`.
fn verified_create(kind: Kind, name: &str, mode: u32) -> Out {
    match kind {
        Kind::Mq => MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_messages(2)
            .max_message_size(64)
            .verify_mode(0o600)
            .open(name)
            .map(drop)?,
        Kind::Sem => Semaphore::options()
            .create_new(true)
            .mode(mode)
            .verify_mode(0o600)
            .open(name)
            .map(drop)?,
        Kind::Shm => SharedMemory::options()
            .create_new(true)
            .mode(mode)
            .size(4096)
            .verify_mode(0o600)
            .open(name)
            .map(drop)?,
    }
    Ok(())
}
