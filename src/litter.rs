//! Folders a run makes beside its output (working copies, the output being written, the previous output moved
//! aside) carry their owner in their name: the process id and its start time. A run killed outright (SIGKILL, a
//! power cut) cannot remove its own; the next run in the same place clears every such folder whose owner is gone,
//! and never one whose owner still runs — two runs side by side keep their own folders.
//!
//! The start time guards against a recycled process id: a folder is someone's only while a process with that id
//! and that start time exists.

use std::path::{Path, PathBuf};

/// `<pid>.<start>`: this process, as it will be recognised later.
pub fn owner_tag() -> String {
    let pid = std::process::id();
    format!("{pid}.{}", start_time(pid).unwrap_or(0))
}

/// The start time of a process in clock ticks since boot (Linux `/proc/<pid>/stat`, field 22); None when there is
/// no such process, or no /proc to ask.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process a tag names still runs.
fn alive(tag: &str) -> bool {
    let Some((pid, start)) = tag.split_once('.') else {
        return true;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return true;
    };
    if !Path::new("/proc/self/stat").exists() {
        // No /proc: only the pid can be asked (kill with signal 0 probes without sending).
        // SAFETY: kill(pid, 0) sends nothing; it reports whether the process exists.
        return unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
    }
    start_time(pid).is_some_and(|s| start == 0 || s == start)
}

/// The folders in `parent` named `<prefix><tag>-…` whose owner is gone.
pub fn orphans(parent: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let tag = rest.split('-').next().unwrap_or("");
        if !tag.contains('.') || alive(tag) {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            found.push(e.path());
        }
    }
    found.sort();
    found
}

/// Removes the folders in `parent` named `<prefix><tag>-…` whose owner is gone; returns how many. A folder that
/// cannot be removed is left (the run does not fail for another run's litter).
pub fn clear(parent: &Path, prefix: &str) -> usize {
    orphans(parent, prefix)
        .into_iter()
        .filter(|p| std::fs::remove_dir_all(p).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_not() {
        assert!(alive(&owner_tag()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let tag = format!("{pid}.{}", start_time(pid).unwrap_or(1));
        child.wait().unwrap();
        assert!(!alive(&tag));
        // Our pid with another start time is a recycled id: not ours.
        let recycled = format!("{}.{}", std::process::id(), start_time(std::process::id()).unwrap() + 1);
        assert!(!alive(&recycled));
    }

    #[test]
    fn only_folders_of_gone_owners_are_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join(format!(".aftersales-work-{}-abc", owner_tag()));
        let gone = dir.path().join(".aftersales-work-999999999.5-xyz");
        let other = dir.path().join("keep-999999999.5-xyz");
        for d in [&mine, &gone, &other] {
            std::fs::create_dir(d).unwrap();
        }
        assert_eq!(clear(dir.path(), ".aftersales-work-"), 1);
        assert!(mine.exists() && other.exists() && !gone.exists());
    }
}
