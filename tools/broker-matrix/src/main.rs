//! Runs the broker conformance check against several brokers, each in a
//! process of its own (so its memory can be read), and prints a Markdown
//! table: broker × check → pass/fail with what was seen.
//!
//! `broker-matrix` runs everything; `broker-matrix serve KIND [USER:PASS]`
//! is the child: it starts one broker on a free loopback port, prints
//! `port N`, and runs until its stdin closes.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use vmodem_mqtt::{Packet, Protocol, Publish, QoS};
use vmodem_testkit::broker_conformance::{
    connect_packet, markdown_table, run, AuthTarget, Outcome, RawClient, Target,
};

mod brokers;

const USER: &str = "device-7";
const PASSWORD: &str = "s3cret";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        let kind = args.get(2).expect("serve KIND");
        let user = args.get(3).and_then(|u| u.split_once(':'));
        let user = user.map(|(u, p)| (u.to_owned(), p.to_owned()));
        brokers::serve(kind, user).await;
        return;
    }
    let only: Vec<String> = args[1..].to_vec();
    let mut results: Vec<(String, Vec<Outcome>)> = Vec::new();
    let mut floods = Vec::new();
    for kind in ["built-in", "rumqttd", "rmqtt", "mosquitto"] {
        if !only.is_empty() && !only.iter().any(|o| o == kind) {
            continue;
        }
        eprintln!("== {kind}");
        let (open, closed) = start_pair(kind).await;
        let target = Target {
            name: kind.into(),
            addr: open.addr,
            auth: Some(AuthTarget {
                addr: closed.addr,
                user: USER.into(),
                password: PASSWORD.into(),
            }),
        };
        let outcomes = run(&target).await;
        for o in &outcomes {
            eprintln!("  {o}");
        }
        let flood = flood(&open).await;
        eprintln!("  flood: {flood}");
        floods.push((kind.to_owned(), flood));
        results.push((kind.to_owned(), outcomes));
        drop((open, closed));
    }
    println!("{}", markdown_table(&results));
    println!("| flood (memory) | result |\n|---|---|");
    for (kind, flood) in floods {
        println!("| {kind} | {flood} |");
    }
}

/// A broker under test: its address and, for memory, its process.
struct Running {
    addr: SocketAddr,
    pid: u32,
    _child: Option<Child>,
    _mosquitto: Option<vmodem_testkit::Mosquitto>,
}

async fn start_pair(kind: &str) -> (Running, Running) {
    if kind == "mosquitto" {
        use vmodem_testkit::{Mosquitto, MosquittoConfig};
        let open = Mosquitto::start().await;
        let closed = Mosquitto::start_with(MosquittoConfig::default().users(&[(USER, PASSWORD)])).await;
        let running = |m: Mosquitto| Running {
            addr: m.addr(),
            pid: m.pid().expect("pid"),
            _child: None,
            _mosquitto: Some(m),
        };
        return (running(open), running(closed));
    }
    (spawn(kind, None).await, spawn(kind, Some(format!("{USER}:{PASSWORD}"))).await)
}

async fn spawn(kind: &str, user: Option<String>) -> Running {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command.arg("serve").arg(kind).args(user);
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().expect("spawn a broker child");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("read child") {
            if let Some(port) = line.strip_prefix("port ") {
                return port.parse::<u16>().expect("port");
            }
        }
        panic!("{kind} exited before listening");
    })
    .await
    .expect("the broker child listens in time");
    // Drain the rest of its stdout.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Running {
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        pid: child.id().expect("pid"),
        _child: Some(child),
        _mosquitto: None,
    }
}

/// Resident memory of a process, in KiB (VmRSS).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Bounded flood: a subscriber at QoS 1 that never reads, a reading QoS 0
/// subscriber, and a publisher sending FLOOD messages of 200 bytes at QoS 1
/// (waiting for each PUBACK in windows, as a module does). Reports the
/// broker's RSS before, at the end, and whether the publisher was served.
const FLOOD: usize = 200_000;
const WINDOW: usize = 20;

async fn flood(broker: &Running) -> String {
    let topic = "flood/t";
    let before = rss_kib(broker.pid);
    let mut stalled = RawClient::connected(broker.addr, connect_packet(Protocol::V311, "flood-stalled"))
        .await
        .expect("stalled subscriber");
    stalled.subscribe(topic, QoS::AtLeastOnce, 1).await.expect("subscribe");
    let mut reader = RawClient::connected(broker.addr, connect_packet(Protocol::V311, "flood-reader"))
        .await
        .expect("reader");
    reader.subscribe(topic, QoS::AtMostOnce, 1).await.expect("subscribe");
    let reading = tokio::spawn(async move {
        let mut got = 0usize;
        while reader.recv(Duration::from_secs(10)).await.is_ok() {
            got += 1;
            if got == FLOOD {
                break;
            }
        }
        got
    });
    let mut publisher = RawClient::connected(broker.addr, connect_packet(Protocol::V311, "flood-pub"))
        .await
        .expect("publisher");
    let start = Instant::now();
    let mut peak = before;
    let payload = Bytes::from(vec![b'x'; 200]);
    let mut sent = 0usize;
    let mut acked = 0usize;
    let deadline = Instant::now() + Duration::from_secs(180);
    while acked < FLOOD && Instant::now() < deadline {
        while sent < FLOOD && sent - acked < WINDOW {
            let pkid = u16::try_from(sent % 60_000 + 1).expect("pkid");
            let p = Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: false,
                topic: topic.into(),
                pkid,
                payload: payload.clone(),
            };
            if publisher.send(&Packet::Publish(p)).await.is_err() {
                break;
            }
            sent += 1;
        }
        match publisher.recv(Duration::from_secs(10)).await {
            Ok(Packet::Puback { .. }) => acked += 1,
            Ok(_) => {}
            Err(e) => {
                let _ = e;
                break;
            }
        }
        if acked % 10_000 == 0 {
            peak = peak.max(rss_kib(broker.pid));
        }
    }
    let elapsed = start.elapsed();
    peak = peak.max(rss_kib(broker.pid));
    let got = reading.await.unwrap_or(0);
    drop(stalled);
    format!(
        "{acked}/{FLOOD} QoS 1 PUBACKed in {:.1} s; reader got {got}; RSS {} MiB before, peak {} MiB (+{} MiB) with a stalled QoS 1 subscriber",
        elapsed.as_secs_f64(),
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024
    )
}

#[allow(dead_code)]
fn unused(_: HashMap<String, String>) {}
