//! The radio access network between the module and the Internet: how long an
//! exchange on a link takes, and how long the module takes to register.
//!
//! A real module's MQTT results come after the cellular network's round trip,
//! and it registers seconds after power-up. vmodem's links run over loopback in
//! well under a millisecond, so without this model every result URC arrives
//! with the `OK` that started it, and drivers that "read up to `OK`, then wait
//! for the URC" fail on vmodem while they work on hardware (issue 9).
//!
//! The model is sans-I/O like the rest of the core: the *shaper* (`Radio`, inside the module)
//! holds the module's [`NetAction`]s (uplink) and the driver's [`NetEvent`]s
//! (downlink) until their deadline, and the module reports the nearest one in
//! [`Modem::poll_timeout`](crate::Modem::poll_timeout). Nothing sleeps, so core
//! tests run it in virtual time.
//!
//! **Delays.** Every packet crosses the radio in one direction in half a round
//! trip drawn from the [`Network`]'s [`RadioProfile::round_trip`]; an exchange
//! (CONNECT → CONNACK, PUBLISH → PUBACK, PINGREQ → PINGRESP, SUBSCRIBE →
//! SUBACK, …) thus takes two halves of two draws plus what the broker needs.
//! A link's set-up is the TCP handshake (the `Connect` up, the `Connected`
//! down), plus one full round trip for the DNS query when the host is a name,
//! plus two for a TLS handshake: the driver does TLS before it reports the link
//! open, so the shaper adds those flights to the connect's completion. Two
//! because an EC25 speaks TLS 1.2, whose full handshake takes two round trips
//! before application data (RFC 5246 §7.3; session resumption is not modelled).
//!
//! **Order.** Within one client index (0–5, so across that client's successive
//! links too) and one direction, a later item never overtakes an earlier one:
//! its deadline is at least the one before it. Drawn delays are seeded from
//! [`Config::seed`](crate::Config::seed) and the module's instance, one stream
//! per client index and direction, so the same seed gives the same delays
//! whatever other clients do.
//!
//! **Bound.** The shaper holds at most [`RECEIVE_WINDOW`] received bytes per
//! client index (what a TCP receive window lets a peer have in flight), and
//! pauses reading on the link ([`NetAction::PauseReading`]) when it holds that
//! much, until half of it is delivered.
//!
//! **What passes unchanged.** Pause and resume requests are local to the
//! module: they go to the driver at once. A [`NetEvent::SendFailed`] (a local
//! write error), and any event this model does not know, gets no delay but
//! keeps its place behind its client's earlier events.
//!
//! **Reuse.** [`Network::profile`] gives the numbers, [`Spread::draw`] draws one
//! delay from a [`Jitter`] stream: link toxics and faults (issue 10) draw their
//! latency from the same profile. Re-registration after a fault goes through
//! `Modem::schedule_registration`, which draws from
//! [`RadioProfile::registration`].
//!
//! The numbers and their sources are in `docs/decisions.md`, "Radio network".

use std::collections::VecDeque;

use core::time::Duration;

use crate::config::Timing;
use crate::io::{ConnectError, LinkId, NetAction, NetEvent};
use crate::time::Instant;

/// Most received bytes the shaper holds for one client index before it pauses
/// reading on the link: 64 KiB, the largest TCP receive window without window
/// scaling (RFC 7323 §2), so a broker sending faster than the radio carries is
/// slowed by TCP back-pressure rather than by the module's memory.
pub const RECEIVE_WINDOW: usize = 64 * 1024;

/// The radio network the module is attached to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Network {
    /// No radio: links as fast as the driver's, registration as the timing
    /// says (at once with fast timing, 2.5 s with realistic). The default with
    /// [`Timing::Fast`].
    #[default]
    None,
    /// LTE (Cat 1–4, an EC25's own): round trips of tens of milliseconds,
    /// registration in seconds. The default with [`Timing::Realistic`].
    Lte,
    /// LTE-M (Cat M1, eMTC; BG96/BG95): round trips of 100–300 ms.
    CatM1,
    /// NB-IoT (Cat NB1/NB2): round trips of 1–10 s, registration in tens of seconds.
    NbIot,
}

impl Network {
    /// Every network, in the order `--help` lists them.
    pub const ALL: [Network; 4] = [Network::None, Network::Lte, Network::CatM1, Network::NbIot];

