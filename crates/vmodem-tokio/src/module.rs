//! One running module: a tokio task that feeds the core and carries out what
//! it asks for.
//!
//! The task waits on these things at once: the host port (readable while the
//! module wants input, writable while output waits), events from its link
//! tasks, the core's next deadline, and the power key (see
//! [`ModuleOptions::power_on_after`]). After each it drains the core in the
//! documented order: network actions, events (host output is written by the
//! port's own arm, as far as the line takes it). It knows nothing about AT
//! commands or MQTT; that is all in `vmodem-core`.
//!
//! **One output path.** The core's output buffer is the only place module
//! output waits: the task writes straight from
//! [`Modem::host_output`](vmodem_core::Modem::host_output) and tells the core
//! what the port took. A host that does not read therefore holds the output
//! in the core, which pauses its links and, past a bound, stops taking host
//! input; the task then stops reading the port (UART flow control).

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info};
use vmodem_core::{Config, Fault, Instant, LinkId, Modem, ModemEvent, NetAction, NetEvent};

use crate::control::{MqttDirection, SerialDirection, TimelineKind, TimelineSender};
use crate::dial::{Dialer, SourceAddrs};
use crate::fault_log::{fault_record, scenario_record, Record};
use crate::host::HostPort;
use crate::links::Links;
use crate::mqtt_tap::MqttTap;
use crate::trace::{Direction, Trace};
use crate::ufs::UfsDir;

// --scenario (ws-timeline), apart from the imports above so merges stay clean.
use crate::control::FaultPhase;
use vmodem_core::scenario::{Runner, Scenario};

/// How many network events may wait for a busy module before its link
/// tasks wait too. Data is bounded apart from this: each link has at most
/// two reads of 4 KiB handed over and not taken (`links.rs`), so at most
/// 6 × 2 × 4 KiB of received bytes wait here.
const NET_EVENT_QUEUE: usize = 64;

/// How many control requests may wait for a busy module before a controller
/// waits too, so a controller cannot make a module queue without bound.
const CONTROL_QUEUE: usize = 16;

/// How long a stopping module may take to write its last output to the host.
const FINAL_FLUSH: Duration = Duration::from_millis(500);

/// Most host bytes read at once. The module processes each read before it
/// looks at its output again, so this also bounds how far past its output
/// limit one read can take it.
const HOST_READ_CHUNK: usize = 1024;

/// When a module powers up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PowerOn {
    /// When the first host attaches: a client opens the pty (after a moment to
    /// set the line up), or connects to the TCP port; at once on stdio. The
    /// host then sees `RDY` and the boot URCs, which terminal programs would
    /// otherwise flush when they open the device. The default.
    #[default]
    WhenHostAttaches,
    /// As soon as the module is spawned, whether anyone listens or not.
    AtStart,
}

/// Everything about one module besides its serial line.
#[derive(Clone, Debug)]
pub struct ModuleOptions {
    /// What the core imitates and how fast it answers.
    pub config: Config,
    /// When the module powers up.
    pub power_on: PowerOn,
    /// After the module powers itself down (`AT+QPOWD`), press the power key
    /// again after this long. `None` (the default) leaves it off, as hardware
    /// stays off until someone toggles PWRKEY.
    pub power_on_after: Option<Duration>,
    /// Host names resolved to these addresses before the system resolver is
    /// asked (matched without regard to case), like `/etc/hosts` for this
    /// module alone.
    pub hosts: HashMap<String, IpAddr>,
    /// How long resolving and connecting one network link may take (default 30 s).
    pub connect_timeout: Duration,
    /// Write a JSON-lines trace of the serial line here (format in the crate docs).
    pub trace: Option<PathBuf>,
    /// Keep MQTT passwords and the aliauth device secret in the trace
    /// (`--trace-secrets`); by default they are masked (see the trace docs).
    pub trace_secrets: bool,
    /// Keep the module's UFS files (`AT+QFUPL="UFS:…"`) in this directory, so
    /// they survive the process as they survive a power cycle on a real
    /// module: the files found there at start are added to
    /// [`Config::ufs_files`] (replacing any of the same name), and every
    /// upload or delete is mirrored at once (written to a temporary file and
    /// renamed; file names escaped so none leaves the directory). Created on
    /// the first upload. `None` (the default): UFS lives in memory only.
    pub ufs_dir: Option<PathBuf>,
    /// Where this module's network links connect from (issue 13 §4): a pool
    /// shared by a fleet, e.g. [`SourceAddrs::loopback`] past ~28k links to
    /// one broker. Empty (the default): the kernel chooses.
    pub source_addrs: SourceAddrs,
    /// Publish serial chunks (both ways) to this timeline
    /// ([`Registry::timeline_sender`](crate::control::Registry::timeline_sender)).
    /// Publishing never waits; without listeners it costs a counter read.
    pub timeline: Option<TimelineSender>,
    /// Play this scenario (`vmodem run --scenario`): its times count from
    /// the module's first power-up, its `after` lines are matched against
    /// what the module writes to the host, and its faults are started on the
    /// core (which ends them after their duration). Steps and faults go on
    /// the timeline and into the trace (`fault_log.rs`).
    pub scenario: Option<Scenario>,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions {
            config: Config::default(),
            power_on: PowerOn::default(),
            power_on_after: None,
            hosts: HashMap::new(),
            connect_timeout: Duration::from_secs(30),
            trace: None,
            trace_secrets: false,
            ufs_dir: None,
            source_addrs: SourceAddrs::default(),
            timeline: None,
            scenario: None,
        }
    }
}

