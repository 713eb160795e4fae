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
