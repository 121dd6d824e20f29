//! A module on a pseudo-terminal, with the test thread as its host.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::runtime::Runtime;
use vmodem_tokio::{spawn_module, ModuleHandle, ModuleOptions, PtyPort};

use crate::support::{ScratchDir, SerialClient, BOOT};

/// A module running on its own runtime, so the test thread can block on the
/// device like a host would.
struct PtyModule {
    runtime: Runtime,
    handle: ModuleHandle,
    path: PathBuf,
    link: Option<PathBuf>,
}

impl PtyModule {
    fn start(link: Option<&Path>) -> PtyModule {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (handle, path, link) = runtime.block_on(async {
            let port = PtyPort::open(link).unwrap();
            let (path, link) = (port.path().to_owned(), port.link().map(Path::to_owned));
            (
                spawn_module(port, ModuleOptions::default()).unwrap(),
                path,
                link,
            )
        });
        PtyModule {
            runtime,
            handle,
            path,
            link,
        }
    }

    fn shutdown(self) {
        self.runtime.block_on(self.handle.shutdown()).unwrap();
    }
}

#[test]
fn boots_echoes_and_answers_through_the_symlink() {
    let dir = ScratchDir::new("pty-answers");
    let link = dir.join("ttyEC25");
    let module = PtyModule::start(Some(&link));
    assert!(
        module.path.starts_with("/dev/pts"),
        "{}",
        module.path.display()
    );
    assert_eq!(module.link.as_deref(), Some(link.as_path()));
    assert_eq!(std::fs::read_link(&link).unwrap(), module.path);

    let mut host = SerialClient::open(&link);
    // Emitted at power-up, before anyone opened the device: the pty kept it.
    host.expect(BOOT);
    host.send(b"AT\r");
    host.expect(b"AT\r\r\nOK\r\n");
    host.send(b"ATE0\r");
    host.expect(b"ATE0\r\r\nOK\r\n");
    host.send(b"AT\r");
    host.expect(b"\r\nOK\r\n");
    host.send(b"ATI\r");
    host.expect(b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n");

    module.shutdown();
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "clean shutdown removes the symlink"
    );
}

#[test]
fn a_host_can_close_the_device_and_open_it_again() {
    let module = PtyModule::start(None);
    let mut host = SerialClient::open(&module.path);
    host.expect(BOOT);
    host.send(b"AT\r");
    host.expect(b"AT\r\r\nOK\r\n");
    drop(host);

    for _ in 0..3 {
        let mut host = SerialClient::open(&module.path);
        host.send(b"AT\r");
        host.expect(b"AT\r\r\nOK\r\n");
    }
    module.shutdown();
}

#[test]
fn local_echo_a_client_turns_on_does_not_loop_output_back_in() {
    let module = PtyModule::start(None);
    let mut host = SerialClient::open(&module.path);
    host.expect(BOOT);
    host.turn_echo_on();
    host.send(b"AT\r");
    host.expect(b"AT\r\r\nOK\r\n");
    // With echo left on, `OK` would come back in as a command: ERROR, ERROR, ...
    host.expect_silence(Duration::from_millis(500));
    module.shutdown();
}
