//! Digester tables: a script of caller actions and module bytes, and the items it must yield.
//! Every table row is also replayed one byte at a time and in random chunks (proptest).

use proptest::prelude::*;

use super::*;
use crate::codes::{CmeError, OpenResult, PacketResult, StatCode};
use crate::urc::{PubForm, SimState};

/// A step of a transcript: what the caller does, or bytes from the module.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// `Digester::start` with this command line.
    Start(&'static str),
    /// Bytes from the module.
    Rx(&'static [u8]),
    /// `Digester::payload_sent`.
    Sent(&'static [u8]),
    /// `Digester::abandon`.
    Abandon,
}
use Act::{Abandon, Rx, Sent, Start};

/// Items in a form that is easy to write in a table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Echo,
    Resp(Vec<Vec<u8>>, FinalResult),
    Urc(Urc),
    Prompt,
    Connect,
    Drop(DiscardReason),
}

fn got(item: Item) -> Got {
    match item {
        Item::Echo => Got::Echo,
        Item::Response(r) => Got::Resp(r.lines, r.result),
        Item::Urc(u) => Got::Urc(u),
        Item::Prompt => Got::Prompt,
        Item::Connect => Got::Connect,
        Item::Discarded(d) => Got::Drop(d.reason),
    }
}

fn ok(lines: &[&[u8]]) -> Got {
    Got::Resp(lines.iter().map(|l| l.to_vec()).collect(), FinalResult::Ok)
}

fn res(lines: &[&[u8]], result: FinalResult) -> Got {
    Got::Resp(lines.iter().map(|l| l.to_vec()).collect(), result)
}

fn urc(line: &[u8]) -> Got {
    Got::Urc(Urc::parse(line).expect("test URC must parse"))
}

/// Runs a transcript, splitting every `Rx` into chunks whose sizes cycle through `chunks`
/// (an empty `chunks` feeds each `Rx` whole).
fn run_chunked(d: &mut Digester, script: &[Act], chunks: &[usize]) -> Vec<Got> {
    let mut out = Vec::new();
    let mut sizes = chunks.iter().copied().cycle();
    for act in script {
        match *act {
            Start(text) => d.start(&Command::new(text)),
            Sent(payload) => d.payload_sent(payload),
            Abandon => d.abandon(),
            Rx(bytes) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = if chunks.is_empty() {
                        rest.len()
                    } else {
                        sizes.next().unwrap_or(1).clamp(1, rest.len())
                    };
                    let mut chunk = &rest[..n];
                    rest = &rest[n..];
                    loop {
                        let (item, used) = d.digest(chunk);
                        chunk = &chunk[used..];
                        match item {
                            Some(item) => out.push(got(item)),
                            None => break,
                        }
                    }
                    assert!(chunk.is_empty(), "digest must consume what it is given");
                }
            }
        }
    }
    out
}

fn run(script: &[Act]) -> Vec<Got> {
    let whole = run_chunked(&mut Digester::new(), script, &[]);
    let bytewise = run_chunked(&mut Digester::new(), script, &[1]);
    assert_eq!(
        whole, bytewise,
        "byte-at-a-time feeding must give the same items"
    );
    whole
}

fn check(name: &str, script: &[Act], want: &[Got]) {
    assert_eq!(run(script), want, "case `{name}`");
}

