// Text statistics of a document fetched from the skill's declared host, or given as text:
// lines, words, characters, sentences, reading time and the most frequent words. Runs inside a
// WebAssembly component; `fetch` is skillrt's, through the egress allowlist.
import { fetch } from "skillrt";

const STOP = new Set(["the", "a", "an", "and", "or", "of", "to", "in", "is", "it", "on", "for",
  "with", "as", "at", "by", "be", "this", "that", "are", "was", "from"]);

export function stats(text, top) {
  // Letters, digits and apostrophes (Latin-1 letters included); the engine has no Unicode
  // property escapes.
  const words = text.toLowerCase().match(/[a-z0-9\u00c0-\u00ff']+/g) ?? [];
  const counts = new Map();
  for (const word of words) {
    if (!STOP.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const topWords = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, top)
    .map(([word, count]) => ({ word, count }));
  return {
    lines: text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
    words: words.length,
    characters: [...text].length,
    sentences: (text.match(/[.!?]+(\s|$)/g) ?? []).length,
    reading_seconds: Math.round((words.length / 230) * 60),
    top_words: topWords,
  };
}

export function run(input) {
  const top = input.top ?? 5;
  if (input.text !== undefined) return { source: "input", ...stats(input.text, top) };
  if (!input.url) throw new Error("give url or text");
  const response = fetch(input.url);
  if (!response.ok) throw new Error(`${input.url}: HTTP ${response.status}`);
  return {
    source: input.url,
    status: response.status,
    content_type: response.headers.get("content-type") ?? null,
    ...stats(response.text(), top),
  };
}
