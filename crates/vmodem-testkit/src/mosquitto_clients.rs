//! mosquitto's own command-line clients as "the other device", for MQTT 3.1
//! at both ends (rumqttc speaks 3.1.1 only).

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use crate::observer::Received;
use crate::scratch::ScratchDir;
use crate::PATIENCE;

/// `-V` argument of mosquitto's clients.
fn version_arg(mqtt_3_1: bool) -> &'static str {
    if mqtt_3_1 {
        "mqttv31"
    } else {
        "mqttv311"
    }
}

fn client_binary(name: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let path = format!("{dir}/{name}");
        if std::path::Path::new(&path).exists() {
            return path;
        }
    }
    panic!(
        "{name} is not installed: run `apt-get install mosquitto-clients`, or `bash .ci/run`, \
         which installs it"
    )
}

/// Publishes `payload` once with `mosquitto_pub` (exact bytes, from a file)
/// and returns when it has exited successfully, the broker having taken it.
pub async fn mosquitto_pub(
    broker: SocketAddr,
    mqtt_3_1: bool,
    topic: &str,
    qos: u8,
    payload: &[u8],
) {
    let dir = ScratchDir::new("mosquitto-pub");
    let file = dir.write("payload", payload);
    let run = Command::new(client_binary("mosquitto_pub"))
        .args([
            "-h",
            &broker.ip().to_string(),
            "-p",
            &broker.port().to_string(),
        ])
        .args(["-V", version_arg(mqtt_3_1), "-i", "vmodem-testkit-pub"])
        .args(["-q", &qos.to_string(), "-t", topic, "-f"])
        .arg(&file)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PATIENCE, run)
        .await
        .expect("mosquitto_pub finishes in time")
        .expect("run mosquitto_pub");
    assert!(
        out.status.success(),
        "mosquitto_pub failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A `mosquitto_sub` process subscribed to one filter; killed on drop.
/// Topics must not contain spaces (its output is split on them).
#[derive(Debug)]
pub struct MosquittoSub {
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl MosquittoSub {
    /// Subscribes and returns once the broker has acknowledged (SUBACK).
    pub async fn start(broker: SocketAddr, mqtt_3_1: bool, filter: &str, qos: u8) -> MosquittoSub {
        // Line-buffered: its output goes to a pipe, which C buffers by the block.
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg(client_binary("mosquitto_sub"))
            .args([
                "-h",
                &broker.ip().to_string(),
                "-p",
                &broker.port().to_string(),
            ])
            .args(["-V", version_arg(mqtt_3_1), "-i", "vmodem-testkit-sub"])
            .args(["-q", &qos.to_string(), "-t", filter])
            // `-d` announces the SUBACK; each message is `MSG <qos> <retain> <topic> <hex>`.
            .args(["-d", "-F", "MSG %q %r %t %x"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run stdbuf -oL mosquitto_sub: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut sub = MosquittoSub {
            lines: BufReader::new(stdout).lines(),
            _child: child,
        };
        loop {
            let line = sub.next_line().await;
            if line.starts_with("Subscribed (mid:") {
                return sub;
            }
        }
    }

    /// The next message, within [`PATIENCE`].
    pub async fn expect_message(&mut self) -> Received {
        loop {
            let line = self.next_line().await;
            let Some(rest) = line.strip_prefix("MSG ") else {
                continue;
            };
            let mut fields = rest.splitn(4, ' ');
            let (Some(qos), Some(retain), Some(topic), hex) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                panic!("mosquitto_sub printed {line:?}");
            };
            let hex = hex.unwrap_or_default();
            let payload = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex payload"))
                .collect();
            return Received {
                topic: topic.to_owned(),
                payload,
                qos: qos.parse().expect("QoS"),
                retain: retain == "1",
            };
        }
    }

    async fn next_line(&mut self) -> String {
        tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("mosquitto_sub said something in time")
            .expect("read mosquitto_sub's output")
            .expect("mosquitto_sub is running")
    }
}

/// One `mosquitto_pub` attempt that may fail (a broker restarting under it):
/// true when it exited successfully within `limit`, i.e. the broker
/// acknowledged the message (PUBACK for QoS 1, PUBCOMP for QoS 2; QoS 0:
/// written). Never panics on a failed attempt, so callers can retry.
pub async fn try_mosquitto_pub(
    broker: SocketAddr,
    client_id: &str,
    topic: &str,
    qos: u8,
    payload: &str,
    limit: std::time::Duration,
) -> bool {
    let run = Command::new(client_binary("mosquitto_pub"))
        .args([
            "-h",
            &broker.ip().to_string(),
            "-p",
            &broker.port().to_string(),
        ])
        .args(["-V", "mqttv311", "-i", client_id])
        .args(["-q", &qos.to_string(), "-t", topic, "-m", payload])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    matches!(tokio::time::timeout(limit, run).await, Ok(Ok(s)) if s.success())
}

/// A `mosquitto_sub` with a persistent session (`-c`, a fixed client id):
/// libmosquitto reconnects by itself when the broker goes away and comes
/// back, and the broker keeps the session's subscription and queued QoS 1/2
/// messages meanwhile — the "other device" that survives broker restarts
/// (rumqttc does not: it errors on a PUBREL it has no state for after a
/// reconnect). Payloads must be one line of text; killed on drop.
#[derive(Debug)]
pub struct PersistentSub {
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
}

impl PersistentSub {
    /// Subscribes and returns once the broker has acknowledged (SUBACK).
    pub async fn start(
        broker: SocketAddr,
        client_id: &str,
        filter: &str,
        qos: u8,
    ) -> PersistentSub {
        let mut child = Command::new("stdbuf")
            .arg("-oL")
            .arg(client_binary("mosquitto_sub"))
            .args([
                "-h",
                &broker.ip().to_string(),
                "-p",
                &broker.port().to_string(),
            ])
            .args(["-V", "mqttv311", "-i", client_id, "-c"])
            .args(["-q", &qos.to_string(), "-t", filter])
            // `-d` announces each SUBACK; each message is `MSG <payload>`.
            .args(["-d", "-F", "MSG %p"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run stdbuf -oL mosquitto_sub: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut sub = PersistentSub {
            lines: BufReader::new(stdout).lines(),
            _child: child,
        };
        loop {
            let line = tokio::time::timeout(PATIENCE, sub.lines.next_line())
                .await
                .expect("mosquitto_sub subscribed in time")
                .expect("read mosquitto_sub's output")
                .expect("mosquitto_sub is running");
            if line.starts_with("Subscribed (mid:") {
                return sub;
            }
        }
    }

    /// The next message's payload (reconnects in between are skipped);
    /// None when mosquitto_sub has exited.
    pub async fn next_payload(&mut self) -> Option<String> {
        loop {
            let line = self.lines.next_line().await.ok()??;
            if let Some(payload) = line.strip_prefix("MSG ") {
                return Some(payload.to_owned());
            }
        }
    }
}
