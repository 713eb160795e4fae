#!/usr/bin/env python3
"""Derives skillrt's labelled search sets from public repositories (bench/data/README.md).

Each set is written as JSON: {"source", "commit", "licence", "skills": [{"name",
"description", "body"}], "queries": [{"query", "relevant": [names]}]}. The queries were
written by the repositories' authors for tool selection, not by skillrt's authors.

Usage: derive.py MCP_REPO_GIT_DIR LIVEMCPBENCH_GIT_DIR OUT_DIR
"""
import json
import re
import subprocess
import sys
from pathlib import Path


def show(git_dir, path):
    return subprocess.run(["git", "--git-dir", git_dir, "show", f"HEAD:{path}"],
                          check=True, capture_output=True, text=True).stdout


def head(git_dir):
    return subprocess.run(["git", "--git-dir", git_dir, "rev-parse", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()


def skill_name(text):
    """A valid skill name (lower case, [a-z0-9-]) for a tool or server name."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return re.sub(r"-+", "-", name)[:64].strip("-")


def mcp_namespaces(git_dir):
    """microsoft/mcp: Azure MCP namespaces (their descriptions) and the human-written
    prompts for each namespace."""
    base = "eng/tools/ToolDescriptionEvaluator/prompts"
    tools = json.loads(show(git_dir, f"{base}/namespace-tools.json"))["results"]
    prompts = json.loads(show(git_dir, f"{base}/namespace-prompts.json"))
    skills = [{"name": skill_name("azure-" + t["name"]), "description": t["description"],
               "body": ""} for t in tools]
    names = {s["name"] for s in skills}
    queries = []
    for namespace, texts in sorted(prompts.items()):
        name = skill_name("azure-" + namespace)
        if name not in names:
            continue
        queries += [{"query": q, "relevant": [name]} for q in texts]
    return {"source": "microsoft/mcp " + base + "/namespace-{tools,prompts}.json",
            "commit": head(git_dir), "licence": "MIT", "skills": skills, "queries": queries}


def livemcpbench(git_dir):
    """LiveMCPBench: its 70 MCP servers (description and tool list) and the annotated tasks,
    relevant = the servers providing the tools the annotators used."""
    servers = json.loads(show(git_dir, "tools/LiveMCPTool/tools.json"))
    tasks = json.loads(show(git_dir, "annotated_data/all_annotations.json"))
    skills, owner = [], {}
    for s in servers:
        name = skill_name(s["name"])
        lines = []
        for inner in s.get("tools", {}).values():
            for tool in inner.get("tools", []):
                owner.setdefault(tool["name"], set()).add(name)
                desc = (tool.get("description") or "").split("\n")[0][:200]
                lines.append(f"- {tool['name']}: {desc}")
        skills.append({"name": name, "description": s.get("description") or s["name"],
                       "body": "\n".join(lines)})
    queries = []
    for t in tasks:
        used = re.findall(r"^\s*\d+\.\s*(.+?)\s*$", t["Annotator Metadata"].get("Tools", ""),
                          re.M)
        relevant = sorted({n for tool in used for n in owner.get(tool.strip("` "), ())})
        if relevant:
            queries.append({"query": t["Question"], "relevant": relevant})
    return {"source": "icip-cas/LiveMCPBench tools/LiveMCPTool/tools.json, "
                      "annotated_data/all_annotations.json",
            "commit": head(git_dir), "licence": "Apache-2.0", "skills": skills,
            "queries": queries}


def main():
    mcp, live, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    for name, data in (("mcp-namespaces", mcp_namespaces(mcp)),
                       ("livemcpbench", livemcpbench(live))):
        (out / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        print(f"{name}: {len(data['skills'])} skills, {len(data['queries'])} queries")


if __name__ == "__main__":
    main()
