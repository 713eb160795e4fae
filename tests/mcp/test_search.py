"""search_skills through the official `mcp` client: listed with an output schema, the skill a
task needs comes first, bad arguments are tool errors, a missing model is a tool error that
leaves the other tools working, and instructions point to search when the index is cut."""
import shutil

import anyio
from mcp import Client, StdioServerParameters

from conftest import CLI, SOURCE, server_args


def stdio(skills, home, env=None):
    return StdioServerParameters(command=CLI, args=server_args(skills, home), env=env)


def text_of(result) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def test_search_finds_the_skill_a_task_needs(skills, home):
    shutil.copytree(SOURCE / "examples/skills/unit-converter", skills / "unit-converter")

    async def main():
        async with Client(stdio(skills, home)) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert "search_skills" in tools
            assert "hits" in tools["search_skills"].output_schema["properties"]

            found = await client.call_tool(
                "search_skills", {"query": "how many kilometres are 26.2 miles", "top": 3})
            assert not found.is_error, text_of(found)
            hits = found.structured_content["hits"]
            assert hits[0]["name"] == "unit-converter", hits
            assert len(hits) <= 3
            assert hits[0]["score"] >= hits[-1]["score"]

            found = await client.call_tool(
                "search_skills", {"query": "evaluate the arithmetic expression 2*(3+4)"})
            assert found.structured_content["hits"][0]["name"] == "calculator"

            # A budget too small for any hit keeps none and says so.
            tight = await client.call_tool(
                "search_skills", {"query": "convert miles to kilometres", "budget_tokens": 3})
            assert not tight.is_error, text_of(tight)
            assert tight.structured_content["hits"] == []
            assert tight.structured_content["dropped_for_budget"] >= 1

            for bad, why in [({"query": "  "}, "query"), ({"query": "x", "top": 0}, "top"),
                             ({"query": "x", "top": 51}, "top"),
                             ({"query": "x", "budget_tokens": -1}, "budget_tokens")]:
                result = await client.call_tool("search_skills", bad)
                assert result.is_error and why in text_of(result), (bad, text_of(result))
    anyio.run(main)
    assert (home / "index" / "search.db").is_file()


def test_search_without_a_model_is_a_tool_error(skills, home, tmp_path):
    env = {"SKILLRT_SEARCH_MODEL": str(tmp_path / "no-model")}

    async def main():
        async with Client(stdio(skills, home, env)) as client:
            failed = await client.call_tool("search_skills", {"query": "add two numbers"})
            assert failed.is_error and "unavailable" in text_of(failed), text_of(failed)
            listed = await client.call_tool("list_skills", {"filter": "calc"})
            assert not listed.is_error
            assert [s["name"] for s in listed.structured_content["skills"]] == ["calculator"]
            loaded = await client.call_tool("load_skill", {"skill": "calculator"})
            assert not loaded.is_error
    anyio.run(main)


def test_instructions_point_to_search_when_the_index_is_cut(skills, home):
    for i in range(40):
        skill = skills / f"filler-{i:02d}"
        skill.mkdir()
        (skill / "SKILL.md").write_text(
            f"---\nname: filler-{i:02d}\ndescription: Filler skill number {i} with a long "
            f"description so that the index of skills outgrows the instructions budget.\n"
            f"---\n# filler\n")
        (skill / "skill.toml").write_text('[capabilities]\ncommands = ["echo"]\n')

    async def main():
        async with Client(stdio(skills, home)) as client:
            instructions = client.instructions or ""
            assert len(instructions.encode()) <= 4096
            assert "more: call search_skills" in instructions, instructions
    anyio.run(main)


def test_instructions_name_the_focus_matches_first_when_cut(skills, home):
    shutil.copytree(SOURCE / "examples/skills/unit-converter", skills / "unit-converter")
    for i in range(40):
        skill = skills / f"filler-{i:02d}"
        skill.mkdir()
        (skill / "SKILL.md").write_text(
            f"---\nname: filler-{i:02d}\ndescription: Filler skill number {i} about gardening "
            f"and cooking recipes, long enough that the index outgrows the budget.\n---\n# f\n")
        (skill / "skill.toml").write_text('[capabilities]\ncommands = ["echo"]\n')

    async def instructions(*extra):
        params = StdioServerParameters(command=CLI, args=server_args(skills, home, *extra))
        async with Client(params) as client:
            return client.instructions or ""

    # Catalogue order: the fillers take the room and unit-converter (last) is not named.
    plain = anyio.run(instructions)
    assert "- unit-converter" not in plain, plain
    focused = anyio.run(instructions, "--focus", "convert miles to kilometres")
    assert len(focused.encode()) <= 4096
    assert 'the best matches for "convert miles to kilometres" first' in focused, focused
    assert "- unit-converter: " in focused, focused
    assert focused.index("- unit-converter") < focused.index("- filler-"), focused
    assert "more: call search_skills" in focused


def test_an_edit_in_place_reaches_the_index(skills, home):
    shutil.copytree(SOURCE / "examples/skills/unit-converter", skills / "unit-converter")
    query = {"query": "translate a sonnet into klingon", "top": 1}

    async def main():
        async with Client(stdio(skills, home)) as client:
            before = await client.call_tool("search_skills", query)
            assert before.structured_content["hits"][0]["name"] != "calculator"
            md = skills / "calculator" / "SKILL.md"
            text = md.read_text()
            head, _, rest = text.partition("description:")
            line, _, tail = rest.partition("\n")
            md.write_text(head + "description: Translate a sonnet into Klingon.\n" + tail)
            after = await client.call_tool("search_skills", query)
            assert after.structured_content["hits"][0]["name"] == "calculator", after
    anyio.run(main)
