//! Result codes as enums: the final result of a command (`OK`, `ERROR`, `+CME ERROR`) and the
//! integer codes that the MQTT URCs carry.
//!
//! Every enum keeps codes it does not know in an `Unknown` variant, so a newer firmware (for
//! example `+QMTSTAT: c,8`) is reported, not dropped.

use std::fmt;

/// Declares an integer-coded enum with an `Unknown` fallback, `from_code`, `code` and `Display`.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident($int:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A code this version does not know (newer firmware); kept as sent.
            Unknown($int),
        }

        impl $name {
            /// Maps the integer the module sent to a variant.
            pub fn from_code(code: $int) -> Self {
                match code {
                    $( $code => Self::$variant, )+
                    other => Self::Unknown(other),
                }
            }

            /// The integer the module uses for this variant.
            pub fn code(self) -> $int {
                match self {
                    $( Self::$variant => $code, )+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $( Self::$variant => write!(f, "{} ({})", $text, $code), )+
                    Self::Unknown(other) => write!(f, "unknown code {}", other),
                }
            }
        }
    };
}

coded_enum! {
    /// `<result>` of `+QMTOPEN: <client_idx>,<result>` (note ch. 3, AT+QMTOPEN).
    OpenResult(i32) {
        /// -1: failed to open the network (also what a failed TLS handshake looks like).
        FailedToOpen = -1 => "failed to open network",
        /// 0: network opened.
        Opened = 0 => "network opened",
        /// 1: wrong parameter.
        WrongParameter = 1 => "wrong parameter",
        /// 2: the client index is already open; close it first.
        IdentifierOccupied = 2 => "MQTT identifier is occupied",
        /// 3: the PDP context could not be activated.
        PdpActivationFailed = 3 => "failed to activate PDP",
        /// 4: the host name did not resolve.
        DnsFailed = 4 => "failed to parse domain name",
        /// 5: TCP connection error.
        NetworkError = 5 => "network connection error",
    }
}

coded_enum! {
    /// `<result>` of `+QMTCLOSE` and `+QMTDISC` (note ch. 3, AT+QMTCLOSE and AT+QMTDISC).
    CloseResult(i32) {
        /// -1: failed to close.
        Failed = -1 => "failed to close",
        /// 0: closed.
        Closed = 0 => "closed successfully",
    }
}

coded_enum! {
    /// `<result>` of `+QMTCONN`, `+QMTSUB`, `+QMTUNS`, `+QMTPUB` and `+QMTPUBEX`
    /// (note ch. 3, AT+QMTCONN … AT+QMTPUBEX).
    PacketResult(i32) {
        /// 0: packet sent and acknowledged (QoS 0 publishes need no acknowledgement).
        Sent = 0 => "packet sent and acknowledged",
        /// 1: the packet is being retransmitted; another result line follows for the same msgID.
        Retransmission = 1 => "packet retransmission",
        /// 2: sending failed after all retries.
        Failed = 2 => "failed to send packet",
    }
}

coded_enum! {
    /// `<ret_code>` of `+QMTCONN` (note ch. 3, AT+QMTCONN; MQTT 3.1.1 §3.2.2.3 CONNACK codes).
    ConnReturnCode(u8) {
        /// 0: connection accepted.
        Accepted = 0 => "connection accepted",
        /// 1: the broker does not speak the configured MQTT version (see `qmt_cfg_version`).
        UnacceptableProtocolVersion = 1 => "unacceptable protocol version",
        /// 2: the client identifier was rejected.
        IdentifierRejected = 2 => "identifier rejected",
        /// 3: the broker is unavailable.
        ServerUnavailable = 3 => "server unavailable",
        /// 4: bad user name or password.
        BadUserNameOrPassword = 4 => "bad user name or password",
        /// 5: not authorized.
        NotAuthorized = 5 => "not authorized",
    }
}