    /// Parses `none`, `lte`, `catm1` or `nbiot` (any case; `cat-m1`, `lte-m`,
    /// `emtc` and `nb-iot` too).
    pub fn from_name(name: &str) -> Option<Network> {
        match name.to_ascii_lowercase().as_str() {
            "none" => Some(Network::None),
            "lte" => Some(Network::Lte),
            "catm1" | "cat-m1" | "lte-m" | "ltem" | "emtc" => Some(Network::CatM1),
            "nbiot" | "nb-iot" => Some(Network::NbIot),
            _ => None,
        }
    }

    /// The network [`Config::network`](crate::Config::network) stands for when
    /// it is unset: [`Network::Lte`] with realistic timing, no radio with fast.
    pub fn default_for(timing: Timing) -> Network {
        match timing {
            Timing::Fast => Network::None,
            Timing::Realistic => Network::Lte,
        }
    }

    /// Its numbers.
    pub fn profile(self) -> &'static RadioProfile {
        match self {
            Network::None => &NONE,
            Network::Lte => &LTE,
            Network::CatM1 => &CAT_M1,
            Network::NbIot => &NB_IOT,
        }
    }

    /// Its name as `--network` takes it.
    pub fn name(self) -> &'static str {
        self.profile().name
    }
}

/// How long things take on one kind of radio network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RadioProfile {
    /// The name `--network` takes.
    pub name: &'static str,
    /// One exchange's round trip between the module and a broker: radio access
    /// network, core network and the path beyond, without the broker's own time.
    pub round_trip: Spread,
    /// From the SIM being ready (or the radio switched on, or automatic
    /// selection asked for again) to registered on the network.
    pub registration: Spread,
}

/// A distribution of delays given by four points of its distribution
/// function, drawn by linear interpolation between them: never below `min`
/// or above `max`, half the draws below `median`, nine in ten below `p90`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    /// The shortest delay, milliseconds.
    pub min_ms: u32,
    /// Half the draws are shorter.
    pub median_ms: u32,
    /// Nine draws in ten are shorter.
    pub p90_ms: u32,
    /// The longest delay.
    pub max_ms: u32,
}

impl Spread {
    /// No delay at all.
    pub const ZERO: Spread = Spread::new(0, 0, 0, 0);

    /// A spread; the points must not decrease.
    pub const fn new(min_ms: u32, median_ms: u32, p90_ms: u32, max_ms: u32) -> Spread {
        assert!(min_ms <= median_ms && median_ms <= p90_ms && p90_ms <= max_ms);
        Spread {
            min_ms,
            median_ms,
            p90_ms,
            max_ms,
        }
    }

    /// One delay, drawn from `jitter`.
    pub fn draw(&self, jitter: &mut Jitter) -> Duration {
        Duration::from_millis(self.at(jitter.next_u64() % PPM))
    }

    /// The delay at quantile `q` parts per million.
    fn at(&self, q: u64) -> u64 {
        let points = [
            (0, self.min_ms),
            (500_000, self.median_ms),
            (900_000, self.p90_ms),
            (PPM, self.max_ms),
        ];
        let i = points.windows(2).position(|w| q < w[1].0).unwrap_or(2);
        let ((q0, v0), (q1, v1)) = (points[i], points[i + 1]);
        let (v0, v1) = (u64::from(v0), u64::from(v1));
        v0 + (v1 - v0) * (q - q0) / (q1 - q0)
    }
}

const PPM: u64 = 1_000_000;

// The profiles; docs/decisions.md ("Radio network") gives the sources.
const NONE: RadioProfile = RadioProfile {
    name: "none",
    round_trip: Spread::ZERO,
    registration: Spread::ZERO,
};
const LTE: RadioProfile = RadioProfile {
    name: "lte",
    round_trip: Spread::new(30, 50, 90, 150),
    registration: Spread::new(2_000, 3_000, 5_000, 8_000),
};
const CAT_M1: RadioProfile = RadioProfile {
    name: "catm1",
    round_trip: Spread::new(100, 150, 250, 300),
    registration: Spread::new(3_000, 6_000, 12_000, 20_000),
};
const NB_IOT: RadioProfile = RadioProfile {
    name: "nbiot",
    round_trip: Spread::new(1_000, 2_000, 5_000, 10_000),
    registration: Spread::new(5_000, 10_000, 25_000, 40_000),
};

/// A seeded stream of pseudo-random numbers (SplitMix64, Steele, Lea and
/// Flood, OOPSLA 2014): tiny, fast, the same on every platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// Stream number `stream` of the streams `seed` gives.
    pub fn new(seed: u64, stream: u64) -> Jitter {
        let mut mix = Jitter {
            state: seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03),
        };
        Jitter {
            state: mix.next_u64(),
        }
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A URC that reports the end of an exchange the module starts itself, so it
/// comes when that exchange would be over on a real network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exchange {
    /// When the packet just sent has left over the radio (a QoS 0 PUBLISH:
    /// nothing answers it).
    Sent,
    /// When the packet just sent has been acknowledged by the peer's TCP (the
    /// FIN of `AT+QMTCLOSE`): a round trip.
    Acknowledged,
}

