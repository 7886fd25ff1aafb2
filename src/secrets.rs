//! The run's secrets: the one register every printer of this process scrubs with, and the
//! hardening that keeps the secret key out of reach of the providers credlab starts.
//!
//! A provider runs as the same user as credlab, so by default it could read credlab's
//! `/proc/<pid>/environ`, `/proc/<pid>/cmdline` and memory. credlab therefore
//! - reads `CREDLAB_SECRET_KEY` once, before any thread or provider starts, then overwrites
//!   its value in place in the process's original environment block (which is what
//!   `/proc/<pid>/environ` shows; `unsetenv` alone leaves the bytes there) and unsets it;
//! - marks itself non-dumpable (Linux `PR_SET_DUMPABLE` 0): `/proc/<pid>/environ`, `mem` and
//!   `maps` then need `CAP_SYS_PTRACE`, which a provider of the same user does not have, and
//!   no core dump holds the key.
//!
//! The command line stays readable by every user (`/proc/<pid>/cmdline`), so `--secret-key`
//! on it is discouraged in favour of `--secret-key-file` or the environment variable.

use std::sync::LazyLock;

use credlab_suite::redact::Secrets;

/// The environment variable that carries the secret key.
pub const ENV: &str = "CREDLAB_SECRET_KEY";

/// The environment variable that carries a plain-token registry's token (`--registry` in
/// plain-token mode), taken and wiped like the key.
pub const REGISTRY_TOKEN_ENV: &str = "CREDLAB_REGISTRY_TOKEN";

/// The secrets `main` took out of the environment before anything else ran.
#[derive(Debug, Default, Clone)]
pub struct FromEnv {
    /// `CREDLAB_SECRET_KEY`.
    pub secret_key: Option<String>,
    /// `CREDLAB_REGISTRY_TOKEN`.
    pub registry_token: Option<String>,
}

/// Takes every secret credlab reads from the environment (see [`take_env`]).
pub fn take_env_secrets() -> FromEnv {
    FromEnv {
        secret_key: take_env(ENV),
        registry_token: take_env(REGISTRY_TOKEN_ENV),
    }
}

static REGISTER: LazyLock<Secrets> = LazyLock::new(Secrets::new);

/// The process's register: runners add to it, every printer scrubs with it.
pub fn register() -> &'static Secrets {
    &REGISTER
}

/// Text for a human: secrets replaced, then control and invisible characters escaped.
pub fn shown(text: &str) -> String {
    credlab_suite::text::for_terminal(&register().scrub(text))
}

/// The value of the environment variable `name`, wiped from this process's environment.
///
/// Must run before any other thread exists (it is the first thing `main` does): the
/// environment is process-global and not synchronised with other threads' C calls.
fn take_env(name: &str) -> Option<String> {
    let value = std::env::var_os(name)?;
    wipe_in_place(name);
    // SAFETY: called at the start of `main`, before any thread is spawned.
    unsafe { std::env::remove_var(name) };
    Some(value.to_string_lossy().into_owned())
}

/// Overwrites the value of `name` with NULs in the environment block itself.
#[cfg(unix)]
fn wipe_in_place(name: &str) {
    use std::ffi::{CStr, c_char};

    unsafe extern "C" {
        static mut environ: *mut *mut c_char;
    }
    let prefix = format!("{name}=");
    // SAFETY: single-threaded (see `take_env_secret`); `environ` is the C library's
    // NULL-terminated array of NUL-terminated strings, and each string's bytes up to its NUL
    // belong to it, so writing NULs over the value stays inside that string.
    unsafe {
        let mut entry = environ;
        if entry.is_null() {
            return;
        }
        while !(*entry).is_null() {
            let text = CStr::from_ptr(*entry).to_bytes();
            if text.starts_with(prefix.as_bytes()) {
                let value_len = text.len() - prefix.len();
                std::ptr::write_bytes((*entry).add(prefix.len()), 0, value_len);
            }
            entry = entry.add(1);
        }
    }
}

#[cfg(not(unix))]
fn wipe_in_place(_name: &str) {}

/// Makes this process non-dumpable, so a provider of the same user cannot read its
/// environment or memory through `/proc` (see the module docs). Returns whether it worked.
pub fn harden() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_DUMPABLE takes one integer argument and touches no memory.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}
