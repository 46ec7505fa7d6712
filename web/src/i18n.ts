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
  settings: 'Settings',
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
  compose: 'Compose',
  newMessage: 'New message',
  reply: 'Reply',
  replyAll: 'Reply all',
  forward: 'Forward',
  forwardAttachment: 'Forward as attachment',
  editDraft: 'Edit draft',
  close: 'Close',
  bcc: 'Bcc',
  subject: 'Subject',
  attach: 'Attach files',
  dropFiles: 'Drop files here to attach them.',
  remove: 'Remove',
  send: 'Send',
  saveDraft: 'Save draft',
  discard: 'Discard',
  saving: 'Saving…',
  sending: 'Sending…',
  draftSaved: 'Draft saved.',
  saveFailed: 'The draft could not be saved.',
  sendFailed: 'The message was not sent.',
  tooLarge: 'The message is too large.',
  overQuota: 'Your mailbox is full.',
  badAddress: 'An address is not valid.',
  noIdentity: 'You have no address to send from.',
  wrote: 'On {date}, {who} wrote:',
  forwardedHeader: '---------- Forwarded message ----------',
  'sendError.forbiddenFrom': 'You may not send from this address.',
  'sendError.invalidRecipients': 'Some recipients do not exist or cannot receive mail:',
  'sendError.forbiddenToSend': 'You may not send this message to these recipients.',
  'sendError.tooLarge': 'The message is too large to send.',
  'sendError.noRecipients': 'Add at least one recipient.',
  'sendError.tooManyRecipients': 'Too many recipients.',
  'sendError.forbiddenMailFrom': 'You may not send as this sender.',
  search: 'Search mail',
  searchResults: 'Results for “{q}” · {n}',
  clearSearch: 'Clear search',
  select: 'Select',
  selected: '{n} selected',
  downloadSelected: 'Download (ZIP)',
  clearSelection: 'Clear selection',
  backupFolder: 'Back up folder (mbox)',
  preparing: 'Preparing the download…',
  exportTooLarge: 'Too much mail for one download. Select fewer messages.',
  exportFailed: 'The download failed.',
  moved: 'Moved to {folder}.',
  attachments: 'Attachments',
  download: 'Download',
  preview: 'Preview',
  open: 'Open',
  previewFailed: 'The preview could not be shown. Download the file instead.',
  previewCut: 'Only the beginning is shown. Download the file to see all of it.',
  converting: 'Converting to PDF…',
  openPdf: 'Open as PDF',
  convertBusy: 'Other documents are being converted. Try again in a moment.',
  convertFailed: 'This document could not be converted. Download it instead.',
  convertTimeout: 'Converting this document took too long. Download it instead.',
  convertTooLarge: 'This document is too large to preview. Download it instead.',
  downloadOnly: 'Download only',
  unnamedAttachment: 'Unnamed attachment',
  quotaStorage: '{used} of {limit} used',
  quotaMessages: '{used} of {limit} messages',
  'role.inbox': 'Inbox',
  'role.sent': 'Sent',
  'role.drafts': 'Drafts',
  'role.trash': 'Trash',
  'role.junk': 'Junk',
  'role.archive': 'Archive',
  conversationView: 'Conversations',
  inConversation: '{n} messages in this conversation',
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
  settings: '設定',
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
  compose: '撰寫',
  newMessage: '新郵件',
  reply: '回覆',
  replyAll: '全部回覆',
  forward: '轉寄',
  forwardAttachment: '以附件轉寄',
  editDraft: '編輯草稿',
  close: '關閉',
  bcc: '密件副本',
  subject: '主旨',
  attach: '附加檔案',
  dropFiles: '將檔案拖放到這裡即可附加。',
  remove: '移除',
  send: '傳送',
  saveDraft: '儲存草稿',
  discard: '捨棄',
  saving: '儲存中…',
  sending: '傳送中…',
  draftSaved: '草稿已儲存。',
  saveFailed: '無法儲存草稿。',
  sendFailed: '郵件未送出。',
  tooLarge: '郵件太大。',
  overQuota: '您的信箱已滿。',
  badAddress: '有地址格式不正確。',
  noIdentity: '您沒有可用來寄信的地址。',
  wrote: '{who} 於 {date} 寫道：',
  forwardedHeader: '---------- 轉寄的郵件 ----------',
  'sendError.forbiddenFrom': '您不能以此地址寄信。',
  'sendError.invalidRecipients': '部分收件者不存在或無法收信：',
  'sendError.forbiddenToSend': '您不能將此郵件寄給這些收件者。',
  'sendError.tooLarge': '郵件太大，無法寄出。',
  'sendError.noRecipients': '請至少填寫一位收件者。',
  'sendError.tooManyRecipients': '收件者太多。',
  'sendError.forbiddenMailFrom': '您不能以此寄件者身分寄信。',
  search: '搜尋郵件',
  searchResults: '「{q}」的搜尋結果 · {n}',
  clearSearch: '清除搜尋',
  select: '選取',
  selected: '已選取 {n} 封',
  downloadSelected: '下載（ZIP）',
  clearSelection: '取消選取',
  backupFolder: '備份郵件夾（mbox）',
  preparing: '正在準備下載…',
  exportTooLarge: '郵件太多，無法一次下載，請少選幾封。',
  exportFailed: '下載失敗。',
  moved: '已移至 {folder}。',
  attachments: '附件',
  download: '下載',
  preview: '預覽',
  open: '開啟',
  previewFailed: '無法顯示預覽，請下載檔案。',
  previewCut: '僅顯示開頭部分，請下載檔案以查看全文。',
  converting: '正在轉換為 PDF…',
  openPdf: '以 PDF 開啟',
  convertBusy: '其他文件正在轉換中，請稍後再試。',
  convertFailed: '無法轉換此文件，請下載檔案。',
  convertTimeout: '此文件轉換時間過長，請下載檔案。',
  convertTooLarge: '此文件太大，無法預覽，請下載檔案。',
  downloadOnly: '僅供下載',
  unnamedAttachment: '未命名附件',
  quotaStorage: '已使用 {used}，上限 {limit}',
  quotaMessages: '{used} 封郵件，上限 {limit} 封',
  'role.inbox': '收件匣',
  'role.sent': '寄件備份',
  'role.drafts': '草稿',
  'role.trash': '垃圾桶',
  'role.junk': '垃圾郵件',
  'role.archive': '封存',
  conversationView: '對話檢視',
  inConversation: '此對話共 {n} 封郵件',
};

