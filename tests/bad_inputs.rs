//! The bad-input suite of issue 6 (reference `reliability.md` §2 and §4.2): a table of cases
//! across names, sizes and attributes, priorities, timeouts, buffers and typed lengths,
//! mismatched attributes on open, permissions, resource exhaustion, descriptor misuse and a few
//! more. Every case expects an exact [`ErrorKind`] (a few boundary rows expect success, as the
//! reference's "OK" rows do), runs under `catch_unwind`, and every mismatch is collected and
//! reported at once. The error's `Display` must say `cannot <operation> <object>` and name the
//! object where there is a name.
//!
//! Cases that change process-wide state (dropping to uid 65534, lowering `RLIMIT_NOFILE` or
//! `RLIMIT_MSGQUEUE`, a private IPC or mount namespace, closing a descriptor behind a handle's
//! back) run in a child process (`common::spawn_child`), which reports its result on stdout.
//!
//! Every name comes from `common::unique_name` with the tag `bi`; at the end the suite checks
//! that `/dev/shm` and `/dev/mqueue` hold no name with this process's prefix.
//!
//! The totals go to uncaptured stderr (`bad_inputs: N cases, ...`) for RELIABILITY.md.

mod common;

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::{Cleanup, Kind};
use posix_ipc::{
    Error, ErrorKind, IpcMessage, MessageQueue, Notification, ObjectKind, RawShared, Receiver,
    RingMode, RingReceiver, RingSender, RobustMutex, Semaphore, Sender, Shared, SharedMemory,
    Timeout, O_CREAT, O_CREX, O_EXCL,
};

// --- message types ------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
#[ipc(priority = 4)]
struct Tick {
    seq: u64,
    value: u64,
}

/// Same size as `Tick` (16 bytes), another layout: only the fingerprint tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Other16 {
    a: u32,
    b: u32,
    c: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, IpcMessage)]
#[repr(C)]
struct Wide {
    w: [u64; 8],
}

/// 8200 bytes: above `fs.mqueue.msgsize_max` (8192) without CAP_SYS_RESOURCE.
#[derive(Clone, Copy, IpcMessage)]
#[repr(C)]
#[ipc(max_message_size = 16384)]
struct Jumbo {
    w: [u64; 1025],
}

const TICK: Tick = Tick { seq: 1, value: 2 };

// --- the table ----------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cat {
    Names,
    Sizes,
    Priorities,
    Timeouts,
    Buffers,
    Mismatch,
    Permissions,
    Exhaustion,
    Descriptors,
    Misc,
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Err(ErrorKind),
    Ok,
}

/// A case's own failure: the library's error, or a check the case made itself.
enum Fail {
    Lib(Error),
    Test(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Lib(e)
    }
}

type Out = Result<(), Fail>;

fn ensure(cond: bool, what: impl FnOnce() -> String) -> Out {
    if cond {
        Ok(())
    } else {
        Err(Fail::Test(what()))
    }
}

/// A case's call, run in this process.
type Call = Box<dyn FnOnce() -> Out>;

enum Run {
    Here(Call),
    /// Run in a child process: (environment, action, names).
    Child(&'static str, &'static str, Vec<String>),
}

type ErrCheck = Box<dyn Fn(&Error) -> Result<(), String>>;
type After = Box<dyn FnOnce() -> Result<(), String>>;

struct Case {
    label: String,
    cat: Cat,
    expect: Expect,
    object: Option<ObjectKind>,
    name: Option<String>,
    mention: Option<String>,
    fresh: Option<(Kind, String)>,
    known: Option<&'static str>,
    check: Option<ErrCheck>,
    after: Option<After>,
    run: Run,
}

impl Case {
    fn obj(mut self, kind: ObjectKind) -> Case {
        self.object = Some(kind);
        self
    }
    fn named(mut self, name: &str) -> Case {
        self.name = Some(name.to_owned());
        self
    }
    fn mention(mut self, text: &str) -> Case {
        self.mention = Some(text.to_owned());
        self
    }
    /// The name must not exist after the case (nothing left behind by a failed create).
    fn fresh(mut self, kind: Kind, name: &str) -> Case {
        self.fresh = Some((kind, name.to_owned()));
        self
    }
    #[allow(
        dead_code,
        reason = "no known failure at present; kept to record one honestly"
    )]
    fn known(mut self, why: &'static str) -> Case {
        self.known = Some(why);
        self
    }
    fn check(mut self, f: impl Fn(&Error) -> Result<(), String> + 'static) -> Case {
        self.check = Some(Box::new(f));
        self
    }
    fn after(mut self, f: impl FnOnce() -> Result<(), String> + 'static) -> Case {
        self.after = Some(Box::new(f));
        self
    }
}

/// The cases plus the guards that remove every object they use at the end.
struct Table {
    cases: Vec<Case>,
    guards: Vec<Cleanup>,
}

impl Table {
    fn name(&mut self, kind: Kind) -> String {
        let (name, guard) = common::guarded(kind, "bi");
        self.guards.push(guard);
        name
    }

    fn here(
        &mut self,
        cat: Cat,
        label: impl Into<String>,
        expect: Expect,
        f: impl FnOnce() -> Out + 'static,
    ) -> &mut Case {
        self.add(cat, label, expect, Run::Here(Box::new(f)))
    }

    fn child(
        &mut self,
        cat: Cat,
        label: impl Into<String>,
        expect: Expect,
        env: &'static str,
        action: &'static str,
        names: &[&str],
    ) -> &mut Case {
        let names = names.iter().map(|s| (*s).to_owned()).collect();
        self.add(cat, label, expect, Run::Child(env, action, names))
    }

    fn add(&mut self, cat: Cat, label: impl Into<String>, expect: Expect, run: Run) -> &mut Case {
        self.cases.push(Case {
            label: label.into(),
            cat,
            expect,
            object: None,
            name: None,
            mention: None,
            fresh: None,
            known: None,
            check: None,
            after: None,
            run,
        });
        self.cases.last_mut().expect("just pushed")
    }

    /// Applies a builder step to the last case (the `&mut Case` returned by `here`/`child`
    /// cannot chain by value).
    fn with(&mut self, f: impl FnOnce(Case) -> Case) {
        let case = self.cases.pop().expect("a case to amend");
        self.cases.push(f(case));
    }
}

use Expect::Ok as OK;
fn err(kind: ErrorKind) -> Expect {
    Expect::Err(kind)
}

// --- object helpers -----------------------------------------------------------------------------

const KINDS: [(Kind, ObjectKind, &str); 3] = [
    (Kind::Sem, ObjectKind::Semaphore, "sem"),
    (Kind::Shm, ObjectKind::SharedMemory, "shm"),
    (Kind::Mq, ObjectKind::MessageQueue, "mq"),
];

fn create_new(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => Semaphore::create(name, 0).map(drop)?,
        Kind::Shm => SharedMemory::create(name, 4096).map(drop)?,
        Kind::Mq => MessageQueue::create(name, 4, 64).map(drop)?,
    }
    Ok(())
}

fn open(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => Semaphore::open(name).map(drop)?,
        Kind::Shm => SharedMemory::open(name).map(drop)?,
        Kind::Mq => MessageQueue::open(name).map(drop)?,
    }
    Ok(())
}

fn unlink(kind: Kind, name: &str) -> Out {
    match kind {
        Kind::Sem => posix_ipc::unlink_semaphore(name)?,
        Kind::Shm => posix_ipc::unlink_shared_memory(name)?,
        Kind::Mq => posix_ipc::unlink_message_queue(name)?,
    }
    Ok(())
}

/// The file behind a name: `/dev/shm/NAME`, `/dev/shm/sem.NAME`, `/dev/mqueue/NAME`.
fn path_of(kind: Kind, name: &str) -> String {
    let body = name.trim_start_matches('/');
    match kind {
        Kind::Sem => format!("/dev/shm/sem.{body}"),
        Kind::Shm => format!("/dev/shm/{body}"),
        Kind::Mq => format!("/dev/mqueue/{body}"),
    }
}

fn exists(kind: Kind, name: &str) -> bool {
    std::fs::symlink_metadata(path_of(kind, name)).is_ok()
}

fn still_exists(kind: Kind, name: String) -> impl FnOnce() -> Result<(), String> {
    move || {
        if exists(kind, &name) {
            Ok(())
        } else {
            Err(format!("{name} was removed by a call that failed"))
        }
    }
}

fn mq(name: &str) -> Result<MessageQueue, Error> {
    MessageQueue::create(name, 4, 64)
}

fn full_mq(name: &str) -> Result<MessageQueue, Error> {
    let q = MessageQueue::create(name, 2, 64)?;
    q.send(b"a", 0)?;
    q.send(b"b", 0)?;
    Ok(q)
}

fn returned_check(len: usize, priority: u32) -> impl Fn(&Error) -> Result<(), String> {
    move |e| match e.returned() {
        Some(r)
            if r.bytes.len() == len
                && r.bytes.iter().all(|b| *b == 0xAB)
                && r.priority == priority =>
        {
            Ok(())
        }
        Some(r) => Err(format!(
            "handed back {} bytes with priority {}, expected {len} bytes of 0xAB with priority \
             {priority}",
            r.bytes.len(),
            r.priority
        )),
        None => Err("WrongLength without the bytes handed back".into()),
    }
}

