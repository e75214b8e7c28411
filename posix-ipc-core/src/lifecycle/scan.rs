//! Who holds what: a scan of `/proc/*/fd` and `/proc/*/maps` for the objects listed.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::sys;

use super::*;

pub(super) struct Scan {
    pub(super) by_id: HashMap<(u64, u64), Vec<Holder>>,
    /// Live processes whose descriptors could not all be read, sorted by pid.
    pub(super) unreadable: Vec<UnreadableProcess>,
}

/// `PF_EXITING` and `PF_KTHREAD` of the flags in `/proc/PID/stat` (`include/linux/sched.h`).
const PF_EXITING: u64 = 0x0000_0004;
const PF_KTHREAD: u64 = 0x0020_0000;
/// `CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH` and `CAP_SYS_PTRACE` (`linux/capability.h`).
const CAP_DAC_OVERRIDE: u32 = 1;
const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;

/// What decides which objects a process may open, from `/proc/PID/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Credentials {
    /// Real, effective, saved and filesystem user ids.
    uids: Vec<u32>,
    /// Real, effective, saved and filesystem group ids and the supplementary groups.
    gids: Vec<u32>,
    /// Effective capabilities.
    caps: u64,
}

impl Credentials {
    fn of(status: &str) -> Option<Credentials> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        let ids = |name: &str| -> Option<Vec<u32>> {
            field(name)?
                .split_whitespace()
                .map(|id| id.parse().ok())
                .collect()
        };
        let mut gids = ids("Gid:")?;
        gids.extend(ids("Groups:").unwrap_or_default());
        Some(Credentials {
            uids: ids("Uid:")?,
            gids,
            caps: u64::from_str_radix(field("CapEff:")?, 16).ok()?,
        })
    }

    fn has(&self, cap: u32) -> bool {
        self.caps & (1 << cap) != 0
    }

    /// Whether a process with these credentials may have opened an object of this owner,
    /// group and mode: as its owner (the creator holds it whatever the mode says), through
    /// the group or other bits, or with a capability that overrides the mode.
    fn may_open(&self, uid: u32, gid: u32, mode: u32) -> bool {
        self.has(CAP_DAC_OVERRIDE)
            || self.has(CAP_DAC_READ_SEARCH)
            || self.uids.contains(&uid)
            || (mode & 0o060 != 0 && self.gids.contains(&gid))
            || mode & 0o006 != 0
    }
}

impl UnreadableProcess {
    /// Whether this process could hold `o` unseen.
    pub(super) fn could_hold(&self, o: &ObjectInfo) -> bool {
        // A semaphore is used through a mapping (`sem_open` closes its descriptor), and the
        // mappings were read.
        if self.maps_readable && o.kind == ObjectKind::Semaphore {
            return false;
        }
        self.credentials
            .as_ref()
            .is_none_or(|c| c.may_open(o.uid, o.gid, o.mode))
    }
}

/// Why a process's `/proc/PID/fd` is denied to this one, and what would help.
fn denial(credentials: Option<&Credentials>, me: Option<&Credentials>) -> String {
    let euid = credentials.and_then(|c| c.uids.get(1).copied());
    if me.is_some_and(|c| c.has(CAP_SYS_PTRACE)) {
        return "permission denied even with CAP_SYS_PTRACE: a security module, or the \
                sandbox of a container or virtual machine, guards it"
            .to_string();
    }
    match euid {
        Some(uid) if uid != sys::effective_uid() => {
            format!("permission denied: it runs as uid {uid}; run as that user or as root")
        }
        Some(_) => "permission denied: it is not dumpable (a set-user-ID program, or one that \
                    made itself so); run as root"
            .to_string(),
        None => "permission denied: run as its user or as root".to_string(),
    }
}

/// The state and flags in `/proc/PID/stat`, or `None` if it is gone.
fn state_and_flags(stat: &str) -> Option<(char, u64)> {
    // The command may contain spaces and parentheses: the fields start after the last ')'.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields 4 to 8 (ppid, pgrp, session, tty, tpgid), then flags (field 9).
    let flags = fields.nth(5)?.parse().ok()?;
    Some((state, flags))
}

/// Where to read a process's descriptors and mappings: its `/proc/PID`, or, if its main thread
/// has exited while other threads run on, a live thread's `/proc/PID/task/TID`. `None` for
/// kernel threads (they hold no POSIX objects), zombies and exiting processes (they hold none
/// any more, or not for long), and processes gone meanwhile.
fn live_dir(base: &Path) -> Option<PathBuf> {
    let live = |dir: &Path| {
        fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|s| state_and_flags(&s))
            .map(|(state, flags)| {
                (
                    flags & PF_KTHREAD == 0,
                    !matches!(state, 'Z' | 'X' | 'x') && flags & PF_EXITING == 0,
                )
            })
    };
    match live(base)? {
        (false, _) => None,
        (true, true) => Some(base.to_path_buf()),
        (true, false) => fs::read_dir(base.join("task"))
            .ok()?
            .flatten()
            .map(|t| t.path())
            .find(|t| live(t).is_some_and(|(_, alive)| alive)),
    }
}

