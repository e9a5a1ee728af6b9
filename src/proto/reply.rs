//! The grammar of single-line replies: `STAT`, `LIST n` / `UIDL n` and their listing lines,
//! `LANG` listing lines, and the size a `RETR` reply announces. One parser for each, used by
//! the engine and by nobody else.

use super::command::MsgNum;

/// The answer to `STAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Number of messages in the mailbox (not counting those marked deleted).
    pub count: u32,
    /// Their total size in octets, as the server counts it (a hint).
    pub size: u64,
}

/// One line of `LIST`: a message and its size. Sizes are hints: some servers count LF line
/// endings, some are simply wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListEntry {
    /// The message number.
    pub msg: MsgNum,
    /// The size the server reports, in octets.
    pub size: u64,
}

/// One line of `UIDL`: a message and its unique id, stable across sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidEntry {
    /// The message number.
    pub msg: MsgNum,
    /// The unique id (1 to 70 printable characters per RFC 1939; kept as sent).
    pub uid: String,
}

/// One line of a `LANG` listing (RFC 6856): a language tag and its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// The language tag, such as `en` or `fr-CA`.
    pub tag: String,
    /// The server's description of it (may be empty).
    pub description: String,
}

/// `count size` after `+OK` to `STAT`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let mut words = text.split_ascii_whitespace();
    Some(Stat { count: words.next()?.parse().ok()?, size: words.next()?.parse().ok()? })
}

/// `msg size`: a `LIST` listing line, or the text after `+OK` to `LIST n`.
pub fn parse_list_entry(text: &str) -> Option<ListEntry> {
    let mut words = text.split_ascii_whitespace();
    let msg = MsgNum::new(words.next()?.parse().ok()?).ok()?;
    Some(ListEntry { msg, size: words.next()?.parse().ok()? })
}

/// `msg uid`: a `UIDL` listing line, or the text after `+OK` to `UIDL n`.
pub fn parse_uid_entry(text: &str) -> Option<UidEntry> {
    let mut words = text.split_ascii_whitespace();
    let msg = MsgNum::new(words.next()?.parse().ok()?).ok()?;
    let uid = words.next()?;
    // RFC 1939: 1 to 70 characters in the range 0x21..0x7E. Longer ids are kept: refusing them
    // would make a message impossible to track; control characters cannot occur (split above).
    Some(UidEntry { msg, uid: uid.to_owned() })
}

/// `tag description`: a `LANG` listing line.
pub fn parse_language(text: &str) -> Option<Language> {
    let text = text.trim();
    let (tag, description) = text.split_once([' ', '\t']).unwrap_or((text, ""));
    (!tag.is_empty()).then(|| Language { tag: tag.to_owned(), description: description.trim().to_owned() })
}

/// The size in `+OK 1234 octets` (RFC 1939's examples of a `RETR` reply). Only meaningful for
/// `RETR`: the octets a `TOP` reply names are the whole message's, not the reply's.
pub fn announced_size(text: &str) -> Option<u64> {
    let mut words = text.split_ascii_whitespace();
    let size = words.next()?.parse().ok()?;
    words.next().is_some_and(|w| w.to_ascii_lowercase().starts_with("octet")).then_some(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(parse_stat("2 320"), Some(Stat { count: 2, size: 320 }));
        assert_eq!(parse_stat("2"), None);
        let entry = parse_list_entry("  7   1024 extra").unwrap();
        assert_eq!((entry.msg.get(), entry.size), (7, 1024));
        assert_eq!(parse_list_entry("7"), None);
        assert_eq!(parse_list_entry("0 10"), None);
        assert_eq!(parse_list_entry("7 ten"), None);
        assert_eq!(parse_uid_entry("3 abc").unwrap().uid, "abc");
        assert_eq!(parse_uid_entry("3"), None);
        assert_eq!(
            parse_language("fr Français").unwrap(),
            Language { tag: "fr".into(), description: "Français".into() }
        );
        assert_eq!(parse_language("en").unwrap().description, "");
        assert_eq!(announced_size("1234 octets"), Some(1234));
        assert_eq!(announced_size("1234 Octets follow"), Some(1234));
        assert_eq!(announced_size("1234"), None);
        assert_eq!(announced_size("message follows"), None);
    }
}
