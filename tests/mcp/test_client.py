"""The Python `mcp` client (the official SDK, not written here) drives `skillrt mcp` over
stdio and Streamable HTTP, in the handshake revision (2025-11-25) and the stateless one
(2026-07-28): list, load, read a file, run a skill, exec, progress, cancellation mid-run,
an approval by elicitation and a refusal without one."""
import json

import anyio
import pytest
from mcp import Client, StdioServerParameters, types

from conftest import CLI, server_args

MODES = ["legacy", "auto"]  # auto probes server/discover and speaks 2026-07-28.


def stdio(skills, home, *extra):
    return StdioServerParameters(command=CLI, args=server_args(skills, home, *extra))


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def run(coro):
    return anyio.run(coro)


@pytest.mark.parametrize("mode", MODES)
def test_stdio_list_load_read_run_exec(skills, home, mode):
    async def main():
        async with Client(stdio(skills, home), mode=mode) as client:
            assert client.server_info.name == "skillrt"
            assert "list_skills" in (client.instructions or "")
            names = [tool.name for tool in (await client.list_tools()).tools]
            for builtin in ["list_skills", "load_skill", "read_skill_file", "run_skill",
                            "exec_in_skill"]:
                assert builtin in names
            assert "calculator" in names  # Few skills: each is a tool of its own too.

            listed = await client.call_tool("list_skills", {"filter": "calc"})
            assert not listed.is_error
            assert [s["name"] for s in listed.structured_content["skills"]] == ["calculator"]

            loaded = await client.call_tool("load_skill", {"skill": "calculator"})
            assert "scripts/calc.py" in loaded.structured_content["files"]
            assert loaded.structured_content["input_schema"]["required"] == ["expression"]

            read = await client.call_tool("read_skill_file",
                                          {"skill": "calculator", "path": "scripts/calc.py"})
            assert not read.is_error and "def " in read.structured_content["text"]

            ran = await client.call_tool("run_skill", {"skill": "calculator",
                                                       "input": {"expression": "2*(3+4)"}})
            assert not ran.is_error, text_of(ran)
            assert ran.structured_content["status"] == "ok"
            assert ran.structured_content["output"]["result"] == 14

            direct = await client.call_tool("calculator", {"expression": "6*7"})
            assert not direct.is_error, text_of(direct)
            assert direct.structured_content["output"]["result"] == 42

            execd = await client.call_tool("exec_in_skill",
                                           {"skill": "tools-only", "argv": ["echo", "hi there"]})
            assert not execd.is_error, text_of(execd)
            assert execd.structured_content["stdout"] == "hi there\n"

            refused = await client.call_tool("exec_in_skill",
                                             {"skill": "tools-only", "argv": ["curl", "x"]})
            assert refused.is_error and refused.structured_content["status"] == "denied"
    run(main)


@pytest.mark.parametrize("mode", MODES)
def test_http_list_and_run(skills, home, http_server, mode):
    server = http_server()

    async def main():
        async with Client(server.url, mode=mode) as client:
            tools = (await client.list_tools()).tools
            assert {"run_skill", "calculator"} <= {tool.name for tool in tools}
            ran = await client.call_tool("calculator", {"expression": "1+1"})
            assert not ran.is_error, text_of(ran)
            assert ran.structured_content["output"]["result"] == 2
            bad = await client.call_tool("read_skill_file",
                                         {"skill": "calculator", "path": "../../etc/passwd"})
            assert bad.is_error and "may not leave" in text_of(bad)
    run(main)
    assert server.alive()


@pytest.mark.parametrize("mode", MODES)
def test_progress_from_run_events(skills, home, mode):
    seen = []

    async def progress(value, total, message):
        seen.append(message)

    async def main():
        async with Client(stdio(skills, home), mode=mode) as client:
            result = await client.call_tool("run_skill", {"skill": "calculator",
                                                          "input": {"expression": "1"}},
                                            progress_callback=progress)
            assert not result.is_error, text_of(result)
    run(main)
    kinds = [m.split(":")[0] for m in seen if m]
    assert kinds[0] == "accepted" and "started" in kinds and kinds[-1] == "finished", seen


def test_cancellation_stops_the_run(skills, home):
    async def main():
        async with Client(stdio(skills, home), mode="legacy") as client:
            started = anyio.Event()

            async def progress(value, total, message):
                if message and message.startswith("output"):
                    started.set()

            async with anyio.create_task_group() as group:
                async def call():
                    # The SDK sends notifications/cancelled when the call's scope is cancelled.
                    await client.call_tool("run_skill", {"skill": "slow"},
                                           progress_callback=progress)
                group.start_soon(call)
                with anyio.fail_after(15):
                    await started.wait()
                group.cancel_scope.cancel()
            # The server is still there, and the run was cancelled, not left running.
            await client.list_tools()
    run(main)
    audit = (home / "audit.log").read_text()
    records = [json.loads(line) for line in audit.splitlines() if line.strip()]
    slow = [r for r in records if r.get("skill") == "slow" and r.get("status")]
    assert slow and slow[-1]["status"] == "cancelled", slow


def ask_policy(home):
    (home / "policy.toml").write_text(
        '[[rule]]\nname = "ask-calculator"\neffect = "ask"\nskills = ["calculator"]\n')


@pytest.mark.parametrize("mode", MODES)
def test_approval_by_elicitation(skills, home, mode):
    """2025-11-25: a form elicitation mid-call; 2026-07-28: an input_required result whose
    sealed requestState the client brings back with its answer."""
    ask_policy(home)
    asked = []

    async def elicit(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"decision": "approve_once"})

    async def main():
        async with Client(stdio(skills, home, "--elicit-approvals"), mode=mode,
                          elicitation_callback=elicit,
                          client_info=types.Implementation(name="pytest-client",
                                                           version="1")) as client:
            result = await client.call_tool("run_skill", {"skill": "calculator",
                                                          "input": {"expression": "3*3"}})
            assert not result.is_error, text_of(result)
            assert result.structured_content["output"]["result"] == 9
    run(main)
    assert asked and "approval key" in asked[0]
    records = [json.loads(l) for l in (home / "audit.log").read_text().splitlines() if l]
    approvals = [r for r in records if r.get("event") == "approval"]
    assert approvals and approvals[-1]["via"] == "mcp-elicitation:pytest-client"
    assert approvals[-1]["answer"] == "approved"


def test_refusal_without_elicitation_names_the_key(skills, home):
    ask_policy(home)

    async def elicit(context, params):  # Must never be asked: the operator did not allow it.
        raise AssertionError("elicited without --elicit-approvals")

    async def main():
        async with Client(stdio(skills, home), mode="legacy",
                          elicitation_callback=elicit) as client:
            result = await client.call_tool("run_skill", {"skill": "calculator",
                                                          "input": {"expression": "3*3"}})
            assert result.is_error
            assert result.structured_content["status"] == "denied"
            text = text_of(result)
            assert "approval key" in text and "policy rule" in text
    run(main)
