//! A virtual module in the test's own runtime, on a real pseudo-terminal,
//! driven through [`vmodem_client::Client`] like real firmware drives an EC25.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vmodem_client::{Client, OpenResult};
use vmodem_core::{Config, Fault, FaultId, Model, Network, Timing};
use vmodem_tokio::{spawn_module, ModuleHandle, ModuleOptions, PtyPort};

use crate::pty::PtyStream;
use crate::scratch::ScratchDir;
use crate::urcs::Urcs;

/// Drops `client` (every clone must already be gone) and waits until its
/// driver task has ended and closed its transport: the end of its URC
/// stream says so.
pub async fn close_client(client: Client) {
    let mut urcs = client.subscribe_urcs();
    drop(client);
    let ended = tokio::time::timeout(crate::PATIENCE, async {
        while !matches!(urcs.recv().await, Err(vmodem_client::UrcError::Closed)) {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the client did not stop within {:?} after its last handle was dropped \
         (is a clone still alive?)",
        crate::PATIENCE
    );
}

/// Waits until the module has finished booting (the last URC of its model's
/// chain: `+QIND: PB DONE` on EC2x, `+QIND: SMS DONE` on BG9x), as firmware
/// does before its first command. Reads the client's own stream, which holds
/// every URC since the client started, so nothing can slip by; the boot URCs
/// are consumed, and views made later do not see them.
async fn wait_for_boot(client: &Client, model: Model) {
    let last = model.profile().boot.last().map_or("RDY", |b| b.text);
    let booted = client
        .wait_for_urc(
            crate::PATIENCE,
            |u| matches!(u, vmodem_client::Urc::Other(text) if text == last),
        )
        .await;
    if let Err(e) = booted {
        panic!("the module did not finish booting ({last}): {e}");
    }
}

/// How a [`TestModule`] is set up; start it with [`TestModuleBuilder::start`].
#[derive(Debug, Clone)]
pub struct TestModuleBuilder {
    model: Model,
    timing: Timing,
    network: Option<Network>,
    seed: u64,
    instance: u32,
    hosts: HashMap<String, IpAddr>,
    connect_timeout: Duration,
    timeout_scale: f64,
    attach_client: bool,
    timeline: Option<vmodem_tokio::control::TimelineSender>,
}

impl Default for TestModuleBuilder {
    fn default() -> Self {
        TestModuleBuilder {
            model: Model::Ec25,
            timing: Timing::Fast,
            network: None,
            seed: 0,
            instance: 0,
            hosts: HashMap::new(),
            connect_timeout: Duration::from_secs(10),
            // The note's 300 ms for most commands is tight on a loaded
            // 2-core CI machine running several modules and brokers.
            timeout_scale: 10.0,
            attach_client: true,
            timeline: None,
        }
    }
}

impl TestModuleBuilder {
    /// Publish the module's timeline events (serial, MQTT packets) here.
    #[must_use]
    pub fn timeline(mut self, sender: vmodem_tokio::control::TimelineSender) -> Self {
        self.timeline = Some(sender);
        self
    }

    /// The model to imitate (default EC25).
    #[must_use]
    pub fn model(mut self, model: Model) -> Self {
        self.model = model;
        self
    }

    /// Fast (default) or realistic answers.
    #[must_use]
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The radio network behind the module (default: the timing's, as
    /// [`Config::network`] says).
    #[must_use]
    pub fn network(mut self, network: Network) -> Self {
        self.network = Some(network);
        self
    }

    /// The seed of the module's random choices, such as the network's delays (default 0).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Which module of a fleet this is (identity strings differ).
    #[must_use]
    pub fn instance(mut self, instance: u32) -> Self {
        self.instance = instance;
        self
    }

    /// Resolve `name` to `ip` for this module alone (`--hosts NAME=IP`).
    #[must_use]
    pub fn host(mut self, name: &str, ip: IpAddr) -> Self {
        self.hosts.insert(name.to_owned(), ip);
        self
    }

    /// How long the driver may take to resolve and connect a link (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Multiplies the client's documented command timeouts (default 10).
    #[must_use]
    pub fn timeout_scale(mut self, scale: f64) -> Self {
        self.timeout_scale = scale;
        self
    }

    /// Opens no client at start: the test reads the pty itself
    /// ([`TestModule::open_raw`]) or opens clients later
    /// ([`TestModule::open_client`]). Otherwise `start` opens one and waits
    /// until it has read the boot chain up to `+QIND: PB DONE`.
    #[must_use]
    pub fn without_client(mut self) -> Self {
        self.attach_client = false;
        self
    }

    /// Creates the pty, spawns the module on it (powered up now) in the
    /// current tokio runtime, and opens a client on the slave unless
    /// [`without_client`](Self::without_client) was asked for.
    pub async fn start(self) -> TestModule {
        let dir = ScratchDir::new("module");
        let trace = dir.join("serial.jsonl");
        let port = PtyPort::open(None).expect("create a pseudo-terminal");
        let path = port.path().to_owned();
        let options = ModuleOptions {
            config: Config {
                model: self.model,
                timing: self.timing,
                network: self.network,
                seed: self.seed,
                instance: self.instance,
                ..Config::default()
            },
            hosts: self.hosts,
            connect_timeout: self.connect_timeout,
            trace: Some(trace.clone()),
            timeline: self.timeline,
            ..ModuleOptions::default()
        };
        let handle = spawn_module(port, options).expect("spawn the module");
        let mut module = TestModule {
            handle: Some(handle),
            path,
            trace,
            timeout_scale: self.timeout_scale,
            client: None,
            _dir: dir,
        };
        if self.attach_client {
            let client = module.open_client();
            wait_for_boot(&client, self.model).await;
            module.client = Some(client);
        }
        module
    }
}

/// A module on a real pty, with a [`Client`] on the slave side.
///
/// Everything the module writes is also recorded in a trace, so a test can
/// check the exact bytes on the serial line ([`TestModule::serial_output`])
/// while it drives the module through the typed client.
#[derive(Debug)]
pub struct TestModule {
    handle: Option<ModuleHandle>,
    path: PathBuf,
    trace: PathBuf,
    timeout_scale: f64,
    client: Option<Client>,
    _dir: ScratchDir,
}

impl TestModule {
    /// An EC25 with fast timing and a client attached.
    pub async fn start() -> TestModule {
        TestModule::builder().start().await
    }

    /// A builder for other settings.
    pub fn builder() -> TestModuleBuilder {
        TestModuleBuilder::default()
    }

    /// The client opened at start. Panics if the module was started
    /// [`without_client`](TestModuleBuilder::without_client).
    pub fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("this module was started without a client")
    }

    /// Controls the running module from the test (status, faults), as the
    /// control API does: [`ModuleHandle::control`].
    pub fn control(&self) -> vmodem_tokio::ModuleControl {
        self.handle
            .as_ref()
            .expect("the module runs until shutdown")
            .control()
    }

    /// Starts `fault` on the module's task, as `POST /modules/<id>/faults`
    /// does, for `duration` (or until [`end_fault`](Self::end_fault)).
    pub async fn add_fault(&self, fault: Fault, duration: Option<Duration>) -> FaultId {
        self.control()
            .with_modem(move |m, now| m.add_fault(now, fault, duration))
            .await
            .expect("the module runs")
    }

    /// Ends the fault `id`, as `DELETE /modules/<id>/faults/<fault>` does;
    /// panics if it was not active.
    pub async fn end_fault(&self, id: FaultId) {
        let ended = self
            .control()
            .with_modem(move |m, now| m.end_fault(now, id))
            .await
            .expect("the module runs");
        assert!(ended, "fault {id:?} was not active");
    }

    /// Client 0 opened to `127.0.0.1:port` (`+QMTOPEN: 0,0`) and connected
    /// as `client_id` (`+QMTCONN: 0,0,0`), with the typed client; panics otherwise.
    pub async fn open_and_connect(&self, port: u16, client_id: &str) {
        let modem = self.client();
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", port)
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        let conn = modem
            .qmt_conn(0, client_id, None, None)
            .await
            .expect("AT+QMTCONN");
        assert!(conn.is_accepted(), "AT+QMTCONN as {client_id}: {conn:?}");
    }

    /// A view of the client's URCs from now on.
    pub fn urcs(&self) -> Urcs {
        Urcs::new(self.client().subscribe_urcs())
    }

    /// The module's `--trace` file (serial bytes and MQTT packets, JSON lines).
    pub fn trace_path(&self) -> &Path {
        &self.trace
    }

    /// The slave device, `/dev/pts/N`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the device again and starts a new client on it (the caller
    /// should have dropped any other client, or the two would share bytes).
    pub fn open_client(&self) -> Client {
        let stream = self.open_raw();
        Client::builder()
            .timeout_scale(self.timeout_scale)
            .min_timeout(Duration::from_secs(3))
            .build(stream)
    }

    /// Opens the device for raw reads and writes.
    pub fn open_raw(&self) -> PtyStream {
        PtyStream::open(&self.path).unwrap_or_else(|e| panic!("open {}: {e}", self.path.display()))
    }

    /// Drops the client opened at start and waits (bounded) until its driver
    /// task has ended, which closes its descriptor of the device: from then
    /// on no byte the module writes goes to that client.
    pub async fn close_client(&mut self) {
        let client = self.client.take().expect("a client is attached");
        close_client(client).await;
    }

    /// Attaches `client` as the module's client (e.g. one from [`open_client`](Self::open_client)).
    pub fn attach_client(&mut self, client: Client) {
        self.client = Some(client);
    }

    /// Every byte the module has written to the serial line so far, from its trace.
    pub fn serial_output(&self) -> Vec<u8> {
        self.serial("module_to_host")
    }

    /// Every byte the host has written to the serial line so far, from the trace.
    pub fn serial_input(&self) -> Vec<u8> {
        self.serial("host_to_module")
    }

    fn serial(&self, dir: &str) -> Vec<u8> {
        let text = std::fs::read_to_string(&self.trace).unwrap_or_default();
        let mut bytes = Vec::new();
        for line in text.lines() {
            let record: serde_json::Value = match serde_json::from_str(line) {
                Ok(r) => r,
                // The last record may be half written while we read.
                Err(_) => continue,
            };
            if record["dir"] != dir {
                continue;
            }
            let hex = record["hex"].as_str().unwrap_or_default();
            bytes.extend(
                (0..hex.len())
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()),
            );
        }
        bytes
    }

    /// Checks the module's serial output so far contains `expected`
    /// somewhere, and panics showing the whole output otherwise. Call it after
    /// the client has seen the last URC of `expected`: the trace records
    /// bytes before they are written to the pty.
    pub fn assert_serial_output_contains(&self, expected: &[u8]) {
        let out = self.serial_output();
        assert!(
            out.windows(expected.len()).any(|w| w == expected),
            "the module never wrote {:?}; it wrote:\n{}",
            expected.escape_ascii().to_string(),
            out.escape_ascii()
        );
    }

    /// Stops the module and waits until it has (links closed).
    pub async fn shutdown(mut self) {
        self.client = None;
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await.expect("module stops cleanly");
        }
    }
}
