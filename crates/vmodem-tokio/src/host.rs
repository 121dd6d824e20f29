//! The serial line between a module and its host, whatever carries it.
//!
//! Every transport is a plain byte stream ([`AsyncRead`] for what the host
//! writes, [`AsyncWrite`] for the module's output). None keeps a queue of its
//! own: the module task owns the one output buffer (the core's), writes from
//! it as far as the port takes bytes, and reads only while the module wants
//! input, so a slow host slows the module down instead of losing bytes.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

use crate::pty::PtyPort;
use crate::stdio::StdioPort;
use crate::tcp_serial::TcpSerialPort;

/// A module's serial line: a pseudo-terminal, a TCP listener, stdin/stdout,
/// or an in-process pipe.
///
/// Build one with [`PtyPort::open`], [`TcpSerialPort::bind`] or
/// [`StdioPort::open`] and hand it to [`spawn_module`](crate::spawn_module).
///
/// Reading gives what the host wrote; reading nothing (end of file) means the
/// host has gone for good, which only stdio does (a pty's slave is held open,
/// a TCP port waits for the next connection). Writing takes output as far as
/// the line takes it, and waits while nobody can take it (no TCP host, a pty
/// nobody reads); a closed stdout is [`io::ErrorKind::BrokenPipe`].
#[derive(Debug)]
pub enum HostPort {
    /// A pseudo-terminal; clients open its slave device (`/dev/pts/N`).
    Pty(PtyPort),
    /// A TCP listener; the newest connection is the host.
    Tcp(TcpSerialPort),
    /// The process's own stdin and stdout.
    Stdio(StdioPort),
    /// One end of an in-memory pipe; the host holds the other
    /// ([`HostPort::in_process`]). For hosts in the same process, such as
    /// the device scripts of `vmodem fleet` (issue 13): no descriptor, no
    /// kernel buffer, a few hundred bytes per line.
    InProcess(DuplexStream),
}

impl HostPort {
    /// Waits until a host is on the line: a client opened the pty (and had a
    /// moment to set it up), a TCP host connected; stdio is attached from the start.
    pub(crate) async fn attached(&mut self) -> io::Result<()> {
        match self {
            HostPort::Pty(p) => p.attached().await,
            HostPort::Tcp(p) => p.attached().await,
            HostPort::Stdio(_) | HostPort::InProcess(_) => Ok(()),
        }
    }

    /// A serial line whose host is in this process: the port for
    /// [`spawn_module`](crate::spawn_module), and the host's end, which
    /// reads the module's output and writes its input. The host is attached
    /// from the start; dropping its end is the host going for good (the
    /// module stops, as at the end of stdin). Each direction holds at most
    /// `max_buf` bytes not yet read, so a slow host holds output back in
    /// the core as a pty does.
    pub fn in_process(max_buf: usize) -> (HostPort, DuplexStream) {
        let (port, host) = tokio::io::duplex(max_buf);
        (HostPort::InProcess(port), host)
    }
}

impl AsyncRead for HostPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostPort::Pty(p) => Pin::new(p).poll_read(cx, buf),
            HostPort::Tcp(p) => Pin::new(p).poll_read(cx, buf),
            HostPort::Stdio(p) => Pin::new(p).poll_read(cx, buf),
            HostPort::InProcess(p) => Pin::new(p).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for HostPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            HostPort::Pty(p) => Pin::new(p).poll_write(cx, buf),
            HostPort::Tcp(p) => Pin::new(p).poll_write(cx, buf),
            HostPort::Stdio(p) => Pin::new(p).poll_write(cx, buf),
            HostPort::InProcess(p) => Pin::new(p).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostPort::Pty(p) => Pin::new(p).poll_flush(cx),
            HostPort::Tcp(p) => Pin::new(p).poll_flush(cx),
            HostPort::Stdio(p) => Pin::new(p).poll_flush(cx),
            HostPort::InProcess(p) => Pin::new(p).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            HostPort::Pty(p) => Pin::new(p).poll_shutdown(cx),
            HostPort::Tcp(p) => Pin::new(p).poll_shutdown(cx),
            HostPort::Stdio(p) => Pin::new(p).poll_shutdown(cx),
            HostPort::InProcess(p) => Pin::new(p).poll_shutdown(cx),
        }
    }
}

impl From<PtyPort> for HostPort {
    fn from(port: PtyPort) -> Self {
        HostPort::Pty(port)
    }
}

impl From<TcpSerialPort> for HostPort {
    fn from(port: TcpSerialPort) -> Self {
        HostPort::Tcp(port)
    }
}

impl From<StdioPort> for HostPort {
    fn from(port: StdioPort) -> Self {
        HostPort::Stdio(port)
    }
}

/// Why a host port could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The kernel gave no pseudo-terminal.
    #[error(
        "cannot create a pseudo-terminal; check that /dev/ptmx exists and devpts is \
         mounted, or use a TCP serial port instead"
    )]
    Pty(#[source] io::Error),
    /// Something other than a symlink is at the requested link path.
    #[error(
        "{} exists and is not a symlink; choose another link path (vmodem only ever \
         replaces a symlink there)", path.display()
    )]
    LinkOccupied {
        /// The path asked for.
        path: PathBuf,
    },
    /// The symlink could not be made.
    #[error(
        "cannot create the symlink {}; check that its directory exists and is \
         writable", path.display()
    )]
    Link {
        /// The path asked for.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// Another program listens on the address.
    #[error("{addr} is already in use by another program; choose another port")]
    AddrInUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be listened on for another reason.
    #[error("cannot listen on {addr}; check the address is one of this machine's")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The terminal on stdin cannot be put in raw mode.
    #[error(
        "cannot put the terminal on stdin in raw mode; feed stdin from a pipe, or use a \
         pseudo-terminal port instead"
    )]
    Stdio(#[source] io::Error),
}
