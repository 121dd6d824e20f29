//! SSL contexts (`AT+QSSLCFG`), the application note's SSL example session,
//! and the `TlsSettings` the driver gets at `AT+QMTOPEN`.

use core::time::Duration;

use super::files::{upload, xor16};
use super::harness::{show, Harness, BOOT};
use crate::{
    CipherSuites, LinkId, ModemEvent, NetAction, NetEvent, SecLevel, SslVersion, TlsSettings,
};

/// The module's clock at the harness's start (Config's default).
const START_MS: i64 = 1_735_689_600_000;

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

/// A PEM-looking file of exactly `len` bytes, different for each length.
fn pem(kind: &str, len: usize) -> Vec<u8> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let head = format!("-----BEGIN {kind}-----\n");
    let tail = format!("-----END {kind}-----\n");
    let body_len = len - head.len() - tail.len();
    let mut body = Vec::new();
    let mut x = len as u32;
    while body.len() < body_len {
        if body.len() % 65 == 64 || body.len() == body_len - 1 {
            body.push(b'\n');
        } else {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            body.push(B64[(x >> 16) as usize % 64]);
        }
    }
    [head.into_bytes(), body, tail.into_bytes()].concat()
}

/// Sets `AT+QMTCFG="ssl"` on client 0 with context `ctx`, opens it, and
/// returns the TLS settings the driver was asked to use.
fn open_tls(h: &mut Harness, ctx: u8) -> Option<TlsSettings> {
    h.expect(
        format!("AT+QMTCFG=\"ssl\",0,1,{ctx}\r").as_bytes(),
        b"\r\nOK\r\n",
    );
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",8883\r", b"\r\nOK\r\n");
    match &h.actions()[..] {
        [NetAction::Connect { tls, port, .. }] => {
            assert_eq!(*port, 8883);
            tls.clone()
        }
        other => panic!("expected one connect, got {other:?}"),
    }
}

#[test]
fn factory_settings_read_back() {
    let mut h = quiet();
    for (name, value) in [
        ("sslversion", "4"),
        ("ciphersuite", "0XFFFF"),
        ("cacert", "\"\""),
        ("clientcert", "\"\""),
        ("clientkey", "\"\""),
        ("seclevel", "0"),
        ("ignorelocaltime", "1"),
        ("negotiatetime", "300"),
        ("sni", "0"),
    ] {
        for ctx in [0, 5] {
            h.expect(
                format!("AT+QSSLCFG=\"{name}\",{ctx}\r").as_bytes(),
                format!("\r\n+QSSLCFG: \"{name}\",{ctx},{value}\r\n\r\nOK\r\n").as_bytes(),
            );
        }
    }
}

