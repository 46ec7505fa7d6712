// The composer (loaded on first use: main.ts imports it lazily, so the first screen stays
// small): new message, reply, reply-all, forward inline, forward as attachment, editing a
// draft. Attachments by file picker or drag and drop.
//
// The server has no Email/set create, so the client builds the message (mime.ts), uploads it
// as one JMAP blob (RFC 8620 6.1) and imports it into Drafts (Email/import, keywords $draft and
// $seen); each save imports the new version and destroys the previous one (Email/set). Send
// saves, then EmailSubmission/set (RFC 8621 7.5) with onSuccessUpdateEmail moving the draft
// from Drafts to Sent; the server checks it as SMTP submission (send-as, recipients, size,
// scanners) and a refusal is shown here with the draft kept.
import { clear, h } from './dom';
import { formatFullDate, formatSize, t } from './i18n';
import { Account, Jmap } from './jmap';
import { buildMessage, MimeAddress, MimeAttachment, newMessageId, parseAddressList } from './mime';

export type ComposeMode = 'new' | 'reply' | 'replyAll' | 'forward' | 'forwardAttachment' | 'draft';

export interface ComposeMailbox {
  id: string;
  role: string | null;
}

export interface ComposeHost {
  jmap: Jmap;
  account: Account;
  mailboxes: ComposeMailbox[];
  // Called after a send or a save, or when the composer closes.
  changed: () => void;
}

interface Addr {
  name: string | null;
  email: string;
}
interface Original {
  id: string;
  blobId: string;
  subject: string | null;
  from: Addr[] | null;
  to: Addr[] | null;
  cc: Addr[] | null;
  bcc: Addr[] | null;
  replyTo: Addr[] | null;
  receivedAt: string;
  sentAt: string | null;
  messageId: string[] | null;
  inReplyTo: string[] | null;
  references: string[] | null;
  textBody: { partId: string; type: string }[];
  htmlBody: { partId: string; type: string }[];
  bodyValues: Record<string, { value: string }>;
  attachments: { blobId: string; name: string | null; type: string; size: number }[];
}
interface Identity {
  id: string;
  name: string;
  email: string;
}

const ORIGINAL_PROPS = ['id', 'blobId', 'subject', 'from', 'to', 'cc', 'bcc', 'replyTo', 'receivedAt', 'sentAt',
  'messageId', 'inReplyTo', 'references', 'textBody', 'htmlBody', 'bodyValues', 'attachments'];

function addrText(list: Addr[] | null | undefined): string {
  return (list ?? []).map((a) => (a.name ? `"${a.name.replace(/(["\\])/g, '\\$1')}" <${a.email}>` : a.email)).join(', ');
}

function plainText(o: Original): string {
  const text = (o.textBody ?? []).filter((p) => p.type === 'text/plain').map((p) => o.bodyValues[p.partId]?.value ?? '');
  if (text.join('').trim()) return text.join('\n');
  const html = (o.htmlBody ?? []).map((p) => o.bodyValues[p.partId]?.value ?? '').join('\n');
  // DOMParser builds an inert document: nothing runs or loads; only its text is kept.
  return new DOMParser().parseFromString(html, 'text/html').body?.textContent ?? '';
}

function prefixed(prefix: string, subject: string | null): string {
  const s = subject ?? '';
  return new RegExp(`^${prefix}:`, 'i').test(s.trim()) ? s : `${prefix}: ${s}`;
}

let openComposer: Composer | null = null;

export async function openCompose(host: ComposeHost, mode: ComposeMode, emailId?: string): Promise<void> {
  if (openComposer) openComposer.close();
  const c = new Composer(host, mode);
  openComposer = c;
  await c.init(emailId);
}

class Composer {
  draftId: string | null = null;
  original: Original | null = null;
  identities: Identity[] = [];
  attachments: MimeAttachment[] = [];
  inReplyTo: string[] = [];
  references: string[] = [];
  messageId = '';
  busy = false;

  root = h('section', { id: 'compose', class: 'compose', role: 'dialog', 'aria-label': t('compose') });
  fromSel = h('select', { id: 'compose-from' });
  to = h('input', { id: 'compose-to', autocomplete: 'off' });
  cc = h('input', { id: 'compose-cc', autocomplete: 'off' });
  bcc = h('input', { id: 'compose-bcc', autocomplete: 'off' });
  subject = h('input', { id: 'compose-subject' });
  body = h('textarea', { id: 'compose-body', rows: 14 });
  fileInput = h('input', { id: 'compose-file', type: 'file', multiple: true, class: 'hidden' });
  attachList = h('ul', { id: 'compose-attachments', class: 'attachments' });
  status = h('p', { id: 'compose-status', class: 'compose-status', role: 'status' });

