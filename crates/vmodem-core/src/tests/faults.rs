//! Faults as inputs: exact bytes, virtual time.

use core::time::Duration;

use super::harness::{show, Harness};
use crate::{ClientState, Fault, FaultId, ModemEvent, PowerState, Toxic};

#[test]
fn parse_validates_and_lists_what_is_allowed() {
    assert_eq!(
        Fault::parse("network_loss", &[]),
        Ok(Fault::NetworkLoss { stat: 0 })
    );
    assert_eq!(
        Fault::parse("network_loss", &[("stat", "3")]),
        Ok(Fault::NetworkLoss { stat: 3 })
    );
    let e = Fault::parse("network_loss", &[("stat", "1")]).unwrap_err();
    assert!(e.message.contains("0|2|3|4"), "{e}");
    let e = Fault::parse("nope", &[]).unwrap_err();
    for k in Fault::KINDS {
        assert!(e.message.contains(k), "{e}");
    }
    let e = Fault::parse("signal", &[("rssi", "40")]).unwrap_err();
    assert!(e.message.contains("0-31|99"), "{e}");
    let e = Fault::parse("slow", &[("delay", "5")]).unwrap_err();
    assert!(e.message.contains("unknown parameter \"delay\""), "{e}");
    assert_eq!(
        Fault::parse("error", &[("command", "at+qmtopen"), ("cme", "100")]),
        Ok(Fault::Error {
            command: "AT+QMTOPEN".into(),
            cme: Some(100)
        })
    );
    let e = Fault::parse("link", &[("toxic", "blackhole"), ("rate_bps", "9")]).unwrap_err();
    assert!(e.message.contains("does not apply"), "{e}");
    assert_eq!(
        Fault::parse("link", &[("toxic", "latency"), ("latency_ms", "200")]),
        Ok(Fault::Link(crate::LinkFault {
            client: None,
            toxic: Toxic::Latency {
                latency_ms: 200,
                jitter_ms: 0
            },
            direction: crate::Direction::Both,
        }))
    );
    let e = Fault::parse("urc", &[("text", "a\r\nb")]).unwrap_err();
    assert!(e.message.contains("without CR/LF"), "{e}");
}

#[test]
fn params_round_trip_through_parse() {
    let faults = [
        Fault::NetworkLoss { stat: 2 },
        Fault::PdpDeact { cid: 3 },
        Fault::Signal { rssi: 5, ber: 2 },
        Fault::SimRemoved,
        Fault::DnsFail,
        Fault::Clock { offset_s: -3600 },
        Fault::Error {
            command: "AT+CSQ".into(),
            cme: None,
        },
        Fault::NoAnswer,
        Fault::Slow { delay_ms: 250 },
        Fault::Urc {
            text: "+QIND: \"csq\",5,99".into(),
        },
        Fault::Reset,
        Fault::PowerLoss,
        Fault::Link(crate::LinkFault {
            client: Some(2),
            toxic: Toxic::LimitData { bytes: 100 },
            direction: crate::Direction::Up,
        }),
    ];
    assert_eq!(faults.len(), Fault::KINDS.len());
    for f in faults {
        let params = f.params();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(Fault::parse(f.kind(), &pairs), Ok(f));
    }
}

#[test]
fn a_fault_with_a_duration_ends_by_itself_in_virtual_time() {
    let mut h = Harness::new();
    let f = Fault::Link(crate::LinkFault {
        client: None,
        toxic: Toxic::Blackhole,
        direction: crate::Direction::Both,
    });
    let id = h
        .modem
        .add_fault(h.now, f.clone(), Some(Duration::from_secs(5)));
    assert_eq!(id, FaultId(1));
    assert_eq!(h.modem.faults().len(), 1);
    assert_eq!(h.modem.poll_timeout(), Some(h.now + Duration::from_secs(5)));
    assert_eq!(h.advance(Duration::from_millis(4999)), b"");
    assert_eq!(h.modem.faults().len(), 1);
    h.advance(Duration::from_millis(1));
    assert!(h.modem.faults().is_empty());
    let events: Vec<_> = std::iter::from_fn(|| h.modem.poll_event()).collect();
    let mut all = std::mem::take(&mut h.events);
    all.extend(events);
    assert!(all.contains(&ModemEvent::FaultStarted {
        id,
        fault: f.clone()
    }));
    assert!(all.contains(&ModemEvent::FaultEnded { id, fault: f }));
    assert!(!h.modem.end_fault(h.now, id));
}

#[test]
fn urc_is_written_once() {
    let mut h = Harness::new();
    let f = Fault::parse("urc", &[("text", "+QIND: \"csq\",5,99")]).unwrap();
    h.modem.add_fault(h.now, f, None);
    assert_eq!(show(&h.output()), show(b"\r\n+QIND: \"csq\",5,99\r\n"));
    h.modem.clear_faults(h.now);
    assert_eq!(h.output(), b"");
    assert!(h.modem.faults().is_empty());
}

#[test]
fn status_reports_real_state() {
    let mut h = Harness::new();
    let s = h.modem.status();
    assert_eq!(s.model, "EC25");
    assert_eq!(s.power, PowerState::On);
    assert_eq!(s.imei.len(), 15);
    assert_eq!(s.registration.stat, 1);
    assert!(s
        .pdp
        .iter()
        .any(|p| p.cid == 1 && p.active && p.address.is_some()));
    assert!(s.mqtt.iter().all(|c| c.state == ClientState::Closed));
    h.expect(b"AT+QIDEACT=1\r", b"AT+QIDEACT=1\r\r\nOK\r\n");
    assert!(!h.modem.status().pdp[0].active);
}
