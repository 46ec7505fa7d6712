// Mailroom's web client: sign-in, folder tree, a virtually scrolled message list, the reading
// pane, flags and delete, new mail pushed by the server (JMAP EventSource, RFC 8620 7.3) with
// polling of Email/changes when the push cannot be had. JMAP only (jmap.ts). The composer
// (compose.ts) and the settings screen (settings.ts) are chunks of their own, loaded on first use.
import { clear, h } from './dom';
import { formatDate, formatFullDate, formatSize, hasKey, lang, LANGS, setLang, t, type Lang } from './i18n';
import { Account, AuthError, currentSession, Jmap, signIn, signOut } from './jmap';
import { sanitizeHtml } from './sanitize';
import { inlineImages } from './inline_images';
import { attachmentList, type Attachment } from './attachments';
import { quotaView, type Quota } from './quota';
import type { ComposeMode } from './compose';
import { ssoButtons, ssoError } from './sso';

interface Mailbox {
  id: string;
  name: string;
  parentId: string | null;
  role: string | null;
  sortOrder: number;
  totalEmails: number;
  unreadEmails: number;
}
interface Address {
  name: string | null;
  email: string;
}
interface EmailSummary {
  id: string;
  subject: string | null;
  from: Address[] | null;
  receivedAt: string;
  keywords: Record<string, boolean>;
  size: number;
  preview: string;
  hasAttachment: boolean;
  mailboxIds: Record<string, boolean>;
  threadId?: string;
}
interface BodyPart {
  partId: string;
  type: string;
}
interface EmailFull extends EmailSummary {
  to: Address[] | null;
  cc: Address[] | null;
  textBody: BodyPart[];
  htmlBody: BodyPart[];
  bodyValues: Record<string, { value: string }>;
  attachments: Attachment[] | null;
}

const ROW_HEIGHT = 64; // px; web/src/style.css .row
const PAGE = 50; // Email/query window
// Without push, new mail is looked for every 15 s; localStorage "mailroom.pollSeconds"
// (1-86400) changes it (the browser tests use 1 s, or a day to prove the push works alone).
const POLL_MS = (() => {
  try {
    const v = Number(localStorage.getItem('mailroom.pollSeconds'));
    if (v >= 1 && v <= 86400) return v * 1000;
  } catch {
    /* storage disabled */
  }
  return 15000;
})();
// The push's ping interval (RFC 8620 7.3): a silent connection is noticed by EventSource's
// own reconnection when pings stop.
const PUSH_PING = 60;
const SUMMARY_PROPS = ['id', 'subject', 'from', 'receivedAt', 'keywords', 'size', 'preview', 'hasAttachment', 'mailboxIds'];
const FULL_PROPS = [...SUMMARY_PROPS, 'to', 'cc', 'textBody', 'htmlBody', 'bodyValues', 'attachments'];
const BODY_PROPS = ['partId', 'blobId', 'size', 'name', 'type', 'charset', 'disposition', 'cid'];
// The conversation view (one row per thread, RFC 8621 Email/query collapseThreads) is the
// user's choice, kept in localStorage.
const CONVERSATIONS_KEY = 'mailroom.conversations';
function conversationsOn(): boolean {
  try {
    return localStorage.getItem(CONVERSATIONS_KEY) === '1';
  } catch {
    return false;
  }
}
let frameCounter = 0;

const app = document.getElementById('app') as HTMLElement;
let jmap: Jmap | null = null;

function addressText(list: Address[] | null): string {
  return (list ?? []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(', ');
}
function senderText(list: Address[] | null): string {
  const a = list?.[0];
  return a ? a.name || a.email : '';
}
function mailboxName(m: Mailbox): string {
  const key = `role.${m.role ?? ''}`;
  return m.role && hasKey(key) ? t(key) : m.name;
}

function languagePicker(onChange: () => void): HTMLElement {
  const select = h('select', { id: 'lang', 'aria-label': t('language') });
  for (const l of LANGS) {
    select.append(h('option', { value: l.id, selected: l.id === lang() }, l.label));
  }
  select.addEventListener('change', () => {
    setLang(select.value as Lang);
    onChange();
  });
  return select;
}

// --- sign-in ---------------------------------------------------------------------------

function showSignIn(message = ''): void {
  jmap = null;
  document.title = t('appName');
  clear(app);
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, message || ssoError());
  const sso = h('div', { class: 'sso' });
  ssoButtons(sso);
  const button = h('button', { id: 'login-button', type: 'submit' }, t('signIn'));
  const form = h('form', { id: 'login', class: 'login' },
    h('h1', {}, t('signInTitle')),
    sso,
    h('label', {}, t('username'), user),
    h('label', {}, t('password'), pass),
    error, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    button.textContent = t('signingIn');
    error.textContent = '';
    try {
      const account = await signIn(user.value.trim(), pass.value);
      pass.value = '';
      startMail(account);
    } catch (err) {
      const status = err instanceof AuthError ? err.status : 0;
      error.textContent = status === 401 ? t('badLogin') : status === 429 ? t('throttled')
        : status === 403 ? t('needHttps') : status === 503 ? t('unavailable') : t('failed');
      button.disabled = false;
      button.textContent = t('signIn');
    }
  });
  app.append(h('div', { class: 'login-screen' },
    h('div', { class: 'login-top' }, h('span', { class: 'brand' }, t('appName')), languagePicker(() => showSignIn())),
    form));
  user.focus();
}