#[test]
fn echo_on_and_off() {
    check(
        "echo on",
        &[
            Start("AT+CPIN?"),
            Rx(b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        ],
        &[Got::Echo, ok(&[b"+CPIN: READY"])],
    );
    check(
        "echo off",
        &[Start("AT+CPIN?"), Rx(b"\r\n+CPIN: READY\r\n\r\nOK\r\n")],
        &[ok(&[b"+CPIN: READY"])],
    );
    check(
        "echo of a lower-case command",
        &[Start("at"), Rx(b"at\r\r\nOK\r\n")],
        &[Got::Echo, ok(&[])],
    );
    check(
        "ATE0 is echoed, then echo is off",
        &[
            Start("ATE0"),
            Rx(b"ATE0\r\r\nOK\r\n"),
            Start("AT"),
            Rx(b"\r\nOK\r\n"),
        ],
        &[Got::Echo, ok(&[]), ok(&[])],
    );
}

#[test]
fn echo_mode_is_learned() {
    let mut d = Digester::new();
    assert_eq!(d.echo_mode(), EchoMode::Unknown);
    run_chunked(&mut d, &[Start("AT"), Rx(b"AT\r\r\nOK\r\n")], &[]);
    assert_eq!(d.echo_mode(), EchoMode::On);
    run_chunked(
        &mut d,
        &[Start("ATQ0V1E0"), Rx(b"ATQ0V1E0\r\r\nOK\r\n")],
        &[],
    );
    assert_eq!(d.echo_mode(), EchoMode::Off);
    run_chunked(&mut d, &[Start("ATE1"), Rx(b"\r\nOK\r\n")], &[]);
    assert_eq!(d.echo_mode(), EchoMode::On);
    run_chunked(&mut d, &[Rx(b"\r\nRDY\r\n")], &[]);
    assert_eq!(d.echo_mode(), EchoMode::Unknown);
    run_chunked(&mut d, &[Start("AT"), Rx(b"\r\nOK\r\n")], &[]);
    assert_eq!(d.echo_mode(), EchoMode::Off);
    // A refused ATE1 changes nothing but what was observed.
    run_chunked(&mut d, &[Start("ATE1"), Rx(b"\r\nERROR\r\n")], &[]);
    assert_eq!(d.echo_mode(), EchoMode::Off);
}

#[test]
fn a_response_line_equal_to_the_command_is_not_its_echo() {
    check(
        "echo off: AT+CLAC lists AT+CLAC",
        &[
            Start("AT"),
            Rx(b"\r\nOK\r\n"),
            Start("AT+CLAC"),
            Rx(b"\r\nAT&F\r\nAT+CGMI\r\nAT+CLAC\r\nAT+CMEE\r\n\r\nOK\r\n"),
        ],
        &[ok(&[]), ok(&[b"AT&F", b"AT+CGMI", b"AT+CLAC", b"AT+CMEE"])],
    );
    check(
        "echo unknown: a bare line first rules out a later echo",
        &[Start("AT+CLAC"), Rx(b"\r\nAT&F\r\nAT+CLAC\r\n\r\nOK\r\n")],
        &[ok(&[b"AT&F", b"AT+CLAC"])],
    );
    check(
        "echo on: the echo comes first, the listed line is content",
        &[Start("AT+CLAC"), Rx(b"AT+CLAC\r\r\nAT+CLAC\r\n\r\nOK\r\n")],
        &[Got::Echo, ok(&[b"AT+CLAC"])],
    );
}

#[test]
fn result_format_is_learned() {
    check(
        "verbose known: a lone 0 is an information line",
        &[
            Start("AT"),
            Rx(b"\r\nOK\r\n"),
            Start("ATS0?"),
            Rx(b"\r\n0\r\n\r\nOK\r\n"),
            Rx(b"\r\n4\r\n"),
        ],
        &[ok(&[]), ok(&[b"0"]), urc(b"4")],
    );
    check(
        "ATV0 answers in the new format, ATV1 in the old one",
        &[
            Start("AT"),
            Rx(b"\r\nOK\r\n"),
            Start("ATV0"),
            Rx(b"0\r"),
            Start("ATS0?"),
            Rx(b"000\r\n0\r"),
            Start("ATV1"),
            Rx(b"0\r"),
            Start("AT"),
            Rx(b"\r\nOK\r\n"),
            Rx(b"\r\n0\r\n"),
        ],
        &[ok(&[]), ok(&[]), ok(&[b"000"]), ok(&[]), ok(&[]), urc(b"0")],
    );
    check(
        "numeric known: a stray 0 while idle is a late result",
        &[Start("ATV0"), Rx(b"0\r"), Rx(b"0\r")],
        &[ok(&[]), Got::Drop(DiscardReason::StrayResult)],
    );
}

#[test]
fn information_blocks_and_results() {
    check(
        "ATI",
        &[
            Start("ATI"),
            Rx(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Echo,
            ok(&[b"Quectel", b"EC25", b"Revision: EC25EFAR06A06M4G"]),
        ],
    );
    check(
        "multi-line test command",
        &[
            Start("AT+CGDCONT=?"),
            Rx(b"\r\n+CGDCONT: (1-5),\"IP\",,,(0),(0),(0)\r\n+CGDCONT: (1-5),\"IPV6\",,,(0),(0),(0)\r\n\r\nOK\r\n"),
        ],
        &[ok(&[
            b"+CGDCONT: (1-5),\"IP\",,,(0),(0),(0)",
            b"+CGDCONT: (1-5),\"IPV6\",,,(0),(0),(0)",
        ])],
    );
    check(
        "ERROR",
        &[Start("ATBOGUS"), Rx(b"ATBOGUS\r\r\nERROR\r\n")],
        &[Got::Echo, res(&[], FinalResult::Error)],
    );
    check(
        "+CME ERROR numeric",
        &[
            Start("AT+CPIN=\"0000\""),
            Rx(b"AT+CPIN=\"0000\"\r\r\n+CME ERROR: 3\r\n"),
        ],
        &[
            Got::Echo,
            res(&[], FinalResult::CmeError(CmeError::Code(3))),
        ],
    );
    check(
        "+CME ERROR text",
        &[
            Start("AT+CPIN?"),
            Rx(b"\r\n+CME ERROR: SIM not inserted\r\n"),
        ],
        &[res(
            &[],
            FinalResult::CmeError(CmeError::Text("SIM not inserted".into())),
        )],
    );
    check(
        "numeric ATV0: info lines end CR LF, results are 0\\r and 4\\r",
        &[
            Start("ATI"),
            Rx(b"ATI\rQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n0\r"),
            Start("AT+QMTCFG=\"x\",0"),
            Rx(b"AT+QMTCFG=\"x\",0\r4\r"),
            Start("AT+CPIN?"),
            Rx(b"AT+CPIN?\r+CME ERROR: 10\r\n"),
            Start("AT+CSQ"),
            Rx(b"AT+CSQ\r+CSQ: 99,99\r\n0\r"),
        ],
        &[
            Got::Echo,
            ok(&[b"Quectel", b"EC25", b"Revision: EC25EFAR06A06M4G"]),
            Got::Echo,
            res(&[], FinalResult::Error),
            Got::Echo,
            res(&[], FinalResult::CmeError(CmeError::Code(10))),
            Got::Echo,
            ok(&[b"+CSQ: 99,99"]),
        ],
    );
    check(
        "numeric ATV0 without echo, URC in V0 framing after the result",
        &[
            Start("AT+QMTOPEN=0,\"h\",1883"),
            Rx(b"0\r+QMTOPEN: 0,0\r\n"),
        ],
        &[ok(&[]), urc(b"+QMTOPEN: 0,0")],
    );
}

#[test]
fn urcs_around_commands() {
    check(
        "URC before the echo",
        &[
            Start("AT+QMTOPEN?"),
            Rx(b"\r\n+QMTSTAT: 0,1\r\nAT+QMTOPEN?\r\r\n+QMTOPEN: 0,\"h\",1883\r\n\r\nOK\r\n"),
        ],
        &[
            urc(b"+QMTSTAT: 0,1"),
            Got::Echo,
            ok(&[b"+QMTOPEN: 0,\"h\",1883"]),
        ],
    );
    check(
        "URC before the response, echo off",
        &[
            Start("AT+QMTOPEN?"),
            Rx(b"\r\n+QMTSTAT: 0,1\r\n\r\n+QMTOPEN: 0,\"h\",1883\r\n\r\nOK\r\n"),
        ],
        &[urc(b"+QMTSTAT: 0,1"), ok(&[b"+QMTOPEN: 0,\"h\",1883"])],
    );
    check(
        "boot URCs before the echo keep their order, the command's own prefix included",
        &[
            Start("AT+CPIN?"),
            Rx(
                b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\
                 AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n",
            ),
        ],
        &[
            urc(b"RDY"),
            urc(b"+CFUN: 1"),
            urc(b"+CPIN: READY"),
            urc(b"+QUSIM: 1"),
            Got::Echo,
            ok(&[b"+CPIN: READY"]),
        ],
    );
    check(
        "a boot URC with the command's own prefix just before its echo",
        &[
            Start("AT+CPIN?"),
            Rx(b"\r\n+CPIN: READY\r\nAT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Urc(Urc::Cpin(SimState::Ready)),
            Got::Echo,
            ok(&[b"+CPIN: READY"]),
        ],
    );
    check(
        "open: OK, then the result as a URC, then the next command",
        &[
            Start("AT+QMTOPEN=0,\"broker\",1883"),
            Rx(b"AT+QMTOPEN=0,\"broker\",1883\r\r\nOK\r\n"),
            Rx(b"\r\n+QMTOPEN: 0,0\r\n"),
            Start("AT+QMTCONN=0,\"id\""),
            Rx(b"AT+QMTCONN=0,\"id\"\r\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n"),
        ],
        &[
            Got::Echo,
            ok(&[]),
            Got::Urc(Urc::QmtOpen {
                client: 0,
                result: OpenResult::Opened,
            }),
            Got::Echo,
            ok(&[]),
            urc(b"+QMTCONN: 0,0,0"),
        ],
    );
    check(
        "write forms with a URC result own no lines, even echo off",
        &[
            Start("AT+QMTSUB=0,1,\"t\",1"),
            Rx(b"\r\n+QMTSUB: 1,9,0,1\r\n\r\nOK\r\n\r\n+QMTSUB: 0,1,0,1\r\n"),
        ],
        &[urc(b"+QMTSUB: 1,9,0,1"), ok(&[]), urc(b"+QMTSUB: 0,1,0,1")],
    );
    check(
        "a bare URC during a command is still a URC",
        &[Start("ATI"), Rx(b"\r\nRDY\r\n\r\nQuectel\r\n\r\nOK\r\n")],
        &[Got::Urc(Urc::Ready), ok(&[b"Quectel"])],
    );
    check(
        "a BG9x's APP RDY during a command is a URC, not ATI's answer",
        &[
            Start("ATI"),
            Rx(b"\r\nAPP RDY\r\n\r\nQuectel\r\n\r\nOK\r\n"),
        ],
        &[urc(b"APP RDY"), ok(&[b"Quectel"])],
    );
}

#[test]
fn every_urc_while_idle() {
    check(
        "boot and MQTT URCs",
        &[Rx(concat!(
            "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n",
            "\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n\r\n+CREG: 1\r\n",
            "\r\n+CGREG: 1,\"1A2B\",\"0001\",7\r\n\r\n+CEREG: 5\r\n",
            "\r\n+QMTOPEN: 0,-1\r\n\r\n+QMTCLOSE: 0,0\r\n\r\n+QMTCONN: 0,0,4\r\n",
            "\r\n+QMTDISC: 0,0\r\n\r\n+QMTSUB: 0,1,0,0,1\r\n\r\n+QMTUNS: 0,2,0\r\n",
            "\r\n+QMTPUB: 0,3,1,1\r\n\r\n+QMTPUBEX: 0,3,2\r\n\r\n+QMTSTAT: 0,5\r\n",
            "\r\n+QMTPING: 0,1\r\n\r\n+QMTRECV: 0,2\r\n",
            "\r\n+QMTRECV: 0,0,\"t\",\"p\"\r\n\r\nPOWERED DOWN\r\n",
        )
        .as_bytes())],
        &[
            Got::Urc(Urc::Ready),
            Got::Urc(Urc::Cfun { fun: 1 }),
            Got::Urc(Urc::Cpin(SimState::Ready)),
            urc(b"+QUSIM: 1"),
            urc(b"+QIND: SMS DONE"),
            urc(b"+QIND: PB DONE"),
            urc(b"+CREG: 1"),
            urc(b"+CGREG: 1,\"1A2B\",\"0001\",7"),
            urc(b"+CEREG: 5"),
            Got::Urc(Urc::QmtOpen {
                client: 0,
                result: OpenResult::FailedToOpen,
            }),
            urc(b"+QMTCLOSE: 0,0"),
            urc(b"+QMTCONN: 0,0,4"),
            urc(b"+QMTDISC: 0,0"),
            urc(b"+QMTSUB: 0,1,0,0,1"),
            urc(b"+QMTUNS: 0,2,0"),
            Got::Urc(Urc::QmtPub {
                client: 0,
                msg_id: 3,
                result: PacketResult::Retransmission,
                value: Some(1),
                form: PubForm::Pub,
            }),
            Got::Urc(Urc::QmtPub {
                client: 0,
                msg_id: 3,
                result: PacketResult::Failed,
                value: None,
                form: PubForm::PubEx,
            }),
            Got::Urc(Urc::QmtStat {
                client: 0,
                code: StatCode::Disconnected,
            }),
            urc(b"+QMTPING: 0,1"),
            Got::Urc(Urc::QmtRecvStored {
                client: 0,
                recv_id: 2,
            }),
            urc(b"+QMTRECV: 0,0,\"t\",\"p\""),
            Got::Urc(Urc::PoweredDown),
        ],
    );
}

fn recv(client: u8, msg_id: u16, topic: &str, payload: &[u8]) -> Got {
    Got::Urc(Urc::QmtRecv {
        client,
        msg_id,
        topic: topic.into(),
        payload: payload.into(),
    })
}

#[test]
fn qmtrecv_payloads() {
    check(
        "length field: quotes, commas, CR LF, NUL and a fake OK inside",
        &[Rx(b"\r\n+QMTRECV: 0,1,\"a/b\",16,\"x\",\"\r\n\0\r\nOK\r\n\"\r\n\"\r\n\r\n+QMTSTAT: 0,1\r\n")],
        &[
            recv(0, 1, "a/b", b"x\",\"\r\n\0\r\nOK\r\n\"\r\n"),
            urc(b"+QMTSTAT: 0,1"),
        ],
    );
    check(
        "length field: empty payload",
        &[Rx(b"\r\n+QMTRECV: 0,0,\"t\",0,\"\"\r\n")],
        &[recv(0, 0, "t", b"")],
    );
    check(
        "no length: quotes, commas and lone CR/LF are payload",
        &[Rx(b"\r\n+QMTRECV: 0,0,\"t\",\"{\"a\":1,\r\"b\"\n}\"\r\n")],
        &[recv(0, 0, "t", b"{\"a\":1,\r\"b\"\n}")],
    );
    check(
        "no length: the first quote-CR-LF ends the payload (documented cut)",
        &[Rx(b"\r\n+QMTRECV: 0,0,\"t\",\"ab\"\r\ncd\"\r\n")],
        &[recv(0, 0, "t", b"ab"), urc(b"cd\"")],
    );
    check(
        "stored-message notice",
        &[Rx(b"\r\n+QMTRECV: 3,4\r\n")],
        &[Got::Urc(Urc::QmtRecvStored {
            client: 3,
            recv_id: 4,
        })],
    );
    check(
        "buffer read: lines with raw payloads belong to AT+QMTRECV=0",
        &[
            Start("AT+QMTRECV=0"),
            Rx(b"AT+QMTRECV=0\r\r\n+QMTRECV: 0,1,\"t\",4,\"\r\nOK\"\r\n+QMTRECV: 0,2,\"t\",\"b\"\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Echo,
            ok(&[
                b"+QMTRECV: 0,1,\"t\",4,\"\r\nOK\"",
                b"+QMTRECV: 0,2,\"t\",\"b\"",
            ]),
        ],
    );
    check(
        "buffer status read",
        &[
            Start("AT+QMTRECV?"),
            Rx(b"\r\n+QMTRECV: 0,1,0,0,0,0\r\n\r\nOK\r\n"),
        ],
        &[ok(&[b"+QMTRECV: 0,1,0,0,0,0"])],
    );
    check(
        "a +QMTRECV URC during another command",
        &[
            Start("AT+CSQ"),
            Rx(b"\r\n+QMTRECV: 0,0,\"t\",3,\"\r\n\r\"\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        ],
        &[recv(0, 0, "t", b"\r\n\r"), ok(&[b"+CSQ: 20,99"])],
    );
}

#[test]
fn garbage_and_limits() {
    check(
        "binary noise is dropped, the next URC still parses",
        &[Rx(b"\xff\xfe\x00\r\n\r\n+QMTSTAT: 0,1\r\n")],
        &[Got::Drop(DiscardReason::Garbage), urc(b"+QMTSTAT: 0,1")],
    );
    check(
        "text noise while idle is an Other URC",
        &[Rx(b"\r\nhello\r\n")],
        &[urc(b"hello")],
    );
    check(
        "stray OK while idle",
        &[Rx(b"\r\nOK\r\n")],
        &[Got::Drop(DiscardReason::StrayResult)],
    );
    check(
        "a lone > while idle is not a prompt",
        &[Rx(b"\r\n> \r\n")],
        &[urc(b"> ")],
    );
    check(
        "stray Ctrl-Z / ESC bytes are ignored",
        &[Start("AT"), Rx(b"\x1a\r\nOK\r\n")],
        &[ok(&[])],
    );
}

#[test]
fn over_long_lines_are_skipped_with_bounded_memory() {
    let limits = Limits {
        max_line: 32,
        max_payload: 8,
        max_response: 24,
    };
    let script: &[Act] = &[
        Rx(b"\r\n0123456789abcdef0123456789abcdefXYZ\r\n\r\n+QMTSTAT: 0,1\r\n"),
        Rx(b"\r\n+QMTRECV: 0,1,\"t\",10,\"0123456789\"\r\n"),
        Rx(b"\r\n+QMTRECV: 0,1,\"t\",\"0123456789\"\r\n"),
        Rx(b"\r\n+QMTRECV: 0,1,\"t\",8,\"01234567\"\r\n"),
        Start("AT+X"),
        Rx(b"\r\n+X: 0123456789\r\n+X: 0123456789\r\n+X: 1\r\n\r\nOK\r\n"),
    ];
    let want = vec![
        Got::Drop(DiscardReason::LineTooLong),
        urc(b"+QMTSTAT: 0,1"),
        Got::Drop(DiscardReason::PayloadTooLarge),
        Got::Drop(DiscardReason::PayloadTooLarge),
        recv(0, 1, "t", b"01234567"),
        Got::Drop(DiscardReason::ResponseTooLarge),
        ok(&[b"+X: 0123456789", b"+X: 1"]),
    ];
    for chunks in [&[][..], &[1], &[3, 7]] {
        let mut d = Digester::with_limits(limits);
        assert_eq!(run_chunked(&mut d, script, chunks), want);
    }
    // An endless line without terminator never grows the buffer past the cap.
    let mut d = Digester::with_limits(limits);
    for _ in 0..1000 {
        let (item, _) = d.digest(b"garbage-without-end ");
        assert!(item.is_none());
        assert!(d.buffered() <= limits.max_line + 1);
    }
}

#[test]
fn data_entry() {
    check(
        "QMTPUBEX, echo on, payload echoed",
        &[
            Start("AT+QMTPUBEX=0,1,1,0,\"t\",5"),
            Rx(b"AT+QMTPUBEX=0,1,1,0,\"t\",5\r\r\n> "),
            Sent(b"hello"),
            Rx(b"hello\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n"),
        ],
        &[Got::Echo, Got::Prompt, ok(&[]), urc(b"+QMTPUBEX: 0,1,0")],
    );
    check(
        "QMTPUBEX, echo on, payload not echoed",
        &[
            Start("AT+QMTPUBEX=0,1,1,0,\"t\",5"),
            Rx(b"AT+QMTPUBEX=0,1,1,0,\"t\",5\r\r\n> "),
            Sent(b"hello"),
            Rx(b"\r\nOK\r\n"),
        ],
        &[Got::Echo, Got::Prompt, ok(&[])],
    );
    check(
        "echoed payload that looks like a response is not one",
        &[
            Start("AT+QMTPUBEX=0,0,0,0,\"t\",8"),
            Rx(b"AT+QMTPUBEX=0,0,0,0,\"t\",8\r\r\n> "),
            Sent(b"\r\nOK\r\nx\r"),
            Rx(b"\r\nOK\r\nx\r\r\nOK\r\n"),
        ],
        &[Got::Echo, Got::Prompt, ok(&[])],
    );
    check(
        "payload echo prefix that diverges is given back",
        &[
            Start("AT+QMTPUBEX=0,0,0,0,\"t\",4"),
            Rx(b"AT+QMTPUBEX=0,0,0,0,\"t\",4\r\r\n> "),
            Sent(b"\r\nOX"),
            Rx(b"\r\nOK\r\n"),
        ],
        &[Got::Echo, Got::Prompt, ok(&[])],
    );
    check(
        "QMTPUBEX, echo off, prompt without space",
        &[
            Start("AT+QMTPUBEX=0,0,0,0,\"t\",2"),
            Rx(b"\r\n>"),
            Sent(b"hi"),
            Rx(b"\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n"),
        ],
        &[Got::Prompt, ok(&[]), urc(b"+QMTPUBEX: 0,0,0")],
    );
    check(
        "QMTPUBEX refused before the prompt",
        &[Start("AT+QMTPUBEX=0,1,1,0,\"t\",5"), Rx(b"\r\nERROR\r\n")],
        &[res(&[], FinalResult::Error)],
    );
    check(
        "QMTPUB, Ctrl-Z form",
        &[
            Start("AT+QMTPUB=0,0,0,0,\"t\""),
            Rx(b"AT+QMTPUB=0,0,0,0,\"t\"\r\r\n> "),
            Sent(b"data"),
            Rx(b"data\x1a\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n"),
        ],
        &[Got::Echo, Got::Prompt, ok(&[]), urc(b"+QMTPUB: 0,0,0")],
    );
    check(
        "QFUPL: CONNECT, data, +QFUPL line and OK",
        &[
            Start("AT+QFUPL=\"RAM:ca.pem\",5,10"),
            Rx(b"AT+QFUPL=\"RAM:ca.pem\",5,10\r\r\nCONNECT\r\n"),
            Sent(b"-----"),
            Rx(b"\r\n+QFUPL: 5,2d2d\r\n\r\nOK\r\n"),
        ],
        &[Got::Echo, Got::Connect, ok(&[b"+QFUPL: 5,2d2d"])],
    );
    check(
        "QFUPL data is never echoed, even when the answer starts like it",
        &[
            Start("AT+QFUPL=\"RAM:x\",4,10"),
            Rx(b"AT+QFUPL=\"RAM:x\",4,10\r\r\nCONNECT\r\n"),
            Sent(b"\r\n+Q"),
            Rx(b"\r\n+QFUPL: 4,605b\r\n\r\nOK\r\n"),
        ],
        &[Got::Echo, Got::Connect, ok(&[b"+QFUPL: 4,605b"])],
    );
    check(
        "QFUPL in ATV0: CONNECT is 1",
        &[
            Start("AT+QFUPL=\"RAM:a\",1"),
            Rx(b"1\r"),
            Sent(b"x"),
            Rx(b"+QFUPL: 1,7800\r\n0\r"),
        ],
        &[Got::Connect, ok(&[b"+QFUPL: 1,7800"])],
    );
}

#[test]
fn after_a_timeout() {
    check(
        "echo on: the late tail before the next echo is dropped",
        &[
            Start("AT"),
            Rx(b"AT\r\r\nOK\r\n"),
            Start("AT+CLAC"),
            Rx(b"AT+CLAC\r\r\nATD*99\r\nATE\r\n"),
            Abandon,
            Start("AT+CFUN=?"),
            Rx(b"AT+QMTCFG\r\n+QMTSTAT: 0,1\r\nA/\r\n\r\nOK\r\n"),
            Rx(b"AT+CFUN=?\r\r\n+CFUN: (0-1,4),(0-1)\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Echo,
            ok(&[]),
            Got::Echo,
            Got::Drop(DiscardReason::Stale),
            urc(b"+QMTSTAT: 0,1"),
            Got::Drop(DiscardReason::Stale),
            Got::Drop(DiscardReason::StrayResult),
            Got::Echo,
            ok(&[b"+CFUN: (0-1,4),(0-1)"]),
        ],
    );
    check(
        "idle: late lines and result are dropped, typed URCs pass, then all is normal",
        &[
            Start("AT+COPS=?"),
            Abandon,
            Rx(b"\r\n+COPS: (1,\"x\")\r\n\r\n+QMTSTAT: 0,1\r\n\r\nOK\r\n\r\n+QIND: PB DONE\r\n"),
        ],
        &[
            Got::Drop(DiscardReason::Stale),
            urc(b"+QMTSTAT: 0,1"),
            Got::Drop(DiscardReason::StrayResult),
            urc(b"+QIND: PB DONE"),
        ],
    );
    check(
        "echo off: the next command takes the late answer, its own is dropped",
        &[
            Start("AT+COPS?"),
            Abandon,
            Start("AT+CSQ"),
            Rx(b"\r\nOK\r\n"),
            Rx(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        ],
        &[
            ok(&[]),
            urc(b"+CSQ: 20,99"),
            Got::Drop(DiscardReason::StrayResult),
        ],
    );
    check(
        "echo unknown: a late echo reveals the misattribution",
        &[
            Start("AT+COPS?"),
            Abandon,
            Start("AT+CSQ"),
            Rx(b"\r\n+COPS: 0\r\n\r\nOK\r\n"),
            Rx(b"AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Drop(DiscardReason::Stale),
            ok(&[]),
            Got::Drop(DiscardReason::Stale),
            Got::Drop(DiscardReason::Stale),
            Got::Drop(DiscardReason::StrayResult),
        ],
    );
    check(
        "a late prompt for an abandoned publish is still reported",
        &[
            Start("AT+QMTPUB=0,0,0,0,\"t\""),
            Abandon,
            Rx(b"\r\n> "),
            Sent(b""),
            Rx(b"\r\nERROR\r\n"),
        ],
        &[Got::Prompt, Got::Drop(DiscardReason::StrayResult)],
    );
    check(
        "a late CONNECT for an abandoned upload is still reported",
        &[
            Start("AT+QFUPL=\"RAM:a\",1"),
            Abandon,
            Rx(b"\r\nCONNECT\r\n"),
            Sent(b"x"),
            Rx(b"\r\n+QFUPL: 1,7800\r\n\r\nOK\r\n"),
        ],
        &[
            Got::Connect,
            Got::Drop(DiscardReason::Stale),
            Got::Drop(DiscardReason::StrayResult),
        ],
    );
}

/// A long transcript touching every rule, for the chunking property.
const TRANSCRIPT: &[Act] = &[
    Rx(b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n"),
    Start("ATE1"),
    Rx(b"ATE1\r\r\nOK\r\n"),
    Start("ATI"),
    Rx(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n"),
    Start("AT+QMTOPEN=0,\"b\",1883"),
    Rx(b"\r\n+QMTSTAT: 1,1\r\nAT+QMTOPEN=0,\"b\",1883\r\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n"),
    Start("AT+QMTPUBEX=0,1,1,0,\"t\",6"),
    Rx(b"AT+QMTPUBEX=0,1,1,0,\"t\",6\r\r\n> "),
    Sent(b"a\r\nb\"c"),
    Rx(b"a\r\nb\"c\r\nOK\r\n\r\n+QMTPUBEX: 0,1,1,1\r\n\r\n+QMTPUBEX: 0,1,0\r\n"),
    Rx(b"\r\n+QMTRECV: 0,5,\"t\",7,\"\"\r\n,\0\"x\"\r\n"),
    Rx(b"\r\n+QMTRECV: 0,0,\"t\",\"plain, \"quoted\"\"\r\n"),
    Start("AT+QMTRECV=0"),
    Rx(b"AT+QMTRECV=0\r\r\n+QMTRECV: 0,1,\"t\",2,\"\r\n\"\r\n\r\nOK\r\n"),
    Start("AT+CLAC"),
    Rx(b"AT+CLAC\r\r\nAT+X\r\n"),
    Abandon,
    Start("ATE0"),
    Rx(b"AT+Y\r\n\r\nOK\r\nATE0\r\r\nOK\r\n"),
    Start("AT+CSQ"),
    Rx(b"\xff\x01\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n\r\n+QMTPING: 0,1\r\n"),
    Start("ATV0"),
    Rx(b"0\r"),
    Start("AT+CEREG?"),
    Rx(b"+CEREG: 0,1\r\n0\r+QMTSTAT: 0,2\r\n"),
];

#[test]
fn transcript_is_stable() {
    let items = run(TRANSCRIPT);
    assert_eq!(items.len(), 30, "{items:#?}");
    assert!(items.contains(&recv(0, 5, "t", b"\"\r\n,\0\"x")));
    assert!(items.contains(&recv(0, 0, "t", b"plain, \"quoted\"")));
    assert!(items.contains(&ok(&[b"+CEREG: 0,1"])));
    assert_eq!(items.last(), Some(&urc(b"+QMTSTAT: 0,2")));
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_items(chunks in prop::collection::vec(1usize..40, 1..20)) {
        let whole = run_chunked(&mut Digester::new(), TRANSCRIPT, &[]);
        let chunked = run_chunked(&mut Digester::new(), TRANSCRIPT, &chunks);
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn idle_urc_streams_chunk_the_same(
        picks in prop::collection::vec(0usize..URC_FRAGMENTS.len(), 1..30),
        chunks in prop::collection::vec(1usize..16, 1..10),
    ) {
        let stream: Vec<u8> = picks.iter().flat_map(|&i| URC_FRAGMENTS[i].iter().copied()).collect();
        let stream: &'static [u8] = Box::leak(stream.into_boxed_slice());
        let whole = run_chunked(&mut Digester::new(), &[Rx(stream)], &[]);
        let chunked = run_chunked(&mut Digester::new(), &[Rx(stream)], &chunks);
        prop_assert_eq!(whole.len(), picks.len());
        prop_assert_eq!(whole, chunked);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        pending in any::<bool>(),
    ) {
        let limits = Limits { max_line: 64, max_payload: 64, max_response: 256 };
        let mut d = Digester::with_limits(limits);
        if pending {
            d.start(&Command::new("AT+QMTPUBEX=0,1,1,0,\"t\",3"));
        }
        let mut rest = bytes.as_slice();
        loop {
            let (item, used) = d.digest(rest);
            rest = &rest[used..];
            prop_assert!(d.buffered() <= limits.max_line + limits.max_payload + 1);
            if item.is_none() {
                break;
            }
        }
        prop_assert!(rest.is_empty());
    }
}

/// Complete URC lines; any concatenation is a valid idle stream with one item per fragment.
const URC_FRAGMENTS: &[&[u8]] = &[
    b"\r\n+QMTSTAT: 0,1\r\n",
    b"\r\n+QMTOPEN: 2,5\r\n",
    b"\r\nRDY\r\n",
    b"\r\n+QMTRECV: 0,1,\"a\",5,\"\r\n\"\r\n\"\r\n",
    b"\r\n+QMTRECV: 0,0,\"a\",\"x,\"y\"\r\n",
    b"\r\n+QMTRECV: 1,4\r\n",
    b"+QMTPUBEX: 0,1,0\r\n",
    b"\r\n+CEREG: 1,\"1A\",\"2B\",7\r\n",
    b"\r\n\xfe\xff\r\n",
    b"\r\nOK\r\n",
];