/// What the module has for the network, in the order it was produced.
#[derive(Clone, Debug)]
pub(crate) enum Outbound {
    /// Work for the driver.
    Action(NetAction),
    /// A URC written when `exchange` on `link` is over.
    Urc {
        link: LinkId,
        exchange: Exchange,
        text: Vec<u8>,
    },
}

/// What the shaper releases to the module.
#[derive(Clone, Debug)]
pub(crate) enum Due {
    Event(NetEvent),
    Urc(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Held<T> {
    at: Instant,
    item: T,
}

/// Everything in flight for one client index.
#[derive(Clone, Debug)]
struct Lane {
    client: u8,
    up: VecDeque<Held<NetAction>>,
    down: VecDeque<Held<Due>>,
    /// Deadlines of the last items queued each way (order is kept behind them).
    up_last: Instant,
    down_last: Instant,
    up_jitter: Jitter,
    down_jitter: Jitter,
    /// The link the module last asked for, and whether it closed it since.
    link: Option<LinkId>,
    closed: bool,
    /// The driver has been given the link's `Connect`.
    connect_released: bool,
    /// Round trips the link's set-up still owes: DNS, TLS.
    dns_rtts: u8,
    tls_rtts: u8,
    /// Bytes of `Received` events held.
    held_bytes: usize,
    paused_by_module: bool,
    paused_by_radio: bool,
}

impl Lane {
    fn new(client: u8, seed: u64) -> Lane {
        let stream = 1 + 2 * u64::from(client);
        Lane {
            client,
            up: VecDeque::new(),
            down: VecDeque::new(),
            up_last: Instant::ZERO,
            down_last: Instant::ZERO,
            up_jitter: Jitter::new(seed, stream),
            down_jitter: Jitter::new(seed, stream + 1),
            link: None,
            closed: false,
            connect_released: false,
            dns_rtts: 0,
            tls_rtts: 0,
            held_bytes: 0,
            paused_by_module: false,
            paused_by_radio: false,
        }
    }

    fn is_current(&self, link: LinkId) -> bool {
        self.link == Some(link) && !self.closed
    }

    fn push_up(&mut self, at: Instant, item: NetAction) {
        let at = at.max(self.up_last);
        self.up_last = at;
        self.up.push_back(Held { at, item });
    }

    fn push_down(&mut self, at: Instant, item: Due) {
        let at = at.max(self.down_last);
        self.down_last = at;
        self.down.push_back(Held { at, item });
    }

    /// Forgets what is held for `link`'s events; the module no longer listens.
    fn drop_events(&mut self) {
        self.down.retain(|h| matches!(h.item, Due::Urc(_)));
        self.held_bytes = 0;
        self.paused_by_radio = false;
        self.paused_by_module = false;
    }

    fn paused(&self) -> bool {
        self.paused_by_module || self.paused_by_radio
    }
}

/// The shaper: holds the module's network traffic for the radio's delays.
#[derive(Clone, Debug)]
pub(crate) struct Radio {
    profile: &'static RadioProfile,
    seed: u64,
    lanes: Vec<Lane>,
    registration: Jitter,
    /// Pause/resume requests for the driver, due at once.
    ready: VecDeque<NetAction>,
}

impl Radio {
    /// A shaper for `network`, or `None` when the network adds no delay.
    pub(crate) fn new(network: Network, seed: u64, instance: u32) -> Option<Box<Radio>> {
        if network == Network::None {
            return None;
        }
        // Modules of one fleet given the same seed still get their own delays.
        let seed = seed ^ u64::from(instance).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Some(Box::new(Radio {
            profile: network.profile(),
            seed,
            lanes: Vec::new(),
            registration: Jitter::new(seed, 0),
            ready: VecDeque::new(),
        }))
    }

    /// How long the next registration takes.
    pub(crate) fn registration_delay(&mut self) -> Duration {
        self.profile.registration.draw(&mut self.registration)
    }

    /// The lane of `client`, made on first use.
    fn lane_index(&mut self, client: u8) -> usize {
        match self.lanes.iter().position(|l| l.client == client) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane::new(client, self.seed));
                self.lanes.len() - 1
            }
        }
    }

    /// Half a round trip: one packet's way across the radio.
    fn one_way(&self, jitter: &mut Jitter) -> Duration {
        self.profile.round_trip.draw(jitter) / 2
    }

    /// Takes what the module produced at `now`, in order.
    pub(crate) fn send(&mut self, now: Instant, out: Outbound) {
        match out {
            Outbound::Action(action) => self.uplink(now, action),
            Outbound::Urc {
                link,
                exchange,
                text,
            } => {
                let i = self.lane_index(link.client());
                let mut jitter = self.lanes[i].down_jitter.clone();
                let sent = self.lanes[i].up_last.max(now);
                let at = match exchange {
                    Exchange::Sent => sent,
                    Exchange::Acknowledged => sent + self.one_way(&mut jitter),
                };
                let lane = &mut self.lanes[i];
                lane.down_jitter = jitter;
                lane.push_down(at, Due::Urc(text));
            }
        }
    }

    fn uplink(&mut self, now: Instant, action: NetAction) {
        let link = action_link(&action);
        let i = self.lane_index(link.client());
        let mut jitter = self.lanes[i].up_jitter.clone();
        let at = now + self.one_way(&mut jitter);
        let lane = &mut self.lanes[i];
        match &action {
            NetAction::Connect { host, tls, .. } => {
                lane.dns_rtts = u8::from(host.parse::<std::net::IpAddr>().is_err());
                lane.tls_rtts = if tls.is_some() { 2 } else { 0 };
                lane.link = Some(link);
                lane.closed = false;
                lane.connect_released = false;
                lane.drop_events();
            }
            NetAction::Close { .. } if lane.link == Some(link) => {
                lane.closed = true;
                lane.drop_events();
                if !lane.connect_released {
                    // The driver never heard of the link: forget it quietly.
                    lane.up.retain(|h| action_link(&h.item) != link);
                    return;
                }
            }
            NetAction::PauseReading { .. } | NetAction::ResumeReading { .. } => {
                // Local to the module: at once, and only when the state the
                // driver sees changes (the radio may be pausing the link too).
                if lane.is_current(link) {
                    let was = lane.paused();
                    lane.paused_by_module = matches!(action, NetAction::PauseReading { .. });
                    if lane.paused() != was {
                        self.ready.push_back(action);
                    }
                }
                return;
            }
            // A send, and anything else, crosses the radio.
            _ => {}
        }
        lane.up_jitter = jitter;
        lane.push_up(at, action);
    }

    /// An event from the driver at `now`: held for its time on the radio.
    pub(crate) fn receive(&mut self, now: Instant, event: NetEvent) {
        let link = event_link(&event);
        let i = self.lane_index(link.client());
        if !self.lanes[i].is_current(link) {
            // The module closed this link: it would ignore the event anyway.
            return;
        }
        let mut jitter = self.lanes[i].down_jitter.clone();
        let mut at = now;
        if crosses_radio(&event) {
            at += self.one_way(&mut jitter);
        }
        if let NetEvent::Connected { .. } | NetEvent::ConnectFailed { .. } = &event {
            let lane = &mut self.lanes[i];
            let dns_failed = matches!(
                &event,
                NetEvent::ConnectFailed {
                    error: ConnectError::Dns,
                    ..
                }
            );
            let owed = lane.dns_rtts + if dns_failed { 0 } else { lane.tls_rtts };
            (lane.dns_rtts, lane.tls_rtts) = (0, 0);
            for _ in 0..owed {
                at += self.profile.round_trip.draw(&mut jitter);
            }
        }
        let lane = &mut self.lanes[i];
        lane.down_jitter = jitter;
        if let NetEvent::Received { data, .. } = &event {
            lane.held_bytes += data.len();
            if lane.held_bytes >= RECEIVE_WINDOW && !lane.paused_by_radio {
                let was = lane.paused();
                lane.paused_by_radio = true;
                if !was {
                    self.ready.push_back(NetAction::PauseReading { link });
                }
            }
        }
        lane.push_down(at, Due::Event(event));
    }

    /// The next action the driver must carry out by `now`.
    pub(crate) fn poll_action(&mut self, now: Instant) -> Option<NetAction> {
        if let Some(action) = self.ready.pop_front() {
            return Some(action);
        }
        let lane = earliest(&mut self.lanes, |l| l.up.front().map(|h| h.at), now)?;
        let action = lane.up.pop_front()?.item;
        if matches!(action, NetAction::Connect { .. }) {
            lane.connect_released = true;
        }
        Some(action)
    }

    /// The next event or URC due for the module by `now`.
    pub(crate) fn poll_due(&mut self, now: Instant) -> Option<Due> {
        let lane = earliest(&mut self.lanes, |l| l.down.front().map(|h| h.at), now)?;
        let due = lane.down.pop_front()?.item;
        if let Due::Event(NetEvent::Received { link, data }) = &due {
            lane.held_bytes = lane.held_bytes.saturating_sub(data.len());
            if lane.paused_by_radio && lane.held_bytes < RECEIVE_WINDOW / 2 {
                lane.paused_by_radio = false;
                if !lane.paused() {
                    self.ready
                        .push_back(NetAction::ResumeReading { link: *link });
                }
            }
        }
        Some(due)
    }

    /// When something held next becomes due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .flat_map(|l| [l.up.front().map(|h| h.at), l.down.front().map(|h| h.at)])
            .flatten()
            .min()
    }

    /// Power-down or restart: what was on its way to the module, or not yet
    /// transmitted, is lost; closes of links the driver knows still go out.
    pub(crate) fn reset(&mut self) {
        self.ready.clear();
        for lane in &mut self.lanes {
            lane.up
                .retain(|h| matches!(h.item, NetAction::Close { .. }));
            lane.down.clear();
            lane.held_bytes = 0;
            (lane.paused_by_module, lane.paused_by_radio) = (false, false);
        }
    }
}

