//! The `py_topic_*` rows: publish-subscribe over a topic between Python processes
//! (`py_topics.py`), posix_ipc_rs against iceoryx2's Python binding, multiprocessing
//! (`shared_memory` and a `Queue` handing over an index) and our Rust topic, every column in the
//! same run; and the Rust side of those rows (`--child pyt-frame-pub` / `pyt-frame-sub`).
//!
//! iceoryx2's Python binding is not in the test suite's virtual environment: the first run
//! installs the wheel (`iceoryx2==0.10.0`, the version of the Rust rows) with that Python's pip
//! into `target/tmp/py-iceoryx2`, which `py_topics.py` puts on its path. If that fails, the
//! iceoryx2 column is skipped and the rows say why.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use posix_ipc::{ErrorKind, FramePublisher, FrameSubscriber, Timeout, TopicOptions};

use crate::pubsub::mono_ns;
use crate::pymodule::{field, num};

/// The iceoryx2 wheel the iceoryx2 column runs: the version of the Rust iceoryx2 rows.
const ICEORYX2_WHEEL: &str = "iceoryx2==0.10.0";

/// One `py_topic_*` row, as `py_topics.py` printed it.
pub struct TopicRow {
    pub workload: String,
    pub what: String,
    pub json: String,
}

impl TopicRow {
    fn get(&self, key: &str) -> Option<f64> {
        num(&self.json, key)
    }

    fn text(&self, key: &str) -> Option<&str> {
        field(&self.json, key).filter(|s| *s != "null")
    }
}

/// The folder holding the `iceoryx2` package for `python`, installing it on first use; or why
/// there is none, as `skip:REASON`.
fn iceoryx2_site(python: &Path) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/py-iceoryx2");
    if dir.join("iceoryx2/__init__.py").exists() {
        return dir.display().to_string();
    }
    eprintln!(
        "posix-ipc-bench: installing {ICEORYX2_WHEEL} for the py_topic rows into {}",
        dir.display()
    );
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(["--timeout", "30", "--retries", "1", "--target"])
        .arg(&dir)
        .arg(ICEORYX2_WHEEL)
        .output();
    match out {
        Ok(o) if o.status.success() => dir.display().to_string(),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            format!(
                "skip:pip install {ICEORYX2_WHEEL} failed: {}",
                last.replace('"', "'")
            )
        }
        Err(e) => format!("skip:could not run {} -m pip: {e}", python.display()),
    }
}

/// Runs `py_topics.py`: `reps` rotated repetitions, iterations scaled by `scale`.
pub fn run(python: &Path, reps: usize, scale: f64, only: Option<&str>) -> Vec<TopicRow> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/py_topics.py");
    let exe = std::env::current_exe().expect("the benchmark's own path");
    let ice = iceoryx2_site(python);
    let iceoryx2_before = crate::harness::iceoryx2_files();
    if let Some(why) = ice.strip_prefix("skip:") {
        eprintln!("posix-ipc-bench: iceoryx2 Python column skipped: {why}");
    }
    let out = Command::new(python)
        .arg(&script)
        .arg(reps.to_string())
        .arg(scale.to_string())
        .arg(only.unwrap_or(""))
        .arg(&exe)
        .arg(&ice)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run py_topics.py");
    crate::harness::remove_iceoryx2_files(&iceoryx2_before);
    if !out.status.success() {
        eprintln!("posix-ipc-bench: py_topics.py failed ({})", out.status);
        std::process::exit(1);
    }
    let rows: Vec<TopicRow> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| TopicRow {
            workload: field(l, "workload").unwrap_or("?").to_owned(),
            what: field(l, "what").unwrap_or("").to_owned(),
            json: l.to_owned(),
        })
        .collect();
    for r in &rows {
        eprintln!("{}", summary(r));
        if let Some(why) = r.text("failed") {
            eprintln!("{:<30} failed: {why}", r.workload);
        }
    }
    rows
}

fn ns(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| {
        if v >= 10_000.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.1}")
        }
    })
}

