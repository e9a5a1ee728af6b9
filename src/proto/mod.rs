//! The POP3 wire format, with no I/O: commands, status lines, capabilities and the reply decoder.

mod capability;
mod command;
mod decoder;
mod reply;
mod response;

pub use capability::{Capabilities, Expire, PerUser};
pub use command::{ApopDigest, Argument, Command, MsgNum, ReplyShape, SecretArgument, MAX_COMMAND_LINE};
pub use decoder::{BlockKind, Decoder, Frame, Limits};
pub use reply::{
    announced_size, parse_language, parse_list_entry, parse_stat, parse_uid_entry, Language, ListEntry, Stat, UidEntry,
};
pub use response::{ResponseCode, StatusLine, StatusText};

pub(crate) use response::describe_line;
