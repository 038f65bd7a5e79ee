//! Server-sent events: an incremental parser for upstream streams and frame writers for
//! client streams.

use bytes::BytesMut;

/// One SSE event as received: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Which events a caller wants returned: decided by the `event:` name when the event has
/// one (before its data is even copied), else by its joined data.
#[derive(Clone, Copy)]
pub struct Keep {
    pub name: fn(&str) -> bool,
    pub data: fn(&str) -> bool,
}

impl Keep {
    pub const ALL: Keep = Keep { name: |_| true, data: |_| true };
}

/// The largest event the parser holds: an upstream line that grows past it (no newline in
/// 16 MiB) fails the stream instead of growing memory without bound.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Parses SSE incrementally from chunks as they arrive from the network.
///
/// Lines end with LF, CRLF or a lone CR. Lines are read straight from each chunk; only a line
/// cut by the chunk's end is kept (copied) until the next chunk completes it. The parser also
/// knows where the last complete event ended ([`Parser::boundary`]), so a pass-through can
/// forward whole events only.
#[derive(Debug, Default)]
pub struct Parser {
    partial: BytesMut,
    /// The current event's `event:` name, when it had one.
    name: Option<String>,
    /// The event's `data:` lines so far, joined by `\n`.
    data: String,
    has_data: bool,
    /// The current event's name says it is not wanted: its data is not collected.
    skipping: bool,
    /// The last chunk ended with a CR: an LF starting the next one belongs to it.
    after_cr: bool,
    /// Bytes fed so far, and the offset just past the last blank line (end of an event).
    fed: u64,
    boundary: u64,
    /// Bytes of the current event so far (lines ended, not counting `partial`).
    event_bytes: usize,
    overflowed: bool,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds a chunk; returns every event completed by it.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<RawEvent> {
        self.feed_where(chunk, Keep::ALL)
    }

    /// As [`Parser::feed`], returning only the events `keep` wants; the others cost no
    /// allocation, and those with an unwanted name not even a copy of their data.
    pub fn feed_where(&mut self, chunk: &[u8], keep: Keep) -> Vec<RawEvent> {
        let mut events = Vec::new();
        let base = self.fed;
        self.fed += chunk.len() as u64;
        if self.overflowed {
            return events;
        }
        let mut start = 0;
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            // The second half of a CRLF: it belongs to the line (and event) it ends.
            start = 1;
            if self.boundary == base {
                self.boundary = base + 1;
            }
        }
        if !self.partial.is_empty() {
            let Some((end, ending)) = line_end(&chunk[start..]) else {
                self.partial.extend_from_slice(&chunk[start..]);
                self.check_size();
                return events;
            };
            self.partial.extend_from_slice(&chunk[start..start + end]);
            let line = std::mem::take(&mut self.partial);
            start += end + ending;
            self.end_line(&line, base + start as u64, chunk.len() == start, &mut events, keep);
        }
        while let Some((end, ending)) = line_end(&chunk[start..]) {
            let line = &chunk[start..start + end];
            start += end + ending;
            self.end_line(line, base + start as u64, chunk.len() == start, &mut events, keep);
        }
        self.partial.extend_from_slice(&chunk[start..]);
        self.check_size();
        events
    }

    /// Ends the stream: a final event without its blank line still counts.
    pub fn finish(&mut self) -> Option<RawEvent> {
        if self.overflowed {
            return None;
        }
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            let mut events = Vec::new();
            self.line(&rest, &mut events, Keep::ALL);
        }
        self.take(Keep::ALL)
    }

    /// The offset in the whole stream just past the last complete event: everything before
    /// it can go to a client without cutting an event in two.
    pub fn boundary(&self) -> u64 {
        self.boundary
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// True once an event grew past [`MAX_EVENT_BYTES`]; the parser then reads nothing more.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// A line ended at `offset`; a CR ending the chunk may be the first half of a CRLF.
    fn end_line(&mut self, line: &[u8], offset: u64, at_chunk_end: bool, events: &mut Vec<RawEvent>, keep: Keep) {
        let (line, cr) = match line.strip_suffix(b"\r") {
            Some(line) => (line, true),
            None => (line, false),
        };
        self.after_cr = cr && at_chunk_end;
        if self.line(line, events, keep) {
            self.boundary = offset;
        }
    }

    fn check_size(&mut self) {
        if self.event_bytes + self.partial.len() > MAX_EVENT_BYTES {
            self.overflowed = true;
            self.partial = BytesMut::new();
            self.data = String::new();
        }
    }

    /// Handles one line; true when it was blank (the end of an event).
    fn line(&mut self, line: &[u8], events: &mut Vec<RawEvent>, keep: Keep) -> bool {
        if line.is_empty() {
            self.event_bytes = 0;
            if let Some(event) = self.take(keep) {
                events.push(event);
            }
            return true;
        }
        self.event_bytes += line.len() + 1;
        if line.starts_with(b":") {
            return false;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                let name = text(value);
                self.skipping = !(keep.name)(&name);
                self.name = (!self.skipping).then(|| name.into_owned());
            }
            b"data" if self.skipping => self.has_data = true,
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&text(value));
                self.has_data = true;
            }
            _ => {}
        }
        false
    }

    /// The event ended by a blank line, when it has data and is wanted; an unwanted one's
    /// buffer is kept for the next event.
    fn take(&mut self, keep: Keep) -> Option<RawEvent> {
        let name = self.name.take();
        let skipped = std::mem::take(&mut self.skipping);
        if !std::mem::take(&mut self.has_data) || skipped {
            return None;
        }
        if name.is_none() && !(keep.data)(&self.data) {
            self.data.clear();
            return None;
        }
        Some(RawEvent { event: name, data: std::mem::take(&mut self.data) })
    }
}

