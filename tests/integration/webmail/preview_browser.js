// Attachments and the quota in headless Chromium (playwright-core), against the mailroomd that
// test_webmail_preview.py started, in one page session. Prints "ok <check>" lines, exits 1 at
// the first failure. Spec (argv[2]): { base, user, password, subject, shots, chromium, names,
// download: { name, sha256 }, text, inline_subject }.
const { chromium } = require('playwright-core');
const crypto = require('crypto');
const fs = require('fs');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const server = new URL(spec.base).host;
const dialogs = [];
const foreign = [];

function ok(name) { console.log(`ok ${name}`); }
function fail(msg) { throw new Error(msg); }

(async () => {
  const browser = await chromium.launch({ executablePath: spec.chromium, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host === server || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
      foreign.push(url.href);
      return route.abort();
    });
    const page = await context.newPage();
    // A dialog anywhere (the page, a frame, a popup) is a script of the message that ran.
    const watch = (p) => p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    watch(page);
    context.on('page', watch);

    await page.goto(spec.base + '/webmail/');
    await page.fill('#username', spec.user);
    await page.fill('#password', spec.password);
    await page.click('#login-button');
    await page.locator('.row', { hasText: spec.subject }).first().click();
    await page.locator('#msg-subject', { hasText: spec.subject }).waitFor();

    // --- the list: every attachment by its decoded name, with type, size and a download link ---
    await page.locator('#attachment-list').waitFor();
    const items = await page.locator('.attachment-item').evaluateAll((els) => els.map((e) => ({
      name: e.querySelector('.attachment-name').textContent,
      type: e.getAttribute('data-type'),
      size: e.querySelector('.attachment-size').textContent,
      download: e.querySelector('.download-link')?.getAttribute('href') || '',
      preview: !!e.querySelector('.preview-button'),
      downloadOnly: !!e.querySelector('.download-only'),
      open: e.querySelector('.open-link')?.getAttribute('href') || '',
      openTarget: e.querySelector('.open-link')?.getAttribute('target') || '',
    })));
    const byName = Object.fromEntries(items.map((i) => [i.name, i]));
    for (const n of spec.names) if (!byName[n]) fail(`attachment ${n} not listed: ${JSON.stringify(items)}`);
    for (const i of items) {
      if (!/\d/.test(i.size) || !i.download.startsWith('/jmap/download/')) fail('attachment row: ' + JSON.stringify(i));
    }
    // Previews only for the image types, text/* (HTML as its source text) and, when the server
    // converts them, Office documents (by name); never for SVG.
    const previewed = items.filter((i) => i.preview).map((i) => i.name).sort();
    const expected = ['fake.png', 'notes.txt', 'page.html', 'pixel.png'];
    if (spec.office) expected.unshift('會議記錄 2024.docx');
    if (JSON.stringify(previewed) !== JSON.stringify(expected.sort())) fail('preview buttons: ' + previewed);
    if (!spec.office && !byName['會議記錄 2024.docx'].downloadOnly) fail('office attachment: no "Download only"');
    await page.screenshot({ path: `${spec.shots}/1-attachments.png` });
    ok('attachment list');

    // --- image preview renders ---
    await page.locator('.attachment-item', { hasText: 'pixel.png' }).locator('.preview-button').click();
    await page.waitForFunction(() => { const i = document.querySelector('#preview-image'); return i && i.complete && i.naturalWidth === 2; });
    await page.screenshot({ path: `${spec.shots}/2-image-preview.png` });
    ok('image preview');

    // --- a text attachment that holds markup is shown as text ---
    await page.locator('.attachment-item', { hasText: 'notes.txt' }).locator('.preview-button').click();
    await page.locator('#preview-text').waitFor();
    const text = await page.locator('#preview-text').evaluate((e) => ({ text: e.textContent, elements: e.querySelectorAll('*').length }));
    if (text.elements !== 0 || !text.text.includes(spec.text)) fail('text preview: ' + JSON.stringify(text));
    await page.screenshot({ path: `${spec.shots}/3-text-preview.png` });
    ok('text shown as text');

    // --- download: the same bytes, the decoded name ---
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('.attachment-item', { hasText: spec.download.name }).locator('.download-link').click(),
    ]);
    const file = await download.path();
    const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    if (sha !== spec.download.sha256) fail('downloaded bytes differ');
    if (download.suggestedFilename() !== spec.download.name) fail('download name: ' + download.suggestedFilename());
    ok('download same bytes');

    // --- PDF: the browser's own viewer in a new tab (not framed: it refuses a sandbox) ---
    const pdf = byName['report.pdf'];
    if (!pdf.open.includes('disposition=inline') || pdf.openTarget !== '_blank') fail('pdf link: ' + JSON.stringify(pdf));
    const pdfHeaders = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return { type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), nosniff: r.headers.get('x-content-type-options') };
    }, pdf.open);
    if (pdfHeaders.type !== 'application/pdf' || !pdfHeaders.disposition.startsWith('inline') || pdfHeaders.nosniff !== 'nosniff') fail('pdf headers: ' + JSON.stringify(pdfHeaders));
    ok('pdf opens in a new tab');

    // --- hostile attachments: an "image" that is HTML shows nothing; HTML and SVG loaded in a
    // frame or as a page (asked inline on purpose) are downloads, never documents; no dialog ---
    await page.locator('.attachment-item', { hasText: 'fake.png' }).locator('.preview-button').click();
    await page.locator('#attachment-preview .error').waitFor();
    await page.locator('.attachment-item', { hasText: 'page.html' }).locator('.preview-button').click();
    await page.locator('#preview-text', { hasText: '<script>' }).waitFor();
    if (await page.locator('#preview-text *').count()) fail('the HTML attachment was parsed as markup');
    await page.screenshot({ path: `${spec.shots}/4-html-as-text.png` });
    for (const n of ['page.html', 'logo.svg', 'fake.png']) {
      const inlineUrl = byName[n].download + '&disposition=inline';
      await page.evaluate((u) => {
        const f = document.createElement('iframe');
        f.src = u;
        f.className = 'hostile-probe';
        document.body.append(f);
      }, inlineUrl);
      const tab = await context.newPage();
      await tab.goto(spec.base + inlineUrl).catch(() => {});  // a download aborts the navigation
      await tab.waitForTimeout(200);
      await tab.close();
    }
    await page.waitForTimeout(500);  // a late script would fire below
    if (dialogs.length) fail('a dialog fired: ' + dialogs.join(' | '));
    ok('hostile attachments inert');

    // --- the quota in the folder pane, in three languages ---
    await page.locator('#quota .quota-line').first().waitFor();
    const quota = async () => page.locator('#quota').evaluate((e) => ({
      text: e.textContent, meters: [...e.querySelectorAll('meter')].map((m) => [m.value, m.max]),
    }));
    const en = await quota();
    if (!/50 MB/.test(en.text) || !/of 1,000 messages/.test(en.text) || en.meters.length !== 2 || !(en.meters[0][0] > 0)) fail('quota: ' + JSON.stringify(en));
    await page.screenshot({ path: `${spec.shots}/5-quota.png` });
    await page.selectOption('#lang', 'zh-TW');
    await page.locator('#quota', { hasText: '已使用' }).waitFor();
    await page.locator('#quota', { hasText: '封郵件' }).waitFor();
    await page.selectOption('#lang', 'zh-CN');
    await page.locator('#quota', { hasText: '封邮件' }).waitFor();
    await page.screenshot({ path: `${spec.shots}/6-quota-zh-CN.png` });
    await page.selectOption('#lang', 'en');
    ok('quota shown');

    // --- HTML mail's own images (cid:, multipart/related) shown inside the sandboxed frame as
    // data: URLs; a cid: naming a part that is no image, or none, stays empty ---
    await page.locator('.row', { hasText: spec.inline_subject }).first().click();
    await page.locator('#msg-subject', { hasText: spec.inline_subject }).waitFor();
    const frame = page.frameLocator('#msg-frame');
    await frame.locator('img[alt="logo"]').waitFor();
    const imgs = await frame.locator('img').evaluateAll((els) => els.map((i) => ({
      alt: i.getAttribute('alt'), src: (i.getAttribute('src') || '').slice(0, 22), width: i.naturalWidth, done: i.complete,
    })));
    const logo = imgs.find((i) => i.alt === 'logo');
    if (!logo || logo.src !== 'data:image/png;base64,') fail('cid image: ' + JSON.stringify(imgs));
    await frame.locator('img[alt="logo"]').evaluate((i) => i.decode());
    if (await frame.locator('img[alt="logo"]').evaluate((i) => i.naturalWidth) !== 2) fail('cid image not decoded');
    for (const alt of ['page', 'missing']) {
      const i = imgs.find((x) => x.alt === alt);
      if (!i || i.src !== '') fail(`cid ${alt}: ` + JSON.stringify(imgs));
    }
    await page.screenshot({ path: `${spec.shots}/7-cid-image.png` });
    ok('cid images inline');
    if (dialogs.length) fail('a dialog fired: ' + dialogs.join(' | '));
    if (foreign.length) fail('requests left for other hosts: ' + foreign.join(' '));
  } finally {
    await browser.close();
  }
})().then(() => process.exit(0)).catch((e) => { console.error('FAIL ' + (e && e.stack || e)); process.exit(1); });