// --- building the table -------------------------------------------------------------------------

fn names(t: &mut Table) {
    for (kind, object, tag) in KINDS {
        let max = if matches!(kind, Kind::Sem) { 251 } else { 255 };
        let u = || common::unique_name("bi");
        let bad: Vec<(&str, String, &str)> = vec![
            ("empty", String::new(), "create"),
            ("slash only", "/".into(), "create"),
            ("double leading slash", format!("/{}", u()), "open"),
            ("embedded slash", format!("{}/b", u()), "create"),
            ("trailing slash", format!("{}/", u()), "create"),
            ("dot", "/.".into(), "open"),
            ("dot dot", "/..".into(), "create"),
            ("NUL only", "\0".into(), "create"),
            ("NUL in the middle", format!("{}\0x", u()), "create"),
            ("NUL at the end", format!("{}\0", u()), "open"),
            (
                "NAME_MAX+1 bytes",
                format!("/{}", "n".repeat(max + 1)),
                "create",
            ),
            ("PATH_MAX+1 bytes", format!("/{}", "p".repeat(4097)), "open"),
            (
                "no slash, trailing slash",
                format!("{}/", &u()[1..]),
                "unlink",
            ),
            ("embedded slash", format!("{}/c", u()), "unlink"),
            ("slash only", "/".into(), "unlink"),
        ];
        for (what, name, op) in bad {
            let n = name.clone();
            let label = format!("{tag} {op} {what}");
            let f: Call = match op {
                "create" => Box::new(move || create_new(kind, &n)),
                "open" => Box::new(move || open(kind, &n)),
                _ => Box::new(move || unlink(kind, &n)),
            };
            t.add(Cat::Names, label, err(ErrorKind::InvalidName), Run::Here(f));
            t.with(|c| c.obj(object).named(&name));
        }
        // The longest legal name works and can be removed again (N8, N10).
        let base = t.name(kind);
        let long = format!("{base}{}", "x".repeat(max + 1 - base.len()));
        t.guards.push(common::guard(kind, &long));
        let l = long.clone();
        t.here(
            Cat::Names,
            format!("{tag} longest legal name ({max} bytes)"),
            OK,
            move || {
                create_new(kind, &l)?;
                unlink(kind, &l)
            },
        );
        t.with(|c| c.fresh(kind, &long));
        // The leading slash is optional: "x" and "/x" are one object (N3).
        let n = t.name(kind);
        let bare = n[1..].to_owned();
        let b = bare.clone();
        t.here(
            Cat::Names,
            format!("{tag} name without slash aliases /name"),
            err(ErrorKind::AlreadyExists),
            move || {
                create_new(kind, &n)?;
                create_new(kind, &b)
            },
        );
        t.with(|c| c.obj(object).named(&bare));
    }
    let n = format!("/sem.{}", &common::unique_name("bi")[1..]);
    let m = n.clone();
    t.here(
        Cat::Names,
        "shm name with the sem. prefix",
        err(ErrorKind::InvalidName),
        move || create_new(Kind::Shm, &m),
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let typed: Vec<(&str, &str, Call)> = vec![
        (
            "Sender::create embedded slash",
            "/a/b",
            Box::new(|| {
                Sender::<Tick>::create("/a/b", 2)
                    .map(drop)
                    .map_err(Fail::from)
            }),
        ),
        (
            "Receiver::open empty",
            "",
            Box::new(|| Receiver::<Tick>::open("").map(drop).map_err(Fail::from)),
        ),
        (
            "Shared::create dot dot",
            "/..",
            Box::new(|| Shared::create("/..", &TICK).map(drop).map_err(Fail::from)),
        ),
        (
            "RawShared::open double slash",
            "//x",
            Box::new(|| RawShared::<Tick>::open("//x").map(drop).map_err(Fail::from)),
        ),
        (
            "RingSender::create NUL",
            "/r\0",
            Box::new(|| {
                RingSender::<Tick>::create("/r\0", 4, RingMode::Spsc)
                    .map(drop)
                    .map_err(Fail::from)
            }),
        ),
        (
            "RingReceiver::open slash only",
            "/",
            Box::new(|| {
                RingReceiver::<Tick>::open("/")
                    .map(drop)
                    .map_err(Fail::from)
            }),
        ),
        (
            "RobustMutex::create trailing slash",
            "/m/",
            Box::new(|| RobustMutex::create("/m/").map(drop).map_err(Fail::from)),
        ),
    ];
    for (label, name, f) in typed {
        t.add(Cat::Names, label, err(ErrorKind::InvalidName), Run::Here(f));
        t.with(|c| c.named(name));
    }
}

fn sizes(t: &mut Table) {
    let msg_max = posix_ipc::limits::msg_max().unwrap_or(10);
    let msgsize_max = posix_ipc::limits::msgsize_max().unwrap_or(8192);
    let mq_rows: Vec<(&str, i64, i64, ErrorKind, Option<&str>)> = vec![
        (
            "max_messages 0",
            0,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_message_size 0",
            4,
            0,
            ErrorKind::InvalidArgument,
            Some("max_message_size"),
        ),
        (
            "max_messages -1",
            -1,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_message_size -56",
            4,
            -56,
            ErrorKind::InvalidArgument,
            Some("max_message_size"),
        ),
        (
            "max_messages i64::MIN",
            i64::MIN,
            64,
            ErrorKind::InvalidArgument,
            Some("max_messages"),
        ),
        (
            "max_messages msg_max+1",
            msg_max + 1,
            64,
            ErrorKind::LimitExceeded,
            Some("fs.mqueue.msg_max"),
        ),
        (
            "max_message_size msgsize_max+1",
            4,
            msgsize_max + 1,
            ErrorKind::LimitExceeded,
            Some("fs.mqueue.msgsize_max"),
        ),
        (
            "max_messages 65537 (hard limit)",
            65537,
            64,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
        (
            "max_message_size 16 MiB+1 (hard limit)",
            4,
            (16 << 20) + 1,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
        (
            "max_messages i64::MAX",
            i64::MAX,
            64,
            ErrorKind::LimitExceeded,
            Some("hard limit"),
        ),
    ];
    for (label, mm, ms, kind, mention) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("mq new {label}"),
            err(kind),
            move || {
                MessageQueue::new(Some(&m), O_CREX, 0o600, mm, ms, true, true).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            let c = c
                .obj(ObjectKind::MessageQueue)
                .named(&n)
                .fresh(Kind::Mq, &n);
            match mention {
                Some(m) => c.mention(m),
                None => c,
            }
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq builder max_messages usize::MAX",
        err(ErrorKind::LimitExceeded),
        move || {
            MessageQueue::create(&m, usize::MAX, 64).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq builder max_message_size usize::MAX",
        err(ErrorKind::LimitExceeded),
        move || {
            MessageQueue::create(&m, 4, usize::MAX).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq open_or_create max_message_size 0",
        err(ErrorKind::InvalidArgument),
        move || {
            MessageQueue::open_or_create(&m, 4, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    t.here(
        Cat::Sizes,
        "mq create_random max_messages 0",
        err(ErrorKind::InvalidArgument),
        || {
            MessageQueue::create_random(0, 64).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "mq neither read nor write",
        err(ErrorKind::InvalidArgument),
        move || {
            MessageQueue::options()
                .create_new(true)
                .read(false)
                .write(false)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("{tag} new with O_EXCL without O_CREAT"),
            err(ErrorKind::InvalidArgument),
            move || {
                match kind {
                    Kind::Sem => Semaphore::new(Some(&m), O_EXCL, 0o600, 0).map(drop)?,
                    Kind::Shm => {
                        SharedMemory::new(Some(&m), O_EXCL, 0o600, 4096, false).map(drop)?
                    }
                    Kind::Mq => {
                        MessageQueue::new(Some(&m), O_EXCL, 0o600, 4, 64, true, true).map(drop)?
                    }
                }
                Ok(())
            },
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
        t.here(
            Cat::Sizes,
            format!("{tag} new with name None without O_EXCL"),
            err(ErrorKind::InvalidArgument),
            move || {
                match kind {
                    Kind::Sem => Semaphore::new(None, O_CREAT, 0o600, 0).map(drop)?,
                    Kind::Shm => SharedMemory::new(None, O_CREAT, 0o600, 4096, false).map(drop)?,
                    Kind::Mq => {
                        MessageQueue::new(None, O_CREAT, 0o600, 4, 64, true, true).map(drop)?
                    }
                }
                Ok(())
            },
        );
        t.with(|c| c.obj(object));
    }
    let max = posix_ipc::limits::sem_value_max();
    for (label, value) in [
        ("SEM_VALUE_MAX+1", u64::from(max) + 1),
        ("u32::MAX", u64::from(u32::MAX)),
    ] {
        let n = t.name(Kind::Sem);
        let m = n.clone();
        let value = u32::try_from(value).unwrap_or(u32::MAX);
        t.here(
            Cat::Sizes,
            format!("sem initial value {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                Semaphore::create(&m, value).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::Semaphore)
                .named(&n)
                .fresh(Kind::Sem, &n)
                .mention("SEM_VALUE_MAX")
        });
    }
    let n = t.name(Kind::Sem);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "sem release at SEM_VALUE_MAX",
        err(ErrorKind::Overflow),
        move || {
            let sem = Semaphore::create(&m, max)?;
            sem.release()?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::Semaphore)
            .named(&n)
            .mention("SEM_VALUE_MAX")
    });
    for (label, size) in [("i64::MAX+1", i64::MAX as u64 + 1), ("u64::MAX", u64::MAX)] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("shm create size {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                SharedMemory::create(&m, size).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::SharedMemory)
                .named(&n)
                .fresh(Kind::Shm, &n)
        });
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm resize u64::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?.resize(u64::MAX)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map a size-0 segment",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create_new(true)
                .open(&m)?
                .map()
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range length 0",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?.map_range(0, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range past the end",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 4096)?
                .map_range(4000, 200)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm map_range offset u64::MAX (overflow)",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 4096)?
                .map_range(u64::MAX, 16)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm read_only with a size",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create(true)
                .read_only(true)
                .size(4096)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm read_only with truncate",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::options()
                .create(true)
                .read_only(true)
                .truncate(true)
                .open(&m)
                .map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "shm size 2^50 (beyond /dev/shm)",
        err(ErrorKind::NoSpace),
        move || {
            SharedMemory::create(&m, 1 << 50).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
            .mention("/dev/shm")
    });
    for capacity in [0usize, 1, 3, 1 << 31] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Sizes,
            format!("ring capacity {capacity}"),
            err(ErrorKind::InvalidArgument),
            move || {
                RingSender::<Tick>::create(&m, capacity, RingMode::Spsc).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::Ring)
                .named(&n)
                .fresh(Kind::Shm, &n)
                .mention("power of two")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Sender capacity 0",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 0).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Receiver capacity msg_max+1",
        err(ErrorKind::LimitExceeded),
        move || {
            Receiver::<Tick>::create(&m, usize::try_from(msg_max + 1).unwrap_or(11)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
            .mention("fs.mqueue.msg_max")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Sizes,
        "typed Sender of an 8200-byte type",
        err(ErrorKind::LimitExceeded),
        move || {
            Sender::<Jumbo>::create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .fresh(Kind::Mq, &n)
            .mention("fs.mqueue.msgsize_max")
    });
}

fn priorities(t: &mut Table) {
    let rows: Vec<(&str, u32, Expect)> = vec![
        ("32767 (QUEUE_PRIORITY_MAX)", 32767, OK),
        ("32768", 32768, err(ErrorKind::InvalidArgument)),
        ("2^31", 1 << 31, err(ErrorKind::InvalidArgument)),
        ("u32::MAX", u32::MAX, err(ErrorKind::InvalidArgument)),
    ];
    for (label, prio, expect) in rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Priorities,
            format!("mq send priority {label}"),
            expect,
            move || {
                mq(&m)?.send(b"x", prio)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("QUEUE_PRIORITY_MAX")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "priority checked before the length",
        err(ErrorKind::InvalidArgument),
        move || {
            mq(&m)?.send(&[0u8; 65], 40000)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("40000"));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "bad priority on a full queue is not a timeout",
        err(ErrorKind::InvalidArgument),
        move || {
            full_mq(&m)?.send_timeout(b"x", 32768, Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send_priority 32768",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 2)?.send_priority(&TICK, 32768)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send_with u32::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            Sender::<Tick>::create(&m, 2)?.send_with(&TICK, u32::MAX, Timeout::Immediate)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Priorities,
        "typed send uses the type's priority",
        OK,
        move || {
            let tx = Sender::<Tick>::create(&m, 2)?;
            let rx = Receiver::<Tick>::open(&m)?;
            tx.send(&TICK)?;
            let (_, prio) = rx.recv_with(Timeout::Immediate)?;
            ensure(prio == 4, || format!("priority {prio}, expected 4"))
        },
    );
}

fn timeouts(t: &mut Table) {
    let sem_rows: Vec<(&str, Timeout, ErrorKind)> = vec![
        ("Immediate", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "After(ZERO)",
            Timeout::After(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "from(Duration::ZERO)",
            Timeout::from(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "After(1 ns)",
            Timeout::After(Duration::from_nanos(1)),
            ErrorKind::TimedOut,
        ),
        (
            "After(1 ms)",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
        (
            "from_secs_f64(1e-12)",
            Timeout::from_secs_f64(1e-12).unwrap_or(Timeout::Infinite),
            ErrorKind::WouldBlock,
        ),
    ];
    for (label, timeout, kind) in sem_rows {
        let n = t.name(Kind::Sem);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("sem acquire {label} at 0"),
            err(kind),
            move || {
                Semaphore::create(&m, 0)?.acquire_with(timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Semaphore).named(&n));
    }
    let huge: Vec<(&str, Timeout)> = vec![
        ("Duration::MAX", Timeout::from(Duration::MAX)),
        (
            "u64::MAX/4 s",
            Timeout::from(Duration::from_secs(u64::MAX / 4)),
        ),
        (
            "from_secs_f64(1e30)",
            Timeout::from_secs_f64(1e30).unwrap_or(Timeout::Immediate),
        ),
    ];
    for (label, timeout) in huge {
        let n = t.name(Kind::Sem);
        t.here(
            Cat::Timeouts,
            format!("sem acquire {label} at 1 succeeds"),
            OK,
            move || {
                Semaphore::create(&n, 1)?.acquire_with(timeout)?;
                Ok(())
            },
        );
    }
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Timeouts,
        "sem Duration::MAX really waits, then succeeds",
        OK,
        move || {
            let sem = Semaphore::create(&n, 0)?;
            let sem = &sem;
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::channel();
                let waiter = s.spawn(move || {
                    tx.send(common::gettid()).ok();
                    sem.acquire_timeout(Duration::MAX)
                });
                let tid = rx.recv().map_err(|e| Fail::Test(e.to_string()))?;
                let slept = common::wait_until_sleeping(std::process::id(), tid);
                sem.release()?;
                let r = waiter
                    .join()
                    .map_err(|_| Fail::Test("waiter panicked".into()))?;
                ensure(slept, || "the waiter never went to sleep".into())?;
                r.map_err(Fail::from)
            })
        },
    );
    let mq_rows: Vec<(&str, Timeout, ErrorKind)> = vec![
        ("Immediate", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "After(ZERO)",
            Timeout::After(Duration::ZERO),
            ErrorKind::WouldBlock,
        ),
        (
            "After(1 ns)",
            Timeout::After(Duration::from_nanos(1)),
            ErrorKind::TimedOut,
        ),
        (
            "After(1 ms)",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
    ];
    for (label, timeout, kind) in mq_rows.clone() {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("mq receive {label} on an empty queue"),
            err(kind),
            move || {
                mq(&m)?.receive_with(timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("empty"));
    }
    for (label, timeout, kind) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("mq send {label} on a full queue"),
            err(kind),
            move || {
                full_mq(&m)?.send_with(b"c", 0, timeout)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("full"));
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "mq blocking receive on a non-blocking queue",
        err(ErrorKind::WouldBlock),
        move || {
            MessageQueue::options()
                .create_new(true)
                .max_messages(2)
                .max_message_size(64)
                .nonblocking(true)
                .open(&m)?
                .receive()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "mq blocking send after set_block(false), full",
        err(ErrorKind::WouldBlock),
        move || {
            let q = full_mq(&m)?;
            q.set_block(false)?;
            q.send(b"c", 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq receive Duration::MAX with a message queued",
        OK,
        move || {
            let q = mq(&n)?;
            q.send(b"x", 0)?;
            q.receive_timeout(Duration::MAX)?;
            Ok(())
        },
    );
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq send Duration::MAX with room",
        OK,
        move || {
            mq(&n)?.send_timeout(b"x", 0, Duration::MAX)?;
            Ok(())
        },
    );
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Timeouts,
        "mq Duration::MAX really waits, then receives",
        OK,
        move || {
            let q = mq(&n)?;
            let q = &q;
            std::thread::scope(|s| {
                let (tx, rx) = std::sync::mpsc::channel();
                let waiter = s.spawn(move || {
                    tx.send(common::gettid()).ok();
                    q.receive_timeout(Duration::MAX)
                });
                let tid = rx.recv().map_err(|e| Fail::Test(e.to_string()))?;
                let slept = common::wait_until_sleeping(std::process::id(), tid);
                q.send(b"wake", 3)?;
                let r = waiter
                    .join()
                    .map_err(|_| Fail::Test("waiter panicked".into()))?;
                ensure(slept, || "the waiter never went to sleep".into())?;
                let (bytes, prio) = r?;
                ensure(bytes == b"wake" && prio == 3, || {
                    format!("got {bytes:?} {prio}")
                })
            })
        },
    );
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed try_recv on an empty queue",
        err(ErrorKind::WouldBlock),
        move || {
            Receiver::<Tick>::create(&m, 2)?.try_recv()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed recv_timeout 1 ms",
        err(ErrorKind::TimedOut),
        move || {
            Receiver::<Tick>::create(&m, 2)?.recv_timeout(Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed try_send on a full queue",
        err(ErrorKind::WouldBlock),
        move || {
            let tx = Sender::<Tick>::create(&m, 1)?;
            tx.send(&TICK)?;
            tx.try_send(&TICK)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "typed send_timeout 1 ns on a full queue",
        err(ErrorKind::TimedOut),
        move || {
            let tx = Sender::<Tick>::create(&m, 1)?;
            tx.send(&TICK)?;
            tx.send_timeout(&TICK, Duration::from_nanos(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring try_recv on an empty ring",
        err(ErrorKind::WouldBlock),
        move || {
            let rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Spsc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            rx.try_recv()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring recv_timeout 1 ms",
        err(ErrorKind::TimedOut),
        move || {
            let rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Mpmc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            rx.recv_timeout(Duration::from_millis(1))?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Timeouts,
        "ring try_send on a full ring",
        err(ErrorKind::WouldBlock),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 2, RingMode::Spsc)?;
            let tx = RingSender::<Tick>::open(&m)?;
            tx.send(&TICK)?;
            tx.send(&TICK)?;
            tx.try_send(&TICK)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    for (label, timeout, kind) in [
        ("try_lock", Timeout::Immediate, ErrorKind::WouldBlock),
        (
            "lock_timeout 1 ms",
            Timeout::After(Duration::from_millis(1)),
            ErrorKind::TimedOut,
        ),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Timeouts,
            format!("robust mutex {label} held by another thread"),
            err(kind),
            move || {
                let mutex = RobustMutex::create(&m)?;
                let (held_tx, held_rx) = std::sync::mpsc::channel();
                let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
                let mutex = &mutex;
                std::thread::scope(|s| {
                    let holder = s.spawn(move || -> Result<(), Error> {
                        let _g = mutex.lock()?;
                        held_tx.send(()).ok();
                        done_rx.recv().ok();
                        Ok(())
                    });
                    let held = held_rx.recv().is_ok();
                    let r = mutex.lock_with(timeout).map(drop);
                    done_tx.send(()).ok();
                    let h = holder
                        .join()
                        .map_err(|_| Fail::Test("holder panicked".into()))?;
                    h?;
                    ensure(held, || "the holder never locked".into())?;
                    r.map_err(Fail::from)
                })
            },
        );
        t.with(|c| c.named(&n));
    }
    let floats: Vec<(&str, f64)> = vec![
        ("NaN", f64::NAN),
        ("-1.0", -1.0),
        ("-inf", f64::NEG_INFINITY),
        ("-1e-300", -1e-300),
        ("f64::MIN", f64::MIN),
    ];
    for (label, secs) in floats {
        t.here(
            Cat::Timeouts,
            format!("Timeout::from_secs_f64({label})"),
            err(ErrorKind::InvalidArgument),
            move || {
                Timeout::from_secs_f64(secs)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Timeout).mention("non-negative"));
    }
    for (label, secs, want) in [
        ("+inf", f64::INFINITY, Timeout::Infinite),
        ("-0.0", -0.0, Timeout::Immediate),
    ] {
        t.here(
            Cat::Timeouts,
            format!("Timeout::from_secs_f64({label})"),
            OK,
            move || {
                let got = Timeout::from_secs_f64(secs)?;
                ensure(got == want, || format!("{got:?}, expected {want:?}"))
            },
        );
    }
}

fn buffers(t: &mut Table) {
    for (label, len) in [
        ("0 bytes", 0usize),
        ("63 of 64 bytes", 63),
        ("1 byte for a 1-byte message", 1),
    ] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("receive_into {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                let q = mq(&m)?;
                q.send(b"x", 0)?;
                let mut buf = vec![0u8; len];
                q.receive_into(&mut buf, Timeout::Immediate)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("max_message_size")
        });
    }
    for (label, len) in [
        ("65 bytes on a 64-byte queue", 65usize),
        ("8193 bytes", 8193),
        ("1 MiB", 1 << 20),
    ] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("send {label}"),
            err(ErrorKind::MessageTooLarge),
            move || {
                mq(&m)?.send(&vec![0u8; len], 0)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("max_message_size")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "try_send too long on a full queue",
        err(ErrorKind::MessageTooLarge),
        move || {
            full_mq(&m)?.try_send(&[0u8; 65], 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Buffers,
        "zero-length message is legal",
        OK,
        move || {
            let q = mq(&n)?;
            q.send(b"", 0)?;
            let (bytes, _) = q.try_receive()?;
            ensure(bytes.is_empty(), || format!("{} bytes", bytes.len()))
        },
    );
    // A raw sender puts a message of the wrong length into a typed queue (R3).
    let rows: Vec<(&str, usize, u32, &str)> = vec![
        ("0-byte", 0, 0, "recv"),
        ("1-byte", 1, 7, "recv"),
        ("15-byte", 15, 9, "try_recv"),
        ("8-byte", 8, 32767, "recv_timeout"),
    ];
    for (label, len, prio, call) in rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("typed {call} of a {label} raw message"),
            err(ErrorKind::WrongLength),
            move || {
                let rx = Receiver::<Tick>::create(&m, 2)?;
                MessageQueue::options()
                    .write(true)
                    .read(false)
                    .open(&m)?
                    .send(&vec![0xABu8; len], prio)?;
                match call {
                    "recv" => rx.recv().map(drop)?,
                    "try_recv" => rx.try_recv().map(drop)?,
                    _ => rx.recv_timeout(Duration::from_secs(5)).map(drop)?,
                }
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("bytes")
                .check(returned_check(len, prio))
        });
    }
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Buffers,
        "typed receiver keeps working after a wrong length",
        OK,
        move || {
            let rx = Receiver::<Tick>::create(&n, 2)?;
            let raw = MessageQueue::options().read(false).open(&n)?;
            raw.send(b"short", 9)?;
            raw.send(bytemuck::bytes_of(&TICK), 1)?;
            let first = rx.try_recv();
            ensure(
                matches!(&first, Err(e) if e.kind() == ErrorKind::WrongLength),
                || format!("{first:?}"),
            )?;
            let second = rx.try_recv()?;
            ensure(second == TICK, || format!("{second:?}"))
        },
    );
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "RawShared<64 bytes> on a 16-byte segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 16)?;
            RawShared::<Wide>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("16 bytes")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "RawShared open_at past the end",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 4096)?;
            RawShared::<Tick>::open_at(&m, 4090).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    for (label, offset, len) in [
        ("read_at past the end", 4090usize, 16usize),
        ("read_at offset usize::MAX", usize::MAX, 1),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Buffers,
            format!("mapping {label}"),
            err(ErrorKind::InvalidArgument),
            move || {
                let map = SharedMemory::create(&m, 4096)?.map()?;
                let mut buf = vec![0u8; len];
                map.read_at(offset, &mut buf)?;
                Ok(())
            },
        );
        t.with(|c| {
            c.obj(ObjectKind::SharedMemory)
                .named(&n)
                .mention("past the end")
        });
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Buffers,
        "mapping write_at offset usize::MAX",
        err(ErrorKind::InvalidArgument),
        move || {
            SharedMemory::create(&m, 4096)?
                .map()?
                .write_at(usize::MAX, b"xy")?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
}

fn mismatch(t: &mut Table) {
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Receiver<Tick> on a queue made for Wide",
        err(ErrorKind::Mismatch),
        move || {
            let _tx = Sender::<Wide>::create(&m, 2)?;
            Receiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .mention("64 bytes")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender<Tick> on a raw 4 x 64 queue",
        err(ErrorKind::Mismatch),
        move || {
            let _q = mq(&m)?;
            Sender::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&n)
            .mention("16 bytes")
    });
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Receiver open_or_create on another type's queue",
        err(ErrorKind::Mismatch),
        move || {
            let _q = mq(&m)?;
            Receiver::<Tick>::open_or_create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender open_or_create on another type's queue",
        err(ErrorKind::Mismatch),
        move || {
            let _rx = Receiver::<Wide>::create(&m, 2)?;
            Sender::<Tick>::open_or_create(&m, 2).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Sender::from_queue with a 64-byte queue",
        err(ErrorKind::Mismatch),
        move || {
            Sender::<Tick>::from_queue(mq(&m)?).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    t.here(
        Cat::Mismatch,
        "mq open_or_create keeps the existing sizes (A1)",
        OK,
        move || {
            let _first = mq(&n)?;
            let again = MessageQueue::open_or_create(&n, 8, 128)?;
            ensure(
                !again.created() && again.max_messages() == 4 && again.max_message_size() == 64,
                || {
                    format!(
                        "created {} sizes {} x {}",
                        again.created(),
                        again.max_messages(),
                        again.max_message_size()
                    )
                },
            )
        },
    );
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Mismatch,
        "sem open_or_create ignores the new value (A2)",
        OK,
        move || {
            let _first = Semaphore::create(&n, 1)?;
            let again = Semaphore::open_or_create(&n, 77)?;
            let v = again.value()?;
            ensure(!again.created() && v == 1, || {
                format!("created {} value {v}", again.created())
            })
        },
    );
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared<Tick> on a Shared<Wide> segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Wide { w: [0; 8] })?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("fingerprint")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared<Tick> on a same-size Other16 segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Other16 { a: 1, b: 2, c: 3 })?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("fingerprint")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open_or_create on another type",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Other16 { a: 1, b: 2, c: 3 })?;
            Shared::open_or_create(&m, &TICK).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared on a segment of foreign bytes",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 8192)?
                .map()?
                .write_at(0, &[0x5Au8; 8192])?;
            Shared::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("not a posix-ipc shared struct")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of a size-0 segment (creator not done)",
        err(ErrorKind::NotInitialized),
        move || {
            let _s = SharedMemory::options().create_new(true).open(&m)?;
            Shared::<Tick>::open_timeout(&m, Duration::from_millis(5)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of a sized all-zero segment (creator between resize and header)",
        err(ErrorKind::NotInitialized),
        move || {
            // The exact size a creator makes for Tick: a 64-byte header and two 64-byte slots.
            let _s = SharedMemory::create(&m, 192)?;
            Shared::<Tick>::open_timeout(&m, Duration::from_millis(5)).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Shared open of an all-zero segment of a size no creator makes (not waited for)",
        err(ErrorKind::Mismatch),
        move || {
            let _s = SharedMemory::create(&m, 4096)?;
            let started = Instant::now();
            let got = Shared::<Tick>::open(&m).map(drop);
            ensure(started.elapsed() < Duration::from_millis(500), || {
                format!(
                    "waited {:?} for a creator that cannot exist",
                    started.elapsed()
                )
            })?;
            got?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("RawShared")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "Ring open of a sized all-zero segment (creator between resize and header)",
        err(ErrorKind::NotInitialized),
        move || {
            let _s = SharedMemory::create(&m, 8192)?;
            RingReceiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RingSender<Wide> on a Tick ring",
        err(ErrorKind::Mismatch),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
            RingSender::<Wide>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n).mention("fingerprint"));
    for (label, cap, mode) in [
        ("capacity 8", 8usize, RingMode::Spsc),
        ("mode Mpmc", 4, RingMode::Mpmc),
    ] {
        let n = t.name(Kind::Shm);
        let m = n.clone();
        t.here(
            Cat::Mismatch,
            format!("ring open_checked {label} on a 4-slot Spsc ring"),
            err(ErrorKind::Mismatch),
            move || {
                let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
                RingSender::<Tick>::open_checked(&m, cap, mode).map(drop)?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::Ring).named(&n).mention("capacity"));
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RingReceiver on a segment of foreign bytes",
        err(ErrorKind::Mismatch),
        move || {
            SharedMemory::create(&m, 8192)?
                .map()?
                .write_at(0, &[0x5Au8; 8192])?;
            RingReceiver::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::Ring)
            .named(&n)
            .mention("not a posix-ipc ring")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Mismatch,
        "RobustMutex on a Shared segment",
        err(ErrorKind::Mismatch),
        move || {
            let _s = Shared::create(&m, &Wide { w: [1; 8] })?;
            RobustMutex::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.named(&n));
}

fn permissions(t: &mut Table) {
    // Objects root owns: mode 0600, and 0644 (others may read).
    let mut fixture = |mode: u32| -> (String, String, String) {
        let q = t.name(Kind::Mq);
        let s = t.name(Kind::Sem);
        let m = t.name(Kind::Shm);
        let made = MessageQueue::options()
            .create_new(true)
            .mode(mode)
            .max_messages(2)
            .max_message_size(64)
            .open(&q)
            .map(drop)
            .and_then(|()| {
                Semaphore::options()
                    .create_new(true)
                    .mode(mode)
                    .open(&s)
                    .map(drop)
            })
            .and_then(|()| {
                SharedMemory::options()
                    .create_new(true)
                    .mode(mode)
                    .size(4096)
                    .open(&m)
                    .map(drop)
            });
        if let Err(e) = made {
            panic!("permission fixtures: {e}");
        }
        (q, s, m)
    };
    let (q6, s6, m6) = fixture(0o600);
    let (q4, s4, m4) = fixture(0o644);
    let pd = err(ErrorKind::PermissionDenied);
    let rows: Vec<(&str, &'static str, &str, Kind, ObjectKind)> = vec![
        (
            "mq open 0600 as another user",
            "open-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "mq open read-only 0600 as another user",
            "open-mq-ro",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open 0600 as another user",
            "open-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open 0600 as another user",
            "open-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm open read-only 0600 as another user",
            "open-shm-ro",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq unlink another user's queue",
            "unlink-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem unlink another user's semaphore",
            "unlink-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm unlink another user's segment",
            "unlink-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq open_or_create on another user's name",
            "ooc-mq",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open_or_create on another user's name",
            "ooc-sem",
            &s6,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open_or_create on another user's name",
            "ooc-shm",
            &m6,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "typed Sender open on another user's queue",
            "sender-open",
            &q6,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "mq open write-only 0644",
            "open-mq-wo",
            &q4,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "sem open 0644",
            "open-sem",
            &s4,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "shm open read-write 0644",
            "open-shm",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm open with truncate 0644",
            "open-shm-trunc",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "shm read-only 0644 then resize",
            "shm-ro-resize",
            &m4,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "mq read-only 0644 then send",
            "mq-ro-send",
            &q4,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
    ];
    for (label, action, name, kind, object) in rows {
        t.child(Cat::Permissions, label, pd, "nobody", action, &[name]);
        let name = name.to_owned();
        t.with(|c| {
            c.obj(object)
                .named(&name)
                .after(still_exists(kind, name.clone()))
        });
    }
    t.child(
        Cat::Permissions,
        "mq create_new on another user's name fails closed",
        err(ErrorKind::AlreadyExists),
        "nobody",
        "create-mq",
        &[&q6],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&q6));
    t.child(
        Cat::Permissions,
        "shm create_new on another user's name fails closed",
        err(ErrorKind::AlreadyExists),
        "nobody",
        "create-shm",
        &[&m6],
    );
    t.with(|c| c.obj(ObjectKind::SharedMemory).named(&m6));
}

/// The opt-in owner and mode checks (`verify_owner`, `verify_mode`, `verify_private`): objects
/// given to uid 65534 (`fchown`/`chown`, as if that user had pre-created the name), objects with
/// mode 0644, and creations whose mode the check refuses (removed again).
fn verification(t: &mut Table) {
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

fn exhaustion(t: &mut Table) {
    let q = t.name(Kind::Mq);
    let s = t.name(Kind::Sem);
    let m = t.name(Kind::Shm);
    let made = mq(&q)
        .map(drop)
        .and_then(|()| Semaphore::create(&s, 0).map(drop))
        .and_then(|()| SharedMemory::create(&m, 4096).map(drop));
    if let Err(e) = made {
        panic!("exhaustion fixtures: {e}");
    }
    let le = err(ErrorKind::LimitExceeded);
    let nofile: Vec<(&str, &'static str, Option<&str>, Kind, ObjectKind)> = vec![
        (
            "RLIMIT_NOFILE full: mq create",
            "create-mq",
            None,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: sem create",
            "create-sem",
            None,
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "RLIMIT_NOFILE full: shm create",
            "create-shm",
            None,
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "RLIMIT_NOFILE full: mq open",
            "open-mq",
            Some(q.as_str()),
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: sem open",
            "open-sem",
            Some(s.as_str()),
            Kind::Sem,
            ObjectKind::Semaphore,
        ),
        (
            "RLIMIT_NOFILE full: shm open",
            "open-shm",
            Some(m.as_str()),
            Kind::Shm,
            ObjectKind::SharedMemory,
        ),
        (
            "RLIMIT_NOFILE full: typed Sender create",
            "create-sender",
            None,
            Kind::Mq,
            ObjectKind::MessageQueue,
        ),
        (
            "RLIMIT_NOFILE full: ring create",
            "create-ring",
            None,
            Kind::Shm,
            ObjectKind::Ring,
        ),
    ];
    for (label, action, existing, kind, object) in nofile {
        let name = match existing {
            Some(n) => n.to_owned(),
            None => t.name(kind),
        };
        t.child(Cat::Exhaustion, label, le, "nofile", action, &[&name]);
        let creates = existing.is_none();
        t.with(|c| {
            let c = c.obj(object).named(&name).mention("RLIMIT_NOFILE");
            if creates {
                c.fresh(kind, &name)
            } else {
                c
            }
        });
    }
    let name = t.name(Kind::Mq);
    t.child(
        Cat::Exhaustion,
        "RLIMIT_NOFILE 0: mq open",
        le,
        "nofile0",
        "open-mq",
        &[&q],
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&q)
            .mention("RLIMIT_NOFILE")
    });
    for (label, action) in [
        ("mq create", "create-mq"),
        ("typed Receiver create", "create-receiver"),
        ("mq open_or_create", "ooc-mq"),
    ] {
        let name = t.name(Kind::Mq);
        t.child(
            Cat::Exhaustion,
            format!("RLIMIT_MSGQUEUE 0: {label}"),
            le,
            "msgqueue0",
            action,
            &[&name],
        );
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&name)
                .mention("RLIMIT_MSGQUEUE")
                .fresh(Kind::Mq, &name)
        });
    }
    t.child(
        Cat::Exhaustion,
        "RLIMIT_MSGQUEUE 0: mq create_random",
        le,
        "msgqueue0",
        "create-mq-random",
        &[],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).mention("RLIMIT_MSGQUEUE"));
    t.child(
        Cat::Exhaustion,
        "fs.mqueue.queues_max 0 (private IPC namespace): mq create",
        le,
        "queues0",
        "create-mq",
        &[&name],
    );
    t.with(|c| {
        c.obj(ObjectKind::MessageQueue)
            .named(&name)
            .mention("queues_max")
            .fresh(Kind::Mq, &name)
    });
    let name = t.name(Kind::Shm);
    t.child(
        Cat::Exhaustion,
        "/dev/shm of 64 KiB (private mount): 1 MiB create",
        err(ErrorKind::NoSpace),
        "tinyshm",
        "create-shm-1m",
        &[&name],
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&name)
            .mention("/dev/shm")
            .fresh(Kind::Shm, &name)
    });
    t.child(
        Cat::Exhaustion,
        "more mappings than the truncation guard tracks",
        le,
        "none",
        "map-many",
        &[&m],
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&m)
            .mention("mappings")
    });
}

fn descriptors(t: &mut Table) {
    let pd = err(ErrorKind::PermissionDenied);
    let mq_rows: Vec<(&str, bool, bool, &str)> = vec![
        ("send on a read-only queue", true, false, "send"),
        ("receive on a write-only queue", false, true, "receive"),
        (
            "try_receive on a write-only queue",
            false,
            true,
            "try_receive",
        ),
        (
            "receive_into on a write-only queue",
            false,
            true,
            "receive_into",
        ),
    ];
    for (label, read, write, call) in mq_rows {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(Cat::Descriptors, format!("mq {label}"), pd, move || {
            let _fixture = mq(&m)?;
            let q = MessageQueue::options().read(read).write(write).open(&m)?;
            let mut buf = [0u8; 64];
            match call {
                "send" => q.send(b"x", 0)?,
                "receive" => q.receive().map(drop)?,
                "try_receive" => q.try_receive().map(drop)?,
                _ => q.receive_into(&mut buf, Timeout::Immediate).map(drop)?,
            }
            Ok(())
        });
        t.with(|c| {
            c.obj(ObjectKind::MessageQueue)
                .named(&n)
                .mention("not open for")
        });
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "raw send through a typed Receiver's queue",
        pd,
        move || {
            Receiver::<Tick>::create(&m, 2)?.queue().send(b"x", 0)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "raw receive through a typed Sender's queue",
        pd,
        move || {
            Sender::<Tick>::create(&m, 2)?.queue().try_receive()?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm resize through a read-only handle",
        pd,
        move || {
            let _rw = SharedMemory::create(&m, 4096)?;
            SharedMemory::options()
                .read_only(true)
                .open(&m)?
                .resize(8192)?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("read-only")
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm write through a read-only mapping",
        pd,
        move || {
            let _rw = SharedMemory::create(&m, 4096)?;
            SharedMemory::options()
                .read_only(true)
                .open(&m)?
                .map()?
                .write_at(0, b"x")?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .mention("read-only")
    });
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Descriptors,
            format!("{tag} unlink twice"),
            err(ErrorKind::NotFound),
            move || {
                create_new(kind, &m)?;
                unlink(kind, &m)?;
                unlink(kind, &m)
            },
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
    }
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "shm unlink through ClosedSharedMemory twice",
        err(ErrorKind::NotFound),
        move || {
            let closed = SharedMemory::create(&m, 4096)?.close_fd()?;
            closed.unlink()?;
            closed.unlink()?;
            Ok(())
        },
    );
    t.with(|c| {
        c.obj(ObjectKind::SharedMemory)
            .named(&n)
            .fresh(Kind::Shm, &n)
    });
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Descriptors,
        "mapping outlives close_fd and unlink",
        OK,
        move || {
            let shm = SharedMemory::create(&m, 4096)?;
            let map = shm.map()?;
            map.write_at(0, b"kept")?;
            shm.close_fd()?.unlink()?;
            let mut buf = [0u8; 4];
            map.read_at(0, &mut buf)?;
            ensure(&buf == b"kept", || format!("{buf:?}"))
        },
    );
    t.with(|c| c.fresh(Kind::Shm, &n));
    let n = t.name(Kind::Sem);
    t.here(
        Cat::Descriptors,
        "sem unlink by name after close",
        OK,
        move || {
            Semaphore::create(&n, 0)?.close()?;
            posix_ipc::unlink_semaphore(&n)?;
            Ok(())
        },
    );
    let closed = err(ErrorKind::Closed);
    for (label, action, kind) in [
        (
            "mq send after its descriptor was closed behind its back",
            "mq-send-closed",
            Kind::Mq,
        ),
        (
            "mq receive after its descriptor was closed behind its back",
            "mq-recv-closed",
            Kind::Mq,
        ),
        (
            "mq current_messages after its descriptor was closed",
            "mq-attr-closed",
            Kind::Mq,
        ),
        (
            "shm size after its descriptor was closed behind its back",
            "shm-size-closed",
            Kind::Shm,
        ),
        (
            "shm map after its descriptor was closed behind its back",
            "shm-map-closed",
            Kind::Shm,
        ),
    ] {
        let name = t.name(kind);
        t.child(Cat::Descriptors, label, closed, "none", action, &[&name]);
        t.with(|c| c.named(&name));
    }
}

fn misc(t: &mut Table) {
    for (kind, object, tag) in KINDS {
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} open a missing name"),
            err(ErrorKind::NotFound),
            move || open(kind, &m),
        );
        t.with(|c| c.obj(object).named(&n).fresh(kind, &n));
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} unlink a missing name"),
            err(ErrorKind::NotFound),
            move || unlink(kind, &m),
        );
        t.with(|c| c.obj(object).named(&n));
        let n = t.name(kind);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("{tag} create_new an existing name"),
            err(ErrorKind::AlreadyExists),
            move || {
                create_new(kind, &m)?;
                create_new(kind, &m)
            },
        );
        t.with(|c| c.obj(object).named(&n));
    }
    let n = t.name(Kind::Mq);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "mq new O_CREX on an existing name",
        err(ErrorKind::AlreadyExists),
        move || {
            let _q = mq(&m)?;
            MessageQueue::new(Some(&m), O_CREX, 0o600, 4, 64, true, true).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    for signo in [0, -1, 100_000] {
        let n = t.name(Kind::Mq);
        let m = n.clone();
        t.here(
            Cat::Misc,
            format!("mq notification signal {signo}"),
            err(ErrorKind::InvalidArgument),
            move || {
                mq(&m)?.request_notification(Notification::Signal(signo))?;
                Ok(())
            },
        );
        t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n).mention("signal"));
    }
    let n = t.name(Kind::Mq);
    t.child(
        Cat::Misc,
        "mq notification already taken by another process",
        err(ErrorKind::NotificationBusy),
        "none",
        "notify",
        &[&n],
    );
    t.with(|c| c.obj(ObjectKind::MessageQueue).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "second producer on an SPSC ring",
        err(ErrorKind::AlreadyExists),
        move || {
            let _rx = RingReceiver::<Tick>::create(&m, 4, RingMode::Spsc)?;
            let _tx = RingSender::<Tick>::open(&m)?;
            RingSender::<Tick>::open(&m).map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.obj(ObjectKind::Ring).named(&n));
    let n = t.name(Kind::Shm);
    let m = n.clone();
    t.here(
        Cat::Misc,
        "robust mutex locked twice by one thread",
        err(ErrorKind::Deadlock),
        move || {
            let mutex = RobustMutex::create(&m)?;
            let _g = mutex.lock()?;
            mutex.try_lock().map(drop)?;
            Ok(())
        },
    );
    t.with(|c| c.named(&n));
}

// --- running ------------------------------------------------------------------------------------

enum Outcome {
    Ok,
    Err {
        kind: String,
        object: String,
        display: String,
        err: Option<Error>,
    },
    Test(String),
    Panic(String),
    Skip(String),
}

fn outcome_of(r: Out) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(Fail::Test(m)) => Outcome::Test(m),
        Err(Fail::Lib(e)) => Outcome::Err {
            kind: format!("{:?}", e.kind()),
            object: format!("{:?}", e.object().kind),
            display: e.to_string(),
            err: Some(e),
        },
    }
}

fn run_child(env: &str, action: &str, names: &[String]) -> Outcome {
    let mut args: Vec<&str> = vec![env, action];
    args.extend(names.iter().map(String::as_str));
    let child = common::spawn_child("child_entry", "case", &args);
    let out = match child.wait_with_output() {
        Ok(out) => out,
        Err(e) => return Outcome::Panic(format!("could not wait for the child: {e}")),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("BI-RESULT\t").map(|(_, r)| r.to_owned()));
    let Some(line) = line else {
        return Outcome::Panic(format!(
            "the child gave no result ({}); stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    };
    let mut fields = line.splitn(4, '\t');
    match fields.next() {
        Some("ok") => Outcome::Ok,
        Some("err") => Outcome::Err {
            kind: fields.next().unwrap_or_default().to_owned(),
            object: fields.next().unwrap_or_default().to_owned(),
            display: fields.next().unwrap_or_default().to_owned(),
            err: None,
        },
        Some("skip") => Outcome::Skip(fields.next().unwrap_or_default().to_owned()),
        _ => Outcome::Test(fields.next().unwrap_or_default().to_owned()),
    }
}

fn verdict(case: &Case, outcome: &Outcome) -> Result<(), String> {
    match (case.expect, outcome) {
        (_, Outcome::Panic(m)) => Err(format!("PANIC: {m}")),
        (_, Outcome::Test(m)) => Err(m.clone()),
        (_, Outcome::Skip(_)) => Ok(()),
        (Expect::Ok, Outcome::Ok) => Ok(()),
        (Expect::Ok, Outcome::Err { display, .. }) => {
            Err(format!("expected success, got: {display}"))
        }
        (Expect::Err(k), Outcome::Ok) => Err(format!("expected {k:?}, but the call succeeded")),
        (
            Expect::Err(k),
            Outcome::Err {
                kind,
                object,
                display,
                err,
            },
        ) => {
            if *kind != format!("{k:?}") {
                return Err(format!("expected {k:?}, got {kind}: {display}"));
            }
            if !display.starts_with("cannot ") || display.len() < 12 {
                return Err(format!("the message does not say what failed: {display:?}"));
            }
            if let Some(want) = case.object {
                if *object != format!("{want:?}") {
                    return Err(format!(
                        "the error is about a {object}, not a {want:?}: {display}"
                    ));
                }
            }
            if let Some(name) = &case.name {
                let raw = format!("{name:?}");
                let normal = format!("{:?}", format!("/{}", name.trim_start_matches('/')));
                if !display.contains(&raw) && !display.contains(&normal) {
                    return Err(format!("the message does not name {raw}: {display}"));
                }
            }
            if let Some(text) = &case.mention {
                if !display.contains(text.as_str()) {
                    return Err(format!("the message does not mention {text:?}: {display}"));
                }
            }
            if let (Some(check), Some(e)) = (&case.check, err) {
                check(e)?;
            }
            Ok(())
        }
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Names with this process's suite prefix still present in /dev/shm or /dev/mqueue.
fn leftovers() -> Vec<String> {
    let prefix = format!("pit-{}-bi-", std::process::id());
    let mut found = Vec::new();
    for dir in ["/dev/shm", "/dev/mqueue"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.trim_start_matches("sem.").starts_with(&prefix) {
                found.push(format!("{dir}/{file}"));
            }
        }
    }
    found
}

fn mqueue_mounted() -> bool {
    if std::fs::read_to_string("/proc/mounts")
        .is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(2) == Some("mqueue")))
    {
        return true;
    }
    let _ = std::fs::create_dir_all("/dev/mqueue");
    std::process::Command::new("mount")
        .args(["-t", "mqueue", "none", "/dev/mqueue"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn bad_input_suite() {
    let mqueue_visible = mqueue_mounted();
    let mut table = Table {
        cases: Vec::new(),
        guards: Vec::new(),
    };
    names(&mut table);
    sizes(&mut table);
    priorities(&mut table);
    timeouts(&mut table);
    buffers(&mut table);
    mismatch(&mut table);
    permissions(&mut table);
    verification(&mut table);
    exhaustion(&mut table);
    descriptors(&mut table);
    misc(&mut table);
    let Table { cases, guards } = table;

    let total = cases.len();
    let mut failures = Vec::new();
    let mut known_hits = Vec::new();
    let mut skipped = Vec::new();
    let (mut passed, mut panics, mut leaks) = (0, 0, 0);
    let mut per_cat: BTreeMap<Cat, (usize, usize)> = BTreeMap::new();
    for mut case in cases {
        let run = std::mem::replace(&mut case.run, Run::Child("", "", Vec::new()));
        let outcome = match run {
            Run::Here(f) => match catch_unwind(AssertUnwindSafe(f)) {
                Ok(r) => outcome_of(r),
                Err(p) => Outcome::Panic(panic_text(p.as_ref())),
            },
            Run::Child(env, action, names) => run_child(env, action, &names),
        };
        let entry = per_cat.entry(case.cat).or_default();
        entry.0 += 1;
        if matches!(outcome, Outcome::Panic(_)) {
            panics += 1;
        }
        if let Outcome::Skip(why) = &outcome {
            skipped.push(format!("[{:?}] {}: {why}", case.cat, case.label));
            continue;
        }
        let mut result = verdict(&case, &outcome);
        if let Some(after) = case.after.take() {
            if let Err(e) = after() {
                result = result.and(Err(e));
            }
        }
        if let Some((kind, name)) = &case.fresh {
            if exists(*kind, name) {
                leaks += 1;
                result = result.and(Err(format!("left {} behind", path_of(*kind, name))));
            }
        }
        match (result, case.known) {
            (Ok(()), None) => {
                passed += 1;
                entry.1 += 1;
            }
            (Ok(()), Some(_)) => failures.push(format!(
                "[{:?}] {}: marked as a known failure but now passes: remove the mark",
                case.cat, case.label
            )),
            (Err(e), Some(why)) => known_hits.push(format!(
                "[{:?}] {}: {e}\n      known: {why}",
                case.cat, case.label
            )),
            (Err(e), None) => failures.push(format!("[{:?}] {}: {e}", case.cat, case.label)),
        }
    }
    drop(guards);
    let left = leftovers();
    let leftover_count = leaks + left.len();

    let cats: Vec<String> = per_cat
        .iter()
        .map(|(c, (n, ok))| format!("{c:?} {ok}/{n}"))
        .collect();
    common::say(&format!("bad_inputs: by category: {}", cats.join(", ")));
    for k in &known_hits {
        common::say(&format!("bad_inputs: KNOWN FAILURE {k}"));
    }
    for s in &skipped {
        common::say(&format!("bad_inputs: SKIPPED {s}"));
    }
    if !mqueue_visible {
        common::say("bad_inputs: /dev/mqueue is not mounted and could not be mounted: queue leftovers unchecked");
    }
    common::say(&format!(
        "bad_inputs: {total} cases, {passed} as expected, {} known failures, {} skipped, {panics} panics, {leftover_count} leftovers",
        known_hits.len(),
        skipped.len()
    ));
    assert!(
        failures.is_empty() && left.is_empty(),
        "{} of {total} bad-input cases failed:\n  {}\nleftover objects: {left:?}",
        failures.len(),
        failures.join("\n  ")
    );
}

// --- child processes ----------------------------------------------------------------------------

/// Puts the child into the environment a case needs. `Err` is a reason to skip.
fn enter(env: &str) -> Result<(), String> {
    let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    match env {
        "none" => Ok(()),
        "nobody" => {
            // SAFETY: plain system calls on this (child) process's credentials; no pointers
            // except a null group list of length 0.
            let r = unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0 {
                    return Err(os("setgroups"));
                }
                if libc::setgid(65534) != 0 {
                    return Err(os("setgid(65534)"));
                }
                libc::setuid(65534)
            };
            if r != 0 {
                return Err(os("setuid(65534)"));
            }
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 65534 {
                return Err("still not uid 65534".into());
            }
            Ok(())
        }
        "nofile" | "nofile0" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid rlimit to fill.
            if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
                return Err(os("getrlimit"));
            }
            lim.rlim_cur = if env == "nofile0" {
                0
            } else {
                64.min(lim.rlim_max)
            };
            // SAFETY: lowering this process's own soft limit.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                return Err(os("setrlimit(RLIMIT_NOFILE)"));
            }
            if env == "nofile" {
                // Fill every free descriptor number below the limit.
                // SAFETY: dup of stdin; the copies are deliberately leaked until exit.
                while unsafe { libc::dup(0) } >= 0 {}
            }
            Ok(())
        }
        "msgqueue0" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid rlimit to fill.
            if unsafe { libc::getrlimit(libc::RLIMIT_MSGQUEUE, &mut lim) } != 0 {
                return Err(os("getrlimit"));
            }
            lim.rlim_cur = 0;
            // SAFETY: lowering this process's own soft limit.
            if unsafe { libc::setrlimit(libc::RLIMIT_MSGQUEUE, &lim) } != 0 {
                return Err(os("setrlimit(RLIMIT_MSGQUEUE)"));
            }
            Ok(())
        }
        "queues0" => {
            // SAFETY: moves this child into a new IPC namespace; no memory is involved.
            if unsafe { libc::unshare(libc::CLONE_NEWIPC) } != 0 {
                return Err(os("unshare(CLONE_NEWIPC) (needs CAP_SYS_ADMIN)"));
            }
            std::fs::write("/proc/sys/fs/mqueue/queues_max", "0")
                .map_err(|e| format!("set queues_max in the private namespace: {e}"))
        }
        "tinyshm" => {
            let none = c"none";
            let root = c"/";
            let shm = c"/dev/shm";
            let tmpfs = c"tmpfs";
            let opts = c"size=64k";
            // SAFETY: a new mount namespace for this child only, made private before anything
            // is mounted so nothing propagates to the host; all strings are NUL-terminated.
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(os("unshare(CLONE_NEWNS) (needs CAP_SYS_ADMIN)"));
                }
                if libc::mount(
                    none.as_ptr(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(os("make / private"));
                }
                if libc::mount(
                    tmpfs.as_ptr(),
                    shm.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    opts.as_ptr().cast(),
                ) != 0
                {
                    return Err(os("mount a 64 KiB tmpfs on /dev/shm"));
                }
            }
            Ok(())
        }
        other => Err(format!("unknown environment {other}")),
    }
}