/// Where the first line in `bytes` ends: its length and the length of its line ending (1 for
/// LF or a lone CR, 2 for CRLF). A CR that ends `bytes` counts as a line ending of 1 byte
/// with the CR kept in the line, so the caller can tell a CRLF cut in two.
fn line_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let at = memchr::memchr2(b'\n', b'\r', bytes)?;
    if bytes[at] == b'\n' {
        return Some((at, 1));
    }
    match bytes.get(at + 1) {
        Some(b'\n') => Some((at, 2)),
        Some(_) => Some((at, 1)),
        None => Some((at + 1, 0)),
    }
}

/// A line's text; invalid UTF-8 (never sent by a sane upstream) becomes U+FFFD.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Appends an SSE frame with an event name (Anthropic and Responses streams).
pub fn write_named(out: &mut String, event: &str, data: &str) {
    out.push_str("event: ");
    out.push_str(event);
    out.push_str("\ndata: ");
    out.push_str(data);
    out.push_str("\n\n");
}

/// Appends a data-only SSE frame (Chat Completions streams).
pub fn write_data(out: &mut String, data: &str) {
    out.push_str("data: ");
    out.push_str(data);
    out.push_str("\n\n");
}

/// Appends `text` as a JSON string (quoted and escaped, as serde_json writes it), for frames
/// written straight into the output instead of through a `Value`.
pub fn write_json_str(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "lines\n\r\t",
            "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
            "é 中文 🎉 </script>",
        ] {
            let mut out = String::new();
            write_json_str(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
        }
    }

    #[test]
    fn events_split_across_chunks_are_reassembled() {
        let mut parser = Parser::new();
        assert!(parser.feed(b"event: response.created\ndata: {\"a\"").is_empty());
        let events = parser.feed(b":1}\n\n: keep-alive\n\ndata: x\r\ndata: y\r\n\r\n");
        assert_eq!(
            events,
            vec![
                RawEvent { event: Some("response.created".into()), data: "{\"a\":1}".into() },
                RawEvent { event: None, data: "x\ny".into() },
            ]
        );
    }

    #[test]
    fn a_stream_cut_anywhere_parses_the_same() {
        let text = "event: a\r\ndata: {\"t\":\"é\"}\r\n\r\n: ping\n\ndata: x\ndata: y\n\n".as_bytes();
        let whole = Parser::new().feed(text);
        assert_eq!(whole.len(), 2);
        for cut in 0..=text.len() {
            let mut parser = Parser::new();
            let mut events = parser.feed(&text[..cut]);
            events.extend(parser.feed(&text[cut..]));
            assert_eq!(events, whole, "cut at {cut}");
        }
    }

    #[test]
    fn lone_cr_and_crlf_line_ends_parse_like_lf_wherever_the_stream_is_cut() {
        let lf = "event: a\ndata: 1\n\ndata: x\ndata: y\n\n";
        let whole = Parser::new().feed(lf.as_bytes());
        for text in [lf.replace('\n', "\r"), lf.replace('\n', "\r\n")] {
            let text = text.as_bytes();
            for cut in 0..=text.len() {
                let mut parser = Parser::new();
                let mut events = parser.feed(&text[..cut]);
                events.extend(parser.feed(&text[cut..]));
                assert_eq!(events, whole, "cut at {cut} of {text:?}");
                assert_eq!(parser.boundary(), text.len() as u64, "cut at {cut} of {text:?}");
            }
        }
    }

    #[test]
    fn the_boundary_marks_the_end_of_the_last_whole_event() {
        let mut parser = Parser::new();
        parser.feed(b"data: 1\n\ndata: {\"half");
        assert_eq!(parser.boundary(), 9);
        assert_eq!(parser.fed(), 21);
        parser.feed(b"\": 1}\n");
        assert_eq!(parser.boundary(), 9, "an event without its blank line is not complete");
        parser.feed(b"\n: keep-alive\n\n");
        assert_eq!(parser.boundary(), parser.fed());
    }

    #[test]
    fn an_endless_line_stops_the_parser_instead_of_growing() {
        let mut parser = Parser::new();
        let block = vec![b'x'; 1024 * 1024];
        parser.feed(b"data: ");
        for _ in 0..=MAX_EVENT_BYTES / block.len() {
            assert!(parser.feed(&block).is_empty());
        }
        assert!(parser.overflowed());
        assert!(parser.partial.capacity() < 1024, "the buffer is released");
        assert!(parser.feed(b"\n\ndata: later\n\n").is_empty());
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn unwanted_events_are_skipped_by_name_else_by_data() {
        let keep = Keep { name: |n| n == "a", data: |d| d.starts_with("keep") };
        let stream =
            b"event: a\ndata: drop?\n\nevent: b\ndata: keep not\n\ndata: keep 2\n\ndata: drop\n\nevent: a\ndata: 3\n\n";
        let mut events = Vec::new();
        let mut parser = Parser::new();
        for piece in stream.chunks(5) {
            events.extend(parser.feed_where(piece, keep));
        }
        assert_eq!(
            events,
            vec![
                RawEvent { event: Some("a".into()), data: "drop?".into() },
                RawEvent { event: None, data: "keep 2".into() },
                RawEvent { event: Some("a".into()), data: "3".into() },
            ]
        );
    }

    #[test]
    fn a_final_event_without_blank_line_is_kept() {
        let mut parser = Parser::new();
        assert!(parser.feed(b"data: last").is_empty());
        assert_eq!(parser.finish(), Some(RawEvent { event: None, data: "last".into() }));
    }
}
