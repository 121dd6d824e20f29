//! The module as the driver sees it, and the glue between the AT engine, the
//! device and the commands.

use std::collections::VecDeque;

use core::time::Duration;

use vmodem_at::{parse_line, Command, LineEvent, ResultCode};

use crate::commands::{self, DataEnd, DataInput, Done, Fail, Reply};
use crate::config::{Config, Timing};
use crate::device::Device;
use crate::engine::{DataState, Engine, Profile, State, MAX_PENDING_INPUT};
use crate::fs::Files;
use crate::identity::Identity;
use crate::io::{ModemEvent, NetAction, NetEvent};
use crate::mqtt::{Link, Mqtt, OpenResult, Sink};
use crate::output::HostOutput;
use crate::radio::{Due, Outbound, Radio};
use crate::ssl::Ssl;
use crate::time::Instant;
use crate::timers::{Timer, Timers};

/// One virtual module.
///
/// Methods come in four groups, after quinn-proto's `Connection`:
/// getters (`&self`), inputs (`handle_*`, each taking `now`), the power key
/// ([`Modem::power_on`]), and outputs (`poll_*`).
///
/// **Drain order.** After every input, write [`host_output`](Self::host_output)
/// to the serial line as far as it takes bytes, telling the module with
/// [`consume_host_output`](Self::consume_host_output) (itself an input), then
/// call [`poll_net_action`](Self::poll_net_action) until `None`, then
/// [`poll_event`](Self::poll_event) until `None`, and finally read
/// [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout) no later than it says.
/// Deadlines are soft: calling `handle_timeout` early does nothing harmful.
/// `now` must never go backwards (an older `now` is treated as the newest seen).
///
/// **Back-pressure.** Host output is a pull: the module keeps its output
/// until the driver says the host took it, and counts what waits. While much
/// waits, the MQTT clients stop taking messages from their links (the
/// driver is told to pause reading them, so TCP pushes back on the broker),
/// and [`wants_host_input`](Self::wants_host_input) turns false. Nothing the
/// module acknowledged to a broker is ever dropped.
///
/// `Clone` snapshots a module: a fuzz target or a fleet can bring one module
/// to a ready state once and copy it, instead of replaying the boot each time
/// (the copy is independent; it shares nothing with the original).
#[derive(Clone, Debug)]
pub struct Modem {
    pub(crate) config: Config,
    pub(crate) identity: Identity,
    pub(crate) engine: Engine,
    pub(crate) device: Device,
    pub(crate) mqtt: Mqtt,
    /// The `UFS:` and `RAM:` storages.
    pub(crate) files: Files,
    /// SSL contexts 0–5.
    pub(crate) ssl: Ssl,
    pub(crate) timers: Timers,
    /// The latest `now` seen.
    pub(crate) now: Instant,
    /// The `now` of power-up, against which `Config::unix_time_ms` is given.
    pub(crate) epoch: Instant,
    /// Network work and link-timed URCs, in the order the module produced them.
    pub(crate) net: VecDeque<Outbound>,
    /// The radio network's delays; `None` when it adds none.
    pub(crate) radio: Option<Box<Radio>>,
    events: VecDeque<ModemEvent>,
    /// Active faults; empty (no allocation) on a module that has none, so a
    /// fleet of healthy modules pays nothing for them.
    pub(crate) faults: Vec<crate::fault::ActiveFault>,
    /// The last [`FaultId`](crate::FaultId) given.
    pub(crate) fault_seq: u64,
    /// Final `ERROR` (code `None`) and `+CME ERROR: <n>` results written since
    /// the module was created, by code, sorted (status, `/metrics`); empty
    /// (no allocation) until the first.
    pub(crate) errors: Vec<(Option<u16>, u64)>,
}

impl Modem {
    /// A module powered up at `now`; its boot URC chain (`RDY` …) is due at once
    /// or, with [`Timing::Realistic`], over the next seconds.
    pub fn new(config: Config, now: Instant) -> Modem {
        let mut modem = Modem::new_powered_off(config, now);
        modem.power_on(now);
        modem
    }

