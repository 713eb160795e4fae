"""`skillrt search` and `skillrt index` end to end, with the real model, over the bundled
skills: indexing, incremental updates, a damaged index, each method, budgets, batch mode."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CLI = os.environ["SKILLRT_CLI"]
SOURCE = Path(os.environ["SKILLRT_SOURCE_DIR"])


@pytest.fixture()
def env(tmp_path):
    skills = tmp_path / "skills"
    shutil.copytree(SOURCE / "examples" / "skills", skills)
    return {"home": tmp_path / "home", "skills": skills}


def run(env, *args, check=True):
    proc = subprocess.run([CLI, "--home", str(env["home"]), "--skills", str(env["skills"]), *args],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def search(env, query, *flags):
    return json.loads(run(env, "search", query, "--json", *flags).stdout)


def test_index_then_incremental_update(env):
    first = json.loads(run(env, "index", "--json").stdout)
    assert first["added"] == first["skills"] >= 10
    again = json.loads(run(env, "index", "--json").stdout)
    assert again["added"] == again["updated"] == again["removed"] == 0
    assert again["unchanged"] == first["skills"]
    skill_md = env["skills"] / "slugify" / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + "\nAlso makes Kubernetes resource names.\n")
    shutil.rmtree(env["skills"] / "word-freq")
    changed = json.loads(run(env, "index", "--json").stdout)
    assert (changed["updated"], changed["removed"]) == (1, 1)
    assert changed["skills"] == first["skills"] - 1
    rebuilt = json.loads(run(env, "index", "--rebuild", "--json").stdout)
    assert rebuilt["rebuilt"] and rebuilt["added"] == rebuilt["skills"]


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_each_method_finds_the_skill(env, method):
    out = search(env, "convert miles to kilometers", "--method", method, "--explain")
    assert out["hits"][0]["name"] == "unit-converter"
    explain = out["hits"][0]["explain"]
    if method != "dense":
        assert explain["bm25"]["rank"] >= 1
    if method != "bm25":
        assert explain["dense"]["rank"] >= 1


def test_hybrid_reranks_by_default_and_flags_turn_it_off_or_on(env):
    query = "convert miles to kilometers"
    hybrid = search(env, query, "--explain")["hits"]
    assert hybrid[0]["explain"]["rerank"]["rank"] == 1
    assert [h["explain"]["rerank"]["rank"] for h in hybrid] == list(range(1, len(hybrid) + 1))
    plain = search(env, query, "--explain", "--no-rerank")["hits"]
    assert all(h["explain"]["rerank"] is None for h in plain)
    bm25 = search(env, query, "--method", "bm25", "--explain")["hits"]
    assert all(h["explain"]["rerank"] is None for h in bm25)
    bm25_reranked = search(env, query, "--method", "bm25", "--rerank", "--explain")["hits"]
    assert bm25_reranked[0]["explain"]["rerank"]["rank"] == 1
    proc = run(env, "search", query, "--rerank", "--no-rerank", check=False)
    assert proc.returncode == 2 and "choose one" in proc.stderr
    proc = run(env, "search", query, "--rerank-weight", "1.5", check=False)
    assert proc.returncode == 2 and "rerank_weight" in proc.stderr


def test_dense_finds_meaning_without_shared_words(env):
    # No word of this query occurs in slugify's name or description.
    out = search(env, "make a web address from an article headline", "--method", "dense")
    assert "slugify" in [h["name"] for h in out["hits"][:3]]


def test_damaged_index_is_rebuilt(env):
    run(env, "index")
    db = env["home"] / "index" / "search.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 3:] = b"\x5a" * (len(data) - len(data) // 3)
    db.write_bytes(bytes(data))
    out = search(env, "checksum of a downloaded file")
    assert out["hits"][0]["name"] == "file-digest"
    db.write_bytes(b"not a database")
    assert search(env, "checksum of a downloaded file")["hits"][0]["name"] == "file-digest"


def test_budget_limits_tokens(env):
    full = search(env, "statistics of numbers", "--top", "5")
    cut = search(env, "statistics of numbers", "--top", "5", "--budget-tokens", "80",
                 "--per-skill-tokens", "30")
    assert cut["total_tokens"] <= 80
    assert all(h["tokens"] <= 30 for h in cut["hits"])
    assert any(h["shortened"] and h["description"].endswith("\u2026") for h in cut["hits"])
    assert len(cut["hits"]) + cut["dropped_for_budget"] == len(full["hits"])
    assert [h["name"] for h in cut["hits"]] == [h["name"] for h in full["hits"]][:len(cut["hits"])]


def test_batch_queries_one_json_line_each(env, tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("fetch a web page\n\ncount words in a text\n")
    out = run(env, "search", "--queries", str(queries), "--json", "--top", "3").stdout
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["query"] for line in lines] == ["fetch a web page", "count words in a text"]
    assert all(len(line["hits"]) == 3 for line in lines)


def test_bad_input_is_named(env):
    proc = run(env, "search", "x", "--method", "fuzzy", check=False)
    assert proc.returncode == 2 and "fuzzy" in proc.stderr
    proc = run(env, "search", "   ", check=False)
    assert proc.returncode == 2 and "empty" in proc.stderr
    proc = run(env, "search", check=False)
    assert proc.returncode == 2 and "QUERY" in proc.stderr
