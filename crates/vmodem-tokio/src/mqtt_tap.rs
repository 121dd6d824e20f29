//! MQTT packets on each link, for the timeline and `--trace` (issue 10 §4).
//!
//! The module task sees every byte of every link: what the core sends
//! ([`NetAction::Send`](vmodem_core::NetAction::Send), one whole packet each)
//! and what the link tasks read ([`NetEvent::Received`](vmodem_core::NetEvent::Received),
//! chunks cut anywhere). The tap finds the packets in both streams and decodes
//! them with our codec (`vmodem-mqtt`), so the core stays as it is and pays
//! nothing for it. This is the plaintext MQTT, above TLS and above the link
//! toxics' view of the module: a packet is "sent" when the module hands it to
//! its link and "received" when the module gets its last byte.
//!
//! **Cost.** Nothing at all when the module has neither a trace nor a
//! timeline. With a timeline nobody listens to, only packet boundaries are
//! followed (a fixed header per packet, no copy), so a listener who comes
//! later starts at a packet. Decoding happens only while someone listens.
//!
//! **Bounds.** A packet that arrives in pieces is gathered in a buffer of at
//! most [`TAP_MAX`] bytes per link and direction (the core's own limit for
//! an incoming packet plus its header); a larger packet is recorded from its
//! fixed header alone (type, flags, size) and skipped. A sent packet comes
//! whole and is decoded in place.

use std::collections::HashMap;

use vmodem_core::LinkId;
use vmodem_mqtt::{decode, Packet, PacketType, Protocol, MAX_REMAINING_LENGTH};

use crate::control::{MqttDirection, MqttPacket};

/// Most bytes of one packet gathered from pieces (see the module docs):
/// the core's largest incoming packet (32 KiB, `client.rs`) plus a fixed header.
pub(crate) const TAP_MAX: usize = 32 * 1024 + 5;

/// One direction of one link.
#[derive(Debug, Default)]
struct Stream {
    /// The start of a packet that came in pieces: at most [`TAP_MAX`].
    buf: Vec<u8>,
    /// Bytes still to pass of a packet not gathered.
    skip: usize,
    /// The bytes stopped making sense as MQTT; nothing more is recorded on
    /// this link (the core closes it).
    lost: bool,
}

/// The state of one link: both directions and its MQTT revision (from its CONNECT).
#[derive(Debug)]
struct LinkTap {
    streams: [Stream; 2],
    protocol: Protocol,
}

/// Follows the packets on every link of one module.
#[derive(Debug, Default)]
pub(crate) struct MqttTap {
    links: HashMap<LinkId, LinkTap>,
}

/// What a fixed header says, if it is complete.
enum Header {
    Incomplete,
    Bad,
    /// The packet's whole length, fixed header included.
    Packet(usize),
}

fn header(buf: &[u8]) -> Header {
    if buf.is_empty() {
        return Header::Incomplete;
    }
    let mut len = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Header::Incomplete;
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if len > MAX_REMAINING_LENGTH {
                return Header::Bad;
            }
            return Header::Packet(2 + i + len);
        }
    }
    Header::Bad
}

impl MqttTap {
    /// Feeds `data` going `dir` on `link`; with `decode`, each packet
    /// completed is handed to `out`, otherwise only its boundaries are followed.
    pub(crate) fn feed(
        &mut self,
        link: LinkId,
        dir: MqttDirection,
        mut data: &[u8],
        decode: bool,
        out: &mut impl FnMut(MqttPacket),
    ) {
        let tap = self.links.entry(link).or_insert_with(|| LinkTap {
            streams: Default::default(),
            protocol: Protocol::V311,
        });
        let client = link.client();
        let protocol = &mut tap.protocol;
        let s = &mut tap.streams[dir as usize];
        let mut emit = |bytes: &[u8], first: u8, size: usize, protocol: &mut Protocol| {
            out(record(client, dir, bytes, first, size, protocol));
        };
        while !data.is_empty() && !s.lost {
            if s.skip > 0 {
                let k = s.skip.min(data.len());
                s.skip -= k;
                data = &data[k..];
                continue;
            }
            if s.buf.is_empty() {
                match header(data) {
                    Header::Incomplete => {
                        s.buf.extend_from_slice(data);
                        return;
                    }
                    Header::Bad => s.lost = true,
                    Header::Packet(total) if data.len() >= total => {
                        // Whole: decoded in place (every send is one whole packet).
                        if decode {
                            emit(&data[..total], data[0], total, protocol);
                        }
                        data = &data[total..];
                    }
                    Header::Packet(total) if !decode || total > TAP_MAX => {
                        if decode {
                            emit(&[], data[0], total, protocol);
                        }
                        s.skip = total - data.len();
                        return;
                    }
                    Header::Packet(_) => {
                        s.buf.extend_from_slice(data);
                        return;
                    }
                }
                continue;
            }
            match header(&s.buf) {
                Header::Incomplete => {
                    // Byte by byte until the header is whole, never into the next packet.
                    s.buf.push(data[0]);
                    data = &data[1..];
                    if let Header::Packet(total) = header(&s.buf) {
                        if s.buf.len() == total {
                            if decode {
                                emit(&s.buf, s.buf[0], total, protocol);
                            }
                            s.buf.clear();
                        }
                    }
                }
                Header::Bad => s.lost = true,
                Header::Packet(total) if !decode || total > TAP_MAX => {
                    if decode {
                        emit(&[], s.buf[0], total, protocol);
                    }
                    s.skip = total - s.buf.len();
                    s.buf = Vec::new();
                }
                Header::Packet(total) => {
                    let k = (total - s.buf.len()).min(data.len());
                    s.buf.extend_from_slice(&data[..k]);
                    data = &data[k..];
                    if s.buf.len() == total {
                        if decode {
                            emit(&s.buf, s.buf[0], total, protocol);
                        }
                        s.buf.clear();
                        if s.buf.capacity() > 4096 {
                            s.buf = Vec::new();
                        }
                    }
                }
            }
        }
    }

