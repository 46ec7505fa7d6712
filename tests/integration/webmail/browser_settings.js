// The web client's settings screen in headless Chromium (Debian's, driven by playwright-core),
// against the mailroomd that test_webmail_settings.py started. Prints one line per check
// ("ok <name>") and exits 1 at the first failure. Between steps it asks the Python side to act
// and check from outside (SMTP in, IMAP, the remote SMTP peer): it prints "NEED <what> [arg]"
// and waits for a line "done" on stdin. Reads a JSON spec from argv[2]:
//   { base, user, password, chromium, shots }
const { spec, ok, fail, need, run } = require('./browser_session');

async function addEntry(page, prefix, value) {
  await page.fill(`#${prefix}-input`, value);
  await page.click(`#${prefix}-add`);
  await page.locator(`#${prefix === 'block' ? 'blocklist' : 'allowlist'} li[data-value="${value}"]`).waitFor();
}

run(async (page) => {
  // 1. Block list and allow list: a domain blocked, one sender of it allowed (the allow
  // list wins); the Python side sends both by SMTP and looks in Junk and INBOX over IMAP.
  await page.click('#open-settings');
  await page.locator('#settings #blocklist').waitFor();
  await addEntry(page, 'block', 'bad.example');
  await addEntry(page, 'allow', 'friend@bad.example');
  await page.fill('#block-input', 'not an address!');
  await page.click('#block-add');
  await page.locator('#lists-status.error', { hasText: 'Enter an address' }).waitFor();
  await page.fill('#block-input', 'bad.example');
  await page.click('#block-add');
  await page.locator('#lists-status.error', { hasText: 'already on the list' }).waitFor();
  const kind = await page.locator('#blocklist li[data-value="bad.example"] .kind').textContent();
  if (!/subdomains/.test(kind)) fail(`a domain entry is shown as ${kind}`);
  await page.screenshot({ path: `${spec.shots}/s1-lists.png` });
  await need('lists');
  ok('block and allow lists');

  // The choices: each change is saved at once and survives reopening the screen.
  await page.selectOption('#ads-choice', 'inbox');
  await page.locator('#lists-status', { hasText: 'Saved.' }).waitFor();
  await page.selectOption('#blocked-choice', 'discard');
  await page.locator('#lists-status', { hasText: 'Saved.' }).waitFor();
  await page.click('#settings-close');
  await page.click('#open-settings');
  await page.locator('#settings #blocklist').waitFor();
  if (await page.inputValue('#ads-choice') !== 'inbox' || await page.inputValue('#blocked-choice') !== 'discard') {
    fail('the choices were not kept');
  }
  await page.selectOption('#blocked-choice', 'junk');
  await page.locator('#lists-status', { hasText: 'Saved.' }).waitFor();
  // Remove an entry.
  await page.locator('#allowlist li[data-value="friend@bad.example"] button.remove').click();
  await page.locator('#allowlist li[data-value="friend@bad.example"]').waitFor({ state: 'detached' });
  ok('ads and blocked choices');

  // 2. Vacation reply (JMAP VacationResponse): on, today to a week later.
  await page.click('#tab-vacation');
  await page.locator('#vac-enabled').waitFor();
  const day = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const today = new Date();
  await page.check('#vac-enabled');
  await page.fill('#vac-from', day(today));
  await page.fill('#vac-to', day(new Date(today.getTime() + 7 * 86400000)));
  await page.fill('#vac-subject', 'Away (web)');
  await page.fill('#vac-body', 'Back on Monday.');
  await page.locator('#vac-summary', { hasText: 'An automatic reply is sent from' }).waitFor();
  await page.click('#vac-save');
  await page.locator('#vac-status', { hasText: 'Saved.' }).waitFor();
  await page.screenshot({ path: `${spec.shots}/s2-vacation.png` });
  await need('vacation');
  // Reopened, the tab shows what the server keeps.
  await page.click('#tab-lists');
  await page.click('#tab-vacation');
  await page.locator('#vac-subject').waitFor();
  if (await page.inputValue('#vac-subject') !== 'Away (web)' || !(await page.isChecked('#vac-enabled'))) {
    fail('the vacation reply was not kept');
  }
  await page.uncheck('#vac-enabled');
  await page.click('#vac-save');
  await page.locator('#vac-status', { hasText: 'Saved.' }).waitFor();
  ok('vacation reply');

  // 3. App passwords: create one for IMAP (secret shown once, copyable), log in with it,
  // revoke it, refused.
  await page.click('#tab-appPasswords');
  await page.locator('#ap-form').waitFor();
  await page.fill('#ap-name', 'Thunderbird');
  await page.uncheck('#ap-proto-pop3');
  await page.uncheck('#ap-proto-smtp');
  await page.click('#ap-create');
  const secret = (await page.locator('#ap-secret-value').textContent()).trim();
  if (!/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/.test(secret)) fail(`secret ${secret}`);
  await page.click('#ap-copy');
  await page.locator('#ap-status', { hasText: 'Copied.' }).waitFor();
  if (await page.evaluate(() => navigator.clipboard.readText()) !== secret) fail('the copy is not the secret');
  const row = page.locator('#app-passwords li[data-name="Thunderbird"]');
  if (!/IMAP/.test(await row.textContent()) || /POP3/.test(await row.textContent())) fail('protocols not shown');
  await page.screenshot({ path: `${spec.shots}/s3-app-password.png` });
  await need(`imap-login ${secret}`);
  ok('app password created');
  await page.click('#tab-lists');
  await page.click('#tab-appPasswords');
  await page.locator('#ap-form').waitFor();
  if (await page.locator('#ap-secret').count()) fail('the secret is shown again');
  if (/never/.test(await row.textContent())) fail('the IMAP login is not shown as last use');
  await row.locator('button.remove').click();
  await page.locator('#ap-status', { hasText: 'Revoked.' }).waitFor();
  await row.waitFor({ state: 'detached' });
  await need(`imap-refused ${secret}`);
  ok('app password revoked');
  await page.keyboard.press('Escape');
  await page.locator('#settings').waitFor({ state: 'detached' });

  // 4. Traditional Chinese, phone viewport: one column, nothing wider than the screen.
  await page.selectOption('#lang', 'zh-TW');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.click('#open-settings');
  await page.locator('#settings h2', { hasText: '設定' }).waitFor();
  await page.locator('#tab-vacation', { hasText: '休假自動回覆' }).waitFor();
  await page.click('#tab-vacation');
  await page.locator('#vac-summary', { hasText: '不傳送自動回覆' }).waitFor();
  ok('zh-TW');
  const box = await page.locator('#settings').boundingBox();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (box.x !== 0 || box.width > 390 || wide > 390) fail(`phone: settings ${JSON.stringify(box)}, page ${wide}px`);
  await page.click('#tab-lists');
  await page.locator('#blocklist').waitFor();
  const input = await page.locator('#block-input').boundingBox();
  if (input.x + input.width > 390) fail('phone: the entry field runs off the screen');
  await page.screenshot({ path: `${spec.shots}/s4-phone-zh-TW.png` });
  ok('phone layout');
  await page.selectOption('#lang', 'en').catch(() => {});
}, { setup: (context) => context.grantPermissions(['clipboard-read', 'clipboard-write']) });
