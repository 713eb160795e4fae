// Tries one thing the sandbox may allow or refuse, and reports what happened.
import { fetch, listDir, readText } from "skillrt";

function attempt(action) {
  try {
    return { ok: true, value: action() };
  } catch (e) {
    return { ok: false, error: `${e && e.name}: ${e && e.message}` };
  }
}

function recurse(n) {
  return n === 0 ? 0 : 1 + recurse(n - 1);
}

export function run(input) {
  switch (input.action) {
    case "read":
      return attempt(() => readText(input.path).slice(0, 200));
    case "list":
      return attempt(() => listDir(input.path));
    case "env":
      return attempt(() => {
        const value = globalThis.process?.env?.[input.name];
        if (value === undefined) throw new Error(`${input.name} is not set`);
        return value;
      });
    case "socket":
      return attempt(() => {
        if (typeof globalThis.WebSocket === "function") return "WebSocket exists";
        if (typeof globalThis.fetch !== "function") throw new Error("no network API");
        return "global fetch exists";
      });
    case "fetch":
      return attempt(() => fetch(input.url).text());
    case "loop": {
      let n = 0;
      while (input.forever || n < 100000) n++;
      return { ok: true, value: n };
    }
    case "memory": {
      const chunks = [];
      for (let i = 0; i < input.mb; i++) chunks.push(new Uint8Array(1 << 20).fill(1));
      return { ok: true, value: chunks.length };
    }
    case "recurse":
      return { ok: true, value: recurse(input.depth) };
    case "print": {
      const line = "x".repeat(1023);
      for (let i = 0; i < input.kb; i++) console.log(line);
      return { ok: true, value: input.kb };
    }
    default:
      throw new Error(`unknown action ${input.action}`);
  }
}
