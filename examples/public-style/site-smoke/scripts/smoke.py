#!/usr/bin/env python3
"""Serves a directory on 127.0.0.1 with http.server and checks every page linked from /."""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser


class Links(HTMLParser):
    """Collects href and src attribute values."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, server, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"smoke: the server exited with status {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"smoke: nothing listens on 127.0.0.1:{port} after {seconds:.0f} s")


def fetch(url):
    """(status, content type, body) of a GET; no proxy, whatever the environment says."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get_content_type(), b""


def crawl(base, start):
    queue, seen, pages = [start], {start}, []
    while queue:
        path = queue.pop(0)
        status, kind, body = fetch(urllib.parse.urljoin(base, path))
        ok = status == 200 and (not path.endswith((".html", "/")) or kind == "text/html")
        pages.append({"path": path, "status": status, "type": kind, "ok": ok})
        if ok and kind == "text/html":
            parser = Links()
            parser.feed(body.decode("utf-8", "replace"))
            for link in parser.found:
                target = urllib.parse.urlsplit(urllib.parse.urljoin(base + path.lstrip("/"), link))
                if target.netloc != urllib.parse.urlsplit(base).netloc:
                    continue  # Another site: not ours to test.
                if target.path not in seen:
                    seen.add(target.path)
                    queue.append(target.path)
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--start", default="/")
    parser.add_argument("--report", default="smoke-report.json")
    args = parser.parse_args()
    if not os.path.isdir(args.directory):
        sys.exit(f"smoke: {args.directory}: not a directory")

    port = args.port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
         "--directory", args.directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, server)
        base = f"http://127.0.0.1:{port}/"
        pages = crawl(base, args.start)
    finally:
        server.terminate()
        server.wait(timeout=10)

    failed = [p for p in pages if not p["ok"]]
    for page in pages:
        print(f"{'ok  ' if page['ok'] else 'FAIL'} {page['status']} {page['path']}")
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump({"base": base, "checked": len(pages), "failed": len(failed), "pages": pages},
                  f, indent=1)
    print(f"{len(pages)} checked, {len(failed)} failed; report in {args.report}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
