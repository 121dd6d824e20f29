//! Identity, PDP context and housekeeping commands.

use core::time::Duration;

use super::harness::{show, Harness};
use crate::{Config, Model, ModemEvent};

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

#[test]
fn identity_of_the_default_ec25() {
    let mut h = quiet();
    h.expect(
        b"ATI\r",
        b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
    );
    for cmd in ["AT+CGMI", "AT+GMI"] {
        h.expect(format!("{cmd}\r").as_bytes(), b"\r\nQuectel\r\n\r\nOK\r\n");
    }
    for cmd in ["AT+CGMM", "AT+GMM"] {
        h.expect(format!("{cmd}\r").as_bytes(), b"\r\nEC25\r\n\r\nOK\r\n");
    }
    for cmd in ["AT+CGMR", "AT+GMR"] {
        h.expect(
            format!("{cmd}\r").as_bytes(),
            b"\r\nEC25EFAR06A06M4G\r\n\r\nOK\r\n",
        );
    }
    for cmd in ["AT+CGSN", "AT+GSN"] {
        h.expect(
            format!("{cmd}\r").as_bytes(),
            b"\r\n866695050000009\r\n\r\nOK\r\n",
        );
    }
    h.expect(b"AT+CGSN=?\r", b"\r\nOK\r\n");
    h.expect(b"AT+CIMI\r", b"\r\n001010000000000\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QCCID\r",
        b"\r\n+QCCID: 8900101000000000001\r\n\r\nOK\r\n",
    );
    h.expect(b"ATI1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CGMI?\r", b"\r\nERROR\r\n");
}

#[test]
fn identity_follows_model_and_instance() {
    let mut h = Harness::with_config(Config {
        model: Model::Eg95,
        instance: 42,
        ..Config::default()
    });
    h.output();
    h.expect(
        b"ATE0;I\r",
        b"ATE0;I\r\r\nQuectel\r\nEG95\r\nRevision: EG95EXGAR08A05M1G\r\n\r\nOK\r\n",
    );
    let imei = h.send(b"AT+CGSN\r");
    assert!(
        show(&imei).starts_with("\\r\\n86742504000042"),
        "{}",
        show(&imei)
    );
    h.expect(b"AT+CIMI\r", b"\r\n001010000000042\r\n\r\nOK\r\n");
    for model in Model::ALL {
        let mut h = Harness::with_config(Config {
            model,
            ..Config::default()
        });
        h.output();
        let p = model.profile();
        let want = format!(
            "ATI\r\r\n{}\r\n{}\r\nRevision: {}\r\n\r\nOK\r\n",
            p.manufacturer, p.model, p.revision
        );
        h.expect(b"ATI\r", want.as_bytes());
    }
}

#[test]
fn pdp_contexts_define_query_activate_deactivate() {
    let mut h = quiet();
    h.expect(
        b"AT+CGDCONT?\r",
        b"\r\n+CGDCONT: 1,\"IP\",\"\",\"0.0.0.0\",0,0,0,0\r\n\r\nOK\r\n",
    );
    // Redefining an active context is allowed; it applies at the next activation.
    h.expect(b"AT+CGDCONT=1,\"IPV4V6\",\"iot.example\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGDCONT=2,\"ipv6\",\"v6.example\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+CGDCONT?\r",
        b"\r\n+CGDCONT: 1,\"IPV4V6\",\"iot.example\",\"0.0.0.0\",0,0,0,0\r\n+CGDCONT: 2,\"IPV6\",\"v6.example\",\"0.0.0.0\",0,0,0,0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGDCONT=2,\"X25\",\"a\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CGDCONT=17,\"IP\",\"a\"\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+CGACT?\r",
        b"\r\n+CGACT: 1,1\r\n+CGACT: 2,0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGDCONT=1\r", b"\r\n+CME ERROR: 3\r\n");
    h.expect(b"AT+CGDCONT=2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QICSGP=1\r",
        b"\r\n+QICSGP: 3,\"iot.example\",\"\",\"\",0\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QICSGP=3,1,\"apn3\",\"user\",\"pass\",1\r",
        b"\r\nOK\r\n",
    );
    h.expect(
        b"AT+QICSGP=3\r",
        b"\r\n+QICSGP: 1,\"apn3\",\"user\",\"pass\",1\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QICSGP=3,4,\"apn3\"\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QICSGP=?\r",
        b"\r\n+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)\r\n\r\nOK\r\n",
    );
    // Context 1 is the default bearer, already up: activating it again is an error.
    h.expect(b"AT+QIACT=1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QIACT=3\r", b"\r\nOK\r\n");
    h.expect(b"AT+QIACT=4\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QIACT?\r",
        b"\r\n+QIACT: 1,1,3,\"10.64.0.1\"\r\n+QIACT: 3,1,1,\"10.64.0.3\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIACT=?\r", b"\r\n+QIACT: (1-16)\r\n\r\nOK\r\n");
    h.expect(b"AT+QIDEACT=1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QIDEACT=?\r", b"\r\n+QIDEACT: (1-16)\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QIACT?\r",
        b"\r\n+QIACT: 3,1,1,\"10.64.0.3\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CGACT=1,1\r", b"\r\nOK\r\n");
    h.expect(b"AT+CGACT=0,3\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QIACT?\r",
        b"\r\n+QIACT: 1,1,3,\"10.64.0.1\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIACT=0\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QIACT\r", b"\r\nERROR\r\n");
}

