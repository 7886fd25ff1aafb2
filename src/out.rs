//! Printing that survives a closed pipe: `credlab --list | head -1` must end quietly, not
//! panic. `println!` panics when stdout is gone; these macros end the process with the
//! conventional status of a process killed by SIGPIPE (128 + 13) and print nothing more.
//!
//! (Restoring the default SIGPIPE action would do the same for stdout, but would also kill
//! credlab whenever a provider closes its stdin early, which the runner must survive.)

use std::io::Write;

/// The exit status when the reader of stdout or stderr went away.
pub const BROKEN_PIPE: i32 = 128 + 13;

/// Writes `args` to stdout (or stderr), and ends the process quietly if the reader is gone.
pub fn write(to_stderr: bool, args: std::fmt::Arguments<'_>) {
    let result = if to_stderr {
        std::io::stderr().lock().write_fmt(args)
    } else {
        let mut out = std::io::stdout().lock();
        out.write_fmt(args).and_then(|()| out.flush())
    };
    if let Err(e) = result
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(BROKEN_PIPE);
    }
}

/// `println!` that ends quietly on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::write(false, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that ends quietly on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(false, format_args!($($arg)*))
    };
}

/// `eprintln!` that ends quietly on a closed pipe.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::out::write(true, format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};
