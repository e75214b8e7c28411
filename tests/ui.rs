//! Compile-time checks of `#[derive(IpcMessage)]`: every `tests/ui/fail/*.rs` must fail to
//! compile with exactly its reviewed `.stderr`; every `tests/ui/pass/*.rs` must compile and run.
//! Regenerate the `.stderr` files after an intended change with `TRYBUILD=overwrite cargo test
//! --test ui`, then review the diff.

#[test]
fn derive_ipc_message_compile_checks() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
