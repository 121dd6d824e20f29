//! The serial line between a module and its host, whatever carries it.
//!
//! Every transport does the same two things for the module task: hand over
//! bytes the host wrote ([`HostPort::recv`]), and take the module's output
//! without ever making the module wait ([`HostPort::send`] queues; `recv`
//! writes queued output while it waits for input).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::pty::PtyPort;
use crate::stdio::StdioPort;
use crate::tcp_serial::TcpSerialPort;

/// A module's serial line: a pseudo-terminal, a TCP listener or stdin/stdout.
///
/// Build one with [`PtyPort::open`], [`TcpSerialPort::bind`] or
/// [`StdioPort::open`] and hand it to [`spawn_module`](crate::spawn_module).
#[derive(Debug)]
pub enum HostPort {
    /// A pseudo-terminal; clients open its slave device (`/dev/pts/N`).
    Pty(PtyPort),
    /// A TCP listener; the newest connection is the host.
    Tcp(TcpSerialPort),
    /// The process's own stdin and stdout.
    Stdio(StdioPort),
}

impl HostPort {
    /// Waits for bytes from the host, writing queued output meanwhile.
    ///
    /// `Ok(None)` means the host has gone for good (end of stdin). Cancel
    /// safe: dropping the future loses neither input nor output.
    pub(crate) async fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self {
            HostPort::Pty(p) => p.recv().await.map(Some),
            HostPort::Tcp(p) => p.recv().await.map(Some),
            HostPort::Stdio(p) => p.recv().await,
        }
    }

    /// Waits until a host is on the line: a client opened the pty (and had a
    /// moment to set it up), a TCP host connected; stdio is attached from the start.
    pub(crate) async fn attached(&mut self) -> io::Result<()> {
        match self {
            HostPort::Pty(p) => p.attached().await,
            HostPort::Tcp(p) => p.attached().await,
            HostPort::Stdio(_) => Ok(()),
        }
    }

    /// Queues module output for the host; never waits (see [`crate::outqueue`]).
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        match self {
            HostPort::Pty(p) => p.send(bytes),
            HostPort::Tcp(p) => p.send(bytes),
            HostPort::Stdio(p) => p.send(bytes),
        }
    }

    /// Writes all queued output; the caller bounds how long this may take.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        match self {
            HostPort::Pty(p) => p.flush().await,
            HostPort::Tcp(p) => p.flush().await,
            HostPort::Stdio(p) => p.flush().await,
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
