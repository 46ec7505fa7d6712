// The reading pane's attachment list: name (the server decodes RFC 2231/2047), type, size, a
// download link (JMAP blob download, RFC 8620 6.2: Content-Disposition attachment, sandboxed),
// and a preview for what can be shown without running anything from the message:
//   - PNG, JPEG, GIF, WebP: an <img> of the blob with &disposition=inline (the server answers
//     inline only when the bytes really are that image format);
//   - PDF: opened in a new tab by the browser's own viewer (it refuses to run in a sandboxed
//     frame; PDF scripts run in the viewer, never in our origin);
//   - text/* up to 4 MiB: fetched, its first 512 KiB shown as text (textContent), never parsed
//     as HTML;
//   - Office documents (.docx .xlsx .pptx .odt .ods .odp .doc .xls .ppt .rtf), when the server
//     says it converts them (session officePreview): converted to PDF on the server on demand
//     (GET /jmap/preview/..., 202 while converting: asked again after Retry-After), then an
//     "Open as PDF" link opens it in a new tab as a PDF attachment is; otherwise "Download only";
//   - anything else, SVG and HTML included: download only.
import { clear, h } from './dom';
import { formatSize, t } from './i18n';
import type { Jmap } from './jmap';

export interface Attachment {
  partId: string;
  blobId: string;
  name: string | null;
  type: string;
  charset: string | null;
  size: number;
}

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const TEXT_PREVIEW_MAX = 512 * 1024; // bytes of a text attachment shown; the rest is downloaded
const TEXT_FETCH_MAX = 4 << 20; // a larger text attachment is not fetched for a preview at all

const OFFICE_EXTENSIONS = new Set(['docx', 'xlsx', 'pptx', 'odt', 'ods', 'odp', 'doc', 'xls', 'ppt', 'rtf']);
const CONVERT_POLLS = 300; // at most this many 202 answers (each Retry-After, about a second)

type PreviewKind = 'image' | 'pdf' | 'text' | 'office' | null;

export function isOffice(name: string | null): boolean {
  const dot = name ? name.lastIndexOf('.') : -1;
  return dot >= 0 && OFFICE_EXTENSIONS.has(name!.slice(dot + 1).toLowerCase());
}

export function previewKind(type: string, name: string | null = null): PreviewKind {
  if (isOffice(name)) return 'office';
  const t0 = type.toLowerCase();
  if (IMAGE_TYPES.has(t0)) return 'image';
  if (t0 === 'application/pdf') return 'pdf';
  if (t0.startsWith('text/')) return 'text';
  return null;
}

export function downloadUrl(accountId: string, a: Attachment, inline = false): string {
  const name = a.name || 'attachment';
  let url = `/jmap/download/${encodeURIComponent(accountId)}/${encodeURIComponent(a.blobId)}/${encodeURIComponent(name)}`;
  url += `?type=${encodeURIComponent(a.type || 'application/octet-stream')}`;
  if (inline) url += '&disposition=inline';
  return url;
}

