//! `vmodem fleet` (issue 13) as a user runs it: the real binary, modules on
//! TCP serial ports or driven by device scripts, a real mosquitto, shards in
//! several processes. Each test is bounded (`within`), and kills only the
//! processes it started (their handles kill on drop).
//!
//! The tests run `target/<profile>/vmodem`, brought up to date first with
//! `cargo build -p vmodem-cli --bin vmodem` (`cargo test -p vmodem-testkit`
//! alone does not build other packages' binaries).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use vmodem_core::Config;
use vmodem_testkit::{http_get, http_post, within, Mosquitto, Observer, ScratchDir};

/// The `vmodem` binary of this build, built if missing.
fn vmodem() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/fleet-<hash> → target/<profile>/vmodem
        let exe = std::env::current_exe().expect("the test's own path");
        let dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>/deps");
        let bin = dir.join("vmodem");
        // A binary older than the sources would test old code: build it
        // then (`cargo test --workspace` has built it already). Not always:
        // this test's feature set differs from `-p vmodem-cli`'s, so an
        // unconditional build recompiles the driver each time.
        if !bin.exists() || stale(&bin) {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build.args(["build", "--quiet", "-p", "vmodem-cli", "--bin", "vmodem"]);
            if dir.file_name().is_some_and(|p| p == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(
                status.success(),
                "cargo build -p vmodem-cli --bin vmodem failed"
            );
        }
        assert!(bin.exists(), "no vmodem binary at {}", bin.display());
        bin
    })
    .clone()
}

/// Whether a source file (or manifest) of the crates in the binary is newer than it.
fn stale(bin: &std::path::Path) -> bool {
    let Ok(built) = std::fs::metadata(bin).and_then(|m| m.modified()) else {
        return true;
    };
    let newer = |path: &std::path::Path| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|m| m > built)
    };
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs = Vec::new();
    for name in [
        "vmodem-cli",
        "vmodem-tokio",
        "vmodem-core",
        "vmodem-client",
        "vmodem-mqtt",
        "vmodem-at",
    ] {
        if newer(&crates.join(name).join("Cargo.toml")) {
            return true;
        }
        dirs.push(crates.join(name).join("src"));
    }
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && newer(&path) {
                return true;
            }
        }
    }
    false
}

fn fleet(args: &[&str]) -> Command {
    let mut cmd = Command::new(vmodem());
    cmd.arg("fleet")
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs a fleet to its end; its stdout, or a panic with both streams.
async fn finish(mut cmd: Command) -> String {
    let out = cmd.output().await.expect("run vmodem fleet");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "vmodem fleet failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

fn imei_of(id: u32) -> String {
    let config = Config {
        instance: id,
        ..Config::default()
    };
    config.identity_numbers()[0].clone()
}

/// Sends `AT+GSN` on a TCP serial line and returns the IMEI line of the answer.
async fn gsn(addr: SocketAddr) -> String {
    let mut line = TcpStream::connect(addr)
        .await
        .expect("connect to the module");
    line.write_all(b"AT+GSN\r").await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\nOK\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(20), line.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("{addr}: no OK: {:?}", String::from_utf8_lossy(&got)))
            .unwrap();
        assert!(n > 0, "{addr} closed: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    text.split("\r\n")
        .find(|l| l.len() == 15 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("{addr}: no IMEI in {text:?}"))
        .to_owned()
}

/// A base port with `n` free ports after it (checked by binding each).
fn free_range(n: u16) -> u16 {
    for attempt in 0..50u32 {
        let base = 20_000 + ((std::process::id() * 7919 + attempt * 1237) % 35_000) as u16;
        let free = (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no {n} free consecutive ports");
}

/// Issue 13 "done when": 200 modules on TCP ports answer with distinct
/// IMEIs, module i's being the one derived from its index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_modules_on_tcp_ports_answer_with_distinct_imeis() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let base = free_range(200);
        let mut child = fleet(&[
            "--count",
            "200",
            "--tcp-base",
            &format!("127.0.0.1:{base}"),
            "--no-broker",
        ])
        .spawn()
        .unwrap();
        // `ready:` comes once every port listens.
        let mut stdout = child.stdout.take().unwrap();
        let mut banner = Vec::new();
        let mut buf = [0u8; 256];
        while !String::from_utf8_lossy(&banner).contains("\nready: 200 modules started") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "vmodem fleet ended: {:?}",
                String::from_utf8_lossy(&banner)
            );
            banner.extend_from_slice(&buf[..n]);
        }
        let banner = String::from_utf8_lossy(&banner).into_owned();
        assert!(
            banner.starts_with(&format!(
                "vmodem fleet: modules 0..200 of 200 (shard 0/1), serial tcp 127.0.0.1:{base}..{}",
                base + 200
            )),
            "{banner}"
        );
        let mut imeis = BTreeSet::new();
        for i in 0..200u16 {
            let imei = gsn(SocketAddr::from(([127, 0, 0, 1], base + i))).await;
            assert_eq!(imei, imei_of(u32::from(i)), "module {i}");
            imeis.insert(imei);
        }
        assert_eq!(imeis.len(), 200, "distinct IMEIs");
        stop(child).await;
    })
    .await;
}

