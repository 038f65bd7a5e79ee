"""The official `openai` Python SDK against a running CodexManager gateway (mock upstream).

Run by tests/sdk/main.rs, which starts the gateway and scripts the mock so that the calls
below, made in this order, get the answers they assert on.
"""
import json
import os
import sys

from openai import AzureOpenAI, OpenAI

BASE = os.environ["GATEWAY_BASE"]
KEY = os.environ["GATEWAY_KEY"]
HELLO = "hello from acct-00000"

client = OpenAI(base_url=f"{BASE}/v1", api_key=KEY)
results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
    except Exception as exc:  # report every failure, then exit non-zero
        results.append((name, f"{type(exc).__name__}: {exc}"))


def chat_non_streaming():
    reply = client.chat.completions.create(model="gpt-5.5", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == HELLO, reply
    assert reply.usage.prompt_tokens == 120, reply.usage


def chat_streaming():
    stream = client.chat.completions.create(
        model="gpt-5.5",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage:
            usage = chunk.usage
    assert text == HELLO, text
    assert usage is not None and usage.completion_tokens == 30, usage


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def tool_round_trip():
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(model="gpt-5.5", messages=messages, tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls", first
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"})
    second = client.chat.completions.create(model="gpt-5.5", messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == HELLO, second


def structured_output():
    from pydantic import BaseModel

    class Answer(BaseModel):
        ok: bool
        city: str

    parse = getattr(client.chat.completions, "parse", None) or client.beta.chat.completions.parse
    reply = parse(model="gpt-5.5", messages=[{"role": "user", "content": "json please"}], response_format=Answer)
    parsed = reply.choices[0].message.parsed
    assert parsed == Answer(ok=True, city="Paris"), reply


def responses_non_streaming():
    reply = client.responses.create(model="gpt-5.5", input="hi")
    assert reply.output_text == HELLO, reply


def responses_streaming():
    text, completed = "", False
    with client.responses.stream(model="gpt-5.5", input="hi") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
            if event.type == "response.completed":
                completed = True
    assert text == HELLO and completed, text


azure = AzureOpenAI(azure_endpoint=BASE, api_key=KEY, api_version="2024-10-21")


def azure_chat():
    reply = azure.chat.completions.create(model="gpt-5.5", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == HELLO, reply


def azure_chat_streaming():
    stream = azure.chat.completions.create(model="gpt-5.5", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == HELLO, text


for name, fn in [
    ("chat non-streaming", chat_non_streaming),
    ("chat streaming", chat_streaming),
    ("chat tool round trip", tool_round_trip),
    ("chat structured output", structured_output),
    ("responses non-streaming", responses_non_streaming),
    ("responses streaming", responses_streaming),
    ("azure chat", azure_chat),
    ("azure chat streaming", azure_chat_streaming),
]:
    check(name, fn)

failed = [r for r in results if r[1]]
for name, error in results:
    print(f"{'FAIL' if error else 'ok  '} openai sdk: {name}{': ' + error if error else ''}")
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
