// SKILL.md and a model's text as HTML that is safe to insert: marked renders it, DOMPurify
// removes every script, handler, style and frame, and images may only be this page's own
// (data: URLs); a remote image would tell another host that the page was opened. Links open
// without a Referer.
import DOMPurify from 'dompurify';
import { Marked, marked } from 'marked';

// The hook only edits attributes: replacing a node while DOMPurify walks the tree would make
// it skip the nodes after it.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer');
    node.setAttribute('target', '_blank');
  }
});

// The YAML front matter is shown by the page from the API's fields, not as text.
function withoutFrontMatter(text) {
  const match = /^---\r?\n[\s\S]*?\r?\n---\r?\n?/.exec(text);
  return match ? text.slice(match[0].length) : text;
}

// For text nobody vetted (a model's words, a user's task): HTML written in it is shown as the
// text it is, not parsed, so `<img onerror=...>` reads as those characters; Markdown
// (emphasis, lists, code) still renders. DOMPurify then cleans the result as for SKILL.md.
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const literalHtml = new Marked({ gfm: true, breaks: true, renderer: { html: ({ text }) => escapeHtml(text) } });

function sanitise(html) {
  const fragment = DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
    FORBID_ATTR: ['style'],
    ALLOW_DATA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const img of fragment.querySelectorAll('img')) {
    const src = img.getAttribute('src') || '';
    if (!src.startsWith('data:image/')) img.replaceWith(document.createTextNode(`[image: ${img.getAttribute('alt') || src}]`));
  }
  return fragment;
}

// A DocumentFragment of untrusted Markdown with its HTML shown as text (literalHtml above).
export function renderUntrusted(text) {
  return sanitise(literalHtml.parse(text, { async: false }));
}

// A DocumentFragment to insert: sanitised, then images that are not data: URLs replaced by
// their alt text (after sanitising, so that the sanitiser's walk is not disturbed).
export function renderMarkdown(text) {
  return sanitise(marked.parse(withoutFrontMatter(text), { async: false, gfm: true }));
}
