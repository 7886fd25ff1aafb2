//! Thin wrappers over the Unix calls the driver needs: non-blocking pipes, `poll`, exit
//! notification, process-group signals and (Linux) `/proc` scans.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use credlab_suite::provider::LeftoverPlace;

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

/// The live members of group `pgid` (zombies waiting for their new parent to reap them do not
/// count; they are already dead): listed from `/proc` on Linux; `None` where they cannot be
/// listed but kill(2) says the group still has a member.
pub(crate) fn live_group_members(pgid: libc::pid_t) -> Option<Vec<Found>> {
    if !signal_group(pgid, 0) {
        return Some(Vec::new());
    }
    #[cfg(target_os = "linux")]
    {
        if std::fs::metadata("/proc/self/stat").is_err() {
            return None; // no /proc: trust kill(2)
        }
        Some(
            all_processes()
                .into_iter()
                .filter(|(_, stat)| stat.pgrp == pgid && stat.is_alive())
                .map(|(pid, stat)| Found::new(pid, &stat, pgid))
                .collect(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    None
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
/// signalled as a whole by [`signal_group`]), and returns them. Linux only (`/proc`); elsewhere
/// such descendants are not tracked. Used when credlab could not become a child subreaper
/// (see `leftovers`), which finds these and more.
///
/// Repeats the scan until it finds nobody new, so a process forking while it is scanned does
/// not leave a new child behind.
pub(crate) fn kill_session_outside_group(sid: libc::pid_t) -> Vec<Found> {
    #[cfg(target_os = "linux")]
    {
        let mut killed: Vec<Found> = Vec::new();
        for _ in 0..8 {
            let mut found = false;
            for (pid, stat) in all_processes() {
                if killed.iter().any(|k| k.pid == pid) {
                    continue;
                }
                if stat.session == sid && stat.pgrp != sid && stat.is_alive() {
                    // SAFETY: kill(2) takes no pointers.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    killed.push(Found::new(pid, &stat, sid));
                    found = true;
                }
            }
            if !found {
                break;
            }
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sid;
        Vec::new()
    }
}

/// Kills (SIGKILL) every process, other than this one, that holds one of the pipes with these
/// inodes, and returns them (placed relative to `provider`). Linux only (`/proc`).
///
/// The provider and everything attributed to it are gone by then, so the holders are processes
/// that got a pipe some other way (a descriptor passed over a socket), or descendants that left
/// the session when credlab is not a child subreaper. Skipped: this process's own children still
/// running this process's executable, i.e. between `fork` and `exec`, when they briefly hold
/// copies of every exchange's (close-on-exec) pipes.
pub(crate) fn kill_pipe_holders(inodes: &[u64], provider: libc::pid_t) -> Vec<Found> {
    #[cfg(target_os = "linux")]
    {
        let me = std::process::id() as libc::pid_t;
        let my_exe = std::fs::read_link("/proc/self/exe").ok();
        let targets: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
        let mut killed = Vec::new();
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
            let Some(stat) = proc_stat(pid) else {
                continue;
            };
            let forked_not_exec =
                stat.ppid == me && std::fs::read_link(format!("/proc/{pid}/exe")).ok() == my_exe;
            // SAFETY: kill(2) takes no pointers.
            if !forked_not_exec && unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                killed.push(Found::new(pid, &stat, provider));
            }
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (inodes, provider);
        Vec::new()
    }
}

/// A process found left over by an exchange (and killed).
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) pid: libc::pid_t,
    /// Its parent when found: this process's own children must be reaped.
    pub(crate) ppid: libc::pid_t,
    pub(crate) comm: String,
    pub(crate) place: LeftoverPlace,
}

impl Found {
    /// `stat` placed relative to the provider `provider` (the leader of its session and group).
    #[cfg(target_os = "linux")]
    pub(crate) fn new(pid: libc::pid_t, stat: &ProcStat, provider: libc::pid_t) -> Self {
        let place = if stat.pgrp == provider {
            LeftoverPlace::ProcessGroup
        } else if stat.session == provider {
            LeftoverPlace::Session
        } else {
            LeftoverPlace::OtherSession
        };
        Self {
            pid,
            ppid: stat.ppid,
            comm: stat.comm.clone(),
            place,
        }
    }
}

/// All processes in `/proc`, with their `stat` (those that vanish while scanned are skipped).
#[cfg(target_os = "linux")]
pub(crate) fn all_processes() -> Vec<(libc::pid_t, ProcStat)> {
    proc_pids()
        .filter_map(|pid| Some((pid, proc_stat(pid)?)))
        .collect()
}

/// `pidfd_open(pid)`: `Ok(None)` when the kernel has no pidfds (before 5.3), `Err` when the
/// process does not exist.
#[cfg(target_os = "linux")]
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<Option<OwnedFd>> {
    // SAFETY: pidfd_open(pid, 0) takes no pointers; the returned fd is close-on-exec.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd >= 0 {
        // SAFETY: a fresh descriptor that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSYS) => Ok(None),
        _ => Err(err),
    }
}

/// Sends SIGKILL to `pid` if it is still the process that started at `start` (clock ticks
/// since boot): through a pidfd, so a pid reused in between is never hit.
#[cfg(target_os = "linux")]
pub(crate) fn kill_verified(pid: libc::pid_t, start: u64) {
    match pidfd_open(pid) {
        Ok(Some(fd)) => {
            if proc_stat(pid).is_some_and(|stat| stat.start == start) {
                // SAFETY: a valid pidfd; a null siginfo means "as kill(2)".
                unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        fd.as_raw_fd(),
                        libc::SIGKILL,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    )
                };
            }
        }
        Ok(None) => {
            if proc_stat(pid).is_some_and(|stat| stat.start == start) {
                // SAFETY: kill(2) takes no pointers.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        Err(_) => {} // gone
    }
}

/// Reaps `pid`, one of this process's children, with `waitpid` on that pid only: waits for it
/// to die until `deadline` (through a pidfd; without pidfds, a blocking `waitpid`). `false`
/// if it is still running at the deadline; `true` once reaped, or if it is not (or no longer)
/// a child of this process.
#[cfg(target_os = "linux")]
pub(crate) fn reap(pid: libc::pid_t, deadline: std::time::Instant) -> bool {
    let pidfd = pidfd_open(pid).ok().flatten();
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return true;
        }
        if rc < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return true; // ECHILD
        }
        let Some(fd) = &pidfd else {
            // SAFETY: as above; SIGKILL was sent, so this returns.
            while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
            return true;
        };
        let now = std::time::Instant::now();
        if now >= deadline {
            return false;
        }
        let mut fds = [libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if poll(&mut fds, deadline - now).is_err() {
            return false;
        }
    }
}

