//! The module's UFS storage kept in a directory, so files uploaded with
//! `AT+QFUPL="UFS:…"` outlive the process, as they outlive a power cycle on a
//! real module.
//!
//! One file per module file. Names are escaped so that no module file name
//! can leave the directory or collide with another: every byte outside
//! `A–Z a–z 0–9 - _` and a `.` that is not first becomes `%XX` (so `%` itself
//! is escaped, and no stored name starts with `.` or is `.`/`..`). Files are
//! written to a temporary name starting with `.` and renamed into place, so a
//! crash never leaves half a file under a module name; names that do not
//! unescape to a valid name (temporaries, strangers) are ignored when loading.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

/// A directory holding one module's UFS files.
#[derive(Debug, Clone)]
pub(crate) struct UfsDir {
    dir: PathBuf,
}

impl UfsDir {
    pub(crate) fn new(dir: PathBuf) -> UfsDir {
        UfsDir { dir }
    }

    /// Every saved file as `(name, bytes)`, in name order; nothing if the
    /// directory does not exist yet.
    pub(crate) fn load(&self) -> io::Result<Vec<(String, Vec<u8>)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry?;
            let stored = entry.file_name();
            let Some(name) = stored.to_str().and_then(unescape) else {
                debug!(file = ?entry.path(), "not a saved UFS file; ignored");
                continue;
            };
            if !entry.file_type()?.is_file() {
                continue;
            }
            files.push((name, fs::read(entry.path())?));
        }
        files.sort();
        Ok(files)
    }

    /// Saves `bytes` as `name`, replacing any earlier version at once.
    ///
    /// Directories it creates are mode 0700 and files 0600 on Unix: a device's
    /// UFS holds its certificates and keys (`AT+QSSLCFG` names them), which
    /// other users of the machine must not read.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut dirs = fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            dirs.mode(0o700);
        }
        dirs.create(&self.dir)?;
        let target = self.path_of(name);
        let temp = self
            .dir
            .join(format!(".tmp-{}-{}", std::process::id(), escape(name)));
        let written = write_private(&temp, bytes).and_then(|()| fs::rename(&temp, &target));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Deletes `name`; a file that is not there is not an error.
    pub(crate) fn delete(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path_of(name)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(escape(name))
    }

    /// Logs and forgets a failure: the module goes on, without persistence
    /// for this file.
    pub(crate) fn report(&self, what: &str, name: &str, result: io::Result<()>) {
        if let Err(e) = result {
            warn!(
                dir = %self.dir.display(),
                file = name,
                error = %e,
                "cannot {what} the UFS file on disk; the module keeps it in memory only"
            );
        }
    }
}

/// A stored file name for a module file name: only `A–Z a–z 0–9 - _` and a
/// `.` that is not first are kept; every other byte becomes `%XX`.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The module file name a stored name stands for, if it is one [`escape`]
/// makes.
fn unescape(stored: &str) -> Option<String> {
    let bytes = stored.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = stored.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (!name.is_empty() && escape(&name) == stored).then_some(name)
}

/// Writes a new file readable by its owner only (0600 on Unix).
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(label: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vmodem-ufs-test-{}-{label}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn names_are_escaped_into_one_plain_file_name_and_back() {
        for name in [
            "cacert.pem",
            "a b",
            "..",
            ".",
            ".hidden",
            "x/../../etc/passwd",
            "100%",
            "C:\\x",
            "é",
        ] {
            let stored = escape(name);
            assert!(
                !stored.contains('/') && !stored.starts_with('.'),
                "{name}: {stored}"
            );
            assert_eq!(unescape(&stored).as_deref(), Some(name), "{stored}");
        }
        assert_eq!(escape("cacert.pem"), "cacert.pem");
        assert_eq!(escape("a b"), "a%20b");
        assert_eq!(escape(".."), "%2E.");
        // Not made by `escape`: ignored.
        for stranger in [".tmp-1-x", "%2e.", "a%2", "%zz", "a b", ""] {
            assert_eq!(unescape(stranger), None, "{stranger}");
        }
    }

    #[test]
    fn files_are_written_replaced_listed_and_deleted() {
        let dir = scratch("roundtrip");
        let ufs = UfsDir::new(dir.join("ufs"));
        assert_eq!(ufs.load().unwrap(), vec![], "no directory yet, no files");
        ufs.write("b.pem", b"old").unwrap();
        ufs.write("b.pem", b"new").unwrap();
        ufs.write("../a key", b"\x00\xff").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(ufs.path()), 0o700, "the directory is the owner's only");
            assert_eq!(mode(&ufs.path_of("b.pem")), 0o600, "files too");
        }
        fs::write(ufs.path().join(".tmp-9-leftover"), b"half").unwrap();
        assert_eq!(
            ufs.load().unwrap(),
            vec![
                ("../a key".to_owned(), b"\x00\xff".to_vec()),
                ("b.pem".to_owned(), b"new".to_vec())
            ]
        );
        assert!(!dir.join("a key").exists(), "nothing left the directory");
        ufs.delete("b.pem").unwrap();
        ufs.delete("never.pem").unwrap();
        assert_eq!(ufs.load().unwrap().len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
