//! The benchmark's fast mock of the Codex backend: `POST /backend-api/codex/responses` on
//! 127.0.0.1, answered from bytes built once at start, without parsing the request.
//!
//! The answer is picked by a marker in the request body, so the same mock serves the direct
//! client, nginx and the gateway (which rewrites the body but keeps the user's text):
//! `answer:small` (a one-sentence answer: SSE when the body asks for a stream, else the final
//! JSON object), `answer:long` (a ≈100-event SSE stream) and `answer:slow` (a stream that sends
//! one event per interval). Events follow reference §3.2 and each goes out as its own chunk,
//! as the real backend's do.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::post;
use axum::serve::ListenerExt;

/// Text deltas in the long answer: with its 8 framing events, 100 events in all.
const LONG_DELTAS: usize = 92;
/// Text deltas in the small answer.
const SMALL_DELTAS: usize = 3;

/// How the slow answer paces itself.
#[derive(Debug, Clone, Copy)]
pub struct SlowPace {
    /// Events sent one interval apart after the stream's head.
    pub events: usize,
    pub interval: Duration,
}

struct Answers {
    small_sse: Vec<Bytes>,
    small_json: Bytes,
    long_sse: Vec<Bytes>,
    slow_sse: Vec<Bytes>,
    pace: SlowPace,
}

pub struct MockUpstream {
    pub addr: SocketAddr,
}

impl MockUpstream {
    /// Binds 127.0.0.1 on a free port and serves on the current runtime until the process ends.
    pub async fn start(pace: SlowPace) -> MockUpstream {
        let answers = Arc::new(Answers {
            small_sse: events(SMALL_DELTAS),
            small_json: Bytes::from(final_response(SMALL_DELTAS)),
            long_sse: events(LONG_DELTAS),
            // The head (created, in_progress) goes at once; `pace.events` follow, paced.
            slow_sse: events(pace.events.saturating_sub(6).max(1)),
            pace,
        });
        // Codex-sized requests run to megabytes; the default 2 MiB cap would refuse them.
        let app = Router::new()
            .route("/backend-api/codex/responses", post(responses))
            .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(answers);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the mock upstream");
        let addr = listener.local_addr().expect("the mock's address");
        // Each event is a small write: without TCP_NODELAY, Nagle's algorithm holds them back.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("the mock upstream stopped: {err}");
            }
        });
        MockUpstream { addr }
    }

    /// `CODEXMANAGER_UPSTREAM_BASE_URL` for this mock.
    pub fn upstream_base(&self) -> String {
        format!("http://{}/backend-api/codex", self.addr)
    }
}

async fn responses(State(answers): State<Arc<Answers>>, body: Bytes) -> Response {
    let streaming = contains(&body, b"\"stream\":true");
    if contains(&body, b"answer:long") {
        return sse(&answers.long_sse, None);
    }
    if contains(&body, b"answer:slow") {
        return sse(&answers.slow_sse, Some(answers.pace.interval));
    }
    if streaming {
        return sse(&answers.small_sse, None);
    }
    let mut response = Response::new(Body::from(answers.small_json.clone()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A streamed answer: the two head events at once, then the rest (each `pace` apart when set).
fn sse(frames: &[Bytes], pace: Option<Duration>) -> Response {
    let frames = frames.to_vec();
    let body = match pace {
        None => Body::from_stream(futures_util::stream::iter(frames.into_iter().map(Ok::<_, Infallible>))),
        Some(interval) => Body::from_stream(futures_util::stream::unfold(
            (frames.into_iter().enumerate(), interval),
            |(mut frames, interval)| async move {
                let (index, frame) = frames.next()?;
                if index >= 2 {
                    tokio::time::sleep(interval).await;
                }
                Some((Ok::<_, Infallible>(frame), (frames, interval)))
            },
        )),
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// The word sent as text delta `n`.
fn word(n: usize) -> &'static str {
    const WORDS: [&str; 8] = ["The ", "pool ", "routes ", "each ", "request ", "to ", "an ", "account. "];
    WORDS[n % WORDS.len()]
}

fn text(deltas: usize) -> String {
    (0..deltas).map(word).collect()
}

/// One SSE frame; `type` comes last in the data so a client can check a stream's end from its
/// last bytes.
fn frame(kind: &str, fields: &str, sequence: usize) -> Bytes {
    Bytes::from(format!("event: {kind}\ndata: {{{fields},\"sequence_number\":{sequence},\"type\":\"{kind}\"}}\n\n"))
}

/// The finished response object (the non-streaming answer and `response.completed`'s payload).
fn final_response(deltas: usize) -> String {
    let text = text(deltas);
    format!(
        r#"{{"id":"resp_bench","object":"response","created_at":1767000000,"status":"completed","model":"gpt-5.5","output":[{{"id":"msg_bench","type":"message","role":"assistant","status":"completed","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}],"usage":{{"input_tokens":120,"input_tokens_details":{{"cached_tokens":100}},"output_tokens":{deltas},"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":{}}}}}"#,
        120 + deltas
    )
}

/// A text answer's events: created, in_progress, item and part added, the deltas, the done
/// events and completed (`deltas` + 8 events).
fn events(deltas: usize) -> Vec<Bytes> {
    let head = r#""response":{"id":"resp_bench","object":"response","created_at":1767000000,"status":"in_progress","model":"gpt-5.5","output":[]}"#;
    let at = r#""item_id":"msg_bench","output_index":0,"content_index":0"#;
    let text = text(deltas);
    let mut frames = vec![frame("response.created", head, 0), frame("response.in_progress", head, 1)];
    frames.push(frame(
        "response.output_item.added",
        r#""output_index":0,"item":{"id":"msg_bench","type":"message","role":"assistant","status":"in_progress","content":[]}"#,
        2,
    ));
    frames.push(frame("response.content_part.added", &format!(r#"{at},"part":{{"type":"output_text","text":""}}"#), 3));
    for n in 0..deltas {
        frames.push(frame("response.output_text.delta", &format!(r#"{at},"delta":"{}""#, word(n)), frames.len()));
    }
    frames.push(frame("response.output_text.done", &format!(r#"{at},"text":"{text}""#), frames.len()));
    frames.push(frame(
        "response.content_part.done",
        &format!(r#"{at},"part":{{"type":"output_text","text":"{text}","annotations":[]}}"#),
        frames.len(),
    ));
    frames.push(frame(
        "response.output_item.done",
        &format!(
            r#""output_index":0,"item":{{"id":"msg_bench","type":"message","role":"assistant","status":"completed","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}"#
        ),
        frames.len(),
    ));
    frames.push(frame("response.completed", &format!(r#""response":{}"#, final_response(deltas)), frames.len()));
    frames
}
