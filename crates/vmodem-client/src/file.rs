//! Typed file commands (Quectel's FILE AT commands manual): AT+QFUPL to put TLS certificates
//! and keys on the module, AT+QFLST and AT+QFDEL to see and remove them.

use std::time::Duration;

use crate::basic::{first_params, unexpected};
use crate::client::{require_ok, Client};
use crate::command::Command;
use crate::error::Error;
use crate::params::{int_at, quote, str_at, Param};

/// The module's answer to AT+QFUPL: `+QFUPL: <size>,<checksum>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Upload {
    /// Bytes stored.
    pub size: u64,
    /// The module's 16-bit XOR checksum, as sent in hex.
    pub checksum: u16,
}

impl Upload {
    /// The checksum a module reports for `data`: the XOR of the data taken as big-endian
    /// 16-bit words, an odd last byte padded with a zero byte (the file manual calls it a
    /// 16-bit XOR checksum; `module-behaviour.md` records the word order as vmodem's
    /// decision). Compare it with [`Upload::checksum`] to check the line did not garble the
    /// file.
    ///
    /// ```
    /// // 0x4142 ^ 0x4344 ^ 0x4500
    /// assert_eq!(vmodem_client::Upload::checksum_of(b"ABCDE"), 0x4706);
    /// ```
    pub fn checksum_of(data: &[u8]) -> u16 {
        data.chunks(2).fold(0, |acc, word| {
            let high = u16::from(word[0]) << 8;
            let low = word.get(1).copied().map_or(0, u16::from);
            acc ^ high ^ low
        })
    }
}

/// One line of AT+QFLST: a file and its size.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileEntry {
    /// The name as listed, with its storage prefix (`RAM:ca.pem`, `UFS:client.crt`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}

impl Client {
    /// `AT+QFUPL="<name>",<size>,<timeout>`: uploads `data` as the file `name` (a TLS
    /// certificate to `"RAM:cacert.pem"` or `"UFS:cacert.pem"`): the module answers `CONNECT`,
    /// takes exactly `data.len()` bytes (any bytes: they are not echoed) and then reports
    /// `+QFUPL: <size>,<checksum>` and `OK`. `timeout_secs` (1–65535) is how long the module
    /// waits for the data.
    ///
    /// A file of that name must not exist (`+CME ERROR: 407`): remove it first with
    /// [`Client::qfdel`]. A size other than `data.len()` in the answer is
    /// [`Error::UnexpectedResponse`]; the checksum is returned for the caller to compare with
    /// [`Upload::checksum_of`].
    pub async fn qfupl(&self, name: &str, data: &[u8], timeout_secs: u16) -> Result<Upload, Error> {
        if timeout_secs == 0 {
            return Err(Error::InvalidArgument {
                argument: "timeout_secs",
                reason: "the module takes 1-65535 seconds".into(),
            });
        }
        let text = format!(
            "AT+QFUPL={},{},{timeout_secs}",
            quote("name", name)?,
            data.len()
        );
        let resp = self.send_with_payload(text.as_str(), data).await?;
        let resp = require_ok(&text, resp)?;
        let p = first_params(&resp, "+QFUPL:", &text)?;
        let size = int_at::<u64>(&p, 0);
        let checksum = p.get(1).and_then(|c| match c {
            Param::Raw(s) => u16::from_str_radix(s, 16).ok(),
            Param::Int(v) => u16::from_str_radix(&v.to_string(), 16).ok(),
            _ => None,
        });
        match (size, checksum) {
            (Some(size), Some(checksum)) if size == data.len() as u64 => {
                Ok(Upload { size, checksum })
            }
            (Some(size), Some(_)) => Err(unexpected(
                &text,
                format!("the module stored {size} bytes of {}", data.len()),
            )),
            _ => Err(unexpected(&text, format!("bad +QFUPL fields {p:?}"))),
        }
    }

    /// `AT+QFLST="<pattern>"`: the files matching `pattern` (`"*"` lists UFS, `"RAM:*"` the
    /// RAM storage).
    pub async fn qflst(&self, pattern: &str) -> Result<Vec<FileEntry>, Error> {
        let text = format!("AT+QFLST={}", quote("pattern", pattern)?);
        let resp = self.command_ok(text.as_str()).await?;
        resp.params("+QFLST:")
            .map_err(|e| unexpected(&text, e.to_string()))?
            .into_iter()
            .map(|p| match (str_at(&p, 0), int_at(&p, 1)) {
                (Some(name), Some(size)) => Ok(FileEntry { name, size }),
                _ => Err(unexpected(&text, format!("bad fields {p:?}"))),
            })
            .collect()
    }

    /// `AT+QFDEL="<pattern>"`: deletes the files matching `pattern` (a name such as
    /// `"RAM:cacert.pem"`, or `"RAM:*"`). Deleting a named file that does not exist is
    /// refused ([`Error::Rejected`]).
    pub async fn qfdel(&self, pattern: &str) -> Result<(), Error> {
        let text = format!("AT+QFDEL={}", quote("pattern", pattern)?);
        // The file manual gives no maximum response time; deleting from flash is not instant.
        let cmd = Command::new(text).with_documented_timeout(Duration::from_secs(5));
        self.command_ok(cmd).await.map(drop)
    }
}
