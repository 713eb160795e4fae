"""GET /v1/search over real sockets with the real model: the hybrid search finds a skill by
words that are not in its name, says why each hit matched, keeps its index under the home and
brings it up to date when the catalogue changes (without a restart), and answers malformed
parameters and a missing model with clear JSON errors."""
import shutil
import urllib.parse

from conftest import SKILLS, Server, make_token


def search(server, token, **params):
    # A home's first search loads the model and indexes the catalogue: seconds on an idle
    # machine, a minute or more on one loaded by parallel builds.
    return server.request("GET", "/v1/search?" + urllib.parse.urlencode(params), token=token,
                          timeout=600)


def test_finds_by_meaning_and_says_why(server, tokens, home):
    r = search(server, tokens["read"], q="how many kilograms is two pounds")
    assert r.status == 200, r.body
    body = r.json()
    assert body["method"] == "hybrid" and body["query"] == "how many kilograms is two pounds"
    hits = body["hits"]
    assert hits[0]["name"] == "unit-converter", [h["name"] for h in hits]
    assert 1 <= len(hits) <= 10
    assert hits[0]["dense"]["rank"] >= 1 and -1 <= hits[0]["dense"]["score"] <= 1
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert (home / "index" / "search.db").is_file()
    r = search(server, tokens["read"], q="arithmetic expression", top=2, method="bm25")
    assert r.status == 200 and r.json()["method"] == "bm25"
    hits = r.json()["hits"]
    assert len(hits) <= 2 and hits[0]["name"] == "calculator"
    assert all(h["dense"] is None and h["bm25"]["rank"] >= 1 for h in hits)


def test_parameters_are_checked(server, tokens):
    read = tokens["read"]
    for params, needle in [({}, "q:"), ({"q": "   "}, "q:"), ({"q": "x" * 3000}, "q: at most"),
                           ({"q": "csv", "top": "0"}, "top: an integer from 1 to 50"),
                           ({"q": "csv", "top": "51"}, "top:"), ({"q": "csv", "top": "two"}, "top:"),
                           ({"q": "csv", "method": "grep"}, "method:")]:
        r = search(server, read, **params)
        assert r.status == 400 and r.code == "bad_request", (params, r.body)
        assert needle in r.json()["error"]["message"], (params, r.body)
    r = search(server, read, q="csv", method="grep")
    assert "hybrid" in r.json()["error"]["message"]  # The choices are named.
    assert server.request("GET", "/v1/search?q=csv").status == 401


def test_the_index_follows_the_catalogue_without_a_restart(tmp_path):
    skills = tmp_path / "skills"
    shutil.copytree(SKILLS, skills)
    home = tmp_path / "home"
    server = Server(home, skills=skills).start()
    try:
        token = make_token(home, "read")
        assert "quasar-polisher" not in search(server, token, q="polish quasars").body
        new = skills / "quasar-polisher"
        new.mkdir()
        (new / "SKILL.md").write_text(
            "---\nname: quasar-polisher\ndescription: Buffs distant quasars until they gleam.\n"
            "---\nPolishes quasars.\n")
        r = search(server, token, q="make far-away quasars shine", top=3)
        assert r.status == 200 and r.json()["hits"][0]["name"] == "quasar-polisher", r.body
        shutil.rmtree(new)
        r = search(server, token, q="make far-away quasars shine", top=3)
        assert "quasar-polisher" not in [h["name"] for h in r.json()["hits"]]
    finally:
        server.stop()


def test_a_missing_model_is_a_clear_503(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLRT_SEARCH_MODEL", str(tmp_path / "no-model"))
    home = tmp_path / "home"
    server = Server(home).start()
    try:
        token = make_token(home, "read")
        r = search(server, token, q="convert units")
        assert r.status == 503 and r.code == "unavailable", r.body
        assert "skill search is unavailable" in r.json()["error"]["message"]
        assert "no-model" in r.json()["error"]["message"]
        # The rest of the service works.
        assert server.request("GET", "/v1/skills", token=token).status == 200
    finally:
        server.stop()
