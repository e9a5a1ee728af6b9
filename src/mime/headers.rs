//! Header fields: raw values, mail-parser's field parsers run on them, addresses and dates.

use mail_parser::parsers::MessageStream;
use mail_parser::{Address as MpAddress, Header, HeaderName, HeaderValue};

use super::charset::{utf8_or_windows_1252, Charsets};
use super::Address;

/// The raw value bytes of a header (after the colon, including the line end).
pub(super) fn raw_value<'a>(header: &Header<'_>, buf: &'a [u8]) -> &'a [u8] {
    buf.get(header.offset_start as usize..header.offset_end as usize).unwrap_or_default()
}

pub(super) fn field_name(header: &Header<'_>, buf: &[u8]) -> String {
    let spelled = buf
        .get(header.offset_field as usize..header.offset_start as usize)
        .map(|b| String::from_utf8_lossy(b).trim_end_matches(':').trim().to_owned())
        .filter(|s| !s.is_empty());
    spelled.unwrap_or_else(|| header.name.as_str().to_owned())
}

pub(super) fn first_raw<'a>(headers: &[Header<'_>], buf: &'a [u8], name: HeaderName<'static>) -> Option<&'a [u8]> {
    all_raw(headers, buf, name).next()
}

pub(super) fn all_raw<'a, 'h>(
    headers: &'h [Header<'_>],
    buf: &'a [u8],
    name: HeaderName<'static>,
) -> impl Iterator<Item = &'a [u8]> + 'h
where
    'a: 'h,
{
    headers.iter().filter(move |h| h.name == name).map(move |h| raw_value(h, buf))
}

/// One of mail-parser's field parsers.
type FieldParser = for<'x> fn(&mut MessageStream<'x>) -> HeaderValue<'x>;

