// A deliberately small, safe Markdown subset for bot messages, built as DOM nodes.
// Nothing from a message is ever parsed as HTML: every character of text ends up in a Text node,
// and a link is created only for http(s), mailto, tel and sms URLs. Supported: paragraphs,
// line breaks, **bold**/__bold__, *italic*, `code`, [text](url), bare https:// URLs,
// "- " / "* " / "• " bullet lists and "1. " numbered lists.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:', 'tel:', 'sms:']);
const INLINE =
  /(\*\*|__)(\S(?:[^\n]*?\S)?)\1|\*([^\s*](?:[^*\n]*?\S)?)\*|`([^`\n]+)`|\[([^\]\n]+)\]\(\s*([^)\s]+)\s*\)|((?:https?:\/\/|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]])/g;

export function safeUrl(raw) {
  const text = String(raw || '').trim();
  // Reject control characters and whitespace tricks ("java\tscript:") before parsing.
  if (!text || /[\u0000-\u001f\u007f\s]/.test(text)) return null;
  let url;
  try {
    url = new URL(/^www\./i.test(text) ? `https://${text}` : text);
  } catch {
    return null; // relative or malformed: never guess
  }
  return SAFE_PROTOCOLS.has(url.protocol) ? url.href : null;
}

export function makeLink(doc, href, label, newTabHint) {
  const a = doc.createElement('a');
  a.href = href;
  a.textContent = label;
  if (/^https?:/i.test(href)) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    if (newTabHint) {
      const hint = doc.createElement('span');
      hint.className = 'sr-only';
      hint.textContent = ` ${newTabHint}`;
      a.append(hint);
    }
  }
  return a;
}

function inline(doc, text, parent, opts, depth = 0) {
  let last = 0;
  const re = new RegExp(INLINE.source, 'g');
  let m;
  while ((m = re.exec(text))) {
    if (m.index > last) parent.append(doc.createTextNode(text.slice(last, m.index)));
    last = re.lastIndex;
    if (m[2] !== undefined) {
      const el = doc.createElement('strong');
      if (depth < 3) inline(doc, m[2], el, opts, depth + 1);
      else el.textContent = m[2];
      parent.append(el);
    } else if (m[3] !== undefined) {
      const el = doc.createElement('em');
      if (depth < 3) inline(doc, m[3], el, opts, depth + 1);
      else el.textContent = m[3];
      parent.append(el);
    } else if (m[4] !== undefined) {
      const el = doc.createElement('code');
      el.textContent = m[4];
      parent.append(el);
    } else if (m[5] !== undefined) {
      const href = safeUrl(m[6]);
      // An unsafe target (javascript:, data:, relative...) keeps only its label, as plain text.
      parent.append(href ? makeLink(doc, href, m[5], opts.newTabHint) : doc.createTextNode(m[5]));
    } else if (m[7] !== undefined) {
      const href = safeUrl(m[7]);
      parent.append(href ? makeLink(doc, href, m[7], opts.newTabHint) : doc.createTextNode(m[7]));
    }
  }
  if (last < text.length) parent.append(doc.createTextNode(text.slice(last)));
}

const BULLET = /^\s*[-*•]\s+(.*)$/;
const NUMBERED = /^\s*(\d{1,3})[.)]\s+(.*)$/;

/** Render `text` into a DocumentFragment of <p>, <ul>, <ol> built node by node. */
export function renderMarkdown(doc, text, opts = {}) {
  const frag = doc.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let para = null;
  let list = null;
  const endPara = () => {
    para = null;
  };
  const endList = () => {
    list = null;
  };
  for (const line of lines) {
    if (!line.trim()) {
      endPara();
      endList();
      continue;
    }
    const b = BULLET.exec(line);
    const n = b ? null : NUMBERED.exec(line);
    if (b || n) {
      endPara();
      const tag = b ? 'ul' : 'ol';
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = doc.createElement(tag);
        if (n && n[1] !== '1') list.start = Number(n[1]);
        frag.append(list);
      }
      const li = doc.createElement('li');
      inline(doc, b ? b[1] : n[2], li, opts);
      list.append(li);
      continue;
    }
    endList();
    if (para) para.append(doc.createElement('br'));
    else {
      para = doc.createElement('p');
      frag.append(para);
    }
    inline(doc, line.trim(), para, opts);
  }
  return frag;
}