/// Stops a fleet the way a user does (SIGTERM) and checks it ends cleanly.
async fn stop(mut child: Child) {
    let pid = child.id().expect("running") as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("vmodem fleet did not stop within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

const PUBLISH_ONCE: &str = "\
# connect, publish the IMEI once (QoS 1), done
AT+QMTOPEN=0,\"{broker_host}\",{broker_port}
<< +QMTOPEN: 0,0
AT+QMTCONN=0,\"fleet-{id}\"
<< +QMTCONN: 0,0,0
AT+QMTPUBEX=0,1,1,0,\"fleet/{id}\",{len}
>> {imei},{shard}
<< +QMTPUBEX: 0,1,0
";

/// Collects `n` messages (or fails with what came), by topic.
async fn collect(observer: &mut Observer, n: usize) -> BTreeMap<String, Vec<String>> {
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut count = 0;
    while count < n {
        match observer.next_message_within(Duration::from_secs(10)).await {
            Some(m) => {
                got.entry(m.topic)
                    .or_default()
                    .push(String::from_utf8_lossy(&m.payload).into_owned());
                count += 1;
            }
            None => panic!("{count} of {n} messages came"),
        }
    }
    // Nothing more (a duplicate would show an overlap).
    assert!(
        observer
            .next_message_within(Duration::from_millis(300))
            .await
            .is_none(),
        "more than {n} messages"
    );
    got
}

/// Issue 13 "done when": 2,000 scripted modules each publish once to a
/// mosquitto, through their own AT engine and MQTT client; every message
/// reaches a subscriber, and the `--json` report says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_scripted_modules_each_publish_once_to_mosquitto() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(90), async {
        let mosquitto = Mosquitto::start().await;
        let mut observer = Observer::connect(mosquitto.addr(), "fleet-observer").await;
        observer.subscribe("fleet/#", 1).await;
        let dir = ScratchDir::new("fleet-2000");
        let script = dir.write("once.txt", PUBLISH_ONCE.as_bytes());
        let json = dir.join("report.json");
        let started = std::time::Instant::now();
        let out = finish(fleet(&[
            "--count",
            "2000",
            "--script",
            script.to_str().unwrap(),
            "--no-broker",
            "--broker",
            &mosquitto.addr().to_string(),
            "--json",
            json.to_str().unwrap(),
        ]))
        .await;
        let took = started.elapsed();
        let got = collect(&mut observer, 2000).await;
        assert_eq!(got.len(), 2000, "one topic per module");
        for id in 0..2000u32 {
            assert_eq!(
                got[&format!("fleet/{id}")],
                [format!("{},0", imei_of(id))],
                "module {id}"
            );
        }
        assert!(
            out.contains("started 2000, scripts finished 2000, failed 0"),
            "{out}"
        );
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(report["fleet"]["modules"], 2000);
        assert_eq!(report["modules"]["scripts_finished"], 2000);
        assert_eq!(report["connected"]["max"], 2000);
        assert_eq!(report["connected"]["connects"], 2000);
        assert_eq!(report["commands"], 6000);
        assert_eq!(report["published"], 2000);
        assert_eq!(report["errors"], serde_json::json!({}));
        assert_eq!(report["qmtstat"], serde_json::json!({}));
        for command in ["AT+QMTOPEN", "AT+QMTCONN", "AT+QMTPUBEX"] {
            let h = &report["latency_ms"][command];
            assert_eq!(h["count"], 2000, "{command}: {h}");
            let (p50, p99, max) = (
                h["p50"].as_f64().unwrap(),
                h["p99"].as_f64().unwrap(),
                h["max"].as_f64().unwrap(),
            );
            assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{command}: {h}");
        }
        assert!(
            report["delivery_ms"].is_null(),
            "the script does not subscribe"
        );
        eprintln!("2,000 modules published once in {took:?} (debug build)");
    })
    .await;
}