/// Why a module could not start or stopped on its own.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// The trace file could not be created.
    #[error("cannot create the trace file {}; choose a writable path", path.display())]
    Trace {
        /// The path asked for.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The saved UFS files could not be read.
    #[error("cannot read the saved UFS files in {}; check the directory's permissions", path.display())]
    Ufs {
        /// The directory ([`ModuleOptions::ufs_dir`]).
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The serial line failed (not a host leaving, which is normal).
    #[error("the serial line failed")]
    Host(#[source] io::Error),
    /// The module task panicked: a bug in vmodem; please report it with the log.
    #[error("the module task panicked (a vmodem bug; please report it with the log): {0}")]
    Panicked(String),
}

/// Starts a module on `port`, powered up now or when a host attaches
/// ([`ModuleOptions::power_on`]). Must be called inside a tokio runtime.
///
/// The module runs until [`ModuleHandle::shutdown`], until the handle is
/// dropped, or until its host goes for good (end of stdin).
pub fn spawn_module(
    port: impl Into<HostPort>,
    options: ModuleOptions,
) -> Result<ModuleHandle, ModuleError> {
    let trace = match &options.trace {
        Some(path) => Some(
            Trace::create(path, options.trace_secrets).map_err(|source| ModuleError::Trace {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let mut config = options.config;
    let seed = config.seed;
    let ufs = options.ufs_dir.map(UfsDir::new);
    if let Some(ufs) = &ufs {
        let saved = ufs.load().map_err(|source| ModuleError::Ufs {
            path: ufs.path().to_owned(),
            source,
        })?;
        if !saved.is_empty() {
            info!(dir = %ufs.path().display(), files = saved.len(), "UFS files loaded");
        }
        config.ufs_files.extend(saved);
    }
    let (stop_tx, stop_rx) = oneshot::channel();
    let (control_tx, control_rx) = mpsc::channel(CONTROL_QUEUE);
    let (events_tx, events_rx) = mpsc::channel(NET_EVENT_QUEUE);
    let clock = Clock::start();
    // The clock's epoch is the module's creation: module time 0.
    let created = Instant::ZERO;
    let wait_for_host = options.power_on == PowerOn::WhenHostAttaches;
    let modem = if wait_for_host {
        Modem::new_powered_off(config, created)
    } else {
        Modem::new(config, created)
    };
    let mut links = Links::new(
        Dialer::new(&options.hosts, options.connect_timeout).with_sources(options.source_addrs),
        events_tx,
    );
    links.set_seed(seed);
    // Boxed, so the task's future holds a pointer, not the module twice.
    let task = Box::new(ModuleTask {
        modem,
        port: port.into(),
        links,
        net_events: events_rx,
        control: control_rx,
        timeline: options.timeline,
        trace,
        // Times count from power-up: now, or when a host attaches.
        scenario: options.scenario.map(|s| {
            let mut runner = Box::new(Runner::new(s));
            if !wait_for_host {
                runner.start(created);
            }
            runner
        }),
        clock,
        power_on_after: options.power_on_after,
        power_on_at: None,
        ufs,
        input: [0; HOST_READ_CHUNK],
        traced: 0,
        unflushed: false,
        read_first: false,
        tap: None,
    });
    Ok(ModuleHandle {
        control: ModuleControl { tx: control_tx },
        stop: Some(stop_tx),
        task: Some(tokio::spawn(task.run(wait_for_host, stop_rx))),
    })
}

/// Owns a running module; dropping it stops the module.
#[derive(Debug)]
pub struct ModuleHandle {
    control: ModuleControl,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ModuleError>>>,
}

impl ModuleHandle {
    /// A handle to control the running module (status, faults), for the
    /// control API and fleets; cheap to clone, and it does not keep the
    /// module running.
    pub fn control(&self) -> ModuleControl {
        self.control.clone()
    }

    /// Stops the module and waits until it has: its last output written (as far
    /// as the host takes it within half a second), network links closed, the
    /// pty symlink removed.
    pub async fn shutdown(mut self) -> Result<(), ModuleError> {
        self.stop.take();
        self.finished().await
    }

    /// Waits until the module stops on its own (its host went for good, or its
    /// serial line failed). Cancel safe; returns at once once it has stopped.
    pub async fn finished(&mut self) -> Result<(), ModuleError> {
        let Some(task) = &mut self.task else {
            return Ok(());
        };
        let result = task.await;
        self.task = None;
        result.unwrap_or_else(|e| Err(ModuleError::Panicked(e.to_string())))
    }
}

/// A request run on the module's task against its core, at the module's now.
type ControlRequest = Box<dyn FnOnce(&mut Modem, Instant) + Send>;

/// Controls a running module from other tasks: each request waits in a
/// bounded queue (16 requests) and is answered through its own oneshot.
#[derive(Clone)]
pub struct ModuleControl {
    tx: mpsc::Sender<ControlRequest>,
}

impl std::fmt::Debug for ModuleControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleControl")
            .field("running", &!self.tx.is_closed())
            .finish()
    }
}

/// The module has stopped; it takes no more requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the module has stopped")]
pub struct ModuleGone;

impl ModuleControl {
    /// Runs `f` on the module's task with its core and clock, between two
    /// inputs (so the core sees it as one more input: whatever it emits is
    /// carried out at once), and returns what `f` returned. The typed
    /// requests (status, faults) are built on this.
    pub async fn with_modem<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Modem, Instant) -> R + Send + 'static,
    ) -> Result<R, ModuleGone> {
        let (answer_tx, answer_rx) = oneshot::channel();
        let request: ControlRequest = Box::new(move |modem, now| {
            let _ = answer_tx.send(f(modem, now));
        });
        self.tx.send(request).await.map_err(|_| ModuleGone)?;
        answer_rx.await.map_err(|_| ModuleGone)
    }

    /// Whether the module still runs.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// The module's time: milliseconds since it was created, on tokio's clock
/// (so tests can run it in virtual time with `tokio::time::pause`).
#[derive(Clone, Copy, Debug)]
struct Clock {
    epoch: tokio::time::Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            epoch: tokio::time::Instant::now(),
        }
    }

    /// Rounded *up* to the millisecond: a deadline the core sets from it
    /// (`now + delay`) is then never before the real `arrival + delay`.
    /// Rounded down, an input that came at 0.9 ms past a tick got its
    /// answer up to a millisecond early (a `slow` fault of 300 ms answered
    /// 299.98 ms after the command was written).
    fn now(self) -> Instant {
        let ms = self.epoch.elapsed().as_nanos().div_ceil(1_000_000);
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The tokio instant for a core deadline; `None` if beyond what tokio can hold.
    fn deadline(self, at: Instant) -> Option<tokio::time::Instant> {
        self.epoch
            .checked_add(Duration::from_millis(at.as_millis()))
    }
}

#[derive(Debug)]
struct ModuleTask {
    modem: Modem,
    port: HostPort,
    links: Links,
    net_events: mpsc::Receiver<NetEvent>,
    /// Requests from [`ModuleControl`]s.
    control: mpsc::Receiver<ControlRequest>,
    timeline: Option<TimelineSender>,
    trace: Option<Trace>,
    /// The scenario being played, if any (boxed: most modules have none).
    scenario: Option<Box<Runner>>,
    clock: Clock,
    power_on_after: Option<Duration>,
    /// When to press the power key of a module that powered down.
    power_on_at: Option<tokio::time::Instant>,
    /// Where UFS is mirrored, if anywhere.
    ufs: Option<UfsDir>,
    /// Where a read of host input lands; processed at once.
    input: [u8; HOST_READ_CHUNK],
    /// How many bytes at the front of the output are in the trace already.
    traced: usize,
    /// Output was written since the port was last flushed (stdout keeps a
    /// partial line, such as the `> ` prompt, until flushed).
    unflushed: bool,
    /// Poll the port's read side before its write side this time (they take
    /// turns, so neither a fast host's input nor a flood of output starves the other).
    read_first: bool,
    /// MQTT packets on the links, for the trace and the timeline; made when
    /// first needed (`mqtt_tap.rs`).
    tap: Option<Box<MqttTap>>,
}

/// What the host port did.
enum PortIo {
    /// Host bytes arrived in `ModuleTask::input`; 0 means the host has gone for good.
    Read(usize),
    /// The port took this many bytes of the module's output.
    Wrote(usize),
    /// Written output was flushed.
    Flushed,
}

impl ModuleTask {
    async fn run(
        mut self: Box<Self>,
        wait_for_host: bool,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), ModuleError> {
        if wait_for_host {
            // control: the module answers control requests while it waits for
            // its host (status says power "off"; faults may be set up before
            // the first boot, and their durations run). What they emit is
            // drained once the host is on.
            // `attached` is kept across requests: a pty's open is seen once.
            {
                let ModuleTask {
                    port,
                    modem,
                    control,
                    clock,
                    ..
                } = &mut *self;
                let attached = port.attached();
                tokio::pin!(attached);
                loop {
                    // A fault's duration runs while the module waits, too.
                    let wake = modem.poll_timeout().and_then(|t| clock.deadline(t));
                    tokio::select! {
                        result = &mut attached => {
                            result.map_err(ModuleError::Host)?;
                            break;
                        }
                        Some(request) = control.recv() => request(modem, clock.now()),
                        () = sleep_until(wake) => modem.handle_timeout(clock.now()),
                        _ = &mut stop => return Ok(()),
                    }
                }
            }
            info!("a host attached to the serial line; powering the module up");
            let now = self.clock.now();
            self.modem.power_on(now);
            if let Some(runner) = &mut self.scenario {
                runner.start(now);
            }
        }
        // With power-on at start, the boot chain was emitted when the module was made.
        self.drain();
        let result = loop {
            self.trace_output();
            if self.play_scenario() {
                // Its faults may have written output: trace and match it first.
                continue;
            }
            let wake = [
                self.modem.poll_timeout(),
                self.scenario.as_ref().and_then(|r| r.next_deadline()),
            ]
            .into_iter()
            .flatten()
            .min()
            .and_then(|t| self.clock.deadline(t));
            let want_input = self.modem.wants_host_input();
            let output = self.modem.host_output();
            let (port, input, unflushed) = (&mut self.port, &mut self.input, &mut self.unflushed);
            self.read_first = !self.read_first;
            let read_first = self.read_first;
            tokio::select! {
                io = poll_fn(|cx| poll_port(cx, port, input, want_input, output, unflushed, read_first)) => {
                    match io {
                        Ok(PortIo::Read(0)) => {
                            info!("the host has gone for good; stopping the module");
                            break Ok(());
                        }
                        Ok(PortIo::Read(n)) => {
                            let now = self.clock.now();
                            if let Some(trace) = &mut self.trace {
                                if trace.record(now, Direction::HostToModule, &self.input[..n]).is_err() {
                                    self.trace = None;
                                }
                            }
                            if let Some(timeline) = self.timeline.as_ref().filter(|t| t.is_listened()) {
                                timeline.publish(
                                    now.as_millis(),
                                    TimelineKind::serial(SerialDirection::HostToModule, &self.input[..n]),
                                );
                            }
                            self.modem.handle_host_bytes(now, &self.input[..n]);
                            self.drain();
                        }
                        Ok(PortIo::Wrote(n)) => {
                            let now = self.clock.now();
                            self.took_output(now, n);
                            self.drain();
                        }
                        Ok(PortIo::Flushed) => {}
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                            info!("the host closed its end of the line; stopping the module");
                            break Ok(());
                        }
                        Err(e) => break Err(ModuleError::Host(e)),
                    }
                }
                Some(event) = self.net_events.recv() => {
                    let now = self.clock.now();
                    self.tap_event(now, &event);
                    let received = match &event {
                        NetEvent::Received { link, .. } => Some(*link),
                        _ => None,
                    };
                    self.modem.handle_net_event(now, event);
                    // Actions first (a pause must reach the link before it may read again).
                    self.drain();
                    if let Some(link) = received {
                        self.links.delivered(link);
                    }
                }
                Some(request) = self.control.recv() => {
                    let now = self.clock.now();
                    request(&mut self.modem, now);
                    self.drain();
                }
                () = sleep_until(wake) => {
                    let now = self.clock.now();
                    self.modem.handle_timeout(now);
                    self.drain();
                }
                () = sleep_until(self.power_on_at) => {
                    self.power_on_at = None;
                    info!("pressing the power key");
                    let now = self.clock.now();
                    self.modem.power_on(now);
                    self.drain();
                }
                _ = &mut stop => break Ok(()),
            }
        };
        if tokio::time::timeout(FINAL_FLUSH, self.write_out())
            .await
            .is_err()
        {
            debug!("the host did not take the last output in time");
        }
        result
    }

    /// Puts a fault's start or end, whatever started it, in the trace and on
    /// the timeline (`fault_log.rs`).
    fn log_fault(&mut self, event: &ModemEvent) {
        let (phase, id, fault) = match event {
            ModemEvent::FaultStarted { id, fault } => (FaultPhase::Start, *id, fault),
            ModemEvent::FaultEnded { id, fault } => (FaultPhase::End, *id, fault),
            _ => return,
        };
        // Its start and length as the core has them (a fault with a zero
        // duration has already ended, and is no longer listed).
        let active = self.modem.faults().iter().find(|f| f.id == id);
        let (now, duration) = match (phase, active) {
            (FaultPhase::Start, Some(f)) => (f.started, f.ends.map(|e| e - f.started)),
            _ => (self.clock.now(), None),
        };
        match phase {
            FaultPhase::Start => {
                info!(id = id.0, kind = fault.kind(), params = ?fault.params(), ?duration, "fault started")
            }
            FaultPhase::End => info!(id = id.0, kind = fault.kind(), "fault ended"),
        }
        let (record, kind) = fault_record(now, phase, id, fault, duration);
        log_event(&mut self.trace, self.timeline.as_ref(), now, &record, kind);
    }

    /// Starts the scenario's faults that are due, and logs what the
    /// scenario did; true if a step fired.
    fn play_scenario(&mut self) -> bool {
        let Some(runner) = self.scenario.as_mut() else {
            return false;
        };
        let now = self.clock.now();
        let fired = runner.poll(now, &mut self.modem);
        while let Some(event) = runner.poll_event() {
            info!("scenario: {}", describe(&event));
            let (record, kind) = scenario_record(now, &event);
            log_event(&mut self.trace, self.timeline.as_ref(), now, &record, kind);
        }
        if fired {
            self.drain();
        }
        fired
    }

    /// Traces the output about to be offered to the port, each byte once:
    /// before the host can read it, so a test that saw a byte on the line
    /// finds it in the trace. The scenario sees the same bytes at the same
    /// time, for its `after` lines.
    fn trace_output(&mut self) {
        let output = self.modem.host_output();
        if self.traced >= output.len() {
            return;
        }
        // One `now` for all three, so the trace's times line up exactly.
        let now = self.clock.now();
        if let Some(runner) = &mut self.scenario {
            runner.host_output(now, &output[self.traced..]);
        }
        if let Some(timeline) = self.timeline.as_ref().filter(|t| t.is_listened()) {
            timeline.publish(
                now.as_millis(),
                TimelineKind::serial(SerialDirection::ModuleToHost, &output[self.traced..]),
            );
        }
        if let Some(trace) = &mut self.trace {
            if trace
                .record(now, Direction::ModuleToHost, &output[self.traced..])
                .is_err()
            {
                self.trace = None;
            }
        }
        self.traced = output.len();
    }

    /// The port took the first `n` bytes of the output: tell the core.
    fn took_output(&mut self, now: Instant, n: usize) {
        self.traced = self.traced.saturating_sub(n);
        self.modem.consume_host_output(now, n);
        self.unflushed = true;
    }

    /// Writes whatever output waits (the caller bounds how long this may take).
    async fn write_out(&mut self) {
        loop {
            self.trace_output();
            let output = self.modem.host_output();
            if output.is_empty() {
                break;
            }
            match self.port.write(output).await {
                Ok(n) if n > 0 => self.took_output(self.clock.now(), n),
                _ => return,
            }
        }
        let _ = self.port.flush().await;
    }

    /// Records the MQTT packets of what the core sends (`mqtt_tap.rs`).
    fn tap_action(&mut self, action: &NetAction) {
        match action {
            NetAction::Send { link, data } => {
                let now = self.clock.now();
                self.tap_bytes(now, *link, MqttDirection::ModuleToBroker, data);
            }
            NetAction::Connect { link, .. } | NetAction::Close { link } => {
                if let Some(tap) = &mut self.tap {
                    tap.forget(*link);
                }
            }
            _ => {}
        }
    }

    /// Records the MQTT packets of what a link read (`mqtt_tap.rs`).
    fn tap_event(&mut self, now: Instant, event: &NetEvent) {
        match event {
            NetEvent::Received { link, data } => {
                self.tap_bytes(now, *link, MqttDirection::BrokerToModule, data)
            }
            NetEvent::Closed { link, .. } | NetEvent::ConnectFailed { link, .. } => {
                if let Some(tap) = &mut self.tap {
                    tap.forget(*link);
                }
            }
            _ => {}
        }
    }

    /// Nothing without a trace or a timeline; boundaries only while nobody
    /// listens to the timeline and there is no trace.
    fn tap_bytes(&mut self, now: Instant, link: LinkId, dir: MqttDirection, data: &[u8]) {
        if self.trace.is_none() && self.timeline.is_none() {
            return;
        }
        let listened = self.timeline.as_ref().filter(|t| t.is_listened());
        let decode = self.trace.is_some() || listened.is_some();
        let trace = &mut self.trace;
        let tap = self.tap.get_or_insert_with(Box::default);
        tap.feed(link, dir, data, decode, &mut |packet| {
            if let Some(t) = trace {
                if t.record_packet(now, &packet).is_err() {
                    *trace = None;
                }
            }
            if let Some(timeline) = listened {
                timeline.publish(now.as_millis(), TimelineKind::Mqtt(packet));
            }
        });
    }

    /// Drains the core in the documented order after an input: network
    /// actions, then events (output goes out through the port arm).
    fn drain(&mut self) {
        while let Some(action) = self.modem.poll_net_action() {
            self.tap_action(&action);
            self.links.handle(action);
        }
        while let Some(event) = self.modem.poll_event() {
            // Before the match, so the arms that act on faults stay as they are.
            self.log_fault(&event);
            match event {
                ModemEvent::PoweredDown => match self.power_on_after {
                    Some(delay) => {
                        info!(?delay, "module powered down; will press the power key");
                        // A delay too long for the clock means never.
                        self.power_on_at = tokio::time::Instant::now().checked_add(delay);
                    }
                    None => info!("module powered down; it stays off, as hardware would"),
                },
                ModemEvent::Restarted => info!("module restarted"),
                ModemEvent::BaudRate(baud) => {
                    debug!(baud, "host set a baud rate; a pty or TCP line has none")
                }
                ModemEvent::UfsFileWritten { name } => {
                    // `None`: deleted since; its UfsFileDeleted follows.
                    if let (Some(ufs), Some(bytes)) = (&self.ufs, self.modem.ufs_file(&name)) {
                        ufs.report("save", &name, ufs.write(&name, bytes));
                    }
                }
                ModemEvent::UfsFileDeleted { name } => {
                    if let Some(ufs) = &self.ufs {
                        ufs.report("delete", &name, ufs.delete(&name));
                    }
                }
                ModemEvent::OpenFailed { client, reason } => {
                    info!(
                        client,
                        "link not attempted (+QMTOPEN: {client},-1): {reason}"
                    )
                }
                // Link toxics are the driver's (toxics.rs).
                ModemEvent::FaultStarted {
                    id,
                    fault: Fault::Link(link),
                } => {
                    info!(fault = id.0, toxic = link.toxic.name(), client = ?link.client, direction = link.direction.as_str(), "link fault started");
                    self.links.fault_started(id, &link);
                }
                ModemEvent::FaultEnded {
                    id,
                    fault: Fault::Link(_),
                } => {
                    info!(fault = id.0, "link fault ended");
                    self.links.fault_ended(id);
                }
                other => debug!(?other, "module event this driver does not know"),
            }
        }
    }
}

/// A scenario event for the log.
fn describe(event: &vmodem_core::scenario::ScenarioEvent) -> String {
    use vmodem_core::scenario::ScenarioEvent;
    match event {
        ScenarioEvent::Armed { source, line, due } => {
            format!("{source} armed by {line:?}, due at {} ms", due.as_millis())
        }
        ScenarioEvent::Fired {
            source,
            id,
            fault,
            duration,
            ..
        } => format!(
            "{source} fired: fault #{} {} {:?} for {}",
            id.0,
            fault.kind(),
            fault.params(),
            duration.map_or("until cleared".to_owned(), |d| format!("{d:?}"))
        ),
        ScenarioEvent::Refused {
            source,
            kind,
            error,
        } => format!("{source} refused ({kind}): {error}"),
    }
}

/// Writes a fault or scenario record to the trace (a failing trace stops
/// tracing, not the module) and publishes it on the timeline.
fn log_event(
    trace: &mut Option<Trace>,
    timeline: Option<&TimelineSender>,
    now: Instant,
    record: &Record,
    kind: TimelineKind,
) {
    if let Some(t) = trace {
        if t.record_json(record).is_err() {
            *trace = None;
        }
    }
    if let Some(timeline) = timeline {
        timeline.publish(now.as_millis(), kind);
    }
}

/// One step of the host port: writes output if any waits (or flushes what
/// was written), reads input if the module wants it, the two sides taking
/// turns; ready with the first thing that happened.
fn poll_port(
    cx: &mut Context<'_>,
    port: &mut HostPort,
    input: &mut [u8],
    want_input: bool,
    output: &[u8],
    unflushed: &mut bool,
    read_first: bool,
) -> Poll<io::Result<PortIo>> {
    let mut read = |cx: &mut Context<'_>, port: &mut HostPort| {
        if !want_input {
            return Poll::Pending;
        }
        let mut buf = ReadBuf::new(input);
        Pin::new(port)
            .poll_read(cx, &mut buf)
            .map_ok(|()| PortIo::Read(buf.filled().len()))
    };
    if read_first {
        if let Poll::Ready(r) = read(cx, port) {
            return Poll::Ready(r);
        }
    }
    if !output.is_empty() {
        if let Poll::Ready(r) = Pin::new(&mut *port).poll_write(cx, output) {
            return Poll::Ready(match r {
                Ok(0) => Err(io::ErrorKind::WriteZero.into()),
                r => r.map(PortIo::Wrote),
            });
        }
    } else if *unflushed {
        if let Poll::Ready(r) = Pin::new(&mut *port).poll_flush(cx) {
            *unflushed = false;
            return Poll::Ready(r.map(|()| PortIo::Flushed));
        }
    }
    if !read_first {
        return read(cx, port);
    }
    Poll::Pending
}

