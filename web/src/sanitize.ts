// The HTML of a message, cut down to an allow-list before the reading pane shows it (in a
// sandboxed iframe whose document has its own CSP: src/webmail/webmail.cpp, the second wall).
//
// Parsed by DOMParser, which builds an inert document (no script runs, nothing loads). Kept:
// the elements below with the attributes below; links only to http(s) and mailto; images only
// as data:image/* (a cid: URL of the message's own image part becomes one: inline_images.ts)
// or, when the user allowed it for this message, http(s); style attributes
// only with the listed properties and values without url(), expression(), escapes or
// comments. Everything else is removed: script, style sheets, event handlers, forms, frames,
// objects, base, meta, link, SVG and MathML (with their content).

const KEEP = new Set([
  'a', 'abbr', 'address', 'b', 'big', 'blockquote', 'br', 'caption', 'center', 'cite', 'code',
  'col', 'colgroup', 'dd', 'del', 'dfn', 'div', 'dl', 'dt', 'em', 'font', 'h1', 'h2', 'h3', 'h4',
  'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p', 'pre', 'q', 's', 'samp',
  'small', 'span', 'strike', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th',
  'thead', 'tr', 'tt', 'u', 'ul', 'wbr',
]);
// Removed with everything inside them.
const DROP = new Set([
  'script', 'style', 'link', 'meta', 'base', 'title', 'head', 'iframe', 'frame', 'frameset',
  'object', 'embed', 'applet', 'param', 'form', 'input', 'button', 'select', 'option',
  'textarea', 'svg', 'math', 'template', 'noscript', 'noembed', 'noframes', 'xmp', 'plaintext',
  'audio', 'video', 'source', 'track', 'canvas', 'portal', 'dialog', 'slot',
]);
const ATTRS = new Set([
  'align', 'alt', 'bgcolor', 'border', 'cellpadding', 'cellspacing', 'color', 'colspan', 'dir',
  'face', 'height', 'href', 'lang', 'rowspan', 'size', 'src', 'start', 'style', 'title', 'type',
  'valign', 'width',
]);
const CSS_PROPS = new Set([
  'color', 'background-color', 'font', 'font-family', 'font-size', 'font-style', 'font-weight',
  'text-align', 'text-decoration', 'text-indent', 'text-transform', 'line-height',
  'letter-spacing', 'white-space', 'vertical-align', 'margin', 'margin-top', 'margin-right',
  'margin-bottom', 'margin-left', 'padding', 'padding-top', 'padding-right', 'padding-bottom',
  'padding-left', 'border', 'border-top', 'border-right', 'border-bottom', 'border-left',
  'border-color', 'border-style', 'border-width', 'border-collapse', 'border-spacing',
  'border-radius', 'width', 'max-width', 'min-width', 'height', 'max-height', 'min-height',
  'display', 'list-style-type',
]);
const CSS_VALUE = /^[-#%.,()'"\w\s!/]*$/;
const DATA_IMAGE = /^data:image\/(png|gif|jpeg|webp);base64,[a-z0-9+/=\s]*$/i;

export interface Sanitized {
  html: string;
  remoteImages: number; // images left out (or kept, when allowed) that load from the network
}

// Control characters and whitespace browsers ignore inside a URL scheme ("java\tscript:").
function normalisedUrl(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
}

// A cid: URL's content id (RFC 2392 2: percent-encoded, no angle brackets), or null when it
// is none.
export function cidOfUrl(url: string): string | null {
  const u = url.trim();
  if (!/^cid:/i.test(u)) return null;
  try {
    return decodeURIComponent(u.slice(4));
  } catch {
    return null;
  }
}

function safeStyle(style: string): string {
  const out: string[] = [];
  for (const decl of style.split(';')) {
    const colon = decl.indexOf(':');
    if (colon < 0) continue;
    const prop = decl.slice(0, colon).trim().toLowerCase();
    const value = decl.slice(colon + 1).trim();
    const lower = value.toLowerCase();
    if (!CSS_PROPS.has(prop) || !CSS_VALUE.test(value)) continue;
    if (lower.includes('url') || lower.includes('expression') || lower.includes('javascript')) continue;
    if (prop === 'display' && !/^(block|inline|inline-block|none|table|table-cell|table-row)$/.test(lower)) continue;
    out.push(`${prop}: ${value}`);
  }
  return out.join('; ');
}

// `inline`: content id -> data: URL of the message's own images (inline_images.ts).
export function sanitizeHtml(source: string, allowRemoteImages: boolean, inline?: Map<string, string>): Sanitized {
  const doc = new DOMParser().parseFromString(source, 'text/html');
  const out = document.implementation.createHTMLDocument('');
  const root = out.createElement('div');
  let remoteImages = 0;

  const copy = (from: Node, to: Node): void => {
    for (const child of Array.from(from.childNodes)) {
      if (child.nodeType === Node.TEXT_NODE) {
        to.appendChild(out.createTextNode(child.textContent ?? ''));
        continue;
      }
      if (child.nodeType !== Node.ELEMENT_NODE) continue; // comments, processing instructions
      const el = child as Element;
      const name = el.localName.toLowerCase();
      if (el.namespaceURI !== 'http://www.w3.org/1999/xhtml' || DROP.has(name)) continue;
      if (!KEEP.has(name)) {
        copy(el, to); // unknown element: its text stays, the element goes
        continue;
      }
      const clean = out.createElement(name);
      for (const attr of Array.from(el.attributes)) {
        const an = attr.name.toLowerCase();
        if (!ATTRS.has(an)) continue;
        const value = attr.value;
        if (an === 'href') {
          const u = normalisedUrl(value);
          if (name !== 'a' || !/^(https?:|mailto:)/.test(u)) continue;
          clean.setAttribute('href', value.trim());
          clean.setAttribute('target', '_blank');
          clean.setAttribute('rel', 'noopener noreferrer');
          continue;
        }
        if (an === 'src') {
          if (name !== 'img') continue;
          const u = normalisedUrl(value);
          const cid = u.startsWith('cid:') ? cidOfUrl(value) : null;
          const own = cid !== null ? inline?.get(cid) : undefined;
          if (own && DATA_IMAGE.test(own)) {
            clean.setAttribute('src', own);
          } else if (DATA_IMAGE.test(value.trim())) {
            clean.setAttribute('src', value.trim());
          } else if (/^https?:/.test(u)) {
            remoteImages++;
            if (allowRemoteImages) clean.setAttribute('src', value.trim());
          }
          continue;
        }
        if (an === 'style') {
          const s = safeStyle(value);
          if (s) clean.setAttribute('style', s);
          continue;
        }
        if (/[<>"'`]|javascript|expression/i.test(value)) continue;
        clean.setAttribute(an, value);
      }
      if (name === 'img') clean.setAttribute('referrerpolicy', 'no-referrer');
      to.appendChild(clean);
      copy(el, clean);
    }
  };
  copy(doc.body ?? doc.documentElement, root);
  return { html: root.innerHTML, remoteImages };
}