fn child_action(action: &str, names: &[String]) -> Out {
    let name = names.first().map(String::as_str).unwrap_or("");
    match action {
        "open-mq" => MessageQueue::open(name).map(drop)?,
        "open-mq-ro" => MessageQueue::options().write(false).open(name).map(drop)?,
        "open-mq-wo" => MessageQueue::options().read(false).open(name).map(drop)?,
        "open-sem" => Semaphore::open(name).map(drop)?,
        "open-shm" => SharedMemory::open(name).map(drop)?,
        "open-shm-ro" => SharedMemory::options()
            .read_only(true)
            .open(name)
            .map(drop)?,
        "open-shm-trunc" => SharedMemory::options()
            .truncate(true)
            .open(name)
            .map(drop)?,
        "unlink-mq" => posix_ipc::unlink_message_queue(name)?,
        "unlink-sem" => posix_ipc::unlink_semaphore(name)?,
        "unlink-shm" => posix_ipc::unlink_shared_memory(name)?,
        "ooc-mq" => MessageQueue::open_or_create(name, 2, 64).map(drop)?,
        "ooc-sem" => Semaphore::open_or_create(name, 0).map(drop)?,
        "ooc-shm" => SharedMemory::open_or_create(name, 4096).map(drop)?,
        "create-mq" => MessageQueue::create(name, 2, 64).map(drop)?,
        "create-sem" => Semaphore::create(name, 0).map(drop)?,
        "create-shm" => SharedMemory::create(name, 4096).map(drop)?,
        "create-shm-1m" => SharedMemory::create(name, 1 << 20).map(drop)?,
        "create-sender" => Sender::<Tick>::create(name, 2).map(drop)?,
        "create-receiver" => Receiver::<Tick>::create(name, 2).map(drop)?,
        "create-ring" => RingSender::<Tick>::create(name, 4, RingMode::Spsc).map(drop)?,
        "create-mq-random" => {
            let q = MessageQueue::create_random(2, 64)?;
            let _ = q.unlink();
        }
        "sender-open" => Sender::<Tick>::open(name).map(drop)?,
        "shm-ro-resize" => SharedMemory::options()
            .read_only(true)
            .open(name)?
            .resize(8192)?,
        "mq-ro-send" => MessageQueue::options()
            .write(false)
            .open(name)?
            .send(b"x", 0)?,
        "map-many" => {
            let shm = SharedMemory::open(name)?;
            let mut maps = Vec::new();
            for _ in 0..20_000 {
                maps.push(shm.map_range(0, 64)?);
            }
            return Err(Fail::Test("20,000 mappings and no limit reached".into()));
        }
        "mq-send-closed" | "mq-recv-closed" | "mq-attr-closed" => {
            let q = mq(name)?;
            // SAFETY: closes the queue's descriptor behind its back on purpose (the misuse under
            // test); the handle is forgotten below so it never closes that number again, and
            // this child opens nothing else in between that could reuse it.
            unsafe { libc::close(q.mqd()) };
            let r = match action {
                "mq-send-closed" => q.send(b"x", 0),
                "mq-recv-closed" => q.try_receive().map(drop),
                _ => q.current_messages().map(drop),
            };
            std::mem::forget(q);
            r?;
        }
        "shm-size-closed" | "shm-map-closed" => {
            let shm = SharedMemory::create(name, 4096)?;
            // SAFETY: as above, for the segment's descriptor.
            unsafe { libc::close(shm.fd()) };
            let r = if action == "shm-size-closed" {
                shm.size().map(drop)
            } else {
                shm.map().map(drop)
            };
            std::mem::forget(shm);
            r?;
        }
        "notify" => {
            let first = mq(name)?;
            first.request_notification(Notification::Signal(*posix_ipc::USER_SIGNAL_MIN))?;
            let child =
                common::spawn_child("child_entry", "case", &["none", "notify-second", name]);
            let out = child
                .wait_with_output()
                .map_err(|e| Fail::Test(e.to_string()))?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = stdout
                .lines()
                .find_map(|l| l.split_once("BI-RESULT\t").map(|(_, r)| r.to_owned()))
                .unwrap_or_else(|| "test\tthe second process gave no result".to_owned());
            // Pass the second process's verdict on as ours.
            println!("BI-RESULT\t{line}");
            std::process::exit(0);
        }
        "notify-second" => MessageQueue::open(name)?
            .request_notification(Notification::Signal(*posix_ipc::USER_SIGNAL_MIN))?,
        other => return Err(Fail::Test(format!("unknown action {other}"))),
    }
    Ok(())
}

