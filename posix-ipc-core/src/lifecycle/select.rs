//! Choosing topics by name: the topics that exist now, and glob patterns over their names (what
//! `posix-ipc-bridge --export`, `posix-ipc record` and `replay --topics` take).

use super::{list, Filter};
use crate::typed::SegmentKind;
use crate::ObjectKind;

/// The names of the topics that exist now (this crate's topic segments in `/dev/shm`), with
/// their leading slash.
pub fn topic_names() -> Vec<String> {
    list(&Filter::new())
        .objects
        .into_iter()
        .filter(|o| o.kind == ObjectKind::SharedMemory)
        .filter(|o| {
            o.segment
                .as_ref()
                .is_some_and(|s| s.kind == SegmentKind::Topic)
        })
        .map(|o| o.name)
        .collect()
}

/// Whether `name` (a topic name, with or without its slash) matches the glob `pattern`: `*`
/// any run of characters, `?` any one; a pattern's leading slash is optional.
///
/// ```
/// use posix_ipc_core::lifecycle::glob_matches;
/// assert!(glob_matches("/cam*", "/camera"));
/// assert!(glob_matches("pose?", "/poses"));
/// assert!(!glob_matches("/cam*", "/scan"));
/// ```
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.trim_start_matches('/').chars().collect();
    let n: Vec<char> = name.trim_start_matches('/').chars().collect();
    // Iterative matching with one backtrack point (the last `*`).
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}