    /// The link ended (or was never made): forget it.
    pub(crate) fn forget(&mut self, link: LinkId) {
        self.links.remove(&link);
    }
}

fn name(t: PacketType) -> &'static str {
    match t {
        PacketType::Connect => "CONNECT",
        PacketType::Connack => "CONNACK",
        PacketType::Publish => "PUBLISH",
        PacketType::Puback => "PUBACK",
        PacketType::Pubrec => "PUBREC",
        PacketType::Pubrel => "PUBREL",
        PacketType::Pubcomp => "PUBCOMP",
        PacketType::Subscribe => "SUBSCRIBE",
        PacketType::Suback => "SUBACK",
        PacketType::Unsubscribe => "UNSUBSCRIBE",
        PacketType::Unsuback => "UNSUBACK",
        PacketType::Pingreq => "PINGREQ",
        PacketType::Pingresp => "PINGRESP",
        PacketType::Disconnect => "DISCONNECT",
    }
}

/// The record of one packet: `bytes` is the whole packet, or empty when it
/// was too large to gather (then only `first`, its first byte, is known).
fn record(
    client: u8,
    dir: MqttDirection,
    bytes: &[u8],
    first: u8,
    size: usize,
    protocol: &mut Protocol,
) -> MqttPacket {
    let kind = PacketType::from_u8(first >> 4);
    let mut r = MqttPacket {
        client,
        dir,
        packet: kind.map_or("?", name),
        pkid: None,
        qos: (kind == Some(PacketType::Publish)).then_some((first >> 1) & 3),
        topic: None,
        len: None,
        size,
        retain: kind == Some(PacketType::Publish) && first & 1 == 1,
        dup: kind == Some(PacketType::Publish) && first & 8 == 8,
        rc: None,
        client_id: None,
        keepalive: None,
        clean: None,
        error: None,
    };
    if bytes.is_empty() {
        r.error = Some(format!("not decoded: larger than {TAP_MAX} bytes"));
        return r;
    }
    let packet = match decode(bytes, *protocol, MAX_REMAINING_LENGTH) {
        Ok(Some((packet, _))) => packet,
        Ok(None) => {
            // Cannot happen: the tap hands over whole packets only.
            r.error = Some("incomplete".into());
            return r;
        }
        Err(e) => {
            r.error = Some(e.to_string());
            return r;
        }
    };
    match packet {
        Packet::Connect(c) => {
            *protocol = c.protocol;
            r.client_id = Some(c.client_id);
            r.keepalive = Some(c.keep_alive);
            r.clean = Some(c.clean_session);
        }
        Packet::Connack(c) => r.rc = Some(c.code.as_u8().to_string()),
        Packet::Publish(p) => {
            r.pkid = (p.pkid != 0).then_some(p.pkid);
            r.topic = Some(p.topic);
            r.len = Some(p.payload.len());
        }
        Packet::Puback { pkid }
        | Packet::Pubrec { pkid }
        | Packet::Pubrel { pkid }
        | Packet::Pubcomp { pkid }
        | Packet::Unsuback { pkid } => r.pkid = Some(pkid),
        Packet::Subscribe(s) => {
            r.pkid = Some(s.pkid);
            let filters: Vec<String> = s
                .filters
                .iter()
                .map(|f| format!("{}@{}", f.filter, f.qos.as_u8()))
                .collect();
            r.topic = Some(filters.join(" "));
        }
        Packet::Suback(s) => {
            r.pkid = Some(s.pkid);
            let codes: Vec<String> = s
                .return_codes
                .iter()
                .map(|c| c.as_u8().to_string())
                .collect();
            r.rc = Some(codes.join(" "));
        }
        Packet::Unsubscribe(u) => {
            r.pkid = Some(u.pkid);
            r.topic = Some(u.filters.join(" "));
        }
        Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {}
    }
    r
}

