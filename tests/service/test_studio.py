"""The studio's routes over real sockets: its files served from memory without a token and
with a strict CSP, nothing else reachable through them, /v1 still behind tokens, the service's
own origin accepted, and the read-only routes the studio uses (whoami, the runs list, a
skill's details)."""

from conftest import Server, make_token


def studio_dir(tmp_path):
    d = tmp_path / "studio"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text('<!doctype html><script type="module" src="/studio/assets/a.js"></script>')
    (d / "assets" / "a.js").write_text("console.log('studio')")
    (d / "notes.md").write_text("not a served type")
    return d


def test_files_are_served_without_a_token_and_nothing_else(tmp_path, home):
    server = Server(home, extra=["--studio", str(studio_dir(tmp_path))]).start()
    try:
        r = server.request("GET", "/")
        assert r.status == 302 and r.headers["Location"] == "/studio/"
        r = server.request("GET", "/studio/")
        assert r.status == 200 and r.body.startswith("<!doctype html>")
        assert r.headers["Content-Type"].startswith("text/html")
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe" not in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        r = server.request("GET", "/studio/assets/a.js")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/javascript")
        (home / "outside.js").write_text("secret")
        for path in ["/studio/notes.md", "/studio/../tokens.json", "/studio/%2e%2e/tokens.json",
                     "/studio/assets/..%2f..%2fouting.js", "/studio/..%2f..%2fhome%2foutside.js",
                     "/studio/assets/", "/studio//etc/passwd"]:
            r = server.request("GET", path)
            assert r.status == 404, path
            assert "secret" not in r.body and "sha256" not in r.body
        # The API is not opened by the studio's paths.
        assert server.request("GET", "/v1/skills").status == 401
        assert server.request("GET", "/studio/../v1/skills").status in (401, 404)
    finally:
        server.stop()


def test_an_unbuilt_studio_says_how_to_build_it_and_no_studio_turns_it_off(tmp_path, home):
    server = Server(home, extra=["--studio", str(tmp_path / "none")]).start()
    try:
        r = server.request("GET", "/studio/")
        assert r.status == 404 and "build-studio.sh" in r.json()["error"]["message"]
    finally:
        server.stop()
    server = Server(home, extra=["--no-studio"]).start()
    try:
        assert server.request("GET", "/studio/").status == 401  # Not a route: the token check.
    finally:
        server.stop()


def test_the_services_own_origin_is_accepted_and_others_are_not(server, tokens):
    own = "http://127.0.0.1:%d" % server.port
    r = server.request("GET", "/v1/whoami", token=tokens["run"], headers={"Origin": own})
    assert r.status == 200
    assert r.json()["scope"] == "run" and r.json()["name"] == "run-token"
    assert r.json()["may"] == {"read": True, "run": True, "approve": False, "admin": False}
    for origin in ["http://127.0.0.1:%d" % (server.port + 1), "http://evil.example",
                   own + ".evil.example", "null"]:
        r = server.request("GET", "/v1/whoami", token=tokens["run"], headers={"Origin": origin})
        assert r.status == 403 and r.code == "bad_origin", origin


def test_runs_list_and_skill_details(server, tokens):
    r = server.request("POST", "/v1/runs", token=tokens["run"],
                       body={"skill": "text-processor", "input": {"text": "a b"}, "run_id": "l-1",
                             "wait": True})
    assert r.status == 200, r.body
    runs = server.request("GET", "/v1/runs", token=tokens["read"]).json()["runs"]
    assert [(x["run_id"], x["skill"], x["status"]) for x in runs] == [("l-1", "text-processor", "ok")]
    assert server.request("GET", "/v1/runs?status=running", token=tokens["read"]).json()["runs"] == []
    assert server.request("GET", "/v1/runs?skill=calculator", token=tokens["read"]).json()["runs"] == []
    assert server.request("GET", "/v1/runs?limit=x", token=tokens["read"]).code == "bad_request"

    d = server.request("GET", "/v1/skills/text-processor/details", token=tokens["read"]).json()
    assert d["grant"]["capabilities"]["network"] is False
    assert "python3" in d["grant"]["capabilities"]["commands"]
    assert d["grant"]["limits"]["wall_time_ms"] == 10000
    assert d["lock"]["state"] == "unlocked"
    assert "SKILL.md" in d["files"] and "scripts/process.py" in d["files"]
    assert server.request("GET", "/v1/skills/..%2fx/details", token=tokens["read"]).status in (400, 404)
    assert server.request("GET", "/v1/skills/nope/details", token=tokens["read"]).status == 404
    assert server.request("GET", "/v1/runs").status == 401


def test_skill_details_name_instances_but_never_their_values(tmp_path, home):
    home.mkdir(parents=True, exist_ok=True)
    instances = home / "instances.toml"
    instances.write_text('[text-processor]\ndefault = "prod"\n\n[text-processor.prod]\n'
                         'env = { MODE = "hidden-value" }\nconfig = { units = "private-unit" }\n\n'
                         '[text-processor.dev]\n')
    instances.chmod(0o600)
    server = Server(home).start()
    try:
        token = make_token(home, "read")
        r = server.request("GET", "/v1/skills/text-processor/details", token=token)
        assert r.status == 200, r.body
        got = r.json()["instances"]
        assert "error" not in got, got
        assert got["instances"] == [
            {"name": "dev", "default": False, "env": [], "secrets": [], "config_keys": []},
            {"name": "prod", "default": True, "env": ["MODE"], "secrets": [], "config_keys": ["units"]},
        ]
        assert "hidden-value" not in r.body and "private-unit" not in r.body
    finally:
        server.stop()