/// The numeric entries of `/proc` (processes, not threads).
#[cfg(target_os = "linux")]
pub(crate) fn proc_pids() -> impl Iterator<Item = libc::pid_t> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

#[cfg(target_os = "linux")]
#[derive(Debug, Clone)]
pub(crate) struct ProcStat {
    pub(crate) comm: String,
    pub(crate) state: char,
    pub(crate) ppid: libc::pid_t,
    pub(crate) pgrp: libc::pid_t,
    pub(crate) session: libc::pid_t,
    /// Field 22, `starttime`: clock ticks after boot. With the pid, it names one process.
    pub(crate) start: u64,
}

#[cfg(target_os = "linux")]
impl ProcStat {
    /// Not a zombie (dead, waiting to be reaped) nor being reaped.
    pub(crate) fn is_alive(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// Fields of `/proc/<pid>/stat`: `pid (comm) state ppid pgrp session …`; `comm` may hold spaces
/// and parentheses, so the fields are read after the last `)`.
#[cfg(target_os = "linux")]
pub(crate) fn proc_stat(pid: libc::pid_t) -> Option<ProcStat> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    let session = fields.next()?.parse().ok()?;
    // Fields 7 to 21, then 22.
    let start = fields.nth(15)?.parse().ok()?;
    Some(ProcStat {
        comm,
        state,
        ppid,
        pgrp,
        session,
        start,
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
