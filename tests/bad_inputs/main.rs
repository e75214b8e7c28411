//! The bad-input suite of issue 6 (reference `reliability.md` §2 and §4.2): a table of cases
//! across names, sizes and attributes, priorities, timeouts, buffers and typed lengths,
//! mismatched attributes on open, permissions, resource exhaustion, descriptor misuse and a few
//! more. Every case expects an exact [`ErrorKind`](posix_ipc::ErrorKind) (a few boundary rows expect success, as the
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
//! The totals go to uncaptured stderr (`bad_inputs: N cases, ...`), which `scripts/reliability`
//! puts in RELIABILITY.md.
//!
//! Layout: this file holds the suite's two entry points (the suite, and the child process's);
//! `table` the case table, `fixtures` the message types and object helpers, one module per
//! category builds its cases, `run` runs a case and judges it, `child` is what a child process
//! does, and `descriptors_and_modes` is a test of its own (close-on-exec, mode 0600).

#[path = "../common/mod.rs"]
mod common;

mod child;
mod descriptors_and_modes;
mod fixtures;
mod run;
mod table;

// The categories, one module each, building their cases (`verification` counts as permissions).
mod buffers;
mod descriptors;
mod exhaustion;
mod misc;
mod mismatch;
mod names;
mod permissions;
mod priorities;
mod sizes;
mod timeouts;
mod verification;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use child::{child_action, enter};
use fixtures::{exists, path_of};
use run::{leftovers, mqueue_mounted, outcome_of, panic_text, run_child, verdict, Outcome};
use table::{Cat, Run, Table};

#[test]
fn bad_input_suite() {
    let mqueue_visible = mqueue_mounted();
    let mut table = Table {
        cases: Vec::new(),
        guards: Vec::new(),
    };
    names::cases(&mut table);
    sizes::cases(&mut table);
    priorities::cases(&mut table);
    timeouts::cases(&mut table);
    buffers::cases(&mut table);
    mismatch::cases(&mut table);
    permissions::cases(&mut table);
    verification::cases(&mut table);
    exhaustion::cases(&mut table);
    descriptors::cases(&mut table);
    misc::cases(&mut table);
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
