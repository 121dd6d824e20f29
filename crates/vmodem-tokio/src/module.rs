//! One running module: a tokio task that feeds the core and carries out what
//! it asks for.
//!
//! The task waits on four things at once: bytes from the host port, events
//! from its link tasks, the core's next deadline, and the power key (see
//! [`ModuleOptions::power_on_after`]). After each it drains the core in the
//! documented order: host output, network actions, events. It knows nothing
//! about AT commands or MQTT; that is all in `vmodem-core`.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info};
use vmodem_core::{Config, Instant, Modem, ModemEvent, NetEvent};

use crate::dial::Dialer;
use crate::host::HostPort;
use crate::links::Links;
use crate::trace::{Direction, Trace};
use crate::ufs::UfsDir;

/// How many network events may wait for a busy module before its links pause.
const NET_EVENT_QUEUE: usize = 64;

/// How long a stopping module may take to write its last output to the host.
const FINAL_FLUSH: Duration = Duration::from_millis(500);

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
    /// Keep the module's UFS files (`AT+QFUPL="UFS:…"`) in this directory, so
    /// they survive the process as they survive a power cycle on a real
    /// module: the files found there at start are added to
    /// [`Config::ufs_files`] (replacing any of the same name), and every
    /// upload or delete is mirrored at once (written to a temporary file and
    /// renamed; file names escaped so none leaves the directory). Created on
    /// the first upload. `None` (the default): UFS lives in memory only.
    pub ufs_dir: Option<PathBuf>,
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
            ufs_dir: None,
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
        Some(path) => Some(Trace::create(path).map_err(|source| ModuleError::Trace {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let mut config = options.config;
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
    let (events_tx, events_rx) = mpsc::channel(NET_EVENT_QUEUE);
    let clock = Clock::start();
    let created = clock.now();
    let wait_for_host = options.power_on == PowerOn::WhenHostAttaches;
    let modem = if wait_for_host {
        Modem::new_powered_off(config, created)
    } else {
        Modem::new(config, created)
    };
    let task = ModuleTask {
        modem,
        port: port.into(),
        links: Links::new(
            Dialer::new(&options.hosts, options.connect_timeout),
            events_tx,
        ),
        net_events: events_rx,
        trace,
        clock,
        power_on_after: options.power_on_after,
        power_on_at: None,
        ufs,
    };
    Ok(ModuleHandle {
        stop: Some(stop_tx),
        task: Some(tokio::spawn(task.run(wait_for_host, stop_rx))),
    })
}

/// Owns a running module; dropping it stops the module.
#[derive(Debug)]
pub struct ModuleHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ModuleError>>>,
}

impl ModuleHandle {
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

    fn now(self) -> Instant {
        let ms = self.epoch.elapsed().as_millis();
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
    trace: Option<Trace>,
    clock: Clock,
    power_on_after: Option<Duration>,
    /// When to press the power key of a module that powered down.
    power_on_at: Option<tokio::time::Instant>,
    /// Where UFS is mirrored, if anywhere.
    ufs: Option<UfsDir>,
}

impl ModuleTask {
    async fn run(
        mut self,
        wait_for_host: bool,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), ModuleError> {
        if wait_for_host {
            tokio::select! {
                attached = self.port.attached() => {
                    attached.map_err(ModuleError::Host)?;
                    info!("a host attached to the serial line; powering the module up");
                    self.modem.power_on(self.clock.now());
                }
                _ = &mut stop => return Ok(()),
            }
        }
        // With power-on at start, the boot chain was emitted when the module was made.
        self.drain(self.clock.now());
        let result = loop {
            let wake = self
                .modem
                .poll_timeout()
                .and_then(|t| self.clock.deadline(t));
            tokio::select! {
                read = self.port.recv() => match read {
                    Ok(Some(bytes)) => {
                        let now = self.clock.now();
                        self.record(now, Direction::HostToModule, &bytes);
                        self.modem.handle_host_bytes(now, &bytes);
                        self.drain(now);
                    }
                    Ok(None) => {
                        info!("the host has gone for good; stopping the module");
                        break Ok(());
                    }
                    Err(e) => break Err(ModuleError::Host(e)),
                },
                Some(event) = self.net_events.recv() => {
                    let now = self.clock.now();
                    self.modem.handle_net_event(now, event);
                    self.drain(now);
                }
                () = sleep_until(wake) => {
                    let now = self.clock.now();
                    self.modem.handle_timeout(now);
                    self.drain(now);
                }
                () = sleep_until(self.power_on_at) => {
                    self.power_on_at = None;
                    info!("pressing the power key");
                    let now = self.clock.now();
                    self.modem.power_on(now);
                    self.drain(now);
                }
                _ = &mut stop => break Ok(()),
            }
        };
        if tokio::time::timeout(FINAL_FLUSH, self.port.flush())
            .await
            .is_err()
        {
            debug!("the host did not take the last output in time");
        }
        result
    }

    /// Drains the core in the documented order after an input at `now`.
    fn drain(&mut self, now: Instant) {
        loop {
            let bytes = self.modem.host_output().to_vec();
            if bytes.is_empty() {
                break;
            }
            self.record(now, Direction::ModuleToHost, &bytes);
            self.port.send(&bytes);
            self.modem.consume_host_output(now, bytes.len());
        }
        while let Some(action) = self.modem.poll_net_action() {
            self.links.handle(action);
        }
        while let Some(event) = self.modem.poll_event() {
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
                other => debug!(?other, "module event this driver does not know"),
            }
        }
    }

    fn record(&mut self, now: Instant, dir: Direction, bytes: &[u8]) {
        if let Some(trace) = &mut self.trace {
            if trace.record(now, dir, bytes).is_err() {
                self.trace = None;
            }
        }
    }
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

    #[tokio::test(start_paused = true)]
    async fn clock_counts_milliseconds_from_creation_and_maps_deadlines_back() {
        let clock = Clock::start();
        assert_eq!(clock.now(), Instant::ZERO);
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(clock.now(), Instant::from_millis(1500));
        let at = clock.deadline(Instant::from_secs(3)).unwrap();
        assert_eq!(at - clock.epoch, Duration::from_secs(3));
    }
}
