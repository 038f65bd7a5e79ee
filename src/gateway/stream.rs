//! Answering from a started upstream stream: passing events to a streaming client as they
//! arrive (raw for Responses clients, translated for Chat and Messages clients), or
//! collecting them into one answer for a non-streaming client.
//!
//! While the upstream is silent the client gets a keep-alive every 15 s; after 300 s of
//! silence, or when the upstream breaks or closes early, the client's stream ends with a
//! proper error event. A client that goes away stops the pump, which drops the upstream
//! request and frees the account's in-flight slot. What the upstream has already sent of a
//! burst goes to the client in one write, not one write per event.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Gateway;
use super::dispatch::{ByteStream, Started};
use super::errors::GatewayError;
use super::protocol::UpstreamEvent;
use super::protocol::responses::{Aggregator, Outcome, Usage};
use super::record::Record;

/// At most this much of a burst is gathered into one write to the client,
const MAX_BATCH: usize = 64 * 1024;
/// for at most this long.
const MAX_HOLD: Duration = Duration::from_millis(10);

/// A client protocol's streaming translation.
pub trait ClientStream: Send + 'static {
    fn on_event(&mut self, event: &UpstreamEvent, out: &mut String);
    /// The upstream failed after the stream began: end the client's stream with an error.
    fn on_error(&mut self, message: &str, code: Option<&str>, out: &mut String);
    fn keepalive(&self, out: &mut String);
}

/// The Responses API passed through: raw upstream bytes go to the client unchanged.
pub struct Passthrough;

impl ClientStream for Passthrough {
    fn on_event(&mut self, _: &UpstreamEvent, _: &mut String) {}

    fn on_error(&mut self, message: &str, code: Option<&str>, out: &mut String) {
        let data = json!({"type": "response.failed", "response": {"status": "failed",
            "error": {"code": code.unwrap_or("upstream_error"), "message": message}}});
        super::sse::write_named(out, "response.failed", &data.to_string());
    }

    fn keepalive(&self, out: &mut String) {
        out.push_str(": keep-alive\n\n");
    }
}

/// Watches the events for what the log needs: usage and how the stream ended.
#[derive(Default)]
struct Tracker {
    usage: Option<Usage>,
    finished: bool,
    failure: Option<(Option<String>, String)>,
}

impl Tracker {
    fn observe(&mut self, event: &UpstreamEvent) {
        match event.kind.as_str() {
            "response.completed" | "response.incomplete" => {
                self.finished = true;
                if let Some(usage) = event.data.pointer("/response/usage") {
                    self.usage = Some(Usage::of(usage));
                }
            }
            "response.failed" | "error" => {
                self.finished = true;
                if let Outcome::Failed { code, message } = super::protocol::responses::failure_of(&event.data) {
                    self.failure = Some((code, message));
                }
            }
            _ => {}
        }
    }
}

/// Starts the pump and returns the streaming response.
pub fn respond_streaming<S: ClientStream>(
    gateway: Arc<Gateway>,
    mut started: Started,
    translator: S,
    raw: bool,
    record: Record,
) -> Response {
    let returned = std::mem::take(&mut started.headers);
    let rx = spawn_pump(gateway, started, translator, raw, record);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    });
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| Response::new(Body::empty()));
    response.headers_mut().extend(returned);
    response
}

/// Starts pumping a started stream through `translator` (raw bytes when `raw`); the client's
/// bytes come out of the returned channel, which closes when the answer is over (an empty
/// chunk is a keep-alive moment). The request is logged when it ends.
pub fn spawn_pump<S: ClientStream>(
    gateway: Arc<Gateway>,
    started: Started,
    translator: S,
    raw: bool,
    record: Record,
) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(pump(gateway, started, translator, raw, record, tx));
    rx
}

