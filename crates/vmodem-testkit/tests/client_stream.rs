//! The host client's URC stream as tests use it: a view taken after a typed
//! call has returned must not see that call's result URC again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use vmodem_client::OpenResult;
use vmodem_testkit::{closed_port, line, within, TestModule};

/// Threads that keep both cores busy, so the OS preempts tokio's workers
/// as a loaded CI machine does; stopped and joined on drop.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..threads)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_add(1));
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `Client::subscribe_urcs` promises "every URC received from now on". The
/// driver once handed a result URC to the typed call waiting for it and only
/// then broadcast it, so when its thread was preempted between the two, the
/// call returned, the caller took a new view, and the view still got the URC
/// (seen as `+QMTOPEN: 0,5` in about 1 of 10 rounds under load). It now
/// broadcasts first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_taken_after_a_typed_call_does_not_see_its_result() {
    within(Duration::from_secs(60), async {
        let module = TestModule::start().await;
        let modem = module.client();
        let port = closed_port();
        let _load = Load::start(6);
        let started = Instant::now();
        let mut rounds = 0;
        while started.elapsed() < Duration::from_secs(15) {
            rounds += 1;
            let opened = modem
                .qmt_open(0, "127.0.0.1", port)
                .await
                .expect("AT+QMTOPEN");
            assert_eq!(opened, OpenResult::NetworkError);
            let mut view = modem.subscribe_urcs();
            // The driver handles bytes in order: once `AT` is answered, any
            // broadcast of the earlier URC has happened.
            modem.at().await.expect("AT");
            if let Some(Ok(urc)) = view.try_recv() {
                panic!(
                    "round {rounds}: a view taken after qmt_open returned got {:?}",
                    line(&urc)
                );
            }
        }
        module.shutdown().await;
    })
    .await;
}
