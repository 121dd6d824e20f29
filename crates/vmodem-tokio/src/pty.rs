//! The pseudo-terminal host port: what picocom, Renode or an MCU test rig opens.
//!
//! We own the master side and serve the slave device (`/dev/pts/N`, plus an
//! optional stable symlink) to clients. Three choices make a pty behave like a
//! UART that clients may plug and unplug:
//!
//! - The slave is put in raw mode, so CR stays CR and nothing is echoed by the
//!   kernel. Settings a client changes later (baud rate, line discipline) are
//!   accepted and change nothing for the module, with one exception: local
//!   echo, which vmodem turns off again before it writes. Echo would hand the
//!   module's output straight back to it as host input (`OK` → `ERROR` →
//!   `ERROR` …), a loop no UART has; `stty echo` on the device is enough.
//! - We keep a slave descriptor open for the module's lifetime. Otherwise the
//!   master reads EIO as soon as the last client closes the device, and the
//!   next client could not talk to the same module.
//! - Output nobody reads first fills the kernel's pty buffer (a few KiB,
//!   which the next client to open the device reads); then the master stops
//!   taking bytes and the output waits in the module, which applies
//!   back-pressure (it pauses its links, and past a bound stops reading host
//!   input), as a UART does with RTS/CTS flow control: nothing is dropped.
//!
//! The port is a plain byte stream ([`AsyncRead`]/[`AsyncWrite`] on the
//! master); the module task owns the one output buffer and decides when to
//! read and write.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tracing::{debug, warn};

use crate::attach::{OpenWatch, SETTLE};
use crate::host::PortError;
use crate::reactor;
use crate::symlink::Symlink;
use crate::termios::{keep_echo_off, make_raw, Raw};

/// A pseudo-terminal serving as a module's serial line.
#[derive(Debug)]
pub struct PtyPort {
    master: AsyncFd<File>,
    /// Never read: keeps the master usable while no client is attached, and
    /// lets us see the terminal settings clients make.
    slave: OwnedFd,
    path: PathBuf,
    link: Option<Symlink>,
    /// Reports the first client's open; `None` if inotify is unavailable.
    opens: Option<OpenWatch>,
}

impl PtyPort {
    /// Creates a pseudo-terminal and, if `link` is given, a symlink to its
    /// slave device there (replacing an old symlink, never another file).
    ///
    /// Must be called inside a tokio runtime.
    pub fn open(link: Option<&Path>) -> Result<PtyPort, PortError> {
        let pty = nix::pty::openpty(None, None).map_err(pty_error)?;
        for fd in [&pty.master, &pty.slave] {
            // Children we spawn (tests spawn vmodem itself) must not inherit them.
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(pty_error)?;
        }
        make_raw(&pty.slave, Raw::Line).map_err(pty_error)?;
        set_nonblocking(&pty.master).map_err(pty_error)?;
        let path = nix::unistd::ttyname(&pty.slave).map_err(pty_error)?;
        let master = reactor::register(File::from(pty.master)).map_err(pty_error)?;
        let opens = OpenWatch::new(&path)
            .map_err(|e| debug!(error = %e, "cannot watch the pty for opens; the module powers up at once"))
            .ok();
        let link = link.map(|l| Symlink::create(l, &path)).transpose()?;
        Ok(PtyPort {
            opens,
            master,
            slave: pty.slave,
            path,
            link,
        })
    }

    /// The slave device clients open, e.g. `/dev/pts/7`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The symlink to [`path`](Self::path), if one was asked for.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_ref().map(Symlink::path)
    }

    /// Waits until a client opens the device and has had time to set it up.
    pub(crate) async fn attached(&mut self) -> io::Result<()> {
        if let Some(watch) = &mut self.opens {
            watch.opened().await?;
            tokio::time::sleep(SETTLE).await;
        }
        // Later opens are of no interest: stop watching.
        self.opens = None;
        Ok(())
    }
}

impl AsyncRead for PtyPort {
    /// Reads what the host wrote; end of file cannot happen while we hold the slave.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut ready = ready!(self.master.poll_read_ready(cx))?;
            match ready.try_io(|fd| fd.get_ref().read(buf.initialize_unfilled())) {
                Ok(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the pseudo-terminal closed although vmodem holds its slave open",
                    )))
                }
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => {}
            }
        }
    }
}

impl AsyncWrite for PtyPort {
    /// Writes as much as the master takes now; local echo a client turned on
    /// is turned off first.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut ready = ready!(self.master.poll_write_ready(cx))?;
            keep_local_echo_off(&self.slave);
            match ready.try_io(|fd| fd.get_ref().write(buf)) {
                Ok(written) => return Poll::Ready(written),
                Err(_would_block) => {}
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Echo would hand the module's output straight back to it as host input.
fn keep_local_echo_off(slave: &OwnedFd) {
    match keep_echo_off(slave) {
        Ok(false) => {}
        Ok(true) => warn!(
            "a client turned on local echo on the pty; vmodem turned it off again, as it \
             would feed the module's own output back to it as host input"
        ),
        Err(e) => debug!(error = %e, "cannot read the pty's terminal settings"),
    }
}

fn pty_error(e: impl Into<io::Error>) -> PortError {
    PortError::Pty(e.into())
}

fn set_nonblocking(fd: impl AsFd) -> nix::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