const zhCN: Catalog = {
  appName: 'Mailroom',
  signIn: '登录',
  signInTitle: '登录您的邮箱',
  username: '账号或电子邮件地址',
  password: '密码',
  signingIn: '登录中…',
  signOut: '退出',
  settings: '设置',
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
  compose: '写邮件',
  newMessage: '新邮件',
  reply: '回复',
  replyAll: '全部回复',
  forward: '转发',
  forwardAttachment: '作为附件转发',
  editDraft: '编辑草稿',
  close: '关闭',
  bcc: '密送',
  subject: '主题',
  attach: '添加附件',
  dropFiles: '将文件拖放到这里即可添加附件。',
  remove: '移除',
  send: '发送',
  saveDraft: '保存草稿',
  discard: '放弃',
  saving: '保存中…',
  sending: '发送中…',
  draftSaved: '草稿已保存。',
  saveFailed: '无法保存草稿。',
  sendFailed: '邮件未发送。',
  tooLarge: '邮件太大。',
  overQuota: '您的邮箱已满。',
  badAddress: '有地址格式不正确。',
  noIdentity: '您没有可用于发信的地址。',
  wrote: '{who} 于 {date} 写道：',
  forwardedHeader: '---------- 转发的邮件 ----------',
  'sendError.forbiddenFrom': '您不能使用此地址发信。',
  'sendError.invalidRecipients': '部分收件人不存在或无法收信：',
  'sendError.forbiddenToSend': '您不能将此邮件发送给这些收件人。',
  'sendError.tooLarge': '邮件太大，无法发送。',
  'sendError.noRecipients': '请至少填写一位收件人。',
  'sendError.tooManyRecipients': '收件人太多。',
  'sendError.forbiddenMailFrom': '您不能以此发件人身份发信。',
  search: '搜索邮件',
  searchResults: '“{q}”的搜索结果 · {n}',
  clearSearch: '清除搜索',
  select: '选择',
  selected: '已选择 {n} 封',
  downloadSelected: '下载（ZIP）',
  clearSelection: '取消选择',
  backupFolder: '备份文件夹（mbox）',
  preparing: '正在准备下载…',
  exportTooLarge: '邮件太多，无法一次下载，请少选几封。',
  exportFailed: '下载失败。',
  moved: '已移至 {folder}。',
  attachments: '附件',
  download: '下载',
  preview: '预览',
  open: '打开',
  previewFailed: '无法显示预览，请下载文件。',
  previewCut: '仅显示开头部分，请下载文件以查看全文。',
  converting: '正在转换为 PDF…',
  openPdf: '以 PDF 打开',
  convertBusy: '其他文档正在转换中，请稍后再试。',
  convertFailed: '无法转换此文档，请下载文件。',
  convertTimeout: '此文档转换时间过长，请下载文件。',
  convertTooLarge: '此文档太大，无法预览，请下载文件。',
  downloadOnly: '仅供下载',
  unnamedAttachment: '未命名附件',
  quotaStorage: '已使用 {used}，上限 {limit}',
  quotaMessages: '{used} 封邮件，上限 {limit} 封',
  'role.inbox': '收件箱',
  'role.sent': '已发送',
  'role.drafts': '草稿',
  'role.trash': '已删除',
  'role.junk': '垃圾邮件',
  'role.archive': '归档',
  conversationView: '对话视图',
  inConversation: '此对话共 {n} 封邮件',
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