coded_enum! {
    /// `<err_code>` of `+QMTSTAT: <client_idx>,<err_code>` (note ch. 4, table 3). After any of
    /// these the client is closed and must be opened again with AT+QMTOPEN.
    StatCode(u8) {
        /// 1: connection closed or reset by the peer; reopen.
        ClosedByPeer = 1 => "connection closed or reset by peer",
        /// 2: PINGREQ timed out or failed; reactivate PDP and reopen.
        PingFailed = 2 => "sending PINGREQ timed out or failed",
        /// 3: CONNECT timed out or failed; check credentials and client ID, reopen.
        ConnectFailed = 3 => "sending CONNECT timed out or failed",
        /// 4: CONNACK timed out or failed; check credentials and client ID, reopen.
        ConnackFailed = 4 => "receiving CONNACK timed out or failed",
        /// 5: normal end after AT+QMTDISC: the broker closed the connection.
        Disconnected = 5 => "disconnected normally after DISCONNECT",
        /// 6: the module gave up after repeated send failures.
        SendFailures = 6 => "closed after repeated packet sending failures",
        /// 7: the link is not alive or the server is unavailable.
        LinkDown = 7 => "link not alive or server unavailable",
    }
}

coded_enum! {
    /// `<state>` of `AT+QMTCONN?` (note ch. 3, AT+QMTCONN read command).
    ConnState(u8) {
        /// 1: opened, not connected.
        Initial = 1 => "initial",
        /// 2: CONNECT sent.
        Connecting = 2 => "connecting",
        /// 3: connected.
        Connected = 3 => "connected",
        /// 4: disconnecting.
        Disconnecting = 4 => "disconnecting",
    }
}

coded_enum! {
    /// `<result>` of `+QMTPING: <client_idx>,<result>` (note ch. 4, +QMTPING).
    PingResult(i32) {
        /// 1: keep-alive failed; a `+QMTSTAT` follows.
        Failed = 1 => "ping failed",
    }
}

/// The text or number of a `+CME ERROR:` / `+CMS ERROR:` result.
///
/// `AT+CMEE=1` (vmodem's default, as the BG770A capture shows) gives numbers, `AT+CMEE=2` text;
/// both are kept as sent. Numbers follow 3GPP TS 27.007 §9.2 (and Quectel's 5xx extensions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CmeError {
    /// Numeric form (`+CME ERROR: 10`).
    Code(u16),
    /// Verbose form (`+CME ERROR: SIM not inserted`).
    Text(String),
}

impl CmeError {
    fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.parse::<u16>() {
            Ok(code) => CmeError::Code(code),
            Err(_) => CmeError::Text(text.to_string()),
        }
    }

    /// A short description of the common numeric codes (27.007 §9.2.1), for messages.
    pub fn description(&self) -> Option<&str> {
        let code = match self {
            CmeError::Text(t) => return Some(t),
            CmeError::Code(c) => *c,
        };
        Some(match code {
            0 => "phone failure",
            3 => "operation not allowed",
            4 => "operation not supported",
            5 => "PH-SIM PIN required",
            10 => "SIM not inserted",
            11 => "SIM PIN required",
            12 => "SIM PUK required",
            13 => "SIM failure",
            14 => "SIM busy",
            15 => "SIM wrong",
            16 => "incorrect password",
            20 => "memory full",
            21 => "invalid index",
            22 => "not found",
            23 => "memory failure",
            30 => "no network service",
            31 => "network timeout",
            50 => "incorrect parameters",
            100 => "unknown",
            _ => return None,
        })
    }
}

impl fmt::Display for CmeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmeError::Text(t) => f.write_str(t),
            CmeError::Code(c) => match self.description() {
                Some(d) => write!(f, "{c} ({d})"),
                None => write!(f, "{c}"),
            },
        }
    }
}

