//! Scenarios played on a module in virtual time: the same [`Runner`] the
//! driver uses (`vmodem run --scenario`), fed the module's host output, with
//! exact times and bytes.

use core::time::Duration;

use vmodem_mqtt::{ConnectReturnCode, Protocol};

use super::harness::{show, Harness};
use super::mqtt::{connack, open, quiet};
use crate::scenario::{FaultSpec, Runner, Scenario, ScenarioEvent, Step, Trigger};
use crate::{Fault, FaultId, Instant, ModemEvent};

/// A module with a scenario, driven as the module task drives it: every host
/// output goes to the runner, and time jumps to the earlier of the module's
/// and the scenario's deadlines.
struct Played {
    h: Harness,
    runner: Runner,
    /// Host output with the virtual time it came out.
    out: Vec<(Instant, Vec<u8>)>,
}

impl Played {
    fn new(scenario: Scenario) -> Played {
        let h = quiet();
        let mut runner = Runner::new(scenario);
        // Power-up was when the harness made the module.
        runner.start(h.now);
        Played {
            h,
            runner,
            out: Vec::new(),
        }
    }

    fn take(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        self.runner.host_output(self.h.now, &bytes);
        if !bytes.is_empty() {
            self.out.push((self.h.now, bytes.clone()));
        }
        bytes
    }

    fn send(&mut self, input: &[u8]) -> Vec<u8> {
        let out = self.h.send(input);
        self.take(out)
    }

    /// Runs every deadline up to `now + d`, in order.
    fn advance(&mut self, d: Duration) {
        let end = self.h.now + d;
        loop {
            let next = [self.h.modem.poll_timeout(), self.runner.next_deadline()]
                .into_iter()
                .flatten()
                .min()
                .filter(|&t| t <= end);
            let Some(at) = next else { break };
            self.h.now = self.h.now.max(at);
            self.h.modem.handle_timeout(self.h.now);
            let out = self.h.output();
            self.take(out);
            if self.runner.poll(self.h.now, &mut self.h.modem) {
                let out = self.h.output();
                self.take(out);
            }
        }
        self.h.now = end;
    }

    fn events(&mut self) -> Vec<ScenarioEvent> {
        std::iter::from_fn(|| self.runner.poll_event()).collect()
    }
}

/// The issue's minimal form, as `vmodem-cli`'s parser maps it (its test
/// `the_issues_minimal_form_parses_as_written` checks the same values):
///
/// ```toml
/// seed = 1
/// [[step]]
/// after = "+QMTCONN: 0,0,0"
/// delay = "1s"
/// fault = { kind = "network_loss" }
/// duration = "5s"
/// ```
fn minimal() -> Scenario {
    Scenario {
        seed: 1,
        steps: vec![Step {
            trigger: Trigger::After("+QMTCONN: 0,0,0".into()),
            delay: Duration::from_secs(1),
            fault: FaultSpec {
                kind: "network_loss".into(),
                params: vec![],
            },
            duration: Some(Duration::from_secs(5)),
            every: None,
            count: None,
        }],
        random: vec![],
    }
}

#[test]
fn the_minimal_form_starts_network_loss_1s_after_connack_for_exactly_5s() {
    let mut p = Played::new(minimal());
    // Lines before the CONNACK URC arm nothing.
    let link = open(&mut p.h, 0, 1);
    p.take(b"\r\n+QMTOPEN: 0,0\r\n".to_vec());
    assert_eq!(p.send(b"AT+QMTCONN=0,\"dev1\"\r"), b"\r\nOK\r\n");
    assert_eq!(p.runner.next_deadline(), None);
    p.h.sent(Protocol::V311);
    // The broker accepts 250 ms later.
    p.advance(Duration::from_millis(250));
    let t0 = p.h.now;
    let urc =
        p.h.broker_sends(link, &connack(ConnectReturnCode::Accepted));
    assert_eq!(show(&p.take(urc)), show(b"\r\n+QMTCONN: 0,0,0\r\n"));
    assert_eq!(
        p.events(),
        vec![ScenarioEvent::Armed {
            source: "step[0]".into(),
            line: "+QMTCONN: 0,0,0".into(),
            due: t0 + Duration::from_secs(1),
        }]
    );
    assert_eq!(p.runner.next_deadline(), Some(t0 + Duration::from_secs(1)));

    p.advance(Duration::from_millis(999));
    assert!(p.h.modem.faults().is_empty(), "not before 1 s");
    assert!(p.events().is_empty());
    p.advance(Duration::from_millis(1));
    let fault = Fault::NetworkLoss { stat: 0 };
    assert_eq!(
        p.events(),
        vec![ScenarioEvent::Fired {
            source: "step[0]".into(),
            due: t0 + Duration::from_secs(1),
            id: FaultId(1),
            fault: fault.clone(),
            duration: Some(Duration::from_secs(5)),
        }]
    );
    let active = &p.h.modem.faults()[0];
    assert_eq!(active.started, t0 + Duration::from_secs(1));
    assert_eq!(active.ends, Some(t0 + Duration::from_secs(6)));
    assert!(p.h.events.contains(&ModemEvent::FaultStarted {
        id: FaultId(1),
        fault: fault.clone()
    }));

    p.advance(Duration::from_millis(4999));
    assert_eq!(p.h.modem.faults().len(), 1, "still on at 5.999 s");
    p.advance(Duration::from_millis(1));
    assert!(p.h.modem.faults().is_empty(), "over at exactly 6 s");
    assert!(p.h.events.contains(&ModemEvent::FaultEnded {
        id: FaultId(1),
        fault
    }));
    // Once: a second connection does not play it again.
    p.take(b"\r\n+QMTCONN: 0,0,0\r\n".to_vec());
    assert_eq!(p.runner.next_deadline(), None);
    p.advance(Duration::from_secs(3600));
    assert!(p.events().is_empty());
}

