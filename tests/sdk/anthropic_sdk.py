"""The official `anthropic` Python SDK against a running CodexManager gateway (mock upstream).

Run by tests/sdk/main.rs, which starts the gateway and scripts the mock so that the calls
below, made in this order, get the answers they assert on.
"""
import os
import sys

from anthropic import Anthropic

BASE = os.environ["GATEWAY_BASE"]
KEY = os.environ["GATEWAY_KEY"]
HELLO = "hello from acct-00000"

client = Anthropic(base_url=BASE, api_key=KEY)
results = []


def check(name, fn):
    try:
        fn()
        results.append((name, None))
    except Exception as exc:
        results.append((name, f"{type(exc).__name__}: {exc}"))


def messages_non_streaming():
    reply = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.content[0].text == HELLO, reply
    assert reply.stop_reason == "end_turn", reply
    assert reply.usage.cache_read_input_tokens == 100, reply.usage


def messages_streaming():
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == HELLO, text
    assert final.stop_reason == "end_turn", final


TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def tool_round_trip():
    messages = [{"role": "user", "content": "weather in Paris?"}]
    first = client.messages.create(model="claude-opus-4-1", max_tokens=256, messages=messages, tools=[TOOL])
    assert first.stop_reason == "tool_use", first
    use = next(block for block in first.content if block.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "Paris"}, use
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append(
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 21 C"}]}
    )
    second = client.messages.create(model="claude-opus-4-1", max_tokens=256, messages=messages, tools=[TOOL])
    assert second.content[0].text == HELLO, second


def count_tokens():
    counted = client.messages.count_tokens(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hello there " * 50}]
    )
    assert counted.input_tokens > 100, counted


for name, fn in [
    ("messages non-streaming", messages_non_streaming),
    ("messages streaming", messages_streaming),
    ("tool round trip", tool_round_trip),
    ("count_tokens", count_tokens),
]:
    check(name, fn)

failed = [r for r in results if r[1]]
for name, error in results:
    print(f"{'FAIL' if error else 'ok  '} anthropic sdk: {name}{': ' + error if error else ''}")
print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
