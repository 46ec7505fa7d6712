// Company sign-in (OpenID Connect, src/webmail/sso.h) on the sign-in screen: one
// "Sign in with <company>" button per configured provider (none when GET /webmail/sso is not
// there), and the message of a failed SSO sign-in, which the server reports as
// /webmail/?sso_error=<code>. Its strings live here, in the three languages of i18n.ts.
import { h } from './dom';
import { lang } from './i18n';

interface Provider {
  id: string;
  name: string;
}

const MESSAGES: Record<string, Record<string, string>> = {
  en: {
    button: 'Sign in with {name}',
    or: 'or with your password',
    request: 'The sign-in answer was not understood. Try again.',
    denied: 'Sign-in was cancelled at your company’s sign-in page.',
    provider: 'Your company’s sign-in page reported an error. Try again later.',
    state: 'This sign-in link was already used or belongs to another window. Start again.',
    expired: 'The sign-in took too long. Start again.',
    token: 'Company sign-in failed: the server could not confirm your identity. Ask your administrator.',
    unavailable: 'Company sign-in is not available right now. Try again later.',
    no_account: 'Your company account has no mailbox here. Ask your administrator.',
    disabled: 'This mailbox is disabled. Ask your administrator.',
    not_allowed: 'Company sign-in is not allowed for this mailbox.',
    busy: 'Too many people are signed in right now. Try again later.',
  },
  'zh-TW': {
    button: '使用 {name} 登入',
    or: '或使用密碼登入',
    request: '無法解讀登入回應，請再試一次。',
    denied: '已在公司登入頁面取消登入。',
    provider: '公司登入頁面回報錯誤，請稍後再試。',
    state: '此登入連結已使用過或屬於其他視窗，請重新開始。',
    expired: '登入逾時，請重新開始。',
    token: '公司登入失敗：伺服器無法確認您的身分，請洽系統管理員。',
    unavailable: '公司登入目前無法使用，請稍後再試。',
    no_account: '您的公司帳號在此沒有信箱，請洽系統管理員。',
    disabled: '此信箱已停用，請洽系統管理員。',
    not_allowed: '此信箱不允許使用公司登入。',
    busy: '目前登入人數過多，請稍後再試。',
  },
  'zh-CN': {
    button: '使用 {name} 登录',
    or: '或使用密码登录',
    request: '无法解析登录响应，请重试。',
    denied: '已在公司登录页面取消登录。',
    provider: '公司登录页面报告了错误，请稍后再试。',
    state: '此登录链接已使用或属于其他窗口，请重新开始。',
    expired: '登录超时，请重新开始。',
    token: '公司登录失败：服务器无法确认您的身份，请联系管理员。',
    unavailable: '公司登录暂时不可用，请稍后再试。',
    no_account: '您的公司账号在此没有邮箱，请联系管理员。',
    disabled: '此邮箱已停用，请联系管理员。',
    not_allowed: '此邮箱不允许使用公司登录。',
    busy: '当前登录人数过多，请稍后再试。',
  },
};

function msg(key: string): string {
  return (MESSAGES[lang()] ?? MESSAGES.en)[key] ?? MESSAGES.en[key] ?? '';
}

// The error of the SSO sign-in that just came back ('' when none); taken out of the address
// bar so a reload does not show it again.
let pendingError: string | null = null;
export function ssoError(): string {
  if (pendingError === null) {
    const params = new URLSearchParams(location.search);
    const code = params.get('sso_error') ?? '';
    pendingError = code ? msg(code) || msg('token') : '';
    if (code) history.replaceState(null, '', location.pathname);
  }
  const out = pendingError;
  pendingError = '';
  return out;
}

let providers: Promise<Provider[]> | null = null;
function loadProviders(): Promise<Provider[]> {
  providers ??= fetch('/webmail/sso', { credentials: 'same-origin', cache: 'no-store' })
    .then(async (r) => (r.ok ? ((await r.json()) as { providers: Provider[] }).providers : []))
    .catch(() => []);
  return providers;
}

// Fills `box` with the providers' buttons (links: the sign-in is a navigation to the
// provider and back).
export function ssoButtons(box: HTMLElement): void {
  void loadProviders().then((list) => {
    if (!list.length) return;
    for (const p of list) {
      box.append(h('a', { class: 'sso-button', id: `sso-${p.id}`, href: `/webmail/sso/start?provider=${encodeURIComponent(p.id)}` },
        msg('button').replace('{name}', p.name)));
    }
    box.append(h('p', { class: 'sso-or' }, msg('or')));
  });
}
