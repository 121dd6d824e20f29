//! A whole module fed arbitrary host bytes, with time jumping between chunks,
//! must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmodem_core::{Config, Instant, Modem, Timing};

fuzz_target!(|data: &[u8]| {
    let timing = if data.first().is_some_and(|b| b & 1 == 1) { Timing::Realistic } else { Timing::Fast };
    let mut now = Instant::ZERO;
    let mut modem = Modem::new(Config { timing, ..Config::default() }, now);
    for chunk in data.chunks(7) {
        modem.handle_host_bytes(now, chunk);
        while modem.poll_host_output().is_some() {}
        while modem.poll_event().is_some() {}
        if let Some(t) = modem.poll_timeout() {
            now = t;
            modem.handle_timeout(now);
        }
        if !modem.is_powered() {
            modem.power_on(now);
        }
    }
});
