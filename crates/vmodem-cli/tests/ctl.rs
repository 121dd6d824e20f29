//! `vmodem run --control` and `vmodem ctl`, the built binaries as a user runs
//! them (issue 10 §1): the banner's `control:` URL, status, faults added,
//! listed and ended, the host's exact bytes for a `urc` fault, events, exit
//! statuses, and the refusal of a non-loopback address without a token.

mod child;
#[path = "../../vmodem-tokio/tests/support/mod.rs"]
mod support;

use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use child::{banner_field as field, output_within, vmodem_command, Vmodem};
use support::{SerialClient, BOOT, PATIENCE};

/// `vmodem run ARGS…`, killed when dropped.
fn run(args: &[&str]) -> Vmodem {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    Vmodem::start(&all)
}

/// Runs `vmodem ctl ARGS` against `url` to its end.
fn ctl(url: &str, args: &[&str]) -> Output {
    output_within(
        vmodem_command()
            .arg("ctl")
            .args(args)
            .env("VMODEM_CONTROL", url),
        PATIENCE,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn ctl_drives_a_running_module_status_faults_events() {
    let run = run(&["--control", "127.0.0.1:0", "--broker-listen", "127.0.0.1:0"]);
    let banner = run.banner();
    let control = field(&banner, "control");
    let url = control.split_whitespace().next().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{banner}");
    assert_ne!(url, "http://127.0.0.1:0", "the bound port is shown");
    let mut host = SerialClient::open(field(&banner, "serial").as_ref());
    host.expect(BOOT);

    let status = ctl(url, &["status"]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let out = text(&status.stdout);
    assert!(out.starts_with("module 0: ec25, IMEI "), "{out}");
    assert!(
        out.contains(", power on, registered (home), signal 24,99\n"),
        "{out}"
    );
    assert!(
        out.contains("  mqtt:   every client closed\n  faults: none\n"),
        "{out}"
    );

    let json = ctl(url, &["--json", "status", "0"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json is JSON");
    assert_eq!(value["power"], "on");
    assert_eq!(value["serial"]["kind"], "pty");

    // `events` in the background sees the fault start and the URC it wrote.
    let events = Command::new(env!("CARGO_BIN_EXE_vmodem"))
        .args([
            "ctl", "--url", url, "events", "--count", "2", "--for", "15s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(500));

    let add = ctl(
        url,
        &[
            "fault",
            "add",
            "urc",
            "text=+QIND: \"csq\",5,99",
            "--for",
            "30s",
        ],
    );
    assert!(add.status.success(), "{}", text(&add.stderr));
    assert!(
        text(&add.stdout)
            .starts_with("fault 1 on module 0: urc text=+QIND: \"csq\",5,99 (for 30 s, ends at "),
        "{}",
        text(&add.stdout)
    );
    host.expect(b"\r\n+QIND: \"csq\",5,99\r\n");

    let seen = events.wait_with_output().unwrap();
    let seen = text(&seen.stdout);
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 2, "{seen}");
    assert!(
        lines[0].ends_with("m0  fault start #1 urc text=+QIND: \"csq\",5,99"),
        "{seen}"
    );
    assert!(
        lines[1].ends_with("m0  <module \\r\\n+QIND: \"csq\",5,99\\r\\n"),
        "{seen}"
    );

    let list = ctl(url, &["fault", "list"]);
    assert!(
        text(&list.stdout).starts_with("fault 1 on module 0: urc"),
        "{}",
        text(&list.stdout)
    );

    let rm = ctl(url, &["fault", "rm", "1"]);
    assert!(rm.status.success());
    assert_eq!(text(&rm.stdout), "fault 1 on module 0 ended\n");
    let again = ctl(url, &["fault", "rm", "1"]);
    assert_eq!(again.status.code(), Some(1), "the API refused: exit 1");
    assert!(
        text(&again.stderr).starts_with("error: 404 Not Found: module 0 has no active fault 1"),
        "{}",
        text(&again.stderr)
    );

    let bad = ctl(url, &["fault", "add", "netwrk_loss"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("unknown fault kind \"netwrk_loss\"; allowed: network_loss,"),
        "{}",
        text(&bad.stderr)
    );
    let param = ctl(url, &["fault", "add", "signal", "rssi=40"]);
    assert_eq!(param.status.code(), Some(1));
    assert!(
        text(&param.stderr).contains("rssi: 0-31|99"),
        "{}",
        text(&param.stderr)
    );

    assert!(ctl(url, &["fault", "add", "signal", "rssi=5"])
        .status
        .success());
    assert!(ctl(url, &["fault", "add", "slow", "delay_ms=5"])
        .status
        .success());
    let clear = ctl(url, &["fault", "clear"]);
    assert_eq!(text(&clear.stdout), "every fault of module 0 ended\n");
    assert_eq!(
        text(&ctl(url, &["fault", "list"]).stdout),
        "no active faults\n"
    );
    drop(run);
}

#[test]
fn ctl_says_how_to_reach_the_api_and_exits_3_when_it_cannot() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let out = ctl(&port.to_string(), &["status"]);
    assert_eq!(out.status.code(), Some(3));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: cannot reach the control API at http://127.0.0.1:{port}"
        )),
        "{err}"
    );
    assert!(err.contains("--control"), "{err}");

    let none = ctl("", &["status"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(
        text(&none.stderr).contains("set VMODEM_CONTROL"),
        "{}",
        text(&none.stderr)
    );
}

#[test]
fn a_token_is_required_and_a_wrong_one_is_refused() {
    let run = run(&[
        "--control",
        "0",
        "--control-token",
        "s3cret",
        "--broker-listen",
        "127.0.0.1:0",
    ]);
    let banner = run.banner();
    let url = field(&banner, "control").split_whitespace().next().unwrap();
    let without = ctl(url, &["status"]);
    assert_eq!(without.status.code(), Some(1));
    assert!(
        text(&without.stderr).contains("401 Unauthorized")
            && text(&without.stderr).contains("pass --token"),
        "{}",
        text(&without.stderr)
    );
    let wrong = ctl(url, &["--token", "nope", "status"]);
    assert_eq!(wrong.status.code(), Some(1));
    let right = ctl(url, &["--token", "s3cret", "status"]);
    assert!(right.status.success(), "{}", text(&right.stderr));
}

#[test]
fn a_non_loopback_control_address_without_a_token_is_refused_at_start() {
    let mut run = run(&["--control", "0.0.0.0:0", "--broker-listen", "127.0.0.1:0"]);
    let status = run.wait();
    assert!(!status.success());
    let err = run.stderr();
    assert!(
        err.starts_with("error: --control 0.0.0.0:0 would let every host that reaches it"),
        "{err}"
    );
    assert!(err.contains("add --control-token TOKEN"), "{err}");
}
