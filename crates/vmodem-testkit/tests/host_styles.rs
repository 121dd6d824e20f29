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