/// Issue 13 §5: `--shard i/n` in several processes runs disjoint shares
/// whose union is the fleet, each module with its own index's identity;
/// `$JOB_COMPLETION_INDEX` with `--shard-count` picks the shard as
/// `--shard` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_are_disjoint_and_their_union_is_the_fleet() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let mosquitto = Mosquitto::start().await;
        let mut observer = Observer::connect(mosquitto.addr(), "shard-observer").await;
        observer.subscribe("fleet/#", 1).await;
        let dir = ScratchDir::new("fleet-shards");
        let script = dir.write("once.txt", PUBLISH_ONCE.as_bytes());
        let broker = mosquitto.addr().to_string();
        let common = [
            "--count",
            "100",
            "--script",
            script.to_str().unwrap(),
            "--no-broker",
            "--broker",
            &broker,
        ];
        let mut runs = Vec::new();
        for i in 0..3 {
            let json = dir.join(&format!("shard{i}.json"));
            let mut cmd = fleet(&common);
            cmd.args(["--json", json.to_str().unwrap()]);
            if i == 2 {
                cmd.args(["--shard-count", "3"])
                    .env("JOB_COMPLETION_INDEX", "2");
            } else {
                cmd.args(["--shard", &format!("{i}/3")]);
            }
            runs.push((json, tokio::spawn(finish(cmd))));
        }
        let mut ranges = Vec::new();
        for (i, (json, run)) in runs.into_iter().enumerate() {
            let out = run.await.unwrap();
            let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
            assert_eq!(report["fleet"]["shard"], serde_json::json!([i, 3]), "{out}");
            let ids = &report["fleet"]["ids"];
            let range = (
                ids[0].as_u64().unwrap() as u32,
                ids[1].as_u64().unwrap() as u32,
            );
            assert_eq!(
                report["published"],
                u64::from(range.1 - range.0),
                "shard {i}"
            );
            ranges.push(range);
        }
        assert_eq!(ranges, [(0, 33), (33, 66), (66, 100)]);
        let got = collect(&mut observer, 100).await;
        for (shard, (from, to)) in ranges.iter().enumerate() {
            for id in *from..*to {
                assert_eq!(
                    got.get(&format!("fleet/{id}")).map(Vec::as_slice),
                    Some(&[format!("{},{shard}", imei_of(id))][..]),
                    "module {id} once, from shard {shard}"
                );
            }
        }
        assert_eq!(got.len(), 100);
    })
    .await;
}