fn ratio(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

fn summary(r: &TopicRow) -> String {
    if r.workload == "py_topic_send_6m" {
        return format!(
            "{:<30} bytes {:>10} ns  numpy {:>10} ns  numpy by loan {:>10} ns  numpy/bytes {}",
            r.workload,
            ns(r.get("bytes")),
            ns(r.get("numpy")),
            ns(r.get("numpy_loan")),
            ratio(r.get("numpy_over_bytes"))
        );
    }
    format!(
        "{:<30} posix_ipc_rs {:>9}  batched {:>7}  rust {:>9}  iceoryx2 {:>9}  multiprocessing {:>9}  copy {:>9}",
        r.workload,
        ns(r.get("posix_ipc_rs")),
        ns(r.get("posix_ipc_rs_batched")),
        ns(r.get("rust")),
        ns(r.get("iceoryx2")),
        ns(r.get("multiprocessing")),
        ns(r.get("copy_6m")),
    )
}

/// The tables of the `py_topic_*` rows.
pub fn table(rows: &[TopicRow], out: &mut impl Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\n## Python topics: posix_ipc_rs against iceoryx2's Python binding, multiprocessing and \
         our Rust topic, same run\n"
    )?;
    writeln!(
        out,
        "| workload | unit | posix_ipc_rs | posix_ipc_rs batched | Rust topic | iceoryx2 (Python) | multiprocessing | one 6 MB copy | ours/Rust | ours/iceoryx2 | ours/multiprocessing | ours/copy |"
    )?;
    writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for r in rows.iter().filter(|r| r.workload != "py_topic_send_6m") {
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            r.text("unit").unwrap_or(""),
            ns(r.get("posix_ipc_rs")),
            ns(r.get("posix_ipc_rs_batched")),
            ns(r.get("rust")),
            ns(r.get("iceoryx2")),
            ns(r.get("multiprocessing")),
            ns(r.get("copy_6m")),
            ratio(r.get("over_rust")),
            ratio(r.get("over_iceoryx2")),
            ratio(r.get("over_multiprocessing")),
            ratio(r.get("over_copy")),
        )?;
    }
    if let Some(r) = rows.iter().find(|r| r.workload == "py_topic_send_6m") {
        writeln!(
            out,
            "\n| workload | bytes ns | numpy ns | numpy by loan ns | numpy/bytes | numpy by loan/bytes |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
        writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            r.workload,
            ns(r.get("bytes")),
            ns(r.get("numpy")),
            ns(r.get("numpy_loan")),
            ratio(r.get("numpy_over_bytes")),
            ratio(r.get("numpy_loan_over_bytes")),
        )?;
    }
    writeln!(
        out,
        "\nEvery column of a row is measured in the same run: each repetition runs every column \
         once, in an order rotated between repetitions; figures are medians over the \
         repetitions, `ours/X` the median of the per-repetition ratios (our cost over X's, \
         below 1 is cheaper). `posix_ipc_rs batched`: the same records in runs of 64 \
         (`send_many`, `receive_many`); the ratios are of the one-record-per-call column."
    )?;
    if let Some(why) = rows.iter().find_map(|r| r.text("iceoryx2_skipped")) {
        writeln!(
            out,
            "\niceoryx2's Python binding was not in this run: {why}."
        )?;
    }
    for r in rows {
        if let Some(why) = r.text("failed") {
            writeln!(
                out,
                "\n`{}`: columns that failed (left out): {why}.",
                r.workload
            )?;
        }
    }
    Ok(())
}

