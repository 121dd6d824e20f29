//! The module `vmodem at` and `vmodem conformance` talk to: a serial device (a real module's
//! `/dev/ttyUSB2`, or the pseudo-terminal `vmodem run` prints) or a TCP serial port
//! (`vmodem run --tcp`, ser2net, a module server).

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// A byte stream to a module.
pub(crate) trait Line: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Line for T {}

/// Where the module is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A serial device and its baud rate.
    Serial { path: PathBuf, baud: u32 },
    /// `HOST:PORT` of a TCP serial port.
    Tcp(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Serial { path, baud } => write!(f, "{} at {baud} baud", path.display()),
            Target::Tcp(addr) => write!(f, "tcp {addr}"),
        }
    }
}

impl Target {
    /// Opens the line. Must be called inside a tokio runtime.
    pub(crate) async fn open(&self) -> Result<Box<dyn Line>> {
        match self {
            Target::Serial { path, baud } => {
                let port = vmodem_client::serial::open(path, *baud).with_context(|| {
                    format!(
                        "cannot open {}: pass the module's AT port (an EC25 on USB: \
                         /dev/ttyUSB2), or the device `vmodem run` prints; --tcp HOST:PORT for \
                         a TCP serial port",
                        path.display()
                    )
                })?;
                Ok(Box::new(port))
            }
            Target::Tcp(addr) => {
                let stream = TcpStream::connect(addr).await.with_context(|| {
                    format!(
                        "cannot connect to {addr}: is `vmodem run --tcp {addr}` (or your \
                         serial server) running?"
                    )
                })?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
        }
    }
}

/// `HOST:PORT`, or a bare `PORT` for 127.0.0.1.
pub(crate) fn parse_tcp(text: &str) -> Result<String, String> {
    if text.parse::<u16>().is_ok() {
        return Ok(format!("127.0.0.1:{text}"));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(text.to_string())
        }
        _ => Err(format!(
            "expected HOST:PORT such as 127.0.0.1:5555, or a bare PORT for 127.0.0.1, not {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_addresses() {
        assert_eq!(parse_tcp("5555").unwrap(), "127.0.0.1:5555");
        assert_eq!(parse_tcp("modem.lan:23").unwrap(), "modem.lan:23");
        assert_eq!(parse_tcp("[::1]:23").unwrap(), "[::1]:23");
        assert!(parse_tcp("modem.lan").unwrap_err().contains("HOST:PORT"));
        assert!(parse_tcp(":23").is_err());
    }
}
