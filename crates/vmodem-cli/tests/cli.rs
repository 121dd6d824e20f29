//! The built `vmodem` binary, run as a user would: start-up output, a session
//! through the pty it prints, stdio, signals, and errors that name the fix.

mod child;
#[path = "../../vmodem-tokio/tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use child::{banner_field as field, Vmodem};
use support::{ScratchDir, SerialClient, BOOT, PATIENCE};

#[test]
fn runs_on_a_linked_pty_with_a_broker_and_stops_cleanly_on_sigterm() {
    let dir = ScratchDir::new("cli-pty");
    let link = dir.join("ttyEC25");
    let mut vmodem = Vmodem::start_with_stdin(
        &[
            "run",
            "--link",
            link.to_str().unwrap(),
            "--broker-listen",
            "127.0.0.1:0",
        ],
        Stdio::null(),
    );
    let banner = vmodem.banner();
    let serial = field(&banner, "serial");
    assert!(serial.starts_with("/dev/pts/"), "{banner}");
    let (linked, target) = field(&banner, "link").split_once(" -> ").unwrap();
    assert_eq!((linked, target), (link.to_str().unwrap(), serial));
    assert!(field(&banner, "try").contains(linked), "{banner}");

    let mut host = SerialClient::open(linked.as_ref());
    host.expect(BOOT);
    host.send(b"AT\r");
    host.expect(b"AT\r\r\nOK\r\n");
    host.send(b"ATI\r");
    host.expect(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n");

    // The broker it announces takes MQTT clients, and the example uses its port.
    let broker = field(&banner, "broker").split_whitespace().next().unwrap();
    assert!(field(&banner, "then").contains(&format!("\"127.0.0.1\",{}", &broker[10..])));
    let mut mqtt = TcpStream::connect(broker).unwrap();
    mqtt.set_read_timeout(Some(PATIENCE)).unwrap();
    mqtt.write_all(b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03abc")
        .unwrap();
    let mut connack = [0u8; 4];
    mqtt.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);

    let status = vmodem.terminate();
    assert!(status.success(), "{status}; stderr {}", vmodem.stderr());
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the symlink is removed on SIGTERM"
    );
}

/// `--broker-user`: the banner names the users and the codes, and the broker
/// answers a 3.1 CONNECT with the right password 0, a wrong one 4, none 5.
#[test]
fn broker_users_are_announced_and_enforced() {
    let mut vmodem = Vmodem::start_with_stdin(
        &[
            "run",
            "--tcp",
            "127.0.0.1:0",
            "--broker-listen",
            "127.0.0.1:0",
            "--broker-user",
            "meter-42:s3:cret",
        ],
        Stdio::null(),
    );
    let banner = vmodem.banner();
    let broker = field(&banner, "broker");
    assert!(
        broker.ends_with(
            "(built in, MQTT 3.1 and 3.1.1, users: meter-42; a wrong password gives CONNACK 4, \
             no user name CONNACK 5)"
        ),
        "{banner}"
    );
    let addr = broker.split_whitespace().next().unwrap();
    // MQTT 3.1 CONNECT, client id "m", user "meter-42", then the password (or none).
    let connack = |password: Option<&[u8]>| {
        let mut body = b"\x00\x06MQIsdp\x03".to_vec();
        body.push(if password.is_some() { 0xc2 } else { 0x02 });
        body.extend_from_slice(b"\x00\x3c\x00\x01m");
        if let Some(password) = password {
            body.extend_from_slice(b"\x00\x08meter-42");
            body.extend_from_slice(&[0, u8::try_from(password.len()).unwrap()]);
            body.extend_from_slice(password);
        }
        let mut packet = vec![0x10, u8::try_from(body.len()).unwrap()];
        packet.extend_from_slice(&body);
        let mut mqtt = TcpStream::connect(addr).unwrap();
        mqtt.set_read_timeout(Some(PATIENCE)).unwrap();
        mqtt.write_all(&packet).unwrap();
        let mut connack = [0u8; 4];
        mqtt.read_exact(&mut connack).unwrap();
        connack[3]
    };
    assert_eq!(connack(Some(b"s3:cret")), 0);
    assert_eq!(connack(Some(b"s3")), 4);
    assert_eq!(connack(None), 5);
    let status = vmodem.terminate();
    assert!(status.success(), "{status}; stderr {}", vmodem.stderr());
}

