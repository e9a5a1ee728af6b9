//! Incremental framing of server replies.
//!
//! POP3 replies are either one status line or a status line followed by a dot-terminated block
//! (RFC 1939 section 3). Which one depends on the command in flight, so the decoder only reads
//! status lines until its owner says a block follows ([`Decoder::expect_block`]).
//!
//! The decoder takes whatever bytes arrived, in chunks of any size, and returns one [`Frame`] at
//! a time with how many input bytes it used. Frames borrow from the input: message data is handed
//! out as dot-unstuffed slices, never copied, and a line is returned once it is complete. Like
//! `httparse`, the decoder keeps no copy of a partial line: when a line is incomplete it returns
//! `None` with the octets it used, and the caller presents the unused rest again, followed by
//! new bytes. The decoder remembers how far it already searched, so each byte is examined once,
//! and a line longer than [`Limits::max_line`] is refused as soon as it is seen. Message data is
//! searched for `"\n."` with `memchr`'s SIMD substring search, so ordinary lines are not looked
//! at one by one.
//!
//! Tolerated server quirks: bare LF line endings; stray empty lines before a status line; the
//! terminator `".\r"` without LF (seen from Cyrus); servers that do not dot-stuff (a line such as
//! `".x"` is kept as it is, since only `".."` can be a stuffed dot); and, when the server
//! announced the message's size (`+OK 1234 octets`), a terminator glued to the last line of a
//! message that lacks a final line ending (`text.\r\n`, old Exchange), recognised only at exactly
//! that size and only once what follows it is a status line (see [`Decoder::expect_message`]).

use memchr::memmem;

use crate::error::{Error, Result};

/// Bounds that keep a hostile or broken server from using unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest status line or list line accepted, in octets, without its line ending.
    /// RFC 2449 allows 512 octets; real servers occasionally send more.
    pub max_line: usize,
    /// The largest message (`RETR`/`TOP` data) accepted, in octets. Decoding fails with a
    /// limit error as soon as a message passes it: a server that streams without end is
    /// stopped there, and since the rest of the reply is never read, the session is over.
    pub max_message: u64,
    /// The largest multi-line list (`LIST`, `UIDL`, `CAPA`) accepted, in octets.
    pub max_list: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_line: 8 * 1024, max_message: 256 * 1024 * 1024, max_list: 64 * 1024 * 1024 }
    }
}

/// What kind of block follows an `+OK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Short lines (`LIST`, `UIDL`, `CAPA`), each returned whole as [`Frame::ListLine`].
    Lines,
    /// A message (`RETR`, `TOP`), returned in pieces as [`Frame::Data`].
    Message,
}

