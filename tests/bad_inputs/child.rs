//! Inside a child process: the environment a case needs (another uid, lowered limits, a private
//! namespace) and the action it runs.

use posix_ipc::{
    MessageQueue, Notification, Receiver, RingMode, RingSender, Semaphore, Sender, SharedMemory,
};

use crate::common;
use crate::fixtures::{mq, Tick};
use crate::table::{Fail, Out};

/// Puts the child into the environment a case needs. `Err` is a reason to skip.
pub(crate) fn enter(env: &str) -> Result<(), String> {
    let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
    match env {
        "none" => Ok(()),
        "nobody" => {
            // SAFETY: plain system calls on this (child) process's credentials; no pointers
            // except a null group list of length 0.
            let r = unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0 {
                    return Err(os("setgroups"));
                }
                if libc::setgid(65534) != 0 {
                    return Err(os("setgid(65534)"));
                }
                libc::setuid(65534)
            };
            if r != 0 {
                return Err(os("setuid(65534)"));
            }
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 65534 {
                return Err("still not uid 65534".into());
            }
            Ok(())
        }
        "nofile" | "nofile0" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid rlimit to fill.
            if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
                return Err(os("getrlimit"));
            }
            lim.rlim_cur = if env == "nofile0" {
                0
            } else {
                64.min(lim.rlim_max)
            };
            // SAFETY: lowering this process's own soft limit.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
                return Err(os("setrlimit(RLIMIT_NOFILE)"));
            }
            if env == "nofile" {
                // Fill every free descriptor number below the limit.
                // SAFETY: dup of stdin; the copies are deliberately leaked until exit.
                while unsafe { libc::dup(0) } >= 0 {}
            }
            Ok(())
        }
        "msgqueue0" => {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `lim` is a valid rlimit to fill.
            if unsafe { libc::getrlimit(libc::RLIMIT_MSGQUEUE, &mut lim) } != 0 {
                return Err(os("getrlimit"));
            }
            lim.rlim_cur = 0;
            // SAFETY: lowering this process's own soft limit.
            if unsafe { libc::setrlimit(libc::RLIMIT_MSGQUEUE, &lim) } != 0 {
                return Err(os("setrlimit(RLIMIT_MSGQUEUE)"));
            }
            Ok(())
        }
        "queues0" => {
            // SAFETY: moves this child into a new IPC namespace; no memory is involved.
            if unsafe { libc::unshare(libc::CLONE_NEWIPC) } != 0 {
                return Err(os("unshare(CLONE_NEWIPC) (needs CAP_SYS_ADMIN)"));
            }
            std::fs::write("/proc/sys/fs/mqueue/queues_max", "0")
                .map_err(|e| format!("set queues_max in the private namespace: {e}"))
        }
        "tinyshm" => {
            let none = c"none";
            let root = c"/";
            let shm = c"/dev/shm";
            let tmpfs = c"tmpfs";
            let opts = c"size=64k";
            // SAFETY: a new mount namespace for this child only, made private before anything
            // is mounted so nothing propagates to the host; all strings are NUL-terminated.
            unsafe {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(os("unshare(CLONE_NEWNS) (needs CAP_SYS_ADMIN)"));
                }
                if libc::mount(
                    none.as_ptr(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(os("make / private"));
                }
                if libc::mount(
                    tmpfs.as_ptr(),
                    shm.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    opts.as_ptr().cast(),
                ) != 0
                {
                    return Err(os("mount a 64 KiB tmpfs on /dev/shm"));
                }
            }
            Ok(())
        }
        other => Err(format!("unknown environment {other}")),
    }
}

