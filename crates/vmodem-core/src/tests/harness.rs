//! A module on a virtual clock, and assertions that show bytes readably.

use core::time::Duration;

use crate::{Config, Instant, LinkId, Modem, ModemEvent, NetAction, NetEvent, Network, Timing};
use vmodem_mqtt::{decode, Packet, Protocol};

/// Escapes bytes so CR, LF and control characters are visible in failures.
pub(crate) fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

pub(crate) struct Harness {
    pub(crate) modem: Modem,
    pub(crate) now: Instant,
    pub(crate) events: Vec<ModemEvent>,
    /// Network actions taken from the module, not yet read by the test.
    actions: Vec<NetAction>,
    /// Report every send written at once, as a driver on a fast network
    /// does (`NetEvent::Written`). Off: the network takes nothing.
    pub(crate) auto_write: bool,
}

/// The power-up URC chain, exactly.
pub(crate) const BOOT: &[u8] = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n";

impl Harness {
    /// A fast EC25, booted, with its boot output checked and discarded.
    pub(crate) fn new() -> Harness {
        let mut h = Harness::with_config(Config::default());
        assert_eq!(show(&h.output()), show(BOOT));
        h
    }

    /// A module with this configuration, its boot output not yet read.
    pub(crate) fn with_config(config: Config) -> Harness {
        let now = Instant::from_secs(1000);
        Harness {
            modem: Modem::new(config, now),
            now,
            events: Vec::new(),
            actions: Vec::new(),
            auto_write: true,
        }
    }

    /// A realistic-timing module without a radio network (the AT engine's
    /// own delays, registration 2.5 s after the SIM), not booted yet.
    pub(crate) fn realistic() -> Harness {
        Harness::with_config(Config {
            timing: Timing::Realistic,
            network: Some(Network::None),
            ..Config::default()
        })
    }

    /// A realistic-timing module on `network` with `seed`, not booted yet.
    pub(crate) fn on_network(network: Network, seed: u64) -> Harness {
        Harness::with_config(Config {
            timing: Timing::Realistic,
            network: Some(network),
            seed,
            ..Config::default()
        })
    }

    /// Everything the module has for the host now (a host that reads at
    /// once); network actions and events are collected, and with
    /// [`auto_write`](Self::auto_write) every send is reported written.
    pub(crate) fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            self.collect_actions();
            let chunk = self.modem.host_output();
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(chunk);
            let n = chunk.len();
            self.modem.consume_host_output(self.now, n);
        }
        while let Some(ev) = self.modem.poll_event() {
            self.events.push(ev);
        }
        out
    }

    /// Types `input` and returns what the module answered at once.
    pub(crate) fn send(&mut self, input: &[u8]) -> Vec<u8> {
        self.modem.handle_host_bytes(self.now, input);
        self.output()
    }

    /// Sends `input` and asserts the immediate answer is exactly `expected`.
    #[track_caller]
    pub(crate) fn expect(&mut self, input: &[u8], expected: &[u8]) {
        let got = self.send(input);
        assert_eq!(show(&got), show(expected), "answer to {}", show(input));
    }

    /// Network actions the module asked for since the last call.
    pub(crate) fn actions(&mut self) -> Vec<NetAction> {
        self.collect_actions();
        std::mem::take(&mut self.actions)
    }

    /// The oldest network action not yet read by the test.
    pub(crate) fn next_action(&mut self) -> Option<NetAction> {
        self.collect_actions();
        (!self.actions.is_empty()).then(|| self.actions.remove(0))
    }

    /// Takes the module's network actions; reports sends written if asked to
    /// (which may make more actions, taken too).
    fn collect_actions(&mut self) {
        loop {
            let mut written = Vec::new();
            while let Some(a) = self.modem.poll_net_action() {
                if let NetAction::Send { link, data } = &a {
                    written.push((*link, data.len()));
                }
                self.actions.push(a);
            }
            if !self.auto_write || written.is_empty() {
                return;
            }
            for (link, len) in written {
                self.modem
                    .handle_net_event(self.now, NetEvent::Written { link, len });
            }
        }
    }

    /// Feeds a network event and returns what the module wrote to the host.
    pub(crate) fn net(&mut self, event: NetEvent) -> Vec<u8> {
        self.modem.handle_net_event(self.now, event);
        self.output()
    }

    /// Sends `packet` from the broker on `link`; returns the host output.
    pub(crate) fn broker_sends(&mut self, link: LinkId, packet: &Packet) -> Vec<u8> {
        let mut data = Vec::new();
        packet.encode(&mut data).unwrap();
        self.net(NetEvent::Received { link, data })
    }

    /// The MQTT packets the module sent since the last call (decoded as a broker
    /// would), with any other network actions left out.
    pub(crate) fn sent(&mut self, protocol: Protocol) -> Vec<Packet> {
        let mut bytes = Vec::new();
        for a in self.actions() {
            if let NetAction::Send { data, .. } = a {
                bytes.extend(data);
            }
        }
        let mut packets = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let (p, used) = decode(rest, protocol, 1 << 20)
                .unwrap()
                .expect("whole packets");
            packets.push(p);
            rest = &rest[used..];
        }
        packets
    }

    /// Moves virtual time forward by `d`, running every deadline on the way in
    /// order; returns what the module wrote meanwhile.
    pub(crate) fn advance(&mut self, d: Duration) -> Vec<u8> {
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(at) = self.modem.poll_timeout().filter(|&at| at <= end) {
            self.now = self.now.max(at);
            self.modem.handle_timeout(self.now);
            out.extend(self.output());
        }
        self.now = end;
        self.modem.handle_timeout(end);
        out.extend(self.output());
        out
    }

    /// Like [`advance`](Self::advance), but also records when each chunk came out
    /// (milliseconds since the start of the call).
    pub(crate) fn advance_timed(&mut self, d: Duration) -> Vec<(u64, Vec<u8>)> {
        let start = self.now;
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(at) = self.modem.poll_timeout().filter(|&at| at <= end) {
            self.now = self.now.max(at);
            self.modem.handle_timeout(self.now);
            let chunk = self.output();
            if !chunk.is_empty() {
                out.push(((self.now - start).as_millis() as u64, chunk));
            }
        }
        self.now = end;
        out
    }
}