// --- the mail screen -------------------------------------------------------------------

class MailView {
  mailboxes: Mailbox[] = [];
  current: Mailbox | null = null;
  total = 0;
  ids: (string | undefined)[] = []; // by position in the current list
  emails = new Map<string, EmailSummary>();
  loadingPages = new Set<number>();
  openId: string | null = null;
  emailState: string | null = null;
  mailboxState: string | null = null;
  pollTimer = 0;
  push: EventSource | null = null;
  pushFailures = 0; // errors in a row: after a few the client polls instead
  syncing: Promise<void> | null = null;
  syncAgain = false; // a StateChange came while a sync ran
  generation = 0; // bumps when the list is reset: late answers of an old list are ignored
  idsGeneration = 0; // the generation `ids` was answered for (a refresh keeps the old until then)
  scrollTimer = 0;
  query: string | null = null; // a search (Email/query text filter) instead of the folder
  selected = new Set<string>(); // checked rows (batch save)
  // The tools line's message ("Moved to …", an export error): kept across the redraws that a
  // pushed change causes, until the folder changes or another message replaces it.
  status = { text: '', error: false };
  conversations = conversationsOn();
  threadSizes = new Map<string, number>(); // thread id -> its number of Emails (conversation view)
  lastPicked: number | null = null; // position of the last checked row (shift-click ranges)

  root = h('div', { class: 'mail view-list' });
  folderList = h('ul', { id: 'folders', class: 'folders' });
  listTitle = h('h2', { id: 'list-title' });
  listScroll = h('div', { id: 'list', class: 'list', tabindex: 0 });
  listTools = h('div', { id: 'list-tools', class: 'list-tools' });
  searchInput = h('input', { id: 'search-input', type: 'search', autocomplete: 'off' });
  listInner = h('div', { class: 'list-inner' });
  pane = h('section', { id: 'pane', class: 'pane' });
  quotaBox = h('div', { id: 'quota', class: 'quota', 'aria-live': 'polite' });
  quotas: Quota[] = [];

  constructor(public account: Account) {
    this.listScroll.append(this.listInner);
    this.listScroll.addEventListener('scroll', () => this.onScroll());
    document.addEventListener('keydown', (e) => this.onKey(e));
    // The search field's own clear button.
    this.searchInput.addEventListener('search', () => {
      if (!this.searchInput.value) void this.search('');
    });
  }

  mount(): void {
    clear(app);
    clear(this.root);
    const header = h('header', { class: 'top' },
      h('button', { id: 'show-folders', class: 'phone-only', onclick: () => this.setView('folders') }, t('folders')),
      h('span', { class: 'brand' }, t('appName')),
      this.searchForm(),
      h('span', { class: 'user', id: 'user' }, this.account.username),
      languagePicker(() => this.relabel()),
      h('button', { id: 'open-settings', onclick: () => void this.settings() }, t('settings')),
      h('button', { id: 'sign-out', onclick: () => this.signOut() }, t('signOut')));
    const compose = h('button', { id: 'compose-new', class: 'primary', onclick: () => void this.compose('new') }, t('newMessage'));
    this.root.append(header,
      h('nav', { class: 'sidebar', 'aria-label': t('folders') }, h('div', { class: 'sidebar-top' }, compose), this.folderList, this.quotaBox),
      h('main', { class: 'listcol' }, this.listTitle, this.listTools, this.listScroll),
      this.pane);
    app.append(this.root);
    this.showEmptyPane();
  }

  setView(v: 'folders' | 'list' | 'message'): void {
    this.root.classList.remove('view-folders', 'view-list', 'view-message');
    this.root.classList.add(`view-${v}`);
  }

  relabel(): void {
    // Everything shown is rebuilt in the new language; the data stays.
    this.mount();
    this.renderFolders();
    quotaView(this.quotas, this.quotaBox);
    this.renderListTitle();
    this.renderRows(true);
    if (this.openId) void this.open(this.openId, false);
  }

  async start(): Promise<void> {
    this.mount();
    await this.loadMailboxes();
    const inbox = this.mailboxes.find((m) => m.role === 'inbox') ?? this.mailboxes[0];
    if (inbox) await this.selectMailbox(inbox);
    const st = await jmap!.call<{ state: string }>('Email/get', { ids: [] });
    this.emailState = st.state;
    this.startPush();
  }

  stop(): void {
    this.stopPolling();
    this.push?.close();
    this.push = null;
  }