async fn pump<S: ClientStream>(
    gateway: Arc<Gateway>,
    mut started: Started,
    mut translator: S,
    raw: bool,
    mut record: Record,
    tx: mpsc::Sender<Bytes>,
) {
    let keepalive = Duration::from_secs(gateway.core.config().stream_keepalive_secs.max(1));
    let idle_timeout = gateway.idle_timeout();
    let mut closing = gateway.closing.subscribe();
    let mut tracker = Tracker::default();
    let mut out = String::new();
    for event in &started.events {
        tracker.observe(event);
        translator.on_event(event, &mut out);
    }
    // Raw bytes read from the upstream and not yet sent: only whole events go to the client,
    // so a keep-alive or an error event never lands inside one.
    let mut pending = BytesMut::new();
    let mut sent: u64 = 0;
    for chunk in std::mem::take(&mut started.head) {
        pending.extend_from_slice(&chunk);
    }
    let head = if raw {
        whole_events(&mut pending, &mut sent, &started.parser)
    } else {
        Bytes::from(std::mem::take(&mut out))
    };
    record.first_byte(&gateway);
    let mut client_has_bytes = !head.is_empty();
    if client_has_bytes && tx.send(head).await.is_err() {
        return record.finish(&gateway, 499, Some("the client closed the connection".into()));
    }
    let mut silent = Duration::ZERO;
    // An item read ahead while taking a burst, handled before reading again.
    let mut ahead: Option<Option<reqwest::Result<Bytes>>> = None;
    let error = loop {
        let next = match ahead.take() {
            Some(item) => Ok(item),
            None => tokio::select! {
                next = tokio::time::timeout(keepalive, started.rest.next()) => next,
                _ = closing.wait_for(|closing| *closing) => {
                    break Some(("the gateway is shutting down; the answer was cut short".to_string(), Some("shutting_down".to_string())));
                }
            },
        };
        let chunk = match next {
            Err(_) => {
                silent += keepalive;
                if silent >= idle_timeout {
                    let message = format!("the upstream sent nothing for {} s", idle_timeout.as_secs());
                    break Some((message, Some("idle_timeout".to_string())));
                }
                translator.keepalive(&mut out);
                if tx.send(Bytes::from(std::mem::take(&mut out))).await.is_err() {
                    return record.finish(&gateway, 499, Some("the client closed the connection".into()));
                }
                continue;
            }
            Ok(None) => {
                let tail = started.parser.finish().and_then(|raw_event| UpstreamEvent::parse(&raw_event.data));
                if let Some(event) = tail {
                    tracker.observe(&event);
                    translator.on_event(&event, &mut out);
                }
                if raw && !pending.is_empty() && tracker.finished {
                    // The last event lacked its blank line: complete it for the client.
                    pending.extend_from_slice(b"\n\n");
                    let _ = tx.send(pending.split().freeze()).await;
                }
                if tracker.finished {
                    break None;
                }
                break Some((
                    "the upstream closed the stream before the answer was complete".into(),
                    Some("stream_incomplete".into()),
                ));
            }
            Ok(Some(Err(err))) => {
                break Some((format!("the upstream stream broke: {err}"), Some("stream_error".into())));
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        silent = Duration::ZERO;
        // The rest of a burst the upstream already sent goes to the client in the same write,
        // not one write per event; but the client's first bytes go at once, and no event
        // waits for the rest of its burst longer than MAX_HOLD.
        let gathering = Instant::now();
        let mut chunk = Some(chunk);
        while let Some(piece) = chunk.take() {
            observe(&mut started.parser, &piece, raw, &mut tracker, &mut translator, &mut out);
            if raw {
                pending.extend_from_slice(&piece);
            }
            if started.parser.overflowed() {
                break;
            }
            let ready_bytes = if raw { (started.parser.boundary() - sent) as usize } else { out.len() };
            if (!client_has_bytes && ready_bytes > 0) || ready_bytes >= MAX_BATCH || gathering.elapsed() >= MAX_HOLD {
                break;
            }
            match ready(&mut started.rest).await {
                Some(Some(Ok(more))) => chunk = Some(more),
                other => ahead = other,
            }
        }
        let piece = if raw {
            whole_events(&mut pending, &mut sent, &started.parser)
        } else {
            Bytes::from(std::mem::take(&mut out))
        };
        if !piece.is_empty() {
            client_has_bytes = true;
            if tx.send(piece).await.is_err() {
                return record.finish(&gateway, 499, Some("the client closed the connection".into()));
            }
        }
        if started.parser.overflowed() {
            break Some((
                format!("the upstream sent an event larger than {} MiB", super::sse::MAX_EVENT_BYTES >> 20),
                Some("event_too_large".into()),
            ));
        }
    };
    if let Some((message, code)) = &error {
        translator.on_error(message, code.as_deref(), &mut out);
    }
    if !out.is_empty() {
        let _ = tx.send(Bytes::from(out)).await;
    }
    record.usage = tracker.usage;
    let (status, error) = match (error, tracker.failure) {
        (Some((message, _)), _) => (502, Some(message)),
        (None, Some((code, message))) => (502, Some(format!("{}: {message}", code.unwrap_or_else(|| "failed".into())))),
        (None, None) => (200, None),
    };
    record.finish(&gateway, status, error);
}

/// Takes from `pending` the bytes up to the end of the last whole event the parser has seen.
pub(super) fn whole_events(pending: &mut BytesMut, sent: &mut u64, parser: &super::sse::Parser) -> Bytes {
    let ready = (parser.boundary() - *sent) as usize;
    *sent = parser.boundary();
    pending.split_to(ready.min(pending.len())).freeze()
}

/// Feeds a chunk's events to the tracker and the translator. Pass-through reads nothing from
/// events but the ones that end a stream, so it parses only those.
fn observe<S: ClientStream>(
    parser: &mut super::sse::Parser,
    chunk: &[u8],
    raw: bool,
    tracker: &mut Tracker,
    translator: &mut S,
    out: &mut String,
) {
    let events = if raw { parser.feed_where(chunk, MAY_END_STREAM) } else { parser.feed(chunk) };
    for raw_event in events {
        if let Some(event) = UpstreamEvent::parse(&raw_event.data) {
            tracker.observe(&event);
            translator.on_event(&event, out);
        }
    }
}

/// The events [`Tracker`] acts on: `response.completed`, `.incomplete`, `.failed` and
/// `error` — by name, or for an event without one, a cheap look at its data (a false
/// positive only costs a parse).
const MAY_END_STREAM: super::sse::Keep = super::sse::Keep {
    name: |name| TERMINAL.contains(&name),
    data: |data| {
        ["response.completed", "response.incomplete", "response.failed", "\"error\""]
            .iter()
            .any(|kind| data.contains(kind))
    },
};
const TERMINAL: [&str; 4] = ["response.completed", "response.incomplete", "response.failed", "error"];

/// The upstream's next item when it is already there, or is once the other tasks (the
/// upstream connection's among them) have had a turn; `None` when it would have to wait.
async fn ready(rest: &mut ByteStream) -> Option<Option<reqwest::Result<Bytes>>> {
    if let Some(item) = rest.next().now_or_never() {
        return Some(item);
    }
    tokio::task::yield_now().await;
    rest.next().now_or_never()
}

/// Reads the whole stream into its final outcome, for a non-streaming client.
pub async fn collect(
    gateway: &Gateway,
    mut started: Started,
    record: &mut Record,
) -> Result<(Value, bool), GatewayError> {
    let mut closing = gateway.closing.subscribe();
    let mut aggregator = Aggregator::new();
    for event in &started.events {
        aggregator.on_event(event);
    }
    while !aggregator.is_done() {
        let next = tokio::select! {
            next = tokio::time::timeout(gateway.idle_timeout(), started.rest.next()) => next,
            _ = closing.wait_for(|closing| *closing) => return Err(super::errors::shutting_down()),
        };
        match next {
            Err(_) => {
                let seconds = gateway.idle_timeout().as_secs();
                return Err(upstream_broke(&format!("the upstream sent nothing for {seconds} s")));
            }
            Ok(Some(Err(err))) => return Err(upstream_broke(&format!("the upstream stream broke: {err}"))),
            Ok(Some(Ok(chunk))) => {
                for raw_event in started.parser.feed(&chunk) {
                    if let Some(event) = UpstreamEvent::parse(&raw_event.data) {
                        aggregator.on_event(&event);
                    }
                }
                if started.parser.overflowed() {
                    return Err(upstream_broke(&format!(
                        "the upstream sent an event larger than {} MiB",
                        super::sse::MAX_EVENT_BYTES >> 20
                    )));
                }
            }
            Ok(None) => {
                if let Some(event) = started.parser.finish().and_then(|raw_event| UpstreamEvent::parse(&raw_event.data))
                {
                    aggregator.on_event(&event);
                }
                break;
            }
        }
    }
    record.first_byte(gateway);
    match aggregator.finish() {
        Some(Outcome::Completed(response)) => {
            record.usage = response.get("usage").map(Usage::of);
            Ok((response, false))
        }
        Some(Outcome::Incomplete(response)) => {
            record.usage = response.get("usage").map(Usage::of);
            Ok((response, true))
        }
        Some(Outcome::Failed { code, message }) => Err(GatewayError::new(
            StatusCode::BAD_GATEWAY,
            code.as_deref().unwrap_or("upstream_error"),
            format!("the upstream failed while answering: {message}"),
        )),
        None => Err(upstream_broke("the upstream closed the stream before the answer was complete")),
    }
}

fn upstream_broke(message: &str) -> GatewayError {
    GatewayError::new(StatusCode::BAD_GATEWAY, "upstream_error", message)
}

impl ClientStream for super::protocol::chat::ChatStream {
    fn on_event(&mut self, event: &UpstreamEvent, out: &mut String) {
        super::protocol::chat::ChatStream::on_event(self, event, out);
    }

    fn on_error(&mut self, message: &str, code: Option<&str>, out: &mut String) {
        super::protocol::chat::ChatStream::on_error(self, message, code, out);
    }

    fn keepalive(&self, out: &mut String) {
        out.push_str(": keep-alive\n\n");
    }
}

impl ClientStream for super::protocol::anthropic::MessagesStream {
    fn on_event(&mut self, event: &UpstreamEvent, out: &mut String) {
        super::protocol::anthropic::MessagesStream::on_event(self, event, out);
    }

    fn on_error(&mut self, message: &str, _code: Option<&str>, out: &mut String) {
        super::protocol::anthropic::MessagesStream::on_error(self, "api_error", message, out);
    }

    fn keepalive(&self, out: &mut String) {
        self.ping(out);
    }
}
