"""Provider responses, as the official openai and anthropic SDKs return them, become the JSON
that Engine.handle_tool_calls hands to the core (skillrt.response_to_dict). The SDK objects
are built from recorded responses (python/tests/data/); nothing goes to the network."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import anthropic.types
import openai.types.chat
import openai.types.responses
import pytest

import skillrt
from conftest import SOURCE

DATA = pathlib.Path(__file__).parent / "data"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_openai_chat_completion():
    wire = recorded("openai_chat_tool_calls.json")
    completion = openai.types.chat.ChatCompletion.model_validate(wire)
    converted = skillrt.response_to_dict(completion)
    calls = converted["choices"][0]["message"]["tool_calls"]
    assert [(c["id"], c["type"], c["function"]["name"]) for c in calls] == [
        ("call_q1Xw6c2oYhN8bAe4", "function", "calculator"),
        ("call_Z7kP0sVb3LmR9tQe", "function", "slugify"),
    ]
    # Arguments stay the JSON text the model wrote, byte for byte.
    assert calls[0]["function"]["arguments"] == wire["choices"][0]["message"]["tool_calls"][0][
        "function"]["arguments"]
    assert json.dumps(converted)  # Plain JSON all the way down.
    assert openai.types.chat.ChatCompletion.model_validate(converted).model_dump(mode="json") == converted
    # The message alone, as agent loops often hold it, converts the same way.
    message = skillrt.response_to_dict(completion.choices[0].message)
    assert message == converted["choices"][0]["message"]


def test_openai_responses_response_and_its_output_items():
    wire = recorded("openai_responses_function_call.json")
    response = openai.types.responses.Response.model_validate(wire)
    converted = skillrt.response_to_dict(response)
    (item,) = converted["output"]
    assert item["type"] == "function_call"
    assert item["call_id"] == "call_Jr4bT9wqXe2LmN0a"
    assert json.loads(item["arguments"]) == {"expression": "sqrt(2)**2"}
    assert skillrt.response_to_dict(response.output) == converted["output"]
    assert openai.types.responses.Response.model_validate(converted).model_dump(mode="json") == converted


def test_anthropic_message():
    wire = recorded("anthropic_tool_use.json")
    message = anthropic.types.Message.model_validate(wire)
    converted = skillrt.response_to_dict(message)
    blocks = converted["content"]
    assert [b["type"] for b in blocks] == ["text", "tool_use"]
    assert blocks[1]["id"] == "toolu_01A9bC3dE5fG7hJ9kL1mN3pQ"
    assert blocks[1]["input"] == {"expression": "2*(3+4)"}
    assert anthropic.types.Message.model_validate(converted).model_dump(mode="json") == converted
    assert skillrt.response_to_dict(message.content)[1] == blocks[1]


def test_dicts_json_text_and_mixed_values():
    wire = recorded("anthropic_tool_use.json")
    assert skillrt.response_to_dict(wire) == wire
    assert skillrt.response_to_dict(json.dumps(wire)) == wire
    assert skillrt.response_to_dict(json.dumps(wire).encode()) == wire
    block = anthropic.types.Message.model_validate(wire).content[1]
    mixed = {"role": "assistant", "content": [block]}
    assert skillrt.response_to_dict(mixed)["content"][0]["name"] == "calculator"


def test_what_is_not_a_response_is_named():
    with pytest.raises(skillrt.InvalidArgumentError, match=r"response\.content\[0\]"):
        skillrt.response_to_dict({"content": [object()]})
    with pytest.raises(skillrt.InvalidArgumentError, match="not JSON text"):
        skillrt.response_to_dict("{not json")
    with pytest.raises(skillrt.InvalidArgumentError, match="key"):
        skillrt.response_to_dict({1: "x"})


def test_tool_formats_are_checked_before_the_core_is_asked(engine):
    with pytest.raises(skillrt.InvalidArgumentError, match="openai, responses, anthropic, mcp"):
        engine.tools(format="gemini")


# With the core's tool API (include/skillrt/tools.h): the same SDK objects, run for real.
needs_tool_api = pytest.mark.skipif(
    not hasattr(skillrt._skillrt.Engine, "handle_tool_calls"),
    reason="this build's core has no tool API (include/skillrt/tools.h)",
)


@needs_tool_api
def test_tools_lists_the_skills_in_each_format(engine):
    openai_tools = engine.tools("openai")
    calculator = next(t for t in openai_tools if t["function"]["name"] == "calculator")
    assert calculator["type"] == "function"
    assert calculator["function"]["parameters"]["required"] == ["expression"]
    anthropic_tools = engine.tools("anthropic", only=["calculator"])
    assert [t["name"] for t in anthropic_tools] == ["calculator"]
    assert "input_schema" in anthropic_tools[0]
    with pytest.raises(skillrt.NotFoundError):
        engine.tools("mcp", only=["no-such-skill"])


@needs_tool_api
def test_handle_tool_calls_with_an_openai_chat_completion(engine):
    completion = openai.types.chat.ChatCompletion.model_validate(
        recorded("openai_chat_tool_calls.json"))
    messages = engine.handle_tool_calls(completion)
    assert [m["role"] for m in messages] == ["tool", "tool"]
    assert [m["tool_call_id"] for m in messages] == ["call_q1Xw6c2oYhN8bAe4",
                                                     "call_Z7kP0sVb3LmR9tQe"]
    assert "14" in messages[0]["content"]
    assert engine.audit_query(skill="calculator")[-1]["status"] == "ok"


@needs_tool_api
def test_handle_tool_calls_with_a_responses_response(engine):
    response = openai.types.responses.Response.model_validate(
        recorded("openai_responses_function_call.json"))
    (item,) = engine.handle_tool_calls(response)
    assert item["type"] == "function_call_output"
    assert item["call_id"] == "call_Jr4bT9wqXe2LmN0a"
    assert "2" in item["output"]


@needs_tool_api
def test_handle_tool_calls_with_an_anthropic_message(engine):
    message = anthropic.types.Message.model_validate(recorded("anthropic_tool_use.json"))
    (reply,) = engine.handle_tool_calls(message)
    assert reply["role"] == "user"
    (block,) = reply["content"]
    assert block["type"] == "tool_result"
    assert block["tool_use_id"] == "toolu_01A9bC3dE5fG7hJ9kL1mN3pQ"
    assert not block["is_error"]
    assert "14" in json.dumps(block["content"])


@needs_tool_api
def test_handle_tool_calls_rejects_a_response_of_no_known_shape(engine):
    with pytest.raises(skillrt.InvalidArgumentError):
        engine.handle_tool_calls({"hello": "world"})
    assert engine.handle_tool_calls(
        {"role": "assistant", "content": "no calls", "tool_calls": []}) == []


@needs_tool_api
def test_the_agent_loop_example_runs_against_a_local_fake_backend(home):
    from fake_openai import FakeOpenAI

    example = SOURCE / "examples" / "python" / "agent_loop.py"
    with FakeOpenAI() as backend:
        env = {**os.environ, "OPENAI_BASE_URL": backend.url, "OPENAI_API_KEY": "test",
               "SKILLRT_HOME": str(home), "MODEL": "fake-model"}
        proc = subprocess.run([sys.executable, str(example)], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert 'tool call: calculator({"expression": "2*(3+4)"})' in proc.stdout
    assert "The calculator says:" in proc.stdout and "14" in proc.stdout
    first, second = backend.requests
    assert any(t["function"]["name"] == "calculator" for t in first["tools"])
    assert second["messages"][-1]["role"] == "tool"
    assert second["messages"][-1]["tool_call_id"] == "call_1"
