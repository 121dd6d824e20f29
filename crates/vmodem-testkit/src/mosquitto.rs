//! A real mosquitto broker of the test's own, on a free loopback port.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::net::free_port;
use crate::scratch::ScratchDir;

/// Where Debian's package puts the broker.
const DEBIAN_MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// How long mosquitto may take to start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often to try another port when the chosen one was taken meanwhile.
const PORT_ATTEMPTS: u32 = 5;

/// Settings beyond the defaults (anonymous access, no persistence).
#[derive(Debug, Clone, Default)]
pub struct MosquittoConfig {
    users: Option<Vec<(String, String)>>,
    subscribe_only: Option<Vec<String>>,
    persistence: bool,
    extra: Vec<String>,
}

impl MosquittoConfig {
    /// Refuses anonymous clients and accepts only these user names and
    /// passwords (a `password_file` made with `mosquitto_passwd`); mosquitto
    /// answers others with CONNACK 5, "not authorized".
    #[must_use]
    pub fn users(mut self, users: &[(&str, &str)]) -> Self {
        self.users = Some(
            users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
        );
        self
    }

    /// Refuses every subscription except to these topic patterns (`allowed/#`).
    ///
    /// mosquitto's `acl_file` never refuses a SUBSCRIBE (it only filters
    /// deliveries), so this loads its dynamic-security plugin, which does:
    /// MQTT 3.1.1 clients get 0x80 in the SUBACK for a refused filter. MQTT
    /// 3.1 has no failure code, and mosquitto then grants the QoS asked for
    /// but delivers nothing on that filter.
    #[must_use]
    pub fn subscribe_only(mut self, patterns: &[&str]) -> Self {
        self.subscribe_only = Some(patterns.iter().map(|p| (*p).to_owned()).collect());
        self
    }

    /// Keeps sessions and retained messages on disk across restarts.
    #[must_use]
    pub fn persistence(mut self, on: bool) -> Self {
        self.persistence = on;
        self
    }

    /// Any other configuration line.
    #[must_use]
    pub fn line(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }
}

/// A mosquitto process started by this test; killed (SIGKILL, by its own
/// pid) when dropped.
///
/// Started as root, mosquitto drops to the `mosquitto` user: its directory
/// and files are world-readable for that. Its log goes to `mosquitto-N.log`
/// in its directory and is shown when it fails to start.
#[derive(Debug)]
pub struct Mosquitto {
    child: Option<Child>,
    port: u16,
    conf: PathBuf,
    starts: u32,
    dir: ScratchDir,
}

impl Mosquitto {
    /// Starts a broker with the default settings.
    pub async fn start() -> Mosquitto {
        Mosquitto::start_with(MosquittoConfig::default()).await
    }

    /// Starts a broker with `config` on a free loopback port and returns once
    /// it accepts connections.
    ///
    /// Panics if mosquitto is not installed, saying how to install it: the
    /// interop tests must fail, not pass silently, on a machine without it.
    pub async fn start_with(config: MosquittoConfig) -> Mosquitto {
        let binary = binary();
        let mut broker = Mosquitto {
            child: None,
            port: 0,
            conf: PathBuf::new(),
            starts: 0,
            dir: ScratchDir::new("mosquitto"),
        };
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            broker.port = free_port();
            broker.conf = write_config(&broker.dir, broker.port, &config);
            match broker.launch(&binary).await {
                Ok(()) => return broker,
                // Someone took the port between our probe and mosquitto's bind.
                Err(log) if log.contains("Address already in use") => last_log = log,
                Err(log) => panic!("mosquitto did not start:\n{log}"),
            }
        }
        panic!("mosquitto found no free port in {PORT_ATTEMPTS} attempts:\n{last_log}");
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The process id of the running broker.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the broker at once (SIGKILL): its connections are reset or
    /// closed by the kernel, with no MQTT goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the broker (SIGSTOP): its sockets stay open and the kernel
    /// still accepts bytes for it, but it answers nothing.
    pub fn stop(&self) {
        self.signal(Signal::SIGSTOP);
    }

    /// Lets a frozen broker run again (SIGCONT).
    pub fn cont(&self) {
        self.signal(Signal::SIGCONT);
    }

    fn signal(&self, signal: Signal) {
        let child = self.child.as_ref().expect("the broker is running");
        let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
        kill(pid, signal).unwrap_or_else(|e| panic!("cannot send {signal} to mosquitto: {e}"));
    }

    /// Kills the broker if it runs and starts it again on the same port.
    pub async fn restart(&mut self) {
        self.kill();
        let binary = binary();
        if let Err(log) = self.launch(&binary).await {
            panic!(
                "mosquitto did not start again on port {}:\n{log}",
                self.port
            );
        }
    }

    /// Stops the broker gracefully (SIGTERM, then waits for it to exit, at
    /// most [`READY_TIMEOUT`] before SIGKILL) and starts it again on the same
    /// port. mosquitto writes its persistence file when it shuts down, so a
    /// broker with [`MosquittoConfig::persistence`] keeps its sessions and
    /// queued QoS 1/2 messages across this restart.
    pub async fn restart_graceful(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid fits i32"));
            let _ = kill(pid, Signal::SIGTERM);
            let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
            loop {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let binary = binary();
        if let Err(log) = self.launch(&binary).await {
            panic!(
                "mosquitto did not start again on port {}:\n{log}",
                self.port
            );
        }
    }

    /// The log of the current (or last) run.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path(self.starts)).unwrap_or_default()
    }