  // --- new mail without reload ----------------------------------------------------------------
  // The server pushes StateChange events (RFC 8620 7.3, cookie session); the list and the
  // folder counts are refreshed when the Email or Mailbox state moves. When EventSource is
  // missing or keeps failing (a proxy that buffers, the server's cap on open streams), the
  // client polls Email/changes every POLL_MS instead.
  startPush(): void {
    if (typeof EventSource === 'undefined') {
      this.startPolling();
      return;
    }
    const es = new EventSource(`/jmap/eventsource/?types=Email,Mailbox&closeafter=no&ping=${PUSH_PING}`);
    this.push = es;
    es.addEventListener('open', () => {
      this.pushFailures = 0;
      this.stopPolling();
      void this.sync(); // changes while the stream was down
    });
    es.addEventListener('state', (ev) => {
      try {
        const data = JSON.parse((ev as MessageEvent<string>).data) as { changed?: Record<string, Record<string, string>> };
        const changed = data.changed?.[this.account.accountId];
        if (!changed) return;
        const mailboxMoved = !!changed.Mailbox && changed.Mailbox !== this.mailboxState;
        if (changed.Mailbox) this.mailboxState = changed.Mailbox;
        if (changed.Email && changed.Email !== this.emailState) void this.sync();
        else if (mailboxMoved) void this.loadMailboxes(); // a folder made or renamed elsewhere
      } catch {
        /* not a StateChange */
      }
    });
    es.addEventListener('error', () => {
      // EventSource reconnects by itself (CONNECTING); CLOSED means it gave up (a 401, 429...).
      this.pushFailures++;
      if (es.readyState === EventSource.CLOSED || this.pushFailures >= 3) {
        es.close();
        if (this.push === es) this.push = null;
        this.startPolling();
        // A session that ended shows the sign-in screen through the next JMAP call.
        void this.sync();
      }
    });
  }

  startPolling(): void {
    if (!this.pollTimer) this.pollTimer = window.setInterval(() => void this.sync(), POLL_MS);
  }

  stopPolling(): void {
    window.clearInterval(this.pollTimer);
    this.pollTimer = 0;
  }