#[test]
fn dns_configuration() {
    let mut h = quiet();
    h.expect(
        b"AT+QIDNSCFG=1\r",
        b"\r\n+QIDNSCFG: 1,\"10.0.0.53\",\"10.0.0.54\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIDNSCFG=1,\"8.8.8.8\",\"1.1.1.1\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QIDNSCFG=1\r",
        b"\r\n+QIDNSCFG: 1,\"8.8.8.8\",\"1.1.1.1\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QIDNSCFG=1,\"not.an.ip\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QIDNSCFG=1,\"9.9.9.9\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QIDNSCFG=1\r",
        b"\r\n+QIDNSCFG: 1,\"9.9.9.9\",\"0.0.0.0\"\r\n\r\nOK\r\n",
    );
}

#[test]
fn clock_reads_advances_with_virtual_time_and_can_be_set() {
    let mut h = quiet();
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"25/01/01,00:00:00+00\"\r\n\r\nOK\r\n",
    );
    h.advance(Duration::from_secs(3_661));
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"25/01/01,01:01:01+00\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CCLK=\"26/11/25,08:16:29+32\"\r", b"\r\nOK\r\n");
    h.advance(Duration::from_secs(1));
    h.expect(
        b"AT+CCLK?\r",
        b"\r\n+CCLK: \"26/11/25,08:16:30+32\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CCLK=\"26/13/25,08:16:29+32\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+CCLK=?\r", b"\r\nOK\r\n");
}

#[test]
fn urc_port_baud_rate_charset() {
    let mut h = quiet();
    h.expect(
        b"AT+QURCCFG=\"urcport\"\r",
        b"\r\n+QURCCFG: \"urcport\",\"usbat\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QURCCFG=\"URCPORT\",\"uart1\"\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QURCCFG=\"urcport\"\r",
        b"\r\n+QURCCFG: \"urcport\",\"uart1\"\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QURCCFG=\"urcport\",\"com9\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QURCCFG=\"other\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+IPR?\r", b"\r\n+IPR: 115200\r\n\r\nOK\r\n");
    h.expect(b"AT+IPR=921600\r", b"\r\nOK\r\n");
    assert_eq!(h.events, vec![ModemEvent::BaudRate(921_600)]);
    h.expect(b"AT+IPR?\r", b"\r\n+IPR: 921600\r\n\r\nOK\r\n");
    h.expect(b"AT+IPR=12345\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+IPR=?\r",
        b"\r\n+IPR: (4800,9600,19200,38400,57600,115200,230400,460800,921600,1000000)\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+CSCS?\r", b"\r\n+CSCS: \"GSM\"\r\n\r\nOK\r\n");
    h.expect(b"AT+CSCS=\"ira\"\r", b"\r\nOK\r\n");
    h.expect(b"AT+CSCS?\r", b"\r\n+CSCS: \"IRA\"\r\n\r\nOK\r\n");
    h.expect(b"AT+CSCS=\"EBCDIC\"\r", b"\r\nERROR\r\n");
}

