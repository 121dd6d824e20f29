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
//! The decoder is strict: the 3.1.1 rules that a single packet can break are
//! enforced, each reported by a [`DecodeError`] variant that says what was wrong. The encoder refuses ([`EncodeError`]) everything the decoder refuses,
//! so `decode(encode(p)) == p` for every `p` that encodes. The encoder does not
//! know the connection's revision except through [`Connect::protocol`], so its
//! output for the other 13 packets is valid for both.
//!
//! Where the two specifications leave a choice, it is made as follows:
//!
//! - **3.1 leniency, decode only.** Under [`Protocol::V31`] the decoder accepts
//!   what 3.1 does not forbid: CONNECT flag bit 0 and
//!   will QoS/retain bits without a will (ignored), a password flag without a
//!   user name flag, any CONNACK byte 1 (reported as `session_present: false`),
//!   and DUP on PUBREL/SUBSCRIBE/UNSUBSCRIBE (0b1010; ignored; mosquitto 1.x and
//!   Paho Python set it when re-sending PUBREL). All of these are errors under 3.1.1.
//! - **Password without user name, encode.** Refused for both revisions
//!   ([`EncodeError::PasswordWithoutUsername`]): 3.1.1 forbids it, and 3.1
//!   servers such as mosquitto 2 drop a 3.1 connection that does it. A 3.1
//!   CONNECT decoded with one therefore does not re-encode.
//! - **SUBACK 0x80 under 3.1** is accepted and read as [`SubackCode::Failure`].
//!   3.1 has no such code and mosquitto does not send it to 3.1 clients (it
//!   refuses silently, as 3.1 says), but some servers send it whatever the
//!   revision, and in 3.1 it cannot mean anything but a refusal.
//! - **Client identifier length** (3.1: 1–23; 3.1.1: empty only with clean
//!   session) is not checked by either side: a server answers CONNACK 0x02, and
//!   that is the server's decision, not a malformed packet.
//! - **Rules applied to both revisions**, taken from 3.1.1 where 3.1 states
//!   the same rule less formally or is silent: no U+0000 in strings, no DUP on a
//!   QoS 0 PUBLISH (3.1: DUP applies to QoS > 0), no packet identifier 0
//!   anywhere (3.1 reserves 0 too), non-empty topics, no wildcards in topic
//!   names (PUBLISH and will), wildcards only where §4.7.1 puts them in filters,
//!   SUBSCRIBE requested-QoS bits 7–2 at 0 (reserved in 3.1 too), no session
//!   present on a refused CONNACK.
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
