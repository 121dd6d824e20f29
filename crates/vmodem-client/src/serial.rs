//! Serial devices: a real module's AT port (`/dev/ttyUSB2` for an EC25 on USB, a UART such as
//! `/dev/ttyS0` or `/dev/ttyAMA0`) or vmodem's pseudo-terminal, as a tokio byte stream.
//!
//! [`open`] sets the line up the way a modem driver does, and no more:
//!
//! * **raw**: 8 data bits, no parity, one stop bit, no echo, no CR/LF translation, no signals, no
//!   software or hardware flow control (`cfmakeraw`, `CLOCAL`, `CREAD`; `CRTSCTS`, `IXON`,
//!   `IXOFF` off). The EC25's UART defaults to no flow control (`AT+IFC=0,0`); on USB there is
//!   no line to control.
//! * **at once** (`TCSANOW`) and **without flushing**: bytes the module wrote before the device
//!   was opened (its `RDY`, a late answer) are still read. Terminal programs flush on open;
//!   a driver that wants to see the boot URCs must not.
//! * **`O_NOCTTY`**: the device never becomes the process's controlling terminal, so a hang-up
//!   on it cannot send `SIGHUP` to the program.
//! * **non-blocking**, driven by tokio's reactor: reads and writes never block a worker thread,
//!   and opening does not wait for carrier detect.
//!
//! The baud rate is set on the device (a pseudo-terminal accepts and ignores it). Nothing
//! else is touched: DTR and RTS stay as the driver left them, and closing the device follows
//! its `HUPCL` setting.
//!
//! No system library is needed (no libudev): this is termios through `nix`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pty = vmodem_tokio::PtyPort::open(None)?;
//! # let device = pty.path().to_owned();
//! # let _module = vmodem_tokio::spawn_module(pty, vmodem_tokio::ModuleOptions::default())?;
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! // `device` is a real module's port (`/dev/ttyUSB2`) or the one `vmodem run` prints.
//! let mut port = vmodem_client::serial::open(&device, 115_200)?;
//! port.write_all(b"AT\r").await?;
//! let mut seen = Vec::new();
//! while !seen.ends_with(b"OK\r\n") {
//!     let mut buf = [0u8; 256];
//!     let n = port.read(&mut buf).await?;
//!     seen.extend_from_slice(&buf[..n]);
//! }
//! # Ok(()) }
//! ```
//!
//! [`Client::open_serial`](crate::Client::open_serial) opens a device and starts a client on it.

mod reactor;

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use nix::fcntl::OFlag;
use nix::sys::termios::{
    self, BaudRate, ControlFlags, InputFlags, SetArg, SpecialCharacterIndices,
};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Baud rates [`open`] accepts: the standard termios rates from 1200 up. An EC25's main UART
/// runs at 115200 by default (`AT+IPR`); USB and pseudo-terminals ignore the rate.
pub const BAUD_RATES: &[u32] = &[
    1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 500_000, 576_000,
    921_600, 1_000_000, 1_152_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 3_500_000,
    4_000_000,
];

fn baud_rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115_200 => BaudRate::B115200,
        230_400 => BaudRate::B230400,
        460_800 => BaudRate::B460800,
        500_000 => BaudRate::B500000,
        576_000 => BaudRate::B576000,
        921_600 => BaudRate::B921600,
        1_000_000 => BaudRate::B1000000,
        1_152_000 => BaudRate::B1152000,
        1_500_000 => BaudRate::B1500000,
        2_000_000 => BaudRate::B2000000,
        2_500_000 => BaudRate::B2500000,
        3_000_000 => BaudRate::B3000000,
        3_500_000 => BaudRate::B3500000,
        4_000_000 => BaudRate::B4000000,
        _ => return None,
    })
}

/// An open serial device: an `AsyncRead + AsyncWrite` byte stream (see the module docs).
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<File>,
    path: PathBuf,
}

/// Opens the serial device at `path` at `baud` (one of [`BAUD_RATES`]) in raw mode, without
/// flushing what the module already sent (see the module docs).
///
/// Must be called inside a tokio runtime.
///
/// # Errors
///
/// * [`io::ErrorKind::InvalidInput`] for a baud rate not in [`BAUD_RATES`], or a path that is
///   not a terminal (a plain file, `/dev/null`);
/// * whatever `open(2)` says: `NotFound` (module unplugged, wrong name), `PermissionDenied`
///   (add yourself to the `dialout` group), `ResourceBusy`.
pub fn open(path: impl AsRef<Path>, baud: u32) -> io::Result<SerialPort> {
    let path = path.as_ref();
    let rate = baud_rate(baud).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{baud} is not a standard baud rate; use one of {BAUD_RATES:?}"),
        )
    })?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        // std adds O_CLOEXEC.
        .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
        .open(path)?;
    let mut settings = termios::tcgetattr(&file).map_err(|errno| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a serial device ({errno}): pass the module's AT port, e.g. \
                 /dev/ttyUSB2, or the pseudo-terminal `vmodem run` prints",
                path.display()
            ),
        )
    })?;
    termios::cfmakeraw(&mut settings);
    settings.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
    settings.control_flags.remove(ControlFlags::CRTSCTS);
    settings
        .input_flags
        .remove(InputFlags::IXON | InputFlags::IXOFF | InputFlags::IXANY);
    settings.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    settings.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    termios::cfsetspeed(&mut settings, rate).map_err(io::Error::from)?;
    termios::tcsetattr(&file, SetArg::TCSANOW, &settings).map_err(io::Error::from)?;
    Ok(SerialPort {
        fd: reactor::register(file)?,
        path: path.to_owned(),
    })
}

impl SerialPort {
    /// The path the device was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `EIO` is what a terminal reads once the device behind it is gone: a USB
/// module unplugged, or the master of a pseudo-terminal closed (vmodem
/// stopped). It is reported as end of file, so readers see the line end.
fn eof_on_eio(result: io::Result<usize>) -> io::Result<usize> {
    match result {
        Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => Ok(0),
        other => other,
    }
}

impl AsyncRead for SerialPort {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| eof_on_eio(fd.get_ref().read(unfilled))) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| fd.get_ref().write(buf)) {
                Ok(result) => return Poll::Ready(result),
                Err(_would_block) => continue,
            }
        }
    }

    /// Bytes written are in the kernel's buffer already; there is nothing of ours to flush.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_rate_maps() {
        for &baud in BAUD_RATES {
            assert!(baud_rate(baud).is_some(), "{baud}");
        }
        assert!(baud_rate(115_201).is_none());
    }

    #[tokio::test]
    async fn refuses_odd_rates_and_files_that_are_not_terminals() {
        let err = open("/dev/null", 115_201).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("115201"), "{err}");
        let err = open("/dev/null", 115_200).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not a serial device"), "{err}");
        let err = open("/nonexistent/ttyUSB2", 115_200).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
