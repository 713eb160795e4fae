"""An OpenAI-compatible agent loop: the model asks for tools, skillrt runs them in their
sandboxes (policy, approvals, audit), the results go back, until the model answers.

Run against any OpenAI-compatible server: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1
OPENAI_API_KEY=... MODEL=... <build>/pyenv/bin/python examples/python/agent_loop.py "question"
(python/tests/fake_openai.py is a scripted local server the tests use.)
"""

import os
import pathlib
import sys

import openai

import skillrt

root = pathlib.Path(__file__).resolve().parents[2]
question = sys.argv[1] if len(sys.argv) > 1 else "What is 2*(3+4)? Use the calculator."
client = openai.OpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment.

with skillrt.Engine(skills=[root / "examples" / "skills"]) as engine:
    tools = engine.tools("openai")
    messages = [{"role": "user", "content": question}]
    for turn in range(8):  # A budget of turns: a model that keeps calling tools is stopped.
        response = client.chat.completions.create(
            model=os.environ.get("MODEL", "gpt-4.1-mini"), messages=messages, tools=tools)
        message = response.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        if not message.tool_calls:
            print(message.content)
            break
        for call in message.tool_calls:
            print(f"tool call: {call.function.name}({call.function.arguments})")
        messages += engine.handle_tool_calls(response)  # role=tool messages, one per call
