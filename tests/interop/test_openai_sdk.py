"""The real OpenAI Python SDK pointed at llmscope's proxy: what the SDK gets is what the
upstream sent, and what llmscope stores matches it field by field."""

import json
import subprocess

import openai
import pytest
from openai import OpenAI


def client(llmscope, **headers):
    return OpenAI(base_url=llmscope.base_url, api_key="sk-test", default_headers=headers, max_retries=0)


MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_plain_chat(llmscope):
    c = client(llmscope, **{"X-LLMScope-User-Id": "alice", "X-LLMScope-Session-Id": "s-1", "X-LLMScope-Tags": "sdk,plain"})
    raw = c.chat.completions.with_raw_response.create(model="mock-gpt-4o", messages=MESSAGES, temperature=0.3, max_tokens=200)
    resp = raw.parse()
    call_id = raw.headers["x-llmscope-call-id"]
    assert float(raw.headers["x-llmscope-overhead-ms"]) >= 0
    rec = llmscope.call(call_id)
    assert rec["trace_id"] == raw.headers["x-llmscope-trace-id"]
    assert rec["origin"] == {"kind": "proxy"}
    assert rec["model"] == "mock-gpt-4o"
    assert rec["operation"] == "chat"
    assert rec["input"] == MESSAGES
    assert rec["input_text"] == "What is the capital of France?"
    assert rec["output"] == resp.choices[0].message.content
    assert rec["finish_reason"] == resp.choices[0].finish_reason == "stop"
    assert rec["request_id"] == resp.id
    assert rec["usage"]["input"] == resp.usage.prompt_tokens
    assert rec["usage"]["output"] == resp.usage.completion_tokens
    assert rec["usage"]["total"] == resp.usage.total_tokens
    assert rec["usage"]["counted"] is False
    assert rec["status"] == "ok" and rec["status_code"] == 200
    assert rec["user_id"] == "alice" and rec["session_id"] == "s-1"
    assert rec["tags"] == ["plain", "sdk"]
    assert rec["temperature"] == 0.3
    assert rec["params"]["max_tokens"] == 200
    assert rec["latency_ms"] > 0
    assert rec["flags"] == []


def test_streaming(llmscope):
    c = client(llmscope, **{"X-LLMScope-User-Id": "bob"})
    stream = c.chat.completions.create(model="mock-qwen2.5-7b", messages=[{"role": "user", "content": "你好，介绍一下你自己"}], stream=True)
    text = ""
    chunks = 0
    for chunk in stream:
        chunks += 1
        assert chunk.usage is None  # the caller did not ask for usage and gets none
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    # The trace id is readable after the last chunk, from the stream's response headers.
    call_id = stream.response.headers["x-llmscope-call-id"]
    trace_id = stream.response.headers["x-llmscope-trace-id"]
    rec = llmscope.call(call_id)
    assert rec["trace_id"] == trace_id
    assert rec["output"] == text and text
    assert rec["attributes"]["stream"] is True
    assert rec["usage"]["output"] > 0 and rec["usage"]["counted"] is False
    assert 0 < rec["ttft_ms"] <= rec["latency_ms"]
    assert rec["finish_reason"] == "stop"
    assert rec["user_id"] == "bob"