#[test]
fn every_option_writes_and_reads_back_with_names_in_any_case() {
    let mut h = Harness::new();
    for (write, read, line) in [
        (
            "\"SSLVERSION\",1,3",
            "\"sslversion\",1",
            "\"sslversion\",1,3",
        ),
        (
            "\"ciphersuite\",1,0x0035",
            "\"CipherSuite\",1",
            "\"ciphersuite\",1,0X0035",
        ),
        (
            "\"cacert\",1,\"RAM:ca.pem\"",
            "\"cacert\",1",
            "\"cacert\",1,\"RAM:ca.pem\"",
        ),
        (
            "\"clientcert\",1,\"cc.pem\"",
            "\"clientcert\",1",
            "\"clientcert\",1,\"cc.pem\"",
        ),
        (
            "\"ClientKey\",1,\"UFS:ck.pem\"",
            "\"clientkey\",1",
            "\"clientkey\",1,\"UFS:ck.pem\"",
        ),
        ("\"seclevel\",1,2", "\"seclevel\",1", "\"seclevel\",1,2"),
        (
            "\"ignorelocaltime\",1,0",
            "\"ignorelocaltime\",1",
            "\"ignorelocaltime\",1,0",
        ),
        (
            "\"negotiatetime\",1,10",
            "\"negotiatetime\",1",
            "\"negotiatetime\",1,10",
        ),
        ("\"sni\",1,1", "\"sni\",1", "\"sni\",1,1"),
    ] {
        let cmd = format!("AT+QSSLCFG={write}\r");
        h.expect(cmd.as_bytes(), format!("{cmd}\r\nOK\r\n").as_bytes());
        let cmd = format!("AT+QSSLCFG={read}\r");
        h.expect(
            cmd.as_bytes(),
            format!("{cmd}\r\n+QSSLCFG: {line}\r\n\r\nOK\r\n").as_bytes(),
        );
    }
    // Context 0 was left alone.
    h.expect(
        b"AT+QSSLCFG=\"seclevel\",0\r",
        b"AT+QSSLCFG=\"seclevel\",0\r\r\n+QSSLCFG: \"seclevel\",0,0\r\n\r\nOK\r\n",
    );
    // An empty name unsets a file.
    h.expect(
        b"AT+QSSLCFG=\"cacert\",1,\"\"\r",
        b"AT+QSSLCFG=\"cacert\",1,\"\"\r\r\nOK\r\n",
    );
    h.expect(
        b"AT+QSSLCFG=\"cacert\",1\r",
        b"AT+QSSLCFG=\"cacert\",1\r\r\n+QSSLCFG: \"cacert\",1,\"\"\r\n\r\nOK\r\n",
    );
}

#[test]
fn cipher_suites_are_hexadecimal_bare_or_quoted() {
    let mut h = quiet();
    for (given, read) in [
        ("0X002F", "0X002F"),
        ("0xc02f", "0XC02F"),
        ("\"0xC030\"", "0XC030"),
        ("\"C02F\"", "0XC02F"),
        ("FFFF", "0XFFFF"),
        ("0x0004", "0X0004"),
    ] {
        h.expect(
            format!("AT+QSSLCFG=\"ciphersuite\",3,{given}\r").as_bytes(),
            b"\r\nOK\r\n",
        );
        h.expect(
            b"AT+QSSLCFG=\"ciphersuite\",3\r",
            format!("\r\n+QSSLCFG: \"ciphersuite\",3,{read}\r\n\r\nOK\r\n").as_bytes(),
        );
    }
    // The command defines the suite as hexadecimal (docs/decisions.md,
    // "Numeric parameters"): 65535 is 0x65535, not a suite.
    for bad in ["0x1234", "0xC001", "65535", "\"0xZZ\"", "suite", "-1"] {
        h.expect(
            format!("AT+QSSLCFG=\"ciphersuite\",3,{bad}\r").as_bytes(),
            b"\r\nERROR\r\n",
        );
    }
}

#[test]
fn the_test_form_lists_every_option() {
    let mut h = Harness::new();
    h.expect(
        b"AT+QSSLCFG=?\r",
        b"AT+QSSLCFG=?\r\r\n\
+QSSLCFG: \"sslversion\",(0-5),(0-4)\r\n\
+QSSLCFG: \"ciphersuite\",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,0XC003,0XC004,0XC005, 0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,0XC00C,0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,0XC02A,0XC02F,0XC030,0XFFFF)\r\n\
+QSSLCFG: \"cacert\",(0-5),<cacertpath>\r\n\
+QSSLCFG: \"clientcert\",(0-5),<client_cert_path>\r\n\
+QSSLCFG: \"clientkey\",(0-5),<client_key_path>\r\n\
+QSSLCFG: \"seclevel\",(0-5),(0-2)\r\n\
+QSSLCFG: \"ignorelocaltime\",(0-5),(0,1)\r\n\
+QSSLCFG: \"negotiatetime\",(0-5),(10-300)\r\n\
+QSSLCFG: \"sni\",(0-5),(0,1)\r\n\
\r\nOK\r\n",
    );
}

