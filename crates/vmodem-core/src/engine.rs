//! The AT engine's own state: settings, the line being typed, what is being
//! executed or typed after a prompt, and URCs waiting for the line to be free.
//!
//! The engine decides *when* bytes may go to the host; the commands decide
//! *what* they are. Rules it keeps (module-behaviour.md, "Framing"):
//! - echo returns typed characters as received, while echo is on (ATE1);
//! - a URC is never written inside a response, or while the host is typing
//!   data after a prompt; it is queued and written right after;
//! - input that arrives while a command is still executing (realistic timing)
//!   waits, unechoed, until the final result code has been written;
//! - input waits too while [`HOST_OUTPUT_LIMIT`] bytes or more of output wait
//!   for the host: a host that writes without reading cannot grow the
//!   module's memory (the driver stops reading, as a UART deasserts CTS).

use std::collections::VecDeque;

use vmodem_at::{CmeMode, Command, Format, LineEditor};

use crate::commands::DataEntry;
use crate::output::HostOutput;

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
#[derive(Clone, Debug)]
pub(crate) enum State {
    /// Powered down, or booting before `RDY`: input is dropped.
    Off,
    /// Waiting for a command line.
    Idle,
    /// A command line is executing; its response is withheld until the
    /// [`Timer::Response`](crate::timers::Timer::Response) deadline.
    Busy { response: HostOutput },
    /// Collecting data after a prompt.
    Data(Box<DataState>),
}

/// A data entry in progress.
#[derive(Clone, Debug)]
pub(crate) struct DataState {
    pub(crate) entry: DataEntry,
    pub(crate) buf: Vec<u8>,
    /// Commands that followed the prompting one on its line, run after the data.
    pub(crate) rest: VecDeque<Command>,
}

/// The engine.
#[derive(Clone, Debug)]
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
    /// Bytes for the host, until the driver says the host took them.
    pub(crate) out: HostOutput,
    /// How many more CR/LF/Ctrl-Z bytes to swallow after a fixed-length payload.
    pub(crate) swallow: u8,
    /// The command line that gave the data-entry prompt ended with S3, and
    /// its prompt has not been handed to the driver yet: an LF now is the
    /// second half of the host's CR LF, not payload ([`Engine::lf_ends_line`]).
    terminator_lf: bool,
    /// Bytes of output, up to the end of the latest data entry's prompt, the
    /// host has not taken yet.
    prompt_untaken: usize,
}

/// Most input kept while a command executes. A host that sends more than this
/// without waiting for a result code loses the excess, as a UART FIFO would.
pub(crate) const MAX_PENDING_INPUT: usize = 8 * 1024;

/// Output waiting for the host beyond which the module takes no more host
/// input (32 KiB): bytes that arrive meanwhile wait with the pending input,
/// and [`Modem::wants_host_input`](crate::Modem::wants_host_input) tells the
/// driver to stop reading, as a UART deasserts CTS. Above the room of URCs
/// ([`MAX_URC_BACKLOG`](crate::mqtt::MAX_URC_BACKLOG)), so received messages
/// alone never stop the host's commands.
pub(crate) const HOST_OUTPUT_LIMIT: usize = 32 * 1024;

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
            out: HostOutput::new(),
            swallow: 0,
            terminator_lf: false,
            prompt_untaken: 0,
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
            _ if self.line_free() => self.active.format.urc(self.out.text(), &text),
            _ => {
                self.urc_bytes += text.len();
                self.urcs.push_back(text);
            }
        }
    }

    /// Everything the host has not taken yet: output handed to the driver's
    /// pull but not consumed, and URCs waiting for the line. The MQTT clients
    /// stop taking messages from their links while this is too large.
    pub(crate) fn output_backlog(&self) -> usize {
        self.out.len() + self.urc_bytes
    }

    /// True while host input must wait: output is over [`HOST_OUTPUT_LIMIT`].
    pub(crate) fn output_full(&self) -> bool {
        self.out.len() >= HOST_OUTPUT_LIMIT
    }

    /// Writes queued URCs, if the line is free.
    pub(crate) fn flush_urcs(&mut self) {
        if !self.line_free() {
            return;
        }
        while let Some(text) = self.urcs.pop_front() {
            self.active.format.urc(self.out.text(), &text);
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
        self.prompt_untaken = self.out.len();
    }

    /// The host took the first `n` bytes of the output. The one place where
    /// output leaves the module ([`Modem::consume_host_output`](crate::Modem::consume_host_output)):
    /// rules that depend on what the host has been handed belong here. Once
    /// the host has taken a data entry's prompt, an LF is data.
    pub(crate) fn host_output_taken(&mut self, n: usize) {
        self.out.consume(n);
        self.prompt_untaken = self.prompt_untaken.saturating_sub(n);
        if self.prompt_untaken == 0 {
            self.terminator_lf = false;
        }
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
        self.prompt_untaken = 0;
    }
}