  // One Email/changes round at a time; a push during it runs one more afterwards.
  async sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        await this.poll();
      } while (this.syncAgain);
    })();
    try {
      await this.syncing;
    } finally {
      this.syncing = null;
    }
  }

  async signOut(): Promise<void> {
    this.stop();
    await signOut(this.account);
    showSignIn();
  }

  async loadMailboxes(): Promise<void> {
    const accountId = this.account.accountId;
    const [mb, q] = await jmap!.request([
      ['Mailbox/get', { accountId, ids: null, properties: ['id', 'name', 'parentId', 'role', 'sortOrder', 'totalEmails', 'unreadEmails'] }, 'm'],
      ['Quota/get', { accountId, ids: null }, 'q'],
    ]);
    if (mb[0] === 'error') throw new Error(`Mailbox/get: ${String(mb[1].type)}`);
    this.mailboxes = (mb[1] as { list: Mailbox[] }).list;
    // A quota that cannot be read (directory down) keeps the last one shown.
    if (q[0] === 'Quota/get') this.quotas = (q[1] as { list: Quota[] }).list;
    quotaView(this.quotas, this.quotaBox);
    if (this.current) this.current = this.mailboxes.find((m) => m.id === this.current!.id) ?? null;
    this.renderFolders();
    this.renderListTitle();
  }

  renderFolders(): void {
    clear(this.folderList);
    const children = new Map<string | null, Mailbox[]>();
    for (const m of this.mailboxes) {
      const k = m.parentId ?? null;
      children.set(k, [...(children.get(k) ?? []), m]);
    }
    const add = (parent: string | null, depth: number, into: HTMLElement): void => {
      const list = (children.get(parent) ?? []).sort((a, b) => a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
      for (const m of list) {
        const unread = m.unreadEmails > 0
          ? h('span', { class: 'count', title: t('unread', { n: m.unreadEmails }) }, new Intl.NumberFormat(lang()).format(m.unreadEmails))
          : null;
        const item = h('li', {},
          h('button', {
            class: `folder${this.current?.id === m.id ? ' selected' : ''}`,
            'data-id': m.id,
            'data-role': m.role ?? '',
            style: `padding-left: ${0.75 + depth}rem`,
            onclick: () => void this.selectMailbox(m),
            ondragover: ((ev: DragEvent) => {
              if (ev.dataTransfer?.types.includes('application/x-mailroom-ids')) ev.preventDefault();
            }) as EventListener,
            ondrop: ((ev: DragEvent) => {
              ev.preventDefault();
              try {
                const ids = JSON.parse(ev.dataTransfer?.getData('application/x-mailroom-ids') ?? '[]') as unknown;
                if (Array.isArray(ids) && ids.every((x) => typeof x === 'string') && ids.length) void this.moveTo(ids as string[], m);
              } catch {
                /* not ours */
              }
            }) as EventListener,
          }, h('span', { class: 'name' }, mailboxName(m)), unread));
        into.append(item);
        if (depth < 10) add(m.id, depth + 1, into);
      }
    };
    add(null, 0, this.folderList);
  }

  renderListTitle(): void {
    this.listTitle.textContent = this.query !== null
      ? t('searchResults', { q: this.query, n: this.total })
      : this.current ? `${mailboxName(this.current)} · ${t('messages', { n: this.current.totalEmails })}` : '';
    this.renderTools();
  }

  // --- search -------------------------------------------------------------------------------
  // Email/query with a text filter over every folder (RFC 8621 4.4.1 "text": subject, addresses
  // and body, matched as IMAP SEARCH TEXT: Unicode case folding, CJK substrings).
  searchForm(): HTMLElement {
    this.searchInput.placeholder = t('search');
    this.searchInput.setAttribute('aria-label', t('search'));
    if (this.query) this.searchInput.value = this.query;
    const form = h('form', { id: 'search', class: 'search', role: 'search' }, this.searchInput);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.search(this.searchInput.value.trim());
    });
    return form;
  }

  async search(q: string): Promise<void> {
    this.query = q ? q : null;
    await this.showList();
    this.renderListTitle();
  }

  // The list from its top, after the folder or the search changed.
  async showList(): Promise<void> {
    this.selected.clear();
    this.lastPicked = null;
    this.resetList();
    this.renderFolders();
    this.renderListTitle();
    this.setView('list');
    this.listScroll.scrollTop = 0;
    await this.ensureVisible();
  }

  // --- selection, batch save (ZIP of .eml) and folder backup (mbox) ---------------------------
  renderTools(): void {
    clear(this.listTools);
    if (this.selected.size) {
      this.listTools.append(
        h('span', { id: 'selected-count' }, t('selected', { n: this.selected.size })),
        h('button', { id: 'save-selected', onclick: () => void this.saveSelected() }, t('downloadSelected')),
        h('button', { id: 'clear-selection', onclick: () => { this.selected.clear(); this.lastPicked = null; this.renderRows(false); this.renderTools(); } }, t('clearSelection')));
    } else if (this.query !== null) {
      this.listTools.append(h('button', { id: 'clear-search', onclick: () => { this.searchInput.value = ''; void this.search(''); } }, t('clearSearch')));
    } else if (this.current) {
      this.listTools.append(h('button', { id: 'backup-folder', onclick: () => void this.backupFolder() }, t('backupFolder')));
    }
    this.listTools.append(h('button', {
      id: 'conversation-toggle',
      'aria-pressed': this.conversations ? 'true' : 'false',
      class: this.conversations ? 'toggle on' : 'toggle',
      onclick: () => void this.setConversations(!this.conversations),
    }, t('conversationView')));
    this.listTools.append(h('span', { id: 'tools-status', class: this.status.error ? 'tools-status error' : 'tools-status', role: 'status' }, this.status.text));
  }

  async setConversations(on: boolean): Promise<void> {
    this.conversations = on;
    try {
      localStorage.setItem(CONVERSATIONS_KEY, on ? '1' : '0');
    } catch {
      /* not kept: still switched for this page */
    }
    this.openId = null;
    this.showEmptyPane();
    await this.showList();
  }

  toolsStatus(text: string, error = false): void {
    this.status = { text, error };
    const el = this.listTools.querySelector('#tools-status');
    if (el) {
      el.textContent = text;
      el.classList.toggle('error', error);
    }
  }

  pick(id: string, position: number, on: boolean, range: boolean): void {
    if (range && this.lastPicked !== null) {
      const [a, b] = [Math.min(this.lastPicked, position), Math.max(this.lastPicked, position)];
      for (let i = a; i <= b; i++) {
        const x = this.ids[i];
        if (x) on ? this.selected.add(x) : this.selected.delete(x);
      }
    } else if (on) this.selected.add(id);
    else this.selected.delete(id);
    this.lastPicked = position;
    this.renderRows(false);
    this.renderTools();
  }

  // The server's answer saved as a file (a blob: URL clicked with `download`).
  async download(path: string, fields: Record<string, string>, fallbackName: string): Promise<void> {
    this.toolsStatus(t('preparing'));
    const r = await jmap!.postForm(path, fields);
    if (r.status === 401) {
      jmap!.onSessionEnded();
      return;
    }
    if (!r.ok) {
      this.toolsStatus(r.status === 413 ? t('exportTooLarge') : t('exportFailed'), true);
      return;
    }
    const cd = r.headers.get('content-disposition') ?? '';
    // RFC 6266: filename* (RFC 8187, UTF-8) when present, else the plain filename.
    const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
    const plain = /filename="([^"]*)"/i.exec(cd);
    let name = plain?.[1] || fallbackName;
    try {
      if (star) name = decodeURIComponent(star[1]);
    } catch {
      /* keep the plain name */
    }
    const url = URL.createObjectURL(await r.blob());
    const a = h('a', { href: url, download: name, class: 'hidden' });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60000);
    this.toolsStatus('');
  }

  async saveSelected(): Promise<void> {
    await this.download('/webmail/save', { ids: [...this.selected].join(',') }, 'mail.zip');
  }

  async backupFolder(): Promise<void> {
    if (this.current) await this.download('/webmail/backup', { mailboxId: this.current.id }, 'mail.mbox');
  }

  // --- keyboard shortcuts: j/k next/previous, r reply, a reply all, f forward, c compose,
  // # delete, / search (not while typing in a field or with the composer open) ---------------
  onKey(e: KeyboardEvent): void {
    if (view !== this || e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target as HTMLElement | null;
    if (target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable)) return;
    if (document.getElementById('compose') || document.getElementById('settings')) return;
    const at = this.openId ? this.ids.indexOf(this.openId) : -1;
    const go = (i: number): void => {
      const id = this.ids[i];
      if (!id) return;
      const top = i * ROW_HEIGHT;
      if (top < this.listScroll.scrollTop || top + ROW_HEIGHT > this.listScroll.scrollTop + this.listScroll.clientHeight) {
        this.listScroll.scrollTop = Math.max(0, top - ROW_HEIGHT);
      }
      void this.open(id, true);
    };
    const open = this.openId;
    switch (e.key) {
      case 'j': go(at + 1); break;
      case 'k': go(Math.max(0, at - 1)); break;
      case 'r': if (open) void this.compose('reply', open); break;
      case 'a': if (open) void this.compose('replyAll', open); break;
      case 'f': if (open) void this.compose('forward', open); break;
      case 'c': void this.compose('new'); break;
      case '#': {
        const m = open ? this.emails.get(open) : undefined;
        if (m) void this.remove(m);
        break;
      }
      case '/': this.searchInput.focus(); break;
      default: return;
    }
    e.preventDefault();
  }

  // --- move by drag: rows onto a folder (the checked rows when the dragged one is checked) ---
  async moveTo(ids: string[], target: Mailbox): Promise<void> {
    const update: Record<string, unknown> = {};
    for (const id of ids) update[id] = { mailboxIds: { [target.id]: true } };
    await jmap!.call('Email/set', { update });
    this.selected.clear();
    await this.refresh();
    this.toolsStatus(t('moved', { folder: mailboxName(target) }));
  }

  async selectMailbox(m: Mailbox): Promise<void> {
    this.current = m;
    this.status = { text: '', error: false };
    this.query = null;
    this.searchInput.value = '';
    await this.showList();
  }

  resetList(): void {
    this.generation++;
    this.idsGeneration = this.generation;
    this.threadSizes.clear();
    this.ids = [];
    this.total = 0;
    this.loadingPages.clear();
    this.renderRows(true);
  }

  onScroll(): void {
    this.renderRows(false);
    window.clearTimeout(this.scrollTimer);
    this.scrollTimer = window.setTimeout(() => void this.ensureVisible(), 60);
  }

  visibleRange(): [number, number] {
    const first = Math.max(0, Math.floor(this.listScroll.scrollTop / ROW_HEIGHT) - 5);
    const count = Math.ceil((this.listScroll.clientHeight || 600) / ROW_HEIGHT) + 10;
    return [first, Math.min(first + count, Math.max(this.total, first + count))];
  }

  // Email/query + Email/get of the pages that cover the visible rows: never the whole folder.
  async ensureVisible(): Promise<void> {
    if (!this.current) return;
    const [first, last] = this.visibleRange();
    const pages = new Set<number>();
    for (let p = Math.floor(first / PAGE); p * PAGE < last; p++) {
      if (this.total && p * PAGE >= this.total) break;
      let missing = false;
      for (let i = p * PAGE; i < Math.min((p + 1) * PAGE, this.total || (p + 1) * PAGE); i++) {
        if (!this.ids[i]) missing = true;
      }
      if (missing && !this.loadingPages.has(p)) pages.add(p);
    }
    await Promise.all([...pages].map((p) => this.loadPage(p)));
  }

  // The visible pages asked again after a change (a pushed one included). The rows on screen,
  // and `ids`, stay until the first answer replaces them: emptied meanwhile (as resetList does),
  // a j/k pressed during the round trip found no open message among them and did nothing, and
  // the list blinked to placeholders on every change.
  async reloadVisible(): Promise<void> {
    if (!this.current) return;
    this.generation++;
    this.loadingPages.clear();
    const [first, last] = this.visibleRange();
    const pages: number[] = [];
    for (let p = Math.floor(first / PAGE); p * PAGE < last; p++) {
      if (this.total && p * PAGE >= this.total) break;
      pages.push(p);
    }
    await Promise.all(pages.map((p) => this.loadPage(p)));
  }

  async loadPage(page: number): Promise<void> {
    const gen = this.generation;
    const mailbox = this.current!;
    this.loadingPages.add(page);
    const conversations = this.conversations;
    try {
      const calls: [string, Record<string, unknown>, string][] = [
        ['Email/query', {
          accountId: this.account.accountId,
          filter: this.query !== null ? { text: this.query } : { inMailbox: mailbox.id },
          sort: [{ property: 'receivedAt', isAscending: false }],
          collapseThreads: conversations,
          position: page * PAGE,
          limit: PAGE,
          calculateTotal: true,
        }, 'q'],
        ['Email/get', {
          accountId: this.account.accountId,
          '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
          properties: conversations ? [...SUMMARY_PROPS, 'threadId'] : SUMMARY_PROPS,
        }, 'g'],
      ];
      // The conversation view shows each thread's size: its Emails, by Thread/get.
      if (conversations) {
        calls.push(['Thread/get', {
          accountId: this.account.accountId,
          '#ids': { resultOf: 'g', name: 'Email/get', path: '/list/*/threadId' },
        }, 't']);
      }
      const res = await jmap!.request(calls);
      if (gen !== this.generation) return;
      if (this.idsGeneration !== gen) {
        this.idsGeneration = gen;
        this.ids = [];
        this.threadSizes.clear();
      }
      const [q, g, th] = res;
      if (th && th[0] === 'Thread/get') {
        for (const x of (th[1] as { list: { id: string; emailIds: string[] }[] }).list) this.threadSizes.set(x.id, x.emailIds.length);
      }
      const firstAnswer = this.total === 0;
      if (q[0] === 'error' || g[0] === 'error') throw new Error('list failed');
      const qr = q[1] as { ids: string[]; position: number; total: number };
      this.total = qr.total;
      qr.ids.forEach((id, i) => (this.ids[qr.position + i] = id));
      for (const e of (g[1] as { list: EmailSummary[] }).list) this.emails.set(e.id, e);
      this.renderRows(true);
      if (firstAnswer && this.query !== null) this.renderListTitle();
    } finally {
      this.loadingPages.delete(page);
    }
  }

  renderRows(resize: boolean): void {
    if (resize) this.listInner.style.height = `${this.total * ROW_HEIGHT}px`;
    clear(this.listInner);
    if (this.current && this.total === 0 && this.loadingPages.size === 0 && this.generation > 0) {
      this.listInner.append(h('p', { class: 'empty', id: 'list-empty' }, t('noMessages')));
      return;
    }
    const [first, last] = this.visibleRange();
    for (let i = first; i < Math.min(last, this.total); i++) {
      const id = this.ids[i];
      const e = id ? this.emails.get(id) : undefined;
      const top = `top: ${i * ROW_HEIGHT}px`;
      if (!e) {
        this.listInner.append(h('div', { class: 'row placeholder', style: top }, t('loading')));
        continue;
      }
      const unread = !e.keywords.$seen;
      const position = i;
      const pick = h('input', {
        type: 'checkbox', class: 'pick', 'aria-label': t('select'), checked: this.selected.has(e.id),
        onclick: ((ev: MouseEvent) => {
          ev.stopPropagation();
          this.pick(e.id, position, (ev.target as HTMLInputElement).checked, ev.shiftKey);
        }) as EventListener,
      });
      const row = h('div', {
        class: `row${unread ? ' unread' : ''}${e.id === this.openId ? ' selected' : ''}${this.selected.has(e.id) ? ' picked' : ''}`,
        style: top,
        role: 'button',
        tabindex: 0,
        draggable: 'true',
        'data-id': e.id,
        onclick: () => void this.open(e.id, true),
        onkeydown: ((ev: KeyboardEvent) => { if (ev.key === 'Enter') void this.open(e.id, true); }) as EventListener,
        ondragstart: ((ev: DragEvent) => {
          const ids = this.selected.has(e.id) ? [...this.selected] : [e.id];
          ev.dataTransfer?.setData('application/x-mailroom-ids', JSON.stringify(ids));
          if (ev.dataTransfer) ev.dataTransfer.effectAllowed = 'move';
        }) as EventListener,
      },
        pick,
        h('div', { class: 'line1' },
          h('span', { class: 'from' }, senderText(e.from)),
          this.threadSize(e) > 1
            ? h('span', { class: 'thread-size', title: t('inConversation', { n: this.threadSize(e) }) }, String(this.threadSize(e)))
            : null,
          e.keywords.$flagged ? h('span', { class: 'flag', 'aria-label': t('flag') }, '★') : null,
          h('time', { datetime: e.receivedAt }, formatDate(e.receivedAt))),
        h('div', { class: 'line2' },
          h('span', { class: 'subject' }, e.subject || t('noSubject')),
          h('span', { class: 'size' }, formatSize(e.size))),
        h('div', { class: 'preview' }, e.preview ?? ''));
      this.listInner.append(row);
    }
  }

  showEmptyPane(): void {
    clear(this.pane);
    this.pane.append(h('p', { class: 'empty' }, t('selectMessage')));
  }

  threadSize(e: EmailSummary): number {
    return this.conversations && e.threadId ? this.threadSizes.get(e.threadId) ?? 1 : 1;
  }

  async open(id: string, markSeen: boolean, allowImages = false): Promise<void> {
    this.openId = id;
    this.renderRows(false);
    this.setView('message');
    const summary = this.emails.get(id);
    if (summary && this.threadSize(summary) > 1) {
      await this.openConversation(summary, markSeen);
      return;
    }
    const res = await jmap!.call<{ list: EmailFull[] }>('Email/get', {
      ids: [id],
      properties: FULL_PROPS,
      bodyProperties: BODY_PROPS,
      fetchHTMLBodyValues: true,
      fetchTextBodyValues: true,
      maxBodyValueBytes: 512 * 1024,
    });
    const e = res.list[0];
    if (!e || this.openId !== id) return;
    this.renderMessage(e, allowImages);
    if (markSeen && !e.keywords.$seen) await this.setKeyword(e, '$seen', true);
  }

  // A conversation in the reading pane: every Email of the thread (RFC 8621 Thread/get order,
  // oldest first), each with its sender, date and body; replies go to the newest.
  async openConversation(summary: EmailSummary, markSeen: boolean): Promise<void> {
    const id = summary.id;
    const res = await jmap!.request([
      ['Thread/get', { accountId: this.account.accountId, ids: [summary.threadId] }, 't'],
      ['Email/get', {
        accountId: this.account.accountId,
        '#ids': { resultOf: 't', name: 'Thread/get', path: '/list/*/emailIds' },
        properties: FULL_PROPS,
        bodyProperties: BODY_PROPS,
        fetchHTMLBodyValues: true,
        fetchTextBodyValues: true,
        maxBodyValueBytes: 256 * 1024,
      }, 'g'],
    ]);
    if (this.openId !== id) return;
    const [, g] = res;
    if (g[0] === 'error') throw new Error('conversation failed');
    const list = (g[1] as { list: EmailFull[] }).list;
    if (!list.length) return;
    const newest = list[list.length - 1];
    clear(this.pane);
    const toolbar = h('div', { class: 'toolbar' },
      h('button', { id: 'back', class: 'phone-only', onclick: () => this.setView('list') }, t('back')),
      h('button', { id: 'reply', onclick: () => void this.compose('reply', newest.id) }, t('reply')),
      h('button', { id: 'reply-all', onclick: () => void this.compose('replyAll', newest.id) }, t('replyAll')),
      h('button', { id: 'forward', onclick: () => void this.compose('forward', newest.id) }, t('forward')));
    this.pane.append(toolbar,
      h('h1', { id: 'msg-subject' }, list[0].subject || t('noSubject')),
      h('p', { id: 'conversation-size', class: 'muted' }, t('inConversation', { n: list.length })));
    for (const e of list) {
      const article = h('article', { class: 'conversation-message', 'data-id': e.id },
        h('dl', { class: 'headers' },
          h('dt', {}, t('from')), h('dd', { class: 'conv-from' }, addressText(e.from)),
          h('dt', {}, t('date')), h('dd', {}, formatFullDate(e.receivedAt))));
      const html = e.htmlBody?.find((p) => p.type === 'text/html');
      if (html && e.bodyValues[html.partId]) {
        article.append(this.frame(sanitizeHtml(e.bodyValues[html.partId].value, false).html, false, false));
      } else {
        const text = (e.textBody ?? []).map((p) => e.bodyValues[p.partId]?.value ?? '').join('\n');
        article.append(h('div', { class: 'text-body conv-text' }, text));
      }
      this.pane.append(article);
    }
    if (markSeen) {
      const unseen = list.filter((e) => !e.keywords.$seen);
      if (unseen.length) {
        const update: Record<string, unknown> = {};
        for (const e of unseen) update[e.id] = { 'keywords/$seen': true };
        await jmap!.call('Email/set', { update });
        const cached = this.emails.get(id);
        if (cached) cached.keywords = { ...cached.keywords, $seen: true };
        this.renderRows(false);
        await this.loadMailboxes();
      }
    }
  }

  renderMessage(e: EmailFull, allowImages: boolean): void {
    clear(this.pane);
    const inTrash = this.current?.role === 'trash';
    const flagged = !!e.keywords.$flagged;
    const toolbar = h('div', { class: 'toolbar' },
      h('button', { id: 'back', class: 'phone-only', onclick: () => this.setView('list') }, t('back')),
      h('button', { id: 'flag', onclick: () => void this.setKeyword(e, '$flagged', !flagged).then(() => this.open(e.id, false, allowImages)) },
        flagged ? t('unflag') : t('flag')),
      h('button', { id: 'delete', onclick: () => void this.remove(e) }, inTrash ? t('deleteForever') : t('delete')),
      e.keywords.$draft ? h('button', { id: 'edit-draft', onclick: () => void this.compose('draft', e.id) }, t('editDraft')) : null,
      h('button', { id: 'reply', onclick: () => void this.compose('reply', e.id) }, t('reply')),
      h('button', { id: 'reply-all', onclick: () => void this.compose('replyAll', e.id) }, t('replyAll')),
      h('button', { id: 'forward', onclick: () => void this.compose('forward', e.id) }, t('forward')),
      h('button', { id: 'forward-attachment', onclick: () => void this.compose('forwardAttachment', e.id) }, t('forwardAttachment')));
    const headers = h('dl', { class: 'headers' },
      h('dt', {}, t('from')), h('dd', { id: 'msg-from' }, addressText(e.from)),
      h('dt', {}, t('to')), h('dd', {}, addressText(e.to)),
      e.cc?.length ? h('dt', {}, t('cc')) : null, e.cc?.length ? h('dd', {}, addressText(e.cc)) : null,
      h('dt', {}, t('date')), h('dd', {}, formatFullDate(e.receivedAt)));
    this.pane.append(toolbar, h('h1', { id: 'msg-subject' }, e.subject || t('noSubject')), headers);
    // RFC 8621 4.1.4 puts an image shown inline in a multipart/mixed in textBody, not in
    // attachments: list those too, once.
    const inlineMedia = [...(e.textBody ?? []), ...(e.htmlBody ?? [])]
      .filter((p) => !/^text\/(plain|html)$/i.test(p.type)) as Attachment[];
    const seen = new Set<string>();
    const parts = [...(e.attachments ?? []), ...inlineMedia].filter((p) => !seen.has(p.partId) && !!seen.add(p.partId));
    const files = attachmentList(jmap!, parts);
    if (files) this.pane.append(files);

    const html = e.htmlBody?.find((p) => p.type === 'text/html');
    if (html && e.bodyValues[html.partId]) {
      // The frame goes in its place once the message's own cid: images are fetched.
      const slot = h('div', { class: 'html-body' });
      this.pane.append(slot);
      const source = e.bodyValues[html.partId].value;
      void inlineImages(jmap!, parts, source).then((inline) => {
        if (this.openId !== e.id) return;
        const clean = sanitizeHtml(source, allowImages, inline);
        if (clean.remoteImages > 0 && !allowImages) {
          slot.append(h('div', { class: 'notice', id: 'images-blocked' }, t('imagesBlocked'),
            h('button', { id: 'show-images', onclick: () => void this.open(e.id, false, true) }, t('showImages'))));
        }
        slot.append(this.frame(clean.html, allowImages));
      });
    } else {
      const text = (e.textBody ?? []).map((p) => e.bodyValues[p.partId]?.value ?? '').join('\n');
      this.pane.append(h('div', { id: 'msg-text', class: 'text-body' }, text));
    }
  }

  // The sanitised HTML goes to the server's /webmail/frame by a form post into a sandboxed
  // iframe (no scripts, no same-origin), and comes back as a document with its own CSP.
  frame(html: string, allowImages: boolean, main = true): HTMLElement {
    const name = `msg-frame-${Date.now()}-${++frameCounter}`;
    const iframe = h('iframe', {
      id: main ? 'msg-frame' : undefined, name, class: 'msg-frame', title: 'message',
      sandbox: 'allow-popups allow-popups-to-escape-sandbox', referrerpolicy: 'no-referrer',
    });
    const form = h('form', { method: 'post', action: '/webmail/frame', target: name, class: 'hidden' },
      h('input', { type: 'hidden', name: 'csrf', value: this.account.csrf }),
      h('input', { type: 'hidden', name: 'images', value: allowImages ? '1' : '0' }));
    const field = h('input', { type: 'hidden', name: 'html' });
    field.value = html;
    form.append(field);
    const wrap = h('div', { class: 'frame-wrap' }, iframe, form);
    queueMicrotask(() => form.submit());
    return wrap;
  }

  // The composer is loaded on first use (a chunk of its own: the first screen stays small).
  async compose(mode: ComposeMode, emailId?: string): Promise<void> {
    const { openCompose } = await import('./compose');
    await openCompose({
      jmap: jmap!,
      account: this.account,
      mailboxes: this.mailboxes,
      changed: () => void this.refresh(),
    }, mode, emailId);
  }

  // The settings screen: loaded on first use, like the composer.
  async settings(): Promise<void> {
    const { openSettings } = await import('./settings');
    openSettings({ jmap: jmap!, account: this.account, signInAgain: () => void this.signOut() });
  }

  async setKeyword(e: EmailSummary, keyword: string, on: boolean): Promise<void> {
    await jmap!.call('Email/set', { update: { [e.id]: { [`keywords/${keyword}`]: on ? true : null } } });
    if (on) e.keywords[keyword] = true;
    else delete e.keywords[keyword];
    const cached = this.emails.get(e.id);
    if (cached && cached !== e) cached.keywords = { ...e.keywords };
    this.renderRows(false);
    if (keyword === '$seen') await this.loadMailboxes();
  }

  async remove(e: EmailSummary): Promise<void> {
    const trash = this.mailboxes.find((m) => m.role === 'trash');
    if (this.current?.role === 'trash' || !trash) {
      await jmap!.call('Email/set', { destroy: [e.id] });
    } else {
      await jmap!.call('Email/set', { update: { [e.id]: { mailboxIds: { [trash.id]: true } } } });
    }
    this.openId = null;
    this.showEmptyPane();
    this.setView('list');
    await this.refresh();
  }

  async refresh(): Promise<void> {
    await this.loadMailboxes();
    await this.reloadVisible();
  }

  // Email/changes since the last state: the list and the folder counts are refreshed when
  // anything changed.
  async poll(): Promise<void> {
    if (!this.emailState) return;
    try {
      const res = await jmap!.request([['Email/changes', { accountId: this.account.accountId, sinceState: this.emailState, maxChanges: 500 }, 'c']]);
      const [c] = res;
      if (c[0] === 'error') {
        const st = await jmap!.call<{ state: string }>('Email/get', { ids: [] });
        this.emailState = st.state;
        await this.refresh();
        return;
      }
      const ch = c[1] as { newState: string; created: string[]; updated: string[]; destroyed: string[]; hasMoreChanges: boolean };
      this.emailState = ch.newState;
      if (ch.created.length || ch.updated.length || ch.destroyed.length) await this.refresh();
    } catch {
      /* the next poll tries again; a 401 already went back to the sign-in screen */
    }
  }
}

let view: MailView | null = null;

function startMail(account: Account): void {
  view?.stop();
  jmap = new Jmap(account);
  jmap.onSessionEnded = () => {
    view?.stop();
    view = null;
    showSignIn(t('sessionEnded'));
  };
  view = new MailView(account);
  void view.start();
}

async function boot(): Promise<void> {
  setLang(lang());
  try {
    const account = await currentSession();
    if (account) startMail(account);
    else showSignIn();
  } catch {
    showSignIn(t('failed'));
  }
}

void boot();