/// The report counts refusals by result code, and a script stops at its
/// first failed step when it has no `@connect` block to go back to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_counts_errors_by_result_code() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let dir = ScratchDir::new("fleet-errors");
        let script = dir.write(
            "refused.txt",
            b"AT+QMTPUBEX=0,1,1,0,\"t/{id}\",{len}\n>> never\n<< +QMTPUBEX: 0,1,0\n",
        );
        let json = dir.join("report.json");
        let out = finish(fleet(&[
            "--count",
            "5",
            "--script",
            script.to_str().unwrap(),
            "--broker-listen",
            "127.0.0.1:0",
            "--json",
            json.to_str().unwrap(),
        ]))
        .await;
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        // AT+QMTPUBEX on a client that is not connected: ERROR (note ch. 3).
        assert_eq!(
            report["errors"],
            serde_json::json!({"AT+QMTPUBEX: ERROR": 5}),
            "{out}"
        );
        assert_eq!(report["modules"]["scripts_failed"], 5);
        assert_eq!(report["modules"]["scripts_finished"], 0);
        assert_eq!(report["published"], 0);
        assert!(out.contains("AT+QMTPUBEX: ERROR"), "{out}");
    })
    .await;
}

/// A telemetry loop survives a broker restart: each module's MQTT client
/// reports `+QMTSTAT` when mosquitto is killed, the script's `@connect`
/// block runs again after its backoff, and publishing resumes; the report
/// counts the `+QMTSTAT`s by code and the second round of connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telemetry_loop_reconnects_after_qmtstat() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        const N: usize = 20;
        let mut mosquitto = Mosquitto::start().await;
        let dir = ScratchDir::new("fleet-reconnect");
        let script = dir.write(
            "loop.txt",
            b"@connect backoff 300ms\n\
              AT+QMTOPEN=0,\"{broker_host}\",{broker_port}\n\
              << +QMTOPEN: 0,0\n\
              AT+QMTCONN=0,\"loop-{id}\"\n\
              << +QMTCONN: 0,0,0\n\
              @every 300ms jitter 100ms\n\
              AT+QMTPUBEX=0,{msgid},1,0,\"loop/{id}\",{len}\n\
              >> {seq}\n\
              << +QMTPUBEX: 0,{msgid},0\n\
              @end\n",
        );
        let json = dir.join("report.json");
        let broker = mosquitto.addr().to_string();
        let cmd = fleet(&[
            "--count",
            &N.to_string(),
            "--script",
            script.to_str().unwrap(),
            "--no-broker",
            "--broker",
            &broker,
            "--duration",
            "8s",
            "--json",
            json.to_str().unwrap(),
        ]);
        let run = tokio::spawn(finish(cmd));
        let mut observer = Observer::connect(mosquitto.addr(), "loop-observer-1").await;
        observer.subscribe("loop/#", 1).await;
        all_publish(&mut observer, N).await;
        mosquitto.restart().await;
        let mut observer = Observer::connect(mosquitto.addr(), "loop-observer-2").await;
        observer.subscribe("loop/#", 1).await;
        all_publish(&mut observer, N).await;
        let out = run.await.unwrap();
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let stat: u64 = report["qmtstat"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert!(stat >= N as u64, "every module saw +QMTSTAT: {out}");
        assert!(
            report["connected"]["connects"].as_u64().unwrap() >= 2 * N as u64,
            "every module connected again: {out}"
        );
        assert_eq!(report["connected"]["now"], N, "{out}");
        assert!(out.contains("+QMTSTAT by code"), "{out}");
    })
    .await;
}

/// Waits until every one of `n` modules has published on `loop/<id>`.
async fn all_publish(observer: &mut Observer, n: usize) {
    let mut heard = BTreeSet::new();
    while heard.len() < n {
        match observer.next_message_within(Duration::from_secs(15)).await {
            Some(m) => {
                heard.insert(m.topic);
            }
            None => panic!("only {} of {n} modules published: {heard:?}", heard.len()),
        }
    }
}