export function officePreviewUrl(accountId: string, a: Attachment): string {
  return `/jmap/preview/${encodeURIComponent(accountId)}/${encodeURIComponent(a.blobId)}/${encodeURIComponent(a.name || '')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Asks the server to convert until the PDF is ready (true) or a message of why not.
async function convertOffice(url: string, still: () => boolean): Promise<true | string> {
  for (let i = 0; i < CONVERT_POLLS && still(); i++) {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (r.status === 200) return true;
    if (r.status === 202) {
      const after = Number(r.headers.get('Retry-After')) || 1;
      await sleep(Math.min(Math.max(after, 1), 10) * 1000);
      continue;
    }
    if (r.status === 503 || r.status === 429) return t('convertBusy');
    if (r.status === 413) return t('convertTooLarge');
    if (r.status === 422) {
      const detail = ((await r.json().catch(() => ({}))) as { detail?: string }).detail ?? '';
      return t(detail.includes('too long') ? 'convertTimeout' : 'convertFailed');
    }
    return t('previewFailed');
  }
  return t('convertTimeout');
}

// Bytes in the part's charset (Big5, GBK ... as TextDecoder knows them), else UTF-8.
function decodeText(bytes: Uint8Array, charset: string | null): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export function attachmentList(jmap: Jmap, parts: Attachment[]): HTMLElement | null {
  const list = parts.filter((a) => a.blobId);
  if (!list.length) return null;
  const accountId = jmap.account.accountId;
  const preview = h('div', { id: 'attachment-preview', class: 'attachment-preview' });
  let shown: string | null = null;

  const show = async (a: Attachment, kind: PreviewKind): Promise<void> => {
    clear(preview);
    if (shown === a.partId) {
      shown = null; // a second click closes it
      return;
    }
    shown = a.partId;
    if (kind === 'image') {
      const img = h('img', { id: 'preview-image', alt: a.name ?? '', src: downloadUrl(accountId, a, true) });
      img.addEventListener('error', () => {
        if (shown === a.partId) preview.replaceChildren(h('p', { class: 'error' }, t('previewFailed')));
      });
      preview.append(img);
    } else if (kind === 'office') {
      const url = officePreviewUrl(accountId, a);
      preview.append(h('p', { id: 'preview-converting', class: 'muted' }, t('converting')));
      const done = await convertOffice(url, () => shown === a.partId);
      if (shown !== a.partId) return;
      preview.replaceChildren(done === true
        ? h('a', { id: 'office-open', class: 'open-link', href: url, target: '_blank', rel: 'noopener noreferrer' }, t('openPdf'))
        : h('p', { class: 'error', id: 'preview-error' }, done));
    } else if (kind === 'text') {
      preview.append(h('p', { class: 'muted' }, t('loading')));
      try {
        const bytes = await jmap.download(a.blobId);
        if (shown !== a.partId) return;
        const cut = bytes.length > TEXT_PREVIEW_MAX;
        const pre = h('pre', { id: 'preview-text', class: 'preview-text' });
        pre.textContent = decodeText(cut ? bytes.subarray(0, TEXT_PREVIEW_MAX) : bytes, a.charset);
        preview.replaceChildren(pre, cut ? h('p', { class: 'muted' }, t('previewCut')) : '');
      } catch {
        if (shown === a.partId) preview.replaceChildren(h('p', { class: 'error' }, t('previewFailed')));
      }
    }
  };

  const ul = h('ul', { id: 'attachment-list', class: 'attachment-list', 'aria-label': t('attachments') });
  for (const a of list) {
    const kind = previewKind(a.type, a.name);
    const name = a.name || t('unnamedAttachment');
    const actions: HTMLElement[] = [];
    if (kind === 'office' && !jmap.account.officePreview) {
      actions.push(h('span', { class: 'muted download-only' }, t('downloadOnly')));
    } else if (kind === 'image' || kind === 'office' || (kind === 'text' && a.size <= TEXT_FETCH_MAX)) {
      actions.push(h('button', { class: 'preview-button', type: 'button', onclick: () => void show(a, kind) }, t('preview')));
    } else if (kind === 'pdf') {
      actions.push(h('a', { class: 'open-link', href: downloadUrl(accountId, a, true), target: '_blank', rel: 'noopener noreferrer' }, t('open')));
    }
    actions.push(h('a', { class: 'download-link', href: downloadUrl(accountId, a), download: name, rel: 'noreferrer' }, t('download')));
    ul.append(h('li', { class: 'attachment-item', 'data-part': a.partId, 'data-type': a.type },
      h('span', { class: 'attachment-name' }, name),
      h('span', { class: 'attachment-type', title: a.type }, a.type),
      h('span', { class: 'attachment-size' }, formatSize(a.size)),
      ...actions));
  }
  return h('section', { class: 'attachments-box' }, h('h2', {}, t('attachments')), ul, preview);
}
