// SKILL.md as HTML that is safe to insert: marked renders it, DOMPurify removes every script,
// handler, style and frame, and images may only be this page's own (data: URLs); a remote
// image would tell another host that the page was opened. Links open without a Referer.
import DOMPurify from 'dompurify';
import { marked } from 'marked';

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'IMG') {
    const src = node.getAttribute('src') || '';
    if (!src.startsWith('data:image/')) {
      node.replaceWith(document.createTextNode(`[image: ${node.getAttribute('alt') || src}]`));
    }
  }
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

export function renderMarkdown(text) {
  const html = marked.parse(withoutFrontMatter(text), { async: false, gfm: true });
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
    ALLOW_DATA_ATTR: false,
  });
}