#[test]
#[ignore = "child-process entry point, run by the tests that spawn it"]
fn child_entry() {
    let Some((role, args)) = common::child_role() else {
        panic!("child_entry runs only as a child process");
    };
    assert_eq!(role, "case");
    let (env, action, names) = (args[0].as_str(), args[1].as_str(), &args[2..]);
    let line = match enter(env) {
        Err(why) => format!("skip\t{why}"),
        Ok(()) => match outcome_of(child_action(action, names)) {
            Outcome::Ok => "ok".to_owned(),
            Outcome::Err {
                kind,
                object,
                display,
                ..
            } => format!("err\t{kind}\t{object}\t{display}"),
            Outcome::Test(m) | Outcome::Panic(m) | Outcome::Skip(m) => format!("test\t{m}"),
        },
    };
    println!("BI-RESULT\t{line}");
}

// --- security defaults: close-on-exec and mode 0600 ---------------------------------------------

fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_owned()))
        })
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

fn cloexec(fd: i32) -> bool {
    // SAFETY: F_GETFD on a descriptor this process holds open; no memory is involved.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

#[test]
fn descriptors_are_cloexec_and_new_objects_private() {
    let (q, _gq) = common::guarded(Kind::Mq, "cx");
    let (s, _gs) = common::guarded(Kind::Sem, "cx");
    let (m, _gm) = common::guarded(Kind::Shm, "cx");
    let (tq, _gt) = common::guarded(Kind::Mq, "cx");
    let (sh, _gsh) = common::guarded(Kind::Shm, "cx");
    let (rg, _grg) = common::guarded(Kind::Shm, "cx");
    let mq = MessageQueue::create(&q, 2, 64).unwrap();
    let sem = Semaphore::create(&s, 0).unwrap();
    let shm = SharedMemory::create(&m, 4096).unwrap();
    let ro = SharedMemory::options().read_only(true).open(&m).unwrap();
    let tx = Sender::<Tick>::create(&tq, 2).unwrap();
    let rx = Receiver::<Tick>::open(&tq).unwrap();
    let shared = Shared::create(&sh, &TICK).unwrap();
    let ring = RingReceiver::<Tick>::create(&rg, 4, RingMode::Spsc).unwrap();

    for (what, fd) in [
        ("MessageQueue (AsFd)", mq.as_fd().as_raw_fd()),
        ("MessageQueue::mqd", mq.mqd()),
        ("SharedMemory (AsFd)", shm.as_fd().as_raw_fd()),
        ("read-only SharedMemory::fd", ro.fd()),
        ("typed Sender's queue", tx.queue().mqd()),
        ("typed Receiver's queue", rx.queue().mqd()),
    ] {
        assert!(cloexec(fd), "{what}: descriptor {fd} lacks FD_CLOEXEC");
    }

    // Every descriptor of this process that refers to one of these objects (including those
    // kept inside Shared and the ring, which expose none) is close-on-exec.
    let ours = [&q, &m, &tq, &sh, &rg].map(|n| n.trim_start_matches('/').to_owned());
    let mut seen = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if ours
            .iter()
            .any(|n| target.ends_with(n.as_str()) || target.contains(&format!("{n} ")))
        {
            let fd: i32 = entry.file_name().to_string_lossy().parse().unwrap();
            seen += 1;
            assert!(cloexec(fd), "descriptor {fd} ({target}) lacks FD_CLOEXEC");
        }
    }
    assert!(
        seen >= 6,
        "found only {seen} descriptors of the test objects in /proc/self/fd"
    );

    // And none of them reaches a program this process executes.
    let out = std::process::Command::new("sh")
        .args(["-c", "for f in /proc/self/fd/*; do readlink \"$f\"; done"])
        .output()
        .expect("run sh");
    let listing = String::from_utf8_lossy(&out.stdout);
    for n in &ours {
        assert!(
            !listing.contains(n.as_str()),
            "{n} leaked into an exec'd child:\n{listing}"
        );
    }

    // New objects get mode 0600 (less the umask).
    let want = 0o600 & !umask();
    use std::os::unix::fs::PermissionsExt;
    for (kind, name) in [
        (Kind::Mq, &q),
        (Kind::Sem, &s),
        (Kind::Shm, &m),
        (Kind::Mq, &tq),
        (Kind::Shm, &sh),
        (Kind::Shm, &rg),
    ] {
        let path = path_of(kind, name);
        let mode = std::fs::metadata(&path).map(|md| md.permissions().mode() & 0o777);
        assert_eq!(
            mode.as_ref().ok(),
            Some(&want),
            "{path}: mode {mode:?}, expected {want:o}"
        );
    }
    assert_eq!(shm.stat().unwrap().mode & 0o777, want);
    assert_eq!((mq.mode(), sem.mode(), shm.mode()), (0o600, 0o600, 0o600));
    drop((ring, shared));
}
