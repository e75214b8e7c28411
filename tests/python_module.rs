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

/// Our own Python tests of the module (posix-ipc-python/tests/test_*.py, pytest): the surface
/// against the C module, bad inputs, the fuzzer, blocking calls and signals, notifications,
/// RobustMutex. They remove their objects, and fail if any is left.
#[test]
fn our_python_tests_pass() {
    let Some(python) = common::python_module("our_python_tests_pass") else {
        return;
    };
    let out = common::run_module_python(&python, &["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
    assert!(out.contains(" passed"), "{out}");
    assert!(!out.contains(" failed"), "{out}");
}

/// The shipped type stub (`posix_ipc_rs.pyi`, with `py.typed`) matches the module at run time
/// (`mypy.stubtest`), and our Python tests and examples type-check against it with
/// `mypy --strict`.
#[test]
fn the_type_stub_is_accurate() {
    let Some(python) = common::python_module("the_type_stub_is_accurate") else {
        return;
    };
    let out = common::run_module_python(
        &python,
        &[
            "-m",
            "mypy.stubtest",
            "posix_ipc_rs",
            "--allowlist",
            "stubtest-allowlist.txt",
        ],
    );
    assert!(out.contains("Success"), "{out}");
    let out = common::run_module_python(
        &python,
        &[
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            "../pyproject.toml",
            ".",
            "../../examples/python",
        ],
    );
    assert!(out.contains("Success: no issues found"), "{out}");
}

/// posix_ipc's demos 1 to 4 from its sdist, unchanged, on posix_ipc_rs (every Python process,
/// children included, checked to have used it); demo1's Python halves also paired with the Rust
/// `shm_ping_pong` and with demo1's C premise and conclusion, built from the sdist.
#[test]
fn posix_ipc_demos_run_on_it() {
    let Some(python) = common::python_module("posix_ipc_demos_run_on_it") else {
        return;
    };
    let Some(tree) = common::posix_ipc_sdist("posix_ipc_demos_run_on_it") else {
        return;
    };
    let sdist = tree.parent().unwrap().join("posix_ipc-1.3.2.tar.gz");
    let ping_pong = common::example("shm_ping_pong");
    let out = common::run_module_python(
        &python,
        &[
            "run_posix_ipc_demos.py",
            "--sdist",
            sdist.to_str().unwrap(),
            "--shm-ping-pong",
            ping_pong.to_str().unwrap(),
        ],
    );
    for line in [
        "demo1 premise.py + conclusion.py: 1000 iterations",
        "demo1 premise.py + C conclusion: 1000 iterations",
        "demo1 C premise + conclusion.py: 1000 iterations",
        "demo1 premise.py + Rust shm_ping_pong: 1000 iterations",
        "demo1 Rust shm_ping_pong + conclusion.py: 1000 iterations",
        "demo2 premise.py + conclusion.py: 1000 iterations",
        "demo3 repeating_thread.py: 2 notification(s) received",
        "demo4 parent.py + child.py",
        "Python processes run: 14; on posix_ipc_rs: 14",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}
