//! The official Python SDKs (`openai`, incl. `AzureOpenAI`, and `anthropic`) against the real
//! gateway in front of the mock upstream. Where the SDKs are not installed the tests say so
//! and pass, unless `CODEXMANAGER_REQUIRE_SDK_TESTS=1` (set by `.ci/run`), where that fails.

#[path = "../support/mod.rs"]
mod support;

use support::harness::Harness;
use support::mock::Script;

fn python_has(module: &str) -> bool {
    std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs one SDK script against the harness; `None` when the SDK is missing and not required.
async fn run_script(h: &Harness, module: &str, script: &str) -> Option<std::process::Output> {
    if !python_has(module) {
        let required = std::env::var("CODEXMANAGER_REQUIRE_SDK_TESTS").as_deref() == Ok("1");
        assert!(!required, "the `{module}` Python SDK is not installed (pip install {module})");
        support::skipped(
            &format!("the {module} SDK test"),
            &format!("the `{module}` Python SDK is not installed (pip install {module}; .ci/run does)"),
        );
        return None;
    }
    let path = format!("{}/tests/sdk/{script}", env!("CARGO_MANIFEST_DIR"));
    let (base, key) = (h.base.clone(), h.key.clone());
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(path)
            .env("GATEWAY_BASE", base)
            .env("GATEWAY_KEY", key)
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    Some(output)
}

fn assert_passed(output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "SDK script failed:\n{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_sdk_chat_tools_structured_output_responses_and_azure() {
    let h = Harness::start(1, &[]).await;
    let hello = || Script::Text("hello from acct-00000".into());
    h.mock.script(
        "acct-00000",
        [
            hello(),
            hello(),
            Script::Tools(vec![("get_weather".into(), r#"{"city":"Paris"}"#.into())]),
            hello(),
            Script::Text(r#"{"ok":true,"city":"Paris"}"#.into()),
        ],
    );
    if let Some(output) = run_script(&h, "openai", "openai_sdk.py").await {
        assert_passed(&output);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn anthropic_sdk_messages_streaming_tools_and_count_tokens() {
    let h = Harness::start(1, &[]).await;
    h.mock.script(
        "acct-00000",
        [
            Script::Text("hello from acct-00000".into()),
            Script::Text("hello from acct-00000".into()),
            Script::Tools(vec![("get_weather".into(), r#"{"city":"Paris"}"#.into())]),
        ],
    );
    if let Some(output) = run_script(&h, "anthropic", "anthropic_sdk.py").await {
        assert_passed(&output);
    }
}