/// Sleeps until `deadline`, or forever if there is none.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thousands of modules per process (issue 13): the task's future holds
    /// a pointer to the module, not the module (it held `ModuleTask` twice,
    /// 15.7 KB, before the task was boxed).
    #[tokio::test]
    async fn the_module_task_future_is_small() {
        let port = crate::PtyPort::open(None).unwrap();
        let (events_tx, net_events) = mpsc::channel(1);
        let clock = Clock::start();
        let task = Box::new(ModuleTask {
            modem: Modem::new_powered_off(Config::default(), clock.now()),
            port: port.into(),
            links: Links::new(
                Dialer::new(&HashMap::new(), Duration::from_secs(1)),
                events_tx,
            ),
            net_events,
            control: mpsc::channel(1).1,
            timeline: None,
            trace: None,
            scenario: None,
            clock,
            power_on_after: None,
            power_on_at: None,
            ufs: None,
            input: [0; HOST_READ_CHUNK],
            traced: 0,
            unflushed: false,
            read_first: false,
            tap: None,
        });
        let (_stop_tx, stop_rx) = oneshot::channel();
        let future = task.run(true, stop_rx);
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1024, "the module task's future is {size} bytes");
    }

    /// Issue 10: a control request runs on the module's task and is answered;
    /// the module's boot output reaches the timeline; a stopped module says so.
    #[tokio::test]
    async fn control_requests_are_answered_and_serial_output_reaches_the_timeline() {
        let registry = crate::control::Registry::new();
        let mut reader = registry.subscribe();
        let port = crate::PtyPort::open(None).unwrap();
        let module = spawn_module(
            port,
            ModuleOptions {
                power_on: PowerOn::AtStart,
                timeline: Some(registry.timeline_sender(5)),
                ..ModuleOptions::default()
            },
        )
        .unwrap();
        let control = module.control();
        let on = control.with_modem(|m, _| m.host_output_len()).await;
        assert!(on.is_ok(), "{on:?}");
        let event = tokio::time::timeout(Duration::from_secs(5), reader.next())
            .await
            .expect("no timeline event within 5 s")
            .unwrap();
        assert_eq!(event.module, 5);
        match event.kind {
            TimelineKind::Serial { dir, text, .. } => {
                assert_eq!(dir, SerialDirection::ModuleToHost);
                assert!(text.contains("RDY"), "{text:?}");
            }
            other => panic!("{other:?}"),
        }
        module.shutdown().await.unwrap();
        assert_eq!(
            control.with_modem(|_, _| ()).await,
            Err(ModuleGone),
            "a stopped module answers no request"
        );
        assert!(!control.is_running());
    }

    /// Issue 10 §3: a scenario on a module powered up at start plays on
    /// the module's clock, and its step and the fault's start and end reach
    /// the timeline in order, with the core's times.
    #[tokio::test]
    async fn a_scenario_plays_and_its_steps_and_faults_reach_the_timeline() {
        use vmodem_core::scenario::{FaultSpec, Step, Trigger};

        use crate::control::{FaultPhase, ScenarioPhase};
        let registry = crate::control::Registry::new();
        let mut reader = registry.subscribe();
        let port = crate::PtyPort::open(None).unwrap();
        let scenario = Scenario {
            seed: 0,
            steps: vec![Step {
                trigger: Trigger::At(Duration::from_millis(200)),
                delay: Duration::ZERO,
                fault: FaultSpec {
                    kind: "urc".into(),
                    params: vec![("text".into(), "+CMTI: \"SM\",1".into())],
                },
                duration: Some(Duration::from_millis(300)),
                every: None,
                count: None,
            }],
            random: vec![],
        };
        let module = spawn_module(
            port,
            ModuleOptions {
                power_on: PowerOn::AtStart,
                timeline: Some(registry.timeline_sender(2)),
                scenario: Some(scenario),
                ..ModuleOptions::default()
            },
        )
        .unwrap();
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !got.iter().any(|e: &TimelineKind| {
            matches!(
                e,
                TimelineKind::Fault {
                    phase: FaultPhase::End,
                    ..
                }
            )
        }) {
            let event = tokio::time::timeout_at(deadline, reader.next())
                .await
                .expect("the fault's end within 5 s")
                .unwrap();
            assert_eq!(event.module, 2);
            if !matches!(event.kind, TimelineKind::Serial { .. }) {
                got.push(event.kind);
            } else if let TimelineKind::Serial { text, .. } = &event.kind {
                if text.contains("+CMTI") {
                    assert_eq!(text, "\r\n+CMTI: \"SM\",1\r\n");
                    got.push(event.kind);
                }
            }
        }
        module.shutdown().await.unwrap();
        let fired = match &got[0] {
            TimelineKind::Scenario {
                phase: ScenarioPhase::Fired,
                source,
                due_ms,
                fault_id,
                kind,
                ..
            } => {
                assert_eq!(
                    (source.as_str(), *fault_id, kind.as_deref()),
                    ("step[0]", Some(1), Some("urc"))
                );
                due_ms.unwrap()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(fired, 200, "due 200 ms after power-up (module creation)");
        assert!(
            matches!(&got[1], TimelineKind::Fault { phase: FaultPhase::Start, id: 1, kind, duration_ms: Some(300), params }
                if kind == "urc" && params["text"] == "+CMTI: \"SM\",1"),
            "{got:?}"
        );
        assert!(matches!(&got[2], TimelineKind::Serial { .. }), "{got:?}");
        assert!(
            matches!(
                &got[3],
                TimelineKind::Fault {
                    phase: FaultPhase::End,
                    id: 1,
                    ..
                }
            ),
            "{got:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clock_counts_milliseconds_from_creation_and_maps_deadlines_back() {
        let clock = Clock::start();
        assert_eq!(clock.now(), Instant::ZERO);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now(), Instant::from_millis(1500));
        // A part of a millisecond counts as a whole one, so that a delay
        // counted from `now` never ends before it would from the true time.
        tokio::time::advance(Duration::from_micros(100)).await;
        assert_eq!(clock.now(), Instant::from_millis(1501));
        let at = clock.deadline(Instant::from_secs(3)).unwrap();
        assert_eq!(at - clock.epoch, Duration::from_secs(3));
    }
}
