// Message catalogs (English, Traditional Chinese, Simplified Chinese) and Intl formatting.
// The language comes from localStorage (the user's choice), else navigator.languages.

export type Lang = 'en' | 'zh-TW' | 'zh-CN';
export const LANGS: { id: Lang; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh-TW', label: '繁體中文' },
  { id: 'zh-CN', label: '简体中文' },
];

const en = {
  appName: 'Mailroom',
  signIn: 'Sign in',
  signInTitle: 'Sign in to your mailbox',
  username: 'User name or address',
  password: 'Password',
  signingIn: 'Signing in…',
  signOut: 'Sign out',
  badLogin: 'Wrong user name or password.',
  throttled: 'Too many failed sign-ins. Try again later.',
  needHttps: 'Sign-in needs a secure (HTTPS) connection.',
  unavailable: 'The server cannot sign you in right now. Try again later.',
  failed: 'Something went wrong. Try again.',
  language: 'Language',
  folders: 'Folders',
  back: 'Back',
  noMessages: 'No messages in this folder.',
  noSubject: '(no subject)',
  loading: 'Loading…',
  selectMessage: 'Select a message to read it.',
  from: 'From',
  to: 'To',
  cc: 'Cc',
  date: 'Date',
  flag: 'Flag',
  unflag: 'Unflag',
  delete: 'Delete',
  deleteForever: 'Delete permanently',
  showImages: 'Show images',
  imagesBlocked: 'Remote images in this message are blocked to protect your privacy.',
  unread: '{n} unread',
  messages: '{n} messages',
  sessionEnded: 'Your session ended. Sign in again.',
  'role.inbox': 'Inbox',
  'role.sent': 'Sent',
  'role.drafts': 'Drafts',
  'role.trash': 'Trash',
  'role.junk': 'Junk',
  'role.archive': 'Archive',
};
type Key = keyof typeof en;
type Catalog = Record<Key, string>;

const zhTW: Catalog = {
  appName: 'Mailroom',
  signIn: '登入',
  signInTitle: '登入您的信箱',
  username: '帳號或電子郵件地址',
  password: '密碼',
  signingIn: '登入中…',
  signOut: '登出',
  badLogin: '帳號或密碼錯誤。',
  throttled: '登入失敗次數過多，請稍後再試。',
  needHttps: '登入需要安全連線（HTTPS）。',
  unavailable: '伺服器目前無法讓您登入，請稍後再試。',
  failed: '發生錯誤，請再試一次。',
  language: '語言',
  folders: '郵件夾',
  back: '返回',
  noMessages: '此郵件夾沒有郵件。',
  noSubject: '（無主旨）',
  loading: '載入中…',
  selectMessage: '請選擇一封郵件閱讀。',
  from: '寄件者',
  to: '收件者',
  cc: '副本',
  date: '日期',
  flag: '標記',
  unflag: '取消標記',
  delete: '刪除',
  deleteForever: '永久刪除',
  showImages: '顯示圖片',
  imagesBlocked: '為保護您的隱私，已封鎖此郵件中的遠端圖片。',
  unread: '{n} 封未讀',
  messages: '{n} 封郵件',
  sessionEnded: '您的登入已結束，請重新登入。',
  'role.inbox': '收件匣',
  'role.sent': '寄件備份',
  'role.drafts': '草稿',
  'role.trash': '垃圾桶',
  'role.junk': '垃圾郵件',
  'role.archive': '封存',
};

const zhCN: Catalog = {
  appName: 'Mailroom',
  signIn: '登录',
  signInTitle: '登录您的邮箱',
  username: '账号或电子邮件地址',
  password: '密码',
  signingIn: '登录中…',
  signOut: '退出',
  badLogin: '账号或密码错误。',
  throttled: '登录失败次数过多，请稍后再试。',
  needHttps: '登录需要安全连接（HTTPS）。',
  unavailable: '服务器暂时无法让您登录，请稍后再试。',
  failed: '出错了，请重试。',
  language: '语言',
  folders: '文件夹',
  back: '返回',
  noMessages: '此文件夹没有邮件。',
  noSubject: '（无主题）',
  loading: '加载中…',
  selectMessage: '请选择一封邮件阅读。',
  from: '发件人',
  to: '收件人',
  cc: '抄送',
  date: '日期',
  flag: '标记',
  unflag: '取消标记',
  delete: '删除',
  deleteForever: '永久删除',
  showImages: '显示图片',
  imagesBlocked: '为保护您的隐私，已阻止此邮件中的远程图片。',
  unread: '{n} 封未读',
  messages: '{n} 封邮件',
  sessionEnded: '您的登录已结束，请重新登录。',
  'role.inbox': '收件箱',
  'role.sent': '已发送',
  'role.drafts': '草稿',
  'role.trash': '已删除',
  'role.junk': '垃圾邮件',
  'role.archive': '归档',
};

const catalogs: Record<Lang, Catalog> = { en, 'zh-TW': zhTW, 'zh-CN': zhCN };
const STORAGE_KEY = 'mailroom.lang';

export function pickLanguage(preferred: readonly string[]): Lang {
  for (const raw of preferred) {
    const l = raw.toLowerCase();
    if (l === 'zh-tw' || l === 'zh-hk' || l === 'zh-mo' || l.startsWith('zh-hant')) return 'zh-TW';
    if (l === 'zh' || l === 'zh-cn' || l === 'zh-sg' || l.startsWith('zh-hans')) return 'zh-CN';
    if (l.startsWith('zh-')) return 'zh-CN';
    if (l === 'en' || l.startsWith('en-')) return 'en';
  }
  return 'en';
}

function initial(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && saved in catalogs) return saved as Lang;
  } catch {
    /* storage disabled: follow the browser */
  }
  return pickLanguage(navigator.languages ?? [navigator.language]);
}

let current: Lang = initial();

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    /* not kept: still switched for this page */
  }
  document.documentElement.lang = l;
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  let s = catalogs[current][key] ?? en[key];
  for (const [k, v] of Object.entries(vars)) s = s.replace(`{${k}}`, formatNumber(v));
  return s;
}

export function hasKey(key: string): key is Key {
  return key in en;
}

function formatNumber(v: string | number): string {
  return typeof v === 'number' ? new Intl.NumberFormat(current).format(v) : v;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return new Intl.DateTimeFormat(current, sameDay ? { hour: 'numeric', minute: '2-digit' }
                                                  : { year: 'numeric', month: 'short', day: 'numeric' }).format(d);
}

export function formatFullDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(current, { dateStyle: 'full', timeStyle: 'short' }).format(d);
}

export function formatSize(bytes: number): string {
  const units: [string, number][] = [['gigabyte', 1 << 30], ['megabyte', 1 << 20], ['kilobyte', 1 << 10]];
  for (const [unit, n] of units) {
    if (bytes >= n) {
      return new Intl.NumberFormat(current, { style: 'unit', unit, maximumFractionDigits: 1 }).format(bytes / n);
    }
  }
  return new Intl.NumberFormat(current, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(bytes);
}