  constructor(public host: ComposeHost, public mode: ComposeMode) {}

  mailbox(role: string): string | undefined {
    return this.host.mailboxes.find((m) => m.role === role)?.id;
  }

  async init(emailId?: string): Promise<void> {
    this.render();
    const calls: [string, Record<string, unknown>, string][] = [
      ['Identity/get', { accountId: this.host.account.accountId, ids: null }, 'i'],
    ];
    if (emailId) {
      calls.push(['Email/get', {
        accountId: this.host.account.accountId, ids: [emailId], properties: ORIGINAL_PROPS,
        fetchTextBodyValues: true, fetchHTMLBodyValues: true, maxBodyValueBytes: 256 * 1024,
      }, 'g']);
    }
    const res = await this.host.jmap.request(calls);
    if (res[0][0] !== 'error') this.identities = (res[0][1] as { list: Identity[] }).list;
    const me = this.host.account.username.toLowerCase();
    this.identities.sort((a, b) => Number(b.email.toLowerCase() === me) - Number(a.email.toLowerCase() === me));
    for (const i of this.identities) {
      this.fromSel.append(h('option', { value: i.id }, i.name ? `${i.name} <${i.email}>` : i.email));
    }
    if (this.identities.length < 2) this.fromSel.disabled = true;
    const domain = (this.identities[0]?.email ?? this.host.account.username).split('@')[1] ?? 'localhost';
    this.messageId = newMessageId(domain);
    const o = emailId && res[1]?.[0] !== 'error' ? (res[1]?.[1] as { list: Original[] }).list[0] : undefined;
    if (o) await this.fill(o);
    this.root.dataset.ready = '1'; // filled in (the browser tests wait for it)
    (this.mode === 'new' || this.mode === 'forward' || this.mode === 'forwardAttachment' ? this.to : this.body).focus();
  }

  async fill(o: Original): Promise<void> {
    this.original = o;
    const mine = new Set(this.identities.map((i) => i.email.toLowerCase()));
    const quoteHead = t('wrote', { date: formatFullDate(o.sentAt ?? o.receivedAt), who: addrText(o.from) });
    const text = plainText(o);
    switch (this.mode) {
      case 'draft': {
        this.draftId = o.id;
        this.to.value = addrText(o.to);
        this.cc.value = addrText(o.cc);
        this.bcc.value = addrText(o.bcc);
        this.subject.value = o.subject ?? '';
        this.body.value = text;
        this.inReplyTo = o.inReplyTo ?? [];
        this.references = o.references ?? [];
        for (const a of o.attachments ?? []) {
          const data = await this.host.jmap.download(a.blobId);
          this.attachments.push({ name: a.name ?? 'attachment', type: a.type, data });
        }
        this.renderAttachments();
        break;
      }
      case 'reply':
      case 'replyAll': {
        const to = o.replyTo?.length ? o.replyTo : o.from ?? [];
        this.to.value = addrText(to);
        if (this.mode === 'replyAll') {
          const seen = new Set(to.map((a) => a.email.toLowerCase()));
          const cc = [...(o.to ?? []), ...(o.cc ?? [])].filter((a) => {
            const e = a.email.toLowerCase();
            if (mine.has(e) || seen.has(e)) return false;
            seen.add(e);
            return true;
          });
          this.cc.value = addrText(cc);
        }
        this.subject.value = prefixed('Re', o.subject);
        // RFC 5322 3.6.4: In-Reply-To is the parent's Message-ID; References its References
        // (or In-Reply-To) followed by its Message-ID.
        this.inReplyTo = o.messageId ?? [];
        this.references = [...(o.references ?? o.inReplyTo ?? []), ...(o.messageId ?? [])];
        this.body.value = `\n\n${quoteHead}\n${text.split(/\r?\n/).map((l) => `> ${l}`).join('\n')}`;
        break;
      }
      case 'forward':
        this.subject.value = prefixed('Fwd', o.subject);
        this.body.value = `\n\n${t('forwardedHeader')}\n${t('from')}: ${addrText(o.from)}\n` +
          `${t('date')}: ${formatFullDate(o.sentAt ?? o.receivedAt)}\n${t('subject')}: ${o.subject ?? ''}\n` +
          `${t('to')}: ${addrText(o.to)}\n\n${text}`;
        for (const a of o.attachments ?? []) {
          const data = await this.host.jmap.download(a.blobId);
          this.attachments.push({ name: a.name ?? 'attachment', type: a.type, data });
        }
        this.renderAttachments();
        break;
      case 'forwardAttachment': {
        this.subject.value = prefixed('Fwd', o.subject);
        const data = await this.host.jmap.download(o.blobId);
        const name = `${(o.subject || 'message').replace(/[\\/:*?"<>|\x00-\x1f]/g, '_').slice(0, 80)}.eml`;
        this.attachments.push({ name, type: 'message/rfc822', data });
        this.renderAttachments();
        break;
      }
      default:
        break;
    }
  }