/// Walks `/proc/*/fd` and `/proc/*/maps` for descriptors and mappings of the objects `ids`.
pub(super) fn scan_processes(ids: &HashSet<(u64, u64)>) -> Scan {
    let mut scan = Scan {
        by_id: HashMap::new(),
        unreadable: Vec::new(),
    };
    let Ok(proc_dir) = fs::read_dir("/proc") else {
        return scan;
    };
    let me = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| Credentials::of(&s));
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let base = entry.path();
        let Some(live) = live_dir(&base) else {
            continue;
        };
        let comm = fs::read_to_string(base.join("comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        let mut held: HashMap<(u64, u64), (bool, bool)> = HashMap::new();
        let denied = match fs::read_dir(live.join("fd")) {
            Ok(fds) => {
                let mut denied = false;
                for fd in fds.flatten() {
                    match sys::stat_id(&fd.path()) {
                        Ok(id) if ids.contains(&id) => held.entry(id).or_default().0 = true,
                        Ok(_) => {}
                        Err(libc::EACCES) | Err(libc::EPERM) => denied = true,
                        Err(_) => {}
                    }
                }
                // Partly unreadable: keep what was seen, and still read its mappings.
                denied
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => true,
            // Gone meanwhile.
            Err(_) => continue,
        };
        let maps = fs::read_to_string(live.join("maps"));
        if let Ok(maps) = &maps {
            for line in maps.lines() {
                if let Some(id) = map_line_id(line) {
                    if ids.contains(&id) {
                        held.entry(id).or_default().1 = true;
                    }
                }
            }
        }
        if denied {
            let credentials = fs::read_to_string(base.join("status"))
                .ok()
                .and_then(|s| Credentials::of(&s));
            scan.unreadable.push(UnreadableProcess {
                pid,
                command: comm.clone(),
                uid: credentials.as_ref().and_then(|c| c.uids.get(1).copied()),
                maps_readable: maps.is_ok(),
                reason: denial(credentials.as_ref(), me.as_ref()),
                credentials,
            });
        }
        for (id, (open, mapped)) in held {
            scan.by_id.entry(id).or_default().push(Holder {
                pid,
                command: comm.clone(),
                open,
                mapped,
            });
        }
    }
    for holders in scan.by_id.values_mut() {
        holders.sort_by_key(|h| h.pid);
    }
    scan.unreadable.sort_by_key(|p| p.pid);
    scan
}

/// The (device, inode) of the file a `/proc/PID/maps` line maps, if any.
pub(super) fn map_line_id(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_ascii_whitespace();
    let (_range, _perms, _offset, dev, inode) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let inode: u64 = inode.parse().ok()?;
    if inode == 0 {
        return None;
    }
    let (major, minor) = dev.split_once(':')?;
    let major = u32::from_str_radix(major, 16).ok()?;
    let minor = u32::from_str_radix(minor, 16).ok()?;
    Some((sys::makedev(major, minor), inode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(uid: u32, gids: &str, caps: &str) -> Credentials {
        let status = format!(
            "Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gids}\nGroups:\t27 100 \n\
             CapEff:\t{caps}\n"
        );
        Credentials::of(&status).expect("a well-formed status")
    }

    #[test]
    fn stat_state_and_flags_are_read_after_the_last_parenthesis() {
        let stat = "42 (a) b (c)) S 1 42 42 0 -1 4194560 300 0 0 0";
        assert_eq!(state_and_flags(stat), Some(('S', 4194560)));
        assert_eq!(
            state_and_flags("7 (z) Z 1 7 7 0 -1 4227084 0"),
            Some(('Z', 4227084))
        );
        assert_eq!(state_and_flags("7 (cut) S 1"), None);
    }

    #[test]
    fn another_users_process_may_open_only_what_the_mode_lets_it() {
        let other = credentials(1001, "1001\t1001\t1001\t1001", "0000000000000000");
        assert!(!other.may_open(1000, 1000, 0o600));
        assert!(other.may_open(1000, 1000, 0o604));
        assert!(!other.may_open(1000, 1000, 0o660), "not in group 1000");
        assert!(
            other.may_open(1000, 100, 0o660),
            "in supplementary group 100"
        );
        assert!(
            other.may_open(1001, 1000, 0o000),
            "its owner, whatever the mode"
        );
    }

    #[test]
    fn a_process_that_overrides_permissions_may_open_anything() {
        let root = credentials(0, "0\t0\t0\t0", "000001ffffffffff");
        assert!(root.may_open(1000, 1000, 0o600));
        let reader = credentials(1001, "1001\t1001\t1001\t1001", "0000000000000004");
        assert!(reader.may_open(1000, 1000, 0o600), "CAP_DAC_READ_SEARCH");
        let unprivileged_root = credentials(0, "0\t0\t0\t0", "0000000000000000");
        assert!(!unprivileged_root.may_open(1000, 1000, 0o600));
    }
}