#[cfg(test)]
mod tests {
    use vmodem_mqtt::{Connect, Publish, QoS};

    use super::*;

    const LINK: LinkId = LinkId::new(2, 1);

    fn encode(p: &Packet) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(&mut out).unwrap();
        out
    }

    fn publish(pkid: u16, topic: &str, payload: &[u8]) -> Vec<u8> {
        encode(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: topic.into(),
            pkid,
            payload: payload.to_vec().into(),
        }))
    }

    fn feed_all(tap: &mut MqttTap, dir: MqttDirection, chunks: &[&[u8]]) -> Vec<MqttPacket> {
        let mut got = Vec::new();
        for c in chunks {
            tap.feed(LINK, dir, c, true, &mut |p| got.push(p));
        }
        got
    }

    #[test]
    fn packets_cut_anywhere_are_found_and_decoded() {
        let mut stream = publish(7, "a/b", b"hello");
        stream.extend(encode(&Packet::Puback { pkid: 3 }));
        stream.extend(encode(&Packet::Pingresp));
        stream.extend(publish(8, "c", &[0u8; 300]));
        // Every cut, one byte at a time included.
        for cut in [1, 2, 3, 5, 17, stream.len()] {
            let mut tap = MqttTap::default();
            let chunks: Vec<&[u8]> = stream.chunks(cut).collect();
            let got = feed_all(&mut tap, MqttDirection::BrokerToModule, &chunks);
            let summary: Vec<_> = got
                .iter()
                .map(|p| (p.packet, p.pkid, p.topic.clone(), p.len, p.size))
                .collect();
            assert_eq!(
                summary,
                vec![
                    ("PUBLISH", Some(7), Some("a/b".into()), Some(5), 14),
                    ("PUBACK", Some(3), None, None, 4),
                    ("PINGRESP", None, None, None, 2),
                    ("PUBLISH", Some(8), Some("c".into()), Some(300), 308),
                ],
                "cut {cut}"
            );
            assert!(got.iter().all(|p| p.client == 2 && p.error.is_none()));
        }
    }

    #[test]
    fn connect_names_the_client_and_a_packet_too_large_is_recorded_from_its_header() {
        let mut tap = MqttTap::default();
        let connect = encode(&Packet::Connect(Connect {
            protocol: Protocol::V31,
            client_id: "dev1".into(),
            clean_session: true,
            keep_alive: 60,
            will: None,
            username: Some("u".into()),
            password: Some(b"secret".to_vec()),
        }));
        let got = feed_all(&mut tap, MqttDirection::ModuleToBroker, &[&connect]);
        assert_eq!(got[0].client_id.as_deref(), Some("dev1"));
        assert_eq!((got[0].keepalive, got[0].clean), (Some(60), Some(true)));
        let json = serde_json::to_string(&got[0]).unwrap();
        assert!(!json.contains("secret"), "{json}");

        let big = publish(9, "big", &vec![1u8; TAP_MAX]);
        let (head, rest) = big.split_at(1000);
        let mut chunks: Vec<&[u8]> = vec![head];
        chunks.extend(rest.chunks(4096));
        chunks.push(&[0xd0, 0x00]); // then a PINGRESP
        let got = feed_all(&mut tap, MqttDirection::BrokerToModule, &chunks);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            (got[0].packet, got[0].qos, got[0].size),
            ("PUBLISH", Some(1), big.len())
        );
        assert!(got[0].error.as_deref().unwrap().contains("not decoded"));
        assert_eq!(got[1].packet, "PINGRESP");
    }

    #[test]
    fn boundaries_are_followed_without_decoding_so_a_late_listener_starts_at_a_packet() {
        let mut tap = MqttTap::default();
        let stream = [publish(1, "t", b"x"), publish(2, "t", b"y")].concat();
        let (a, b) = stream.split_at(5);
        let mut got = Vec::new();
        tap.feed(LINK, MqttDirection::BrokerToModule, a, false, &mut |p| {
            got.push(p)
        });
        // The listener comes in the middle of the first packet.
        tap.feed(LINK, MqttDirection::BrokerToModule, b, true, &mut |p| {
            got.push(p)
        });
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].pkid, Some(2));
    }

    #[test]
    fn garbage_stops_the_tap_for_that_link() {
        let mut tap = MqttTap::default();
        let got = feed_all(
            &mut tap,
            MqttDirection::BrokerToModule,
            &[
                &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01],
                &encode(&Packet::Pingresp),
            ],
        );
        assert!(got.is_empty(), "{got:?}");
        tap.forget(LINK);
        let got = feed_all(
            &mut tap,
            MqttDirection::BrokerToModule,
            &[&encode(&Packet::Pingresp)],
        );
        assert_eq!(got.len(), 1);
    }
}
