//! `posix-ipc-bridge`: posix-ipc topics between machines over Zenoh.
//!
//! ```text
//! posix-ipc-bridge --export '/camera*' --listen tcp/0.0.0.0:7447          # on the robot
//! posix-ipc-bridge --import '/camera*' --connect tcp/robot:7447           # on the workstation
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use posix_ipc_zenoh::bridge::{Bridge, BridgeConfig, TopicStats};
use posix_ipc_zenoh::session::{self, SessionConfig};

const USAGE: &str = "\
usage: posix-ipc-bridge [--export PATTERN]... [--import PATTERN]... [OPTIONS]

Exports the local topics whose names match an --export pattern to Zenoh, and imports the
remote topics matching an --import pattern as local topics of the same type. Patterns are
globs on topic names (* any run of characters, ? one), quoted for the shell: '/camera*'.
Nothing leaves this machine that no --export names. Ctrl-C or SIGTERM stops it; the topics
it imported are removed then.

options:
  --export PATTERN       export matching local topics (repeatable)
  --import PATTERN       import matching remote topics (repeatable)
  --prefix KEY           the first part of every Zenoh key (default posix-ipc)
  --listen ENDPOINT      listen on a Zenoh endpoint, e.g. tcp/0.0.0.0:7447 (repeatable)
  --connect ENDPOINT     connect to a Zenoh endpoint, e.g. tcp/10.0.0.2:7447 (repeatable)
  --zenoh-config FILE    Zenoh's own configuration file (JSON5 or YAML): TLS, access control,
                         timeouts; --listen and --connect replace its endpoints
  --scouting             find peers by UDP multicast (off unless asked)
  --stats SECONDS        print each topic's counters this often (default 5; 0: only at exit)
  --quiet                print only errors and the summary at exit
  -h, --help             this text
";

struct Args {
    session: SessionConfig,
    bridge: BridgeConfig,
    stats: Option<Duration>,
    quiet: bool,
}

fn parse(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        session: SessionConfig::default(),
        bridge: BridgeConfig::default(),
        stats: Some(Duration::from_secs(5)),
        quiet: false,
    };
    let mut it = argv.iter().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--export" => a.bridge.export.push(value()?),
            "--import" => a.bridge.import.push(value()?),
            "--prefix" => a.bridge.prefix = value()?,
            "--listen" => a.session.listen.push(value()?),
            "--connect" => a.session.connect.push(value()?),
            "--zenoh-config" => a.session.config_file = Some(PathBuf::from(value()?)),
            "--scouting" => a.session.multicast_scouting = true,
            "--quiet" => a.quiet = true,
            "--stats" => {
                let v = value()?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--stats takes seconds, not {v:?}"))?;
                a.stats = (secs > 0.0).then(|| Duration::from_secs_f64(secs));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if a.bridge.export.is_empty() && a.bridge.import.is_empty() {
        return Err("nothing to do: give --export or --import patterns".to_string());
    }
    Ok(a)
}

fn line(name: &str, s: &TopicStats) -> String {
    let mut parts = Vec::new();
    if s.exported > 0 || s.export_missed > 0 {
        parts.push(format!(
            "exported {} (missed by the exporting subscriber {})",
            s.exported, s.export_missed
        ));
    }
    if s.imported > 0 || s.import_lost > 0 || s.import_dropped > 0 {
        parts.push(format!(
            "imported {} (lost on the way {}, dropped as duplicates or late {})",
            s.imported, s.import_lost, s.import_dropped
        ));
    }
    if s.publisher_gone > 0 {
        parts.push(format!("publisher gone {} times", s.publisher_gone));
    }
    if let Some(why) = &s.refused {
        parts.push(why.clone());
    }
    if parts.is_empty() {
        parts.push("nothing yet".to_string());
    }
    format!("{name}: {}", parts.join(", "))
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprint!("posix-ipc-bridge: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let stop = match posix_ipc_core::signals::stop_on_signals() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("posix-ipc-bridge: {e}");
            std::process::exit(1);
        }
    };
    let session = match session::open(&args.session) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("posix-ipc-bridge: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  because: {s}");
                source = s.source();
            }
            std::process::exit(1);
        }
    };
    println!(
        "posix-ipc-bridge: pid {}, zenoh id {}, prefix {}; exporting {:?}, importing {:?}; \
         Ctrl-C or SIGTERM stops it",
        std::process::id(),
        session.zid(),
        args.bridge.prefix,
        args.bridge.export,
        args.bridge.import
    );
    let bridge = match Bridge::start(session, args.bridge) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("posix-ipc-bridge: {e}");
            std::process::exit(1);
        }
    };
    let mut last = Instant::now();
    while !stop.is_cancelled() {
        for m in bridge.messages() {
            if !args.quiet || m.contains("refused") || m.contains("error") {
                println!("posix-ipc-bridge: {m}");
            }
        }
        if let Some(every) = args.stats {
            if last.elapsed() >= every && !args.quiet {
                last = Instant::now();
                for (name, s) in bridge.stats() {
                    println!("posix-ipc-bridge: {}", line(&name, &s));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // A put that a far side which does not read (stopped, or its link congested) holds back
    // ends when Zenoh closes the session, which may wait up to 10 s for it: the summary does
    // not wait that long, and the process ends once it is printed.
    for m in bridge.messages() {
        println!("posix-ipc-bridge: {m}");
    }
    let snapshot = bridge.stats();
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(bridge.stop());
    });
    let (stats, waited) = match done.recv_timeout(STOP_WAIT) {
        Ok((stats, messages)) => {
            for m in messages {
                println!("posix-ipc-bridge: {m}");
            }
            (stats, false)
        }
        Err(_) => (snapshot, true),
    };
    println!(
        "posix-ipc-bridge: stopped{}; summary:",
        if waited {
            " (a far side that does not read held a put back: not waited for)"
        } else {
            ""
        }
    );
    for (name, s) in &stats {
        println!("  {}", line(name, s));
    }
    std::process::exit(0);
}

/// How long a stop waits for the bridge's threads (blocked puts included) before it ends the
/// process anyway.
const STOP_WAIT: Duration = Duration::from_secs(2);
