// The service's API (docs/service.md) as the studio calls it. The token lives in this module's
// memory only: never in a URL, a cookie or storage, so a reload signs out and no other page
// can send it. Every request names it in the Authorization header, so no request can be
// forged from another site (there is no ambient credential to ride on).

let token = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setToken(value) {
  token = value;
}

export function signedIn() {
  return token !== null;
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${token}`, ...extra };
}

// GET/POST `/v1${path}`; resolves to the JSON body, rejects with ApiError.
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, headers: headers(), cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/v1${path}`, init);
  const text = await res.text();
  let data = text;
  try {
    data = JSON.parse(text);
  } catch {
    // Not JSON (SKILL.md): the text itself.
  }
  if (!res.ok) {
    const error = data && data.error ? data.error : { code: 'http', message: res.statusText };
    throw new ApiError(res.status, error.code, error.message);
  }
  return data;
}

export const q = (params) => {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) search.set(k, v);
  const s = search.toString();
  return s ? `?${s}` : '';
};

// Parses one Server-Sent Events block (WHATWG HTML, "Server-sent events", 9.2.6).
function parseBlock(block) {
  const event = { id: null, type: 'message', data: [] };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') event.id = value;
    else if (field === 'event') event.type = value;
    else if (field === 'data') event.data.push(value);
  }
  return event.data.length ? event : null;
}

// Follows the events of `path` (a run's, a job's or an agent run's /events) with fetch, so the
// token goes in the Authorization header (EventSource cannot send one). Calls onEvent(json)
// for each, in order; reconnects with Last-Event-ID if the stream breaks before the last
// event (isEnd: `finished` by default). Resolves when the run ended or `signal` aborts.
const runEnded = (event) => event.type === 'finished';
export async function followEvents(path, onEvent, signal, isEnd = runEnded) {
  let last = null;
  for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
    const extra = { Accept: 'text/event-stream' };
    if (last !== null) extra['Last-Event-ID'] = last;
    let res;
    try {
      res = await fetch(`/v1${path}`, { headers: headers(extra), signal, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
      if (signal.aborted) return;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      throw new ApiError(res.status, body.error?.code, body.error?.message || res.statusText);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const parsed = parseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (!parsed) continue;
          if (parsed.id !== null) last = parsed.id;
          const event = JSON.parse(parsed.data.join('\n'));
          onEvent(event);
          if (isEnd(event)) return;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
  }
}