#[test]
fn bad_names_contexts_and_values_answer_error() {
    let mut h = quiet();
    let long = format!("\"cacert\",0,\"{}\"", "x".repeat(81));
    let longest = format!("\"cacert\",0,\"{}\"", "x".repeat(80));
    for bad in [
        "\"nosuch\",0,1",
        "\"checkhost\",0,1",
        "\"sslversion\",6,1",
        "\"sslversion\",-1",
        "\"sslversion\",0,5",
        "\"seclevel\",0,3",
        "\"ignorelocaltime\",0,2",
        "\"ignorelocaltime\",0,\"1\"",
        "\"negotiatetime\",0,9",
        "\"negotiatetime\",0,301",
        "\"sni\",0,2",
        "\"sni\",0,",
        "\"sni\"",
        "\"sni\",0,1,1",
        "\"cacert\",0,cacert.pem",
        "sni,0,1",
        long.as_str(),
    ] {
        h.expect(format!("AT+QSSLCFG={bad}\r").as_bytes(), b"\r\nERROR\r\n");
    }
    h.expect(b"AT+QSSLCFG?\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QSSLCFG\r", b"\r\nERROR\r\n");
    h.expect(format!("AT+QSSLCFG={longest}\r").as_bytes(), b"\r\nOK\r\n");
    // Limits are inclusive.
    h.expect(b"AT+QSSLCFG=\"negotiatetime\",5,300\r", b"\r\nOK\r\n");
}

#[test]
fn contexts_return_to_factory_settings_at_a_restart() {
    let mut h = quiet();
    h.expect(b"AT+QSSLCFG=\"sni\",2,1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QSSLCFG=\"cacert\",2,\"ca.pem\"\r", b"\r\nOK\r\n");
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    h.expect(
        b"AT+QSSLCFG=\"sni\",2\r",
        b"AT+QSSLCFG=\"sni\",2\r\r\n+QSSLCFG: \"sni\",2,0\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QSSLCFG=\"cacert\",2\r",
        b"AT+QSSLCFG=\"cacert\",2\r\r\n+QSSLCFG: \"cacert\",2,\"\"\r\n\r\nOK\r\n",
    );
}

/// Chapter 5's second example of the application note (echo on, as printed):
/// certificates uploaded to RAM, context 2 configured, then `AT+QMTOPEN`. The
/// files are generated here at the note's sizes; their checksums come from
/// [`xor16`], not from the module.
#[test]
fn chapter_5_ssl_example_session() {
    let ca = pem("CERTIFICATE", 1758);
    let cc = pem("CERTIFICATE", 1220);
    let ck = pem("RSA PRIVATE KEY", 1679);
    let mut h = Harness::new();
    for cmd in [
        &b"AT+QMTCFG=\"recv/mode\",0,0,1\r"[..],
        b"AT+QMTCFG=\"SSL\",0,1,2\r",
    ] {
        let mut want = cmd.to_vec();
        want.extend_from_slice(b"\r\nOK\r\n");
        h.expect(cmd, &want);
    }
    for (name, data) in [
        ("RAM:cacert.pem", &ca),
        ("RAM:client.pem", &cc),
        ("RAM:user_key.pem", &ck),
    ] {
        let cmd = format!("AT+QFUPL=\"{name}\",{},100\r", data.len());
        h.expect(cmd.as_bytes(), format!("{cmd}\r\nCONNECT\r\n").as_bytes());
        h.expect(
            data,
            format!("\r\n+QFUPL: {},{:x}\r\n\r\nOK\r\n", data.len(), xor16(data)).as_bytes(),
        );
    }
    for cmd in [
        "AT+QSSLCFG=\"cacert\",2,\"RAM:cacert.pem\"\r",
        "AT+QSSLCFG=\"clientcert\",2,\"RAM:client.pem\"\r",
        "AT+QSSLCFG=\"clientkey\",2,\"RAM:user_key.pem\"\r",
        "AT+QSSLCFG=\"seclevel\",2,2\r",
        "AT+QSSLCFG=\"sslversion\",2,4\r",
        "AT+QSSLCFG=\"ciphersuite\",2,0xFFFF\r",
        "AT+QSSLCFG=\"ignorelocaltime\",2,1\r",
        "AT+QMTOPEN=0,\"a1zgnxur10j8ux.iot.us-east-1.amazonaws.com\",8883\r",
    ] {
        h.expect(cmd.as_bytes(), format!("{cmd}\r\nOK\r\n").as_bytes());
    }
    let link = LinkId::new(0, 1);
    let tls = TlsSettings {
        seclevel: SecLevel::ServerAndClient,
        ca_cert: Some(ca),
        client_cert: Some(cc),
        client_key: Some(ck),
        local_time_ms: START_MS,
        ..TlsSettings::new(2)
    };
    assert_eq!(
        h.actions(),
        vec![NetAction::Connect {
            link,
            host: "a1zgnxur10j8ux.iot.us-east-1.amazonaws.com".into(),
            port: 8883,
            tls: Some(tls),
        }]
    );
    assert_eq!(
        show(&h.net(NetEvent::Connected { link })),
        show(b"\r\n+QMTOPEN: 0,0\r\n")
    );
}

