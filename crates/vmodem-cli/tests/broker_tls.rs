//! `vmodem run`'s state directory, with the built binary: the built-in
//! broker's TLS listener reached with exactly the AT commands the start-up
//! message prints, its CA kept across runs, and UFS files kept across runs.

mod child;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vmodem_client::{Client, FileEntry, SecLevel, Urc};
use vmodem_testkit::{qfupl_checksum, within, ScratchDir, PATIENCE};

use child::Vmodem;

const LIMIT: Duration = Duration::from_secs(120);

/// `vmodem run` on a TCP serial line with the built-in broker, its TLS
/// listener and `state` as its state directory, plus `extra` arguments.
fn start(state: &Path, extra: &[&str]) -> Vmodem {
    let state = state.to_str().expect("a UTF-8 state directory");
    let mut args = vec![
        "--broker-tls",
        "--broker-tls-listen",
        "127.0.0.1:0",
        "--state-dir",
        state,
    ];
    args.extend_from_slice(extra);
    Vmodem::run(&args)
}

/// What the start-up message says about the serial line and TLS.
struct Banner {
    serial: SocketAddr,
    ca: PathBuf,
    /// The AT commands printed for TLS, in order.
    tls_commands: Vec<String>,
}

fn parse(banner: &str) -> Banner {
    let field = |key: &str| {
        banner
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} line in {banner}"))
            .trim()
            .to_owned()
    };
    let serial = field("serial: tcp ");
    let serial = serial.split_whitespace().next().unwrap().parse().unwrap();
    let ca = field("ca:");
    let ca = PathBuf::from(ca.split(" (").next().unwrap());
    let tls_commands = banner
        .lines()
        .skip_while(|l| !l.starts_with("tls:"))
        .flat_map(str::split_whitespace)
        .filter(|word| word.starts_with("AT+"))
        .map(str::to_owned)
        .collect();
    Banner {
        serial,
        ca,
        tls_commands,
    }
}

/// A client on the module's TCP serial line, once the module has booted.
async fn attach(serial: SocketAddr) -> Client {
    let tcp = tokio::net::TcpStream::connect(serial)
        .await
        .expect("connect to the serial line");
    let client = Client::builder()
        .timeout_scale(10.0)
        .min_timeout(Duration::from_secs(3))
        .build(tcp);
    client
        .wait_for_urc(
            PATIENCE,
            |u| matches!(u, Urc::Other(t) if t == "+QIND: PB DONE"),
        )
        .await
        .expect("the module boots when the host attaches");
    client
}

/// `"name",<size>` of a printed `AT+QFUPL="name",<size>,<timeout>`.
fn upload_args(command: &str) -> (String, usize) {
    let args = command.strip_prefix("AT+QFUPL=").expect("an upload");
    let mut parts = args.split(',');
    let name = parts.next().unwrap().trim_matches('"').to_owned();
    let size = parts.next().unwrap().parse().unwrap();
    (name, size)
}

/// `(host, port)` of a printed `AT+QMTOPEN=0,"host",port`.
fn open_args(command: &str) -> (String, u16) {
    let args = command.strip_prefix("AT+QMTOPEN=0,").expect("an open");
    let (host, port) = args.rsplit_once(',').unwrap();
    (host.trim_matches('"').to_owned(), port.parse().unwrap())
}

/// Runs the printed commands as a user would, sending the CA after CONNECT;
/// returns the `+QMTOPEN` result.
async fn follow(modem: &Client, commands: &[String], ca: &[u8]) -> i32 {
    let mut opened = None;
    for command in commands {
        if command.starts_with("AT+QFUPL=") {
            let (name, size) = upload_args(command);
            assert_eq!(size, ca.len(), "the printed size is the CA's");
            let upload = modem.qfupl(&name, ca, 100).await.expect("AT+QFUPL");
            assert_eq!(format!("{:x}", upload.checksum), qfupl_checksum(ca));
        } else if command.starts_with("AT+QMTOPEN=") {
            let (host, port) = open_args(command);
            let result = modem.qmt_open(0, &host, port).await.expect("AT+QMTOPEN");
            opened = Some(result.code());
        } else {
            modem
                .command_ok(command.as_str())
                .await
                .unwrap_or_else(|e| panic!("{command}: {e}"));
        }
    }
    opened.expect("the printed commands open a link")
}

