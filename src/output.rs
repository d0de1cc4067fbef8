//! Checked writes of command output, shared by every subcommand.
//!
//! Every write is checked: a full disk (`> /dev/full`) or any other write error is reported
//! and ends the command with exit code 2, never exit 0 with output lost. A reader that went
//! away (`| head -1`: the pipe is closed, `EPIPE`) is not an error: the command stops writing
//! at once and ends as it would have, without a message. Messages about a failed write go to
//! standard error with their own errors ignored (there is nowhere left to report them), so
//! reporting never panics as `eprintln!` would.

use std::io::{self, Write};

/// How writing a command's output ended.
#[derive(Debug)]
pub enum Written {
    /// Everything was written and flushed.
    Done,
    /// The reader closed the pipe: stop writing, end normally.
    Closed,
    /// The write failed: report it, exit 2.
    Failed(io::Error),
}

impl Written {
    /// The exit code: the command's own code, or 2 after a failed write (reported on
    /// standard error as `error: cannot write WHAT: CAUSE`).
    pub fn exit_code(self, what: &str, code: i32) -> i32 {
        match self {
            Written::Done | Written::Closed => code,
            Written::Failed(e) => {
                report(&format!("error: cannot write {what}: {e}"));
                2
            }
        }
    }

    /// True when the caller should keep writing.
    pub fn is_done(&self) -> bool {
        matches!(self, Written::Done)
    }
}

/// Writes all of `bytes` to `w` and flushes it.
pub fn write_checked(w: &mut dyn Write, bytes: &[u8]) -> Written {
    match w.write_all(bytes).and_then(|()| w.flush()) {
        Ok(()) => Written::Done,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Written::Closed,
        Err(e) => Written::Failed(e),
    }
}

/// Writes `text` to standard output, checked.
pub fn stdout(text: &str) -> Written {
    write_checked(&mut io::stdout().lock(), text.as_bytes())
}

/// Writes `text` to standard error, checked.
pub fn stderr(text: &str) -> Written {
    write_checked(&mut io::stderr().lock(), text.as_bytes())
}

/// Prints one line on standard error, ignoring a failure to do so (unlike `eprintln!`,
/// which panics).
pub fn report(line: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{line}");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fails(io::ErrorKind);

    impl Write for Fails {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(self.0))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn outcomes() {
        let mut v = Vec::new();
        assert!(write_checked(&mut v, b"abc").is_done());
        assert_eq!(v, b"abc");
        assert!(matches!(
            write_checked(&mut Fails(io::ErrorKind::BrokenPipe), b"x"),
            Written::Closed
        ));
        let failed = write_checked(&mut Fails(io::ErrorKind::StorageFull), b"x");
        assert!(matches!(failed, Written::Failed(_)));
        assert_eq!(failed.exit_code("test output", 0), 2);
        assert_eq!(Written::Closed.exit_code("test output", 1), 1);
    }
}