/// Issue 13 "done when": the control API of `vmodem fleet --control` lists
/// every module of the process: a shard's ids and identities only, each
/// module answering its own status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_api_lists_every_module_of_the_shard() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let dir = ScratchDir::new("fleet-control");
        let script = dir.write("idle.txt", b"AT\n");
        let mut child = fleet(&[
            "--count",
            "900",
            "--shard",
            "1/3",
            "--script",
            script.to_str().unwrap(),
            "--no-broker",
            "--control",
            "127.0.0.1:0",
            "--duration",
            "60s",
        ])
        .spawn()
        .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut banner = String::new();
        let mut buf = [0u8; 256];
        while !banner.contains("\nready: 300 modules started") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(n > 0, "vmodem fleet ended: {banner}");
            banner.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let url = banner
            .lines()
            .find_map(|l| l.strip_prefix("control: http://"))
            .unwrap_or_else(|| panic!("no control: line in {banner}"));
        let addr: SocketAddr = url.split_whitespace().next().unwrap().parse().unwrap();
        let answer = http_get(addr, "/v1/modules").await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let list = answer.json();
        let list = list.as_array().expect("an array of statuses");
        let ids: Vec<u64> = list.iter().map(|m| m["id"].as_u64().unwrap()).collect();
        assert_eq!(ids, (300..600).collect::<Vec<u64>>(), "shard 1/3 of 900");
        for m in list {
            let id = m["id"].as_u64().unwrap() as u32;
            assert_eq!(m["imei"], imei_of(id), "module {id}: {m}");
            assert_eq!(m["serial"]["kind"], "none", "in-process: {m}");
        }
        let answer = http_get(addr, "/v1/modules/450").await;
        let one = answer.json();
        assert_eq!(
            (answer.status, &one["imei"]),
            (200, &Value::from(imei_of(450))),
            "{one}"
        );
        let none = http_get(addr, "/v1/modules/0").await;
        assert_eq!(none.status, 404, "module 0 is shard 0's: {}", none.body);
        assert!(!none.error().is_empty(), "{}", none.body);
        stop(child).await;
    })
    .await;
}

/// Issue 13 §1 with the device faults: a fault started through the fleet's
/// control API on a seeded quarter of the modules (`"modules": "25%"`)
/// drops their PDP context; as many `+QMTSTAT`s come as modules were hit, their
/// scripts' `@connect` blocks activate the context again (`? AT+QIACT=1`)
/// and reconnect, and the report counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_on_a_fraction_of_the_fleet_is_seen_and_survived_by_that_fraction() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let dir = ScratchDir::new("fleet-fault");
        let script = dir.write(
            "loop.txt",
            b"@connect backoff 200ms\n\
              ? AT+QIACT=1\n\
              AT+QMTOPEN=0,\"{broker_host}\",{broker_port}\n\
              << +QMTOPEN: 0,0\n\
              AT+QMTCONN=0,\"f-{id}\"\n\
              << +QMTCONN: 0,0,0\n\
              @every 500ms jitter 100ms\n\
              AT+QMTPUBEX=0,{msgid},1,0,\"f/{id}\",{len}\n\
              >> {seq}\n\
              << +QMTPUBEX: 0,{msgid},0\n\
              @end\n",
        );
        let json = dir.join("report.json");
        let mut child = fleet(&[
            "--count",
            "40",
            "--script",
            script.to_str().unwrap(),
            "--broker-listen",
            "127.0.0.1:0",
            "--control",
            "127.0.0.1:0",
            "--duration",
            "6s",
            "--json",
            json.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut banner = String::new();
        let mut buf = [0u8; 256];
        while !banner.contains("\nready: 40 modules started") {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(n > 0, "vmodem fleet ended: {banner}");
            banner.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let url = banner
            .lines()
            .find_map(|l| l.strip_prefix("control: http://"))
            .unwrap_or_else(|| panic!("no control: line in {banner}"));
        let addr: SocketAddr = url.split_whitespace().next().unwrap().parse().unwrap();
        // Every module connected (the API's own view of its MQTT client).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let list = http_get(addr, "/v1/modules").await.json();
            let connected = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| {
                    m["mqtt"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|c| c["state"] == "connected"))
                })
                .count();
            if connected == 40 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{connected} of 40 connected: {list}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let answer = http_post(
            addr,
            "/v1/faults",
            serde_json::json!({"kind": "pdp_deact", "cid": 1, "modules": "25%"}),
        )
        .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
        let faults = answer.json();
        // {"faults": [{"module": id, "fault": {…}}, …]} (docs/control.md)
        let hit: BTreeSet<u64> = faults["faults"]
            .as_array()
            .unwrap_or_else(|| panic!("{faults}"))
            .iter()
            .map(|f| f["module"].as_u64().unwrap())
            .collect();
        assert_eq!(hit.len(), 10, "25% of 40: {faults}");
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).await.unwrap();
        let status = child.wait().await.unwrap();
        let out = banner + &String::from_utf8_lossy(&rest);
        assert!(status.success(), "{out}");
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        // The code is the device fault's (docs/faults.md); each hit module saw one.
        let stat: u64 = report["qmtstat"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(stat, 10, "{out}");
        assert_eq!(
            report["errors"],
            serde_json::json!({}),
            "no publish on a lost link: {out}"
        );
        assert_eq!(
            report["connected"]["connects"], 50,
            "the 10 connected again: {out}"
        );
        assert_eq!(report["connected"]["now"], 40, "{out}");
    })
    .await;
}