/// Runs a field parser on a raw value. The value is read as windows-1252 when it is not
/// UTF-8 (mail-parser would substitute U+FFFD), and given the line end the parsers need to
/// finish (a header on the last line of a message may lack one).
///
/// `words` is given when `parse` decodes RFC 2047 words: words in charsets left to the
/// fallback are then rewritten as UTF-8 words for it. In a value that is not UTF-8, every word
/// is decoded from the raw bytes first: Eudora put 8-bit octets straight into Q words
/// (`=?iso-8859-1?Q?Fr<F6>sche?=`), and they belong to the word's charset, not windows-1252.
pub(super) fn reparse(words: Option<Charsets<'_>>, value: &[u8], parse: FieldParser) -> HeaderValue<'static> {
    let mut owned: Option<Vec<u8>> = None;
    if std::str::from_utf8(value).is_err() {
        // The rewritten words are ASCII, so only the text around them is read as windows-1252.
        let decoded = words.and_then(|charsets| charsets.rewrite_all_words(value));
        owned = Some(utf8_or_windows_1252(decoded.as_deref().unwrap_or(value)).into_bytes());
    }
    if !owned.as_deref().unwrap_or(value).ends_with(b"\n") {
        owned.get_or_insert_with(|| value.to_vec()).push(b'\n');
    }
    if let Some(rewritten) =
        words.and_then(|charsets| charsets.rewrite_fallback_words(owned.as_deref().unwrap_or(value)))
    {
        owned = Some(rewritten);
    }
    let bytes = owned.as_deref().unwrap_or(value);
    parse(&mut MessageStream::new(bytes)).into_owned()
}

/// An unstructured header value: unfolded, encoded-words decoded, trimmed.
pub(super) fn unstructured(charsets: Charsets<'_>, value: &[u8]) -> String {
    match reparse(Some(charsets), value, |s| s.parse_unstructured()) {
        HeaderValue::Text(t) => t.trim().to_owned(),
        HeaderValue::TextList(list) => list.join(" ").trim().to_owned(),
        _ => String::new(),
    }
}

pub(super) fn ids(value: &[u8]) -> Vec<String> {
    let clean = |s: &str| s.trim().trim_start_matches('<').trim_end_matches('>').to_owned();
    // Message ids are read as they stand: words in them are not decoded, so not rewritten.
    match reparse(None, value, |s| s.parse_id()) {
        HeaderValue::Text(t) => vec![clean(&t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

pub(super) fn addresses(
    charsets: Charsets<'_>,
    headers: &[Header<'_>],
    buf: &[u8],
    name: HeaderName<'static>,
) -> Vec<Address> {
    let mut out = Vec::new();
    for value in all_raw(headers, buf, name) {
        let parsed = reparse(Some(charsets), value, |s| s.parse_address());
        let HeaderValue::Address(address) = parsed else { continue };
        match address {
            MpAddress::List(list) => out.extend(list.iter().filter_map(|a| mailbox(a, None))),
            MpAddress::Group(groups) => {
                for group in groups {
                    let group_name = group.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
                    let before = out.len();
                    out.extend(group.addresses.iter().filter_map(|a| mailbox(a, group_name)));
                    if out.len() == before {
                        if let Some(group_name) = group_name {
                            out.push(Address { name: None, address: None, group: Some(group_name.to_owned()) });
                        }
                    }
                }
            }
        }
    }
    out
}

fn mailbox(addr: &mail_parser::Addr<'_>, group: Option<&str>) -> Option<Address> {
    let clean = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let name = clean(addr.name());
    let address = clean(addr.address());
    if name.is_none() && address.is_none() {
        return None;
    }
    Some(Address { name, address, group: group.map(str::to_owned) })
}

#[cfg(test)]
mod tests {
    use crate::mime::{parse, Address};

    #[test]
    fn groups_are_flattened() {
        let msg =
            parse(b"To: Team: a@x.example, B <b@x.example>;, c@y.example\r\nCc: undisclosed-recipients:;\r\n\r\n")
                .unwrap();
        let to: Vec<_> = msg.to.iter().map(|a| (a.address.as_deref(), a.group.as_deref())).collect();
        assert_eq!(
            to,
            [(Some("a@x.example"), Some("Team")), (Some("b@x.example"), Some("Team")), (Some("c@y.example"), None)]
        );
        assert_eq!(msg.cc, [Address { name: None, address: None, group: Some("undisclosed-recipients".into()) }]);
    }

    #[test]
    fn raw_8bit_inside_encoded_words_belongs_to_the_words_charset() {
        // Eudora: 8-bit octets straight inside Q words, next to raw 8-bit text outside them.
        let msg = parse(
            b"Subject: =?iso-8859-1?Q?Fr\xf6sche?= und M\xe4use\r\n\
              To: \"=?iso-8859-1?Q?Fr\xe4nze?=\" <f@example.de>, =?koi8-r?Q?\xf0\xd2?= <p@example.ru>\r\n\
              X-Note: =?utf-8?Q?caf\xc3\xa9?= na\xefve\r\n\r\nx",
        )
        .unwrap();
        assert_eq!(msg.subject.as_deref(), Some("Fr\u{f6}sche und M\u{e4}use"));
        let names: Vec<_> = msg.to.iter().map(|a| a.name.as_deref().unwrap_or_default()).collect();
        assert_eq!(names, ["Fr\u{e4}nze", "\u{41f}\u{440}"]);
        // A UTF-8 word keeps its UTF-8 octets; the text outside it is windows-1252.
        assert_eq!(msg.headers[2].value, "caf\u{e9} na\u{ef}ve");
        // A header that is UTF-8 already is read as it was (mail-parser's own word decoding).
        let msg = parse("Subject: =?iso-8859-1?Q?caf=E9?= déjà\r\n\r\nx".as_bytes()).unwrap();
        assert_eq!(msg.subject.as_deref(), Some("caf\u{e9} déjà"));
    }

    #[test]
    fn raw_8bit_headers_read_as_windows_1252() {
        let msg = parse(b"Subject: Caf\xe9\r\nFrom: Ren\xe9e <r@example.com>\r\n\r\nx").unwrap();
        assert_eq!(msg.subject.as_deref(), Some("Caf\u{e9}"));
        assert_eq!(msg.from[0].name.as_deref(), Some("Ren\u{e9}e"));
        // Valid UTF-8 stays UTF-8.
        let msg = parse("Subject: Café\r\n\r\nx".as_bytes()).unwrap();
        assert_eq!(msg.subject.as_deref(), Some("Café"));
    }
}