#[test]
fn qcfg_settings_are_stored_and_read_back() {
    let mut h = quiet();
    h.expect(
        b"AT+QCFG=\"nwscanmode\"\r",
        b"\r\n+QCFG: \"nwscanmode\",0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"nwscanmode\",3,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCFG=\"NWSCANMODE\"\r",
        b"\r\n+QCFG: \"nwscanmode\",3\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"nwscanmode\",4\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QCFG=\"nwscanmode\",3,2\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QCFG=\"nwscanseq\",030201\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCFG=\"nwscanseq\"\r",
        b"\r\n+QCFG: \"nwscanseq\",030201\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"nwscanseq\",0303\r", b"\r\nERROR\r\n");
    // EC25-E layout: GSM/WCDMA, LTE, TD-SCDMA masks; bits the model lacks are
    // dropped, 0 keeps a mask, the 0x prefix is optional.
    h.expect(
        b"AT+QCFG=\"band\"\r",
        b"\r\n+QCFG: \"band\",0xd3,0x1a0000800d5,0x0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"band\",0x260,0x1a,0x0\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCFG=\"band\"\r",
        b"\r\n+QCFG: \"band\",0x40,0x10,0x0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"band\",0,80000,0,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCFG=\"band\"\r",
        b"\r\n+QCFG: \"band\",0x40,0x80000,0x0\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"band\",0x260\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QCFG=\"band\",0,xyz,0\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QCFG=\"servicedomain\"\r",
        b"\r\n+QCFG: \"servicedomain\",2\r\n\r\nOK\r\n",
    );
    h.expect(b"AT+QCFG=\"servicedomain\",1,1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QCFG=\"servicedomain\",3\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QCFG=\"roamservice\",255,1\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QCFG=\"roamservice\"\r",
        b"\r\n+QCFG: \"roamservice\",255\r\n\r\nOK\r\n",
    );
    // Non-volatile: a restart keeps them.
    h.send(b"AT+CFUN=1,1\r");
    h.expect(
        b"AT+QCFG=\"servicedomain\"\r",
        b"AT+QCFG=\"servicedomain\"\r\r\n+QCFG: \"servicedomain\",1\r\n\r\nOK\r\n",
    );
    h.send(b"ATE0\r");
    // iotopmode exists on the BG9x only.
    h.expect(b"AT+QCFG=\"iotopmode\"\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QCFG=?\r",
        b"\r\n+QCFG: \"nwscanmode\",(0-3),(0,1)\r\n\
          +QCFG: \"nwscanseq\",(00-0403),(0,1)\r\n\
          +QCFG: \"servicedomain\",(0-2),(0,1)\r\n\
          +QCFG: \"roamservice\",(1,2,255),(0,1)\r\n\
          +QCFG: \"band\",(0-0xFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0,1)\r\n\
          \r\nOK\r\n",
    );
}

#[test]
fn bg96_qcfg_layout_is_its_own() {
    let mut bg = Harness::with_config(Config {
        model: Model::Bg96,
        ..Config::default()
    });
    bg.output();
    bg.expect(
        b"ATE0;+QCFG=\"iotopmode\",0,1\r",
        b"ATE0;+QCFG=\"iotopmode\",0,1\r\r\nOK\r\n",
    );
    bg.expect(
        b"AT+QCFG=\"iotopmode\"\r",
        b"\r\n+QCFG: \"iotopmode\",0\r\n\r\nOK\r\n",
    );
    bg.expect(b"AT+QCFG=\"iotopmode\",3,1\r", b"\r\nERROR\r\n");
    // The BG96 manual's "any band" masks: GSM, Cat M1, Cat NB1.
    bg.expect(
        b"AT+QCFG=\"band\"\r",
        b"\r\n+QCFG: \"band\",0xf,0x400a0e189f,0xa0e189f\r\n\r\nOK\r\n",
    );
    // As drivers write it (no 0x, leading zeros): GSM none-changed, M1 B12 only, NB B20.
    bg.expect(b"AT+QCFG=\"band\",0000000F,800,80000,1\r", b"\r\nOK\r\n");
    bg.expect(
        b"AT+QCFG=\"band\"\r",
        b"\r\n+QCFG: \"band\",0xf,0x800,0x80000\r\n\r\nOK\r\n",
    );
    bg.expect(
        b"AT+QCFG=\"nwscanseq\"\r",
        b"\r\n+QCFG: \"nwscanseq\",020301\r\n\r\nOK\r\n",
    );
    // Codes stop at 03 (NB-IoT); nwscanmode has no 2 (UMTS); no CS-only domain.
    bg.expect(b"AT+QCFG=\"nwscanseq\",0204,1\r", b"\r\nERROR\r\n");
    bg.expect(b"AT+QCFG=\"nwscanmode\",2,1\r", b"\r\nERROR\r\n");
    bg.expect(b"AT+QCFG=\"servicedomain\",0,1\r", b"\r\nERROR\r\n");
    bg.expect(
        b"AT+QCFG=?\r",
        b"\r\n+QCFG: \"nwscanmode\",(0,1,3),(0,1)\r\n\
          +QCFG: \"nwscanseq\",(00-010203),(0,1)\r\n\
          +QCFG: \"servicedomain\",(1,2),(0,1)\r\n\
          +QCFG: \"roamservice\",(1,2,255),(0,1)\r\n\
          +QCFG: \"band\",(0-F),(0-7FFFFFFFFFFFFFFF),(0-7FFFFFFFFFFFFFFF),(0,1)\r\n\
          +QCFG: \"iotopmode\",(0-2),(0,1)\r\n\
          \r\nOK\r\n",
    );
    let mut bg95 = Harness::with_config(Config {
        model: Model::Bg95,
        ..Config::default()
    });
    bg95.output();
    bg95.expect(
        b"ATE0;+QCFG=\"band\"\r",
        b"ATE0;+QCFG=\"band\"\r\r\n+QCFG: \"band\",0xf,0x100002000000000f0e189f,0x10004200000000090e189f\r\n\r\nOK\r\n",
    );
}

