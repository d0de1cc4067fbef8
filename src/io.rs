//! Bounded reads of rule files, catalogs and claims.
//!
//! Every read is bounded before it happens and while it happens: only a regular file is
//! opened (a FIFO would block, `/dev/zero` would never end, a directory is not text); its
//! size is checked against the limit first; and the read itself stops one byte past the
//! limit (`Read::take`), so a file that grows while it is read cannot grow memory.
//! Standard input (`-`) is read through the same cap.

use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The path names something other than a regular file.
    #[error("`{path}` is {kind}, not a regular file")]
    NotRegular {
        /// The path as given.
        path: String,
        /// What it is instead, e.g. "a directory", "a FIFO (named pipe)".
        kind: &'static str,
    },
    /// The file is larger than the limit (known before reading, or found while reading).
    #[error("`{path}` is over the limit of {limit} bytes")]
    TooLarge {
        /// The path as given (`-` for standard input).
        path: String,
        /// The limit in bytes.
        limit: usize,
        /// The size, when known before reading.
        size: Option<u64>,
    },
    /// The operating system refused.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl ReadError {
    /// The path the error is about.
    pub fn path(&self) -> &str {
        match self {
            ReadError::NotRegular { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::Io { path, .. } => path,
        }
    }
}

/// What a file type is, for messages.
fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Refuses anything but a regular file, without opening it.
pub fn check_regular(path: &Path) -> Result<(), ReadError> {
    let meta = std::fs::metadata(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(ReadError::NotRegular {
            path: path.display().to_string(),
            kind: kind_of(&meta.file_type()),
        })
    }
}

/// Opens a regular file for reading, refusing anything else before opening it (opening a
/// FIFO for reading blocks) and again on the open handle (the path may have been replaced in
/// between). Used for inputs read as a stream, such as `--batch` files.
pub fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    open_checked(path).map(|(file, _)| file)
}

fn open_checked(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), ReadError> {
    let name = path.display().to_string();
    let io = |source| ReadError::Io {
        path: name.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: name,
            kind: kind_of(&meta.file_type()),
        });
    }
    let file = open_nonblocking(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: name,
            kind: kind_of(&meta.file_type()),
        });
    }
    Ok((file, meta))
}

/// Reads a regular file of at most `limit` bytes.
pub fn read_file(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    let name = path.display().to_string();
    let (file, meta) = open_checked(path)?;
    if meta.len() > limit as u64 {
        return Err(ReadError::TooLarge {
            path: name,
            limit,
            size: Some(meta.len()),
        });
    }
    read_capped(file, limit).map_err(|e| match e {
        Capped::TooLarge => ReadError::TooLarge {
            path: name.clone(),
            limit,
            size: None,
        },
        Capped::Io(source) => ReadError::Io {
            path: name.clone(),
            source,
        },
    })
}

/// Reads standard input, at most `limit` bytes.
pub fn read_stdin(limit: usize) -> Result<Vec<u8>, ReadError> {
    read_capped(std::io::stdin().lock(), limit).map_err(|e| match e {
        Capped::TooLarge => ReadError::TooLarge {
            path: "-".into(),
            limit,
            size: None,
        },
        Capped::Io(source) => ReadError::Io {
            path: "-".into(),
            source,
        },
    })
}

/// Reads `path`, or standard input when it is `-`.
pub fn read_path_or_stdin(path: &Path, limit: usize) -> Result<Vec<u8>, ReadError> {
    if path == Path::new("-") {
        read_stdin(limit)
    } else {
        read_file(path, limit)
    }
}

enum Capped {
    TooLarge,
    Io(std::io::Error),
}

/// Reads at most `limit` bytes; one more means the input is too large.
fn read_capped(r: impl Read, limit: usize) -> Result<Vec<u8>, Capped> {
    let mut buf = Vec::new();
    let cap = (limit as u64).saturating_add(1);
    r.take(cap).read_to_end(&mut buf).map_err(Capped::Io)?;
    if buf.len() > limit {
        return Err(Capped::TooLarge);
    }
    Ok(buf)
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_only() {
        let dir = std::env::temp_dir();
        assert!(matches!(
            read_file(&dir, 10),
            Err(ReadError::NotRegular {
                kind: "a directory",
                ..
            })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_file(Path::new("/dev/zero"), 10),
            Err(ReadError::NotRegular {
                kind: "a character device",
                ..
            })
        ));
    }

    #[test]
    fn the_cap_holds_while_reading() {
        let data = [b'x'; 100];
        assert!(matches!(read_capped(&data[..], 99), Err(Capped::TooLarge)));
        assert_eq!(read_capped(&data[..], 100).ok().map(|v| v.len()), Some(100));
        // An endless reader stops at the cap.
        assert!(matches!(
            read_capped(std::io::repeat(0), 1000),
            Err(Capped::TooLarge)
        ));
    }
}
