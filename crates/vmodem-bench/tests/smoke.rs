//! The benchmark's logic end to end with tiny numbers: it completes and every
//! figure is there and sane. Not a timed test: nothing here asserts on speed.

use vmodem_bench::{run, Percentiles, Settings};

fn sane(name: &str, p: &Percentiles, at_least: usize) {
    assert!(p.count >= at_least, "{name}: {} samples", p.count);
    assert!(p.p50_us > 0.0 && p.p50_us.is_finite(), "{name}: {p:?}");
    assert!(
        p.p50_us <= p.p99_us && p.p99_us <= p.max_us,
        "{name}: {p:?}"
    );
}

#[test]
fn a_tiny_run_completes_with_sane_non_zero_figures() {
    let settings = Settings {
        modules: 1,
        messages: 20,
        rounds: 1,
        latency_samples: 20,
        latency_rate: 200,
        probe_samples: 3,
        worker_threads: 2,
        ..Settings::default()
    };
    let report = run(&settings).expect("the benchmark runs");

    let t = &report.throughput;
    for (name, v) in [
        ("vmodem", &t.vmodem),
        ("raw", &t.raw),
        ("minimal", &t.minimal_host),
    ] {
        assert_eq!(v.rounds_msg_per_s.len(), 1, "{name}");
        assert!(
            v.median_msg_per_s > 0.0 && v.median_msg_per_s.is_finite(),
            "{name}: {v:?}"
        );
        assert_eq!(v.retransmissions, 0, "{name}");
    }
    assert!(t.ratio > 0.0 && t.ratio.is_finite(), "{t:?}");
    for v in [&t.vmodem, &t.minimal_host] {
        assert!(v.exchange_us > 0.0, "{v:?}");
        assert!((0.0..=1.0).contains(&v.window_wait_share), "{v:?}");
    }

    // QoS 0 on loopback at 200 msg/s: all 20 should arrive, but a shared machine
    // may drop one; most must.
    let l = report.latency.as_ref().expect("latency measured");
    sane("latency vmodem", &l.vmodem, 15);
    sane("latency raw", &l.raw, 15);
    assert!(l.p99_ratio > 0.0 && l.p99_ratio.is_finite(), "{l:?}");
    assert!(l.extra.paired >= 15, "{l:?}");

    let p = report.probes.as_ref().expect("probes measured");
    for (name, probe) in [
        ("at_client", &p.at_client),
        ("at_minimal", &p.at_minimal),
        ("publish_client", &p.publish_client),
        ("publish_minimal", &p.publish_minimal),
        ("publish_raw", &p.publish_raw),
    ] {
        sane(name, probe, 3);
    }

    let table = report.table();
    assert!(table.contains("ratio"), "{table}");
    assert!(table.contains("p99"), "{table}");
    let json = serde_json::to_value(&report).expect("serialises");
    assert!(json["throughput"]["ratio"].as_f64().unwrap() > 0.0);
}
