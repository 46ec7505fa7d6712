// The web client in headless Chromium (Debian's, driven by playwright-core), against the
// mailroomd that test_webmail.py started. Prints one line per check ("ok <name>") and exits 1 at
// the first failure. Reads a JSON spec from argv[2]:
//   { base, user, password, textSubject, textBody, imageSubject, xss: [subjects], newSubject,
//     shots, chromium }
// Between steps it can ask the Python side to act: it prints "NEED new-mail" and waits for a
// line "done" on stdin.
const { chromium } = require('playwright-core');
const fs = require('fs');
const readline = require('readline');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const server = new URL(spec.base).host;
const REMOTE_IMAGE_HOST = 'images.remote.example';
const dialogs = [];
const foreign = [];  // requests to any host but the server (and the allowed remote image)
let remoteImageLoads = 0;
const stdin = readline.createInterface({ input: process.stdin });
const lines = [];
stdin.on('line', (l) => lines.push(l));

function ok(name) { console.log(`ok ${name}`); }
function fail(msg) { throw new Error(msg); }
async function waitLine() {
  for (let i = 0; i < 600 && !lines.length; i++) await new Promise((r) => setTimeout(r, 100));
  return lines.shift();
}

async function openMessage(page, subject) {
  await page.locator('.row', { hasText: subject }).first().click();
  await page.locator('#msg-subject', { hasText: subject }).waitFor();
}