  render(): void {
    const field = (label: string, input: HTMLElement): HTMLElement => h('label', { class: 'compose-field' }, h('span', {}, label), input);
    const attachButton = h('button', { id: 'compose-attach', type: 'button', onclick: () => this.fileInput.click() }, t('attach'));
    this.fileInput.addEventListener('change', () => void this.addFiles(this.fileInput.files));
    const title = {
      new: t('newMessage'), reply: t('reply'), replyAll: t('replyAll'), forward: t('forward'),
      forwardAttachment: t('forwardAttachment'), draft: t('editDraft'),
    }[this.mode];
    this.root.append(
      h('div', { class: 'compose-head' }, h('h2', {}, title),
        h('button', { id: 'compose-close', type: 'button', 'aria-label': t('close'), onclick: () => void this.closeAndSave() }, '×')),
      field(t('from'), this.fromSel), field(t('to'), this.to), field(t('cc'), this.cc), field(t('bcc'), this.bcc),
      field(t('subject'), this.subject), this.body,
      h('div', { class: 'drop-hint' }, t('dropFiles')),
      this.attachList,
      h('div', { class: 'compose-actions' },
        h('button', { id: 'compose-send', type: 'button', class: 'primary', onclick: () => void this.send() }, t('send')),
        h('button', { id: 'compose-save', type: 'button', onclick: () => void this.save(true) }, t('saveDraft')),
        attachButton, this.fileInput,
        h('button', { id: 'compose-discard', type: 'button', onclick: () => void this.discard() }, t('discard'))),
      this.status);
    // Drag and drop anywhere on the composer.
    this.root.addEventListener('dragover', (e) => {
      e.preventDefault();
      this.root.classList.add('dragging');
    });
    this.root.addEventListener('dragleave', () => this.root.classList.remove('dragging'));
    this.root.addEventListener('drop', (e) => {
      e.preventDefault();
      this.root.classList.remove('dragging');
      void this.addFiles(e.dataTransfer?.files ?? null);
    });
    document.body.append(this.root);
  }

  async addFiles(files: FileList | null): Promise<void> {
    for (const f of Array.from(files ?? [])) {
      this.attachments.push({ name: f.name, type: f.type || 'application/octet-stream', data: new Uint8Array(await f.arrayBuffer()) });
    }
    this.fileInput.value = '';
    this.renderAttachments();
  }

  renderAttachments(): void {
    clear(this.attachList);
    this.attachments.forEach((a, i) => {
      this.attachList.append(h('li', { class: 'attachment' },
        h('span', { class: 'name' }, a.name), h('span', { class: 'size' }, formatSize(a.data.length)),
        h('button', { type: 'button', class: 'remove', 'aria-label': t('remove'), onclick: () => {
          this.attachments.splice(i, 1);
          this.renderAttachments();
        } }, '×')));
    });
  }

  say(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
  }

  fields(): { to: MimeAddress[]; cc: MimeAddress[]; bcc: MimeAddress[] } | null {
    const to = parseAddressList(this.to.value);
    const cc = parseAddressList(this.cc.value);
    const bcc = parseAddressList(this.bcc.value);
    if (!to || !cc || !bcc) {
      this.say(t('badAddress'), true);
      return null;
    }
    return { to, cc, bcc };
  }

  identity(): Identity | undefined {
    return this.identities.find((i) => i.id === this.fromSel.value) ?? this.identities[0];
  }