/// The lane whose head (by `head`) is earliest and due by `now`; ties go to
/// the lane created first.
fn earliest(
    lanes: &mut [Lane],
    head: impl Fn(&Lane) -> Option<Instant>,
    now: Instant,
) -> Option<&mut Lane> {
    let (i, _) = lanes
        .iter()
        .enumerate()
        .filter_map(|(i, l)| head(l).filter(|&at| at <= now).map(|at| (i, at)))
        .min_by_key(|&(i, at)| (at, i))?;
    lanes.get_mut(i)
}

/// Whether an event is something arriving over the radio (delayed), rather
/// than a local report (kept in order, not delayed).
fn crosses_radio(event: &NetEvent) -> bool {
    matches!(
        event,
        NetEvent::Connected { .. }
            | NetEvent::ConnectFailed { .. }
            | NetEvent::Received { .. }
            | NetEvent::Closed { .. }
    )
}

fn action_link(action: &NetAction) -> LinkId {
    match action {
        NetAction::Connect { link, .. }
        | NetAction::Send { link, .. }
        | NetAction::Close { link }
        | NetAction::PauseReading { link }
        | NetAction::ResumeReading { link } => *link,
    }
}

fn event_link(event: &NetEvent) -> LinkId {
    match event {
        NetEvent::Connected { link }
        | NetEvent::ConnectFailed { link, .. }
        | NetEvent::Received { link, .. }
        | NetEvent::Closed { link, .. }
        | NetEvent::SendFailed { link }
        | NetEvent::Written { link, .. } => *link,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_stay_in_bounds_and_meet_their_median() {
        for network in Network::ALL {
            let p = network.profile();
            for spread in [p.round_trip, p.registration] {
                let mut jitter = Jitter::new(7, 1);
                let mut draws: Vec<u64> = (0..10_000)
                    .map(|_| spread.draw(&mut jitter).as_millis() as u64)
                    .collect();
                draws.sort_unstable();
                assert!(draws[0] >= u64::from(spread.min_ms));
                assert!(draws[9_999] <= u64::from(spread.max_ms));
                let median = draws[5_000] as i64;
                let want = i64::from(spread.median_ms);
                assert!(
                    (median - want).abs() <= want / 20 + 1,
                    "{network:?}: {median} vs {want}"
                );
                let p90 = draws[9_000] as i64;
                let want = i64::from(spread.p90_ms);
                assert!(
                    (p90 - want).abs() <= want / 20 + 1,
                    "{network:?}: {p90} vs {want}"
                );
            }
        }
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Jitter::new(1, 2), |j, _| Some(j.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Jitter::new(1, 2), |j, _| Some(j.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Jitter::new(2, 2), |j, _| Some(j.next_u64()))
            .collect();
        let d: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(Jitter::new(1, 3), |j, _| Some(j.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn names_parse_back() {
        for network in Network::ALL {
            assert_eq!(Network::from_name(network.name()), Some(network));
        }
        assert_eq!(Network::from_name("NB-IoT"), Some(Network::NbIot));
        assert_eq!(Network::from_name("lte-m"), Some(Network::CatM1));
        assert_eq!(Network::from_name("5g"), None);
    }
}
