// The company sign-in (OIDC, src/webmail/sso.h) in headless Chromium (Debian's, driven by
// playwright-core) against the mailroomd and Glewlwyd that test_sso.py started. Prints one
// line per check ("ok <name>") and exits 1 at the first failure. Spec (JSON, argv[2]):
//   { base, chromium, shots, subject, user, password, disabledUser, disabledPassword,
//     authorizationEndpoint }
const { chromium } = require('playwright-core');
const fs = require('fs');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
function ok(name) { console.log(`ok ${name}`); }
function fail(msg) { throw new Error(msg); }

// The provider's login page, then its consent page the first time a user meets a client,
// until the browser is back at mailroomd (facts from shared rig/oidc-browser-login.js).
async function providerLogin(page, user, password, shot) {
  await page.locator('#username').waitFor({ timeout: 20000 });
  await page.fill('#username', user);
  await page.fill('#password', password);
  if (shot) await page.screenshot({ path: `${spec.shots}/${shot}.png` });
  await page.click('#loginbut');
  for (let i = 0; i < 150 && !page.url().startsWith(spec.base); i++) {
    const grant = page.locator('button:has-text("Grant"), button:has-text("Continue")');
    if (await grant.count()) {
      const boxes = page.locator('input[type=checkbox]:not(:checked):not(:disabled)');
      for (let b = await boxes.count(); b > 0; b--) await boxes.first().check();
      await grant.first().click().catch(() => {});
    }
    await page.waitForTimeout(200);
  }
  if (!page.url().startsWith(spec.base)) fail(`never came back from the provider: at ${page.url()}`);
}

async function signInError(page) {
  const error = page.locator('#login-error');
  await page.locator('#login').waitFor();
  for (let i = 0; i < 50 && !(await error.textContent()); i++) await page.waitForTimeout(100);
  return (await error.textContent()) || '';
}

// A sign-in through `provider` that the provider accepts and mailroomd refuses: the sign-in
// page must show a message matching `expect`.
async function refusedSignIn(newContext, provider, user, password, expect, shot, name) {
  const ctx = await newContext();
  const page = await ctx.newPage();
  await page.goto(`${spec.base}/webmail/`);
  await page.locator(`#sso-${provider}`).click();
  await providerLogin(page, user, password);
  const message = await signInError(page);
  if (!expect.test(message)) fail(`${name}: ${message}`);
  await page.screenshot({ path: `${spec.shots}/${shot}.png` });
  ok(name);
  await ctx.close();
}

(async () => {
  const browser = await chromium.launch({ executablePath: spec.chromium, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const newContext = () => browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  try {
    // 1. The button, the provider's login page, back signed in; the inbox shows the message
    //    delivered by SMTP.
    const ctx = await newContext();
    const page = await ctx.newPage();
    let callback = null;
    let authorization = null;
    page.on('request', (r) => {
      if (r.url().includes('/webmail/sso/callback')) callback = r.url();
      if (r.url().startsWith(spec.authorizationEndpoint + '?') && !authorization) authorization = new URL(r.url());
    });
    await page.goto(`${spec.base}/webmail/`);
    const button = page.locator('#sso-corp');
    await button.waitFor();
    if (!(await button.textContent()).includes('Sign in with Example Corp')) fail('button text: ' + await button.textContent());
    if (await page.locator('#sso-nope').count()) fail('an unconfigured provider has a button');
    await page.screenshot({ path: `${spec.shots}/sso-1-sign-in.png` });
    await button.click();
    await providerLogin(page, spec.user, spec.password, 'sso-2-provider-login');
    await page.locator('.row', { hasText: spec.subject }).first().waitFor({ timeout: 30000 });
    if (!callback) fail('no callback request seen');
    if (!authorization) fail('no authorization request seen');
    const a = authorization.searchParams;
    if (a.get('response_type') !== 'code' || a.get('code_challenge_method') !== 'S256' ||
        (a.get('code_challenge') || '').length !== 43 || !a.get('state') || !a.get('nonce')) {
      fail('authorization request: ' + authorization.search);
    }
    ok('authorization request with PKCE S256, state and nonce');
    if (!new URL(page.url()).pathname.startsWith('/webmail/')) fail('landed at ' + page.url());
    ok('signed in by SSO');
    ok('inbox shows the SMTP message');
    await page.screenshot({ path: `${spec.shots}/sso-3-inbox.png` });

    // 2. The same callback again: refused (the state was used), in this browser and in another.
    const replay = await ctx.request.get(callback, { maxRedirects: 0 });
    const where = replay.headers()['location'] || '';
    if (replay.status() !== 303 || !where.includes('sso_error=state')) fail(`replay: ${replay.status()} ${where}`);
    const other = await newContext();
    const page2 = await other.newPage();
    await page2.goto(callback);
    const replayMessage = await signInError(page2);
    if (!/already used/.test(replayMessage)) fail('replay in another browser: ' + replayMessage);
    if (new URL(page2.url()).search) fail('the error stayed in the address bar: ' + page2.url());
    await page2.screenshot({ path: `${spec.shots}/sso-4-replay-refused.png` });
    ok('replayed callback refused');
    await other.close();

    // 3. Sign-out ends the web session.
    await page.click('#sign-out');
    await page.locator('#login').waitFor();
    const after = await ctx.request.get(`${spec.base}/webmail/session`);
    if (after.status() !== 401) fail('session after sign-out: ' + after.status());
    ok('signed out');
    await ctx.close();

    // 4. An account disabled in the directory: the provider says yes, mailroomd says no.
    await refusedSignIn(newContext, 'corp', spec.disabledUser, spec.disabledPassword, /disabled/,
                        'sso-5-disabled', 'disabled account refused');
    // 5. A provider configured with a wrong client secret: the code exchange fails.
    await refusedSignIn(newContext, 'wrong', spec.user, spec.password, /could not confirm your identity/,
                        'sso-6-wrong-secret', 'wrong client secret refused');
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
