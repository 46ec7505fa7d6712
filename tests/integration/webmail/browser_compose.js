// The web client's compose, search, batch save and folder backup in headless Chromium (Debian's,
// driven by playwright-core), against the mailroomd test_webmail_compose.py started. Prints one
// line per check ("ok <name>") and exits 1 at the first failure; the Python side then checks
// what arrived (IMAP) and the downloaded files. Reads a JSON spec from argv[2]:
//   { base, user, password, chromium, shots, attachment (base64), dropName, dropText,
//     replySubject, chineseSubject, chineseQuery, otherSubject, batchFolder, batchCount,
//     backupFolder, zipPath, mboxPath }
const { spec, ok, fail, openMessage, run } = require('./browser_session');

async function folder(page, selector) {
  await page.locator(selector).first().click();
  await page.locator('#list-title').waitFor();
}

async function send(page) {
  await page.click('#compose-send');
  await page.locator('#compose').waitFor({ state: 'detached', timeout: 30000 }).catch(async () => {
    fail('the composer did not close after Send: ' + await page.locator('#compose-status').textContent());
  });
}

run(async (page) => {
  // 1. A new message to bob with two attachments: one by the file picker, one dropped.
  await page.click('#compose-new');
  await page.locator('#compose[data-ready]').waitFor();
  await page.fill('#compose-to', 'Bob <bob@example.com>');
  await page.fill('#compose-subject', 'Compose with attachments 附件');
  await page.fill('#compose-body', 'Two files attached.\n兩個附件。');
  await page.setInputFiles('#compose-file', { name: 'report.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(spec.attachment, 'base64') });
  await page.evaluate(({ name, text }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], name, { type: 'text/plain' }));
    const target = document.getElementById('compose');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { name: spec.dropName, text: spec.dropText });
  await page.locator('#compose-attachments li').nth(1).waitFor();
  await page.screenshot({ path: `${spec.shots}/c1-compose.png` });
  await send(page);
  ok('compose with attachments sent');

  // 2. Reply to a message: In-Reply-To and References are the Python side's to check.
  await openMessage(page, spec.replySubject);
  await page.click('#reply');
  await page.locator('#compose[data-ready]').waitFor();
  const to = await page.inputValue('#compose-to');
  const subject = await page.inputValue('#compose-subject');
  if (!to.includes('bob@example.com') || subject !== `Re: ${spec.replySubject}`) fail(`reply fields: ${to} / ${subject}`);
  const quoted = await page.inputValue('#compose-body');
  if (!quoted.includes('> ')) fail('the reply does not quote the message');
  await page.fill('#compose-body', 'Sounds good.\n' + quoted);
  await send(page);
  ok('reply sent');

  // 3. A draft: saved twice (one copy kept), found in Drafts after a reload, sent, gone.
  const draft = 'Draft to finish';
  await page.click('#compose-new');
  await page.locator('#compose[data-ready]').waitFor();
  await page.fill('#compose-to', 'bob@example.com');
  await page.fill('#compose-subject', draft);
  await page.fill('#compose-body', 'first version');
  await page.click('#compose-save');
  await page.locator('#compose-status', { hasText: 'Draft saved.' }).waitFor();
  await page.fill('#compose-body', 'second version');
  await page.click('#compose-save');
  await page.locator('#compose-status', { hasText: 'Draft saved.' }).waitFor();
  await page.click('#compose-close');
  await page.locator('#compose').waitFor({ state: 'detached' });
  await page.reload();
  await folder(page, '.folder[data-role="drafts"]');
  await page.locator('.row', { hasText: draft }).first().waitFor();
  if (await page.locator('.row', { hasText: draft }).count() !== 1) fail('a saved draft was not replaced');
  await openMessage(page, draft);
  await page.click('#edit-draft');
  await page.locator('#compose[data-ready]').waitFor();
  if (!(await page.inputValue('#compose-body')).includes('second version')) fail('the draft lost its text');
  if (!(await page.inputValue('#compose-to')).includes('bob@example.com')) fail('the draft lost its recipient');
  await send(page);
  await page.locator('.row', { hasText: draft }).waitFor({ state: 'detached', timeout: 30000 });
  ok('draft saved, reloaded, sent, gone from Drafts');

  // 4. A refusal is shown: an address the directory does not know.
  await page.click('#compose-new');
  await page.locator('#compose[data-ready]').waitFor();
  await page.fill('#compose-to', 'nobody-here@example.com');
  await page.fill('#compose-subject', 'To nobody');
  await page.click('#compose-send');
  await page.locator('#compose-status.error').waitFor();
  const refusal = await page.locator('#compose-status').textContent();
  if (!/recipients/i.test(refusal)) fail(`refusal not shown: ${refusal}`);
  await page.click('#compose-discard');
  await page.locator('#compose').waitFor({ state: 'detached' });
  ok('refusal shown');

  // 5. Search in Chinese: the Chinese-subject message, not the others.
  await folder(page, '.folder[data-role="inbox"]');
  await page.fill('#search-input', spec.chineseQuery);
  await page.press('#search-input', 'Enter');
  await page.locator('.row', { hasText: spec.chineseSubject }).waitFor();
  await page.locator('#list-title', { hasText: spec.chineseQuery }).waitFor();
  if (await page.locator('.row', { hasText: spec.otherSubject }).count()) fail('search shows a message without the term');
  await page.screenshot({ path: `${spec.shots}/c2-search.png` });
  ok('search in Chinese');

  // 6. Batch save: three messages picked (a click, then a shift-click) -> one ZIP.
  await folder(page, `.folder:has-text("${spec.batchFolder}")`);
  const rows = page.locator('.row:not(.placeholder)');
  await rows.nth(spec.batchCount - 1).waitFor();
  await rows.nth(0).locator('.pick').click();
  await rows.nth(2).locator('.pick').click({ modifiers: ['Shift'] });
  await page.locator('#selected-count', { hasText: '3 selected' }).waitFor();
  const [zip] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#save-selected')]);
  await zip.saveAs(spec.zipPath);
  if (!/\.zip$/.test(zip.suggestedFilename())) fail(`zip name ${zip.suggestedFilename()}`);
  ok('batch save');

  // 7. Keyboard: j opens the next message, c the composer. Opening the unread first row marks
  // it seen, and the pushed change reloads the list: j is pressed while that reload's query is
  // held back, and must still move (the list emptied meanwhile once made it do nothing: under
  // load the round trip was long enough for the test's j to fall into it).
  let queried;
  const reloading = new Promise((r) => { queried = r; });
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/jmap/api', async (route) => {
    if ((route.request().postData() || '').includes('"Email/query"')) {
      queried();
      await held;
    }
    await route.continue();
  });
  await rows.nth(0).click();
  const first = await rows.nth(0).locator('.subject').textContent();
  await page.locator('#msg-subject', { hasText: first }).waitFor();
  await page.locator('#list').focus();
  await Promise.race([reloading, new Promise((r, reject) => setTimeout(
    () => reject(new Error('no list reload after the message was marked seen')), 60000))]);
  await page.keyboard.press('j');
  release(); // the route stays, passing everything on from here
  await page.waitForFunction((s) => document.querySelector('#msg-subject')?.textContent !== s, first);
  await page.keyboard.press('c');
  await page.locator('#compose').waitFor();
  await page.click('#compose-discard');
  ok('keyboard shortcuts');

  // 8. Folder backup: one mbox.
  await folder(page, `.folder:has-text("${spec.backupFolder}")`);
  await page.locator('.row:not(.placeholder)').first().waitFor();
  const [mbox] = await Promise.all([page.waitForEvent('download', { timeout: 120000 }), page.click('#backup-folder')]);
  await mbox.saveAs(spec.mboxPath);
  if (mbox.suggestedFilename() !== `${spec.backupFolder}.mbox`) fail(`mbox name ${mbox.suggestedFilename()}`);
  ok('folder backup');

  // 9. Move by drag: a Batch message dragged onto the Backup folder. The row is found by its
  // subject (only Batch has "Fourth"): rows.nth(0) could still be the Backup folder's list,
  // not yet replaced on a loaded machine, and a drag onto its own folder moves nothing.
  await folder(page, `.folder:has-text("${spec.batchFolder}")`);
  const source = page.locator('.row:not(.placeholder)', { hasText: 'Fourth' }).first();
  await source.waitFor();
  const moved = await source.locator('.subject').textContent();
  await source.dragTo(page.locator(`.folder:has-text("${spec.backupFolder}")`));
  await page.locator('#tools-status', { hasText: 'Moved to' }).waitFor();
  await folder(page, `.folder:has-text("${spec.backupFolder}")`);
  await page.locator('.row', { hasText: moved }).first().waitFor();
  ok('move by drag');
}, {
  contextOptions: { acceptDownloads: true },
  setup: (context) => context.addInitScript(() => localStorage.setItem('mailroom.pollSeconds', '1')),
});