pub(crate) fn child_action(action: &str, names: &[String]) -> Out {
    let name = names.first().map(String::as_str).unwrap_or("");
    match action {
        "open-mq" => MessageQueue::open(name).map(drop)?,
        "open-mq-ro" => MessageQueue::options().write(false).open(name).map(drop)?,
        "open-mq-wo" => MessageQueue::options().read(false).open(name).map(drop)?,
        "open-sem" => Semaphore::open(name).map(drop)?,
        "open-shm" => SharedMemory::open(name).map(drop)?,
        "open-shm-ro" => SharedMemory::options()
            .read_only(true)
            .open(name)
            .map(drop)?,
        "open-shm-trunc" => SharedMemory::options()
            .truncate(true)
            .open(name)
            .map(drop)?,
        "unlink-mq" => posix_ipc::unlink_message_queue(name)?,
        "unlink-sem" => posix_ipc::unlink_semaphore(name)?,
        "unlink-shm" => posix_ipc::unlink_shared_memory(name)?,
        "ooc-mq" => MessageQueue::open_or_create(name, 2, 64).map(drop)?,
        "ooc-sem" => Semaphore::open_or_create(name, 0).map(drop)?,
        "ooc-shm" => SharedMemory::open_or_create(name, 4096).map(drop)?,
        "create-mq" => MessageQueue::create(name, 2, 64).map(drop)?,
        "create-sem" => Semaphore::create(name, 0).map(drop)?,
        "create-shm" => SharedMemory::create(name, 4096).map(drop)?,
        "create-shm-1m" => SharedMemory::create(name, 1 << 20).map(drop)?,
        "create-sender" => Sender::<Tick>::create(name, 2).map(drop)?,
        "create-receiver" => Receiver::<Tick>::create(name, 2).map(drop)?,
        "create-ring" => RingSender::<Tick>::create(name, 4, RingMode::Spsc).map(drop)?,
        "create-mq-random" => {
            let q = MessageQueue::create_random(2, 64)?;
            let _ = q.unlink();
        }
        "sender-open" => Sender::<Tick>::open(name).map(drop)?,
        "shm-ro-resize" => SharedMemory::options()
            .read_only(true)
            .open(name)?
            .resize(8192)?,
        "mq-ro-send" => MessageQueue::options()
            .write(false)
            .open(name)?
            .send(b"x", 0)?,
        "map-many" => {
            let shm = SharedMemory::open(name)?;
            let mut maps = Vec::new();
            for _ in 0..20_000 {
                maps.push(shm.map_range(0, 64)?);
            }
            return Err(Fail::Test("20,000 mappings and no limit reached".into()));
        }
        "mq-send-closed" | "mq-recv-closed" | "mq-attr-closed" => {
            let q = mq(name)?;
            // SAFETY: closes the queue's descriptor behind its back on purpose (the misuse under
            // test); the handle is forgotten below so it never closes that number again, and
            // this child opens nothing else in between that could reuse it.
            unsafe { libc::close(q.mqd()) };
            let r = match action {
                "mq-send-closed" => q.send(b"x", 0),
                "mq-recv-closed" => q.try_receive().map(drop),
                _ => q.current_messages().map(drop),
            };
            std::mem::forget(q);
            r?;
        }
        "shm-size-closed" | "shm-map-closed" => {
            let shm = SharedMemory::create(name, 4096)?;
            // SAFETY: as above, for the segment's descriptor.
            unsafe { libc::close(shm.fd()) };
            let r = if action == "shm-size-closed" {
                shm.size().map(drop)
            } else {
                shm.map().map(drop)
            };
            std::mem::forget(shm);
            r?;
        }
        "notify" => {
            let first = mq(name)?;
            first.request_notification(Notification::Signal(*posix_ipc::USER_SIGNAL_MIN))?;
            let child =
                common::spawn_child("child_entry", "case", &["none", "notify-second", name]);
            let out = child
                .wait_with_output()
                .map_err(|e| Fail::Test(e.to_string()))?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = stdout
                .lines()
                .find_map(|l| l.split_once("BI-RESULT\t").map(|(_, r)| r.to_owned()))
                .unwrap_or_else(|| "test\tthe second process gave no result".to_owned());
            // Pass the second process's verdict on as ours.
            println!("BI-RESULT\t{line}");
            std::process::exit(0);
        }
        "notify-second" => MessageQueue::open(name)?
            .request_notification(Notification::Signal(*posix_ipc::USER_SIGNAL_MIN))?,
        other => return Err(Fail::Test(format!("unknown action {other}"))),
    }
    Ok(())
}
