//! Thin wrappers over the Unix calls the driver needs: non-blocking pipes, `poll`, exit
//! notification, process-group signals and (Linux) `/proc` scans.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub(crate) fn set_nonblocking(fd: &impl AsRawFd) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor the caller owns.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `poll(2)` for at most `timeout` (rounded up to whole milliseconds, so a deadline a fraction
/// of a millisecond away does not spin). An interrupted call counts as a wake-up.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<()> {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid, exclusively borrowed slice of pollfd.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}

/// A descriptor that becomes readable when a child exits, without reaping it (so its pid, and
/// the process-group id it leads, stay reserved until the driver reaps it).
#[derive(Debug)]
pub(crate) enum ExitWatch {
    /// Linux ≥ 5.3: a pidfd polls readable once the process has exited.
    #[cfg(target_os = "linux")]
    Pidfd(OwnedFd),
    /// Elsewhere: a thread blocked in `waitid(WEXITED | WNOWAIT)` closes the write end of
    /// this pipe once the child is waitable (or already reaped). The thread always ends,
    /// because the driver always ends the child.
    Thread(OwnedFd),
}

impl ExitWatch {
    pub(crate) fn new(pid: libc::pid_t) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: pidfd_open(pid, 0) takes no pointers; the returned fd is close-on-exec.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
            if fd >= 0 {
                // SAFETY: a fresh descriptor that nothing else owns.
                return Ok(Self::Pidfd(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
            }
        }
        Self::thread(pid)
    }

    pub(crate) fn thread(pid: libc::pid_t) -> io::Result<Self> {
        let (read, write) = pipe()?;
        std::thread::Builder::new()
            .name(format!("credlab-exit-watch-{pid}"))
            .spawn(move || {
                loop {
                    // SAFETY: `info` is a valid out-pointer; WNOWAIT leaves the child waitable.
                    let rc = unsafe {
                        let mut info: libc::siginfo_t = std::mem::zeroed();
                        libc::waitid(
                            libc::P_PID,
                            pid as libc::id_t,
                            &mut info,
                            libc::WEXITED | libc::WNOWAIT,
                        )
                    };
                    if rc == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                        break;
                    }
                }
                drop(write);
            })?;
        Ok(Self::Thread(read))
    }

    pub(crate) fn fd(&self) -> RawFd {
        match self {
            #[cfg(target_os = "linux")]
            Self::Pidfd(fd) => fd.as_raw_fd(),
            Self::Thread(fd) => fd.as_raw_fd(),
        }
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors that nothing else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    for fd in [&read, &write] {
        // SAFETY: fcntl on descriptors owned here.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok((read, write))
}

/// Sends `signal` to every process of the group `pgid`; `false` if none was found.
pub(crate) fn signal_group(pgid: libc::pid_t, signal: libc::c_int) -> bool {
    // SAFETY: kill(2) takes no pointers.
    unsafe { libc::kill(-pgid, signal) == 0 }
}

/// Whether a process of group `pgid` is still running (zombies waiting for their new parent to
/// reap them do not count; they are already dead).
pub(crate) fn group_has_live_member(pgid: libc::pid_t) -> bool {
    if !signal_group(pgid, 0) {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        if std::fs::metadata("/proc/self/stat").is_err() {
            return true; // no /proc: trust kill(2)
        }
        proc_pids().any(|pid| {
            proc_stat(pid)
                .is_some_and(|stat| stat.pgrp == pgid && stat.state != 'Z' && stat.state != 'X')
        })
    }
    #[cfg(not(target_os = "linux"))]
    true
}

/// The inode number of a pipe, to find other holders of it in `/proc/*/fd`.
pub(crate) fn inode(fd: &impl AsRawFd) -> Option<u64> {
    // SAFETY: `st` is a valid out-pointer for fstat.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        (libc::fstat(fd.as_raw_fd(), &mut st) == 0).then_some(st.st_ino as u64)
    }
}

