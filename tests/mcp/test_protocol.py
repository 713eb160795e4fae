"""The wire, message by message: negotiation, the skills extension, and a hostile client
(malformed JSON, oversized messages, unknown methods, wrong versions, bad sessions, a foreign
Origin, missing and wrong tokens, a path out of the skill, an unknown tool). Each gets a clean
protocol error and the server answers the next request."""
import hashlib
import json
import subprocess

import httpx2 as httpx  # The HTTP client the mcp package itself uses.
import pytest

from conftest import CLI, server_args

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "raw", "version": "1"}}}
MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {}}


class StdioPeer:
    def __init__(self, skills, home, *extra):
        self.proc = subprocess.Popen([CLI, *server_args(skills, home, *extra)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def send_raw(self, data: bytes):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message):
        self.send_raw(json.dumps(message).encode() + b"\n")

    def receive(self):
        line = self.proc.stdout.readline()
        assert line, "the server closed stdout: " + self.proc.stderr.read().decode()
        return json.loads(line)

    def call(self, message):
        self.send(message)
        while True:
            reply = self.receive()
            if "id" in reply and reply.get("id") == message.get("id"):
                return reply

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=20) == 0
        return self.proc.stderr.read().decode()


@pytest.fixture
def peer(skills, home):
    p = StdioPeer(skills, home)
    yield p
    if p.proc.poll() is None:
        p.proc.kill()


def ping(n):
    return {"jsonrpc": "2.0", "id": n, "method": "ping"}


def test_stdio_handshake_and_stdout_only_protocol(peer):
    reply = peer.call(INIT)
    result = reply["result"]
    assert result["protocolVersion"] == "2025-11-25"
    assert result["capabilities"]["tools"]["listChanged"] is True
    assert "io.modelcontextprotocol/skills" in result["capabilities"]["extensions"]
    peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert peer.call(ping(2))["result"] == {}
    # An unknown version is answered with the latest the server speaks.
    other = dict(INIT, id=3, params=dict(INIT["params"], protocolVersion="1999-01-01"))
    assert peer.call(other)["result"]["protocolVersion"] == "2025-11-25"
    stderr = peer.close()
    assert "serving MCP on stdio" in stderr


