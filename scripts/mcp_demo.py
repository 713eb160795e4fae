"""An MCP client (the official Python SDK) lists the skills through `skillrt mcp` over stdio,
loads one and runs it. Usage: python scripts/mcp_demo.py SKILLRT [GLOBAL FLAGS...]"""
import sys

import anyio
from mcp import Client, StdioServerParameters


async def main(server):
    async with Client(StdioServerParameters(command=server[0], args=[*server[1:], "mcp"])) as c:
        print(f"connected to {c.server_info.name} (protocol {c.protocol_version})")
        tools = (await c.list_tools()).tools
        print(f"{len(tools)} tools:", ", ".join(t.name for t in tools))
        listed = await c.call_tool("list_skills", {"filter": "calc"})
        print("list_skills calc ->", [s["name"] for s in listed.structured_content["skills"]])
        loaded = await c.call_tool("load_skill", {"skill": "calculator"})
        print("load_skill calculator -> files", loaded.structured_content["files"])
        ran = await c.call_tool("run_skill", {"skill": "calculator",
                                              "input": {"expression": "2*(3+4)"}})
        result = ran.structured_content
        print(f"run_skill calculator 2*(3+4) -> {result['status']}: {result['output']}"
              f" in {result['duration_ms']:.1f} ms (run {result['run_id']})")
        if ran.is_error:
            sys.exit(1)


anyio.run(main, sys.argv[1:])
