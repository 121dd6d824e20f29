//! A second opinion on framing from atat 0.25's `AtDigester` (the digester of the embedded
//! Rust AT ecosystem), run over the same byte streams as ours.
//!
//! Both digesters are reduced to a common vocabulary — URC, `Ok(info text)`, error, prompt —
//! and must agree where both are defined. atat is fed the way its ingress feeds it: bytes
//! appended to a buffer one at a time, digest, drop what was consumed.
//!
//! Where atat cannot answer, the test pins down the difference instead:
//! * numeric result codes (ATV0, `0\r`): atat does not recognise them;
//! * `+QMTRECV` payloads holding CR LF: atat cuts the URC at the first CR LF;
//! * a line with the pending command's prefix (`+QMTRECV:` lines answering `AT+QMTRECV=0`):
//!   atat has no pending command, so any line its URC parser knows is a URC;
//! * `CONNECT` (file upload): atat reports a successful response, we report a data prompt.

use atat::digest::parser::urc_helper;
use atat::digest::ParseError;
use atat::{AtDigester, DigestResult, Digester as _, Parser};
use vmodem_client::{Command, Digester, Item, Urc};

/// atat URC parser for the URCs this crate types.
enum QuectelUrcs {}

impl Parser for QuectelUrcs {
    fn parse(buf: &[u8]) -> Result<(&[u8], usize), ParseError> {
        let (_, r) = atat::nom::branch::alt((
            urc_helper("+QMTSTAT"),
            urc_helper("+QMTOPEN"),
            urc_helper("+QMTCLOSE"),
            urc_helper("+QMTCONN"),
            urc_helper("+QMTDISC"),
            urc_helper("+QMTSUB"),
            urc_helper("+QMTUNS"),
            urc_helper("+QMTPUBEX"),
            urc_helper("+QMTPUB"),
            urc_helper("+QMTPING"),
            urc_helper("+QMTRECV"),
            urc_helper("RDY"),
            urc_helper("POWERED DOWN"),
            urc_helper("+CREG"),
            urc_helper("+CGREG"),
            urc_helper("+CEREG"),
            urc_helper("+QIND"),
            urc_helper("+QUSIM"),
        ))(buf)?;
        Ok(r)
    }
}

/// The common vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Class {
    Urc,
    /// A successful response, with its information text (lines joined by CR LF).
    Ok(String),
    Error,
    Prompt,
}

fn atat_classes(stream: &[u8]) -> Vec<Class> {
    let mut d = AtDigester::<QuectelUrcs>::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for &b in stream {
        buf.push(b);
        loop {
            let (result, used) = d.digest(&buf);
            let class = match result {
                DigestResult::Urc(_) => Some(Class::Urc),
                DigestResult::Response(Ok(data)) => {
                    Some(Class::Ok(String::from_utf8_lossy(data).into_owned()))
                }
                DigestResult::Response(Err(_)) => Some(Class::Error),
                DigestResult::Prompt(_) => Some(Class::Prompt),
                DigestResult::None => None,
            };
            buf.drain(..used);
            out.extend(class.clone());
            if class.is_none() && used == 0 {
                break;
            }
        }
    }
    out
}

/// Runs our digester; `commands` are started, in order, right after each final response
/// (and the first one before any byte), as the client would.
fn our_classes(stream: &[u8], commands: &[&str]) -> Vec<Class> {
    let mut d = Digester::new();
    let mut next = commands.iter();
    if let Some(cmd) = next.next() {
        d.start(&Command::new(*cmd));
    }
    let mut out = Vec::new();
    let mut rest = stream;
    loop {
        let (item, used) = d.digest(rest);
        rest = &rest[used..];
        let Some(item) = item else { break };
        match item {
            Item::Response(resp) => {
                out.push(if resp.is_ok() {
                    let lines: Vec<String> = resp.text_lines().map(|l| l.into_owned()).collect();
                    Class::Ok(lines.join("\r\n"))
                } else {
                    Class::Error
                });
                if let Some(cmd) = next.next() {
                    d.start(&Command::new(*cmd));
                }
            }
            Item::Urc(_) => out.push(Class::Urc),
            Item::Prompt => out.push(Class::Prompt),
            Item::Echo | Item::Connect | Item::Discarded(_) => {}
            other => panic!("unexpected item {other:?}"),
        }
    }
    out
}

fn ok(text: &str) -> Class {
    Class::Ok(text.into())
}

