//! `posix-ipc record` and `posix-ipc replay`: thin layers over the `posix-ipc-record` library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use posix_ipc_record::{Compression, Progress, RecordConfig, ReplayConfig, ReplaySummary};

use crate::output::Failure;

type Outcome = Result<(), Failure>;

/// Overwrites the progress line on a terminal (nothing otherwise).
fn progress_line(tty: bool, line: &str) {
    if tty {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{line}");
        let _ = err.flush();
    }
}

fn totals_line(p: &Progress) -> String {
    let secs = p.elapsed.as_secs_f64().max(1e-9);
    let mut line = format!("{:.1} s", p.elapsed.as_secs_f64());
    for (name, t) in &p.topics {
        line.push_str(&format!(
            "  {name} {} ({:.1} MB/s, {} gaps)",
            t.samples,
            t.bytes as f64 / 1e6 / secs,
            t.gaps
        ));
    }
    line
}

/// `posix-ipc record -o FILE PATTERN…`.
pub fn record(
    output: PathBuf,
    patterns: Vec<String>,
    seconds: Option<f64>,
    compression: Compression,
    quiet: bool,
) -> Outcome {
    let cancel = posix_ipc::signals::stop_on_signals()?;
    let mut config = RecordConfig::new(output, patterns.clone());
    config.compression = compression;
    config.duration = match seconds {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(Failure::Usage(format!(
                "--seconds {s} is not a positive number of seconds"
            )))
        }
        None => None,
    };
    let tty = !quiet && std::io::stderr().is_terminal();
    let result =
        posix_ipc_record::record(&config, &cancel, |p| progress_line(tty, &totals_line(p)));
    progress_line(tty, "");
    let summary = result.map_err(|e| Failure::Other(e.to_string()))?;
    if !quiet {
        eprintln!(
            "recorded {}: {:.1} MB in {:.1} s",
            summary.file.display(),
            summary.file_bytes as f64 / 1e6,
            summary.elapsed.as_secs_f64()
        );
        if summary.topics.is_empty() {
            eprintln!("  no topic matched {}", patterns.join(" "));
        }
        for (name, t) in &summary.topics {
            eprintln!(
                "  {name}: {} samples, {:.1} MB, {} gaps ({} samples missed), {} restarts",
                t.samples,
                t.bytes as f64 / 1e6,
                t.gaps,
                t.missed,
                t.restarts
            );
        }
    }
    Ok(())
}

/// The arguments of `posix-ipc replay`, past the file.
pub struct ReplayArgs {
    pub rate: f64,
    pub looping: bool,
    pub topics: Vec<String>,
    pub remap: Vec<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
}

fn seconds(flag: &str, v: Option<f64>) -> Result<Option<Duration>, Failure> {
    match v {
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(Failure::Usage(format!(
            "{flag} {s} is not a number of seconds from the recording's start"
        ))),
        None => Ok(None),
    }
}

/// `posix-ipc replay FILE`.
pub fn replay(input: PathBuf, args: ReplayArgs, quiet: bool) -> Outcome {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        return Err(Failure::Usage(format!(
            "--rate {} is not a positive speed (1 is the recorded one)",
            args.rate
        )));
    }
    let mut remap = Vec::new();
    for r in &args.remap {
        let Some((from, to)) = r.split_once('=') else {
            return Err(Failure::Usage(format!("--remap {r:?} is not FROM=TO")));
        };
        remap.push((from.to_string(), to.to_string()));
    }
    let cancel = posix_ipc::signals::stop_on_signals()?;
    let config = ReplayConfig {
        input,
        rate: args.rate,
        looping: args.looping,
        topics: args.topics,
        remap,
        start: seconds("--start", args.start)?,
        end: seconds("--end", args.end)?,
    };
    let tty = !quiet && std::io::stderr().is_terminal();
    let line = |s: &ReplaySummary| {
        let mut l = format!("pass {}", s.passes);
        for (name, n) in &s.published {
            l.push_str(&format!("  {name} {n}"));
        }
        l
    };
    let result = posix_ipc_record::replay(&config, &cancel, |s| progress_line(tty, &line(s)));
    progress_line(tty, "");
    let summary = result.map_err(|e| Failure::Other(e.to_string()))?;
    if !quiet {
        eprintln!(
            "replayed {}{}",
            config.input.display(),
            if cancel.is_cancelled() {
                " (stopped)"
            } else {
                ""
            }
        );
        for (name, n) in &summary.published {
            eprintln!("  {name}: {n} samples");
        }
        for (name, why) in &summary.skipped {
            eprintln!("  {name}: skipped: {why}");
        }
    }
    Ok(())
}