/// One unit of decoded input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A status line or SASL continuation, without its line ending.
    Line(&'a [u8]),
    /// One line of a [`BlockKind::Lines`] block, unstuffed, without its line ending.
    ListLine(&'a [u8]),
    /// A piece of a message, unstuffed, with line endings exactly as the server sent them.
    Data(&'a [u8]),
    /// The terminating `"."` of a block.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a status line.
    Status,
    /// Inside a list block.
    List,
    /// Inside a message block, at the start of a line.
    DataLineStart,
    /// Inside a message block, after the start of a line.
    DataMidLine,
    /// Inside a message block, after a `.` that began a line.
    DataDot,
}

/// The incremental reply decoder. See the module documentation.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    limits: Limits,
    /// How many octets of the pending, incomplete line were already searched for LF.
    scanned: usize,
    /// Octets of the current block so far (message data or list lines).
    block_len: u64,
    /// The current message passed [`Limits::max_message`]: decoding has failed for good.
    exceeded: bool,
    /// In a message of announced size, the octet offset where a glued terminator may stand.
    glue_at: Option<u64>,
    /// A possible glued terminator is waiting for what follows it (see [`Decoder::glue_waiting`]).
    glue_waiting: bool,
    finder: memmem::Finder<'static>,
}

impl Decoder {
    /// A decoder that starts by reading a status line (the server greeting).
    pub fn new(limits: Limits) -> Self {
        Decoder {
            state: State::Status,
            limits,
            scanned: 0,
            block_len: 0,
            exceeded: false,
            glue_at: None,
            glue_waiting: false,
            finder: memmem::Finder::new(b"\n."),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether the decoder is between replies (no partial line or block pending).
    pub fn is_idle(&self) -> bool {
        self.state == State::Status && self.scanned == 0
    }

    /// Whether the decoder is inside a block.
    pub fn in_block(&self) -> bool {
        self.state != State::Status
    }

    /// Announces that a block of `kind` follows the status line just returned.
    pub fn expect_block(&mut self, kind: BlockKind) {
        debug_assert_eq!(self.state, State::Status);
        self.block_len = 0;
        self.glue_at = None;
        self.glue_waiting = false;
        self.state = match kind {
            BlockKind::Lines => State::List,
            BlockKind::Message => State::DataLineStart,
        };
    }

    /// Announces a message whose size the server gave in its `+OK` (`+OK 1234 octets`).
    ///
    /// Some servers (old Exchange) glue the terminator to the last line of a message that has
    /// no final line ending: `text.\r\n` instead of `text\r\n.\r\n`. That cannot be told from a
    /// line ending in a dot, so it is only taken as the end when it stands exactly at the
    /// announced size *and* what follows is a status line (`+OK`/`-ERR`): the reply to the next
    /// command. When nothing follows yet, [`Decoder::glue_waiting`] turns true, and the engine
    /// sends a `NOOP` whose reply settles it. Anything else after it means the dot was data.
    pub fn expect_message(&mut self, announced_size: u64) {
        self.expect_block(BlockKind::Message);
        self.glue_at = Some(announced_size);
    }

    /// Whether decoding waits on a possible glued terminator with nothing after it yet.
    pub fn glue_waiting(&self) -> bool {
        self.glue_waiting
    }

    /// Decodes the next frame from `input`.
    ///
    /// Returns how many octets of `input` were used and the frame, if one is complete. `None`
    /// means more bytes are needed: call again with the unused rest of `input` (which may be an
    /// incomplete line) followed by new bytes.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Frame<'a>>)> {
        match self.state {
            State::Status => self.decode_status(input),
            State::List => self.decode_list_line(input),
            _ => {
                if self.exceeded {
                    return Err(self.too_large());
                }
                // A dot that turns out to be data may yield no frame yet: keep going until a
                // frame or the end of input.
                let mut used = 0;
                loop {
                    let (n, frame) = self.decode_data(&input[used..]);
                    if self.exceeded && frame.is_none() {
                        return Err(self.too_large());
                    }
                    used += n;
                    if frame.is_some() || n == 0 || used == input.len() {
                        return Ok((used, frame));
                    }
                }
            }
        }
    }

    fn decode_status<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Frame<'a>>)> {
        let mut used = 0;
        loop {
            let Some((end, next)) = self.take_line(&input[used..])? else { return Ok((used, None)) };
            let line = &input[used..used + end];
            used += next;
            // Tolerate stray empty lines between replies (a lone LF after a ".\r" terminator,
            // or servers that emit an extra blank line).
            if !line.is_empty() {
                return Ok((used, Some(Frame::Line(line))));
            }
        }
    }

    fn decode_list_line<'a>(&mut self, input: &'a [u8]) -> Result<(usize, Option<Frame<'a>>)> {
        let Some((end, used)) = self.take_line(input)? else { return Ok((0, None)) };
        let line = &input[..end];
        self.block_len += used as u64;
        if self.block_len > self.limits.max_list {
            return Err(Error::limit(format!(
                "the server's list reply exceeds the limit of {} octets",
                self.limits.max_list
            )));
        }
        if line == b"." {
            self.state = State::Status;
            return Ok((used, Some(Frame::End)));
        }
        let line = if line.starts_with(b"..") { &line[1..] } else { line };
        Ok((used, Some(Frame::ListLine(line))))
    }

    /// Finds the end of the line at the start of `input`: `Some((end of text, end of line
    /// ending))`, or `None` when the line is incomplete.
    fn take_line(&mut self, input: &[u8]) -> Result<Option<(usize, usize)>> {
        let from = self.scanned.min(input.len());
        match memchr::memchr(b'\n', &input[from..]) {
            Some(at) => {
                let lf = from + at;
                self.scanned = 0;
                let end = if lf > 0 && input[lf - 1] == b'\r' { lf - 1 } else { lf };
                if end > self.limits.max_line {
                    return Err(self.overlong());
                }
                Ok(Some((end, lf + 1)))
            }
            None => {
                // +1: the line may end in a CR whose LF has not arrived yet.
                if input.len() > self.limits.max_line + 1 {
                    return Err(self.overlong());
                }
                self.scanned = input.len();
                Ok(None)
            }
        }
    }

    fn too_large(&self) -> Error {
        Error::limit(format!(
            "the message is larger than the limit of {} octets; reading stopped there, and the session cannot go on",
            self.limits.max_message
        ))
    }

    fn overlong(&self) -> Error {
        Error::limit(format!("the server sent a line longer than the limit of {} octets", self.limits.max_line))
    }

    fn decode_data<'a>(&mut self, input: &'a [u8]) -> (usize, Option<Frame<'a>>) {
        let mut pos = 0;
        // Message octets from `start` to `pos` are passed on unchanged.
        let start = 0;
        loop {
            match self.state {
                State::DataLineStart => {
                    let Some(&first) = input.get(pos) else { break };
                    if first == b'.' {
                        if pos > start {
                            break; // hand out the data before the dot first
                        }
                        self.state = State::DataDot;
                        pos += 1;
                        return self.after_dot(input, pos);
                    }
                    self.state = State::DataMidLine;
                }
                State::DataMidLine => {
                    // Search no further than a possible glued terminator.
                    let glue = self.glue_index(pos);
                    let end = glue.map_or(input.len(), |g| g.min(input.len()));
                    match self.finder.find(&input[pos..end]) {
                        Some(at) => {
                            pos += at + 1;
                            self.state = State::DataLineStart;
                        }
                        None => {
                            if end > pos && input[end - 1] == b'\n' {
                                self.state = State::DataLineStart;
                            }
                            if end > pos || glue != Some(end) || self.state != State::DataMidLine {
                                pos = end;
                                break;
                            }
                            if pos > start {
                                break; // hand out the data before it first
                            }
                            return self.at_glue(input, pos);
                        }
                    }
                }
                State::DataDot => return self.after_dot(input, pos),
                State::Status | State::List => unreachable!("decode_data outside a message"),
            }
        }
        (pos, self.data(&input[start..pos]))
    }

    /// Where in `input` the announced size falls, if a glued terminator may still come; `pos` is
    /// the first octet not yet counted in `block_len`.
    fn glue_index(&self, pos: usize) -> Option<usize> {
        let at = self.glue_at?;
        let here = self.block_len + pos as u64;
        if at < here {
            return None;
        }
        usize::try_from(at - here).ok().and_then(|d| pos.checked_add(d))
    }

    /// At the announced size of a message, in the middle of a line: a glued terminator or data.
    fn at_glue<'a>(&mut self, input: &'a [u8], pos: usize) -> (usize, Option<Frame<'a>>) {
        let rest = &input[pos..];
        let term = if rest.starts_with(b".\r\n") {
            3
        } else if rest.starts_with(b".\n") {
            2
        } else if b".\r\n".starts_with(rest) {
            return (pos, None); // too few octets to tell yet
        } else {
            0
        };
        if term > 0 {
            let after = &rest[term..];
            if after.starts_with(b"+OK") || after.starts_with(b"-ERR") {
                self.glue_at = None;
                self.glue_waiting = false;
                self.state = State::Status;
                return (pos + term, Some(Frame::End));
            }
            if b"+OK".starts_with(after) || b"-ERR".starts_with(after) {
                self.glue_waiting = after.is_empty();
                return (pos, None);
            }
        }
        // Data follows: the dot belongs to the message.
        self.glue_at = None;
        self.glue_waiting = false;
        self.continue_line(input, pos)
    }

    /// Continues after a `.` at the start of a line, `pos` octets into `input`.
    fn after_dot<'a>(&mut self, input: &'a [u8], mut pos: usize) -> (usize, Option<Frame<'a>>) {
        let Some(&next) = input.get(pos) else { return (pos, None) };
        match next {
            b'\n' | b'\r' => {
                pos += 1;
                // ".\r\n" is the terminator; a ".\r" whose LF is missing or has not arrived yet is
                // accepted too (Cyrus). A late LF is skipped as an empty line before the next reply.
                if next == b'\r' && input.get(pos) == Some(&b'\n') {
                    pos += 1;
                }
                self.state = State::Status;
                (pos, Some(Frame::End))
            }
            b'.' => {
                // A stuffed dot: drop the first, keep the second as the start of the line's data.
                self.state = State::DataMidLine;
                self.continue_line(input, pos)
            }
            _ => {
                // A server that does not dot-stuff: the dot is data.
                self.state = State::DataMidLine;
                match self.data(b".") {
                    Some(frame) => (pos, Some(frame)),
                    None => self.continue_line(input, pos),
                }
            }
        }
    }

    fn continue_line<'a>(&mut self, input: &'a [u8], pos: usize) -> (usize, Option<Frame<'a>>) {
        let (used, frame) = self.decode_data(&input[pos..]);
        (pos + used, frame)
    }

    /// Counts message octets against the limit and wraps them in a frame. Octets past the
    /// limit are never handed out: the first `max_message` octets are (whatever the chunking),
    /// then decoding fails (see [`Limits::max_message`]).
    fn data<'a>(&mut self, data: &'a [u8]) -> Option<Frame<'a>> {
        if data.is_empty() || self.exceeded {
            return None;
        }
        let room = self.limits.max_message.saturating_sub(self.block_len);
        let keep = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        if keep < data.len() {
            self.exceeded = true;
        }
        self.block_len += keep as u64;
        (keep > 0).then(|| Frame::Data(&data[..keep]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    /// A decoded reply stream with message data joined, so that runs over differently split
    /// input compare equal.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Line(Vec<u8>),
        ListLine(Vec<u8>),
        Data(Vec<u8>),
        End,
    }

    /// Feeds `chunks` and, after each status line starting with `+OK`, announces the next block
    /// kind from `blocks` (one entry per status line; `None` for single-line replies).
    fn run(chunks: &[&[u8]], blocks: &[Option<BlockKind>], limits: Limits) -> Result<Vec<Owned>> {
        run_with(chunks, blocks, limits, false)
    }

    /// Like [`run`]; with `sized`, a message whose `+OK` says `N octets` is announced with
    /// [`Decoder::expect_message`], as the engine does for `RETR`.
    fn run_with(chunks: &[&[u8]], blocks: &[Option<BlockKind>], limits: Limits, sized: bool) -> Result<Vec<Owned>> {
        let mut decoder = Decoder::new(limits);
        let mut out: Vec<Owned> = Vec::new();
        let mut replies = blocks.iter();
        let mut pending = Vec::new();
        for chunk in chunks {
            pending.extend_from_slice(chunk);
            let mut pos = 0;
            loop {
                let (used, frame) = decoder.decode(&pending[pos..])?;
                pos += used;
                // An incomplete line stays in `pending` and is presented again with the next chunk.
                let Some(frame) = frame else { break };
                match frame {
                    Frame::Line(l) => {
                        let l = l.to_vec();
                        let block = replies.next().copied().flatten();
                        if l.starts_with(b"+OK") {
                            let announced = std::str::from_utf8(&l[3..])
                                .ok()
                                .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok());
                            match (block, announced) {
                                (Some(BlockKind::Message), Some(size)) if sized => decoder.expect_message(size),
                                (Some(kind), _) => decoder.expect_block(kind),
                                (None, _) => {}
                            }
                        }
                        out.push(Owned::Line(l));
                    }
                    Frame::ListLine(l) => out.push(Owned::ListLine(l.to_vec())),
                    Frame::Data(d) => {
                        assert!(!d.is_empty(), "empty data frame");
                        match out.last_mut() {
                            Some(Owned::Data(prev)) => prev.extend_from_slice(d),
                            _ => out.push(Owned::Data(d.to_vec())),
                        }
                    }
                    Frame::End => out.push(Owned::End),
                }
            }
            pending.drain(..pos);
        }
        Ok(out)
    }

    /// Runs `input` whole, split at every boundary, split at every pair of boundaries (for short
    /// inputs), and one byte at a time, and checks every run gives `expected`.
    fn check_all_splits(input: &[u8], blocks: &[Option<BlockKind>], limits: Limits, expected: &Result<Vec<Owned>>) {
        check_all_splits_with(input, blocks, limits, expected, false);
    }

    fn check_all_splits_with(
        input: &[u8],
        blocks: &[Option<BlockKind>],
        limits: Limits,
        expected: &Result<Vec<Owned>>,
        sized: bool,
    ) {
        let run =
            |chunks: &[&[u8]], blocks: &[Option<BlockKind>], limits: Limits| run_with(chunks, blocks, limits, sized);
        let whole = run(&[input], blocks, limits);
        assert_eq!(&whole, expected, "whole input");
        for cut in 0..=input.len() {
            let got = run(&[&input[..cut], &input[cut..]], blocks, limits);
            assert_eq!(&got, expected, "split at {cut}");
        }
        if input.len() <= 80 {
            for a in 0..=input.len() {
                for b in a..=input.len() {
                    let got = run(&[&input[..a], &input[a..b], &input[b..]], blocks, limits);
                    assert_eq!(&got, expected, "split at {a} and {b}");
                }
            }
        }
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(&run(&bytes, blocks, limits), expected, "one byte at a time");
    }

    fn line(s: &str) -> Owned {
        Owned::Line(s.as_bytes().to_vec())
    }
    fn list(s: &str) -> Owned {
        Owned::ListLine(s.as_bytes().to_vec())
    }
    fn data(s: &str) -> Owned {
        Owned::Data(s.as_bytes().to_vec())
    }
    const END: Owned = Owned::End;
    const M: Option<BlockKind> = Some(BlockKind::Message);
    const L: Option<BlockKind> = Some(BlockKind::Lines);

    #[test]
    fn status_lines() {
        let input = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n-ERR [IN-USE] locked\r\n";
        let expected =
            Ok(vec![line("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"), line("-ERR [IN-USE] locked")]);
        check_all_splits(input, &[None, None], Limits::default(), &expected);
    }

    #[test]
    fn message_with_dot_stuffing() {
        let input =
            b"+OK 120 octets\r\nSubject: x\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nend\r\n.\r\n+OK next\r\n";
        let expected = Ok(vec![
            line("+OK 120 octets"),
            data("Subject: x\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n"),
            END,
            line("+OK next"),
        ]);
        check_all_splits(input, &[M, None], Limits::default(), &expected);
    }

    #[test]
    fn list_block() {
        let input = b"+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n-ERR no such message\r\n";
        let expected =
            Ok(vec![line("+OK 2 messages"), list("1 120"), list("2 200"), END, line("-ERR no such message")]);
        check_all_splits(input, &[L, L], Limits::default(), &expected);
    }

    #[test]
    fn err_reply_to_a_block_command_has_no_block() {
        let input = b"-ERR no such message\r\n+OK\r\nbody\r\n.\r\n";
        let expected = Ok(vec![line("-ERR no such message"), line("+OK"), data("body\r\n"), END]);
        check_all_splits(input, &[M, M], Limits::default(), &expected);
    }

    #[test]
    fn empty_message_and_empty_list() {
        let input = b"+OK\r\n.\r\n+OK\r\n.\r\n";
        let expected = Ok(vec![line("+OK"), END, line("+OK"), END]);
        check_all_splits(input, &[M, L], Limits::default(), &expected);
    }

    #[test]
    fn bare_lf_line_endings() {
        let input = b"+OK\nline one\n..dot\n.\n+OK 1 2\n";
        let expected = Ok(vec![line("+OK"), data("line one\n.dot\n"), END, line("+OK 1 2")]);
        check_all_splits(input, &[M, None], Limits::default(), &expected);
    }

    #[test]
    fn cyrus_terminator_without_lf_and_stray_lf() {
        // ".\r" with no LF, then the next reply; and a stray LF before a status line.
        let input = b"+OK\r\nx\r\n.\r+OK a\r\n\n+OK b\r\n";
        let expected = Ok(vec![line("+OK"), data("x\r\n"), END, line("+OK a"), line("+OK b")]);
        check_all_splits(input, &[M, None, None], Limits::default(), &expected);
    }

    #[test]
    fn server_that_does_not_dot_stuff() {
        // Mailpit-style: ".x" is data; the dot is not removed.
        let input = b"+OK\r\n.hidden file\r\n.\r\n";
        let expected = Ok(vec![line("+OK"), data(".hidden file\r\n"), END]);
        check_all_splits(input, &[M], Limits::default(), &expected);
    }

    #[test]
    fn lines_with_dots_in_the_middle_are_data() {
        let input = b"+OK\r\na.b\r\nc\r\n.d\r\n. \r\n.\r\n";
        let expected = Ok(vec![line("+OK"), data("a.b\r\nc\r\n.d\r\n. \r\n"), END]);
        check_all_splits(input, &[M], Limits::default(), &expected);
    }

    #[test]
    fn message_without_final_newline_is_ended_by_the_server() {
        // The server adds CRLF before the terminator; the message ends with that CRLF.
        let input = b"+OK\r\nno newline at end\r\n.\r\n";
        let expected = Ok(vec![line("+OK"), data("no newline at end\r\n"), END]);
        check_all_splits(input, &[M], Limits::default(), &expected);
    }

    #[test]
    fn rfc1939_example_session() {
        let input = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n\
+OK mrose's maildrop has 2 messages (320 octets)\r\n\
+OK 2 320\r\n\
+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n\
+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n\
+OK message 1 deleted\r\n\
+OK 200 octets\r\n<the POP3 server sends message 2>\r\n.\r\n\
+OK message 2 deleted\r\n\
+OK dewey POP3 server signing off (maildrop empty)\r\n";
        let blocks = [None, None, None, L, M, None, M, None, None];
        let expected = Ok(vec![
            line("+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            line("+OK mrose's maildrop has 2 messages (320 octets)"),
            line("+OK 2 320"),
            line("+OK 2 messages (320 octets)"),
            list("1 120"),
            list("2 200"),
            END,
            line("+OK 120 octets"),
            data("<the POP3 server sends message 1>\r\n"),
            END,
            line("+OK message 1 deleted"),
            line("+OK 200 octets"),
            data("<the POP3 server sends message 2>\r\n"),
            END,
            line("+OK message 2 deleted"),
            line("+OK dewey POP3 server signing off (maildrop empty)"),
        ]);
        check_all_splits(input, &blocks, Limits::default(), &expected);
    }

    #[test]
    fn overlong_status_line_is_a_limit_error() {
        let limits = Limits { max_line: 16, ..Limits::default() };
        let ok = b"+OK 0123456789ab\r\n"; // exactly 16 octets of text
        check_all_splits(ok, &[None], limits, &Ok(vec![line("+OK 0123456789ab")]));
        let too_long = b"+OK 0123456789abc\r\n";
        for chunks in [vec![&too_long[..]], too_long.chunks(1).collect(), too_long.chunks(5).collect()] {
            let err = run(&chunks, &[None], limits).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Limit);
        }
        // A line that never ends is refused once it passes the limit, not buffered forever.
        let endless = vec![b'x'; 1000];
        assert_eq!(run(&[&endless], &[None], limits).unwrap_err().kind(), ErrorKind::Limit);
    }

    #[test]
    fn oversized_message_fails_as_soon_as_it_passes_the_limit() {
        let limits = Limits { max_message: 10, ..Limits::default() };
        // Exactly at the limit is fine.
        let input = b"+OK\r\n01234567\r\n.\r\n";
        check_all_splits(input, &[M], limits, &Ok(vec![line("+OK"), data("01234567\r\n"), Owned::End]));
        // One octet more fails, whatever the chunking, before the terminator is seen.
        let input = b"+OK\r\n0123456789\r\nmore\r\n..x\r\n.\r\n+OK after\r\n";
        for split in 0..input.len() {
            let err = run(&[&input[..split], &input[split..]], &[M, None], limits).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Limit, "split at {split}");
        }
        // Past the limit after a dot that is data (a server that does not dot-stuff; found by
        // fuzzing when oversized messages were skipped).
        let input = b"+OK\r\n0123\r\n.x\r\nmore than ten\r\n";
        assert_eq!(run(&[input], &[M], limits).unwrap_err().kind(), ErrorKind::Limit);
    }

    #[test]
    fn an_endless_message_is_stopped_at_the_limit() {
        // A server that announces 1000 octets and then streams forever, as lines or as one line
        // without any line ending: decoding stops at the limit, not at a terminator that never
        // comes.
        let limits = Limits { max_message: 64 * 1024, ..Limits::default() };
        for unit in [b"endless line\r\n".as_slice(), b"x".as_slice()] {
            let mut decoder = Decoder::new(limits);
            let (used, frame) = decoder.decode(b"+OK 1000 octets\r\n").unwrap();
            assert_eq!((used, frame), (17, Some(Frame::Line(b"+OK 1000 octets"))));
            decoder.expect_message(1000);
            let chunk: Vec<u8> = unit.iter().copied().cycle().take(4096).collect();
            let mut delivered = 0u64;
            let err = loop {
                match decoder.decode(&chunk) {
                    Ok((_, Some(Frame::Data(d)))) => delivered += d.len() as u64,
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(e) => break e,
                }
                assert!(delivered <= limits.max_message, "delivered past the limit");
            };
            assert_eq!(err.kind(), ErrorKind::Limit);
            // Failed for good.
            assert_eq!(decoder.decode(b".\r\n").unwrap_err().kind(), ErrorKind::Limit);
        }
    }

    #[test]
    fn oversized_list_is_a_limit_error() {
        let limits = Limits { max_list: 20, ..Limits::default() };
        let input = b"+OK\r\n1 aaaaaaaaaa\r\n2 bbbbbbbbbb\r\n.\r\n";
        assert_eq!(run(&[input], &[L], limits).unwrap_err().kind(), ErrorKind::Limit);
    }

    #[test]
    fn large_body_arrives_as_few_slices() {
        let mut input = b"+OK\r\n".to_vec();
        for i in 0..1000 {
            input.extend_from_slice(format!("line {i} of a message body\r\n").as_bytes());
        }
        input.extend_from_slice(b".\r\n");
        let mut decoder = Decoder::new(Limits::default());
        let (used, frame) = decoder.decode(&input).unwrap();
        assert_eq!(frame, Some(Frame::Line(b"+OK")));
        decoder.expect_block(BlockKind::Message);
        let (_, frame) = decoder.decode(&input[used..]).unwrap();
        // No dot-leading lines: the whole body is one slice of the input, not a copy.
        let Some(Frame::Data(d)) = frame else { panic!() };
        assert_eq!(d.len(), input.len() - used - 3);
        assert_eq!(d.as_ptr(), input[used..].as_ptr());
    }

    /// `+OK N octets` for `body`, the body with its terminator glued to the last line, and `after`.
    fn glued(body: &str, after: &str) -> Vec<u8> {
        format!("+OK {} octets\r\n{}.\r\n{after}", body.len(), body.replace("\r\n.", "\r\n..")).into_bytes()
    }

    const MESSAGE_THEN_LINE: &[Option<BlockKind>] = &[Some(BlockKind::Message), None];

    #[test]
    fn glued_terminator_at_the_announced_size_ends_the_message_when_a_reply_follows() {
        let body = "Subject: x\r\n\r\n.dotted\r\nno final newline";
        for next in ["+OK\r\n", "-ERR no such message\r\n"] {
            let expected = Ok(vec![
                line(&format!("+OK {} octets", body.len())),
                Owned::Data(body.as_bytes().to_vec()),
                Owned::End,
                line(next.trim_end()),
            ]);
            check_all_splits_with(&glued(body, next), MESSAGE_THEN_LINE, Limits::default(), &expected, true);
        }
    }

    #[test]
    fn a_line_ending_in_a_dot_at_the_announced_size_is_data_when_more_data_follows() {
        // The size was wrong (a hint), and the message goes on after "bye.": nothing is cut.
        let input = b"+OK 10 octets\r\nhello\r\nbye.\r\nmore\r\n.\r\n+OK\r\n";
        let expected = Ok(vec![
            line("+OK 10 octets"),
            Owned::Data(b"hello\r\nbye.\r\nmore\r\n".to_vec()),
            Owned::End,
            line("+OK"),
        ]);
        check_all_splits_with(input, MESSAGE_THEN_LINE, Limits::default(), &expected, true);
    }

    #[test]
    fn an_ordinary_message_of_the_announced_size_is_unaffected() {
        let input = b"+OK 12 octets\r\nhello\r\nbye\r\n.\r\n+OK\r\n";
        let expected =
            Ok(vec![line("+OK 12 octets"), Owned::Data(b"hello\r\nbye\r\n".to_vec()), Owned::End, line("+OK")]);
        check_all_splits_with(input, MESSAGE_THEN_LINE, Limits::default(), &expected, true);
    }

    #[test]
    fn without_an_announced_size_a_glued_terminator_is_not_guessed() {
        let input = b"+OK\r\nbye.\r\n+OK\r\n";
        let got = run(&[input], MESSAGE_THEN_LINE, Limits::default()).unwrap();
        assert_eq!(got, vec![line("+OK"), Owned::Data(b"bye.\r\n+OK\r\n".to_vec())]);
    }

    #[test]
    fn a_glued_terminator_with_nothing_after_it_waits() {
        let mut decoder = Decoder::new(Limits::default());
        let input = b"+OK 3 octets\r\nbye.\r\n";
        let (used, frame) = decoder.decode(input).unwrap();
        assert_eq!(frame, Some(Frame::Line(b"+OK 3 octets")));
        decoder.expect_message(3);
        let (n, frame) = decoder.decode(&input[used..]).unwrap();
        assert_eq!(frame, Some(Frame::Data(b"bye")));
        let rest = &input[used + n..];
        assert_eq!(decoder.decode(rest).unwrap(), (0, None));
        assert!(decoder.glue_waiting(), "the decoder must say it waits on a possible glued terminator");
        let more = [rest, b"+OK\r\n"].concat();
        assert_eq!(decoder.decode(&more).unwrap(), (3, Some(Frame::End)));
        assert!(!decoder.glue_waiting());
        assert_eq!(decoder.decode(&more[3..]).unwrap(), (5, Some(Frame::Line(b"+OK"))));
    }
}