/// `(name, commands started in order, module bytes, expected classes)`.
type Case = (&'static str, Vec<&'static str>, &'static [u8], Vec<Class>);

#[test]
fn both_digesters_agree_on_shared_ground() {
    let cases: Vec<Case> = vec![
        (
            "echo on",
            vec!["AT+CPIN?"],
            b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n",
            vec![ok("+CPIN: READY")],
        ),
        (
            "echo off",
            vec!["AT+CPIN?"],
            b"\r\n+CPIN: READY\r\n\r\nOK\r\n",
            vec![ok("+CPIN: READY")],
        ),
        (
            "information block",
            vec!["ATI"],
            b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
            vec![ok("Quectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G")],
        ),
        (
            "ERROR and +CME ERROR",
            vec!["ATBOGUS", "AT+CPIN=\"0000\""],
            b"ATBOGUS\r\r\nERROR\r\nAT+CPIN=\"0000\"\r\r\n+CME ERROR: 3\r\n",
            vec![Class::Error, Class::Error],
        ),
        (
            "URC before the echo, result URC after OK",
            vec!["AT+QMTOPEN=0,\"b\",1883", "AT"],
            b"\r\n+QMTSTAT: 0,1\r\nAT+QMTOPEN=0,\"b\",1883\r\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\nAT\r\r\nOK\r\n",
            vec![Class::Urc, ok(""), Class::Urc, ok("")],
        ),
        (
            "boot and MQTT URCs while idle",
            vec![],
            concat!(
                "\r\nRDY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n\r\n+CEREG: 1\r\n",
                "\r\n+QMTCONN: 0,0,0\r\n\r\n+QMTSUB: 0,1,0,2\r\n\r\n+QMTPUB: 0,1,0\r\n",
                "\r\n+QMTPUBEX: 0,1,1,1\r\n\r\n+QMTPING: 0,1\r\n\r\n+QMTDISC: 0,0\r\n",
                "\r\n+QMTRECV: 0,0,\"t\",4,\"a,\"b\"\r\n\r\n+QMTRECV: 0,1\r\n",
                "\r\n+QMTCLOSE: 0,0\r\n\r\nPOWERED DOWN\r\n",
            )
            .as_bytes(),
            vec![Class::Urc; 14],
        ),
        (
            "prompt, then OK and the result URC",
            vec!["AT+QMTPUBEX=0,1,1,0,\"t\",5"],
            b"AT+QMTPUBEX=0,1,1,0,\"t\",5\r\r\n> \r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n",
            vec![Class::Prompt, ok(""), Class::Urc],
        ),
    ];
    for (name, commands, stream, want) in cases {
        assert_eq!(our_classes(stream, &commands), want, "ours, case `{name}`");
        assert_eq!(atat_classes(stream), want, "atat, case `{name}`");
    }
}

#[test]
fn atat_does_not_read_numeric_result_codes() {
    let stream = b"ATI\rQuectel\r\nEC25\r\n0\r";
    assert_eq!(our_classes(stream, &["ATI"]), [ok("Quectel\r\nEC25")]);
    assert!(
        !atat_classes(stream)
            .iter()
            .any(|c| matches!(c, Class::Ok(_))),
        "atat 0.25 has no ATV0 support"
    );
}

#[test]
fn atat_cuts_a_payload_at_its_first_crlf() {
    let stream = b"\r\n+QMTRECV: 0,1,\"t\",6,\"a\r\nb\r\n\"\r\n";
    // Ours: one URC with the whole payload.
    let mut d = Digester::new();
    let (item, _) = d.digest(stream);
    assert_eq!(
        item,
        Some(Item::Urc(Urc::QmtRecv {
            client: 0,
            msg_id: 1,
            topic: "t".into(),
            payload: b"a\r\nb\r\n".to_vec(),
        }))
    );
    // atat: a URC line ending inside the payload.
    let mut atat = AtDigester::<QuectelUrcs>::new();
    match atat.digest(stream) {
        (DigestResult::Urc(line), _) => assert_eq!(line, b"+QMTRECV: 0,1,\"t\",6,\"a"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn atat_takes_prefixed_response_lines_for_urcs() {
    let stream = b"\r\n+QMTRECV: 0,1,\"t\",\"x\"\r\n\r\nOK\r\n";
    assert_eq!(
        our_classes(stream, &["AT+QMTRECV=0"]),
        [ok("+QMTRECV: 0,1,\"t\",\"x\"")]
    );
    assert_eq!(atat_classes(stream), [Class::Urc, ok("")]);
}

#[test]
fn atat_reads_connect_as_success() {
    let stream = b"\r\nCONNECT\r\n";
    assert_eq!(atat_classes(stream), [ok("")]);
    let mut d = Digester::new();
    d.start(&Command::new("AT+QFUPL=\"RAM:a\",1"));
    assert_eq!(d.digest(stream).0, Some(Item::Connect));
}
