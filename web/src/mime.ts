// Builds the RFC 5322 / MIME message the composer sends (uploaded as one JMAP blob, then
// Email/import into Drafts, then EmailSubmission: the server has no Email/set create).
//   - header text that is not ASCII: RFC 2047 encoded words (UTF-8, "B"), at most 75 octets each
//   - attachment names: ASCII as filename=, others as RFC 2231 filename*= (UTF-8, percent-encoded),
//     and Content-Type name= as RFC 2047 words (what common mailers read)
//   - the text part: text/plain; charset=utf-8, base64 (RFC 2045 6.8, 76-character lines)
//   - a forwarded message: message/rfc822 (RFC 2046 5.2.1) with its bytes unchanged
// Lines end in CRLF (RFC 5322 2.1).

export interface MimeAddress {
  name: string;
  email: string;
}

export interface MimeAttachment {
  name: string;
  type: string;
  data: Uint8Array;
}

export interface MimeMessage {
  from: MimeAddress;
  to: MimeAddress[];
  cc: MimeAddress[];
  bcc: MimeAddress[];
  subject: string;
  text: string;
  messageId: string; // without <>
  inReplyTo: string[]; // without <>
  references: string[]; // without <>
  attachments: MimeAttachment[];
  date?: Date;
}

const enc = new TextEncoder();
const ASCII_SAFE = /^[\x20-\x7e]*$/;

function base64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function wrap76(b64: string): string {
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

// RFC 2047 encoded words, each whole characters only (a word never splits a UTF-8 sequence).
export function encodeWords(text: string): string {
  if (ASCII_SAFE.test(text) && !/=\?/.test(text)) return text;
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    // 45 octets -> 60 base64 characters + 12 of "=?UTF-8?B??=": under RFC 2047's 75.
    if (enc.encode(chunk + ch).length > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(enc.encode(w))}?=`).join('\r\n ');
}

// No CR or LF may reach a header from a form field (header injection).
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').trim();
}

export function formatAddress(a: MimeAddress): string {
  const email = oneLine(a.email);
  const name = oneLine(a.name);
  if (!name) return email;
  if (!ASCII_SAFE.test(name)) return `${encodeWords(name)} <${email}>`;
  // RFC 5322 3.2.4 quoted-string: backslash and DQUOTE escaped.
  return `"${name.replace(/(["\\])/g, '\\$1')}" <${email}>`;
}

// "Ann <ann@x>, bob@y; "Lee, C" <c@z>" -> addresses; null when one has no valid address.
export function parseAddressList(input: string): MimeAddress[] | null {
  const out: MimeAddress[] = [];
  let cur = '';
  let quoted = false;
  let angle = false;
  const flush = (): boolean => {
    const s = cur.trim();
    cur = '';
    if (!s) return true;
    const m = /^(.*?)<([^<>]+)>\s*$/.exec(s);
    const email = (m ? m[2] : s).trim();
    const name = m ? m[1].trim().replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1') : '';
    if (!/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.?[^\s@<>(),;:"]*$/.test(email)) return false;
    out.push({ name, email });
    return true;
  };
  for (const ch of input) {
    if (ch === '"' && !angle) quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if ((ch === ',' || ch === ';') && !quoted && !angle) {
      if (!flush()) return null;
      continue;
    }
    cur += ch;
  }
  if (!flush()) return null;
  return out;
}

// RFC 2231 parameter value: filename*=UTF-8''percent-encoded.
function rfc2231(name: string): string {
  const bytes = enc.encode(name);
  let s = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    s += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `UTF-8''${s}`;
}

// Content-Disposition's filename: plain when ASCII, else only RFC 2231's filename* (a second,
// ASCII filename= would be preferred by some readers).
function filenameParam(name: string): string {
  const n = oneLine(name);
  return ASCII_SAFE.test(n) && !/["\\]/.test(n) ? `filename="${n}"` : `filename*=${rfc2231(n)}`;
}

// Content-Type's name (the legacy place): RFC 2047 words in quotes, as common mailers write it.
function nameParam(name: string): string {
  const n = oneLine(name);
  return ASCII_SAFE.test(n) && !/["\\]/.test(n) ? `name="${n}"` : `name="${encodeWords(n).replace(/\r\n /g, ' ')}"`;
}

function safeType(type: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(type) ? type.toLowerCase() : 'application/octet-stream';
}

function rfc5322Date(d: Date): string {
  // "Sun, 06 Dec 2026 07:05:00 +0000" (RFC 5322 3.3), in UTC.
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export function newMessageId(domain: string): string {
  const r = crypto.getRandomValues(new Uint8Array(16));
  const hex = [...r].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex}@${domain.replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'}`;
}

function boundary(): string {
  const r = crypto.getRandomValues(new Uint8Array(12));
  return `=_mailroom_${[...r].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function idList(ids: string[]): string {
  return ids.map((i) => `<${oneLine(i).replace(/[<>\s]/g, '')}>`).join(' ');
}

// The whole message as a Blob (bytes: a forwarded message keeps its own encoding).
export function buildMessage(m: MimeMessage): Blob {
  const h: string[] = [];
  h.push(`From: ${formatAddress(m.from)}`);
  if (m.to.length) h.push(`To: ${m.to.map(formatAddress).join(',\r\n ')}`);
  if (m.cc.length) h.push(`Cc: ${m.cc.map(formatAddress).join(',\r\n ')}`);
  // Kept in the draft; the server removes Bcc: when it sends (RFC 8621 7.5).
  if (m.bcc.length) h.push(`Bcc: ${m.bcc.map(formatAddress).join(',\r\n ')}`);
  h.push(`Subject: ${encodeWords(oneLine(m.subject))}`);
  h.push(`Date: ${rfc5322Date(m.date ?? new Date())}`);
  h.push(`Message-ID: <${m.messageId}>`);
  if (m.inReplyTo.length) h.push(`In-Reply-To: ${idList(m.inReplyTo)}`);
  if (m.references.length) h.push(`References: ${idList(m.references)}`);
  h.push('MIME-Version: 1.0');
  const textPart = 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
    wrap76(base64(enc.encode(m.text.replace(/\r?\n/g, '\r\n')))) + '\r\n';
  if (!m.attachments.length) {
    return new Blob([h.join('\r\n') + '\r\n' + textPart]);
  }
  const b = boundary();
  h.push(`Content-Type: multipart/mixed; boundary="${b}"`);
  const parts: BlobPart[] = [h.join('\r\n') + '\r\n\r\nThis is a message in MIME format.\r\n', `--${b}\r\n`, textPart];
  for (const a of m.attachments) {
    parts.push(`--${b}\r\n`);
    if (a.type === 'message/rfc822') {
      const eightBit = a.data.some((x) => x > 0x7f);
      parts.push(`Content-Type: message/rfc822\r\nContent-Disposition: attachment; ${filenameParam(a.name)}\r\n` +
        `Content-Transfer-Encoding: ${eightBit ? '8bit' : '7bit'}\r\n\r\n`);
      parts.push(a.data as BlobPart);
      parts.push('\r\n');
    } else {
      parts.push(`Content-Type: ${safeType(a.type)}; ${nameParam(a.name)}\r\n` +
        `Content-Disposition: attachment; ${filenameParam(a.name)}\r\n` +
        'Content-Transfer-Encoding: base64\r\n\r\n' + wrap76(base64(a.data)) + '\r\n');
    }
  }
  parts.push(`--${b}--\r\n`);
  return new Blob(parts);
}
