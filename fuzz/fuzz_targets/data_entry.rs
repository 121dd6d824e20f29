//! Data entry: the `>` prompt of AT+QMTPUB / AT+QMTPUBEX and the `CONNECT`
//! payload mode of AT+QFUPL. The module is brought to a connected MQTT client
//! (open, link up, CONNECT, CONNACK), a command that enters data mode is sent,
//! and then the fuzzed bytes arrive as host input in fuzzed chunk sizes, with
//! time advanced now and then (entry timeouts). Never a panic, and no host
//! output left behind a drain. Afterwards ESC, the entry timeout and `AT` are
//! sent (data mode ends by Ctrl-Z / ESC / the length / the timeout, app note);
//! asserting the `OK` is still to do.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_core::{Config, Instant, LinkId, Modem, NetAction, NetEvent, Timing};

fn drain(modem: &mut Modem, now: Instant, link: &mut Option<LinkId>, out: &mut Vec<u8>) {
    loop {
        let mut progressed = false;
        while let Some(action) = modem.poll_net_action() {
            progressed = true;
            match action {
                NetAction::Connect { link: l, .. } => {
                    *link = Some(l);
                    modem.handle_net_event(now, NetEvent::Connected { link: l });
                }
                NetAction::Send { link: l, data } => {
                    // An MQTT CONNECT: the broker accepts it.
                    if data.first() == Some(&0x10) {
                        modem.handle_net_event(
                            now,
                            NetEvent::Written {
                                link: l,
                                len: data.len(),
                            },
                        );
                        modem.handle_net_event(
                            now,
                            NetEvent::Received {
                                link: l,
                                data: vec![0x20, 2, 0, 0],
                            },
                        );
                    } else {
                        modem.handle_net_event(
                            now,
                            NetEvent::Written {
                                link: l,
                                len: data.len(),
                            },
                        );
                    }
                }
                _ => {}
            }
        }
        while modem.poll_event().is_some() {}
        let n = modem.host_output_len();
        if n > 0 {
            progressed = true;
            while !modem.host_output().is_empty() {
                let chunk = modem.host_output();
                out.extend_from_slice(chunk);
                let k = chunk.len();
                modem.consume_host_output(now, k);
            }
        }
        if !progressed {
            break;
        }
    }
}

const ENTRIES: &[&[u8]] = &[
    b"AT+QMTPUB=0,0,0,0,\"t/a\"\r",
    b"AT+QMTPUB=0,1,1,0,\"t/a\",20\r",
    b"AT+QMTPUBEX=0,0,0,0,\"t/a\",30\r",
    b"AT+QMTPUBEX=0,2,2,1,\"t/b\",5\r",
    b"AT+QFUPL=\"f.txt\",40\r",
    b"AT+QFUPL=\"g.bin\",100,3\r",
    b"AT+QFUPL=\"UFS:h\",1,1,1\r",
    b"AT+QMTPUB=0,0,0,0,\"t/c\",1\r",
];

/// A booted module with client 0 open and connected, built once per process
/// and cloned for every input (`Modem: Clone`): the boot and the MQTT
/// handshake are the same for every input, and replaying them was most of
/// each execution's cost.
fn ready() -> (Modem, Instant, Option<LinkId>) {
    let mut now = Instant::ZERO;
    let mut modem = Modem::new(
        Config {
            timing: Timing::Fast,
            ..Config::default()
        },
        now,
    );
    let mut link = None;
    let mut out = Vec::new();
    // Boot, then an open and connected client 0.
    while let Some(t) = modem.poll_timeout() {
        if !out.is_empty() && out.windows(3).any(|w| w == b"RDY") {
            break;
        }
        now = t;
        modem.handle_timeout(now);
        drain(&mut modem, now, &mut link, &mut out);
        if now > Instant::ZERO + core::time::Duration::from_secs(30) {
            break;
        }
    }
    for cmd in [&b"AT+QMTOPEN=0,\"b\",1883\r"[..], b"AT+QMTCONN=0,\"d\"\r"] {
        modem.handle_host_bytes(now, cmd);
        drain(&mut modem, now, &mut link, &mut out);
    }
    assert!(
        out.windows(16).any(|w| w == b"+QMTCONN: 0,0,0\r"),
        "the snapshot is connected: {}",
        String::from_utf8_lossy(&out)
    );
    (modem, now, link)
}

thread_local! {
    static READY: (Modem, Instant, Option<LinkId>) = ready();
}

fuzz_target!(|data: &[u8]| {
    let [sel, body @ ..] = data else { return };
    let (mut modem, mut now, mut link) = READY.with(|r| r.clone());
    let mut out = Vec::new();
    out.clear();
    modem.handle_host_bytes(now, ENTRIES[usize::from(*sel) % ENTRIES.len()]);
    drain(&mut modem, now, &mut link, &mut out);
    // The payload, in chunks whose sizes the input picks: byte 0xFE followed by
    // n means "advance time n × 100 ms" so entry timeouts are reached too.
    let mut rest = body;
    while !rest.is_empty() {
        if let [0xFE, n, tail @ ..] = rest {
            now = now + core::time::Duration::from_millis(u64::from(*n) * 100);
            modem.handle_timeout(now);
            rest = tail;
        } else {
            let n = (usize::from(rest[0] % 16) + 1).min(rest.len());
            modem.handle_host_bytes(now, &rest[..n]);
            rest = &rest[n..];
        }
        drain(&mut modem, now, &mut link, &mut out);
        assert!(modem.host_output_len() == 0);
    }
    // Whatever state data entry was left in, the line comes back: end any
    // entry (ESC, then wait out the entry timeout), then AT must answer OK.
    modem.handle_host_bytes(now, b"\x1b");
    now = now + core::time::Duration::from_secs(200);
    modem.handle_timeout(now);
    drain(&mut modem, now, &mut link, &mut out);
    out.clear();
    modem.handle_host_bytes(now, b"\r\nAT\r");
    drain(&mut modem, now, &mut link, &mut out);
    let _ = out;
});
