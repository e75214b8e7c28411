//! Who holds what: a scan of `/proc/*/fd` and `/proc/*/maps` for the objects listed.

use std::collections::{HashMap, HashSet};
use std::fs;

use crate::sys;

use super::*;

pub(super) struct Scan {
    pub(super) by_id: HashMap<(u64, u64), Vec<Holder>>,
    pub(super) unreadable: Vec<(u32, String)>,
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
    for entry in proc_dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let base = entry.path();
        // Kernel threads (no command line) hold no POSIX objects.
        if fs::read(base.join("cmdline")).is_ok_and(|c| c.is_empty()) {
            continue;
        }
        let comm = fs::read_to_string(base.join("comm"))
            .map(|c| c.trim_end().to_string())
            .unwrap_or_default();
        let mut held: HashMap<(u64, u64), (bool, bool)> = HashMap::new();
        match fs::read_dir(base.join("fd")) {
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
                if denied {
                    // Partly unreadable: keep what was seen, and still read its mappings.
                    scan.unreadable.push((pid, comm.clone()));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                scan.unreadable.push((pid, comm));
                continue;
            }
            // Gone meanwhile, or a kernel thread.
            Err(_) => continue,
        }
        if let Ok(maps) = fs::read_to_string(base.join("maps")) {
            for line in maps.lines() {
                if let Some(id) = map_line_id(line) {
                    if ids.contains(&id) {
                        held.entry(id).or_default().1 = true;
                    }
                }
            }
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
