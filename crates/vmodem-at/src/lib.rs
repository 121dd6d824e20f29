//! The AT command grammar of Quectel modules, as ITU-T V.250 and 3GPP TS 27.007
//! define it and as the EC2x family speaks it.
//!
//! No module state and no I/O: this crate turns typed characters into command
//! lines ([`LineEditor`]), command lines into [`Command`]s ([`parse_line`]),
//! and result codes and information text into framed bytes ([`Format`]). The
//! module's behaviour lives in `vmodem-core`; the host-side parser in
//! `vmodem-client`.
//!
//! ```
//! use vmodem_at::{parse_line, Form, Name};
//!
//! let cmds = parse_line(b"AT+QMTCFG=\"version\",0,4;E0").unwrap();
//! assert_eq!(cmds[0].name, Name::Extended("+QMTCFG".into()));
//! assert!(matches!(cmds[0].form, Form::Write(ref args) if args.len() == 3));
//! assert_eq!(cmds[1].name, Name::Basic("E".into()));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod args;
mod cme;
mod command;
mod framing;
mod line;

pub use args::{Arg, ArgError};
pub use cme::CmeError;
pub use command::{parse_line, Command, Form, Name, SyntaxError};
pub use framing::{CmeMode, Format, ResultCode};
pub use line::{LineEditor, LineEvent, MAX_LINE_LEN};