    fn log_path(&self, start: u32) -> PathBuf {
        self.dir.join(&format!("mosquitto-{start}.log"))
    }

    /// Starts the process and waits until it listens; `Err(log)` if it exits.
    async fn launch(&mut self, binary: &Path) -> Result<(), String> {
        self.starts += 1;
        let log_path = self.log_path(self.starts);
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let child = Command::new(binary)
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("exited with {status}; its log:\n{}", self.log()));
            }
            if self.log().contains(" running")
                && tokio::net::TcpStream::connect(self.addr()).await.is_ok()
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill();
                return Err(format!(
                    "not listening after {READY_TIMEOUT:?}; its log:\n{}",
                    self.log()
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The mosquitto binary, or a panic saying how to get one.
fn binary() -> PathBuf {
    let debian = Path::new(DEBIAN_MOSQUITTO);
    if debian.exists() {
        return debian.to_owned();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("mosquitto"))
            .find(|p| p.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "mosquitto is not installed, and the MQTT interop tests need a real broker: \
             run `apt-get install mosquitto mosquitto-clients`, or `bash .ci/run`, which \
             installs it"
        )
    })
}

/// `name` from the directory of mosquitto's binary, else from `PATH`
/// (Debian: `/usr/sbin/mosquitto` and `/usr/bin/mosquitto_passwd`).
fn sibling(binary: &Path, name: &str) -> PathBuf {
    let beside = binary.with_file_name(name);
    if beside.exists() {
        return beside;
    }
    let usr_bin = Path::new("/usr/bin").join(name);
    if usr_bin.exists() {
        return usr_bin;
    }
    PathBuf::from(name)
}

/// mosquitto's dynamic-security plugin, shipped in Debian's package.
fn dynamic_security_plugin() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/mosquitto_dynamic_security.so",
        "/usr/local/lib/mosquitto_dynamic_security.so",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "mosquitto's dynamic-security plugin is missing (looked in {candidates:?}); \
                 run `apt-get install mosquitto`, or `bash .ci/run`"
            )
        })
}

fn write_config(dir: &ScratchDir, port: u16, config: &MosquittoConfig) -> PathBuf {
    let mut text = format!(
        "# Written by vmodem-testkit for one test.\n\
         listener {port} 127.0.0.1\n\
         log_dest stderr\n\
         log_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
         log_type subscribe\nlog_type unsubscribe\n\
         connection_messages true\n\
         log_timestamp true\n"
    );
    match &config.users {
        None => text.push_str("allow_anonymous true\n"),
        Some(users) => {
            let file = dir.write("passwords", b"");
            for (user, password) in users {
                let status = Command::new(sibling(&binary(), "mosquitto_passwd"))
                    .arg("-b")
                    .arg(&file)
                    .arg(user)
                    .arg(password)
                    .status()
                    .unwrap_or_else(|e| {
                        panic!(
                            "cannot run mosquitto_passwd ({e}): run `apt-get install mosquitto`, \
                             or `bash .ci/run`"
                        )
                    });
                assert!(status.success(), "mosquitto_passwd failed: {status}");
            }
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
                .expect("make the password file readable");
            text.push_str(&format!(
                "allow_anonymous false\npassword_file {}\n",
                file.display()
            ));
        }
    }
    if config.persistence {
        // Written by the `mosquitto` user after it drops root.
        let store = dir.join("store");
        std::fs::create_dir_all(&store).expect("create the persistence directory");
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777))
            .expect("open the persistence directory to the mosquitto user");
        text.push_str(&format!(
            "persistence true\npersistence_location {}/\n",
            store.display()
        ));
    } else {
        text.push_str("persistence false\n");
    }
    if let Some(patterns) = &config.subscribe_only {
        let acls: Vec<String> = patterns
            .iter()
            .map(|p| {
                format!(
                    r#"{{"acltype": "subscribePattern", "topic": {}, "priority": 0, "allow": true}}"#,
                    serde_json::Value::from(p.as_str())
                )
            })
            .collect();
        let json = format!(
            r#"{{
  "defaultACLAccess": {{"publishClientSend": true, "publishClientReceive": true,
                        "subscribe": false, "unsubscribe": true}},
  "clients": [],
  "groups": [{{"groupname": "anonymous", "roles": [{{"rolename": "device"}}]}}],
  "anonymousGroup": "anonymous",
  "roles": [{{"rolename": "device", "acls": [{}]}}]
}}
"#,
            acls.join(", ")
        );
        let file = dir.write("dynamic-security.json", json.as_bytes());
        text.push_str(&format!(
            "plugin {}\nplugin_opt_config_file {}\n",
            dynamic_security_plugin().display(),
            file.display()
        ));
    }
    for line in &config.extra {
        text.push_str(line);
        text.push('\n');
    }
    dir.write(&format!("mosquitto-{port}.conf"), text.as_bytes())
}
