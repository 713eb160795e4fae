"""Tries one thing the sandbox may allow or refuse, and reports what happened."""
import os
import socket
import sys

from skillrt_http import fetch


def attempt(action):
    try:
        return {"ok": True, "value": action()}
    except Exception as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(200)


def connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect((host, port))
    return "connected"


def recurse(n):
    return 0 if n == 0 else 1 + recurse(n - 1)


def run(input):
    action = input["action"]
    if action == "read":
        return attempt(lambda: read(input["path"]))
    if action == "env":
        return attempt(lambda: os.environ[input["name"]])
    if action == "socket":
        return attempt(lambda: connect(input["host"], input["port"]))
    if action == "fetch":
        return attempt(lambda: fetch(input["url"]).text)
    if action == "loop":
        n = 0
        while input.get("forever") or n < 100_000:
            n += 1
        return {"ok": True, "value": n}
    if action == "memory":
        chunks = []
        for _ in range(input["mb"]):
            chunks.append(bytearray(1 << 20))
        return {"ok": True, "value": len(chunks)}
    if action == "recurse":
        sys.setrecursionlimit(10_000_000)
        return {"ok": True, "value": recurse(input["depth"])}
    if action == "print":
        line = "x" * 1023
        for _ in range(input["kb"]):
            print(line)
        return {"ok": True, "value": input["kb"]}
    raise ValueError(f"unknown action {action!r}")
