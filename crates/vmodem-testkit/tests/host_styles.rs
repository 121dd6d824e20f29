//! The raw hosts of `vmodem_testkit::RawHost`, in each of the three styles
//! real drivers are written in, on a real pty and on a TCP serial line.

use std::time::Duration;

use vmodem_core::Config;
use vmodem_testkit::{qfupl_checksum, within, HostStyle, Prompt, RawHost, TcpModule, TestModule};

const LIMIT: Duration = Duration::from_secs(60);

const IDENTITY: [&str; 3] = ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_style_boots_and_reads_answers_on_a_pty() {
    within(LIMIT, async {
        for style in HostStyle::ALL {
            let module = TestModule::builder().without_client().start().await;
            let mut host = RawHost::open_pty(&module, style);
            host.wait_for_boot().await;
            // Echo on: the echo of the line is not one of the answer's lines.
            let ati = host.command_ok("ATI").await;
            assert_eq!(ati.lines, IDENTITY, "{}", host.transcript());
            host.command_ok("ATE0").await;
            assert_eq!(host.command("AT+NOPE").await.result, "ERROR");
            let csq = host.command_ok("AT+CSQ").await;
            assert_eq!(csq.lines, ["+CSQ: 24,99"], "{}", host.transcript());
            drop(host);
            module.shutdown().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_style_boots_and_reads_answers_on_a_tcp_serial_line() {
    within(LIMIT, async {
        for style in HostStyle::ALL {
            let module = TcpModule::with_config(Config::default(), &[]).await;
            let mut host = module.host(style).await;
            host.wait_for_boot().await;
            let ati = host.command_ok("ATI").await;
            assert_eq!(ati.lines, IDENTITY, "{}", host.transcript());
            drop(host);
            module.shutdown().await;
        }
    })
    .await;
}

/// `CONNECT`, a payload, and the answer after it, from a CR-only host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cr_only_host_uploads_a_file_after_connect() {
    within(LIMIT, async {
        let module = TestModule::builder().without_client().start().await;
        let mut host = RawHost::open_pty(&module, HostStyle::CrOnly);
        host.wait_for_boot().await;
        let data = b"0123456789";
        let reply = host
            .send_data("AT+QFUPL=\"RAM:a.txt\",10,5", Prompt::Connect, data)
            .await;
        assert!(reply.is_ok(), "{}", host.transcript());
        assert_eq!(
            reply.lines,
            [format!("+QFUPL: 10,{}", qfupl_checksum(data))],
            "{}",
            host.transcript()
        );
        drop(host);
        module.shutdown().await;
    })
    .await;
}

/// The styles against a scripted peer (an in-memory line, no module): what
/// each writes, and that the read-until-OK host loses a URC that came in the
/// same read as the OK, with the loss in its transcript.
#[tokio::test]
async fn what_each_style_writes_and_what_read_until_ok_drops() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    for style in HostStyle::ALL {
        let (host_end, mut module_end) = tokio::io::duplex(4096);
        let peer = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while !got.ends_with(b"\r") && !got.ends_with(b"\r\n") {
                let n = module_end.read(&mut buf).await.expect("read");
                got.extend_from_slice(&buf[..n]);
            }
            // The answer and the URC in one write, as an instant module sends them.
            module_end
                .write_all(b"\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n")
                .await
                .expect("write");
            (got, module_end)
        });
        let mut host = RawHost::new(host_end, style).with_patience(Duration::from_millis(300));
        let reply = host.command("AT+QMTOPEN=0,\"h\",1").await;
        assert!(reply.is_ok() && reply.lines.is_empty(), "{reply:?}");
        let (written, _module_end) = peer.await.expect("the peer");
        let mut want = b"AT+QMTOPEN=0,\"h\",1".to_vec();
        want.extend_from_slice(style.terminator());
        assert_eq!(written, want, "{}", style.name());
        let urc = tokio::spawn(async move {
            let line = host.wait_urc("+QMTOPEN: 0,").await;
            (line, host.transcript())
        })
        .await;
        match style {
            HostStyle::CrOnly | HostStyle::CrLf => {
                assert_eq!(urc.expect("kept").0, "+QMTOPEN: 0,0")
            }
            HostStyle::ReadUntilOk => {
                let panic = urc.expect_err("the URC was dropped with the rest of the read");
                let message = panic.into_panic();
                let text = message
                    .downcast_ref::<String>()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    text.contains("no line starting with \"+QMTOPEN: 0,\""),
                    "{text}"
                );
                assert!(
                    text.contains("DROPPED by the host \\r\\n+QMTOPEN: 0,0\\r\\n"),
                    "{text}"
                );
            }
        }
    }
}