/// `urc` acts today: `at`, `every` and `count` give the host exactly these
/// bytes at exactly these times.
#[test]
fn a_repeated_urc_step_writes_its_line_at_each_occurrence() {
    let mut p = Played::new(Scenario {
        seed: 0,
        steps: vec![Step {
            trigger: Trigger::At(Duration::from_secs(2)),
            delay: Duration::from_millis(500),
            fault: FaultSpec {
                kind: "urc".into(),
                params: vec![("text".into(), "+CMTI: \"SM\",1".into())],
            },
            duration: None,
            every: Some(Duration::from_secs(10)),
            count: Some(3),
        }],
        random: vec![],
    });
    let start = p.h.now;
    p.out.clear();
    p.advance(Duration::from_secs(60));
    let got: Vec<(u64, String)> = p
        .out
        .iter()
        .map(|(t, b)| ((*t - start).as_millis() as u64, show(b)))
        .collect();
    let urc = show(b"\r\n+CMTI: \"SM\",1\r\n");
    assert_eq!(
        got,
        vec![(2500, urc.clone()), (12_500, urc.clone()), (22_500, urc)]
    );
    let fired: Vec<FaultId> = p
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ScenarioEvent::Fired { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(fired, vec![FaultId(1), FaultId(2), FaultId(3)]);
}

/// A line is matched whole, however the output is chunked, and a line
/// longer than the runner keeps matches nothing.
#[test]
fn lines_are_matched_across_chunks_and_overlong_lines_never_match() {
    let mut p = Played::new(minimal());
    for chunk in [&b"\r\n+QMTCO"[..], b"NN: 0,0", b",0\r", b"\n"] {
        p.take(chunk.to_vec());
    }
    assert_eq!(p.events().len(), 1);

    let mut p = Played::new(minimal());
    let mut long = vec![b'x'; crate::scenario::MAX_LINE];
    long.extend_from_slice(b"+QMTCONN: 0,0,0\r\n");
    p.take(long);
    assert!(p.events().is_empty());
    assert_eq!(p.runner.next_deadline(), None);
}

/// A parameter drawn outside what the kind allows starts nothing and says why.
#[test]
fn a_refused_fault_is_reported_not_started() {
    let mut p = Played::new(Scenario {
        seed: 3,
        steps: vec![Step {
            trigger: Trigger::At(Duration::ZERO),
            delay: Duration::ZERO,
            fault: FaultSpec {
                kind: "signal".into(),
                params: vec![("rssi".into(), "40".into())],
            },
            duration: None,
            every: None,
            count: None,
        }],
        random: vec![],
    });
    p.advance(Duration::from_millis(1));
    match &p.events()[..] {
        [ScenarioEvent::Refused {
            source,
            kind,
            error,
        }] => {
            assert_eq!((source.as_str(), kind.as_str()), ("step[0]", "signal"));
            assert!(error.contains("0-31|99"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert!(p.h.modem.faults().is_empty());
}

/// An entry has one active fault at most: an occurrence still on (no
/// duration, or a duration longer than `every`) ends when the next starts.
#[test]
fn a_repeating_step_never_piles_up_active_faults() {
    for duration in [None, Some(Duration::from_secs(3600))] {
        let mut p = Played::new(Scenario {
            seed: 0,
            steps: vec![Step {
                trigger: Trigger::At(Duration::ZERO),
                delay: Duration::ZERO,
                fault: FaultSpec {
                    kind: "network_loss".into(),
                    params: vec![("stat".into(), "3".into())],
                },
                duration,
                every: Some(Duration::from_millis(10)),
                count: Some(1000),
            }],
            random: vec![],
        });
        p.advance(Duration::from_secs(20));
        assert_eq!(p.h.modem.faults().len(), 1, "{duration:?}");
        assert_eq!(p.h.modem.faults()[0].id, FaultId(1000));
        let ended =
            p.h.events
                .iter()
                .filter(|e| matches!(e, ModemEvent::FaultEnded { .. }))
                .count();
        assert_eq!(ended, 999);
    }
}
