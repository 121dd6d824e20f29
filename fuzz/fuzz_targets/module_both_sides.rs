//! The whole module driven from both sides at once: the fuzz input is read
//! (with `arbitrary`) as a sequence of operations — host bytes, a canned
//! command that makes a live client likely, broker bytes on a link, a link
//! event (connected, refused, closed, send failed, written), a jump in time,
//! the host taking some of its output. The driver contract is kept (host input
//! only while `wants_host_input`, link bytes only while the link is not
//! paused), and then the module must never panic and its host output must stay
//! within ARCHITECTURE.md's bound: 32 KiB (`HOST_OUTPUT_LIMIT`) plus the
//! response to the last command line / one held message (≤ 32 KiB + framing).
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use vmodem_core::{
    CloseCause, Config, ConnectError, Instant, LinkId, Modem, NetAction, NetEvent, Timing,
};

/// ARCHITECTURE.md: ≤ 32 KiB + the response to the last command line, and the
/// URC room ≤ 16 KiB + one message (≤ 32 KiB + framing). A fuzz-built command
/// line is at most one line (≤ 1 KiB of input), so 32 + 32 + 8 KiB of slack.
const HOST_OUTPUT_BOUND: usize = 72 * 1024;

const CANNED: &[&[u8]] = &[
    b"AT+QMTOPEN=0,\"b\",1883\r",
    b"AT+QMTCONN=0,\"d\"\r",
    b"AT+QMTSUB=0,1,\"#\",1\r",
    b"AT+QMTPUBEX=0,1,1,0,\"t\",4\r",
    b"AT+QMTCFG=\"recv/mode\",0,1,1\r",
    b"AT+QMTRECV=0\r",
    b"AT+QMTDISC=0\r",
    b"AT+QMTCLOSE=0\r",
    b"AT+QMTOPEN=1,\"b\",8883\r",
    b"AT+QMTCFG=\"version\",0,3\r",
];

fn run(u: &mut Unstructured) -> Result<()> {
    let timing = if u.arbitrary()? {
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
    let mut links: Vec<LinkId> = Vec::new();
    let mut paused: HashSet<LinkId> = HashSet::new();
    let mut unwritten: Vec<(LinkId, usize)> = Vec::new();
    let mut ops = 0;
    while !u.is_empty() && ops < 512 {
        ops += 1;
        let pick_link = |u: &mut Unstructured, links: &[LinkId]| -> Result<Option<LinkId>> {
            if links.is_empty() {
                return Ok(None);
            }
            Ok(Some(links[u.choose_index(links.len())?]))
        };
        match u.int_in_range(0..=9u8)? {
            0 | 1 => {
                let bytes: &[u8] = u.arbitrary()?;
                if modem.wants_host_input() {
                    modem.handle_host_bytes(now, &bytes[..bytes.len().min(1024)]);
                }
            }
            2 => {
                let cmd = CANNED[u.choose_index(CANNED.len())?];
                if modem.wants_host_input() {
                    modem.handle_host_bytes(now, cmd);
                }
            }
            3 => {
                if let Some(link) = pick_link(u, &links)? {
                    let data: Vec<u8> = u.arbitrary()?;
                    if !paused.contains(&link) {
                        modem.handle_net_event(now, NetEvent::Received { link, data });
                    }
                }
            }
            4 => {
                // A canned CONNACK / SUBACK / PUBLISH from the broker.
                if let Some(link) = pick_link(u, &links)? {
                    let id: u8 = u.arbitrary()?;
                    let data = match u.int_in_range(0..=3u8)? {
                        0 => vec![0x20, 2, 0, 0],
                        1 => vec![0x90, 3, 0, id, 1],
                        2 => vec![0x32, 8, 0, 1, b't', 0, id, b'a', b'b', b'c'],
                        _ => vec![0x40, 2, 0, id],
                    };
                    if !paused.contains(&link) {
                        modem.handle_net_event(now, NetEvent::Received { link, data });
                    }
                }
            }
            5 => {
                if let Some(link) = pick_link(u, &links)? {
                    let event = match u.int_in_range(0..=3u8)? {
                        0 => NetEvent::Connected { link },
                        1 => NetEvent::ConnectFailed {
                            link,
                            error: ConnectError::Refused,
                        },
                        2 => NetEvent::Closed {
                            link,
                            cause: if u.arbitrary()? {
                                CloseCause::Reset
                            } else {
                                CloseCause::PeerClosed
                            },
                        },
                        _ => NetEvent::SendFailed { link },
                    };
                    modem.handle_net_event(now, event);
                }
            }
            6 => {
                // The link writes what it was given (some or all of it).
                if !unwritten.is_empty() {
                    let i = u.choose_index(unwritten.len())?;
                    let (link, len) = unwritten.swap_remove(i);
                    modem.handle_net_event(now, NetEvent::Written { link, len });
                }
            }
            7 => {
                if let Some(t) = modem.poll_timeout() {
                    now = if u.arbitrary()? {
                        t
                    } else {
                        now + core::time::Duration::from_millis(u.int_in_range(0..=5000u64)?)
                    };
                    if now < t {
                        // Not due yet: time passes, nothing fires.
                    } else {
                        modem.handle_timeout(now);
                    }
                } else {
                    now = now + core::time::Duration::from_millis(u.int_in_range(0..=5000u64)?);
                }
            }
            8 => {
                // The host takes some of its output.
                let avail = modem.host_output().len();
                if avail > 0 {
                    let n = u.int_in_range(1..=avail)?;
                    modem.consume_host_output(now, n);
                }
            }
            _ => {
                // The host takes everything.
                while !modem.host_output().is_empty() {
                    let n = modem.host_output().len();
                    modem.consume_host_output(now, n);
                }
            }
        }
        while let Some(action) = modem.poll_net_action() {
            match action {
                NetAction::Connect { link, .. } => {
                    links.push(link);
                    if links.len() > 16 {
                        links.remove(0);
                    }
                }
                NetAction::Send { link, data } => {
                    unwritten.push((link, data.len()));
                    if unwritten.len() > 64 {
                        let (l, n) = unwritten.remove(0);
                        modem.handle_net_event(now, NetEvent::Written { link: l, len: n });
                    }
                }
                NetAction::Close { link } => {
                    paused.remove(&link);
                }
                NetAction::PauseReading { link } => {
                    paused.insert(link);
                }
                NetAction::ResumeReading { link } => {
                    paused.remove(&link);
                }
                _ => {}
            }
        }
        while modem.poll_event().is_some() {}
        let held = modem.host_output_len();
        assert!(
            held <= HOST_OUTPUT_BOUND,
            "host output {held} B exceeds the documented bound"
        );
        if !modem.is_powered() {
            modem.power_on(now);
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
