// Outgoing HTTP for JavaScript skills built into WebAssembly components.
//
// Every request goes through skillrt's host interface (skillrt:skill/http in wit/skillrt.wit):
// the host sends it through the egress proxy, which lets through only the hosts the skill's
// manifest allows ([capabilities.network] allow). There are no sockets in the sandbox.
//
//   import { fetch } from "skillrt";
//   const response = fetch("https://api.example.com/items");
//   if (!response.ok) throw new Error(`status ${response.status}`);
//   const items = response.json();
//
// Unlike the web's fetch, this one is synchronous: it returns the Response itself (a skill's
// run is synchronous), and text() and json() return the body at once. Redirects are not
// followed.
import { send } from "skillrt:skill/http@0.1.0";

/** A request that produced no response; `kind` is the host's reason ("denied", ...). */
export class HTTPError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = "HTTPError";
    this.kind = kind;
  }
}

/** A complete response: status, ok, headers (a Map of lower-case names), text(), json(). */
export class Response {
  constructor(url, status, headers, body) {
    this.url = url;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.headers = headers;
    this._body = body;
  }
  text() { return this._body; }
  json() { return JSON.parse(this._body); }
}

/**
 * Sends one request: init.method, init.headers (an object), init.body (a string; an object
 * is sent as JSON). Returns a Response, or throws HTTPError when there is none.
 */
export function fetch(url, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  let body = init.body ?? "";
  if (typeof body !== "string") {
    body = JSON.stringify(body);
    if (!Object.keys(headers).some((n) => n.toLowerCase() === "content-type")) {
      headers["Content-Type"] = "application/json";
    }
  }
  const lines = Object.entries(headers).map(([n, v]) => `${n}: ${v}`).join("\n");
  let response;
  try {
    response = send({ method: (init.method ?? "GET").toUpperCase(), url: String(url),
                      headers: lines, body });
  } catch (e) {
    const error = e.payload ?? e;
    throw new HTTPError(error.kind ?? "failed", error.message ?? String(e));
  }
  const merged = new Map();
  for (const [name, value] of response.headers) {
    const key = name.toLowerCase();
    merged.set(key, merged.has(key) ? `${merged.get(key)}, ${value}` : value);
  }
  return new Response(String(url), response.status, merged, response.body);
}

// --- Files ------------------------------------------------------------------------------
//
// The directories the host preopened for the call, and nothing else: /skill (the skill,
// read-only), /tmp (the call's scratch) and the manifest's declared paths at their own
// paths. Wasmtime resolves every path inside its directory and refuses `..` and symbolic
// links that lead out, as for any WebAssembly skill.
//
//   import { readText, listDir } from "skillrt";
//   const csv = readText("/srv/datasets/orders.csv");
//   const names = listDir("/srv/datasets");
import { getDirectories } from "wasi:filesystem/preopens@0.2.12";

/** A file operation the sandbox or the file system refused; `code` is WASI's error code. */
export class FileError extends Error {
  constructor(code, path) {
    super(`${code}: ${path}`);
    this.name = "FileError";
    this.code = code;
  }
}

let preopens = null;

// The preopened directory holding the absolute `path`, and the path relative to it.
function locate(path) {
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new FileError("invalid", String(path));
  }
  preopens ??= getDirectories().map(([dir, at]) => [dir, at.replace(/\/+$/, "")]);
  let best = null;
  for (const [dir, at] of preopens) {
    if ((path === at || path.startsWith(at + "/")) && (!best || at.length > best[1].length)) {
      best = [dir, at];
    }
  }
  if (!best) throw new FileError("no-entry", path);
  return [best[0], path.slice(best[1].length).replace(/^\/+/, "") || "."];
}

function wasi(path, action) {
  try {
    return action();
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(typeof e?.payload === "string" ? e.payload : String(e?.payload ?? e), path);
  }
}

/** The bytes of the file at the absolute `path`, as a Uint8Array. */
export function readBytes(path) {
  const [dir, relative] = locate(path);
  return wasi(path, () => {
    const file = dir.openAt({ symlinkFollow: true }, relative, {}, { read: true });
    const size = Number(file.stat().size);
    const parts = [];
    let offset = 0;
    for (;;) {
      const [chunk, end] = file.read(BigInt(Math.max(size - offset, 65536)), BigInt(offset));
      parts.push(chunk);
      offset += chunk.length;
      if (end || chunk.length === 0) break;
    }
    const out = new Uint8Array(offset);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  });
}

/** The text (UTF-8) of the file at the absolute `path`. */
export function readText(path) {
  return new TextDecoder().decode(readBytes(path));
}

/** The names in the directory at the absolute `path`, sorted. */
export function listDir(path) {
  const [dir, relative] = locate(path);
  return wasi(path, () => {
    const target = relative === "." ? dir
        : dir.openAt({ symlinkFollow: true }, relative, { directory: true }, { read: true });
    const stream = target.readDirectory();
    const names = [];
    for (let entry = stream.readDirectoryEntry(); entry; entry = stream.readDirectoryEntry()) {
      names.push(entry.name);
    }
    return names.sort();
  });
}
