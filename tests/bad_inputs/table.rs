//! The case table: categories, what a case expects, one case with its builder steps, and the
//! table that collects the cases and the guards of their objects.

use posix_ipc::{Error, ErrorKind, ObjectKind};

use crate::common::{self, Cleanup, Kind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cat {
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
pub(crate) enum Expect {
    Err(ErrorKind),
    Ok,
}

/// A case's own failure: the library's error, or a check the case made itself.
pub(crate) enum Fail {
    Lib(Error),
    Test(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Lib(e)
    }
}

pub(crate) type Out = Result<(), Fail>;

pub(crate) fn ensure(cond: bool, what: impl FnOnce() -> String) -> Out {
    if cond {
        Ok(())
    } else {
        Err(Fail::Test(what()))
    }
}

/// A case's call, run in this process.
pub(crate) type Call = Box<dyn FnOnce() -> Out>;

pub(crate) enum Run {
    Here(Call),
    /// Run in a child process: (environment, action, names).
    Child(&'static str, &'static str, Vec<String>),
}

pub(crate) type ErrCheck = Box<dyn Fn(&Error) -> Result<(), String>>;
pub(crate) type After = Box<dyn FnOnce() -> Result<(), String>>;

pub(crate) struct Case {
    pub(crate) label: String,
    pub(crate) cat: Cat,
    pub(crate) expect: Expect,
    pub(crate) object: Option<ObjectKind>,
    pub(crate) name: Option<String>,
    pub(crate) mention: Option<String>,
    pub(crate) fresh: Option<(Kind, String)>,
    pub(crate) known: Option<&'static str>,
    pub(crate) check: Option<ErrCheck>,
    pub(crate) after: Option<After>,
    pub(crate) run: Run,
}

impl Case {
    pub(crate) fn obj(mut self, kind: ObjectKind) -> Case {
        self.object = Some(kind);
        self
    }
    pub(crate) fn named(mut self, name: &str) -> Case {
        self.name = Some(name.to_owned());
        self
    }
    pub(crate) fn mention(mut self, text: &str) -> Case {
        self.mention = Some(text.to_owned());
        self
    }
    /// The name must not exist after the case (nothing left behind by a failed create).
    pub(crate) fn fresh(mut self, kind: Kind, name: &str) -> Case {
        self.fresh = Some((kind, name.to_owned()));
        self
    }
    #[expect(
        dead_code,
        reason = "no known failure at present; kept to record one honestly"
    )]
    pub(crate) fn known(mut self, why: &'static str) -> Case {
        self.known = Some(why);
        self
    }
    pub(crate) fn check(mut self, f: impl Fn(&Error) -> Result<(), String> + 'static) -> Case {
        self.check = Some(Box::new(f));
        self
    }
    pub(crate) fn after(mut self, f: impl FnOnce() -> Result<(), String> + 'static) -> Case {
        self.after = Some(Box::new(f));
        self
    }
}

/// The cases plus the guards that remove every object they use at the end.
pub(crate) struct Table {
    pub(crate) cases: Vec<Case>,
    pub(crate) guards: Vec<Cleanup>,
}

impl Table {
    pub(crate) fn name(&mut self, kind: Kind) -> String {
        let (name, guard) = common::guarded(kind, "bi");
        self.guards.push(guard);
        name
    }

    pub(crate) fn here(
        &mut self,
        cat: Cat,
        label: impl Into<String>,
        expect: Expect,
        f: impl FnOnce() -> Out + 'static,
    ) -> &mut Case {
        self.add(cat, label, expect, Run::Here(Box::new(f)))
    }

    pub(crate) fn child(
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

    pub(crate) fn add(
        &mut self,
        cat: Cat,
        label: impl Into<String>,
        expect: Expect,
        run: Run,
    ) -> &mut Case {
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
    pub(crate) fn with(&mut self, f: impl FnOnce(Case) -> Case) {
        let case = self.cases.pop().expect("a case to amend");
        self.cases.push(f(case));
    }
}

pub(crate) use Expect::Ok as OK;
pub(crate) fn err(kind: ErrorKind) -> Expect {
    Expect::Err(kind)
}
