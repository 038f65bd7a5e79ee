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

/// Parses SSE incrementally from chunks as they arrive from the network.
///
/// Lines are read straight from each chunk; only a line cut by the chunk's end is kept
/// (copied) until the next chunk completes it.
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
        let mut rest = chunk;
        if !self.partial.is_empty() {
            let Some(end) = newline(rest) else {
                self.partial.extend_from_slice(rest);
                return events;
            };
            self.partial.extend_from_slice(&rest[..end]);
            let line = std::mem::take(&mut self.partial);
            self.line(trim_cr(&line), &mut events, keep);
            rest = &rest[end + 1..];
        }
        while let Some(end) = newline(rest) {
            self.line(trim_cr(&rest[..end]), &mut events, keep);
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        events
    }

    /// Ends the stream: a final event without its blank line still counts.
    pub fn finish(&mut self) -> Option<RawEvent> {
        if !self.partial.is_empty() {
            let rest = std::mem::take(&mut self.partial);
            let mut events = Vec::new();
            self.line(trim_cr(&rest), &mut events, Keep::ALL);
        }
        self.take(Keep::ALL)
    }

    fn line(&mut self, line: &[u8], events: &mut Vec<RawEvent>, keep: Keep) {
        if line.is_empty() {
            if let Some(event) = self.take(keep) {
                events.push(event);
            }
            return;
        }
        if line.starts_with(b":") {
            return;
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

/// The index of the first `\n` in `bytes`, looking at eight bytes at a time.
fn newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const NEWLINES: u64 = u64::from_ne_bytes([b'\n'; 8]);
    let mut start = 0;
    let mut word = [0u8; 8];
    while start + 8 <= bytes.len() {
        word.copy_from_slice(&bytes[start..start + 8]);
        let x = u64::from_ne_bytes(word) ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            break;
        }
        start += 8;
    }
    bytes[start..].iter().position(|&b| b == b'\n').map(|i| start + i)
}

/// A line's text; invalid UTF-8 (never sent by a sane upstream) becomes U+FFFD.
fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.into(),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
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
    fn newlines_are_found_anywhere_in_a_word() {
        for len in 0..40 {
            for at in 0..len {
                let mut bytes = vec![b'x'; len];
                bytes[at] = b'\n';
                if at + 1 < len {
                    bytes[len - 1] = b'\n';
                }
                assert_eq!(newline(&bytes), Some(at), "len {len}, at {at}");
            }
            assert_eq!(newline(&vec![0x8a; len]), None);
        }
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
