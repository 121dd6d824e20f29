//! A module on a TCP serial port; also the timer wiring, in virtual time, and the trace.
//! Its helpers serve the other files too.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use vmodem_core::{Config, Timing};
use vmodem_tokio::{spawn_module, ModuleHandle, ModuleOptions, PowerOn, TcpSerialPort};

use crate::support::{ScratchDir, BOOT, PATIENCE};

/// A module on a TCP port that powers up at once, before any host connects
/// (the tests below are about what happens after boot).
pub(crate) async fn start(options: ModuleOptions) -> (ModuleHandle, SocketAddr) {
    start_with(ModuleOptions {
        power_on: PowerOn::AtStart,
        ..options
    })
    .await
}

async fn start_with(options: ModuleOptions) -> (ModuleHandle, SocketAddr) {
    let port = TcpSerialPort::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = port.local_addr().unwrap();
    (spawn_module(port, options).unwrap(), addr)
}

#[tokio::test]
async fn by_default_the_module_powers_up_when_the_first_host_connects() {
    let (module, addr) = start_with(ModuleOptions::default()).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    expect(&mut first, BOOT).await;
    first.write_all(b"AT\r").await.unwrap();
    expect(&mut first, b"AT\r\r\nOK\r\n").await;
    // A second host finds the module already on: no second boot chain.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(b"AT\r").await.unwrap();
    expect(&mut second, b"AT\r\r\nOK\r\n").await;
    module.shutdown().await.unwrap();
}

/// Reads exactly as many bytes as `expected` has and checks they match.
pub(crate) async fn expect(host: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(PATIENCE, host.read_exact(&mut got))
        .await
        .unwrap_or_else(|_| panic!("no {:?} in time", expected.escape_ascii().to_string()))
        .unwrap();
    assert_eq!(
        got.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
}

/// Waits until the module closes the connection.
async fn expect_hang_up(host: &mut TcpStream) {
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, host.read_to_end(&mut rest))
        .await
        .expect("the module closes the connection in time")
        .unwrap();
    assert_eq!(rest.escape_ascii().to_string(), "");
}

#[tokio::test]
async fn a_tcp_host_talks_and_a_new_connection_replaces_it() {
    let (module, addr) = start(ModuleOptions::default()).await;
    // The boot chain came before anyone connected: it waited for a host, as
    // output does on a UART whose CTS nobody holds.
    let mut first = TcpStream::connect(addr).await.unwrap();
    expect(&mut first, BOOT).await;
    first.write_all(b"AT\r").await.unwrap();
    expect(&mut first, b"AT\r\r\nOK\r\n").await;

    let mut second = TcpStream::connect(addr).await.unwrap();
    second.write_all(b"ATE0\r").await.unwrap();
    expect(&mut second, b"ATE0\r\r\nOK\r\n").await;
    expect_hang_up(&mut first).await;

    // Same module, still running: echo stays off.
    second.write_all(b"AT\r").await.unwrap();
    expect(&mut second, b"\r\nOK\r\n").await;
    module.shutdown().await.unwrap();
    expect_hang_up(&mut second).await;
}

#[tokio::test(start_paused = true)]
async fn core_deadlines_run_on_tokio_time() {
    let config = Config {
        timing: Timing::Realistic,
        ..Config::default()
    };
    let started = (Instant::now(), std::time::Instant::now());
    let (module, addr) = start(ModuleOptions {
        config,
        ..ModuleOptions::default()
    })
    .await;
    let mut host = TcpStream::connect(addr).await.unwrap();
    // Realistic boot spaces the chain over seconds, all of which pass virtually.
    expect(&mut host, b"\r\nRDY\r\n").await;
    assert!(
        started.0.elapsed() >= Duration::from_secs(1),
        "RDY is not instant"
    );
    expect(&mut host, &BOOT[b"\r\nRDY\r\n".len()..]).await;
    let (virtual_time, real_time) = (started.0.elapsed(), started.1.elapsed());
    assert!(
        real_time < virtual_time,
        "boot took {real_time:?} real for {virtual_time:?} virtual: the driver slept for real"
    );
    module.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn power_on_after_presses_the_power_key_after_a_power_down() {
    // Shorter than `PATIENCE`, which runs on the same virtual clock.
    let delay = Duration::from_secs(5);
    let (module, addr) = start(ModuleOptions {
        power_on_after: Some(delay),
        ..ModuleOptions::default()
    })
    .await;
    let mut host = TcpStream::connect(addr).await.unwrap();
    expect(&mut host, BOOT).await;
    host.write_all(b"AT+QPOWD\r").await.unwrap();
    expect(&mut host, b"AT+QPOWD\r\r\nOK\r\n\r\nPOWERED DOWN\r\n").await;
    let off = Instant::now();
    expect(&mut host, BOOT).await;
    let waited = off.elapsed();
    assert!(
        waited >= delay && waited < delay + Duration::from_secs(1),
        "powered on after {waited:?}"
    );
    host.write_all(b"AT\r").await.unwrap();
    expect(&mut host, b"AT\r\r\nOK\r\n").await;
    module.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_trace_records_both_directions_as_json_lines() {
    let dir = ScratchDir::new("trace");
    let path = dir.join("trace.jsonl");
    let (module, addr) = start(ModuleOptions {
        trace: Some(path.clone()),
        ..ModuleOptions::default()
    })
    .await;
    let mut host = TcpStream::connect(addr).await.unwrap();
    expect(&mut host, BOOT).await;
    host.write_all(b"AT\r").await.unwrap();
    expect(&mut host, b"AT\r\r\nOK\r\n").await;
    module.shutdown().await.unwrap();

    let records: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["dir"].as_str().unwrap(), r["hex"].as_str().unwrap()))
        .collect();
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let (boot, at, ok) = (hex(BOOT), hex(b"AT\r"), hex(b"AT\r\r\nOK\r\n"));
    assert_eq!(
        summary,
        [
            ("module_to_host", boot.as_str()),
            ("host_to_module", at.as_str()),
            ("module_to_host", ok.as_str()),
        ]
    );
    // The trace records what the line took, when it took it: the boot chain
    // waited for the host to connect.
    assert_eq!(records[1]["text"], "AT\r");
}
