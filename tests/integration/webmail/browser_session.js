// The prelude the browser checks share (browser_compose.js, browser_settings.js): the spec
// (JSON, argv[2]), the "ok <name>" lines, the "NEED <what>" / "done" dialogue with the Python
// side (test_webmail.run_browser), Chromium (Debian's, driven by playwright-core) and the
// password sign-in. run() prints "FAIL <stack>" and exits 1 at the first failure, 0 at the end.
const { chromium } = require('playwright-core');
const fs = require('fs');
const readline = require('readline');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// Each check's line says how long it took (the time since the previous one): a run that hit a
// timeout under load shows which steps were slow before it.
let last = Date.now();
function ok(name) {
  const now = Date.now();
  console.log(`ok ${name} (${((now - last) / 1000).toFixed(1)} s)`);
  last = now;
}
function fail(msg) { throw new Error(msg); }

// stdin is read only by a script that asks (need()): the others exit without closing it.
let stdin = null;
const lines = [];
async function need(what) {
  if (!stdin) {
    stdin = readline.createInterface({ input: process.stdin });
    stdin.on('line', (l) => lines.push(l));
  }
  console.log(`NEED ${what}`);
  for (let i = 0; i < 1200 && !lines.length; i++) await new Promise((r) => setTimeout(r, 100));
  if (lines.shift() !== 'done') fail(`the test did not answer ${what}`);
}

async function openMessage(page, subject) {
  await page.locator('.row', { hasText: subject }).first().click();
  await page.locator('#msg-subject', { hasText: subject }).waitFor();
}

// Launches Chromium, opens a 1280x800 en-US context (`contextOptions` added; `setup(context)`
// before the page opens), signs in as spec.user and runs `body(page, context)`; an error the
// page threw meanwhile fails the run at its end.
function run(body, { contextOptions = {}, setup = async () => {} } = {}) {
  (async () => {
    const browser = await chromium.launch({ executablePath: spec.chromium, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US', ...contextOptions });
      await setup(context);
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(spec.base + '/webmail/');
      await page.fill('#username', spec.user);
      await page.fill('#password', spec.password);
      await page.click('#login-button');
      await page.locator('.folder[data-role="inbox"]').waitFor();
      await body(page, context);
      if (errors.length) fail('page errors: ' + errors.join('; '));
    } finally {
      await browser.close();
      if (stdin) stdin.close();
    }
  })().then(() => process.exit(0)).catch((e) => { console.log(`FAIL ${e && e.stack ? e.stack : e}`); process.exit(1); });
}

module.exports = { spec, ok, fail, need, openMessage, run };
