//! posix_ipc's own demos paired with ours, in both directions (issue 12, item 6): demo1 (shared
//! memory and a semaphore) with `shm_ping_pong`, demo2 (one message queue, the md5 chain) with
//! `mq_ping_pong --upstream`. The demos come from posix_ipc 1.3.2's source distribution, fetched
//! at test time (see `common::posix_ipc_sdist`); each pairing runs in a copy of the demo's folder
//! whose `params.txt` keeps the demo's `ITERATIONS` (1000) and gives the objects names unique to
//! this run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

use posix_ipc::{MessageQueue, SharedMemory};

const LIMIT: Duration = Duration::from_secs(120);

/// A copy of demo `n`'s folder with a `params.txt` of its own; `None` if the sdist is missing.
fn demo_dir(test: &str, demo: &str, params: &str) -> Option<(PathBuf, tempdir::Dir)> {
    let sdist = common::posix_ipc_sdist(test)?;
    let dir = tempdir::Dir::new(test);
    for entry in std::fs::read_dir(sdist.join("demos").join(demo))
        .unwrap()
        .flatten()
    {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "py") {
            std::fs::copy(&p, dir.path().join(entry.file_name())).unwrap();
        }
    }
    std::fs::write(dir.path().join("params.txt"), params).unwrap();
    Some((dir.path().to_path_buf(), dir))
}

