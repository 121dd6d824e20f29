//! The typed commands against a real vmodem, started in-process on a real pseudo-terminal and
//! opened the way a real module's `/dev/ttyUSB2` is ([`Client::open_serial`]): what the
//! scripted fake in `client.rs` cannot prove is that the client and the module agree.

use std::time::Duration;

use vmodem_client::{
    Client, CloseResult, Error, FileEntry, FinalResult, OpenResult, Param, SecLevel, SimState,
    SslVersion, Upload, Urc,
};
use vmodem_tokio::{spawn_module, EmbeddedBroker, ModuleHandle, ModuleOptions, PtyPort};

/// A module on a fresh pseudo-terminal and a client on its device; the handle keeps it running.
async fn module() -> (Client, ModuleHandle) {
    let pty = PtyPort::open(None).expect("a pseudo-terminal");
    let device = pty.path().to_owned();
    let handle = spawn_module(pty, ModuleOptions::default()).expect("the module starts");
    // Generous: CI machines are slow, and this is a real pty and a real module.
    let client = Client::builder()
        .min_timeout(Duration::from_secs(5))
        .build(vmodem_client::serial::open(&device, 115_200).expect("the device opens"));
    (client, handle)
}

#[tokio::test]
async fn boot_and_identity_over_a_serial_device() {
    let (modem, _module) = module().await;
    modem.at().await.unwrap();
    let id = modem.ati().await.unwrap();
    assert_eq!(
        (id.manufacturer.as_str(), id.model.as_str()),
        ("Quectel", "EC25")
    );
    assert_eq!(modem.cpin().await.unwrap(), SimState::Ready);
    assert_eq!(modem.cgsn().await.unwrap().len(), 15);
    // The power-up URCs reached the stream: the device was opened without a flush.
    let first = modem.next_urc().await.unwrap();
    assert_eq!(first, Urc::Ready);
}

#[tokio::test]
async fn pdp_contexts_come_and_go() {
    let (modem, _module) = module().await;
    let contexts = modem.qiact_status().await.unwrap();
    assert_eq!(contexts.len(), 1, "{contexts:?}");
    let first = &contexts[0];
    assert_eq!((first.cid, first.active, first.context_type), (1, true, 1));
    assert_eq!(first.addresses.len(), 1);
    assert!(first.addresses[0].parse::<std::net::Ipv4Addr>().is_ok());

    // Active already: the module refuses, as docs/decisions.md says.
    assert!(matches!(
        modem.qiact(1).await,
        Err(Error::Rejected {
            result: FinalResult::Error,
            ..
        })
    ));
    modem.qideact(1).await.unwrap();
    assert!(modem.qiact_status().await.unwrap().is_empty());
    modem.qiact(1).await.unwrap();
    assert_eq!(modem.qiact_status().await.unwrap().len(), 1);
    assert!(matches!(
        modem.qiact(17).await,
        Err(Error::InvalidArgument {
            argument: "cid",
            ..
        })
    ));
}

#[tokio::test]
async fn qmtping_is_set_and_read_back() {
    let (modem, _module) = module().await;
    assert_eq!(
        modem.qmt_cfg_query(1, "qmtping").await.unwrap(),
        [Param::Int(5)]
    );
    modem.qmt_cfg_qmtping(1, 30).await.unwrap();
    assert_eq!(
        modem.qmt_cfg_query(1, "qmtping").await.unwrap(),
        [Param::Int(30)]
    );
    assert!(matches!(
        modem.qmt_cfg_qmtping(1, 61).await,
        Err(Error::InvalidArgument { .. })
    ));
}

