//! Properties over arbitrary packets and arbitrary bytes.

mod common;

use common::{encode, packet, protocol, protocol_and_packet, NO_LIMIT};
use proptest::collection::vec;
use proptest::prelude::*;
use vmodem_mqtt::{decode, DecodeError, Packet, Protocol};

/// Remaining length of an encoded packet, read from its fixed header.
fn remaining_length(bytes: &[u8]) -> usize {
    let header_len = 1 + bytes[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    bytes.len() - header_len
}

/// Checks what must hold for any decode result of `buf`.
fn check_outcome(buf: &[u8], protocol: Protocol, max: usize) {
    // `Ok(None)` and `Err(_)` are both fine outcomes for arbitrary bytes; what
    // matters is that decoding returned at all.
    let Ok(Some((packet, used))) = decode(buf, protocol, max) else {
        return;
    };
    assert!(
        used >= 2 && used <= buf.len(),
        "used {used} of {}",
        buf.len()
    );
    // At most 5 header bytes plus the allowed remaining length.
    assert!(
        used <= max.saturating_add(5),
        "used {used} with limit {max}"
    );
    // What the strict 3.1.1 decoder accepts, the encoder can write, and writing
    // then reading gives the same packet. (3.1 accepts a few things the encoder
    // refuses; see the crate documentation.)
    let v31_connect = matches!(&packet, Packet::Connect(c) if c.protocol == Protocol::V31);
    if protocol == Protocol::V311 && !v31_connect {
        let again = encode(&packet);
        assert_eq!(
            decode(&again, protocol, NO_LIMIT),
            Ok(Some((packet, again.len())))
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_reverses_encode((protocol, packet) in protocol_and_packet()) {
        let bytes = encode(&packet);
        prop_assert_eq!(decode(&bytes, protocol, NO_LIMIT), Ok(Some((packet, bytes.len()))));
    }

    #[test]
    fn every_prefix_needs_more((protocol, packet) in protocol_and_packet()) {
        let bytes = encode(&packet);
        for cut in 0..bytes.len() {
            prop_assert_eq!(decode(&bytes[..cut], protocol, NO_LIMIT), Ok(None), "cut at {}", cut);
        }
    }

    #[test]
    fn packets_in_a_stream_come_out_one_by_one(
        protocol in protocol(),
        packets in protocol().prop_flat_map(|p| vec(packet(p), 1..6)),
    ) {
        // A CONNECT is read by its own revision, so any connection revision will do
        // for the stream; CONNACKs were generated for `protocol` only when it matches.
        let packets: Vec<Packet> = packets
            .into_iter()
            .filter(|p| !matches!(p, Packet::Connack(c) if c.session_present && protocol == Protocol::V31))
            .collect();
        let mut stream = Vec::new();
        for p in &packets {
            stream.extend_from_slice(&encode(p));
        }
        let mut rest = &stream[..];
        let mut decoded = Vec::new();
        while let Some((p, used)) = decode(rest, protocol, NO_LIMIT).unwrap() {
            decoded.push(p);
            rest = &rest[used..];
        }
        prop_assert!(rest.is_empty());
        prop_assert_eq!(decoded, packets);
    }

    #[test]
    fn limit_is_enforced_from_the_header((protocol, packet) in protocol_and_packet()) {
        let bytes = encode(&packet);
        let remaining = remaining_length(&bytes);
        prop_assert_eq!(
            decode(&bytes, protocol, remaining).map(|o| o.map(|(_, used)| used)),
            Ok(Some(bytes.len()))
        );
        if remaining > 0 {
            let header_len = bytes.len() - remaining;
            // Only the fixed header has arrived, and the limit is one byte short.
            prop_assert_eq!(
                decode(&bytes[..header_len], protocol, remaining - 1),
                Err(DecodeError::PacketTooLarge { remaining_length: remaining, max: remaining - 1 })
            );
        }
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..300),
        protocol in protocol(),
        max in prop_oneof![Just(NO_LIMIT), 0usize..400],
    ) {
        check_outcome(&bytes, protocol, max);
    }

    #[test]
    fn random_bodies_behind_valid_first_bytes_never_panic(
        first in prop_oneof![0x10u8..=0xEF],
        len in 0u8..128,
        body in vec(any::<u8>(), 0..140),
        protocol in protocol(),
    ) {
        // A plausible header makes the decoder go into the body far more often
        // than fully random bytes do.
        let mut bytes = vec![first, len];
        bytes.extend_from_slice(&body);
        check_outcome(&bytes, protocol, NO_LIMIT);
    }

    #[test]
    fn mutated_packets_never_panic(
        (protocol, packet) in protocol_and_packet(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = encode(&packet);
        for (at, byte, kind) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        check_outcome(&bytes, protocol, NO_LIMIT);
    }
}