/// The Python topic issue's targets, checked against this run (part of
/// [`crate::pymodule::targets`]).
pub fn targets(rows: &[TopicRow], out: &mut impl Write) -> std::io::Result<()> {
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let get = |n: &str| rows.iter().find(|r| r.workload == n);
    for r in rows {
        if r.get("posix_ipc_rs").is_none() && r.get("numpy").is_none() {
            writeln!(
                out,
                "- `{}`: posix_ipc_rs not measured ({})",
                r.workload,
                r.text("failed").unwrap_or("no figure")
            )?;
        }
    }
    for r in rows
        .iter()
        .filter(|r| r.workload.starts_with("py_topic_frame_"))
    {
        let Some(ours) = r.get("posix_ipc_rs") else {
            continue;
        };
        let mut parts = Vec::new();
        match (r.get("rust"), r.get("over_rust")) {
            (Some(rust), Some(x)) => parts.push(format!(
                "{ours:.0} ns against the Rust topic's {rust:.0} ns, {x:.3}x (needs at most \
                 1.2x): {}",
                verdict(x <= 1.2)
            )),
            _ => parts.push("the Rust topic not in this run".into()),
        }
        if r.workload.ends_with("_from_numpy") {
            parts
                .push("a tenth of a copy does not apply (the row copies the image in once)".into());
        } else if let (Some(copy), Some(x)) = (r.get("copy_6m"), r.get("over_copy")) {
            parts.push(format!(
                "{x:.3} of one 6 MB numpy copy ({copy:.0} ns; needs under 0.1): {}",
                verdict(x < 0.1)
            ));
        }
        writeln!(out, "- `{}`: {}", r.workload, parts.join("; "))?;
    }
    for n in ["py_topic_stream_64", "py_topic_stream_64_2sub"] {
        let Some(r) = get(n).filter(|r| r.get("posix_ipc_rs").is_some()) else {
            continue;
        };
        let Some(ice) = r.get("iceoryx2") else {
            writeln!(
                out,
                "- `{n}`: iceoryx2's Python binding not in this run ({})",
                r.text("iceoryx2_skipped").unwrap_or("skipped")
            )?;
            continue;
        };
        let one = r.get("over_iceoryx2").map(|x| 1.0 / x);
        let many = r.get("batched_over_iceoryx2").map(|x| 1.0 / x);
        writeln!(
            out,
            "- `{n}`: iceoryx2 {ice:.0} ns per record; posix_ipc_rs one record per call {} ns, \
             {}x iceoryx2's rate (needs at least 10x): {}; in runs of 64 {} ns, {}x: {}",
            ns(r.get("posix_ipc_rs")),
            one.map_or("-".into(), |x| format!("{x:.2}")),
            verdict(one.is_some_and(|x| x >= 10.0)),
            ns(r.get("posix_ipc_rs_batched")),
            many.map_or("-".into(), |x| format!("{x:.2}")),
            verdict(many.is_some_and(|x| x >= 10.0)),
        )?;
    }
    if let Some(r) = get("py_topic_send_6m").filter(|r| r.get("numpy").is_some()) {
        let x = r.get("numpy_over_bytes").unwrap_or(f64::NAN);
        writeln!(
            out,
            "- `py_topic_send_6m`: sending a 6 MB numpy array {} ns against bytes {} ns, {x:.3}x \
             (needs at most 1.1x): {}",
            ns(r.get("numpy")),
            ns(r.get("bytes")),
            verdict(x <= 1.1)
        )?;
    }
    Ok(())
}

/// What each `py_topic_*` row does.
pub fn descriptions(rows: &[TopicRow], out: &mut impl Write) -> std::io::Result<()> {
    for r in rows {
        writeln!(out, "- `{}`: {}", r.workload, r.what)?;
    }
    if rows
        .iter()
        .any(|r| r.workload.starts_with("py_topic_frame_"))
    {
        writeln!(
            out,
            "- `py_topic_frame_*` latency, every column alike: the publisher reads \
             CLOCK_MONOTONIC, loans a frame (posix_ipc_rs `loan`, iceoryx2 `loan_slice_uninit`, \
             a free slot of the shared memory, Rust `loan_unzeroed`), writes that time into \
             its first 8 bytes and the frame's number into its last 8 (through a numpy view in \
             Python), publishes, and waits 1 ms (spinning with one subscriber, sleeping with \
             two); each subscriber busy-polls with one \
             subscriber and blocks in `receive` with two (three busy processes on two cores \
             would measure the scheduler), except iceoryx2's, which always busy-poll (its \
             binding has no blocking receive without an event service), and \
             multiprocessing's, which always block in `Queue.get` (what its users write); it \
             takes a numpy view of the frame \
             (iceoryx2: of `as_memory_view()`; Rust: the frame in place), reads the clock, \
             checks the number and releases the frame. A frame's latency is its latest \
             subscriber's; the figure the median over frames. `one 6 MB copy`: `np.copyto` of \
             the same number of bytes in the driving process, measured in each repetition."
        )?;
        writeln!(
            out,
            "- `py_topic_stream_*`: wall time from the publisher's first send until the last \
             subscriber has received (and checked the sequence number of) the last record, \
             over the number of records; posix_ipc_rs subscribers block in `receive`, \
             iceoryx2's busy-poll `receive` (its binding has no blocking receive without an \
             event service), multiprocessing's block in `Queue.get`."
        )?;
    }
    Ok(())
}