#[test]
fn stdio_answers_on_stdout_and_exits_at_the_end_of_stdin() {
    let mut vmodem = Vmodem::start_with_stdin(&["run", "--stdio", "--no-broker"], Stdio::piped());
    let mut stdin = vmodem.take_stdin();
    stdin.write_all(b"AT\r").unwrap();
    drop(stdin);
    let status = vmodem.wait();
    assert!(status.success(), "{status}; stderr {}", vmodem.stderr());
    let mut want = BOOT.to_vec();
    want.extend_from_slice(b"AT\r\r\nOK\r\n");
    assert_eq!(
        vmodem.stdout_bytes().escape_ascii().to_string(),
        want.escape_ascii().to_string(),
        "stdout carries the serial line only"
    );
    assert!(vmodem.stderr().contains("serial: stdin/stdout"));
}

#[test]
fn ram_size_limits_what_the_module_can_store() {
    let mut vmodem = Vmodem::start_with_stdin(
        &["run", "--stdio", "--no-broker", "--ram-size", "2K"],
        Stdio::piped(),
    );
    let mut stdin = vmodem.take_stdin();
    stdin
        .write_all(b"ATE0\rAT+QFUPL=\"RAM:big.pem\",3000\rAT+QFLDS=\"RAM\"\r")
        .unwrap();
    drop(stdin);
    let status = vmodem.wait();
    assert!(status.success(), "{status}; stderr {}", vmodem.stderr());
    let mut want = BOOT.to_vec();
    want.extend_from_slice(
        b"ATE0\r\r\nOK\r\n\r\n+CME ERROR: 420\r\n\r\n+QFLDS: 2048,2048\r\n\r\nOK\r\n",
    );
    assert_eq!(
        vmodem.stdout_bytes().escape_ascii().to_string(),
        want.escape_ascii().to_string()
    );
}

#[test]
fn a_file_at_the_link_path_is_left_alone_and_the_error_says_what_to_do() {
    let dir = ScratchDir::new("cli-link-file");
    let file = dir.join("notes.txt");
    std::fs::write(&file, b"keep me").unwrap();
    let mut vmodem = Vmodem::start_with_stdin(
        &["run", "--no-broker", "--link", file.to_str().unwrap()],
        Stdio::null(),
    );
    let status = vmodem.wait();
    assert!(!status.success());
    let stderr = vmodem.stderr();
    assert!(
        stderr.contains("--link") && stderr.contains("choose another path"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn a_busy_broker_port_names_the_flags_that_fix_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let mut vmodem = Vmodem::start_with_stdin(&["run", "--broker-listen", &addr], Stdio::null());
    let status = vmodem.wait();
    assert!(!status.success());
    let stderr = vmodem.stderr();
    assert!(
        stderr.contains("--broker-listen 127.0.0.1:PORT") && stderr.contains("--no-broker"),
        "{stderr}"
    );
}

/// `vmodem trace` shows a real module's `--trace` file as a transcript, in
/// order, with arrows (issue 10 item 4). MQTT packet and fault records are
/// not written yet (they need the core's packet events): this covers serial.
#[test]
fn trace_prints_a_real_modules_serial_line_as_a_transcript() {
    let dir = ScratchDir::new("cli-trace");
    let trace = dir.join("trace.jsonl");
    let trace = trace.to_str().unwrap();
    let mut vmodem = Vmodem::start_with_stdin(
        &["run", "--stdio", "--no-broker", "--trace", trace],
        Stdio::piped(),
    );
    let mut stdin = vmodem.take_stdin();
    stdin.write_all(b"ATE0\rAT+CGSN\rAT+QMTOPEN?\r").unwrap();
    drop(stdin);
    let status = vmodem.wait();
    assert!(status.success(), "{status}; stderr {}", vmodem.stderr());

    let out = Command::new(env!("CARGO_BIN_EXE_vmodem"))
        .args(["trace", trace])
        .output()
        .expect("vmodem trace runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let want = [
        "host   ← module  RDY",
        "host   → module  ATE0",
        "host   → module  AT+CGSN",
        "host   → module  AT+QMTOPEN?",
        "host   ← module  OK",
    ];
    let mut rest = text.as_str();
    for w in want {
        let at = rest
            .find(w)
            .unwrap_or_else(|| panic!("no {w:?} after the earlier lines in:\n{text}"));
        rest = &rest[at + w.len()..];
    }
    // Every line starts with a relative time, the first at zero.
    assert!(text.starts_with("   0.000  "), "{text}");

    let grep = Command::new(env!("CARGO_BIN_EXE_vmodem"))
        .args(["trace", trace, "--grep", "CGSN"])
        .output()
        .expect("vmodem trace --grep runs");
    let grep = String::from_utf8(grep.stdout).unwrap();
    assert_eq!(grep.lines().count(), 1, "{grep}");
    assert!(grep.contains("host   → module  AT+CGSN"), "{grep}");
}
