//! The C library as its user has it, for the tests of `posix-ipc-c` and of the workspace root
//! (`#[path = ".../posix-ipc-c/tests/support/install.rs"] mod install;`): built and installed
//! by `posix-ipc-c/install.sh` into cargo's temporary folder, once per test binary.
//!
//! `cargo test` does not build a crate that is only a `cdylib` and a `staticlib` (nothing
//! links it), so the script builds it, in a target directory of its own: the `cargo test`
//! that runs this holds the lock of its own, and a second build there would wait for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The installed prefix (`include/`, `lib/` with the `.so`, `.a`, pkg-config and CMake files).
/// `install_sh` is the script's path; the build is a debug one (the tests need no speed).
pub fn c_prefix(install_sh: &Path, tmp: &Path) -> PathBuf {
    static PREFIX: OnceLock<PathBuf> = OnceLock::new();
    PREFIX
        .get_or_init(|| {
            remove_stale(tmp);
            let prefix = tmp.join(format!("c-prefix-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&prefix);
            let out = Command::new("bash")
                .arg(install_sh)
                .arg("--prefix")
                .arg(&prefix)
                .args(["--profile", "debug"])
                .env("CARGO_TARGET_DIR", tmp.join("c-library-target"))
                .output()
                .expect("run posix-ipc-c/install.sh");
            assert!(
                out.status.success(),
                "posix-ipc-c/install.sh failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            prefix
        })
        .clone()
}

/// Removes the prefixes of earlier test runs whose process is gone.
fn remove_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("c-prefix-") {
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}
