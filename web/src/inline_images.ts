// Images a message carries for its own HTML (RFC 2392 "cid:" URLs, RFC 2387 multipart/related):
// fetched from the JMAP blob download with the session cookie and handed to the sanitiser as
// data: URLs, so that the reading pane shows them without loosening anything: the frame stays
// sandboxed without same-origin, its CSP keeps `img-src data:` (it could not fetch the download
// URL itself: no cookie and Cross-Origin-Resource-Policy from its opaque origin), and no other
// host is asked. Only PNG, JPEG, GIF and WebP parts; the bytes are posted with the HTML to
// /webmail/frame, so their total is bounded (INLINE_BUDGET) to keep that form under the HTTP
// server's body limit ([http] max_body_size, 1 MiB by default): images beyond it stay in the
// attachment list only.
import { downloadUrl, type Attachment } from './attachments';
import type { Jmap } from './jmap';
import { cidOfUrl } from './sanitize';

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const INLINE_BUDGET = 384 * 1024; // bytes of images in all (base64 and form encoding add ~45 %)

export interface InlinePart extends Attachment {
  cid?: string | null;
}

// The Content-ID as a cid: URL names it: without angle brackets (RFC 2392 2).
function bareCid(cid: string): string {
  const c = cid.trim();
  return c.startsWith('<') && c.endsWith('>') ? c.slice(1, -1) : c;
}

function dataUrl(type: string, bytes: ArrayBuffer): string {
  const b = new Uint8Array(bytes);
  let bin = '';
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return `data:${type};base64,${btoa(bin)}`;
}

// Content id -> data: URL of each image part that `html` refers to by cid:, within the budget
// (smallest first). Parts that cannot be fetched are left out (the HTML shows no image there).
export async function inlineImages(jmap: Jmap, parts: InlinePart[], html: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!/cid:/i.test(html)) return out;
  const wanted = new Set<string>();
  for (const m of html.matchAll(/cid:([^"'\s>)]+)/gi)) {
    const id = cidOfUrl(`cid:${m[1]}`);
    if (id) wanted.add(id);
  }
  const candidates = parts
    .filter((p) => p.cid && p.blobId && IMAGE_TYPES.has(p.type.toLowerCase()) && wanted.has(bareCid(p.cid)))
    .sort((a, b) => a.size - b.size);
  let budget = INLINE_BUDGET;
  for (const p of candidates) {
    if (p.size > budget) break;
    try {
      const r = await fetch(downloadUrl(jmap.account.accountId, p, true), { credentials: 'same-origin' });
      if (!r.ok) continue;
      const bytes = await r.arrayBuffer();
      if (bytes.byteLength > budget) continue;
      budget -= bytes.byteLength;
      out.set(bareCid(p.cid!), dataUrl(p.type.toLowerCase(), bytes));
    } catch {
      // a network error: that image is not shown inline
    }
  }
  return out;
}