/// One rule for numeric parameters (docs/decisions.md, "Numeric parameters"):
/// decimal everywhere, hexadecimal only where the command defines it.
#[test]
fn numbers_are_decimal_in_every_command() {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    for (line, answer) in [
        // Issue 9: these used to open client 2 and client 3, and set CMEE 2.
        ("AT+QMTOPEN=0x2,\"broker.test\",1883", "ERROR"),
        ("AT+QMTOPEN=+3,\"broker.test\",1883", "ERROR"),
        ("AT+QMTOPEN=0,\"broker.test\",0x75b", "ERROR"),
        ("AT+CMEE=0x2", "ERROR"),
        ("AT+CMEE=+2", "ERROR"),
        ("AT+QMTCFG=\"keepalive\",0,0x3c", "ERROR"),
        ("AT+QMTCFG=\"keepalive\",0x0,60", "ERROR"),
        ("AT+QMTCFG=\"timeout\",0,1e1", "ERROR"),
        ("AT+CREG=0x1", "ERROR"),
        ("AT+QFUPL=\"RAM:x\",0xA", "ERROR"),
        ("AT+QSSLCFG=\"seclevel\",0,0x1", "ERROR"),
        // Leading zeros are decimal digits like any other.
        ("AT+CMEE=02", "OK"),
        ("AT+QMTCFG=\"keepalive\",00,060", "OK"),
        // Cipher suites are hexadecimal by definition: 49199 is not 0xC02F.
        ("AT+QSSLCFG=\"ciphersuite\",0,0xC02F", "OK"),
        ("AT+QSSLCFG=\"ciphersuite\",0,C02F", "OK"),
        ("AT+QSSLCFG=\"ciphersuite\",0,49199", "ERROR"),
        // Band masks too.
        ("AT+QCFG=\"band\",0x260,0x42000000000000381A,0x0", "OK"),
        ("AT+QCFG=\"band\",260,1a,0", "OK"),
        ("AT+QCFG=\"band\",-1,0,0", "ERROR"),
    ] {
        h.expect(
            format!("{line}\r").as_bytes(),
            format!("\r\n{answer}\r\n").as_bytes(),
        );
    }
    h.expect(b"AT+CMEE?\r", b"\r\n+CMEE: 2\r\n\r\nOK\r\n");
    h.expect(
        b"AT+QMTCFG=\"keepalive\",0\r",
        b"\r\n+QMTCFG: \"keepalive\",60\r\n\r\nOK\r\n",
    );
    h.expect(
        b"AT+QSSLCFG=\"ciphersuite\",0\r",
        b"\r\n+QSSLCFG: \"ciphersuite\",0,0XC02F\r\n\r\nOK\r\n",
    );
}