    /// A module with its power off at `now`: silent until [`power_on`](Self::power_on),
    /// as a module is until its board presses PWRKEY. Drivers use it to boot the
    /// module when a host first opens the serial line, so the host sees `RDY`.
    pub fn new_powered_off(mut config: Config, now: Instant) -> Modem {
        let identity = Identity::derive(
            config.model.profile(),
            config.operator.plmn(),
            config.instance,
        );
        let files = Files::new(
            config.ufs_capacity,
            config.ram_capacity,
            std::mem::take(&mut config.ufs_files),
        );
        let mut device = Device::new(config.model.profile());
        device.powered = false;
        let radio = Radio::new(config.effective_network(), config.seed, config.instance);
        Modem {
            config,
            identity,
            engine: Engine::new(Profile::FACTORY),
            device,
            mqtt: Mqtt::new(),
            files,
            ssl: Ssl::default(),
            timers: Timers::default(),
            now,
            epoch: now,
            net: VecDeque::new(),
            radio,
            events: VecDeque::new(),
            faults: Vec::new(),
            fault_seq: 0,
            errors: Vec::new(),
        }
    }

    /// The configuration the module was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bytes of file `name` in UFS (the name of a
    /// [`ModemEvent::UfsFileWritten`]; a `UFS:` prefix is allowed), if it exists.
    pub fn ufs_file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .ufs
            .get(name.strip_prefix("UFS:").unwrap_or(name))
    }

    /// True unless the module powered itself down (`AT+QPOWD`) or a
    /// `power_loss` fault holds its power off.
    pub fn is_powered(&self) -> bool {
        self.device.powered
    }

    /// Bytes the host wrote on the serial line.
    pub fn handle_host_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let now = self.advance(now);
        self.run_due(now);
        for &b in bytes {
            self.host_byte(now, b);
        }
        self.run_due(now);
    }

    /// Something happened on the network.
    pub fn handle_net_event(&mut self, now: Instant, event: NetEvent) {
        let now = self.advance(now);
        self.run_due(now);
        if self.device.powered {
            match &mut self.radio {
                // Held for its time on the radio; `run_due` delivers it.
                Some(radio) => radio.receive(now, event),
                None => {
                    let (mqtt, mut sink) = self.mqtt_sink();
                    mqtt.on_net_event(now, event, &mut sink);
                }
            }
        }
        self.run_due(now);
    }

    /// Time has passed; run whatever was due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        self.run_due(now);
    }

    /// Presses the power key of a module that is powered down (no effect
    /// otherwise, nor while a `power_loss` fault keeps its power off).
    pub fn power_on(&mut self, now: Instant) {
        let now = self.advance(now);
        if !self.device.powered && !self.power_lost() {
            self.device.powered = true;
            self.boot(now);
        }
        self.run_due(now);
    }

    /// The oldest bytes waiting for the host, as one contiguous slice (not
    /// necessarily all of them: write it, consume what the line took, ask
    /// again); empty when nothing waits, and while a `no_answer` fault hangs
    /// the module (its output waits until the hang ends). Nothing is removed
    /// until [`consume_host_output`](Self::consume_host_output).
    #[must_use]
    pub fn host_output(&self) -> &[u8] {
        if !self.faults.is_empty() && self.hung() {
            return &[];
        }
        self.engine.out.front()
    }

    /// All bytes waiting for the host (what successive
    /// [`host_output`](Self::host_output) slices add up to).
    #[must_use]
    pub fn host_output_len(&self) -> usize {
        self.engine.out.len()
    }

    /// The host's serial line took the first `n` bytes of
    /// [`host_output`](Self::host_output) at `now`. This is an input: room the
    /// host made may let the MQTT clients take messages again and waiting
    /// host input proceed, so drain the module afterwards.
    pub fn consume_host_output(&mut self, now: Instant, n: usize) {
        let now = self.advance(now);
        self.engine.host_output_taken(n);
        self.run_due(now);
    }

    /// Whether the driver should read host input now. False while 32 KiB or
    /// more of output wait for the host: a host that writes without reading
    /// is then held off, as a UART deasserts CTS, instead of growing the
    /// module's memory. Bytes given anyway wait (up to 8 KiB) and are
    /// processed once the host has read. A module hung by a `no_answer`
    /// fault takes (and loses) input whatever waits, so nothing the host
    /// typed during the hang is read after it.
    #[must_use]
    pub fn wants_host_input(&self) -> bool {
        !self.engine.output_full() || (!self.faults.is_empty() && self.hung())
    }

    /// The next piece of network work, if any. With a radio network
    /// ([`Config::network`]) work is held until its time on the radio is over,
    /// and [`poll_timeout`](Self::poll_timeout) says when.
    #[must_use]
    pub fn poll_net_action(&mut self) -> Option<NetAction> {
        match &mut self.radio {
            Some(radio) => {
                while let Some(out) = self.net.pop_front() {
                    radio.send(self.now, out);
                }
                radio.poll_action(self.now)
            }
            None => loop {
                match self.net.pop_front()? {
                    Outbound::Action(action) => return Some(action),
                    // Written at once without a radio (`Sink::urc_after`).
                    Outbound::Urc { text, .. } => self.engine.urc(text),
                }
            },
        }
    }

    /// The next event for the driver, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ModemEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called; `None` if nothing is scheduled.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let radio = self.radio.as_ref().and_then(|r| r.next_deadline());
        [
            self.timers.next(),
            self.mqtt.next_deadline(),
            radio,
            self.next_fault_end(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(crate) fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.now
    }

    pub(crate) fn realistic(&self) -> bool {
        self.config.timing == Timing::Realistic
    }

    pub(crate) fn emit(&mut self, event: ModemEvent) {
        self.events.push_back(event);
    }

    /// Queues or writes a URC.
    pub(crate) fn urc(&mut self, text: impl Into<Vec<u8>>) {
        self.engine.urc(text.into());
    }

    // ---- timers ---------------------------------------------------------

    /// Runs every timer due by `now`, then input that waited for the line,
    /// then lets the MQTT clients take what the host now has room for.
    fn run_due(&mut self, now: Instant) {
        if !self.faults.is_empty() {
            self.end_due_faults(now);
        }
        loop {
            while let Some(timer) = self.timers.pop_due(now) {
                self.on_timer(now, timer);
            }
            if self.mqtt.next_deadline().is_some_and(|d| d <= now) {
                let (mqtt, mut sink) = self.mqtt_sink();
                mqtt.on_timeout(now, &mut sink);
            }
            self.radio_due(now);
            if !self.drain_pending_input(now) {
                break;
            }
        }
        if self.device.powered {
            self.check_links(now);
            self.report_signal_change();
            let (mqtt, mut sink) = self.mqtt_sink();
            mqtt.pump(now, &mut sink);
        }
        self.hand_to_radio(now);
    }

    /// Hands what the module produced at `now` to the radio, which times it.
    fn hand_to_radio(&mut self, now: Instant) {
        if let Some(radio) = &mut self.radio {
            while let Some(out) = self.net.pop_front() {
                radio.send(now, out);
            }
        }
    }

    /// Delivers the network events and link-timed URCs whose time on the radio is over.
    fn radio_due(&mut self, now: Instant) {
        self.hand_to_radio(now);
        while let Some(due) = self.radio.as_mut().and_then(|r| r.poll_due(now)) {
            if !self.device.powered {
                continue;
            }
            match due {
                Due::Event(event) => {
                    let (mqtt, mut sink) = self.mqtt_sink();
                    mqtt.on_net_event(now, event, &mut sink);
                }
                Due::Urc(text) => self.urc(text),
            }
            self.hand_to_radio(now);
        }
    }

    /// How long registering takes from now: drawn from the radio network's
    /// profile, else 2.5 s with realistic timing and none with fast.
    pub(crate) fn registration_delay(&mut self) -> Duration {
        let realistic = self.realistic();
        match &mut self.radio {
            Some(radio) => radio.registration_delay(),
            None if realistic => Duration::from_millis(2_500),
            None => Duration::ZERO,
        }
    }

    pub(crate) fn mqtt_sink(&mut self) -> (&mut Mqtt, Sink<'_>) {
        let Modem {
            mqtt,
            engine,
            net,
            radio,
            ..
        } = self;
        let shaped = radio.is_some();
        (
            mqtt,
            Sink {
                engine,
                net,
                shaped,
            },
        )
    }

    /// A link whose PDP context went down (radio off, detach, `AT+QIDEACT`)
    /// cannot live: `+QMTSTAT: c,7` for an open one, `+QMTOPEN: c,3` for one opening.
    fn check_links(&mut self, _now: Instant) {
        for c in 0..self.mqtt.clients.len() {
            let cid = self.mqtt.clients[c].cfg.pdp_cid;
            if self.device.context(cid).is_some_and(|ctx| ctx.active) {
                continue;
            }
            let (mqtt, mut sink) = self.mqtt_sink();
            // A client never stored has no link to check (and is not stored for it).
            let Some(client) = mqtt.clients.get_stored_mut(c) else {
                continue;
            };
            match &client.link {
                Link::Closed => {}
                Link::Opening { id, .. } => {
                    sink.net(NetAction::Close { link: *id });
                    client.link = Link::Closed;
                    sink.urc(format!("+QMTOPEN: {c},{}", OpenResult::PdpFailed as i8));
                }
                Link::Open { .. } => client.fail(crate::mqtt::stat::LINK_DOWN, &mut sink),
            }
        }
    }

    fn on_timer(&mut self, now: Instant, timer: Timer) {
        match timer {
            Timer::Response => self.release_response(now),
            Timer::DataEntry => self.data_timeout(now),
            Timer::Boot => self.boot_step(now),
            Timer::Registration => self.registration_due(now),
            Timer::PowerDown => self.power_down(),
            Timer::Restart => {
                self.emit(ModemEvent::Restarted);
                self.boot(now);
            }
        }
    }

    // ---- host input -----------------------------------------------------

    fn host_byte(&mut self, now: Instant, b: u8) {
        match self.engine.state {
            State::Off => {}
            // A hung module reads nothing; the bytes are lost (fault/module.rs).
            _ if !self.faults.is_empty() && self.hung() => {}
            State::Busy { .. } => {
                if self.engine.pending_input.len() < MAX_PENDING_INPUT {
                    self.engine.pending_input.push_back(b);
                }
            }
            State::Idle | State::Data(_) if self.host_input_waits() => {
                // Keep order: older bytes first.
                if self.engine.pending_input.len() < MAX_PENDING_INPUT {
                    self.engine.pending_input.push_back(b);
                }
            }
            State::Data(_) => self.data_byte(now, b),
            State::Idle => self.command_byte(now, b),
        }
    }

    /// True when a host byte must wait: older ones wait, or the host has not
    /// taken enough of the output (`HOST_OUTPUT_LIMIT`).
    fn host_input_waits(&self) -> bool {
        !self.engine.pending_input.is_empty() || self.engine.output_full()
    }

    /// Feeds input that waited while a command executed; true if any was fed.
    fn drain_pending_input(&mut self, now: Instant) -> bool {
        let mut fed = false;
        while matches!(self.engine.state, State::Idle | State::Data(_))
            && !self.engine.output_full()
        {
            let Some(b) = self.engine.pending_input.pop_front() else {
                break;
            };
            fed = true;
            match self.engine.state {
                State::Data(_) => self.data_byte(now, b),
                _ => self.command_byte(now, b),
            }
        }
        if self.engine.pending_input.is_empty() && self.engine.pending_input.capacity() > 64 {
            self.engine.pending_input = VecDeque::new();
        }
        fed
    }

    fn command_byte(&mut self, now: Instant, b: u8) {
        if self.engine.swallow > 0 {
            self.engine.swallow -= 1;
            if matches!(b, b'\r' | b'\n' | 0x1a) {
                return;
            }
            self.engine.swallow = 0;
        }
        let p = self.engine.active;
        let event = self.engine.editor.feed(b, p.format.s3, p.s5);
        let echo = match event {
            LineEvent::Pending { echo } => echo,
            _ => true,
        };
        if echo && p.echo {
            self.engine.out.push(b);
        }
        match event {
            LineEvent::Pending { .. } | LineEvent::Ignored => {}
            LineEvent::Overflow => {
                let delay = self.line_latency();
                self.finish(now, HostOutput::new(), Err(Fail::Error), delay)
            }
            LineEvent::Line(line) => self.run_line(now, line),
            LineEvent::Repeat => {
                let line = self.engine.last_line.clone();
                if line.is_empty() {
                    let delay = self.line_latency();
                    self.finish(now, HostOutput::new(), Ok(()), delay);
                } else {
                    self.run_line(now, line);
                }
            }
        }
    }

    fn run_line(&mut self, now: Instant, line: Vec<u8>) {
        let parsed = parse_line(&line);
        self.engine.last_line = line;
        let delay = self.line_latency();
        match parsed {
            // A bare `AT` fails only under an `error` fault for `AT` itself.
            Ok(cmds) if cmds.is_empty() && self.fault_error(None).is_some() => {
                let fail = self.fault_error(None).unwrap_or(Fail::Error);
                self.finish(now, HostOutput::new(), Err(fail), delay)
            }
            Ok(cmds) => self.run_commands(now, cmds.into(), HostOutput::new(), delay),
            Err(_) => self.finish(now, HostOutput::new(), Err(Fail::Error), delay),
        }
    }

    fn line_latency(&self) -> Duration {
        if self.realistic() {
            commands::LINE_LATENCY
        } else {
            Duration::ZERO
        }
    }

    /// Runs commands of one line in order until one fails or prompts.
    fn run_commands(
        &mut self,
        now: Instant,
        mut queue: VecDeque<Command>,
        mut response: HostOutput,
        mut delay: Duration,
    ) {
        self.engine.executing = true;
        let mut result = Ok(());
        let mut glued = false;
        while let Some(cmd) = queue.pop_front() {
            let mut reply = Reply::default();
            // An `error` fault fails a matching command before it runs, so it
            // has no side effects (fault/module.rs).
            let outcome = match self.fault_error(Some(&cmd)) {
                Some(fail) => Err(fail),
                None => commands::execute(self, now, &cmd, &mut reply),
            };
            if self.realistic() {
                delay += commands::latency(&cmd);
            }
            glued = reply.glue_result;
            reply.frame(self.engine.format(), &mut response);
            match outcome {
                Ok(Done::Ok) => {}
                Ok(Done::Prompt(entry)) => {
                    // What the line produced so far, then the prompt, go out now.
                    self.engine.out.append(response);
                    self.engine.out.extend_from_slice(&entry.prompt);
                    let after_s3 = self.engine.editor.ended_by_s3();
                    self.engine.data_entry_started(after_s3);
                    // The line is over: a later prompt on it (after the data)
                    // is not right after its S3.
                    self.engine.editor.clear();
                    self.timers.set(Timer::DataEntry, now + entry.idle_timeout);
                    let empty = entry.end == DataEnd::Fixed(0);
                    self.engine.state = State::Data(Box::new(DataState {
                        entry,
                        buf: Vec::new(),
                        rest: queue,
                    }));
                    self.engine.executing = false;
                    if empty {
                        self.end_data(now, DataInput::Complete(Vec::new()));
                    }
                    return;
                }
                Err(fail) => {
                    result = Err(fail);
                    glued = false;
                    break;
                }
            }
        }
        if glued && result.is_ok() && self.engine.format().verbose {
            // Drop the S3 S4 that would separate the result from the last line.
            response.truncate_text(2);
        }
        self.finish(now, response, result, delay);
    }

    /// Counts one final error result by its code (`None`: plain `ERROR`).
    fn count_error(&mut self, code: Option<u16>) {
        match self.errors.binary_search_by_key(&code, |(c, _)| *c) {
            Ok(i) => self.errors[i].1 += 1,
            Err(i) => self.errors.insert(i, (code, 1)),
        }
    }

    /// Appends the final result code and releases the response, now or after `delay`.
    fn finish(
        &mut self,
        now: Instant,
        mut response: HostOutput,
        result: Result<(), Fail>,
        delay: Duration,
    ) {
        let format = self.engine.format();
        if let Err(fail) = &result {
            self.count_error(match fail {
                Fail::Error => None,
                Fail::Cme(err) => Some(err.code()),
            });
        }
        match result {
            Ok(()) => format.result(response.text(), ResultCode::Ok),
            Err(Fail::Error) => format.result(response.text(), ResultCode::Error),
            Err(Fail::Cme(err)) => format.cme(response.text(), self.engine.active.cmee, err),
        }
        self.engine.executing = false;
        if !self.device.powered {
            return;
        }
        // A `slow` fault holds every answer longer (fault/module.rs).
        let delay = if self.faults.is_empty() {
            delay
        } else {
            delay + self.slow_delay()
        };
        if delay.is_zero() {
            self.engine.out.append(response);
            if matches!(self.engine.state, State::Data(_) | State::Busy { .. }) {
                self.engine.state = State::Idle;
            }
            self.engine.flush_urcs();
        } else {
            self.engine.state = State::Busy { response };
            self.timers.set(Timer::Response, now + delay);
        }
    }

    fn release_response(&mut self, _now: Instant) {
        if let State::Busy { response } = std::mem::replace(&mut self.engine.state, State::Idle) {
            self.engine.out.append(response);
            self.engine.flush_urcs();
        }
    }

    // ---- data entry -----------------------------------------------------

    fn data_byte(&mut self, now: Instant, b: u8) {
        if self.engine.lf_ends_line(b) {
            // The LF of the command line's CR LF (Engine::data_entry_started).
            return;
        }
        let State::Data(data) = &mut self.engine.state else {
            return;
        };
        let echo = data.entry.echo && self.engine.active.echo;
        let input = match data.entry.end {
            DataEnd::Fixed(n) => {
                data.buf.push(b);
                if echo {
                    self.engine.out.push(b);
                }
                (data.buf.len() >= n).then(|| DataInput::Complete(std::mem::take(&mut data.buf)))
            }
            DataEnd::CtrlZ { max } => match b {
                0x1a => Some(DataInput::Complete(std::mem::take(&mut data.buf))),
                0x1b => Some(DataInput::Cancelled),
                _ => {
                    if data.buf.len() < max {
                        data.buf.push(b);
                    }
                    if echo {
                        self.engine.out.push(b);
                    }
                    None
                }
            },
        };
        match input {
            Some(input) => self.end_data(now, input),
            None => self.timers.set(
                Timer::DataEntry,
                now + data_idle_timeout(&self.engine.state),
            ),
        }
    }

    fn data_timeout(&mut self, now: Instant) {
        if matches!(self.engine.state, State::Data(_)) {
            self.end_data(now, DataInput::TimedOut);
        }
    }

    fn end_data(&mut self, now: Instant, input: DataInput) {
        let State::Data(data) = std::mem::replace(&mut self.engine.state, State::Idle) else {
            return;
        };
        self.timers.cancel(Timer::DataEntry);
        if matches!(data.entry.end, DataEnd::Fixed(_)) && matches!(input, DataInput::Complete(_)) {
            // module-behaviour.md: hosts often add CR LF or Ctrl-Z CR after a
            // fixed-length payload; swallow up to two such bytes.
            self.engine.swallow = 2;
        }
        let DataState { entry, rest, .. } = *data;
        self.engine.executing = true;
        let mut reply = Reply::default();
        let outcome = commands::complete_data(self, now, entry.target, input, &mut reply);
        let mut response = HostOutput::new();
        reply.frame(self.engine.format(), &mut response);
        match outcome {
            Ok(Done::Ok) => self.run_commands(now, rest, response, Duration::ZERO),
            Ok(Done::Prompt(_)) => {
                // A data entry never chains into another prompt.
                self.finish(now, response, Err(Fail::Error), Duration::ZERO)
            }
            Err(fail) => self.finish(now, response, Err(fail), Duration::ZERO),
        }
    }

    // ---- power ----------------------------------------------------------

    /// Starts the power-up sequence: settings from the stored profile, the
    /// device fresh, the boot URC chain scheduled.
    pub(crate) fn boot(&mut self, now: Instant) {
        self.engine.reset_line();
        self.engine.active = self.engine.stored;
        let fresh = Device::new(self.config.model.profile());
        let stored_device = std::mem::replace(&mut self.device, fresh);
        // What survives a restart: the clock and the non-volatile settings.
        self.device.clock_offset_ms = stored_device.clock_offset_ms;
        // The world outside (device faults) does not change with a reboot.
        self.device.env = stored_device.env;
        self.device.clock_zone = stored_device.clock_zone;
        self.device.urcport = stored_device.urcport;
        self.device.baud = stored_device.baud;
        self.device.qcfg = stored_device.qcfg;
        self.device.ctzu = stored_device.ctzu;
        self.device.psm = stored_device.psm;
        // AT+QINDCFG: what <savetonvram>=1 stored.
        self.device.qind = stored_device.qind.rebooted();
        self.device.contexts = stored_device.contexts;
        for ctx in self.device.contexts.stored_mut() {
            ctx.active = false;
        }
        // RAM: files and the SSL contexts do not survive a boot; UFS does.
        self.files.ram.clear();
        self.ssl = Ssl::default();
        self.timers.clear();
        if let Some(radio) = &mut self.radio {
            radio.reset();
        }
        let (mqtt, mut sink) = self.mqtt_sink();
        mqtt.reset(&mut sink);
        let first = self.config.model.profile().boot[0].after_ms;
        self.timers
            .set(Timer::Boot, now + boot_delay(self.realistic(), first));
    }

    /// Writes the next URC of the model's power-up chain (`RDY`, `+CFUN: 1`,
    /// … as [`ModelProfile::boot`](crate::ModelProfile::boot) lists them).
    fn boot_step(&mut self, now: Instant) {
        let chain = self.config.model.profile().boot;
        let step = usize::from(self.device.boot_step);
        let Some(urc) = chain.get(step) else {
            return;
        };
        if step == 0 {
            // The UART is live from RDY on.
            self.engine.state = State::Idle;
        }
        if urc.text == "+CPIN: READY" {
            self.device.sim_ready = true;
            self.schedule_registration(now);
        }
        self.urc(urc.text);
        self.device.boot_step += 1;
        if let Some(next) = chain.get(step + 1) {
            self.timers.set(
                Timer::Boot,
                now + boot_delay(self.realistic(), next.after_ms),
            );
        }
    }

    fn power_down(&mut self) {
        if let Some(radio) = &mut self.radio {
            radio.reset();
        }
        let (mqtt, mut sink) = self.mqtt_sink();
        mqtt.reset(&mut sink);
        self.urc(&b"POWERED DOWN"[..]);
        self.engine.reset_line();
        self.device.powered = false;
        self.timers.clear();
        self.emit(ModemEvent::PoweredDown);
    }

    /// Unix milliseconds at `now` on the network's clock (what NITZ sends),
    /// which `AT+CCLK=` does not move.
    pub(crate) fn network_unix_ms(&self, now: Instant) -> i64 {
        let since = now.saturating_duration_since(self.epoch).as_millis() as i64;
        self.config.unix_time_ms as i64 + since
    }

    /// Wall-clock Unix milliseconds at `now`, as the module's clock shows it.
    pub(crate) fn unix_ms(&self, now: Instant) -> i64 {
        let since = now.saturating_duration_since(self.epoch).as_millis() as i64;
        self.config.unix_time_ms as i64
            + since
            + self.device.clock_offset_ms
            + self.device.env.clock_offset_s.saturating_mul(1000)
    }
}

fn data_idle_timeout(state: &State) -> Duration {
    match state {
        State::Data(d) => d.entry.idle_timeout,
        _ => Duration::ZERO,
    }
}

/// Delay before a boot chain URC that comes `after_ms` after the previous one.
///
/// Fast timing writes the whole chain at power-up. Realistic timing spaces it
/// as hardware does (module-behaviour.md: ≈0.2–2 s between URCs).
fn boot_delay(realistic: bool, after_ms: u64) -> Duration {
    if realistic {
        Duration::from_millis(after_ms)
    } else {
        Duration::ZERO
    }
}
