//! Running a case: its outcome here or in a child process, the verdict against what it expects,
//! and the leftover check.

use posix_ipc::Error;

use crate::common;
use crate::table::{Case, Expect, Fail, Out};

pub(crate) enum Outcome {
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

pub(crate) fn outcome_of(r: Out) -> Outcome {
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

pub(crate) fn run_child(env: &str, action: &str, names: &[String]) -> Outcome {
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

pub(crate) fn verdict(case: &Case, outcome: &Outcome) -> Result<(), String> {
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

pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Names with this process's suite prefix still present in /dev/shm or /dev/mqueue.
pub(crate) fn leftovers() -> Vec<String> {
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

pub(crate) fn mqueue_mounted() -> bool {
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