/// Kills (SIGKILL) every live process of session `sid` that is *outside* its leader's process
/// group (descendants that moved to a group of their own with `setpgid`; the group itself is
/// signalled as a whole by [`signal_group`]). Returns how many were signalled. Linux only
/// (`/proc`); elsewhere such descendants are not tracked.
///
/// Repeats the scan until it finds nobody new, so a process forking while it is scanned does
/// not leave a new child behind.
pub(crate) fn kill_session_outside_group(sid: libc::pid_t) -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut killed = std::collections::HashSet::new();
        for _ in 0..8 {
            let mut found = false;
            for pid in proc_pids() {
                if killed.contains(&pid) {
                    continue;
                }
                if let Some(stat) = proc_stat(pid)
                    && stat.session == sid
                    && stat.pgrp != sid
                    && stat.state != 'Z'
                    && stat.state != 'X'
                {
                    // SAFETY: kill(2) takes no pointers.
                    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    killed.insert(pid);
                    found = true;
                }
            }
            if !found {
                break;
            }
        }
        killed.len()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sid;
        0
    }
}

/// Kills (SIGKILL) every process, other than this one, that holds one of the pipes with these
/// inodes. Returns how many were signalled. Linux only (`/proc`).
///
/// The provider and its session are gone by then, so the holders are descendants that left
/// the session (`setsid`). Skipped: this process's own children still running this process's
/// executable, i.e. between `fork` and `exec`, when they briefly hold copies of every
/// exchange's (close-on-exec) pipes.
pub(crate) fn kill_pipe_holders(inodes: &[u64]) -> usize {
    #[cfg(target_os = "linux")]
    {
        let me = std::process::id();
        let my_exe = std::fs::read_link("/proc/self/exe").ok();
        let targets: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
        let mut killed = 0;
        for pid in proc_pids() {
            if pid == me {
                continue;
            }
            let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            let holds = fds.flatten().any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|link| {
                    link.to_str()
                        .is_some_and(|l| targets.iter().any(|t| t == l))
                })
            });
            if !holds {
                continue;
            }
            let forked_not_exec = proc_stat(pid).is_some_and(|stat| stat.ppid == me as libc::pid_t)
                && std::fs::read_link(format!("/proc/{pid}/exe")).ok() == my_exe;
            // SAFETY: kill(2) takes no pointers.
            if !forked_not_exec && unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) } == 0 {
                killed += 1;
            }
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = inodes;
        0
    }
}

/// The numeric entries of `/proc`.
#[cfg(target_os = "linux")]
fn proc_pids() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

#[cfg(target_os = "linux")]
struct ProcStat {
    state: char,
    ppid: libc::pid_t,
    pgrp: libc::pid_t,
    session: libc::pid_t,
}

/// Fields of `/proc/<pid>/stat`: `pid (comm) state ppid pgrp session …`; `comm` may hold spaces and
/// parentheses, so the fields are read after the last `)`.
#[cfg(target_os = "linux")]
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    Some(ProcStat {
        state,
        ppid,
        pgrp,
        session,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    fn wait_readable(fd: RawFd, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let mut fds = [libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            }];
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            poll(&mut fds, deadline - now).unwrap();
            if fds[0].revents != 0 {
                return true;
            }
        }
    }

    #[test]
    fn both_exit_watches_fire_without_reaping() {
        for thread in [false, true] {
            let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
            let pid = child.id() as libc::pid_t;
            let watch = if thread {
                ExitWatch::thread(pid).unwrap()
            } else {
                ExitWatch::new(pid).unwrap()
            };
            assert!(wait_readable(watch.fd(), Duration::from_secs(10)));
            // Not reaped by the watch: the status is still there for the owner.
            assert_eq!(child.try_wait().unwrap().and_then(|s| s.code()), Some(3));
        }
    }

    #[test]
    fn exit_watch_stays_quiet_while_the_child_runs() {
        let mut child = Command::new("sh")
            .args(["-c", "read x; true"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let watch = ExitWatch::new(child.id() as libc::pid_t).unwrap();
        assert!(!wait_readable(watch.fd(), Duration::from_millis(100)));
        drop(child.stdin.take());
        assert!(wait_readable(watch.fd(), Duration::from_secs(10)));
        assert!(child.wait().unwrap().success());
    }
}