/// MQTT over the open TLS link: CONNECT, SUBSCRIBE, a publish that comes back.
async fn round_trip(modem: &Client) {
    let conn = modem
        .qmt_conn(0, "broker-tls-test", None, None)
        .await
        .expect("AT+QMTCONN");
    assert!(conn.is_accepted(), "{conn:?}");
    let mut urcs = modem.subscribe_urcs();
    let sub = modem
        .qmt_sub(0, 1, &[("tls/echo", 1)])
        .await
        .expect("AT+QMTSUB");
    assert!(sub.is_sent(), "{sub:?}");
    modem
        .qmt_pubex(
            0,
            2,
            1,
            false,
            "tls/echo",
            b"through the built-in broker's TLS",
        )
        .await
        .expect("AT+QMTPUBEX");
    let payload = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Urc::QmtRecv { payload, .. } = urcs.recv().await.expect("URCs") {
                return payload;
            }
        }
    })
    .await
    .expect("the message comes back");
    assert_eq!(payload, b"through the built-in broker's TLS");
    modem.qmt_disc(0).await.expect("AT+QMTDISC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_tls_listener_works_with_the_printed_commands_and_state_survives_a_restart() {
    within(LIMIT, async {
        let state = ScratchDir::new("cli-state");
        let binary: Vec<u8> = (0..=255).collect();

        // First run: certificates made, TLS reached with the printed lines.
        let mut vmodem = start(state.path(), &[]);
        let banner = parse(&vmodem.banner());
        assert!(
            vmodem
                .stderr()
                .contains("made a CA and a server certificate"),
            "{}",
            vmodem.stderr()
        );
        assert_eq!(banner.ca, state.path().join("broker-tls/ca.pem"));
        let ca = std::fs::read(&banner.ca).expect("the printed CA file");
        assert_eq!(
            banner.tls_commands[..4],
            [
                format!("AT+QFUPL=\"RAM:vmodem-ca.pem\",{},100", ca.len()),
                "AT+QSSLCFG=\"cacert\",2,\"RAM:vmodem-ca.pem\"".to_owned(),
                "AT+QSSLCFG=\"seclevel\",2,1".to_owned(),
                "AT+QMTCFG=\"ssl\",0,1,2".to_owned(),
            ]
        );
        let modem = attach(banner.serial).await;
        assert_eq!(follow(&modem, &banner.tls_commands, &ca).await, 0);
        round_trip(&modem).await;

        // UFS files, one deleted again, and a RAM file that a boot loses.
        modem
            .qfupl("UFS:vmodem-ca.pem", &ca, 100)
            .await
            .expect("upload to UFS");
        modem
            .qfupl("my cert.bin", &binary, 100)
            .await
            .expect("upload a binary file with a space in its name");
        modem
            .qfupl("gone.txt", b"soon gone", 100)
            .await
            .expect("upload");
        modem.qfdel("gone.txt").await.expect("AT+QFDEL");
        let ufs = state.path().join("module-0/ufs");
        assert_eq!(std::fs::read(ufs.join("vmodem-ca.pem")).unwrap(), ca);
        assert_eq!(std::fs::read(ufs.join("my%20cert.bin")).unwrap(), binary);
        assert!(!ufs.join("gone.txt").exists());
        drop(modem);
        assert!(vmodem.terminate().success(), "{}", vmodem.stderr());

        // Second run, same state: the same CA, the UFS files back.
        let mut vmodem = start(state.path(), &[]);
        let banner = parse(&vmodem.banner());
        assert!(
            !vmodem.stderr().contains("made a CA"),
            "{}",
            vmodem.stderr()
        );
        assert_eq!(std::fs::read(&banner.ca).unwrap(), ca, "the CA is reused");
        let modem = attach(banner.serial).await;
        let entry = |name: &str, size: usize| FileEntry {
            name: name.to_owned(),
            size: size as u64,
        };
        assert_eq!(
            modem.qflst("*").await.expect("AT+QFLST"),
            [
                entry("UFS:my cert.bin", 256),
                entry("UFS:vmodem-ca.pem", ca.len())
            ]
        );
        assert_eq!(modem.qflst("RAM:*").await.expect("AT+QFLST"), []);
        // The CA kept in UFS verifies the broker, by the module's clock.
        modem
            .qsslcfg_cacert(1, "UFS:vmodem-ca.pem")
            .await
            .expect("cacert");
        modem
            .qsslcfg_seclevel(1, SecLevel::ServerAuth)
            .await
            .expect("seclevel");
        modem
            .qsslcfg_ignorelocaltime(1, false)
            .await
            .expect("ignorelocaltime");
        modem.qmt_cfg_ssl(0, Some(1)).await.expect("ssl");
        let open = banner.tls_commands.last().unwrap();
        let (host, port) = open_args(open);
        let result = modem.qmt_open(0, &host, port).await.expect("AT+QMTOPEN");
        assert_eq!(result.code(), 0, "{}", vmodem.stderr());
        round_trip(&modem).await;
        drop(modem);
        assert!(vmodem.terminate().success(), "{}", vmodem.stderr());
    })
    .await;
}

/// Issue 9: `--broker-tls --hosts NAME=127.0.0.1` puts NAME in the built-in
/// broker's certificate, so firmware with a cloud broker's name built in
/// verifies the broker (seclevel 1, the module's clock); a later run with
/// another name gets a new certificate from the same CA.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_names_go_into_the_broker_certificate_and_the_ca_stays() {
    within(LIMIT, async {
        let state = ScratchDir::new("cli-hosts");
        let mut ca_first = None;
        for name in [
            "a1zgnxur10j8ux.iot.us-east-1.amazonaws.com",
            "mqtt.example.net",
        ] {
            let hosts = format!("{name}=127.0.0.1");
            let mut vmodem = start(state.path(), &["--hosts", &hosts]);
            let text = vmodem.banner();
            assert!(
                text.contains(&format!(
                    "certificate for localhost, 127.0.0.1, ::1, {name})"
                )),
                "{text}"
            );
            let banner = parse(&text);
            let ca = std::fs::read(&banner.ca).expect("the printed CA file");
            match &ca_first {
                None => ca_first = Some(ca.clone()),
                Some(first) => {
                    assert_eq!(&ca, first, "the CA stays when the names change");
                    assert!(
                        vmodem.stderr().contains("made a new server certificate"),
                        "{}",
                        vmodem.stderr()
                    );
                }
            }
            let modem = attach(banner.serial).await;
            // The printed commands, with the cloud name in place of the IP.
            let (_, port) = open_args(banner.tls_commands.last().unwrap());
            let mut commands = banner.tls_commands.clone();
            *commands.last_mut().unwrap() = format!("AT+QMTOPEN=0,\"{name}\",{port}");
            modem
                .qsslcfg_ignorelocaltime(2, false)
                .await
                .expect("ignorelocaltime");
            assert_eq!(
                follow(&modem, &commands, &ca).await,
                0,
                "{}",
                vmodem.stderr()
            );
            round_trip(&modem).await;
            drop(modem);
            assert!(vmodem.terminate().success(), "{}", vmodem.stderr());
        }
    })
    .await;
}
