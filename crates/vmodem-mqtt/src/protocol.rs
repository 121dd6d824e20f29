//! The two protocol revisions this codec speaks, and the QoS levels they share.

/// Which MQTT revision a connection speaks.
///
/// The revision is chosen by the CONNECT packet (its protocol name and level,
/// MQTT 3.1 "CONNECT – Variable header", MQTT 3.1.1 §3.1.2.1–§3.1.2.2) and then
/// applies to every later packet on that connection. The decoder needs it because
/// a few bytes mean different things in the two revisions (CONNACK byte 1, the DUP
/// bit of PUBREL/SUBSCRIBE/UNSUBSCRIBE; see the crate documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// MQTT 3.1 (IBM/Eurotech, 2010): protocol name `"MQIsdp"`, level 3.
    V31,
    /// MQTT 3.1.1 (OASIS Standard, 2014): protocol name `"MQTT"`, level 4.
    V311,
}

impl Protocol {
    /// The protocol name written in CONNECT (MQTT 3.1 "Protocol name",
    /// MQTT 3.1.1 §3.1.2.1).
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::V31 => "MQIsdp",
            Protocol::V311 => "MQTT",
        }
    }

    /// The protocol level ("version" in 3.1) byte written in CONNECT
    /// (MQTT 3.1 "Protocol version number", MQTT 3.1.1 §3.1.2.2).
    pub const fn level(self) -> u8 {
        match self {
            Protocol::V31 => 3,
            Protocol::V311 => 4,
        }
    }
}

/// Quality of service of a PUBLISH, a will or a subscription
/// (MQTT 3.1 "QoS level", MQTT 3.1.1 §4.3).
///
/// The wire value 3 is reserved in both revisions and is never a `QoS`: the
/// decoder reports it as [`DecodeError::InvalidQoS`](crate::DecodeError::InvalidQoS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QoS {
    /// QoS 0: fire and forget, no packet identifier.
    AtMostOnce = 0,
    /// QoS 1: acknowledged by PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: the PUBREC/PUBREL/PUBCOMP handshake.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a two-bit wire value, or `None` for the reserved value 3
    /// (or anything larger).
    pub const fn from_u8(value: u8) -> Option<QoS> {
        match value {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// The wire value (0, 1 or 2).
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}
