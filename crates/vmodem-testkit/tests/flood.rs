//! Issue 12's floods against real parts: a real pty read raw by the host, a
//! raw-TCP MQTT peer flooding the module, a real TCP serial port. Every
//! message the module acknowledged must reach the host once and intact,
//! whatever the host's reading speed, and no response may be cut.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use vmodem_core::Config;
use vmodem_testkit::{
    qfupl_checksum, within, PtyStream, RawLine, ScriptedBroker, TestModule, PATIENCE,
};
use vmodem_tokio::{spawn_module, ModuleOptions, TcpSerialPort};

const LIMIT: Duration = Duration::from_secs(90);
const COUNT: usize = 5_000;
const TOPIC: &str = "f/g";

/// Message `i`'s payload: its number, then 100–300 letters that differ per
/// message (never a `"`, so a line's end is unambiguous).
fn payload(i: usize) -> Vec<u8> {
    let mut p = format!("{i:05}-").into_bytes();
    let len = 100 + (i * 37) % 200;
    p.extend((0..len).map(|k| b'a' + ((i * 7 + k * 13) % 26) as u8));
    p
}

/// A module on a pty, subscribed through a raw host to `f/g` at QoS 1 on `broker`.
async fn subscribed(broker: &ScriptedBroker) -> (TestModule, RawLine<PtyStream>) {
    let module = TestModule::builder().without_client().start().await;
    let mut host = RawLine::new(module.open_raw());
    host.read_until(b"+QIND: PB DONE\r\n").await;
    host.command("ATE0\r", "OK\r\n").await;
    let open = format!("AT+QMTOPEN=0,\"127.0.0.1\",{}\r", broker.port());
    host.command(&open, "+QMTOPEN: 0,0\r\n").await;
    host.command("AT+QMTCONN=0,\"flood\"\r", "+QMTCONN: 0,0,0\r\n")
        .await;
    host.command(
        &format!("AT+QMTSUB=0,1,\"{TOPIC}\",1\r"),
        "+QMTSUB: 0,1,0,1\r\n",
    )
    .await;
    (module, host)
}

/// Reads `+QMTRECV` lines until `count` have come; returns (msgid, payload)s.
async fn read_messages(host: &mut RawLine<PtyStream>, count: usize) -> Vec<(u16, Vec<u8>)> {
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        let line = host.read_until(b"\"\r\n").await;
        got.push(parse(&line));
    }
    got
}

/// `\r\n+QMTRECV: 0,<id>,"f/g","<payload>"\r\n` → (id, payload), checked whole.
fn parse(line: &[u8]) -> (u16, Vec<u8>) {
    let text = String::from_utf8_lossy(line);
    let rest = text
        .strip_prefix("\r\n+QMTRECV: 0,")
        .unwrap_or_else(|| panic!("not a whole +QMTRECV line: {text:?}"));
    let (id, rest) = rest.split_once(',').expect("msgid");
    let body = rest
        .strip_prefix(&format!("\"{TOPIC}\",\""))
        .and_then(|r| r.strip_suffix("\"\r\n"))
        .unwrap_or_else(|| panic!("a cut or garbled line: {text:?}"));
    (id.parse().expect("numeric msgid"), body.as_bytes().to_vec())
}

