//! Noticing that a host has attached to a pseudo-terminal.
//!
//! A module that powers up before anyone opens its pty writes `RDY` into the
//! kernel's buffer, and terminal programs (picocom, pyserial, minicom) flush
//! that buffer when they open the device: the host never sees `RDY`. So by
//! default the module powers up when the first host opens the device, the way
//! a board powers its module when it starts. We learn of the open through
//! inotify's `IN_OPEN` on the slave device (the kernel reports opens of device
//! nodes like those of files), then give the client a moment to finish setting
//! the line up (raw mode, flush) before the boot output goes out.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::os::fd::OwnedFd;
use tokio::io::unix::AsyncFd;

use crate::reactor;

/// How long a client gets between opening the device and the module's first output.
pub(crate) const SETTLE: Duration = Duration::from_millis(200);

/// Watches a pty's slave device for opens.
#[derive(Debug)]
pub(crate) struct OpenWatch {
    fd: AsyncFd<File>,
}

impl OpenWatch {
    /// Starts watching `device`. Opens that happened before are not reported.
    pub(crate) fn new(device: &Path) -> io::Result<OpenWatch> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        inotify.add_watch(device, AddWatchFlags::IN_OPEN)?;
        let fd: OwnedFd = inotify.into();
        Ok(OpenWatch {
            fd: reactor::register(File::from(fd))?,
        })
    }

    /// Waits until someone opens the device.
    pub(crate) async fn opened(&mut self) -> io::Result<()> {
        loop {
            let mut ready = self.fd.readable().await?;
            let mut buf = [0u8; 1024];
            match ready.try_io(|fd| fd.get_ref().read(&mut buf)) {
                Ok(Ok(n)) if n > 0 => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }
}
