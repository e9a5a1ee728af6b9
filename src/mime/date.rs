//! The Date field: mail-parser's reading, RFC 5322 §4.3 years, and a validity check of our own.

use mail_parser::{DateTime, HeaderValue};

use super::charset::Charsets;
use super::headers::{reparse, unstructured};

/// The Date field's value as RFC 3339 when it can be read, and its text (unfolded, with any
/// comment) whenever it is not empty: a year read under RFC 5322 §4.3 is worth showing as sent.
pub(super) fn read_date(charsets: Charsets<'_>, value: &[u8]) -> (Option<String>, Option<String>) {
    let raw = Some(unstructured(charsets, value)).filter(|s| !s.is_empty());
    let date = match reparse(None, value, |s| s.parse_date()) {
        HeaderValue::DateTime(mut dt) => {
            // Only when mail-parser read the same token as the year (it maps 0-99 as two digits).
            let as_mail_parser = |year: u16| match year {
                0..=49 => year + 2000,
                50..=99 => year + 1900,
                _ => year,
            };
            if let Some(year) = three_digit_year(value).filter(|&year| as_mail_parser(year) == dt.year) {
                dt.year = year + 1900;
            }
            is_valid(&dt).then(|| rfc3339(&dt))
        }
        _ => None,
    };
    (date, raw)
}

/// The year of `value` when it is written with three digits (RFC 5322 §4.3: add 1900; clients
/// that wrote `struct tm`'s years since 1900 sent "101" for 2001). mail-parser already reads
/// two-digit years by §4.3, but takes three digits as they are.
fn three_digit_year(value: &[u8]) -> Option<u16> {
    const MONTHS: [&[u8]; 12] =
        [b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"];
    // The year is the token after the month name: [day-of-week ","] day month year time zone.
    let mut tokens = value.split(|b| b.is_ascii_whitespace() || *b == b',').filter(|t| !t.is_empty());
    tokens.find(|t| MONTHS.iter().any(|m| t.eq_ignore_ascii_case(m)))?;
    let year = tokens.next()?;
    if year.len() != 3 || !year.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(year).ok()?.parse().ok()
}

/// Whether the date exists. Any year mail-parser reads (at most four digits) is kept as it
/// is, where mail-parser's own `is_valid` refuses years outside 1900-3000.
fn is_valid(dt: &DateTime) -> bool {
    let leap = dt.year.is_multiple_of(4) && (!dt.year.is_multiple_of(100) || dt.year.is_multiple_of(400));
    let days = match dt.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    // RFC 5322 zones stop at 99:99 syntactically, but nothing real lies beyond ±14:00.
    (1..=12).contains(&dt.month)
        && (1..=days).contains(&dt.day)
        && dt.hour <= 23
        && dt.minute <= 59
        && dt.second <= 59
        && dt.tz_hour <= 14
        && dt.tz_minute <= 59
}

/// RFC 3339 with the sender's own offset. Unlike mail-parser's `to_rfc3339` this never
/// writes `Z`, so `+00:00` (UTC) and `-00:00` (offset unknown, RFC 5322 §3.3) stay distinct.
fn rfc3339(dt: &DateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
        dt.year,
        dt.month,
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        if dt.tz_before_gmt { '-' } else { '+' },
        dt.tz_hour,
        dt.tz_minute
    )
}

#[cfg(test)]
mod tests {
    use crate::mime::parse;

    #[test]
    fn dates() {
        let date = |value: &str| {
            let msg = parse(format!("Date: {value}\r\n\r\n").as_bytes()).unwrap();
            (msg.date, msg.date_raw)
        };
        let read = |value: &str, iso: &str| (Some(iso.to_owned()), Some(value.to_owned()));
        let unread = |value: &str| (None, Some(value.to_owned()));
        for (value, expected) in [
            ("Mon, 2 Mar 2026 08:30:12 +0100", read("Mon, 2 Mar 2026 08:30:12 +0100", "2026-03-02T08:30:12+01:00")),
            ("2 Mar 2026 08:30:12 -0000", read("2 Mar 2026 08:30:12 -0000", "2026-03-02T08:30:12-00:00")),
            // RFC 5322 §4.3: two digits are 2000-2049 or 1950-1999, three digits add 1900.
            ("Tue, 1 Jan 02 10:00:00 +0000", read("Tue, 1 Jan 02 10:00:00 +0000", "2002-01-01T10:00:00+00:00")),
            ("1 Jan 49 10:00:00 +0000", read("1 Jan 49 10:00:00 +0000", "2049-01-01T10:00:00+00:00")),
            ("1 Jan 50 10:00:00 +0000", read("1 Jan 50 10:00:00 +0000", "1950-01-01T10:00:00+00:00")),
            ("Thu, 01 Feb 101 13:05:00 -0500", read("Thu, 01 Feb 101 13:05:00 -0500", "2001-02-01T13:05:00-05:00")),
            ("1 jan 049 10:00:00 +0000", read("1 jan 049 10:00:00 +0000", "1949-01-01T10:00:00+00:00")),
            // Other odd years are kept as they are.
            ("Tue, 1 Jan 3001 10:00:00 +0000", read("Tue, 1 Jan 3001 10:00:00 +0000", "3001-01-01T10:00:00+00:00")),
            ("1 Jan 9999 23:59:59 +1400", read("1 Jan 9999 23:59:59 +1400", "9999-01-01T23:59:59+14:00")),
            ("1 Jan 1850 10:00:00 +0000", read("1 Jan 1850 10:00:00 +0000", "1850-01-01T10:00:00+00:00")),
            ("Sat, 31 Feb 2026 10:00:00 +0000", unread("Sat, 31 Feb 2026 10:00:00 +0000")),
            ("yesterday", unread("yesterday")),
        ] {
            assert_eq!(date(value), expected, "{value}");
        }
        // The leap-year rule follows the year as read: 2000 (from "100") was a leap year.
        assert_eq!(date("29 Feb 100 10:00:00 +0000").0.as_deref(), Some("2000-02-29T10:00:00+00:00"));
        assert_eq!(parse(b"Subject: x\r\n\r\n").unwrap().date_raw, None);
        // The raw text is unfolded, with its comment.
        assert_eq!(
            date("Mon, 2 Mar 2026\r\n 08:30:12 +0100 (CET)"),
            read("Mon, 2 Mar 2026 08:30:12 +0100 (CET)", "2026-03-02T08:30:12+01:00")
        );
    }
}
