//! The `posix_ipc_rs` Python module (posix-ipc-python): posix_ipc 1.3.2's own test suite run
//! unchanged against it, our Python tests, the type stubs, and posix_ipc's demos.
//!
//! The module is built from this tree into a virtual environment (see
//! `common::python_module`); without Python or the package index these tests are skipped with a
//! message, and with `POSIX_IPC_REQUIRE_PYTHON=1` (CI) they fail instead.

mod common;

/// posix_ipc's `tests/` folder from its sdist, with `posix_ipc` resolved to `posix_ipc_rs`:
/// all 93 tests pass, and every test module imported our module.
#[test]
fn posix_ipc_own_suite_passes_unchanged() {
    let Some(python) = common::python_module("posix_ipc_own_suite_passes_unchanged") else {
        return;
    };
    let Some(tree) = common::posix_ipc_sdist("posix_ipc_own_suite_passes_unchanged") else {
        return;
    };
    let sdist = tree.parent().unwrap().join("posix_ipc-1.3.2.tar.gz");
    let out = common::run_module_python(
        &python,
        &["run_posix_ipc_suite.py", "--sdist", sdist.to_str().unwrap()],
    );
    assert!(out.contains("Ran 93 tests"), "{out}");
    assert!(out.contains("\nOK"), "{out}");
    assert!(
        out.contains("test modules loaded: 4, of which imported posix_ipc_rs as posix_ipc: 4"),
        "{out}"
    );
}
