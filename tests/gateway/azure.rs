//! Azure OpenAI both ways: the Azure paths onto the pool, and `azure_openai` keys forwarding
//! to their own endpoint.

use serde_json::{Value, json};

use crate::support::harness::Harness;
use crate::support::mock::AZURE_KEY;

#[tokio::test(flavor = "multi_thread")]
async fn azure_style_paths_reach_the_pool_with_the_deployment_as_model() {
    let h = Harness::start(1, &[]).await;
    let chat = json!({"messages": [{"role": "user", "content": "hi"}]});
    let r = h
        .http
        .post(format!("{}/openai/deployments/gpt-5.4-mini/chat/completions?api-version=2024-10-21", h.base))
        .header("api-key", &h.key)
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["choices"][0]["message"]["content"], "hello from acct-00000");
    assert_eq!(h.mock.requests()[0].body["model"], "gpt-5.4-mini");

    let responses = json!({"model": "gpt-5.5", "input": "hi"});
    for path in ["/openai/responses?api-version=2025-04-01-preview", "/openai/v1/responses"] {
        let r =
            h.http.post(format!("{}{path}", h.base)).header("api-key", &h.key).json(&responses).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = h
        .http
        .post(format!("{}/openai/v1/chat/completions", h.base))
        .bearer_auth(&h.key)
        .json(&json!({"model": "gpt-5.5", "messages": [{"role": "user", "content": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .post(format!("{}/openai/deployments/x/chat/completions?api-version=1", h.base))
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["type"], "authentication_error");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_azure_key_forwards_only_to_its_endpoint() {
    let h = Harness::start(1, &[]).await;
    let azure = h.azure_key().await;
    let body = json!({"model": "my-deployment", "messages": [{"role": "user", "content": "hi"}]});
    let answer: Value = h
        .http
        .post(format!("{}/v1/chat/completions", h.base))
        .bearer_auth(&azure.key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["choices"][0]["message"]["content"], "from azure");
    let mut streaming = body.clone();
    streaming["stream"] = json!(true);
    let text = h
        .http
        .post(format!("{}/v1/chat/completions", h.base))
        .bearer_auth(&azure.key)
        .json(&streaming)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("from azure") && text.contains("[DONE]"), "{text}");
    let answer: Value = h
        .http
        .post(format!("{}/v1/responses", h.base))
        .bearer_auth(&azure.key)
        .json(&json!({"model": "my-deployment", "input": "hi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["output"][0]["content"][0]["text"], "from azure");

    let requests = h.mock.requests();
    assert!(
        requests.iter().all(|r| r.path.starts_with("azure-")),
        "nothing reached the pool: {:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(requests[0].path, "azure-chat:my-deployment");
    assert_eq!(requests[0].authorization.as_deref(), Some(AZURE_KEY));
    let rows = h.log_rows().await;
    assert!(rows.iter().all(|r| r.upstream.as_deref() == Some(h.mock.base.as_str()) && r.account_id.is_none()));
    assert_eq!(rows[1].input_tokens, Some(5), "usage read from the streamed chunks");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_azure_stream_gets_keep_alives_and_then_ends_with_an_error_chunk() {
    let h = Harness::start(
        0,
        &[("CODEXMANAGER_STREAM_KEEPALIVE_SECS", "1"), ("CODEXMANAGER_UPSTREAM_IDLE_TIMEOUT_SECS", "2")],
    )
    .await;
    let azure = h.azure_key().await;
    let body = json!({"model": "stalls", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let started = std::time::Instant::now();
    let text = h
        .http
        .post(format!("{}/v1/chat/completions", h.base))
        .bearer_auth(&azure.key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "cut after the idle timeout");
    assert!(text.contains("from azure") && text.contains(": keep-alive"), "{text}");
    assert!(text.contains("sent nothing for 2 s") && text.trim_end().ends_with("data: [DONE]"), "{text}");
    let row = h.log_rows().await.pop().unwrap();
    assert_eq!(row.status, 502);
}