/// Every message 1..=COUNT arrived exactly once, intact, and every one was
/// acknowledged exactly once.
fn check_all_arrived(got: &[(u16, Vec<u8>)], pubacks: &[u16]) {
    assert_eq!(got.len(), COUNT);
    let mut seen = BTreeSet::new();
    for (id, body) in got {
        assert!(seen.insert(*id), "message {id} arrived twice");
        let i = usize::from(*id) - 1;
        assert_eq!(body, &payload(i), "message {id} is not intact");
    }
    assert_eq!(pubacks.len(), COUNT, "PUBACKs the broker got");
    let acked: BTreeSet<u16> = pubacks.iter().copied().collect();
    assert_eq!(acked, seen, "acknowledged = delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos1_flood_reaches_a_host_that_reads_as_fast_as_it_can() {
    within(LIMIT, async {
        let broker = Arc::new(ScriptedBroker::start().await);
        let (module, mut host) = subscribed(&broker).await;
        let flooding = {
            let broker = broker.clone();
            tokio::spawn(async move { broker.flood(TOPIC, COUNT, payload).await })
        };
        let got = read_messages(&mut host, COUNT).await;
        flooding.await.unwrap();
        broker
            .wait_for("5,000 PUBACKs", |s| s.pubacks.len() >= COUNT)
            .await;
        check_all_arrived(&got, &broker.stats().pubacks);
        // Nothing more: no duplicate came after.
        let extra = host.read_while(Duration::from_millis(300), |_| false).await;
        assert_eq!(extra.escape_ascii().to_string(), "");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_qos1_flood_waits_for_a_host_that_pauses_reading_for_8_s() {
    within(LIMIT, async {
        let broker = Arc::new(ScriptedBroker::start().await);
        let (module, mut host) = subscribed(&broker).await;
        let flooding = {
            let broker = broker.clone();
            tokio::spawn(async move { broker.flood(TOPIC, COUNT, payload).await })
        };
        // The host reads nothing for 8 s.
        tokio::time::sleep(Duration::from_secs(8)).await;
        let acked = broker.stats().pubacks.len();
        // What the module acknowledged meanwhile waits for the host: in the
        // module (16 KiB of URC room plus one message) and the kernel's pty
        // buffer. Before back-pressure it acknowledged all 5,000.
        let waiting = (1..=acked)
            .map(|i| payload(i - 1).len() + 24)
            .sum::<usize>();
        assert!(
            waiting <= 96 * 1024,
            "{acked} messages ({waiting} bytes) acknowledged while the host read nothing"
        );
        println!("acknowledged during the 8 s pause: {acked} messages, {waiting} bytes");
        let got = read_messages(&mut host, COUNT).await;
        flooding.await.unwrap();
        broker
            .wait_for("5,000 PUBACKs", |s| s.pubacks.len() >= COUNT)
            .await;
        check_all_arrived(&got, &broker.stats().pubacks);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200000_byte_download_over_tcp_serial_arrives_whole_with_its_trailer() {
    within(LIMIT, async {
        let port = TcpSerialPort::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = port.local_addr().unwrap();
        let options = ModuleOptions {
            config: Config::default(),
            ..ModuleOptions::default()
        };
        let module = spawn_module(port, options).unwrap();
        let mut host = RawLine::new(TcpStream::connect(addr).await.unwrap());
        host.read_until(b"+QIND: PB DONE\r\n").await;
        host.command("ATE0\r", "OK\r\n").await;
        let file: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sum = qfupl_checksum(&file);
        host.command("AT+QFUPL=\"RAM:big.bin\",200000,60\r", "CONNECT\r\n")
            .await;
        host.send(&file).await;
        host.read_until(format!("+QFUPL: 200000,{sum}\r\n\r\nOK\r\n").as_bytes())
            .await;

        host.send(b"AT+QFDWL=\"RAM:big.bin\"\r").await;
        let trailer = format!("\r\n+QFDWL: 200000,{sum}\r\n\r\nOK\r\n");
        let got = host.read_until(trailer.as_bytes()).await;
        let mut want = b"\r\nCONNECT\r\n".to_vec();
        want.extend_from_slice(&file);
        want.extend_from_slice(trailer.as_bytes());
        assert_eq!(got.len(), want.len(), "bytes of the download");
        assert!(got == want, "the download differs from the file");
        // The line is free again.
        host.command("AT\r", "OK\r\n").await;
        tokio::time::timeout(PATIENCE, module.shutdown())
            .await
            .unwrap()
            .unwrap();
    })
    .await;
}
