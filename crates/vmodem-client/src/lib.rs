//! placeholder (crate docs come with the client)
mod codes;
mod command;
mod digest;
mod error;
mod params;
mod recv;
mod urc;

pub use codes::{
    CloseResult, CmeError, ConnReturnCode, ConnState, FinalResult, OpenResult, PacketResult,
    PingResult, StatCode,
};
pub use command::{Command, DataEntry};
pub use digest::{Digester, DiscardReason, Discarded, EchoMode, Item, Limits, Response};
pub use error::{Error, UrcError};
pub use params::{parse_params, Param, ParamError};
pub use recv::Message;
pub use urc::{PubForm, RegKind, RegStat, Registration, SimState, Urc};
