//! The proptest runner shared by the core's randomised properties (issue 6).

use std::cell::Cell;
use std::io::Write as _;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

/// Runs `test` on `cases` values of `strategy` and prints how many cases were generated
/// (the figure quoted in RELIABILITY.md).
pub(crate) fn run<S: Strategy>(
    label: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> TestCaseResult,
) {
    let count = Cell::new(0u64);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |v| {
        count.set(count.get() + 1);
        test(v)
    });
    // Written to stderr directly, which libtest does not capture (it captures the
    // print macros only), so the figures show in every run.
    let _ = writeln!(
        std::io::stderr().lock(),
        "randomised property {label}: {} cases generated ({cases} configured)",
        count.get()
    );
    if let Err(e) = result {
        panic!("property {label} failed: {e}");
    }
}
