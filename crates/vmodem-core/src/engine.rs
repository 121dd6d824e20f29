//! The AT engine's own state: settings, the line being typed, what is being
//! executed or typed after a prompt, and URCs waiting for the line to be free.
//!
//! The engine decides *when* bytes may go to the host; the commands decide
//! *what* they are. Rules it keeps (module-behaviour.md, "Framing"):
//! - echo returns typed characters as received, while echo is on (ATE1);
//! - a URC is never written inside a response, or while the host is typing
//!   data after a prompt; it is queued and written right after;
//! - input that arrives while a command is still executing (realistic timing)
//!   waits, unechoed, until the final result code has been written.

use std::collections::VecDeque;

use vmodem_at::{CmeMode, Command, Format, LineEditor};

use crate::commands::DataEntry;

/// Settings a profile holds: what `AT&W` stores, `ATZ` restores and `AT&F` resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Profile {
    pub(crate) echo: bool,
    pub(crate) format: Format,
    pub(crate) s5: u8,
    pub(crate) cmee: CmeMode,
    /// S0, S6, S7, S8, S10 (V.250 §6.3): stored and shown, no effect on a data-only module.
    pub(crate) s0: u8,
    pub(crate) s6: u8,
    pub(crate) s7: u8,
    pub(crate) s8: u8,
    pub(crate) s10: u8,
    /// ATX, AT&C, AT&D values.
    pub(crate) x: u8,
    pub(crate) amp_c: u8,
    pub(crate) amp_d: u8,
}

impl Profile {
    /// Factory settings (AT&F): echo on, verbose, CMEE=1 (module-behaviour.md:
    /// the capture shows `+CME ERROR: 3` with factory settings).
    pub(crate) const FACTORY: Profile = Profile {
        echo: true,
        format: Format {
            verbose: true,
            quiet: false,
            s3: b'\r',
            s4: b'\n',
        },
        s5: 8,
        cmee: CmeMode::Numeric,
        s0: 0,
        s6: 2,
        s7: 0,
        s8: 2,
        s10: 15,
        x: 1,
        amp_c: 1,
        amp_d: 2,
    };
}

/// What the engine is doing with host input.
#[derive(Debug)]
pub(crate) enum State {
    /// Powered down, or booting before `RDY`: input is dropped.
    Off,
    /// Waiting for a command line.
    Idle,
    /// A command line is executing; its response is withheld until the
    /// [`Timer::Response`](crate::timers::Timer::Response) deadline.
    Busy { response: Vec<u8> },
    /// Collecting data after a prompt.
    Data(Box<DataState>),
}

/// A data entry in progress.
#[derive(Debug)]
pub(crate) struct DataState {
    pub(crate) entry: DataEntry,
    pub(crate) buf: Vec<u8>,
    /// Commands that followed the prompting one on its line, run after the data.
    pub(crate) rest: VecDeque<Command>,
}

/// The engine.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) active: Profile,
    pub(crate) stored: Profile,
    pub(crate) editor: LineEditor,
    pub(crate) last_line: Vec<u8>,
    pub(crate) state: State,
    /// True while a command line runs, so URCs raised by it wait for its result code.
    pub(crate) executing: bool,
    /// Host bytes that arrived while Busy.
    pub(crate) pending_input: VecDeque<u8>,
    /// URC texts waiting for the line to be free.
    pub(crate) urcs: VecDeque<Vec<u8>>,
    /// Bytes held in `urcs`.
    urc_bytes: usize,
    /// Bytes for the host.
    pub(crate) out: Vec<u8>,
    /// How many more CR/LF/Ctrl-Z bytes to swallow after a fixed-length payload.
    pub(crate) swallow: u8,
    /// The command line that gave the data-entry prompt ended with S3, and
    /// its prompt has not been handed to the driver yet: an LF now is the
    /// second half of the host's CR LF, not payload ([`Engine::lf_ends_line`]).
    terminator_lf: bool,
}

/// Most input kept while a command executes. A host that sends more than this
/// without waiting for a result code loses the excess, as a UART FIFO would.
pub(crate) const MAX_PENDING_INPUT: usize = 8 * 1024;

impl Engine {
    pub(crate) fn new(profile: Profile) -> Engine {
        Engine {
            active: profile,
            stored: profile,
            editor: LineEditor::new(),
            last_line: Vec::new(),
            state: State::Off,
            executing: false,
            pending_input: VecDeque::new(),
            urcs: VecDeque::new(),
            urc_bytes: 0,
            out: Vec::new(),
            swallow: 0,
            terminator_lf: false,
        }
    }

    pub(crate) fn format(&self) -> Format {
        self.active.format
    }

    /// True when a URC may be written now.
    pub(crate) fn line_free(&self) -> bool {
        matches!(self.state, State::Idle) && !self.executing
    }

    /// Writes a URC now if the line is free, else queues it. Dropped while off.
    pub(crate) fn urc(&mut self, text: Vec<u8>) {
        match self.state {
            State::Off => {}
            _ if self.line_free() => self.active.format.urc(&mut self.out, &text),
            _ => {
                self.urc_bytes += text.len();
                self.urcs.push_back(text);
            }
        }
    }

    /// Bytes of URCs waiting for the line.
    pub(crate) fn urc_backlog(&self) -> usize {
        self.urc_bytes
    }

    /// Writes queued URCs, if the line is free.
    pub(crate) fn flush_urcs(&mut self) {
        if !self.line_free() {
            return;
        }
        while let Some(text) = self.urcs.pop_front() {
            self.active.format.urc(&mut self.out, &text);
        }
        self.urc_bytes = 0;
        if self.urcs.capacity() > 8 {
            self.urcs.shrink_to_fit();
        }
    }

    /// A data entry begins, its prompt queued in [`out`](Self::out):
    /// `after_s3` says whether the command line that asked for it was ended
    /// by S3 (not by `A/`).
    ///
    /// **The CR LF rule** (docs/decisions.md, "LF after a data-entry
    /// command"): hosts that end lines with CR LF write both in one go, so
    /// the LF reaches the module right after the CR, before the module's
    /// prompt has left for the host. Such an LF belongs to the terminator and
    /// is dropped; any later byte, an LF included, is data. A host that waits
    /// for the prompt (`> `, `CONNECT`) before it sends its payload can only
    /// send that payload after the prompt was handed out, so a payload that
    /// starts with LF keeps it.
    pub(crate) fn data_entry_started(&mut self, after_s3: bool) {
        self.terminator_lf = after_s3;
    }

    /// The driver took the module's output (every byte of it, the prompt
    /// included): from now on an LF is data. Called from the one place that
    /// hands host output to the driver ([`Modem::poll_host_output`](crate::Modem::poll_host_output)).
    pub(crate) fn host_output_taken(&mut self) {
        self.terminator_lf = false;
    }

    /// True if `b`, the first byte of a data entry, is the LF of the host's
    /// CR LF and must be dropped. Any first byte closes the window.
    pub(crate) fn lf_ends_line(&mut self, b: u8) -> bool {
        std::mem::take(&mut self.terminator_lf) && b == b'\n'
    }

    /// Forgets everything in flight (power-down, restart); settings stay.
    pub(crate) fn reset_line(&mut self) {
        self.editor.clear();
        self.state = State::Off;
        self.executing = false;
        self.pending_input = VecDeque::new();
        self.urcs = VecDeque::new();
        self.urc_bytes = 0;
        self.swallow = 0;
        self.terminator_lf = false;
    }
}