#[tokio::test]
async fn every_ssl_option_is_written_and_read_back() {
    let (modem, _module) = module().await;
    let query = |name: &'static str| {
        let modem = modem.clone();
        async move { modem.qsslcfg_query(2, name).await.unwrap() }
    };
    modem
        .qsslcfg_sslversion(2, SslVersion::Tls1_2)
        .await
        .unwrap();
    assert_eq!(query("sslversion").await, [Param::Int(3)]);
    modem.qsslcfg_ciphersuite(2, 0x0035).await.unwrap();
    assert_eq!(query("ciphersuite").await, [Param::Raw("0X0035".into())]);
    modem.qsslcfg_ciphersuite(2, 0xFFFF).await.unwrap();
    assert_eq!(query("ciphersuite").await, [Param::Raw("0XFFFF".into())]);
    modem
        .qsslcfg_seclevel(2, SecLevel::MutualAuth)
        .await
        .unwrap();
    assert_eq!(query("seclevel").await, [Param::Int(2)]);
    modem.qsslcfg_cacert(2, "RAM:cacert.pem").await.unwrap();
    assert_eq!(query("cacert").await, [Param::Str("RAM:cacert.pem".into())]);
    modem.qsslcfg_clientcert(2, "RAM:client.pem").await.unwrap();
    assert_eq!(
        query("clientcert").await,
        [Param::Str("RAM:client.pem".into())]
    );
    modem
        .qsslcfg_clientkey(2, "RAM:user_key.pem")
        .await
        .unwrap();
    assert_eq!(
        query("clientkey").await,
        [Param::Str("RAM:user_key.pem".into())]
    );
    modem.qsslcfg_ignorelocaltime(2, true).await.unwrap();
    assert_eq!(query("ignorelocaltime").await, [Param::Int(1)]);
    modem.qsslcfg_sni(2, true).await.unwrap();
    assert_eq!(query("sni").await, [Param::Int(1)]);
    assert!(matches!(
        modem.qsslcfg_sni(6, true).await,
        Err(Error::InvalidArgument {
            argument: "ctx",
            ..
        })
    ));
}

#[tokio::test]
async fn qfupl_takes_exactly_size_bytes_and_reports_the_checksum() {
    let (modem, _module) = module().await;
    // Bytes a line discipline or a payload echo would mangle: CR, LF, Ctrl-Z, ESC, NUL, and
    // an answer-like line.
    let mut pem = b"-----BEGIN CERTIFICATE-----\r\n\x1a\x1b\0\r\nOK\r\n".to_vec();
    pem.extend((0..=255u8).cycle().take(1500));
    let upload = modem.qfupl("RAM:cacert.pem", &pem, 10).await.unwrap();
    assert_eq!(upload.size, pem.len() as u64);
    assert_eq!(upload.checksum, Upload::checksum_of(&pem));
    // The link is in step afterwards.
    modem.at().await.unwrap();

    assert_eq!(
        modem.qflst("RAM:*").await.unwrap(),
        [FileEntry {
            name: "RAM:cacert.pem".into(),
            size: pem.len() as u64
        }]
    );
    // Uploading over an existing file is refused; delete it first.
    assert!(matches!(
        modem.qfupl("RAM:cacert.pem", b"x", 10).await,
        Err(Error::Rejected { .. })
    ));
    modem.qfdel("RAM:cacert.pem").await.unwrap();
    assert!(modem.qflst("RAM:*").await.unwrap().is_empty());
    let odd = modem.qfupl("RAM:a", b"ABCDE", 5).await.unwrap();
    assert_eq!(
        odd,
        Upload {
            size: 5,
            checksum: 0x4706
        }
    );
}

#[tokio::test]
async fn mqtt_over_a_serial_device_with_echo_off() {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let (modem, _module) = module().await;
    modem.ate(false).await.unwrap();
    let port = broker.local_addr().port();
    assert_eq!(
        modem.qmt_open(3, "127.0.0.1", port).await.unwrap(),
        OpenResult::Opened
    );
    assert!(modem
        .qmt_conn(3, "vmodem-client-serial", None, None)
        .await
        .unwrap()
        .is_accepted());
    modem.qmt_sub(3, 1, &[("serial/#", 1)]).await.unwrap();
    let mut urcs = modem.subscribe_urcs();
    assert!(modem
        .qmt_pubex(3, 2, 1, false, "serial/a", b"\r\n> OK\r\n")
        .await
        .unwrap()
        .is_sent());
    let got = urcs
        .wait_for(Duration::from_secs(10), |u| {
            matches!(u, Urc::QmtRecv { .. })
        })
        .await
        .unwrap();
    assert_eq!(
        got.to_string(),
        "+QMTRECV: 3,1,\"serial/a\",8,\"\\r\\n> OK\\r\\n\""
    );
    assert_eq!(modem.qmt_disc(3).await.unwrap(), CloseResult::Closed);
}
