//! The POP3 wire format, with no I/O: commands, status lines, capabilities and the reply decoder.

mod capability;
mod command;
mod decoder;
mod response;

pub use capability::{Capabilities, Expire, PerUser};
pub use command::{Command, MsgNum, ReplyShape, MAX_COMMAND_LINE};
pub use decoder::{BlockKind, Decoder, Frame, Limits};
pub use response::{ResponseCode, StatusLine, StatusText};

pub(crate) use response::describe_line;