// The reading pane's document, checked from outside (its own scripts are off).
async function frameReport(page) {
  for (let i = 0; i < 200; i++) {
    const handle = await page.locator('#msg-frame').elementHandle();
    const frame = handle && await handle.contentFrame();
    if (frame && frame.url().endsWith('/webmail/frame')) {
      try {
        await frame.waitForLoadState('load');
        return await frame.evaluate(() => {
          const all = [...document.querySelectorAll('*')];
          return {
            html: document.body ? document.body.innerHTML : '',
            bad: document.querySelectorAll('script,iframe,frame,object,embed,form,base,meta,svg,math,style,link,input,button').length,
            handlers: all.filter((e) => [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length,
            jsLinks: all.filter((e) => [...e.attributes].some((a) => /^\s*(javascript|vbscript|data):/i.test(a.value) && !/^data:image\/(png|gif|jpeg|webp);/i.test(a.value))).length,
            styleUrls: all.filter((e) => /url\s*\(|expression/i.test(e.getAttribute('style') || '')).length,
            url: location.href,
          };
        });
      } catch (e) {
        if (!/destroyed|detached/.test(String(e && e.message))) throw e;
      }
    }
    await page.waitForTimeout(50);
  }
  const handle = await page.locator('#msg-frame').elementHandle();
  const frame = handle && await handle.contentFrame();
  fail('the reading pane never showed the message: ' + (frame ? frame.url() : 'no frame'));
}

(async () => {
  const browser = await chromium.launch({
    executablePath: spec.chromium,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    // A day between polls: new mail can only arrive by the server's push (EventSource).
    await context.addInitScript(() => localStorage.setItem('mailroom.pollSeconds', '86400'));
    // Every request is watched; none may leave for another host, except the remote image
    // after "show images" (answered here, never fetched from the network).
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.host === server || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      if (url.host === REMOTE_IMAGE_HOST) {
        remoteImageLoads++;
        const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
        return route.fulfill({ status: 200, contentType: 'image/png', body: png });
      }
      foreign.push(url.href);
      return route.abort();
    });
    const page = await context.newPage();
    const pushRequests = [];
    const changesCalls = [];
    page.on('request', (r) => {
      if (r.url().includes('/jmap/eventsource/')) pushRequests.push(r.url());
      if (r.url().endsWith('/jmap/api') && (r.postData() || '').includes('"Email/changes"')) changesCalls.push(Date.now());
    });
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on('popup', (p) => foreign.push('popup ' + p.url()));

    // --- sign-in ---
    await page.goto(spec.base + '/webmail/');
    await page.locator('#login').waitFor();
    await page.screenshot({ path: `${spec.shots}/1-sign-in.png` });
    await page.fill('#username', spec.user);
    await page.fill('#password', 'wrong-' + spec.password);
    await page.click('#login-button');
    await page.locator('#login-error', { hasText: 'Wrong user name or password' }).waitFor();
    const cookiesAfterFail = await context.cookies();
    if (cookiesAfterFail.some((c) => c.name === 'mailroom_session')) fail('a refused sign-in set a cookie');
    ok('wrong password refused');
    await page.fill('#password', spec.password);
    await page.click('#login-button');
    await page.locator('.folder[data-role=inbox]').waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'mailroom_session');
    if (!cookie || !cookie.httpOnly || !cookie.secure || cookie.sameSite !== 'Strict') fail('cookie attributes: ' + JSON.stringify(cookie));
    if (await page.evaluate(() => document.cookie.includes('mailroom_session'))) fail('the session cookie is readable by scripts');
    ok('signed in by password');

    // --- the list and a message delivered by SMTP ---
    await page.locator('.row', { hasText: spec.textSubject }).first().waitFor();
    const unread = await page.locator('.folder[data-role=inbox] .count').textContent();
    if (!(Number(unread) >= 1)) fail('no unread count on the inbox: ' + unread);
    await page.screenshot({ path: `${spec.shots}/2-list.png` });
    await openMessage(page, spec.textSubject);
    await page.locator('#msg-text', { hasText: spec.textBody }).waitFor();
    await page.screenshot({ path: `${spec.shots}/3-message.png` });
    ok('read a message delivered by SMTP');
    // \Seen on open: the row is no longer bold.
    await page.waitForFunction((s) => [...document.querySelectorAll('.row')].some((r) => r.textContent.includes(s) && !r.classList.contains('unread')), spec.textSubject);
    ok('seen on open');
    await page.click('#flag');
    await page.locator('#flag', { hasText: 'Unflag' }).waitFor();
    await page.locator('.row', { hasText: spec.textSubject }).locator('.flag').waitFor();
    ok('flagged');

    // --- remote images stay blocked until "show images" ---
    await openMessage(page, spec.imageSubject);
    await page.locator('#images-blocked').waitFor();
    await frameReport(page);
    if (remoteImageLoads !== 0) fail('a remote image loaded before "show images"');
    await page.screenshot({ path: `${spec.shots}/4-images-blocked.png` });
    await page.click('#show-images');
    await page.waitForFunction(() => !document.querySelector('#images-blocked'));
    for (let i = 0; i < 100 && remoteImageLoads === 0; i++) await page.waitForTimeout(50);
    if (remoteImageLoads === 0) fail('"show images" did not load the remote image: ' + JSON.stringify(await frameReport(page)));
    ok('remote images only after "show images"');

    // --- the XSS corpus ---
    for (const subject of spec.xss) {
      await openMessage(page, subject);
      const r = await frameReport(page);
      if (r.bad || r.handlers || r.jsLinks || r.styleUrls) fail(`${subject}: unsafe markup in the pane: ${JSON.stringify(r)}`);
      if (!r.url.endsWith('/webmail/frame')) fail(`${subject}: the frame navigated to ${r.url}`);
    }
    await page.waitForTimeout(300);  // a late timer or refresh would show below
    if (dialogs.length) fail('a dialog fired: ' + dialogs.join(' | '));
    if (foreign.length) fail('requests left for other hosts: ' + foreign.join(' '));
    const title = await page.title();
    if (title !== 'Mailroom') fail('the page title changed: ' + title);
    await page.screenshot({ path: `${spec.shots}/5-xss-message.png` });
    ok(`xss corpus inert (${spec.xss.length} messages)`);

    // --- a big folder: only the visible window is asked for ---
    const apiBodies = [];
    const onRequest = (r) => { if (r.url().endsWith('/jmap/api')) apiBodies.push(r.postData() || ''); };
    page.on('request', onRequest);
    await page.click(`.folder[data-id="${await page.locator('.folder', { hasText: spec.bulkFolder }).getAttribute('data-id')}"]`);
    await page.locator('.row', { hasText: `${spec.bulkPrefix} ${spec.bulkCount - 1}` }).first().waitFor();
    const listHeight = await page.locator('.list-inner').evaluate((e) => e.offsetHeight);
    if (listHeight < spec.bulkCount * 60) fail('the list is not as tall as the folder: ' + listHeight);
    await page.locator('#list').evaluate((e) => { e.scrollTop = e.scrollHeight; });
    await page.locator('.row', { hasText: `${spec.bulkPrefix} 0` }).first().waitFor();
    page.off('request', onRequest);
    let gotIds = 0;
    for (const body of apiBodies) {
      for (const [name, args] of JSON.parse(body).methodCalls) {
        if (name === 'Email/query' && !(args.limit <= 50)) fail('Email/query without a small limit: ' + JSON.stringify(args));
        if (name === 'Email/get' && args.ids) gotIds += args.ids.length;
      }
    }
    const rows = await page.locator('.row').count();
    if (rows > 60) fail(`${rows} rows in the DOM for a window of about 20`);
    if (gotIds >= spec.bulkCount) fail('every message of the folder was fetched');
    await page.screenshot({ path: `${spec.shots}/5b-big-folder-end.png` });
    ok(`virtual scrolling (${rows} rows in the DOM for ${spec.bulkCount} messages)`);
    await page.click('.folder[data-role=inbox]');

    // --- delete moves to Trash ---
    await openMessage(page, spec.textSubject);
    await page.click('#delete');
    await page.waitForFunction((s) => ![...document.querySelectorAll('.row')].some((r) => r.textContent.includes(s)), spec.textSubject);
    await page.click('.folder[data-role=trash]');
    await page.locator('.row', { hasText: spec.textSubject }).first().waitFor();
    await page.click('.folder[data-role=inbox]');
    ok('delete moved the message to Trash');

    // --- new mail without reload, pushed (RFC 8620 7.3 EventSource; polling is a day) ---
    if (!pushRequests.length) fail('the client opened no EventSource');
    const changesBefore = changesCalls.length;
    const unreadBefore = Number(await page.locator('.folder[data-role=inbox] .count').textContent());
    console.log('NEED new-mail');
    if ((await waitLine()) !== 'done') fail('no new mail from the test');
    await page.locator('.row', { hasText: spec.newSubject }).first().waitFor({ timeout: 60000 });
    if (changesCalls.length <= changesBefore) fail('the list changed without Email/changes');
    await page.waitForFunction((n) => Number(document.querySelector('.folder[data-role=inbox] .count')?.textContent) > n, unreadBefore);
    ok(`new mail pushed and shown without reload (${pushRequests.length} EventSource request(s))`);

    // --- conversation view: a 3-message thread is one row; its messages, in order, in the pane ---
    await page.click('.folder[data-role=inbox]');
    await page.click('#conversation-toggle');
    await page.locator('#conversation-toggle[aria-pressed=true]').waitFor();
    const conv = page.locator('.row', { hasText: spec.convSubject });
    await conv.first().locator('.thread-size').waitFor();
    if ((await conv.count()) !== 1) fail('the thread is not one row: ' + (await conv.count()));
    const threadSize = await conv.first().locator('.thread-size').textContent();
    if (threadSize !== '3') fail('thread size shown: ' + threadSize);
    await conv.first().click();
    await page.locator('.conversation-message').nth(2).waitFor();
    if ((await page.locator('.conversation-message').count()) !== 3) fail('not 3 messages in the pane');
    const convTexts = await page.locator('.conversation-message .conv-text').allTextContents();
    spec.convBodies.forEach((b, i) => { if (!(convTexts[i] || '').includes(b)) fail(`message ${i} of the conversation: ${convTexts[i]}`); });
    await page.screenshot({ path: `${spec.shots}/5c-conversation.png` });
    await page.reload();  // the choice is kept
    await page.locator('#conversation-toggle[aria-pressed=true]').waitFor();
    await page.locator('.row', { hasText: spec.convSubject }).first().locator('.thread-size').waitFor();
    // Still a virtual list on the big folder (each of its messages is a thread of its own).
    await page.click(`.folder[data-id="${await page.locator('.folder', { hasText: spec.bulkFolder }).getAttribute('data-id')}"]`);
    await page.locator('.row', { hasText: `${spec.bulkPrefix} ${spec.bulkCount - 1}` }).first().waitFor();
    const convRows = await page.locator('.row').count();
    const convHeight = await page.locator('.list-inner').evaluate((e) => e.offsetHeight);
    if (convRows > 60 || convHeight < spec.bulkCount * 60) fail(`conversation list not virtual: ${convRows} rows, ${convHeight}px`);
    await page.click('#conversation-toggle');
    await page.locator('#conversation-toggle[aria-pressed=false]').waitFor();
    await page.click('.folder[data-role=inbox]');
    await page.locator('.row', { hasText: spec.convSubject }).nth(2).waitFor();
    ok('conversation view (3-message thread, kept across reload, virtual on a big folder)');

    // --- languages ---
    await page.selectOption('#lang', 'zh-TW');
    await page.locator('.folder[data-role=inbox]', { hasText: '收件匣' }).waitFor();
    await page.locator('#sign-out', { hasText: '登出' }).waitFor();
    await page.screenshot({ path: `${spec.shots}/6-zh-TW.png` });
    await page.reload();
    await page.locator('.folder[data-role=inbox]', { hasText: '收件匣' }).waitFor();  // kept
    await page.selectOption('#lang', 'zh-CN');
    await page.locator('.folder[data-role=inbox]', { hasText: '收件箱' }).waitFor();
    await page.selectOption('#lang', 'en');
    await page.locator('.folder[data-role=inbox]', { hasText: 'Inbox' }).waitFor();
    ok('languages switch and stay');

    // --- phone viewport: list and message are separate screens ---
    const phone = await context.newPage();
    phone.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(spec.base + '/webmail/');
    await phone.locator('.row', { hasText: spec.newSubject }).first().waitFor();
    if (await phone.locator('.sidebar').isVisible()) fail('phone: the folder list shows next to the list');
    await phone.screenshot({ path: `${spec.shots}/7-phone-list.png` });
    await phone.locator('.row', { hasText: spec.newSubject }).first().click();
    await phone.locator('#msg-subject').waitFor();
    if (await phone.locator('#list').isVisible()) fail('phone: the list shows next to the message');
    await phone.screenshot({ path: `${spec.shots}/8-phone-message.png` });
    await phone.click('#back');
    await phone.locator('#list').waitFor();
    ok('phone layout');

    // --- sign out ---
    await page.bringToFront();
    await page.click('#sign-out');
    await page.locator('#login').waitFor();
    const res = await page.evaluate(async () => (await fetch('/webmail/session')).status);
    if (res !== 401) fail('still signed in after sign-out: ' + res);
    ok('signed out');
    if (dialogs.length) fail('a dialog fired: ' + dialogs.join(' | '));
    if (foreign.length) fail('requests left for other hosts: ' + foreign.join(' '));
  } finally {
    await browser.close();
    stdin.close();
  }
})().then(() => process.exit(0)).catch((e) => { console.error('FAIL ' + (e && e.stack || e)); process.exit(1); });