def test_streaming_with_usage_requested(llmscope):
    c = client(llmscope)
    stream = c.chat.completions.create(
        model="mock-gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    last = None
    for chunk in stream:
        last = chunk
    assert last.usage is not None and last.usage.total_tokens > 0
    rec = llmscope.call(stream.response.headers["x-llmscope-call-id"])
    assert rec["usage"]["total"] == last.usage.total_tokens


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(llmscope, stream):
    c = client(llmscope)
    msgs = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        s = c.chat.completions.create(model="mock-gpt-4o", messages=msgs, tools=TOOLS, stream=True)
        name, args = "", ""
        for chunk in s:
            for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                name += tc.function.name or ""
                args += tc.function.arguments or ""
        call_id = s.response.headers["x-llmscope-call-id"]
    else:
        raw = c.chat.completions.with_raw_response.create(model="mock-gpt-4o", messages=msgs, tools=TOOLS)
        tc = raw.parse().choices[0].message.tool_calls[0]
        name, args = tc.function.name, tc.function.arguments
        call_id = raw.headers["x-llmscope-call-id"]
    rec = llmscope.call(call_id)
    assert rec["tool_calls"][0]["function"]["name"] == name == "get_weather"
    assert json.loads(rec["tool_calls"][0]["function"]["arguments"]) == json.loads(args)
    assert rec["finish_reason"] == "tool_calls"
    assert rec["tools"] == TOOLS
    assert rec["flags"] == []


def test_json_mode(llmscope):
    c = client(llmscope)
    raw = c.chat.completions.with_raw_response.create(
        model="mock-gpt-4o", messages=MESSAGES, response_format={"type": "json_object"}
    )
    content = raw.parse().choices[0].message.content
    json.loads(content)
    rec = llmscope.call(raw.headers["x-llmscope-call-id"])
    assert rec["json_mode"] is True and rec["response_format"] == {"type": "json_object"}
    assert rec["flags"] == []
    bad = client(llmscope, **{"x-mock-fault": "bad-json"}).chat.completions.with_raw_response.create(
        model="mock-gpt-4o", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert llmscope.call(bad.headers["x-llmscope-call-id"])["flags"] == ["malformed_json"]


@pytest.mark.parametrize("fault,error,kind", [
    ("status=429", openai.RateLimitError, "rate_limited"),
    ("status=500", openai.InternalServerError, "upstream_5xx"),
    ("status=400", openai.BadRequestError, "upstream_4xx"),
])
def test_upstream_errors(llmscope, fault, error, kind):
    c = client(llmscope, **{"x-mock-fault": fault})
    with pytest.raises(error) as info:
        c.chat.completions.create(model="mock-gpt-4o", messages=MESSAGES)
    resp = info.value.response
    if fault == "status=429":
        assert resp.headers["retry-after"] == "1"
    rec = llmscope.call(resp.headers["x-llmscope-call-id"])
    assert rec["status"] == "error"
    assert rec["status_code"] == int(fault.split("=")[1])
    assert rec["error_kind"] == kind
    assert rec["error_message"] == info.value.body["message"]


def test_cut_stream(llmscope):
    c = client(llmscope, **{"x-mock-fault": "cut=3"})
    stream = c.chat.completions.create(model="mock-gpt-4o", messages=MESSAGES, stream=True)
    got = ""
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                got += chunk.choices[0].delta.content
    assert "upstream" in str(info.value)
    rec = llmscope.call(stream.response.headers["x-llmscope-call-id"])
    assert rec["status"] == "error" and rec["error_kind"] == "upstream_cut"
    assert rec["output"] == got and got


def test_embeddings_and_models(llmscope):
    c = client(llmscope)
    raw = c.embeddings.with_raw_response.create(model="mock-embed", input=["hello", "world"])
    emb = raw.parse()
    assert len(emb.data) == 2
    rec = llmscope.call(raw.headers["x-llmscope-call-id"])
    assert rec["operation"] == "embedding" and rec["span_kind"] == "embedding"
    assert rec["usage"]["input"] == emb.usage.prompt_tokens
    assert [m.id for m in c.models.list()][:1] == ["mock-gpt-4o"]


def test_responses_api(llmscope):
    """`client.responses.create`, the API the OpenAI Agents SDK uses: recorded like chat."""
    c = client(llmscope, **{"X-LLMScope-User-Id": "carol"})
    raw = c.responses.with_raw_response.create(
        model="mock-gpt-4o", instructions="You are terse.", input="What is the capital of France?", max_output_tokens=200
    )
    resp = raw.parse()
    assert resp.output_text
    rec = llmscope.call(raw.headers["x-llmscope-call-id"])
    assert rec["operation"] == "responses"
    assert rec["input"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert rec["input_text"] == "What is the capital of France?"
    assert rec["output"] == resp.output_text
    assert rec["request_id"] == resp.id
    assert rec["usage"]["input"] == resp.usage.input_tokens
    assert rec["usage"]["output"] == resp.usage.output_tokens
    assert rec["usage"]["total"] == resp.usage.total_tokens
    assert rec["usage"]["counted"] is False
    assert rec["finish_reason"] == "stop" and rec["status"] == "ok"
    assert rec["params"]["max_output_tokens"] == 200
    assert rec["user_id"] == "carol"


def test_responses_api_streaming(llmscope):
    c = client(llmscope)
    stream = c.responses.create(model="mock-qwen2.5-7b", input=[{"role": "user", "content": "你好"}], stream=True)
    text = ""
    final = None
    for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
        elif event.type == "response.completed":
            final = event.response
    assert text and final is not None and final.output_text == text
    rec = llmscope.call(stream.response.headers["x-llmscope-call-id"])
    assert rec["operation"] == "responses"
    assert rec["request_id"] == final.id
    assert rec["output"] == text
    assert rec["input_text"] == "你好"
    assert rec["attributes"]["stream"] is True
    assert rec["usage"]["total"] == final.usage.total_tokens and rec["usage"]["counted"] is False
    assert 0 < rec["ttft_ms"] <= rec["latency_ms"]
    # The SDK's own accumulating helper reads the same stream into the same answer.
    with c.responses.stream(model="mock-qwen2.5-7b", input=[{"role": "user", "content": "你好"}]) as s:
        assert s.get_final_response().output_text == text


def test_responses_api_function_call(llmscope):
    c = client(llmscope)
    tools = [{"type": "function", "name": "get_weather", "description": "Weather in a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    raw = c.responses.with_raw_response.create(model="mock-gpt-4o", input="Weather in Paris?", tools=tools)
    resp = raw.parse()
    call = resp.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert isinstance(json.loads(call.arguments), dict)
    rec = llmscope.call(raw.headers["x-llmscope-call-id"])
    assert rec["tool_calls"] == [
        {"id": call.call_id, "type": "function", "function": {"name": "get_weather", "arguments": call.arguments}}
    ]
    assert rec["finish_reason"] == "tool_calls"
    assert rec["tools"] == tools
    assert rec["flags"] == []


def test_responses_api_cut_stream_raises_and_is_recorded(llmscope):
    c = client(llmscope)
    stream = c.responses.create(
        model="mock-gpt-4o", input="Tell me a story", stream=True, extra_headers={"x-mock-fault": "cut=2"}
    )
    text = ""
    with pytest.raises(openai.APIError) as raised:
        for event in stream:
            if event.type == "response.output_text.delta":
                text += event.delta
    assert "the upstream stream" in str(raised.value)
    rec = llmscope.call(stream.response.headers["x-llmscope-call-id"])
    assert rec["status"] == "error" and rec["error_kind"] == "upstream_cut"
    assert rec["output"] == text and text


def test_report_while_the_server_runs(llmscope):
    # `llmscope report` finds the store held by the server and has the server build it.
    out = subprocess.run(
        [llmscope_bin(), "--data-dir", llmscope.dir, "report", "--format", "json"],
        check=True, capture_output=True, text=True,
    )
    report = json.loads(out.stdout)
    assert report["requests"]["total"] == len(llmscope.calls())
    assert report["requests"]["errors"] >= 4  # the upstream errors and the cut stream above


def test_shutdown_drains_and_data_is_readable_after(llmscope):
    # Calls made just before SIGTERM are all stored once the server has exited.
    c = client(llmscope, **{"X-LLMScope-Tags": "last-batch"})
    ids = [c.chat.completions.with_raw_response.create(model="mock-gpt-4o", messages=MESSAGES).headers["x-llmscope-call-id"] for _ in range(20)]
    assert llmscope.stop() == 0
    out = subprocess.run(
        [llmscope_bin(), "--data-dir", llmscope.dir, "calls", "--tag", "last-batch", "--format", "jsonl", "--limit", "100"],
        check=True, capture_output=True, text=True,
    )
    stored = {json.loads(line)["id"] for line in out.stdout.splitlines()}
    assert stored == set(ids)


def llmscope_bin():
    import os
    return os.environ.get("LLMSCOPE_BIN", "llmscope")