/// Publish → delivery is timed when the script subscribes: each module
/// subscribes to its own topic, publishes once, and its `+QMTRECV` of that
/// message closes the measurement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_to_delivery_is_timed_when_the_script_subscribes() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let dir = ScratchDir::new("fleet-delivery");
        let script = dir.write(
            "echo.txt",
            b"AT+QMTOPEN=0,\"{broker_host}\",{broker_port}\n\
              << +QMTOPEN: 0,0\n\
              AT+QMTCONN=0,\"echo-{id}\"\n\
              << +QMTCONN: 0,0,0\n\
              AT+QMTSUB=0,1,\"echo/{id}\",1\n\
              << +QMTSUB: 0,1,0,1\n\
              AT+QMTPUBEX=0,2,1,0,\"echo/{id}\",{len}\n\
              >> {\"imei\":\"{imei}\"}\n\
              << +QMTRECV: 0,\n",
        );
        let json = dir.join("report.json");
        let out = finish(fleet(&[
            "--count",
            "20",
            "--script",
            script.to_str().unwrap(),
            "--broker-listen",
            "127.0.0.1:0",
            "--json",
            json.to_str().unwrap(),
        ]))
        .await;
        let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(report["modules"]["scripts_finished"], 20, "{out}");
        assert_eq!(report["received"], 20, "{out}");
        assert_eq!(report["delivery_ms"]["count"], 20, "{out}");
        assert!(
            report["delivery_ms"]["max"].as_f64().unwrap() > 0.0,
            "{out}"
        );
        assert!(out.contains("publish → delivery"), "{out}");
    })
    .await;
}

/// Issue 13 §4: `--source-ips 3` spreads the links over 127.0.0.1–3 (each
/// source address has its own ephemeral ports); mosquitto logs where each
/// connection came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_come_from_every_source_address_of_the_pool() {
    vmodem(); // built before the clock starts
    within(Duration::from_secs(60), async {
        let mosquitto = Mosquitto::start().await;
        let mut observer = Observer::connect(mosquitto.addr(), "fleet-observer").await;
        observer.subscribe("fleet/#", 1).await;
        let dir = ScratchDir::new("fleet-sources");
        let script = dir.write("once.txt", PUBLISH_ONCE.as_bytes());
        finish(fleet(&[
            "--count",
            "9",
            "--script",
            script.to_str().unwrap(),
            "--no-broker",
            "--broker",
            &mosquitto.addr().to_string(),
            "--source-ips",
            "3",
        ]))
        .await;
        assert_eq!(collect(&mut observer, 9).await.len(), 9);
        let log = mosquitto.log();
        for source in ["127.0.0.1", "127.0.0.2", "127.0.0.3"] {
            let from = log
                .lines()
                .filter(|l| l.contains(&format!("New connection from {source}:")))
                .count();
            if source == "127.0.0.1" {
                // Also the observer and the testkit's readiness probe.
                assert!(from >= 4, "connections from {source}:\n{log}");
            } else {
                assert_eq!(from, 3, "connections from {source}:\n{log}");
            }
        }
    })
    .await;
}
