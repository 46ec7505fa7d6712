// The settings screen (loaded on first use: main.ts imports it lazily, so the first screen
// stays small), three tabs:
//  - block and allow lists with the "Ads" and blocked-mail choices: /webmail/api/personal-lists
//    (src/webmail/settings.h; the same service as mailroomctl and the admin API);
//  - the vacation reply: JMAP VacationResponse/get and /set (RFC 8621 8);
//  - app passwords: /webmail/api/app-passwords (list, create with the secret shown once,
//    revoke; creating needs a recent sign-in).
import { clear, h } from './dom';
import { lang } from './i18n';
import { Account, ApiError, Jmap } from './jmap';
import { SettingsKey, st } from './settings_i18n';

export type SettingsTab = 'lists' | 'vacation' | 'appPasswords';

export interface SettingsHost {
  jmap: Jmap;
  account: Account;
  // Ends the session and shows the sign-in screen (app passwords need a recent sign-in).
  signInAgain: () => void;
}

interface Entry {
  kind: string;
  value: string;
}
interface Lists {
  ads: 'inbox' | 'folder';
  blocked: 'discard' | 'junk';
  blocklist: Entry[];
  allowlist: Entry[];
}
interface AppPassword {
  id: string;
  name: string;
  protocols: string[];
  created_at: number;
  last_used_at: number;
}
interface Vacation {
  isEnabled: boolean;
  fromDate: string | null;
  toDate: string | null;
  subject: string | null;
  textBody: string | null;
}

const VACATION = 'urn:ietf:params:jmap:vacationresponse';
const PROTOCOLS = ['imap', 'pop3', 'smtp'];

function dateText(d: Date): string {
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'full' }).format(d);
}
function timeText(unixSeconds: number): string {
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(unixSeconds * 1000));
}
// <input type=date> value (the user's local day) <-> the UTCDate of its start or end.
function dayValue(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
function dayDate(value: string, end: boolean): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  return end ? new Date(+m[1], +m[2] - 1, +m[3], 23, 59, 59) : new Date(+m[1], +m[2] - 1, +m[3], 0, 0, 0);
}
function utcDate(d: Date | null): string | null {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : null;
}

class SettingsView {
  root = h('section', { id: 'settings', class: 'settings', role: 'dialog', 'aria-modal': 'true' });
  body = h('div', { class: 'settings-body' });
  tab: SettingsTab = 'lists';

  constructor(private host: SettingsHost) {}

  onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') this.close();
  };

  open(tab: SettingsTab): void {
    document.body.append(this.root);
    document.addEventListener('keydown', this.onKey);
    void this.show(tab);
  }

  close(): void {
    document.removeEventListener('keydown', this.onKey);
    this.root.remove();
    current = null;
  }

  async show(tab: SettingsTab): Promise<void> {
    this.tab = tab;
    clear(this.root);
    const tabs = h('nav', { class: 'settings-tabs', role: 'tablist' });
    const names: [SettingsTab, SettingsKey][] = [['lists', 'tabLists'], ['vacation', 'tabVacation'], ['appPasswords', 'tabAppPasswords']];
    for (const [id, key] of names) {
      tabs.append(h('button', {
        id: `tab-${id}`, role: 'tab', 'aria-selected': String(id === tab), class: id === tab ? 'selected' : '',
        onclick: () => void this.show(id),
      }, st(key)));
    }
    this.root.append(
      h('div', { class: 'settings-head' }, h('h2', {}, st('title')),
        h('button', { id: 'settings-close', onclick: () => this.close() }, st('close'))),
      tabs, this.body);
    clear(this.body);
    try {
      if (tab === 'lists') await this.renderLists();
      else if (tab === 'vacation') await this.renderVacation();
      else await this.renderAppPasswords();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        clear(this.body);
        this.body.append(h('p', { class: 'error', role: 'alert' }, st('loadFailed')));
      }
    }
  }

  status(id: string): HTMLElement {
    return h('p', { id, class: 'settings-status', role: 'status' });
  }

  // --- block and allow lists ----------------------------------------------------------------
  async renderLists(): Promise<void> {
    const lists = await this.host.jmap.api<Lists>('GET', 'personal-lists');
    this.drawLists(lists);
  }

  drawLists(lists: Lists): void {
    clear(this.body);
    const status = this.status('lists-status');
    const choice = (id: string, label: SettingsKey, value: string, options: [string, SettingsKey][], field: 'ads' | 'blocked'): HTMLElement => {
      const select = h('select', { id });
      for (const [v, key] of options) select.append(h('option', { value: v, selected: v === value }, st(key)));
      select.addEventListener('change', async () => {
        try {
          this.drawLists(await this.host.jmap.api<Lists>('PATCH', 'personal-lists', { [field]: select.value }));
          this.say('lists-status', st('saved'));
        } catch {
          this.say('lists-status', st('saveFailed'), true);
        }
      });
      return h('label', { class: 'settings-field' }, st(label), select);
    };
    this.body.append(
      choice('ads-choice', 'adsLabel', lists.ads, [['folder', 'adsFolder'], ['inbox', 'adsInbox']], 'ads'),
      choice('blocked-choice', 'blockedLabel', lists.blocked, [['junk', 'blockedJunk'], ['discard', 'blockedDiscard']], 'blocked'),
      this.listEditor('blocklist', 'block', st('blockList'), st('blockHelp'), lists.blocklist),
      this.listEditor('allowlist', 'allow', st('allowList'), st('allowHelp'), lists.allowlist),
      status);
  }

  listEditor(list: 'blocklist' | 'allowlist', prefix: string, title: string, help: string, entries: Entry[]): HTMLElement {
    const input = h('input', { id: `${prefix}-input`, type: 'text', autocomplete: 'off', placeholder: st('entryPlaceholder'), 'aria-label': title, maxlength: 320 });
    const form = h('form', { class: 'settings-add' }, input, h('button', { id: `${prefix}-add`, type: 'submit' }, st('add')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const entry = input.value.trim();
      if (!entry) return;
      try {
        this.drawLists(await this.host.jmap.api<Lists>('POST', `personal-lists/${list}`, { entry }));
        this.say('lists-status', st('saved'));
        (document.getElementById(`${prefix}-input`) as HTMLInputElement | null)?.focus();
      } catch (err) {
        const status = err instanceof ApiError ? err.status : 0;
        const why = status === 409 ? st('entryExists') : status === 400 && /full/.test((err as ApiError).detail) ? st('listFull')
          : status === 400 ? st('entryInvalid') : st('saveFailed');
        this.say('lists-status', why, true);
      }
    });
    const ul = h('ul', { id: list, class: 'settings-list' });
    for (const e of entries) {
      ul.append(h('li', { 'data-value': e.value },
        h('span', { class: 'entry' }, e.value),
        h('span', { class: 'kind' }, e.kind === 'domain' ? st('entryDomain') : st('entryAddress')),
        h('button', {
          class: 'remove', 'aria-label': `${st('remove')} ${e.value}`,
          onclick: async () => {
            try {
              this.drawLists(await this.host.jmap.api<Lists>('DELETE', `personal-lists/${list}/${encodeURIComponent(e.value)}`));
              this.say('lists-status', st('saved'));
            } catch {
              this.say('lists-status', st('saveFailed'), true);
            }
          },
        }, st('remove'))));
    }
    if (!entries.length) ul.append(h('li', { class: 'empty' }, st('empty')));
    return h('section', { class: 'settings-section' }, h('h3', {}, title), h('p', { class: 'help' }, help), form, ul);
  }

  say(id: string, text: string, error = false): void {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('error', error);
  }

  // --- vacation reply (JMAP VacationResponse, RFC 8621 8) -----------------------------------
  async renderVacation(): Promise<void> {
    const res = await this.host.jmap.call<{ list: Vacation[] }>('VacationResponse/get', { ids: null }, [VACATION]);
    const v = res.list[0] ?? { isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null };
    clear(this.body);
    const enabled = h('input', { id: 'vac-enabled', type: 'checkbox', checked: v.isEnabled });
    const from = h('input', { id: 'vac-from', type: 'date', value: dayValue(v.fromDate) });
    const to = h('input', { id: 'vac-to', type: 'date', value: dayValue(v.toDate) });
    const subject = h('input', { id: 'vac-subject', type: 'text', maxlength: 900, value: v.subject ?? '' });
    const text = h('textarea', { id: 'vac-body', rows: 6 });
    text.value = v.textBody ?? '';
    const summary = h('p', { id: 'vac-summary', class: 'help' });
    const describe = (): void => {
      const f = dayDate(from.value, false);
      const tt = dayDate(to.value, true);
      summary.textContent = !enabled.checked ? st('vacOff')
        : f && tt ? st('vacRange', { from: dateText(f), to: dateText(tt) })
        : f ? st('vacFromOnly', { from: dateText(f) }) : tt ? st('vacToOnly', { to: dateText(tt) }) : st('vacAlways');
    };
    for (const el of [enabled, from, to]) el.addEventListener('change', describe);
    describe();
    const form = h('form', { id: 'vacation', class: 'settings-form' },
      h('label', { class: 'settings-check' }, enabled, st('vacEnabled')),
      h('div', { class: 'settings-dates' },
        h('label', { class: 'settings-field' }, st('vacFrom'), from),
        h('label', { class: 'settings-field' }, st('vacTo'), to)),
      summary,
      h('label', { class: 'settings-field' }, st('vacSubject'), subject),
      h('label', { class: 'settings-field' }, st('vacBody'), text),
      h('div', { class: 'settings-actions' }, h('button', { id: 'vac-save', type: 'submit', class: 'primary' }, st('vacSave'))),
      this.status('vac-status'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = dayDate(from.value, false);
      const tt = dayDate(to.value, true);
      if (f && tt && tt < f) {
        this.say('vac-status', st('vacBadRange'), true);
        return;
      }
      try {
        const r = await this.host.jmap.call<{ updated?: Record<string, unknown> }>('VacationResponse/set', {
          update: { singleton: {
            isEnabled: enabled.checked, fromDate: utcDate(f), toDate: utcDate(tt),
            subject: subject.value.trim() || null, textBody: text.value || null,
          } },
        }, [VACATION]);
        if (!r.updated || !('singleton' in r.updated)) throw new Error('not updated');
        this.say('vac-status', st('saved'));
      } catch {
        this.say('vac-status', st('saveFailed'), true);
      }
    });
    this.body.append(form);
  }

  // --- app passwords ------------------------------------------------------------------------
  async renderAppPasswords(secret?: { name: string; value: string }): Promise<void> {
    const res = await this.host.jmap.api<{ items: AppPassword[]; max: number; reauth: boolean; allowed: boolean }>('GET', 'app-passwords');
    clear(this.body);
    this.body.append(h('p', { class: 'help' }, st('apHelp')));
    if (secret) {
      const copy = h('button', { id: 'ap-copy', type: 'button' }, st('apCopy'));
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(secret.value);
          this.say('ap-status', st('apCopied'));
        } catch {
          window.getSelection()?.selectAllChildren(document.getElementById('ap-secret-value')!);
        }
      });
      this.body.append(h('div', { id: 'ap-secret', class: 'notice settings-secret', role: 'alert' },
        h('strong', {}, `${st('apSecretTitle')} (${secret.name})`),
        h('code', { id: 'ap-secret-value' }, secret.value), copy,
        h('span', {}, st('apSecretOnce'))));
    }
    const table = h('ul', { id: 'app-passwords', class: 'settings-list' });
    for (const p of res.items) {
      table.append(h('li', { 'data-id': p.id, 'data-name': p.name },
        h('span', { class: 'entry' }, p.name),
        h('span', { class: 'kind' }, `${st('apProtocols')}: ${p.protocols.length ? p.protocols.join(', ').toUpperCase() : st('apAll')}`),
        h('span', { class: 'kind' }, `${st('apCreated')}: ${timeText(p.created_at)}`),
        h('span', { class: 'kind' }, `${st('apLastUsed')}: ${p.last_used_at ? timeText(p.last_used_at) : st('apNever')}`),
        h('button', {
          class: 'remove', 'aria-label': `${st('apRevoke')} ${p.name}`,
          onclick: async () => {
            try {
              await this.host.jmap.api('DELETE', `app-passwords/${encodeURIComponent(p.id)}`);
              await this.renderAppPasswords();
              this.say('ap-status', st('apRevoked'));
            } catch {
              this.say('ap-status', st('saveFailed'), true);
            }
          },
        }, st('apRevoke'))));
    }
    if (!res.items.length) table.append(h('li', { class: 'empty' }, st('apNone')));
    this.body.append(h('p', { id: 'ap-count', class: 'help' }, st('apCount', { n: res.items.length, max: res.max })), table);

    if (!res.allowed) {
      this.body.append(h('p', { id: 'ap-policy', class: 'help' }, st('apPolicy')));
    } else if (res.reauth) {
      this.body.append(h('div', { id: 'ap-reauth', class: 'notice' }, st('apReauth'),
        h('button', { id: 'ap-signin', onclick: () => this.host.signInAgain() }, st('apSignInAgain'))));
    } else if (res.items.length >= res.max) {
      this.body.append(h('p', { id: 'ap-limit', class: 'help' }, st('apLimit')));
    } else {
      this.body.append(this.appPasswordForm());
    }
    this.body.append(this.status('ap-status'));
  }

  appPasswordForm(): HTMLElement {
    const name = h('input', { id: 'ap-name', type: 'text', maxlength: 64, placeholder: st('apNamePlaceholder'), autocomplete: 'off' });
    const boxes = PROTOCOLS.map((p) => h('input', { type: 'checkbox', id: `ap-proto-${p}`, value: p, checked: true }));
    const form = h('form', { id: 'ap-form', class: 'settings-form' },
      h('label', { class: 'settings-field' }, st('apName'), name),
      h('fieldset', { class: 'settings-protocols' }, h('legend', {}, st('apProtocols')),
        ...boxes.map((b) => h('label', { class: 'settings-check' }, b, (b.value as string).toUpperCase()))),
      h('div', { class: 'settings-actions' }, h('button', { id: 'ap-create', type: 'submit', class: 'primary' }, st('apCreate'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const n = name.value.trim();
      if (!n) {
        this.say('ap-status', st('apNameMissing'), true);
        return;
      }
      const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!chosen.length) {
        this.say('ap-status', st('apProtocolMissing'), true);
        return;
      }
      try {
        const created = await this.host.jmap.api<AppPassword & { secret: string }>('POST', 'app-passwords', {
          name: n, protocols: chosen.length === PROTOCOLS.length ? [] : chosen,
        });
        await this.renderAppPasswords({ name: created.name, value: created.secret });
      } catch (err) {
        if (err instanceof ApiError && err.reauth) {
          await this.renderAppPasswords();
          return;
        }
        this.say('ap-status', st('apFailed', { why: err instanceof ApiError ? err.detail : '' }), true);
      }
    });
    return form;
  }
}

let current: SettingsView | null = null;

export function openSettings(host: SettingsHost, tab: SettingsTab = 'lists'): void {
  current?.close();
  current = new SettingsView(host);
  current.open(tab);
}
