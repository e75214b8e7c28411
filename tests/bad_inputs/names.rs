//! Names: empty, slash-only, `.`/`..`, embedded slashes and NULs, one byte over NAME_MAX or
//! PATH_MAX, the longest legal name, and the optional leading slash, for every kind and the
//! typed constructors.

use posix_ipc::{
    ErrorKind, ObjectKind, RawShared, Receiver, RingMode, RingReceiver, RingSender, RobustMutex,
    Sender, Shared,
};

use crate::common::{self, Kind};
use crate::fixtures::{create_new, open, unlink, Tick, KINDS, TICK};
use crate::table::{err, Call, Cat, Fail, Run, Table, OK};

pub(crate) fn cases(t: &mut Table) {
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