def test_discover_before_initialize_and_stateless_requests(peer):
    discover = peer.call({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                          "params": {"_meta": MODERN_META}})["result"]
    assert "2026-07-28" in discover["supportedVersions"]
    assert "2025-11-25" in discover["supportedVersions"]
    assert discover["resultType"] == "complete" and discover["ttlMs"] >= 0
    tools = peer.call({"jsonrpc": "2.0", "id": 2, "method": "tools/list",
                       "params": {"_meta": MODERN_META}})["result"]
    assert tools["resultType"] == "complete" and tools["cacheScope"] in ("public", "private")
    assert tools["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "skillrt"
    bad = peer.call({"jsonrpc": "2.0", "id": 3, "method": "tools/list",
                     "params": {"_meta": dict(MODERN_META, **{
                         "io.modelcontextprotocol/protocolVersion": "2099-01-01"})}})
    assert bad["error"]["code"] == -32022
    assert bad["error"]["data"]["requested"] == "2099-01-01"
    # Without a version in _meta and without initialize, a request is refused, not ignored.
    early = peer.call({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})
    assert early["error"]["code"] == -32600


def test_tools_list_pages_with_cursors(skills, home):
    p = subprocess.Popen([CLI, *server_args(skills, home, "--page-size", "2")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peer = StdioPeer.__new__(StdioPeer)
    peer.proc = p
    peer.call(INIT)
    names, cursor, n = [], None, 10
    while True:
        params = {"cursor": cursor} if cursor else {}
        result = peer.call({"jsonrpc": "2.0", "id": n, "method": "tools/list",
                            "params": params})["result"]
        n += 1
        assert len(result["tools"]) <= 2
        names += [t["name"] for t in result["tools"]]
        cursor = result.get("nextCursor")
        if not cursor:
            break
    assert len(names) == len(set(names)) and "run_skill" in names and "calculator" in names
    bad = peer.call({"jsonrpc": "2.0", "id": 99, "method": "tools/list",
                     "params": {"cursor": "garbage"}})
    assert bad["error"]["code"] == -32602
    p.kill()


def test_skills_extension_lists_files_with_digests(peer, skills):
    peer.call(INIT)
    listed = peer.call({"jsonrpc": "2.0", "id": 2, "method": "skills/list", "params": {}})
    entries = {e["frontmatter"]["name"]: e for e in listed["result"]["skills"]}
    calc = entries["calculator"]
    assert calc["uri"] == "skill://calculator/SKILL.md"
    files = {r["uri"]: r for r in calc["resources"]}
    skill_md = (skills / "calculator" / "SKILL.md").read_bytes()
    entry = files["skill://calculator/SKILL.md"]
    assert entry["digest"] == "sha256:" + hashlib.sha256(skill_md).hexdigest()
    assert entry["size"] == len(skill_md)
    got = peer.call({"jsonrpc": "2.0", "id": 3, "method": "skills/get",
                     "params": {"uri": "skill://calculator/SKILL.md"}})["result"]["skill"]
    assert got == calc
    read = peer.call({"jsonrpc": "2.0", "id": 4, "method": "resources/read",
                      "params": {"uri": "skill://calculator/SKILL.md"}})["result"]
    assert read["contents"][0]["text"].encode() == skill_md
    missing = peer.call({"jsonrpc": "2.0", "id": 5, "method": "skills/get",
                         "params": {"uri": "skill://nope/SKILL.md"}})
    assert missing["error"]["code"] == -32602
    escape = peer.call({"jsonrpc": "2.0", "id": 6, "method": "resources/read",
                        "params": {"uri": "skill://calculator/../../../etc/passwd"}})
    assert escape["error"]["code"] == -32602


def test_hostile_stdio_client(peer):
    peer.call(INIT)
    peer.send_raw(b"{this is not json\n")
    assert peer.receive()["error"]["code"] == -32700
    peer.send_raw(b"[1, 2, 3]\n")
    assert peer.receive()["error"]["code"] == -32600
    peer.send_raw(b'{"jsonrpc": "1.0", "id": 7, "method": "ping"}\n')
    assert peer.receive()["error"]["code"] == -32600
    # A 5 MiB line: refused as a whole, and the stream stays in step.
    peer.send_raw(b'{"jsonrpc":"2.0","id":8,"method":"ping","params":{"x":"' +
                  b"a" * (5 << 20) + b'"}}\n')
    assert peer.receive()["error"]["code"] == -32700
    assert peer.call({"jsonrpc": "2.0", "id": 9, "method": "no/such"})["error"]["code"] == -32601
    unknown = peer.call({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                         "params": {"name": "no_such_tool", "arguments": {}}})
    assert unknown["error"]["code"] == -32602
    escape = peer.call({"jsonrpc": "2.0", "id": 11, "method": "tools/call",
                        "params": {"name": "read_skill_file",
                                   "arguments": {"skill": "calculator",
                                                 "path": "../../etc/passwd"}}})["result"]
    assert escape["isError"] is True and "root:" not in json.dumps(escape)
    absolute = peer.call({"jsonrpc": "2.0", "id": 12, "method": "tools/call",
                          "params": {"name": "read_skill_file",
                                     "arguments": {"skill": "calculator",
                                                   "path": "/etc/passwd"}}})["result"]
    assert absolute["isError"] is True and "root:" not in json.dumps(absolute)
    # Values of the wrong type inside valid JSON-RPC.
    typed = peer.call({"jsonrpc": "2.0", "id": 14, "method": "tools/list",
                       "params": {"_meta": dict(MODERN_META, **{
                           "io.modelcontextprotocol/clientInfo": {"name": 5}})}})
    assert typed["error"]["code"] == -32602
    args = peer.call({"jsonrpc": "2.0", "id": 15, "method": "tools/call",
                      "params": {"name": "list_skills", "arguments": {"limit": "ten"}}})
    assert args["result"]["isError"] is True
    assert peer.call(ping(13))["result"] == {}


def test_list_changed_when_a_skill_appears(peer, skills):
    import select
    import time
    from conftest import write_skill
    peer.call(INIT)
    peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    before = [t["name"] for t in peer.call({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
              ["result"]["tools"]]
    assert "fresh" not in before
    write_skill(skills, "fresh", '[entry]\nargv = ["true"]\n')
    seen, deadline = [], time.time() + 15
    while time.time() < deadline and "notifications/tools/list_changed" not in seen:
        if select.select([peer.proc.stdout], [], [], 1)[0]:
            seen.append(peer.receive().get("method"))
    assert "notifications/tools/list_changed" in seen
    after = [t["name"] for t in peer.call({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
             ["result"]["tools"]]
    assert "fresh" in after


def test_forged_request_state_approves_nothing(skills, home):
    (home / "policy.toml").write_text(
        '[[rule]]\nname = "ask-calculator"\neffect = "ask"\nskills = ["calculator"]\n')
    peer = StdioPeer(skills, home, "--elicit-approvals")
    meta = dict(MODERN_META, **{"io.modelcontextprotocol/clientCapabilities":
                                {"elicitation": {"form": {}}}})
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"_meta": meta, "name": "run_skill",
                       "arguments": {"skill": "calculator", "input": {"expression": "1+1"}}}}
    first = peer.call(call)["result"]
    assert first["resultType"] == "input_required"
    assert "approval" in first["inputRequests"]
    state = first["requestState"]
    approve = {"approval": {"action": "accept", "content": {"decision": "approve_once"}}}
    payload, mac = state.split(".")
    for forged in ["deadbeef.00", payload + "." + "0" * len(mac), "not a state"]:
        retry = dict(call, id=2, params=dict(call["params"], requestState=forged,
                                             inputResponses=approve))
        again = peer.call(retry)["result"]
        assert again["resultType"] == "input_required", again  # Asked again, not approved.
    good = dict(call, id=3, params=dict(call["params"], requestState=state,
                                        inputResponses=approve))
    done = peer.call(good)["result"]
    assert done["resultType"] == "complete" and done["structuredContent"]["output"]["result"] == 2
    assert (home / "mcp-state.key").stat().st_mode & 0o777 == 0o600
    peer.proc.kill()


# HTTP ------------------------------------------------------------------------------------


def post(server, message, session=None, headers=None, **kwargs):
    h = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if session:
        h["Mcp-Session-Id"] = session
    h.update(headers or {})
    return httpx.post(server.url, content=json.dumps(message) if not isinstance(message, bytes)
                      else message, headers=h, timeout=30, **kwargs)


def open_session(server, headers=None):
    reply = post(server, INIT, headers=headers)
    assert reply.status_code == 200, reply.text
    session = reply.headers["Mcp-Session-Id"]
    assert post(server, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                session, headers=headers).status_code == 202
    return session


def test_http_sessions_versions_and_notifications(http_server):
    server = http_server()
    session = open_session(server)
    assert post(server, ping(2), session).json()["result"] == {}
    # Unknown and missing sessions.
    assert post(server, ping(3), "not-a-session").status_code == 404
    assert post(server, ping(4)).status_code == 400
    # A version header the server does not speak.
    assert post(server, ping(5), session,
                {"MCP-Protocol-Version": "1999-01-01"}).status_code == 400
    # Stateless: the header must match _meta.
    modern = {"jsonrpc": "2.0", "id": 6, "method": "tools/list", "params": {"_meta": MODERN_META}}
    ok = post(server, modern, headers={"MCP-Protocol-Version": "2026-07-28"})
    assert ok.status_code == 200 and ok.json()["result"]["resultType"] == "complete"
    mismatch = post(server, modern, headers={"MCP-Protocol-Version": "2025-11-25"})
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == -32020
    # Ending the session.
    h = {"Mcp-Session-Id": session}
    assert httpx.delete(server.url, headers=h).status_code == 200
    assert post(server, ping(7), session).status_code == 404


def test_hostile_http_client(http_server):
    server = http_server()
    session = open_session(server)
    assert post(server, b"{not json", session).json()["error"]["code"] == -32700
    assert post(server, {"jsonrpc": "2.0", "id": 1, "method": "no/such"},
                session).json()["error"]["code"] == -32601
    big = b'{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"' + b"a" * (5 << 20) + b'"}}'
    assert post(server, big, session).status_code == 413
    # DNS rebinding: a foreign Host or Origin is refused.
    assert post(server, ping(3), session, {"Origin": "http://evil.example"}).status_code == 403
    assert post(server, ping(4), session, {"Host": "evil.example:80"}).status_code == 403
    assert post(server, ping(5), session,
                {"Origin": f"http://localhost:{server.port}"}).status_code == 200
    unknown = post(server, {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                            "params": {"name": "nope", "arguments": {}}}, session,
                   {"Accept": "application/json"})
    assert unknown.json()["error"]["code"] == -32602
    assert post(server, ping(7), session).json()["result"] == {}
    assert server.alive()


def test_http_token_required_and_checked(http_server, home, monkeypatch):
    token = "t0ken-for-the-test-0123456789"
    server = http_server("--token-ref", "env:MCP_TEST_TOKEN", env={"MCP_TEST_TOKEN": token})
    assert post(server, INIT).status_code == 401
    assert post(server, INIT, headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    good = {"Authorization": f"Bearer {token}"}
    session = open_session(server, headers=good)
    assert post(server, ping(2), session, good).json()["result"] == {}


def test_non_loopback_listen_makes_a_token(http_server, home):
    server = http_server(listen_host="0.0.0.0")
    token_file = home / "mcp-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text().strip()
    assert token in server.log.read_text()  # Shown once, at creation.
    assert post(server, INIT).status_code == 401
    assert post(server, INIT, headers={"Authorization": f"Bearer {token}"}).status_code == 200
