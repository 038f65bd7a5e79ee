//! Server-sent events: an incremental parser for upstream streams and frame writers for
//! client streams.

use bytes::{Buf, BytesMut};

/// One SSE event as received: its `event:` name (if any) and its joined `data:` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Parses SSE incrementally from chunks as they arrive from the network.
#[derive(Debug, Default)]
pub struct Parser {
    buffer: BytesMut,
    event: Option<String>,
    data: Vec<String>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds a chunk; returns every event completed by it.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<RawEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
            let line = self.buffer.split_to(end + 1);
            let mut line = &line[..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line);
            self.line(&line, &mut events);
        }
        events
    }

    /// Ends the stream: a final event without its blank line still counts.
    pub fn finish(&mut self) -> Option<RawEvent> {
        if !self.buffer.is_empty() {
            let rest = String::from_utf8_lossy(&self.buffer).into_owned();
            self.buffer.advance(self.buffer.len());
            let mut events = Vec::new();
            self.line(rest.trim_end_matches('\r'), &mut events);
        }
        self.take()
    }

    fn line(&mut self, line: &str, events: &mut Vec<RawEvent>) {
        if line.is_empty() {
            if let Some(event) = self.take() {
                events.push(event);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => self.data.push(value.to_string()),
            _ => {}
        }
    }

    fn take(&mut self) -> Option<RawEvent> {
        if self.data.is_empty() {
            self.event = None;
            return None;
        }
        Some(RawEvent { event: self.event.take(), data: std::mem::take(&mut self.data).join("\n") })
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_final_event_without_blank_line_is_kept() {
        let mut parser = Parser::new();
        assert!(parser.feed(b"data: last").is_empty());
        assert_eq!(parser.finish(), Some(RawEvent { event: None, data: "last".into() }));
    }
}