/// The final result code that ends a command's response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinalResult {
    /// `OK` (or `0` in ATV0 numeric mode).
    Ok,
    /// `ERROR` (or `4`): syntax error, unknown command, or a refused MQTT command.
    Error,
    /// `+CME ERROR: <err>`: an ME error, numeric or text depending on AT+CMEE.
    CmeError(CmeError),
    /// `+CMS ERROR: <err>`: a message-service error.
    CmsError(CmeError),
}

impl FinalResult {
    /// Recognises a final result line. `numeric` also accepts the ATV0 forms `0` and `4`.
    pub(crate) fn parse(line: &[u8], numeric: bool) -> Option<Self> {
        let text = std::str::from_utf8(line).ok()?.trim();
        match text {
            "OK" => return Some(FinalResult::Ok),
            "ERROR" => return Some(FinalResult::Error),
            "0" if numeric => return Some(FinalResult::Ok),
            "4" if numeric => return Some(FinalResult::Error),
            _ => {}
        }
        if let Some(rest) = text.strip_prefix("+CME ERROR:") {
            return Some(FinalResult::CmeError(CmeError::parse(rest)));
        }
        if let Some(rest) = text.strip_prefix("+CMS ERROR:") {
            return Some(FinalResult::CmsError(CmeError::parse(rest)));
        }
        None
    }

    /// `true` for `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, FinalResult::Ok)
    }
}

impl fmt::Display for FinalResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FinalResult::Ok => f.write_str("OK"),
            FinalResult::Error => f.write_str("ERROR"),
            FinalResult::CmeError(e) => write!(f, "+CME ERROR: {e}"),
            FinalResult::CmsError(e) => write!(f, "+CMS ERROR: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_keep_unknowns() {
        for code in -2..=9 {
            assert_eq!(OpenResult::from_code(code).code(), code);
            assert_eq!(PacketResult::from_code(code).code(), code);
            assert_eq!(CloseResult::from_code(code).code(), code);
        }
        for code in 0..=255u8 {
            assert_eq!(StatCode::from_code(code).code(), code);
            assert_eq!(ConnReturnCode::from_code(code).code(), code);
        }
        assert_eq!(OpenResult::from_code(-1), OpenResult::FailedToOpen);
        assert_eq!(OpenResult::from_code(4), OpenResult::DnsFailed);
        assert_eq!(StatCode::from_code(8), StatCode::Unknown(8));
        assert_eq!(
            ConnReturnCode::from_code(4),
            ConnReturnCode::BadUserNameOrPassword
        );
    }

    #[test]
    fn final_results() {
        let table: &[(&[u8], bool, Option<FinalResult>)] = &[
            (b"OK", false, Some(FinalResult::Ok)),
            (b"ERROR", false, Some(FinalResult::Error)),
            (b"0", false, None),
            (b"0", true, Some(FinalResult::Ok)),
            (b"4", true, Some(FinalResult::Error)),
            (b"1", true, None),
            (
                b"+CME ERROR: 3",
                false,
                Some(FinalResult::CmeError(CmeError::Code(3))),
            ),
            (
                b"+CME ERROR: SIM not inserted",
                false,
                Some(FinalResult::CmeError(CmeError::Text(
                    "SIM not inserted".into(),
                ))),
            ),
            (
                b"+CMS ERROR: 500",
                false,
                Some(FinalResult::CmsError(CmeError::Code(500))),
            ),
            (b"OKAY", false, None),
            (b"+CPIN: READY", false, None),
        ];
        for (line, numeric, want) in table {
            assert_eq!(
                &FinalResult::parse(line, *numeric),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn display_says_what_happened() {
        assert_eq!(
            FinalResult::CmeError(CmeError::Code(10)).to_string(),
            "+CME ERROR: 10 (SIM not inserted)"
        );
        assert_eq!(
            OpenResult::DnsFailed.to_string(),
            "failed to parse domain name (4)"
        );
        assert_eq!(StatCode::Unknown(8).to_string(), "unknown code 8");
    }
}
