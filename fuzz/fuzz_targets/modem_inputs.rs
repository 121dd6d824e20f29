//! A whole module fed arbitrary host bytes and arbitrary network events, with
//! time jumping between them, must never panic.
//!
//! The input is read as a sequence of operations: a tag byte, then a length
//! byte and that many bytes of data. Tags pick host bytes, broker bytes on the
//! latest link, a link event (connected, refused, closed, send failed), or a
//! jump to the next deadline. A live link is made likely by also feeding the
//! open/connect commands now and then.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_core::{
    CloseCause, Config, ConnectError, Instant, LinkId, Modem, NetAction, NetEvent, Timing,
};

fuzz_target!(|data: &[u8]| {
    let timing = if data.first().is_some_and(|b| b & 1 == 1) {
        Timing::Realistic
    } else {
        Timing::Fast
    };
    let mut now = Instant::ZERO;
    let mut modem = Modem::new(
        Config {
            timing,
            ..Config::default()
        },
        now,
    );
    let mut link = LinkId::new(0, 1);
    let mut rest = data.get(1..).unwrap_or_default();
    while let [tag, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, after) = tail.split_at(n);
        rest = after;
        match tag % 8 {
            0 | 1 => modem.handle_host_bytes(now, chunk),
            2 => modem.handle_host_bytes(now, b"AT+QMTOPEN=0,\"b\",1883\r"),
            3 => modem.handle_host_bytes(now, b"AT+QMTCONN=0,\"d\"\r"),
            4 => modem.handle_net_event(
                now,
                NetEvent::Received {
                    link,
                    data: chunk.to_vec(),
                },
            ),
            5 => {
                let event = match chunk.first().copied().unwrap_or(0) % 4 {
                    0 => NetEvent::Connected { link },
                    1 => NetEvent::ConnectFailed {
                        link,
                        error: ConnectError::Refused,
                    },
                    2 => NetEvent::Closed {
                        link,
                        cause: CloseCause::Reset,
                    },
                    _ => NetEvent::SendFailed { link },
                };
                modem.handle_net_event(now, event);
            }
            _ => {
                if let Some(t) = modem.poll_timeout() {
                    now = t;
                    modem.handle_timeout(now);
                }
            }
        }
        // A host that reads everything at once.
        while !modem.host_output().is_empty() {
            let n = modem.host_output().len();
            modem.consume_host_output(now, n);
        }
        while let Some(action) = modem.poll_net_action() {
            if let NetAction::Connect { link: l, .. } = action {
                link = l;
            }
        }
        while modem.poll_event().is_some() {}
        if !modem.is_powered() {
            modem.power_on(now);
        }
    }
});
