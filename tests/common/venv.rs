//! A Python virtual environment with packages from the package index, made once at test time
//! and shared by every test of the binary (`#[path = ".../tests/common/venv.rs"] mod venv;`).
//!
//! Tests of one binary run in parallel: without the lock, two of them would each run
//! `python3 -m venv` on the same directory, and one would fail with "File exists".

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Serialises the making of environments within this test binary (test binaries run one after
/// another, and each environment has its own directory).
static MAKING: Mutex<()> = Mutex::new(());

/// The interpreter of the environment `dir`, in which `import` (Python statements) succeeds
/// after `pip install packages`, or why there is none.
pub fn venv(dir: &Path, import: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let _making = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let python = dir.join("bin/python");
    let ok = || {
        Command::new(&python)
            .args(["-c", import])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ok() {
        return Ok(python);
    }
    let run = |what: &str, cmd: &mut Command| -> Result<(), String> {
        let out = cmd
            .output()
            .map_err(|e| format!("{what}: cannot run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    if !python.exists() {
        // `--clear`: a directory left half-made by an interrupted run is made again.
        run(
            "python3 -m venv",
            Command::new("python3")
                .args(["-m", "venv", "--clear"])
                .arg(dir),
        )?;
    }
    run(
        &format!("pip install {}", packages.join(" ")),
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(packages),
    )?;
    if ok() {
        Ok(python)
    } else {
        Err(format!(
            "`{import}` fails after pip install {}",
            packages.join(" ")
        ))
    }
}
