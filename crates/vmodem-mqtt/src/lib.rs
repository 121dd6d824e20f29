//! MQTT 3.1 and 3.1.1 packet codec: all 14 control packets, both directions.
//!
//! No I/O, no state. [`Packet::encode`] turns a [`Packet`] into bytes and
//! [`decode`] turns bytes into a [`Packet`], reading from a buffer that may hold
//! less than one packet (it answers "need more") or more (it says how much it
//! used). Sessions, packet-identifier allocation, keep alive and retries belong
//! to the caller.
//!
//! ```
//! use vmodem_mqtt::{decode, Connack, Connect, ConnectReturnCode, Packet, Protocol};
//!
//! // A 3.1 client connects...
//! let connect = Packet::Connect(Connect {
//!     protocol: Protocol::V31,
//!     client_id: "ec25".into(),
//!     clean_session: true,
//!     keep_alive: 120,
//!     will: None,
//!     username: None,
//!     password: None,
//! });
//! let mut out = Vec::new();
//! connect.encode(&mut out)?;
//! assert_eq!(&out[..11], b"\x10\x12\x00\x06MQIsdp\x03");
//!
//! // ...and reads the server's answer, which may arrive in pieces.
//! let from_server = [0x20, 0x02, 0x00, 0x00, /* start of the next packet: */ 0x30];
//! assert_eq!(decode(&from_server[..3], Protocol::V31, 1024)?, None);
//! let (packet, used) = decode(&from_server, Protocol::V31, 1024)?.expect("a whole CONNACK");
//! assert_eq!(used, 4);
//! assert_eq!(
//!     packet,
//!     Packet::Connack(Connack { session_present: false, code: ConnectReturnCode::Accepted })
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # 3.1 and 3.1.1
//!
//! References: "MQTT V3.1 Protocol Specification" (IBM, Eurotech, 2010) and
//! "MQTT Version 3.1.1" (OASIS Standard, 2014), cited as 3.1.1 §x.y with its
//! normative statement numbers [MQTT-x.y.z-n]. The two share the packet layout;
//! what differs:
//!
//! | | 3.1 | 3.1.1 |
//! |---|---|---|
//! | CONNECT protocol name, level | `"MQIsdp"`, 3 | `"MQTT"`, 4 (§3.1.2.1–2) |
//! | Client identifier | 1–23 characters | 0 bytes allowed with clean session (§3.1.3.1) |
//! | CONNECT flag bit 0 | reserved, no rule | must be 0 [MQTT-3.1.2-3] |
//! | Will QoS/retain without will flag | no rule | must be 0 [MQTT-3.1.2-11/13/15] |
//! | Password flag without user name flag | no rule stated | forbidden [MQTT-3.1.2-22] |
//! | Password, will message | strings | binary data |
//! | CONNACK byte 1 | reserved, not used | bit 0 = session present, rest 0 (§3.2.2.1) |
//! | PUBREL, SUBSCRIBE, UNSUBSCRIBE flags | QoS 1, DUP set on re-sends | always 0b0010 (§2.2.2) |
//! | SUBACK refusal code 0x80 | does not exist | Failure (§3.9.3) |
//! | U+0000 in strings | no rule | forbidden [MQTT-1.5.3-2] |
//!
//! # What this codec decides
//!
//! The decoder is strict: it refuses every malformed packet the 3.1.1 text lets
//! one detect from a single packet, with a [`DecodeError`] that says what was
//! wrong. The encoder refuses ([`EncodeError`]) everything the decoder refuses,
//! so `decode(encode(p)) == p` for every `p` that encodes. The encoder does not
//! know the connection's revision except through [`Connect::protocol`], so its
//! output for the other 13 packets is valid for both.
//!
//! Where the two specifications leave a choice, it is made as follows:
//!
//! - **3.1 leniency, decode only.** Under [`Protocol::V31`] the decoder accepts
//!   what 3.1 does not forbid and real 3.1 peers send: CONNECT flag bit 0 and
//!   will QoS/retain bits without a will (ignored), a password flag without a
//!   user name flag, any CONNACK byte 1 (reported as `session_present: false`),
//!   and DUP on PUBREL/SUBSCRIBE/UNSUBSCRIBE (0b1010; ignored; mosquitto 1.x sets
//!   it when re-sending PUBREL). All of these are errors under 3.1.1.
//! - **Password without user name, encode.** Refused for both revisions
//!   ([`EncodeError::PasswordWithoutUsername`]): 3.1.1 forbids it, and 3.1
//!   servers such as mosquitto 2 drop a 3.1 connection that does it. A 3.1
//!   CONNECT decoded with one therefore does not re-encode.
//! - **SUBACK 0x80 under 3.1** is accepted and read as [`SubackCode::Failure`]:
//!   mosquitto sends it on 3.1 connections too.
//! - **Client identifier length** (3.1: 1–23; 3.1.1: empty only with clean
//!   session) is not checked by either side: a server answers CONNACK 0x02, and
//!   that is the server's decision, not a malformed packet.
//! - **Rules applied to both revisions** because 3.1 is silent and common servers
//!   apply them anyway: no U+0000 in strings, no DUP on QoS 0 PUBLISH, no zero
//!   packet identifier anywhere (3.1 also reserves 0), non-empty topics, topic
//!   names without wildcards (PUBLISH and will), well-placed wildcards in filters,
//!   reserved bits of the SUBSCRIBE requested-QoS byte at 0, no session present
//!   on a refused CONNACK.
//! - **Remaining length** may use more bytes than needed (e.g. `0x80 0x00` for
//!   0) when decoding; 3.1.1 does not forbid it. The encoder always writes the
//!   shortest form.
//! - **Where the fixed header alone shows a packet is wrong** (type, flags, a
//!   fifth length byte, a size above the caller's limit, the wrong size for a
//!   fixed-size packet), [`decode`] says so before waiting for the body.

#![forbid(unsafe_code)]

mod connack;
mod connect;
mod error;
mod header;
mod packet;
mod protocol;
mod publish;
mod subscribe;
mod topic;
mod wire;

pub use connack::{Connack, ConnectReturnCode};
pub use connect::{Connect, Will};
pub use error::{DecodeError, EncodeError, TopicError};
pub use header::{PacketType, MAX_REMAINING_LENGTH};
pub use packet::{decode, Packet};
pub use protocol::{Protocol, QoS};
pub use publish::Publish;
pub use subscribe::{Suback, SubackCode, Subscribe, SubscribeFilter, Unsubscribe};

#[cfg(test)]
mod tests;
