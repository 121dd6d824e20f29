//! The MQTT decoder must never panic on arbitrary bytes, under either
//! protocol revision, and whatever it decodes must survive a round trip:
//! `decode(encode(p)) == p`, and encoding that again gives the same bytes.
//! (The input's own bytes need not come back: a remaining length may be
//! written longer than needed, which the encoder never does.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_mqtt::{decode, Protocol, MAX_REMAINING_LENGTH};

fuzz_target!(|data: &[u8]| {
    for protocol in [Protocol::V31, Protocol::V311] {
        let mut rest = data;
        // A stream: decode packet after packet, as a link reads them.
        while let Ok(Some((packet, used))) = decode(rest, protocol, MAX_REMAINING_LENGTH) {
            assert!(used > 0 && used <= rest.len());
            rest = &rest[used..];
            let Ok(len) = packet.encoded_len() else {
                continue;
            };
            let mut out = Vec::new();
            let written = packet
                .encode(&mut out)
                .expect("encoded_len succeeded, so encode must");
            assert_eq!(written, len);
            assert_eq!(out.len(), len);
            let (again, used2) = decode(&out, protocol, MAX_REMAINING_LENGTH)
                .expect("our own encoding must decode")
                .expect("our own encoding is complete");
            assert_eq!(used2, out.len());
            assert_eq!(again, packet);
            let mut out2 = Vec::new();
            again.encode(&mut out2).unwrap();
            assert_eq!(out2, out);
        }
    }
});