// --- the Rust column's processes ----------------------------------------------------------------

fn line(stdin: &mut impl BufRead) -> String {
    let mut s = String::new();
    let _ = stdin.read_line(&mut s);
    s.trim().to_owned()
}

/// `--child pyt-frame-pub NAME ITERS SIZE SUBSCRIBERS COPY PACE_US` and
/// `--child pyt-frame-sub NAME ITERS SIZE BLOCK`: the Rust column of the `py_topic_frame_*` rows, the
/// work `py_topics.py` describes. The publisher prints `ready` once its topic exists, publishes
/// when it reads `go` and keeps the topic until it reads `end`; a subscriber prints `ready`
/// once subscribed and `lat` with one latency per frame at the end.
pub fn child(role: &str, args: &[String]) {
    let name = args[0].as_str();
    let iters: u64 = args[1].parse().expect("iters");
    let size: usize = args[2].parse().expect("size");
    let mut stdin = std::io::stdin().lock();
    match role {
        "pyt-frame-pub" => {
            let subs: usize = args[3].parse().expect("subscribers");
            let copy = args[4] == "1";
            let pace = Duration::from_micros(args[5].parse().expect("pace"));
            let opts = TopicOptions::new().capacity(4).max_subscribers(subs);
            let mut p = FramePublisher::create_owned(name, size, &opts).expect("create the topic");
            let img = vec![0x5a_u8; size];
            println!("ready");
            let _ = std::io::stdout().flush();
            assert_eq!(line(&mut stdin), "go");
            for seq in 0..iters {
                let t0 = mono_ns();
                let mut frame = if copy {
                    let loan = p.loan_uninit(size).expect("loan");
                    loan.copy_from_slice(&img).expect("copy the image in")
                } else {
                    p.loan_unzeroed(size).expect("loan")
                };
                frame[..8].copy_from_slice(&t0.to_ne_bytes());
                frame[size - 8..].copy_from_slice(&seq.to_ne_bytes());
                frame.send();
                // As py_topics.py's `pace`: spin on sched_yield with one subscriber, sleep with two.
                if subs > 1 {
                    std::thread::sleep(pace);
                } else {
                    let start = std::time::Instant::now();
                    while start.elapsed() < pace {
                        std::thread::yield_now();
                    }
                }
            }
            let _ = line(&mut stdin);
        }
        "pyt-frame-sub" => {
            let block = args[3] == "1";
            let mut s = FrameSubscriber::open(name).expect("subscribe");
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut lat = Vec::with_capacity(iters as usize);
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            for seq in 0..iters {
                loop {
                    while !block && !s.has_samples() {
                        std::hint::spin_loop();
                    }
                    let wait = if block {
                        Timeout::Infinite
                    } else {
                        Timeout::Immediate
                    };
                    match s.recv_with(wait) {
                        Ok(f) => {
                            let now = mono_ns();
                            let (t0, got) = (word(&f[..8]), word(&f[f.len() - 8..]));
                            assert_eq!(got, seq, "frame {seq} carries number {got}");
                            lat.push(now.saturating_sub(t0));
                            break;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            let text: Vec<String> = lat.iter().map(u64::to_string).collect();
            println!("lat {}", text.join(" "));
        }
        _ => panic!("unknown role {role}"),
    }
}
