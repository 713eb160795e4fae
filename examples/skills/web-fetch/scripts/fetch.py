"""Fetch one URL through the HTTP proxy named in the environment and describe the answer.

Input (stdin): {"url": "http://...", "max_bytes": N}. Output (stdout): one JSON object.
"""

import hashlib
import json
import sys
import urllib.error
import urllib.request

DEFAULT_MAX_BYTES = 1 << 20
TEXT_CHARS = 2000


def fail(message):
    print(json.dumps({"error": message}))
    print("web-fetch: " + message, file=sys.stderr)
    sys.exit(2)


def is_text(content_type):
    kind = content_type.split(";")[0].strip().lower()
    return kind.startswith("text/") or kind.endswith("json") or kind.endswith("xml")


def describe(url, status, content_type, body, truncated):
    out = {
        "ok": 200 <= status < 300,
        "url": url,
        "status": status,
        "content_type": content_type,
        "bytes": len(body),
        "truncated": truncated,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    if is_text(content_type):
        try:
            out["text"] = body.decode("utf-8")[:TEXT_CHARS]
        except UnicodeDecodeError:
            pass
    return out


def main():
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as e:
        fail("input is not JSON: %s" % e)
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        fail("input must be an object with a string 'url'")
    url = request["url"]
    max_bytes = request.get("max_bytes", DEFAULT_MAX_BYTES)
    if not url.startswith(("http://", "https://")):
        fail("url must start with http:// or https://")
    if not isinstance(max_bytes, int) or max_bytes < 1:
        fail("max_bytes must be a positive integer")

    # urllib takes the proxy from HTTP_PROXY/HTTPS_PROXY, which skillrt sets to its egress
    # proxy; there is no route to anything else.
    opener = urllib.request.build_opener()
    try:
        with opener.open(url, timeout=15) as response:
            body = response.read(max_bytes + 1)
            truncated = len(body) > max_bytes
            result = describe(url, response.status, response.headers.get("Content-Type", ""),
                              body[:max_bytes], truncated)
    except urllib.error.HTTPError as e:
        # The proxy's refusals arrive as HTTP errors whose body says why.
        reason = e.read(TEXT_CHARS).decode("utf-8", errors="replace").strip()
        result = {"ok": False, "url": url, "status": e.code, "error": reason or str(e)}
    except urllib.error.URLError as e:
        # CONNECT refusals (https://) surface here, with the proxy's status in the message.
        result = {"ok": False, "url": url, "status": None, "error": str(e.reason)}
    except OSError as e:
        result = {"ok": False, "url": url, "status": None, "error": str(e)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
