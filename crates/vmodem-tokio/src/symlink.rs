//! A stable name for a pseudo-terminal whose `/dev/pts/N` changes every run.
//!
//! Firmware test rigs are configured once with a path like `/tmp/ttyEC25`; the
//! symlink there points at this run's pty and goes away on clean shutdown.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

use crate::host::PortError;

/// A symlink we created; removed again when dropped.
#[derive(Debug)]
pub(crate) struct Symlink {
    path: PathBuf,
    target: PathBuf,
}

impl Symlink {
    /// Makes `path` point at `target`.
    ///
    /// An existing symlink at `path` is replaced: it is left over from an
    /// earlier run (the `/dev/pts` number it names may even be reused by now).
    /// Anything else at `path` is refused, never clobbered.
    pub(crate) fn create(path: &Path, target: &Path) -> Result<Symlink, PortError> {
        let link_error = |source: io::Error| PortError::Link {
            path: path.to_owned(),
            source,
        };
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let old = fs::read_link(path).unwrap_or_default();
                warn!(link = %path.display(), old = %old.display(), "replacing an old symlink");
                fs::remove_file(path).map_err(link_error)?;
            }
            Ok(_) => {
                return Err(PortError::LinkOccupied {
                    path: path.to_owned(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(link_error(e)),
        }
        std::os::unix::fs::symlink(target, path).map_err(link_error)?;
        Ok(Symlink {
            path: path.to_owned(),
            target: target.to_owned(),
        })
    }

    /// Where the symlink is.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Symlink {
    /// Removes the symlink unless someone has pointed it elsewhere meanwhile
    /// (another vmodem started with the same `--link`).
    fn drop(&mut self) {
        match fs::read_link(&self.path) {
            Ok(target) if target == self.target => {
                if let Err(e) = fs::remove_file(&self.path) {
                    warn!(link = %self.path.display(), error = %e, "cannot remove the symlink");
                }
            }
            _ => debug!(link = %self.path.display(), "symlink no longer ours; left alone"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vmodem-symlink-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_an_old_symlink_and_removes_its_own_on_drop() {
        let dir = scratch_dir("replace");
        let link = dir.join("tty");
        std::os::unix::fs::symlink("/dev/pts/does-not-exist", &link).unwrap();
        let guard = Symlink::create(&link, Path::new("/dev/null")).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("/dev/null"));
        drop(guard);
        assert!(fs::symlink_metadata(&link).is_err(), "symlink removed");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn refuses_to_clobber_a_regular_file() {
        let dir = scratch_dir("file");
        let file = dir.join("precious");
        fs::write(&file, b"keep me").unwrap();
        let err = Symlink::create(&file, Path::new("/dev/null")).unwrap_err();
        assert!(matches!(err, PortError::LinkOccupied { .. }), "{err}");
        assert!(err.to_string().contains("choose another"), "{err}");
        assert_eq!(fs::read(&file).unwrap(), b"keep me");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leaves_a_symlink_someone_else_repointed() {
        let dir = scratch_dir("repointed");
        let link = dir.join("tty");
        let guard = Symlink::create(&link, Path::new("/dev/null")).unwrap();
        fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        drop(guard);
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("/dev/zero"));
        fs::remove_dir_all(dir).unwrap();
    }
}
