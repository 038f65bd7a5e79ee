//! `/v1/responses` streaming and not, key checks, bodies, models, usage, metrics.

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::mock::Script;

pub fn body(stream: bool) -> Value {
    json!({"model": "gpt-5.5", "stream": stream, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn streaming_passes_upstream_events_through_and_logs_usage() {
    let h = Harness::start(1, &[]).await;
    let response = h.post("/v1/responses").json(&body(true)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    assert!(text.contains("event: response.created"));
    assert!(text.contains("\"delta\":\"h\""));
    assert!(text.trim_end().ends_with('}') && text.contains("event: response.completed"));
    let sent = &h.mock.requests()[0];
    assert_eq!(sent.body["instructions"], "", "instructions added for a body without them");
    assert_eq!((sent.body["stream"].clone(), sent.body["store"].clone()), (json!(true), json!(false)));
    assert_eq!(sent.account.as_deref(), Some("acct-00000"));
    assert!(sent.headers.get("originator").is_some());
    let rows = h.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!((row.status, row.path.as_str(), row.model.as_deref()), (200, "/v1/responses", Some("gpt-5.5")));
    assert_eq!(
        (row.input_tokens, row.cached_tokens, row.output_tokens, row.reasoning_tokens),
        (Some(120), Some(100), Some(30), Some(8))
    );
    assert!(row.first_byte_ms.is_some());
    assert_eq!(row.key_id.as_deref(), Some(h.key_id.as_str()));
    let trace = h.trace().await;
    for event in ["CANDIDATE_POOL", "CANDIDATE_START", "REQUEST_FINAL"] {
        assert!(trace.contains(event), "{event} missing from trace:\n{trace}");
    }
    assert!(!trace.contains("BODY_PREVIEW") && !trace.contains("input_text"), "no body in the trace by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn body_previews_go_to_the_trace_only_when_asked() {
    let h = Harness::start(1, &[("CODEXMANAGER_TRACE_BODY_PREVIEW_MAX_BYTES", "24")]).await;
    h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    let trace = h.trace().await;
    let line = trace.lines().find(|l| l.contains("BODY_PREVIEW")).expect("a preview line");
    assert!(line.contains("bytes=") && line.contains("preview=\"{\\\"input\\\":[{"), "{line}");
    let preview = line.split("preview=").nth(1).unwrap().rsplit_once(" rid=").unwrap().0;
    assert!(preview.len() <= 2 + 24 * 2, "at most 24 bytes of body: {preview}");
}

#[tokio::test(flavor = "multi_thread")]
async fn non_streaming_clients_get_the_assembled_response() {
    let h = Harness::start(1, &[]).await;
    h.mock.script("acct-00000", [Script::EmptyCompletedOutput("assembled".into())]);
    let response: Value = h.post("/v1/responses").json(&body(false)).send().await.unwrap().json().await.unwrap();
    assert_eq!(response["status"], "completed");
    assert_eq!(response["output"][0]["content"][0]["text"], "assembled", "{response}");
    assert_eq!(response["usage"]["input_tokens"], 120);
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_cli_style_compressed_bodies_are_accepted() {
    let h = Harness::start(1, &[]).await;
    let mut raw = body(true);
    raw["max_output_tokens"] = json!(100);
    raw["prompt_cache_key"] = json!("sess-1");
    let plain = serde_json::to_vec(&raw).unwrap();
    let compressed = ruzstd::encoding::compress_to_vec(&plain[..], ruzstd::encoding::CompressionLevel::Fastest);
    let response = h
        .post("/v1/responses")
        .header("content-encoding", "zstd")
        .header("content-type", "application/json")
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let sent = &h.mock.requests()[0];
    assert!(sent.body.get("max_output_tokens").is_none(), "unsupported field removed");
    assert_eq!(sent.headers["session_id"], "sess-1");

    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    let response =
        h.post("/v1/responses").header("content-encoding", "gzip").body(gz.finish().unwrap()).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_checked_and_a_bound_model_is_forced() {
    let h = Harness::start(1, &[]).await;
    let error = |r: reqwest::Response| async move { (r.status().as_u16(), r.json::<Value>().await.unwrap()) };
    let (status, answer) =
        error(h.http.post(format!("{}/v1/responses", h.base)).json(&body(true)).send().await.unwrap()).await;
    assert_eq!(status, 401);
    assert!(answer["error"]["message"].as_str().unwrap().contains("missing API key"));
    assert_eq!(answer["error"]["type"], "authentication_error");
    let (status, _) = error(
        h.http
            .post(format!("{}/v1/responses", h.base))
            .header("x-api-key", "cm-wrong")
            .json(&body(true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    let bound = h
        .core
        .create_key(codexmanager::core::NewKey {
            name: "bound".into(),
            model: Some("gpt-5.4-mini".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = h
        .http
        .post(format!("{}/v1/responses", h.base))
        .header("api-key", &bound.key)
        .json(&body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.mock.requests().last().unwrap().body["model"], "gpt-5.4-mini");

    h.core.set_key_enabled(bound.id.clone(), false).await.unwrap();
    let (status, answer) = error(
        h.http
            .post(format!("{}/v1/responses", h.base))
            .header("api-key", &bound.key)
            .json(&body(false))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert!(answer["error"]["message"].as_str().unwrap().contains("disabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_precise_errors_and_oversized_ones_413() {
    let h = Harness::start(1, &[("CODEXMANAGER_FRONT_PROXY_MAX_BODY_BYTES", "2048")]).await;
    let r = h
        .post("/v1/responses")
        .header("content-type", "application/json")
        .body("{\"model\": \"x\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{body}");

    let r = h.post("/v1/responses").json(&json!({"input": "hi"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["param"], "model");

    let big = json!({"model": "gpt-5.5", "input": "x".repeat(4096)});
    let r = h.post("/v1/responses").json(&big).send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CODEXMANAGER_FRONT_PROXY_MAX_BODY_BYTES")
    );
    assert!(h.mock.requests().is_empty(), "nothing reached the upstream");
    let rows = h.log_rows().await;
    assert_eq!(rows.iter().map(|r| r.status).collect::<Vec<_>>(), vec![400, 400, 413]);
}

#[tokio::test(flavor = "multi_thread")]
async fn models_are_fetched_once_then_served_from_cache() {
    let h = Harness::start(1, &[]).await;
    let list: Value = h.get("/v1/models").send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["gpt-5.5", "gpt-5.4-mini"], "hidden models are not listed");
    assert_eq!(list["object"], "list");
    let calls = h.mock.state.models_calls.load(std::sync::atomic::Ordering::SeqCst);
    let anthropic: Value =
        h.get("/v1/models").header("anthropic-version", "2023-06-01").send().await.unwrap().json().await.unwrap();
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(h.mock.state.models_calls.load(std::sync::atomic::Ordering::SeqCst), calls, "served from the cache");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_model_cache_is_filled_in_the_background_and_kept_in_the_database() {
    let h = Harness::start(1, &[]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.core.models().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no background model refresh");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let conn = rusqlite::Connection::open(h.home.db()).unwrap();
    let cached: i64 = conn.query_row("SELECT COUNT(*) FROM model_cache", [], |r| r.get(0)).unwrap();
    assert_eq!(cached, 3, "the list is kept in the database for the next start");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_headers_update_the_pool_and_the_pool_usage_endpoint() {
    let h = Harness::start(2, &[]).await;
    h.mock.set_usage("acct-00000", 40.0, 10.0);
    h.post("/v1/responses").json(&body(false)).send().await.unwrap();
    let id = h.account_id_for("acct-00000");
    let usage = h.core.pool().by_id[&id].usage().expect("usage recorded from headers");
    assert_eq!(usage.primary.unwrap().used_percent, 40.0);
    let pool: Value = h.get("/api/codex/usage").send().await.unwrap().json().await.unwrap();
    assert_eq!(pool["rate_limit"]["primary_window"]["used_percent"], 20, "average of 40 % and an unknown 0 %");
    assert_eq!(pool["rate_limit"]["limit_reached"], false);
    let metrics = h.http.get(format!("{}/metrics", h.base)).send().await.unwrap().text().await.unwrap();
    let line = format!(
        "codexmanager_requests_total{{route=\"/v1/responses\",status=\"200\",model=\"gpt-5.5\",key=\"{}\"}} 1",
        h.key_id
    );
    assert!(metrics.contains(&line), "{metrics}");
    assert!(metrics.contains("codexmanager_upstream_attempt_seconds_count 1"));
    assert!(metrics.contains("codexmanager_tokens_total{model=\"gpt-5.5\""), "{metrics}");
    assert!(metrics.contains("codexmanager_accounts{state=\"available\"} 2"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_a_request_id_kept_in_the_log_and_the_trace() {
    let h = Harness::start(1, &[]).await;
    let given = h.post("/v1/responses").header("x-request-id", "client-chose-this-1").json(&body(false)).send();
    let given = given.await.unwrap();
    assert_eq!(given.headers()["x-request-id"], "client-chose-this-1");
    let made = h.post("/v1/chat/completions").json(&json!({"model": "gpt-5.5"})).send().await.unwrap();
    assert_eq!(made.status(), 400);
    let made_id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(made_id.starts_with("req_") && made_id.len() == 28, "{made_id}");
    let rows = h.log_rows().await;
    let ids: Vec<Option<String>> = rows.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids, [Some("client-chose-this-1".to_string()), Some(made_id.clone())]);
    let trace = h.trace().await;
    let lines: Vec<&str> = trace.lines().filter(|l| l.ends_with("rid=client-chose-this-1")).collect();
    assert!(lines.len() >= 3 && lines.iter().any(|l| l.contains("REQUEST_FINAL")), "{trace}");
    let search = codexmanager::core::LogFilter { text: Some(made_id), ..Default::default() };
    assert_eq!(h.core.query_logs(search, 0, 10).await.unwrap().len(), 1, "the Logs search finds a request id");
}
