// The account's quota in the folder pane: JMAP Quota/get (RFC 9425), one line and a meter per
// limit the account has (storage in octets, number of messages); nothing when it has none.
import { h } from './dom';
import { formatSize, t } from './i18n';

export interface Quota {
  id: string;
  resourceType: 'octets' | 'count' | string;
  used: number;
  hardLimit: number;
}

export function quotaView(quotas: Quota[], into: HTMLElement): void {
  into.replaceChildren();
  for (const q of quotas) {
    if (!(q.hardLimit > 0)) continue;
    const octets = q.resourceType === 'octets';
    const text = octets
      ? t('quotaStorage', { used: formatSize(q.used), limit: formatSize(q.hardLimit) })
      : t('quotaMessages', { used: q.used, limit: q.hardLimit });
    const full = q.used >= q.hardLimit;
    into.append(h('div', { class: `quota-line${full ? ' full' : ''}`, 'data-quota': q.id },
      h('span', { class: 'quota-text' }, text),
      h('meter', { min: 0, max: q.hardLimit, low: q.hardLimit * 0.8, high: q.hardLimit * 0.95, optimum: 0, value: q.used })));
  }
}
