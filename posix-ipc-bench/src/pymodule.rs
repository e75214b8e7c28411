//! The `py_*` rows: the same Python workloads on posix_ipc (C) and on posix_ipc_rs, alternating
//! in one run (`py_compare.py`), with the ratio `python_rs_over_c` (our cost over posix_ipc's).
//!
//! The Python is the one given in `POSIX_IPC_BENCH_PYTHON`, or else the test suite's virtual
//! environment (`target/tmp/python-venv`, which `cargo test` builds with the module in release
//! mode); it must import both `posix_ipc` and `posix_ipc_rs`.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// One `py_*` row, as `py_compare.py` printed it.
pub struct PyRow {
    pub workload: String,
    pub ours: f64,
    pub posix_ipc: f64,
    pub ratio: f64,
    pub floor: Option<f64>,
    pub what: String,
    pub json: String,
}

pub(crate) fn field<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let at = json.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &json[at..];
    if let Some(s) = rest.strip_prefix('"') {
        return s.split('"').next();
    }
    rest.split([',', '}']).next().map(str::trim)
}

pub(crate) fn num(json: &str, key: &str) -> Option<f64> {
    field(json, key)?.parse().ok()
}

/// The interpreter to use, if one with both modules is found.
pub fn python() -> Result<PathBuf, String> {
    let given = std::env::var_os("POSIX_IPC_BENCH_PYTHON").map(PathBuf::from);
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/python-venv/bin/python");
    let python = match given {
        Some(p) => p,
        None if venv.exists() => venv,
        None => {
            return Err(
                "no Python with posix_ipc_rs: run `cargo test` first (it builds one in \
                 target/tmp/python-venv) or set POSIX_IPC_BENCH_PYTHON"
                    .into(),
            )
        }
    };
    let ok = Command::new(&python)
        .args(["-c", "import posix_ipc, posix_ipc_rs"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(python)
    } else {
        Err(format!(
            "{} cannot import both posix_ipc and posix_ipc_rs",
            python.display()
        ))
    }
}

/// Runs the comparison: `reps` alternating repetitions, iterations scaled by `scale`.
pub fn run(python: &PathBuf, reps: usize, scale: f64, only: Option<&str>) -> Vec<PyRow> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/py_compare.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(reps.to_string())
        .arg(scale.to_string())
        .arg(only.unwrap_or(""))
        .output()
        .expect("run py_compare.py");
    if !out.status.success() {
        eprintln!(
            "posix-ipc-bench: py_compare.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::process::exit(1);
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| PyRow {
            workload: field(l, "workload").unwrap_or("?").to_owned(),
            ours: num(l, "ours").unwrap_or(f64::NAN),
            posix_ipc: num(l, "posix_ipc").unwrap_or(f64::NAN),
            ratio: num(l, "python_rs_over_c").unwrap_or(f64::NAN),
            floor: num(l, "call_floor"),
            what: field(l, "what").unwrap_or("").to_owned(),
            json: l.to_owned(),
        })
        .collect()
}

/// The table of the `py_*` rows.
pub fn table(rows: &[PyRow], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "\n## Python: posix_ipc_rs against posix_ipc (C), same workload, alternating\n"
    )?;
    writeln!(
        out,
        "| workload | posix_ipc_rs ns/op | posix_ipc ns/op | python_rs_over_c | floor ns/op |"
    )?;
    writeln!(out, "|---|---|---|---|---|")?;
    for r in rows {
        writeln!(
            out,
            "| `{}` | {:.1} | {:.1} | {:.3} | {} |",
            r.workload,
            r.ours,
            r.posix_ipc,
            r.ratio,
            r.floor.map_or("".into(), |f| format!("{f:.1}"))
        )?;
    }
    Ok(())
}

/// The targets of the Python issues, checked against this run: the `py_*` rows', then the
/// `py_topic_*` rows' ([`crate::py_topics::targets`]).
pub fn targets(
    rows: &[PyRow],
    topics: &[crate::py_topics::TopicRow],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    writeln!(out, "\n## Python targets, checked against this run\n")?;
    for r in rows {
        let (limit, what) = match r.workload.as_str() {
            "py_sem_pair" => (0.67, "at most 0.67 (1.5x faster)"),
            "py_ring_stream_64" => (
                0.10,
                "at most 0.10 (the ring at least 10x posix_ipc's queue stream)",
            ),
            "py_ring_stream_64_single" => (1.00, "at most 1.00 (no slower than posix_ipc's queue)"),
            _ => (1.00, "at most 1.00 (no slower than posix_ipc)"),
        };
        writeln!(
            out,
            "- `{}`: python_rs_over_c {:.3}, needs {what}: {}",
            r.workload,
            r.ratio,
            verdict(r.ratio <= limit)
        )?;
    }
    if let Some(r) = rows.iter().find(|r| r.workload == "py_sem_pair") {
        if let Some(floor) = r.floor {
            writeln!(
                out,
                "\n`py_sem_pair` against the interpreter's floor: two calls of a builtin method \
                 that does nothing cost {floor:.1} ns in the same run, posix_ipc's pair \
                 {:.1} ns and ours {:.1} ns. A ratio of 0.67 would need the pair in {:.1} ns, \
                 {:.1} ns above two calls that do nothing at all.",
                r.posix_ipc,
                r.ours,
                0.67 * r.posix_ipc,
                0.67 * r.posix_ipc - floor
            )?;
        }
    }
    if !topics.is_empty() {
        writeln!(
            out,
            "\nPublish-subscribe between Python processes (`py_topic_*`):\n"
        )?;
    }
    crate::py_topics::targets(topics, out)
}

/// What each `py_*` workload does.
pub fn descriptions(rows: &[PyRow], out: &mut impl Write) -> std::io::Result<()> {
    for r in rows {
        writeln!(out, "- `{}`: {}", r.workload, r.what)?;
    }
    Ok(())
}
