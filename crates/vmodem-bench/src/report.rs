//! The table printed at the end of a run.

use std::fmt::Write;

use crate::{PerMessage, Percentiles, Report, Variant};

/// Goal from the MQTT issue: vmodem throughput at least this fraction of raw rumqttc.
pub(crate) const THROUGHPUT_GOAL: f64 = 0.8;
/// Goal from the MQTT issue: vmodem p99 latency at most this multiple of raw rumqttc.
pub(crate) const P99_GOAL: f64 = 2.0;

impl Report {
    /// The human-readable table (what the binary prints on stdout).
    pub fn table(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_table(&mut out);
        out
    }

    fn write_table(&self, o: &mut String) -> std::fmt::Result {
        let s = &self.settings;
        let t = &self.throughput;
        let w = s.window;
        writeln!(
            o,
            "throughput, QoS 1, N={} publishers, M={} msgs each, {}-byte payload, built-in broker on {}",
            s.modules, s.messages, s.payload, self.broker
        )?;
        writeln!(
            o,
            "  median of {} rounds (each round runs them one after the other, in rotating order)",
            s.rounds
        )?;
        variant_line(
            o,
            &format!("vmodem (AT over TCP serial, window {w})"),
            &t.vmodem,
        )?;
        variant_line(o, &format!("raw rumqttc (inflight {w})"), &t.raw)?;
        if t.ratio > 0.0 {
            writeln!(
                o,
                "  {:<44}{:>9.2}x     (goal >= {THROUGHPUT_GOAL}x)",
                "ratio", t.ratio
            )?;
        }
        variant_line(
            o,
            "vmodem, minimal AT host (no vmodem-client)",
            &t.minimal_host,
        )?;
        if t.minimal_host_ratio > 0.0 {
            writeln!(
                o,
                "  {:<44}{:>9.2}x     (what the AT path costs without the host library)",
                "ratio", t.minimal_host_ratio
            )?;
        }

        if let Some(l) = &self.latency {
            writeln!(
                o,
                "latency publisher -> broker -> subscriber, QoS {}, {} samples at {} msg/s",
                l.qos, l.samples, l.rate_per_s
            )?;
            latency_line(o, "vmodem +QMTRECV (vmodem-client)", &l.vmodem, l.samples)?;
            latency_line(o, "raw rumqttc", &l.raw, l.samples)?;
            writeln!(
                o,
                "  {:<34}{:.2}x     (goal <= {P99_GOAL}x)   p50 ratio {:.2}x",
                "p99 ratio", l.p99_ratio, l.p50_ratio
            )?;
            writeln!(
                o,
                "  {:<34}p50 {:+.3} ms  p99 {:+.3} ms  ({} messages both received)",
                "vmodem - raw, same message",
                l.extra.p50_us / 1000.0,
                l.extra.p99_us / 1000.0,
                l.extra.paired
            )?;
        }

        writeln!(o, "where the time goes")?;
        if let Some(p) = &self.probes {
            writeln!(
                o,
                "  idle, one at a time: p50 (p99) of {} each",
                p.at_client.count
            )?;
            probe_line(o, "AT -> OK, vmodem-client", &p.at_client)?;
            probe_line(o, "AT -> OK, minimal host", &p.at_minimal)?;
            probe_line(
                o,
                "QoS 1 publish -> +QMTPUBEX, vmodem-client",
                &p.publish_client,
            )?;
            probe_line(
                o,
                "QoS 1 publish -> +QMTPUBEX, minimal host",
                &p.publish_minimal,
            )?;
            probe_line(o, "  command line -> \"> \"", &p.publish_minimal_to_prompt)?;
            probe_line(o, "  payload -> OK", &p.publish_minimal_to_ok)?;
            probe_line(
                o,
                "  OK -> +QMTPUBEX (module -> broker -> module)",
                &p.publish_minimal_to_result,
            )?;
            probe_line(o, "QoS 1 publish -> PUBACK, raw rumqttc", &p.publish_raw)?;
        }
        writeln!(
            o,
            "  under load, per publish, mean over the throughput rounds:"
        )?;
        for (name, v) in [
            ("vmodem-client", &t.vmodem),
            ("minimal host", &t.minimal_host),
        ] {
            if v.rounds_msg_per_s.is_empty() {
                continue;
            }
            writeln!(
                o,
                "    {name:<14} AT+QMTPUBEX exchange (command -> OK) {:>5.0} us; waiting with a full window {:.0}% of the time",
                v.exchange_us,
                v.window_wait_share * 100.0
            )?;
        }
        writeln!(
            o,
            "    {:<28}{:>26}  {:>26}",
            "CPU and context switches", "benchmark threads", "broker threads"
        )?;
        for (name, v) in [
            ("vmodem-client", &t.vmodem),
            ("minimal host", &t.minimal_host),
            ("raw rumqttc", &t.raw),
        ] {
            if v.rounds_msg_per_s.is_empty() {
                continue;
            }
            writeln!(
                o,
                "    {name:<28}{:>26}  {:>26}",
                cost(&v.bench),
                cost(&v.broker)
            )?;
        }
        let retx = t.vmodem.retransmissions + t.minimal_host.retransmissions;
        if retx > 0 {
            writeln!(o, "  note: the modules reported {retx} retransmissions")?;
        }
        Ok(())
    }
}

/// `12.3 usr + 40.1 sys us, 4.2 cs`.
fn cost(p: &PerMessage) -> String {
    format!(
        "{:.1} usr + {:.1} sys us, {:.1} cs",
        p.user_us, p.sys_us, p.switches
    )
}

fn variant_line(o: &mut String, name: &str, v: &Variant) -> std::fmt::Result {
    if v.rounds_msg_per_s.is_empty() {
        return writeln!(o, "  {name:<44}{:>9}", "not run");
    }
    let rounds: Vec<String> = v.rounds_msg_per_s.iter().map(|r| thousands(*r)).collect();
    writeln!(
        o,
        "  {name:<44}{:>9} msg/s   rounds: {}",
        thousands(v.median_msg_per_s),
        rounds.join(", ")
    )
}

fn latency_line(o: &mut String, name: &str, p: &Percentiles, sent: u64) -> std::fmt::Result {
    writeln!(
        o,
        "  {name:<34}p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} of {sent} received)",
        p.p50_us / 1000.0,
        p.p99_us / 1000.0,
        p.max_us / 1000.0,
        p.count
    )
}

fn probe_line(o: &mut String, name: &str, p: &Percentiles) -> std::fmt::Result {
    writeln!(
        o,
        "    {name:<44}{:>7.0} us  ({:.0} us)",
        p.p50_us, p.p99_us
    )
}

/// `12345.6` → `12,346`.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(12345.6), "12,346");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