mod tempdir {
    /// A folder under cargo's temporary folder for tests, removed when dropped.
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("demo-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A side of a pairing; its output goes to files (the demos print a line per iteration: a pipe
/// nobody reads until the end would fill up and stop them).
struct Side {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn spawn(mut cmd: Command, dir: &Path, tag: &str) -> Side {
    let out = dir.join(format!("{tag}.out"));
    let err = dir.join(format!("{tag}.err"));
    let child = cmd
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .expect("start a side");
    Side { child, out, err }
}

fn python(dir: &Path, script: &str) -> Side {
    let mut cmd = Command::new("python3");
    cmd.arg(script).current_dir(dir);
    spawn(cmd, dir, script)
}

fn ours(dir: &Path, example: &str, args: &[&str]) -> Side {
    let mut cmd = Command::new(common::example(example));
    cmd.args(args);
    spawn(cmd, dir, example)
}

/// Waits for both with a time limit; kills both on timeout. Returns their outputs.
fn finish(a: Side, b: Side, what: &str) -> (String, String) {
    let deadline = Instant::now() + LIMIT;
    let mut sides = [a, b];
    let mut done = [false, false];
    while !done.iter().all(|d| *d) {
        for (i, side) in sides.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            if let Some(status) = side.child.try_wait().unwrap() {
                done[i] = true;
                assert!(
                    status.success(),
                    "{what}: side {i} failed ({status})\nstdout:\n{}\nstderr:\n{}",
                    std::fs::read_to_string(&side.out).unwrap_or_default(),
                    std::fs::read_to_string(&side.err).unwrap_or_default()
                );
            }
        }
        if Instant::now() > deadline {
            for side in &mut sides {
                let _ = side.child.kill();
                let _ = side.child.wait();
            }
            panic!("{what}: not done within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = |s: &Side| std::fs::read_to_string(&s.out).unwrap_or_default();
    (text(&sides[0]), text(&sides[1]))
}

fn wait_for(what: &str, exists: impl Fn() -> bool, side: &mut Side) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !exists() {
        if let Some(status) = side.child.try_wait().unwrap() {
            panic!("{what}: the creating side exited first ({status})");
        }
        assert!(Instant::now() < deadline, "{what}: never created");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn demo2_their_premise_and_our_conclusion() {
    let queue = common::unique_name("demo2-a");
    let _g = common::guard(common::Kind::Mq, &queue);
    let params = format!("ITERATIONS=1000\nMESSAGE_QUEUE_NAME={queue}\n");
    let Some((dir, _tmp)) = demo_dir("demo2_their_premise", "demo2", &params) else {
        return;
    };
    let mut premise = python(&dir, "premise.py");
    wait_for(
        "their queue",
        || MessageQueue::open(&queue).is_ok(),
        &mut premise,
    );
    let conclusion = ours(
        &dir,
        "mq_ping_pong",
        &["--upstream", "--role", "conclusion", "--queue", &queue],
    );
    let (theirs, mine) = finish(premise, conclusion, "demo2 premise.py + mq_ping_pong");
    assert!(theirs.contains("1000 iterations complete"), "{theirs}");
    assert!(mine.contains("conclusion: 1000 iterations"), "{mine}");
    assert!(
        MessageQueue::open(&queue).is_err(),
        "their premise removed the queue"
    );
    common::say(
        "demo2: posix_ipc's premise.py and our conclusion: 1000 iterations, md5 chain verified",
    );
}

#[test]
fn demo2_our_premise_and_their_conclusion() {
    let queue = common::unique_name("demo2-b");
    let _g = common::guard(common::Kind::Mq, &queue);
    let params = format!("ITERATIONS=1000\nMESSAGE_QUEUE_NAME={queue}\n");
    let Some((dir, _tmp)) = demo_dir("demo2_our_premise", "demo2", &params) else {
        return;
    };
    let mut premise = ours(
        &dir,
        "mq_ping_pong",
        &["--upstream", "--no-spawn", "--queue", &queue],
    );
    wait_for(
        "our queue",
        || MessageQueue::open(&queue).is_ok(),
        &mut premise,
    );
    let conclusion = python(&dir, "conclusion.py");
    let (mine, theirs) = finish(premise, conclusion, "mq_ping_pong + demo2 conclusion.py");
    assert!(mine.contains("1000 iterations on"), "{mine}");
    assert!(theirs.contains("1000 iterations complete"), "{theirs}");
    assert!(
        MessageQueue::open(&queue).is_err(),
        "our premise removed the queue"
    );
    common::say(
        "demo2: our premise and posix_ipc's conclusion.py: 1000 iterations, md5 chain verified",
    );
}

fn demo1_params(shm: &str, sem: &str) -> String {
    format!(
        "ITERATIONS=1000\nLIVE_DANGEROUSLY=0\nSEMAPHORE_NAME={sem}\nSHARED_MEMORY_NAME={shm}\n\
         PERMISSIONS=0600\nSHM_SIZE=4096\n"
    )
}

#[test]
fn demo1_both_directions() {
    let shm = common::unique_name("demo1-shm");
    let sem = common::unique_name("demo1-sem");
    let _g1 = common::guard(common::Kind::Shm, &shm);
    let _g2 = common::guard(common::Kind::Sem, &sem);
    let Some((dir, _tmp)) = demo_dir("demo1_both_directions", "demo1", &demo1_params(&shm, &sem))
    else {
        return;
    };
    // Theirs first: premise.py creates both objects; our conclusion uses them.
    let mut premise = python(&dir, "premise.py");
    wait_for(
        "their segment and semaphore",
        || SharedMemory::open(&shm).is_ok() && posix_ipc::Semaphore::open(&sem).is_ok(),
        &mut premise,
    );
    let conclusion = ours(
        &dir,
        "shm_ping_pong",
        &["--role", "conclusion", "--shm", &shm, "--sem", &sem],
    );
    let (theirs, mine) = finish(premise, conclusion, "demo1 premise.py + shm_ping_pong");
    assert!(theirs.contains("1000 iterations complete"), "{theirs}");
    assert!(mine.contains("conclusion: 1000 iterations"), "{mine}");
    assert!(
        SharedMemory::open(&shm).is_err(),
        "their premise removed the segment"
    );

    // Ours first: our premise creates them; conclusion.py uses them.
    let mut premise = ours(
        &dir,
        "shm_ping_pong",
        &["--no-spawn", "--shm", &shm, "--sem", &sem],
    );
    wait_for(
        "our segment and semaphore",
        || SharedMemory::open(&shm).is_ok() && posix_ipc::Semaphore::open(&sem).is_ok(),
        &mut premise,
    );
    let conclusion = python(&dir, "conclusion.py");
    let (mine, theirs) = finish(premise, conclusion, "shm_ping_pong + demo1 conclusion.py");
    assert!(mine.contains("1000 iterations"), "{mine}");
    assert!(theirs.contains("1000 iterations complete"), "{theirs}");
    assert!(
        SharedMemory::open(&shm).is_err(),
        "our premise removed the segment"
    );
    common::say("demo1: both directions, 1000 iterations each, md5 chain verified");
}
