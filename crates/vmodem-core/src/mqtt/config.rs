//! What `AT+QMTCFG` sets for one client index (application note §3.2.1).

use bytes::Bytes;
use vmodem_mqtt::{Protocol, QoS};

/// The Will a client registers with its CONNECT (`AT+QMTCFG="will"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WillConfig {
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) topic: String,
    pub(crate) message: Bytes,
}

/// Alibaba Cloud device triple (`AT+QMTCFG="aliauth"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AliAuth {
    pub(crate) product_key: String,
    pub(crate) device_name: String,
    pub(crate) device_secret: String,
}

/// One client's configuration, with the note's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClientConfig {
    /// `"version"`: 3 = MQTT 3.1, 4 = MQTT 3.1.1 (default).
    pub(crate) protocol: Protocol,
    /// `"pdpcid"`: the PDP context the client uses, 1–16, default 1.
    pub(crate) pdp_cid: u8,
    /// `"ssl"`: TLS on, and the SSL context 0–5 it uses.
    pub(crate) ssl: Option<u8>,
    /// `"keepalive"`: seconds, 0–3600, default 120; 0 turns keep-alive off.
    pub(crate) keepalive: u16,
    /// `"session"`: clean session, default on.
    pub(crate) clean_session: bool,
    /// `"timeout"`: packet timeout in seconds (1–60, default 5).
    pub(crate) pkt_timeout: u8,
    /// `"timeout"`: retransmissions before giving up (0–10, default 3).
    pub(crate) retry_times: u8,
    /// `"timeout"`: report each retransmission (`<result>` 1), default off.
    pub(crate) timeout_notice: bool,
    /// `"will"`.
    pub(crate) will: Option<WillConfig>,
    /// `"recv/mode"`: 0 messages in the URC (default), 1 stored in buffers.
    pub(crate) recv_buffered: bool,
    /// `"recv/mode"`: include the payload length in `+QMTRECV`.
    pub(crate) recv_with_length: bool,
    /// `"aliauth"`.
    pub(crate) aliauth: Option<AliAuth>,
    /// `"qmtping"`: seconds between `+QMTPING` and `+QMTSTAT: c,2`, 5–60, default 5.
    pub(crate) qmtping: u8,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig::DEFAULT
    }
}

impl ClientConfig {
    /// The note's defaults (`const` for the idle clients' `static`).
    pub(crate) const DEFAULT: ClientConfig = {
        ClientConfig {
            protocol: Protocol::V311,
            pdp_cid: 1,
            ssl: None,
            keepalive: 120,
            clean_session: true,
            pkt_timeout: 5,
            retry_times: 3,
            timeout_notice: false,
            will: None,
            recv_buffered: false,
            recv_with_length: false,
            aliauth: None,
            qmtping: 5,
        }
    };
}
