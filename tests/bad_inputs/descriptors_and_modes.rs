//! Security defaults: every descriptor the crate owns is close-on-exec, and new objects get mode
//! 0600.

use std::os::fd::{AsFd, AsRawFd};

use posix_ipc::{
    MessageQueue, Receiver, RingMode, RingReceiver, Semaphore, Sender, Shared, SharedMemory,
};

use crate::common::{self, Kind};
use crate::fixtures::{path_of, Tick, TICK};

fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:").map(|v| v.trim().to_owned()))
        })
        .and_then(|v| u32::from_str_radix(&v, 8).ok())
        .unwrap_or(0o022)
}

fn cloexec(fd: i32) -> bool {
    // SAFETY: F_GETFD on a descriptor this process holds open; no memory is involved.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

#[test]
fn descriptors_are_cloexec_and_new_objects_private() {
    let (q, _gq) = common::guarded(Kind::Mq, "cx");
    let (s, _gs) = common::guarded(Kind::Sem, "cx");
    let (m, _gm) = common::guarded(Kind::Shm, "cx");
    let (tq, _gt) = common::guarded(Kind::Mq, "cx");
    let (sh, _gsh) = common::guarded(Kind::Shm, "cx");
    let (rg, _grg) = common::guarded(Kind::Shm, "cx");
    let mq = MessageQueue::create(&q, 2, 64).unwrap();
    let sem = Semaphore::create(&s, 0).unwrap();
    let shm = SharedMemory::create(&m, 4096).unwrap();
    let ro = SharedMemory::options().read_only(true).open(&m).unwrap();
    let tx = Sender::<Tick>::create(&tq, 2).unwrap();
    let rx = Receiver::<Tick>::open(&tq).unwrap();
    let shared = Shared::create(&sh, &TICK).unwrap();
    let ring = RingReceiver::<Tick>::create(&rg, 4, RingMode::Spsc).unwrap();

    for (what, fd) in [
        ("MessageQueue (AsFd)", mq.as_fd().as_raw_fd()),
        ("MessageQueue::mqd", mq.mqd()),
        ("SharedMemory (AsFd)", shm.as_fd().as_raw_fd()),
        ("read-only SharedMemory::fd", ro.fd()),
        ("typed Sender's queue", tx.queue().mqd()),
        ("typed Receiver's queue", rx.queue().mqd()),
    ] {
        assert!(cloexec(fd), "{what}: descriptor {fd} lacks FD_CLOEXEC");
    }

    // Every descriptor of this process that refers to one of these objects (including those
    // kept inside Shared and the ring, which expose none) is close-on-exec.
    let ours = [&q, &m, &tq, &sh, &rg].map(|n| n.trim_start_matches('/').to_owned());
    let mut seen = 0;
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        if ours
            .iter()
            .any(|n| target.ends_with(n.as_str()) || target.contains(&format!("{n} ")))
        {
            let fd: i32 = entry.file_name().to_string_lossy().parse().unwrap();
            seen += 1;
            assert!(cloexec(fd), "descriptor {fd} ({target}) lacks FD_CLOEXEC");
        }
    }
    assert!(
        seen >= 6,
        "found only {seen} descriptors of the test objects in /proc/self/fd"
    );

    // And none of them reaches a program this process executes.
    let out = std::process::Command::new("sh")
        .args(["-c", "for f in /proc/self/fd/*; do readlink \"$f\"; done"])
        .output()
        .expect("run sh");
    let listing = String::from_utf8_lossy(&out.stdout);
    for n in &ours {
        assert!(
            !listing.contains(n.as_str()),
            "{n} leaked into an exec'd child:\n{listing}"
        );
    }

    // New objects get mode 0600 (less the umask).
    let want = 0o600 & !umask();
    use std::os::unix::fs::PermissionsExt;
    for (kind, name) in [
        (Kind::Mq, &q),
        (Kind::Sem, &s),
        (Kind::Shm, &m),
        (Kind::Mq, &tq),
        (Kind::Shm, &sh),
        (Kind::Shm, &rg),
    ] {
        let path = path_of(kind, name);
        let mode = std::fs::metadata(&path).map(|md| md.permissions().mode() & 0o777);
        assert_eq!(
            mode.as_ref().ok(),
            Some(&want),
            "{path}: mode {mode:?}, expected {want:o}"
        );
    }
    assert_eq!(shm.stat().unwrap().mode & 0o777, want);
    assert_eq!((mq.mode(), sem.mode(), shm.mode()), (0o600, 0o600, 0o600));
    drop((ring, shared));
}