  // Saves the draft (a new version replaces the last); answers its Email id.
  async save(announce: boolean): Promise<string | null> {
    const f = this.fields();
    const id = this.identity();
    if (!f) return null;
    if (!id) {
      this.say(t('noIdentity'), true);
      return null;
    }
    const drafts = this.mailbox('drafts') ?? this.mailbox('inbox');
    if (!drafts) return null;
    const blob = buildMessage({
      from: { name: id.name, email: id.email }, ...f, subject: this.subject.value, text: this.body.value,
      messageId: this.messageId, inReplyTo: this.inReplyTo, references: this.references, attachments: this.attachments,
    });
    this.say(t('saving'));
    let blobId: string;
    try {
      blobId = await this.host.jmap.upload(blob, 'message/rfc822');
    } catch (e) {
      this.say(String(e).includes('413') ? t('tooLarge') : t('saveFailed'), true);
      return null;
    }
    const acc = this.host.account.accountId;
    const calls: [string, Record<string, unknown>, string][] = [
      ['Email/import', { accountId: acc, emails: { d: { blobId, mailboxIds: { [drafts]: true }, keywords: { $draft: true, $seen: true } } } }, 'i'],
    ];
    if (this.draftId) calls.push(['Email/set', { accountId: acc, destroy: [this.draftId] }, 'x']);
    const res = await this.host.jmap.request(calls);
    const created = res[0][0] === 'error' ? undefined : (res[0][1] as { created?: Record<string, { id: string }> }).created?.d;
    if (!created) {
      const why = res[0][0] === 'error' ? '' : (res[0][1] as { notCreated?: Record<string, { type: string }> }).notCreated?.d?.type;
      this.say(why === 'overQuota' ? t('overQuota') : t('saveFailed'), true);
      return null;
    }
    this.draftId = created.id;
    if (announce) this.say(t('draftSaved'));
    this.host.changed();
    return created.id;
  }

  async send(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const id = this.identity();
      const emailId = await this.save(false);
      if (!emailId || !id) return;
      this.say(t('sending'));
      const drafts = this.mailbox('drafts');
      const sent = this.mailbox('sent');
      const update: Record<string, unknown> = { 'keywords/$draft': null };
      if (drafts && sent) {
        update[`mailboxIds/${drafts}`] = null;
        update[`mailboxIds/${sent}`] = true;
      }
      const res = await this.host.jmap.request([['EmailSubmission/set', {
        accountId: this.host.account.accountId,
        create: { s: { identityId: id.id, emailId } },
        onSuccessUpdateEmail: { '#s': update },
      }, 's']]);
      const r = res[0];
      if (r[0] === 'error') {
        this.say(`${t('sendFailed')} (${String(r[1].type)})`, true);
        return;
      }
      const set = r[1] as { created?: Record<string, unknown>; notCreated?: Record<string, { type: string; description?: string }> };
      if (!set.created?.s) {
        const err = set.notCreated?.s;
        const key = `sendError.${err?.type ?? ''}`;
        const text = ([
          'sendError.forbiddenFrom', 'sendError.invalidRecipients', 'sendError.forbiddenToSend', 'sendError.tooLarge',
          'sendError.noRecipients', 'sendError.tooManyRecipients', 'sendError.forbiddenMailFrom',
        ] as const).find((k) => k === key);
        this.say(`${text ? t(text) : t('sendFailed')}${err?.description ? ` ${err.description}` : ''}`, true);
        this.host.changed();
        return;
      }
      // The original is marked answered (or forwarded), as IMAP clients do.
      if (this.original && this.mode !== 'draft' && this.mode !== 'new') {
        const kw = this.mode === 'reply' || this.mode === 'replyAll' ? '$answered' : '$forwarded';
        await this.host.jmap.call('Email/set', { update: { [this.original.id]: { [`keywords/${kw}`]: true } } }).catch(() => undefined);
      }
      this.draftId = null;
      this.close();
      this.host.changed();
    } finally {
      this.busy = false;
    }
  }

  async discard(): Promise<void> {
    if (this.draftId) await this.host.jmap.call('Email/set', { destroy: [this.draftId] }).catch(() => undefined);
    this.draftId = null;
    this.close();
    this.host.changed();
  }

  // Closing keeps what was written as a draft (when anything was).
  async closeAndSave(): Promise<void> {
    const written = this.to.value || this.cc.value || this.bcc.value || this.body.value.trim() || this.attachments.length;
    if (written && !(await this.save(false))) return;
    this.close();
  }

  close(): void {
    this.root.remove();
    if (openComposer === this) openComposer = null;
  }
}
