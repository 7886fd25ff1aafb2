//! What a client may hold of the registry: how long, how many connections, how many bytes.
//!
//! | limit | default | enforced by | past it |
//! |-------|---------|-------------|---------|
//! | `header_timeout` | 10 s | hyper's HTTP/1 `header_read_timeout` | the connection is closed |
//! | `body_timeout` | 30 s | tower-http's `TimeoutLayer` around each request (its body is read inside) | `408`, then closed |
//! | `max_connections` | 1024, or the open-file limit less 64 if that is lower | a semaphore in the accept loop | a `503` with `Retry-After`, then closed |
//! | `max_publish_body` | 32 MiB | axum's `DefaultBodyLimit` on `PUT /api/v1/crates/new` | `413` |
//! | `max_body` | 64 KiB | the same, on every other endpoint | `413` |
//!
//! hyper starts the header timer whenever a connection waits for a request: on a new
//! connection and again each time a keep-alive connection goes idle after a response. So the
//! header timeout is also the idle keep-alive timeout: a connection that sends nothing for
//! that long is closed, whether it never sent a request or is between two. (A separate idle
//! timer would have to be hand-rolled around hyper; one bound for both is what hyper offers.)
//!
//! A refused connection is answered, not dropped or left in the backlog, because Cargo retries
//! a 503 as a spurious error (`src/cargo/util/network/retry.rs` at rust-lang/cargo af373f76)
//! where a reset or a hang would fail or stall the command. Defaults are generous for Cargo,
//! which sends a publish's body at once and keeps at most a few connections per registry.

use std::time::Duration;

/// Descriptors kept back from the connection limit: stdio, the runtime (epoll, its wakers),
/// the listener, SQLite (database, journal, WAL) and a temporary file or two.
const RESERVED_DESCRIPTORS: u64 = 64;

/// The connection limit when the open-file limit does not force a lower one.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Timeouts and sizes; see the module documentation for what each one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// From the moment a connection waits for a request until its headers are complete.
    pub header_timeout: Duration,
    /// From a request's headers until its body is read and it is answered.
    pub body_timeout: Duration,
    /// Connections served at once; more are refused.
    pub max_connections: usize,
    /// The largest publish body (`PUT /api/v1/crates/new`).
    pub max_publish_body: usize,
    /// The largest body of any other request.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: default_max_connections(),
            max_publish_body: 32 * 1024 * 1024,
            max_body: 64 * 1024,
        }
    }
}

/// [`DEFAULT_MAX_CONNECTIONS`], or fewer when the process may not open that many
/// descriptors: past the open-file limit `accept` fails and a connection waits in the
/// kernel's backlog, unanswered, which is the starvation the limit exists to prevent.
pub fn default_max_connections() -> usize {
    let mut rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one plain struct that lives for the call.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rlimit) } == 0;
    if !known || rlimit.rlim_cur == libc::RLIM_INFINITY {
        return DEFAULT_MAX_CONNECTIONS;
    }
    let usable = rlimit.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(1);
    DEFAULT_MAX_CONNECTIONS.min(usize::try_from(usable).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_limit_fits_the_open_file_limit() {
        let limit = default_max_connections();
        assert!((1..=DEFAULT_MAX_CONNECTIONS).contains(&limit));
    }
}