#[test]
fn what_the_driver_gets_for_each_security_level() {
    let mut h = quiet();
    upload(&mut h, "RAM:ca.pem", b"CA PEM");
    upload(&mut h, "cc.pem", b"CLIENT CERT PEM");
    upload(&mut h, "UFS:ck.pem", b"CLIENT KEY PEM");
    for cmd in [
        &b"AT+QSSLCFG=\"cacert\",4,\"RAM:ca.pem\"\r"[..],
        b"AT+QSSLCFG=\"clientcert\",4,\"cc.pem\"\r",
        b"AT+QSSLCFG=\"clientkey\",4,\"UFS:ck.pem\"\r",
        b"AT+QSSLCFG=\"sslversion\",4,3\r",
        b"AT+QSSLCFG=\"ciphersuite\",4,0xC02F\r",
        b"AT+QSSLCFG=\"ignorelocaltime\",4,0\r",
        b"AT+QSSLCFG=\"negotiatetime\",4,60\r",
        b"AT+QSSLCFG=\"sni\",4,1\r",
    ] {
        h.expect(cmd, b"\r\nOK\r\n");
    }
    let base = TlsSettings {
        version: SslVersion::Tls1_2,
        cipher_suites: CipherSuites::Only(vec![0xC02F]),
        ignore_local_time: false,
        negotiate_timeout: Duration::from_secs(60),
        sni: true,
        ..TlsSettings::new(4)
    };
    // Level 0: nothing is verified, so no file is passed.
    let tls = open_tls(&mut h, 4).unwrap();
    assert_eq!(
        tls,
        TlsSettings {
            seclevel: SecLevel::None,
            local_time_ms: START_MS,
            ..base.clone()
        }
    );
    h.expect(b"AT+QMTCLOSE=0\r", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    h.actions();
    // Level 1: the CA certificate only; the clock has moved on.
    h.advance(Duration::from_secs(7));
    h.expect(b"AT+QSSLCFG=\"seclevel\",4,1\r", b"\r\nOK\r\n");
    let tls = open_tls(&mut h, 4).unwrap();
    assert_eq!(
        tls,
        TlsSettings {
            seclevel: SecLevel::Server,
            ca_cert: Some(b"CA PEM".to_vec()),
            local_time_ms: START_MS + 7_000,
            ..base.clone()
        }
    );
    h.expect(b"AT+QMTCLOSE=0\r", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    h.actions();
    // Level 2: the client's certificate and key too.
    h.expect(b"AT+QSSLCFG=\"seclevel\",4,2\r", b"\r\nOK\r\n");
    let tls = open_tls(&mut h, 4).unwrap();
    assert_eq!(
        tls,
        TlsSettings {
            seclevel: SecLevel::ServerAndClient,
            ca_cert: Some(b"CA PEM".to_vec()),
            client_cert: Some(b"CLIENT CERT PEM".to_vec()),
            client_key: Some(b"CLIENT KEY PEM".to_vec()),
            local_time_ms: START_MS + 7_000,
            ..base
        }
    );
    // Debug output names the key by its length only.
    let debug = format!("{tls:?}");
    assert!(debug.contains("client_key: Some(14 bytes)"), "{debug}");
    assert!(!debug.contains("75, 69, 89"), "{debug}");
}

#[test]
fn a_missing_ca_certificate_fails_the_open_at_once_a_missing_client_identity_does_not() {
    let mut h = quiet();
    h.expect(b"AT+QSSLCFG=\"seclevel\",1,1\r", b"\r\nOK\r\n");
    // Naming a file that does not exist yet is fine.
    h.expect(
        b"AT+QSSLCFG=\"cacert\",1,\"RAM:later.pem\"\r",
        b"\r\nOK\r\n",
    );
    h.expect(b"AT+QMTCFG=\"ssl\",0,1,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QMTOPEN=0,\"broker.test\",8883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,-1\r\n",
    );
    assert_eq!(h.actions(), vec![]);
    // The driver is told why, to log it: the host has no finer code.
    assert_eq!(
        h.events.pop(),
        Some(ModemEvent::OpenFailed {
            client: 0,
            reason: "seclevel 1 verifies the server against cacert, and the cacert file of SSL \
                     context 1, \"RAM:later.pem\", does not exist (AT+QFLST; upload it with \
                     AT+QFUPL)"
                .into()
        })
    );
    // The file exists now: the open goes ahead.
    upload(&mut h, "RAM:later.pem", b"CA");
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",8883\r", b"\r\nOK\r\n");
    let [NetAction::Connect { tls: Some(tls), .. }] = &h.actions()[..] else {
        panic!("expected a TLS connect")
    };
    assert_eq!(tls.ca_cert.as_deref(), Some(&b"CA"[..]));
    h.expect(b"AT+QMTCLOSE=0\r", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    h.actions();
    // Level 2 without a client key: a client certificate only "if requested
    // by the remote server", so the link is attempted without one, and the
    // driver knows why there is none (for when a server asks).
    upload(&mut h, "RAM:cc.pem", b"CC");
    h.expect(
        b"AT+QSSLCFG=\"clientcert\",1,\"RAM:cc.pem\"\r",
        b"\r\nOK\r\n",
    );
    h.expect(
        b"AT+QSSLCFG=\"clientkey\",1,\"RAM:ck.pem\"\r",
        b"\r\nOK\r\n",
    );
    h.expect(b"AT+QSSLCFG=\"seclevel\",1,2\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",8883\r", b"\r\nOK\r\n");
    let [NetAction::Connect { tls: Some(tls), .. }] = &h.actions()[..] else {
        panic!("expected a TLS connect")
    };
    assert_eq!((&tls.client_cert, &tls.client_key), (&None, &None));
    assert_eq!(
        tls.client_identity_missing.as_deref(),
        Some(
            "the clientkey file of SSL context 1, \"RAM:ck.pem\", does not exist (AT+QFLST; \
             upload it with AT+QFUPL)"
        )
    );
    h.expect(b"AT+QMTCLOSE=0\r", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    h.actions();
    // And a file lost with RAM at a restart fails a later open.
    let mut want = b"\r\nOK\r\n".to_vec();
    want.extend_from_slice(BOOT);
    h.expect(b"AT+CFUN=1,1\r", &want);
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h.expect(b"AT+QSSLCFG=\"seclevel\",1,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QSSLCFG=\"cacert\",1,\"RAM:later.pem\"\r",
        b"\r\nOK\r\n",
    );
    h.expect(b"AT+QMTCFG=\"ssl\",0,1,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QMTOPEN=0,\"broker.test\",8883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,-1\r\n",
    );
}

#[test]
fn without_ssl_the_driver_gets_no_tls() {
    let mut h = quiet();
    h.expect(b"AT+QSSLCFG=\"seclevel\",0,2\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",1883\r", b"\r\nOK\r\n");
    assert!(matches!(
        &h.actions()[..],
        [NetAction::Connect { tls: None, .. }]
    ));
}
