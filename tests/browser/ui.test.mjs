// Browser tests of the admin web UI (issue 5), run by scripts/browser.sh against the local stack:
// headless Debian chromium driven by playwright-core, a receiver on loopback for outgoing
// deliveries, and the seed's curl call posted to an incoming webhook URL copied from the page.
//
// Environment: SWITCHBOARD_URL (http://127.0.0.1:<port>, the `cargo lambda watch` address),
// SCREENSHOT_DIR (default ../../docs/screenshots), CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.SWITCHBOARD_URL || 'http://127.0.0.1:9000').replace(/\/$/, '');
const ADMIN = `${BASE}/lambda-url/admin`;
const UI = `${ADMIN}/admin/ui`;
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR || path.join(here, '../../docs/screenshots'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const AUTH = `Basic ${Buffer.from('admin:admin').toString('base64')}`;
const XSS = '<img src=x onerror=alert(1)>';
const T = { timeout: 180_000 };

let context;
let page;
let profileDir;
let receiver;
let receiverUrl;
const received = [];
let receiverMode = 'ok';
const problems = [];
const state = {};

// --- helpers ---------------------------------------------------------------------------------------

async function adminApi(method, p, body) {
  const r = await fetch(`${ADMIN}${p}`, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

async function until(what, fn, timeout = 30_000, every = 250) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function shot(name, fullPage = true) {
  // Toasts are transient: keep them out of the documentation pictures.
  await page.evaluate(() => document.getElementById('toasts').replaceChildren());
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

const h1 = () => page.locator('#view h1');

async function heading(text) {
  await until(`heading "${text}"`, async () => ((await h1().textContent()) || '').includes(text));
}

async function go(hash) {
  await page.evaluate((h) => {
    if (location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = h;
  }, hash);
  await page.waitForLoadState('domcontentloaded');
}

async function nav(label, headingText) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
  await heading(headingText);
}

/** The field wrapper of an API field name (data-field). */
const fieldOf = (name) => page.locator(`[data-field="${name}"]`);

async function fieldError(name) {
  const e = fieldOf(name).locator('.field-error');
  await e.waitFor({ state: 'visible' });
  return e.textContent();
}

/** Every visible form control has an accessible label. */
async function assertLabelled() {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('#view input, #view select, #view textarea, #signin input')]
      .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  assert.deepEqual(unlabelled, [], 'every form control has a label');
}

async function assertNoOverflow(where) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `${where}: page is ${scroll}px wide in a ${width}px viewport`);
}

async function rowsOf(tableCaption) {
  const exact = new RegExp(`^${tableCaption.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page.locator('table.data', { has: page.locator('caption', { hasText: exact }) }).locator('tbody tr');
}

function hmacHex(secret, body) {
  return crypto.createHmac('sha256', secret).update(body).digest('hex');
}

// --- set-up ----------------------------------------------------------------------------------------

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (receiverMode === 'ok') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ received: true, note: XSS }));
      } else if (receiverMode === 'gone') {
        res.writeHead(410, { 'Content-Type': 'text/plain' });
        res.end('gone');
      } else {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`receiver is down ${XSS}`);
      }
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-ui-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    // No httpCredentials: the static shell needs none, and the UI's own sign-in form holds the
    // credential for its API calls (the browser never prompts, so it never caches one).
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
});

after(async () => {
  if (context) await context.close();
  if (receiver) receiver.close();
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

// --- tests -----------------------------------------------------------------------------------------

test('the UI shell is served without credentials, with a strict CSP; the API never prompts a browser', T, async () => {
  // The shell and its assets hold no data: no credentials, so no Basic prompt either.
  const anonAsset = await fetch(`${UI}/app.js`);
  assert.equal(anonAsset.status, 200, 'assets need no credentials');
  assert.equal(anonAsset.headers.get('www-authenticate'), null);
  // The API still needs them; a browser-made call gets a plain 401 without a Basic challenge.
  const api = await fetch(`${ADMIN}/admin/spaces`, { headers: { 'X-Requested-With': 'switchboard-ui' } });
  assert.equal(api.status, 401);
  assert.equal(api.headers.get('www-authenticate'), null);
  const curlLike = await fetch(`${ADMIN}/admin/spaces`);
  assert.equal(curlLike.status, 401);

  const r = await fetch(UI);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  const csp = r.headers.get('content-security-policy') || '';
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const html = await r.text();
  assert.doesNotMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i);

  for (const [file, type] of [
    ['app.js', 'text/javascript; charset=utf-8'],
    ['lib.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
    ['icon.svg', 'image/svg+xml'],
  ]) {
    const a = await fetch(`${UI}/${file}`, { headers: { Authorization: AUTH } });
    assert.equal(a.status, 200, file);
    assert.equal(a.headers.get('content-type'), type, file);
    assert.match(a.headers.get('content-security-policy') || '', /frame-ancestors 'none'/);
    const etag = a.headers.get('etag');
    const again = await fetch(`${UI}/${file}`, { headers: { Authorization: AUTH, 'If-None-Match': etag } });
    assert.equal(again.status, 304, `${file} revalidates`);
  }
  const missing = await fetch(`${UI}/nope.js`, { headers: { Authorization: AUTH } });
  assert.equal(missing.status, 404);
  const slash = await fetch(`${UI}/`, { headers: { Authorization: AUTH }, redirect: 'manual' });
  assert.equal(slash.status, 308);
  assert.equal(slash.headers.get('location'), '../ui');
});

test('sign in with the keyboard; a wrong password is reported next to the field', T, async () => {
  await page.goto(UI);
  const signin = page.locator('#signin');
  await signin.waitFor({ state: 'visible' });
  await assertLabelled();
  // Focus starts in the username field: type, Tab, type, Enter.
  await until('username focused', () => page.evaluate(() => document.activeElement && document.activeElement.id === 'signin-user'));
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Enter');
  const err = page.locator('#signin-error');
  await err.waitFor({ state: 'visible' });
  assert.match(await err.textContent(), /wrong/);
  assert.equal(await page.locator('#signin-password').getAttribute('aria-invalid'), 'true');
  await shot('signin');

  await page.locator('#signin-password').fill('admin');
  await page.keyboard.press('Enter');
  await heading('Incoming webhooks');
  assert.ok(await page.evaluate(() => !!sessionStorage.getItem('switchboard.credential')), 'credential kept in sessionStorage');
  await page.getByText('No incoming webhooks yet.').waitFor();
  await shot('incoming-empty');
});

test('spaces and courses: empty state, create, validation next to the field, edit', T, async () => {
  await nav('Spaces', 'Spaces');
  await page.getByText('No spaces yet.').waitFor();
  await page.getByRole('button', { name: 'Create the first space' }).click();
  await page.getByLabel('Title').fill('Premium Members');
  await page.getByLabel('Slug').fill('Not A Slug');
  await assertLabelled();
  await page.getByRole('button', { name: 'Create space' }).click();
  assert.match(await fieldError('slug'), /Invalid parameter\(s\): slug: /);
  assert.equal(await fieldOf('slug').locator('input').getAttribute('aria-invalid'), 'true');
  await page.getByLabel('Slug').fill('');
  await page.getByRole('button', { name: 'Create space' }).click();
  await heading('Premium Members');
  state.spaceId = Number(page.url().split('/').pop());
  assert.ok(state.spaceId > 0);
  await page.getByText('Nobody is a member yet.').waitFor();

  await page.getByLabel('Description').fill('Paying members.');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('.facts').getByText('Paying members.').waitFor();

  await nav('Courses', 'Courses');
  await page.getByText('No courses yet.').waitFor();
  await page.getByRole('button', { name: 'New course' }).click();
  await page.getByLabel('Title').fill('Onboarding 101');
  await page.getByRole('button', { name: 'Create course' }).click();
  await heading('Onboarding 101');
  state.courseId = Number(page.url().split('/').pop());

  await nav('Spaces', 'Spaces');
  await (await rowsOf('Spaces')).first().waitFor();
  await shot('spaces');
});

test('incoming webhook: create with a space and a course; API errors shown next to the field', T, async () => {
  await nav('Incoming webhooks', 'Incoming webhooks');
  await page.getByRole('link', { name: 'Add the first webhook' }).click();
  await heading('New incoming webhook');
  await page.getByLabel('Webhook name').fill('Product purchase');
  // The space and course pickers are searchable.
  const spacePicker = fieldOf('space_ids');
  await spacePicker.getByLabel('Filter spaces').fill('zzz');
  await spacePicker.getByText('No space matches.').waitFor();
  assert.equal(await spacePicker.getByLabel('Premium Members').isVisible(), false);
  await spacePicker.getByLabel('Filter spaces').fill('prem');
  await spacePicker.getByLabel('Premium Members').check();
  assert.match(await spacePicker.textContent(), /Selected \(1\): Premium Members/);
  await fieldOf('course_ids').getByLabel('Onboarding 101').check();
  await page.getByLabel('Send the welcome email to members this webhook creates').check();
  await page.getByLabel('Allowed IP addresses').fill('not-an-ip');
  await assertLabelled();
  await shot('incoming-form');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  assert.match(await fieldError('allowed_ips'), /^Invalid parameter\(s\): allowed_ips: /);
  await page.getByLabel('Allowed IP addresses').fill('');
  await page.getByLabel('Signing secret', { exact: true }).fill('short');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  assert.match(await fieldError('signing_secret'), /signing_secret: must be 16 to 256 characters/);
  await page.getByLabel('Signing secret', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await heading('Product purchase');
  state.incomingId = Number(page.url().split('/').pop());
  await page.getByText('No calls yet.').waitFor();
});

test('copy the URL, post the seed curl call to it, see the run in the activity log', T, async () => {
  const urlValue = await page.locator('#webhook-url').inputValue();
  await page.locator('#copy-url').click();
  const copied = await until('clipboard', () => page.evaluate(() => navigator.clipboard.readText()));
  assert.equal(copied, urlValue);
  assert.match(copied, /^http:\/\/127\.0\.0\.1:\d+\/lambda-url\/incoming\/webhook\/[A-Za-z0-9_-]{22,}$/);
  state.webhookUrl = copied;

  // The seed's complete request: multipart form, all fields.
  const form = new FormData();
  for (const [k, v] of Object.entries({ email: 'user@example.com', first_name: 'John', last_name: 'Doe', user_login: 'johndoe', user_pass: 'SecurePassword123' })) form.append(k, v);
  const r = await fetch(copied, { method: 'POST', body: form });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.equal(body.success, true);
  assert.equal(body.created, true);
  assert.deepEqual(body.spaces.added, [state.spaceId]);
  state.userId = body.user_id;

  // The curl example on the page works as printed.
  const curl = await page.locator('#curl-example').textContent();
  assert.ok(curl.includes(copied), 'the curl example uses the webhook URL');
  const { stdout } = await promisify(execFile)('bash', ['-c', `${curl.replace('user@example.com', 'curl.user@example.com')} --silent --show-error`]);
  assert.equal(JSON.parse(stdout).success, true, stdout);

  await page.getByRole('button', { name: 'Refresh' }).click();
  const rows = await rowsOf('Activity log');
  await until('two runs', async () => (await rows.count()) === 2);
  const row = rows.filter({ hasText: 'user@example.com' }).filter({ hasNotText: 'curl.' });
  assert.match(await row.textContent(), /success/);
  assert.match(await row.textContent(), /\+ Premium Members/);
  assert.match(await row.textContent(), /\+ Onboarding 101/);
  assert.match(await page.locator('.facts').textContent(), /Runs\s*2/);
  await shot('incoming-detail');

  await nav('Incoming webhooks', 'Incoming webhooks');
  const list = await rowsOf('Incoming webhooks');
  assert.match(await list.first().textContent(), /Product purchase\s*active\s*2/);
  await shot('incoming-list');
});

test('members: look up by email, see profile, spaces and courses', T, async () => {
  await nav('Members', 'Members');
  await page.getByLabel('Email address').fill('USER@example.com');
  await page.getByRole('button', { name: 'Look up' }).click();
  const profile = page.locator('.profile').first();
  await profile.waitFor();
  assert.match(await profile.textContent(), /johndoe/);
  assert.match(await profile.textContent(), /John Doe/);
  const spaces = await rowsOf('spaces');
  assert.match(await spaces.first().textContent(), /Premium Members.*incoming webhook #\d+/);
  assert.match(await (await rowsOf('courses')).first().textContent(), /Onboarding 101/);
  await (await rowsOf('All members')).nth(1).waitFor();
  await shot('members');
  await (await rowsOf('All members')).filter({ hasText: 'curl.user@example.com' }).getByRole('link').click();
  await heading('John Doe');
  assert.match(await page.locator('.profile').textContent(), /curl\.user@example\.com/);
  await nav('Members', 'Members');

  await page.getByLabel('Email address').fill('nobody@example.com');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('No member has the email nobody@example.com.').waitFor();

  await go(`#/spaces/${state.spaceId}`);
  await heading('Premium Members');
  const members = await rowsOf('Members');
  await until('two members', async () => (await members.count()) === 2);
  assert.match(await members.filter({ hasText: /^user@example.com/ }).textContent(), /incoming webhook #\d+/);
  await shot('space-detail');
});

test('rotate the incoming URL: the confirmation says the old URL stops working', T, async () => {
  await go(`#/incoming/${state.incomingId}`);
  await heading('Product purchase');
  await page.getByRole('button', { name: 'Rotate URL' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  assert.match(await dialog.textContent(), /stops working immediately/);
  await shot('incoming-rotate');
  // Keyboard: the safe choice has the focus; Escape cancels.
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(await page.locator('#webhook-url').inputValue(), state.webhookUrl);

  await page.getByRole('button', { name: 'Rotate URL' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate URL' }).click();
  await until('new URL', async () => (await page.locator('#webhook-url').inputValue()) !== state.webhookUrl);
  const fresh = await page.locator('#webhook-url').inputValue();
  const form = new FormData();
  form.append('email', 'user@example.com');
  assert.equal((await fetch(state.webhookUrl, { method: 'POST', body: form })).status, 404, 'the old URL stopped working');
  assert.equal((await fetch(fresh, { method: 'POST', body: form })).status, 200);
  state.webhookUrl = fresh;
});

test('outgoing webhook: create with grouped events and headers; Test shows code and time', T, async () => {
  await nav('Outgoing webhooks', 'Outgoing webhooks');
  await page.getByText('No outgoing webhooks yet.').waitFor();
  await page.getByRole('link', { name: 'Add the first endpoint' }).click();
  await heading('New outgoing webhook');
  await page.getByLabel('Name', { exact: true }).fill('Local receiver');
  await page.getByLabel('URL', { exact: true }).fill('ftp://example.com/hook');
  await page.getByLabel('All space events').check();
  await page.locator('.event-group[data-ns="user"]').getByLabel('user.registered').check();
  await page.getByLabel('incoming_webhook.processed').check();
  assert.ok(await page.locator('.event-group[data-ns="space"]').getByLabel('space.created').isDisabled(), 'space.* covers space.created');
  await page.getByLabel('Retries').fill('0');
  await page.getByRole('button', { name: 'Add a header' }).click();
  await page.getByLabel('Header name').fill('X-Api-Key');
  await page.getByLabel('Value', { exact: true }).fill('k-123');
  await assertLabelled();
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  assert.match(await fieldError('url'), /URL/);
  await shot('outgoing-form');
  await page.getByLabel('URL', { exact: true }).fill(receiverUrl);
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await heading('Local receiver');
  state.endpointId = Number(page.url().split('/').pop());
  await page.getByText('No deliveries yet.').waitFor();
  await page.getByText('No deliveries in the last 24 hours.').waitFor();

  const before = received.length;
  await page.getByRole('button', { name: 'Send test event' }).click();
  const result = page.locator('#test-result .test-outcome');
  await result.waitFor();
  const text = await result.textContent();
  assert.match(text, /Test delivered\./);
  assert.match(text, /Status code\s*200/);
  assert.match(text, /Response time\s*\d+ ms/);

  const hit = received.slice(before).find((r) => r.body.includes('"webhook.test"'));
  assert.ok(hit, 'the receiver got the test event');
  assert.equal(hit.headers['x-api-key'], 'k-123');
  const { body: ep } = await adminApi('GET', `/admin/webhooks/${state.endpointId}`);
  assert.equal(hit.headers['x-fluent-signature'], `sha256=${hmacHex(ep.secret, hit.body)}`);

  const rows = await rowsOf('Deliveries');
  await until('the test delivery', async () => (await rows.count()) === 1);
  assert.match(await rows.first().textContent(), /webhook\.test\s*success\s*200/);
  assert.ok((await page.locator('svg.chart rect.bar-success').count()) >= 1, 'the chart shows a success bar');
});

test('secret: reveal, copy, rotate with confirmation', T, async () => {
  const value = page.locator('#secret-value');
  assert.doesNotMatch(await value.textContent(), /whsec_/);
  await page.getByRole('button', { name: 'Reveal' }).click();
  const secret = await value.textContent();
  assert.match(secret, /^whsec_/);
  await page.locator('#copy-secret').click();
  assert.equal(await until('clipboard', () => page.evaluate(() => navigator.clipboard.readText())), secret);
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const dialog = page.getByRole('dialog');
  assert.match(await dialog.textContent(), /stops signing immediately/);
  await dialog.getByRole('button', { name: 'Rotate secret' }).click();
  await until('a new secret', async () => (await value.textContent()) !== secret && /^whsec_/.test(await value.textContent()));
  await page.getByRole('button', { name: 'Hide' }).click();
  assert.doesNotMatch(await value.textContent(), /whsec_/);
});

test('failures: failed test, events from an incoming run, filter by status, redeliver', T, async () => {
  receiverMode = 'fail';
  try {
    await page.getByRole('button', { name: 'Send test event' }).click();
    await until('failed outcome', async () => /Test failed\./.test((await page.locator('#test-result').textContent()) || ''));
    assert.match(await page.locator('#test-result').textContent(), /Status code\s*500/);

    // An incoming run emits user.registered, space.member_joined and incoming_webhook.processed;
    // the dispatcher delivers them (retries: 0, so a 500 fails them at once).
    const before = received.length;
    const form = new FormData();
    form.append('email', 'events@example.com');
    assert.equal((await fetch(state.webhookUrl, { method: 'POST', body: form })).status, 200);
    await until('three event deliveries', () => received.slice(before).filter((x) => /"(user\.registered|space\.member_joined|incoming_webhook\.processed)"/.test(x.body)).length >= 3, 90_000, 500);
    const joined = received.slice(before).find((x) => x.body.includes('"space.member_joined"'));
    assert.ok(joined.body.includes('events@example.com'), 'the event carries the member');
    const { body: ep } = await adminApi('GET', `/admin/webhooks/${state.endpointId}`);
    assert.equal(joined.headers['x-fluent-signature'], `sha256=${hmacHex(ep.secret, joined.body)}`);
    assert.equal(joined.headers['x-fluentcrm-event'], 'space.member_joined');

    const rows = await rowsOf('Deliveries');
    const statusOf = async () => (await rows.locator('.badge').allTextContents()).map((t) => t.trim());
    await until('event deliveries listed as failed', async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      const texts = (await rows.allTextContents()).join(' ');
      return /space\.member_joined\s*failed\s*500/.test(texts);
    }, 30_000, 1000);

    const filter = page.getByLabel('Status', { exact: true });
    await filter.selectOption('failed');
    await until('only failed rows', async () => {
      const s = await statusOf();
      return s.length >= 3 && s.every((x) => x === 'failed');
    });
    await filter.selectOption('success');
    await until('only successful rows', async () => {
      const s = await statusOf();
      return s.length === 1 && s[0] === 'success';
    });
    await filter.selectOption('pending');
    await until('pending filter applied', async () => {
      const s = await statusOf();
      return (s.length > 0 && s.every((x) => x === 'pending')) || (await page.getByText('No pending deliveries.').count()) === 1;
    });
    await filter.selectOption('');
    await until('every row', async () => (await rows.count()) >= 5);
    assert.ok((await page.locator('svg.chart rect.bar-failed').count()) >= 1, 'the chart shows a failed bar');
    assert.ok((await page.locator('svg.chart rect.bar-success').count()) >= 1, 'the chart shows a success bar');
    await shot('outgoing-detail');

    await rows.filter({ hasText: 'space.member_joined' }).getByRole('link', { name: /Details/ }).click();
    await heading('Delivery of space.member_joined');
    const attempts = page.locator('.attempt');
    assert.equal(await attempts.count(), 1);
    assert.match(await attempts.first().textContent(), /Response code\s*500/);
    assert.ok((await attempts.first().textContent()).includes(`receiver is down ${XSS}`), 'the response body excerpt is shown as text');
    assert.match(await page.locator('#payload').textContent(), /"event": "space.member_joined"/);

    receiverMode = 'ok';
    const mark = received.length;
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await until('two attempts', async () => (await attempts.count()) === 2);
    await until('success', async () => /success/.test(await page.locator('.facts').first().textContent()));
    assert.match(await attempts.first().textContent(), /Attempt 2.*Response code\s*200/s);
    const again = received.slice(mark).find((r) => r.body.includes('"space.member_joined"'));
    assert.ok(again, 'the receiver got the redelivery');
    assert.equal(again.headers['x-fluentcrm-delivery'], joined.headers['x-fluentcrm-delivery'], 'same delivery id');
    await shot('delivery');

    await nav('Outgoing webhooks', 'Outgoing webhooks');
    assert.match(await (await rowsOf('Outgoing webhooks')).first().textContent(), /Local receiver\s*active/);
    await shot('outgoing-list');
  } finally {
    receiverMode = 'ok';
  }
});

test('a failed endpoint is flagged and can be re-activated', T, async () => {
  // A 410 Gone disables the endpoint at once.
  receiverMode = 'gone';
  try {
    const form = new FormData();
    form.append('email', 'gone@example.com');
    assert.equal((await fetch(state.webhookUrl, { method: 'POST', body: form })).status, 200);
    await until('endpoint failed', async () => (await adminApi('GET', `/admin/webhooks/${state.endpointId}`)).body.status === 'failed', 90_000, 500);
  } finally {
    receiverMode = 'ok';
  }
  await nav('Outgoing webhooks', 'Outgoing webhooks');
  assert.match(await (await rowsOf('Outgoing webhooks')).first().textContent(), /failed.*410 Gone/);
  await go(`#/outgoing/${state.endpointId}`);
  await heading('Local receiver');
  const banner = page.getByRole('alert').filter({ hasText: 'disabled after repeated failed deliveries' });
  await banner.waitFor();
  await shot('outgoing-failed');
  await page.getByRole('button', { name: 'Re-activate' }).click();
  await banner.waitFor({ state: 'detached' });
  assert.equal((await adminApi('GET', `/admin/webhooks/${state.endpointId}`)).body.status, 'active');
});

test('names, titles and payloads with markup render as text', T, async () => {
  // A space titled with markup (its space.created event goes to the endpoint, payload included).
  await nav('Spaces', 'Spaces');
  await page.getByRole('button', { name: 'New space' }).click();
  await page.getByLabel('Title').fill(XSS);
  await page.getByRole('button', { name: 'Create space' }).click();
  await heading(XSS);
  state.xssSpace = Number(page.url().split('/').pop());

  await go('#/incoming/new');
  await heading('New incoming webhook');
  await page.getByLabel('Webhook name').fill(XSS);
  await fieldOf('space_ids').getByLabel(XSS).check();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await heading(XSS);
  await page.locator('.chips').getByText(XSS).waitFor();

  const { body: ep } = await adminApi('POST', '/admin/webhooks', { name: XSS, url: receiverUrl, events: ['space.*'], headers: { 'X-Note': XSS } });
  assert.ok(ep.id, JSON.stringify(ep));

  for (const [hash, name] of [
    ['#/spaces', 'Spaces'],
    ['#/incoming', 'Incoming webhooks'],
    ['#/outgoing', 'Outgoing webhooks'],
    [`#/outgoing/${ep.id}`, XSS],
  ]) {
    await go(hash);
    await heading(name);
    await page.getByText(XSS).first().waitFor();
    assert.equal(await page.locator('img[src="x"]').count(), 0, `${hash}: no element was created from markup`);
  }
  await shot('xss-as-text');

  // The space.created payload (with the title) in the delivery detail.
  await go(`#/outgoing/${state.endpointId}`);
  await heading('Local receiver');
  const rows = await rowsOf('Deliveries');
  const row = await until('space.created delivery', async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const r = rows.filter({ hasText: 'space.created' });
    return (await r.count()) > 0 ? r.first() : null;
  }, 60_000, 1000);
  await row.getByRole('link', { name: /Details/ }).click();
  await heading('Delivery of space.created');
  assert.ok((await page.locator('#payload').textContent()).includes(XSS.replace(/</g, '\\u003c').replace(/>/g, '\\u003e')) || (await page.locator('#payload').textContent()).includes(XSS));
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  assert.deepEqual(problems.filter((p) => /dialog/.test(p)), [], 'no alert() ran');
});

test('phone width: every screen fits 390px without horizontal overflow', T, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    for (const [hash, name] of [
      ['#/incoming', 'Incoming webhooks'],
      [`#/incoming/${state.incomingId}`, 'Product purchase'],
      [`#/incoming/${state.incomingId}/edit`, 'Edit'],
      ['#/outgoing', 'Outgoing webhooks'],
      [`#/outgoing/${state.endpointId}`, 'Local receiver'],
      [`#/outgoing/${state.endpointId}/edit`, 'Edit'],
      ['#/outgoing/new', 'New outgoing webhook'],
      ['#/spaces', 'Spaces'],
      [`#/spaces/${state.spaceId}`, 'Premium Members'],
      ['#/courses', 'Courses'],
      ['#/members?email=user%40example.com', 'Members'],
      ['#/access', 'Application passwords'],
    ]) {
      await go(hash);
      await heading(name);
      await page.waitForLoadState('networkidle');
      await assertNoOverflow(hash);
      if (hash === `#/incoming/${state.incomingId}`) await shot('phone-incoming', false);
      if (hash === `#/outgoing/${state.endpointId}`) await shot('phone-outgoing', false);
    }
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});

test('edit keeps the configuration; delete asks first', T, async () => {
  await go(`#/incoming/${state.incomingId}/edit`);
  await heading('Edit');
  assert.ok(await fieldOf('space_ids').getByLabel('Premium Members').isChecked(), 'saved spaces are preselected');
  await page.getByLabel('Webhook name').fill('Product purchase (renamed)');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await heading('Product purchase (renamed)');

  await go(`#/spaces/${state.xssSpace}`);
  await heading(XSS);
  await page.getByRole('button', { name: 'Delete space' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await heading('Spaces');
  await (await rowsOf('Spaces')).first().waitFor();
  assert.equal(await page.getByText(XSS).count(), 0);
});

test('application passwords: create (shown once), scoped sign-in, revoke', T, async () => {
  await nav('App passwords', 'Application passwords');
  await page.getByText('No application passwords yet.').waitFor();
  await assertLabelled();
  await page.getByLabel('Name', { exact: true }).fill('bad:name');
  await page.getByRole('button', { name: 'Create password' }).click();
  assert.match(await fieldError('name'), /^Invalid parameter\(s\): name: /);
  await page.getByLabel('Name', { exact: true }).fill('community-platform');
  await page.getByLabel('Scope').selectOption('publish');
  await page.getByRole('button', { name: 'Create password' }).click();
  const value = page.locator('#new-app-password-value');
  await value.waitFor();
  const password = await value.inputValue();
  assert.match(password, /^sbp_\d+_[A-Za-z0-9_-]{43}$/);
  await (await rowsOf('Application passwords')).first().waitFor();
  await shot('app-passwords');
  const auth = `Basic ${Buffer.from(`community-platform:${password}`).toString('base64')}`;
  const publish = await fetch(`${ADMIN}/admin/events`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ event: 'feed.created', data: { id: 1 } }),
  });
  assert.equal(publish.status, 202);
  const outside = await fetch(`${ADMIN}/admin/spaces`, { headers: { Authorization: auth } });
  assert.equal(outside.status, 403, 'publish scope cannot read');
  // Shown once: reloading the screen lists it without the password.
  await go('#/access');
  await heading('Application passwords');
  await (await rowsOf('Application passwords')).first().waitFor();
  assert.equal(await page.locator('#new-app-password-value').count(), 0);
  assert.equal(await page.getByText(password).count(), 0);
  await page.getByRole('button', { name: 'Revoke community-platform' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await page.getByText('No application passwords yet.').waitFor();
  const revoked = await fetch(`${ADMIN}/admin/events`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ event: 'feed.created', data: { id: 1 } }),
  });
  assert.equal(revoked.status, 401, 'revoked at once');
});

test('a page on another origin cannot change anything, even with a credential attached', T, async () => {
  const { body: before } = await adminApi('GET', `/admin/webhooks/${state.endpointId}`);
  const counts = async () => ({
    webhooks: (await adminApi('GET', '/admin/webhooks')).body.webhooks.length,
    spaces: (await adminApi('GET', '/admin/spaces?per_page=100')).body.pagination.total,
  });
  const start = await counts();
  // The attacker's page, on another loopback origin (localhost vs 127.0.0.1: cross-site).
  const attacker = http.createServer((req, res) => {
    const target = (p) => `${ADMIN}${p}`;
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<!doctype html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe>
<form id="plain" method="POST" enctype="text/plain" target="sink1" action="${target('/admin/webhooks')}">
<input name='{"name":"evil","url":"http://127.0.0.1:9/steal","events":["*"],"pad":"' value='"}'></form>
<form id="urlenc" method="POST" target="sink2" action="${target('/admin/spaces')}"><input name="title" value="Evil space"></form>
<form id="top" method="POST" action="${target(`/admin/webhooks/${state.endpointId}/rotate-secret`)}"></form>
<script>
document.getElementById('plain').submit();
document.getElementById('urlenc').submit();
fetch(${JSON.stringify(target('/admin/spaces'))}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'Evil fetch' }) });
fetch(${JSON.stringify(target(`/admin/webhooks/${state.endpointId}`))}, { method: 'DELETE', mode: 'no-cors', credentials: 'include' }).catch(() => {});
setTimeout(() => document.getElementById('top').submit(), 1500);
</script></body>`);
  });
  await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
  const attackUrl = `http://localhost:${attacker.address().port}/`;
  // A worst case: the browser attaches the admin credential to every request it makes (as a
  // cached Basic credential would).
  const tab = await context.newPage();
  await tab.setExtraHTTPHeaders({ Authorization: AUTH });
  const statuses = [];
  tab.on('response', (r) => {
    if (r.url().startsWith(ADMIN)) statuses.push([r.request().method(), r.url(), r.status()]);
  });
  try {
    await tab.goto(attackUrl);
    await until('the top-level form navigation', () => tab.url().startsWith(ADMIN), 20_000);
    await tab.waitForLoadState('load');
    // A top-level GET navigation to an API URL as well.
    const nav = await tab.goto(`${ADMIN}/admin/webhooks/${state.endpointId}/rotate-secret`);
    assert.equal(nav.status(), 405);
  } finally {
    await tab.close();
    attacker.close();
  }
  const unsafe = statuses.filter(([m]) => m !== 'GET');
  assert.ok(unsafe.length >= 3, `the attacks reached the API: ${JSON.stringify(statuses)}`);
  for (const [method, url, status] of unsafe) assert.ok(status === 403 || status === 415, `${method} ${url} answered ${status}`);
  // Verified through the API: nothing changed.
  assert.deepEqual(await counts(), start);
  const { status, body: after } = await adminApi('GET', `/admin/webhooks/${state.endpointId}`);
  assert.equal(status, 200, 'the endpoint was not deleted');
  assert.equal(after.secret, before.secret, 'the secret was not rotated');
  const { body: all } = await adminApi('GET', '/admin/webhooks');
  assert.ok(!all.webhooks.some((w) => w.name === 'evil'));
});

test('a refused credential brings the sign-in back', T, async () => {
  await page.evaluate(() => sessionStorage.setItem('switchboard.credential', btoa('admin:changed')));
  await go('#/courses');
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.match(await page.locator('#signin-reason').textContent(), /Sign in again/);
  await page.locator('#signin-password').fill('admin');
  await page.locator('#signin-password').press('Enter');
  await heading('Courses');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.credential')), null);
});

test('outgoing webhook: the format follows a chat URL; the preview shows the message and refusals', T, async () => {
  // The previous test signs out: sign in again through the form.
  await page.goto(UI);
  await page.locator('#signin').waitFor({ state: 'visible' });
  await page.locator('#signin-user').fill('admin');
  await page.locator('#signin-password').fill('admin');
  await page.locator('#signin-password').press('Enter');
  await heading('Incoming webhooks');
  await go('#/outgoing/new');
  await heading('New outgoing webhook');
  await page.getByLabel('Name', { exact: true }).fill('Team chat');
  await page.getByLabel('URL', { exact: true }).fill('https://hooks.slack.com/services/T0/B0/XXXX');
  assert.equal(await page.locator('#format').inputValue(), 'slack', 'chosen from the URL');
  await page.locator('.event-group[data-ns="feed"]').getByLabel('feed.created').check();
  const preview = page.locator('#format-preview');
  await until('a Slack preview', async () => /"text": "\*Jane Doe\* posted/.test(await preview.textContent()));
  await page.locator('#message-template').fill(':tada: {{ message }}');
  await until('the message template in the preview', async () => (await preview.textContent()).includes(':tada: *Jane Doe*'));
  await page.locator('#format').selectOption('template');
  await page.locator('#template').fill('{"to": {{ data.title }}}');
  await until('the refusal in the preview', async () => /valid JSON/.test(await preview.textContent()));
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  assert.match(await fieldError('template'), /valid JSON/);
  await page.locator('#template').fill('{"to": {{ data.title|tojson }}}');
  await until('the rendered body', async () => (await preview.textContent()).includes('"to": "Welcome to our community!"'));
  await page.locator('#format').selectOption('slack');
  await assertLabelled();
  await shot('outgoing-format');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await heading('Team chat');
  const id = Number(page.url().split('/').pop());
  assert.match(await page.locator('#view').textContent(), /Format\s*Slack/);
  const { body } = await adminApi('GET', `/admin/webhooks/${id}`);
  assert.equal(body.format, 'slack');
  assert.equal(body.message_template, ':tada: {{ message }}');
  assert.equal((await adminApi('DELETE', `/admin/webhooks/${id}`)).status, 200);
});

test('outgoing webhook: a filter says live whether the sample passes; pause holds and Resume sends', T, async () => {
  await go('#/outgoing/new');
  await heading('New outgoing webhook');
  await page.getByLabel('Name', { exact: true }).fill('Space 12 only');
  await page.getByLabel('URL', { exact: true }).fill(receiverUrl.replace(/\/hook$/, "/space12"));
  await page.locator('.event-group[data-ns="feed"]').getByLabel('feed.created').check();
  const verdict = page.locator('#filter-verdict');
  await page.locator('#filter').fill('{"data.space_id": 12}');
  await until('the sample passes', async () => /passes the filter/.test(await verdict.textContent()));
  await page.locator('#filter').fill('{"data.space_id": {"$in": [13, 14]}}');
  await until('the sample does not pass', async () => /does not pass the filter/.test(await verdict.textContent()));
  await page.locator('#filter').fill('{"data.space_id": {"$near": 1}}');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  assert.match(await fieldError('filter'), /unknown operator/);
  await page.locator('#filter').fill('{"data.space_id": 12}');
  await page.getByLabel('Rate limit (deliveries per second)').fill('5');
  await page.getByRole('button', { name: 'Create endpoint' }).click();
  await heading('Space 12 only');
  const id = Number(page.url().split('/').pop());
  const saved = (await adminApi('GET', `/admin/webhooks/${id}`)).body;
  assert.deepEqual(saved.filter, { 'data.space_id': 12 });
  assert.equal(saved.rate_limit, 5);
  assert.match(await page.locator('#view').textContent(), /Rate limit\s*5 deliveries\/s/);
  assert.match(await page.locator('#view').textContent(), /Filter\s*\{"data.space_id":12\}/);

  await page.getByRole('button', { name: 'Pause' }).click();
  const banner = page.locator('.alert').filter({ hasText: 'This endpoint is paused.' });
  await banner.waitFor();
  assert.equal((await adminApi('GET', `/admin/webhooks/${id}`)).body.status, 'paused');
  const before = received.length;
  const ev = { event: 'feed.created', data: { space_id: 12, title: 'Held post' } };
  assert.equal((await adminApi('POST', '/admin/events', ev)).status, 202);
  assert.equal((await adminApi('POST', '/admin/events', { event: 'feed.created', data: { space_id: 13 } })).status, 202);
  await until('one held delivery', async () => (await adminApi('GET', `/admin/webhooks/${id}`)).body.held === 1, 60_000, 500);
  await go('#/outgoing');
  await heading('Outgoing webhooks');
  await go(`#/outgoing/${id}`);
  await heading('Space 12 only');
  await until('the held count in the banner', async () => /\(1 held\)/.test(await page.locator('#view').textContent()));
  await shot('outgoing-paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await banner.waitFor({ state: 'detached' });
  await until('the held delivery arrives', () => received.slice(before).some((x) => x.url.endsWith('/space12') && /Held post/.test(x.body)), 90_000, 500);
  assert.ok(!received.slice(before).some((x) => x.url.endsWith('/space12') && /"space_id":13/.test(x.body)), 'the filter kept space 13 out');
  assert.equal((await adminApi('DELETE', `/admin/webhooks/${id}`)).status, 200);
});

test('provider source: Stripe with its secret and setup steps; Send sample event grants through the real URL', T, async () => {
  await go('#/incoming/new');
  await heading('New incoming webhook');
  await page.getByLabel('Webhook name').fill('Stripe purchases');
  await page.getByLabel('Who calls this webhook').selectOption('stripe');
  await page.getByText('Developers → Webhooks → Add endpoint.', { exact: false }).first().waitFor();
  await page.getByLabel('Provider signing secret').fill('whsec_browser_sample_secret');
  await fieldOf('space_ids').getByLabel('Premium Members').check();
  await assertLabelled();
  await shot('incoming-provider-form');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await heading('Stripe purchases');
  assert.match(await page.locator('.facts').textContent(), /Provider secret\s*Set/);
  await page.getByRole('button', { name: 'Send sample event' }).click();
  await until('sample result', async () => /HTTP \d+/.test((await page.locator('#sample-result').textContent()) || ''));
  const result = await page.locator('#sample-result').textContent();
  assert.match(result, /checkout\.session\.completed → HTTP 200/, result);
  assert.match(result, /"outcome":"granted"/, result);
  const rows = await rowsOf('Activity log');
  await until('the sample run', async () => (await rows.count()) >= 1);
  assert.match(await rows.first().textContent(), /sample\+/);
  await shot('incoming-provider-sample');
});

test('incoming webhook: the silence alert field saves, shows in the configuration, reports the API refusal and turns off', T, async () => {
  await go('#/incoming/new');
  await heading('New incoming webhook');
  await page.getByLabel('Webhook name').fill('Silence watch');
  await fieldOf('space_ids').getByLabel('Premium Members').check();
  const hours = page.getByLabel('Silence alert after (hours)');
  assert.equal(await hours.inputValue(), '', 'off by default');
  for (const bad of ['0', '721', '1.5']) {
    await hours.fill(bad);
    await page.getByRole('button', { name: 'Create webhook' }).click();
    assert.match(await fieldError('expect_every_hours'), /expect_every_hours: must be an integer from 1 to 720, or null/, bad);
    assert.equal(await hours.getAttribute('aria-invalid'), 'true', bad);
  }
  await hours.fill('48');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await heading('Silence watch');
  const id = Number(page.url().split('/').pop());
  assert.equal((await adminApi('GET', `/admin/incoming-webhooks/${id}`)).body.expect_every_hours, 48);
  assert.match(await page.locator('.facts').textContent(), /Silence alert\s*After 48 hours without an accepted call/);

  await go(`#/incoming/${id}/edit`);
  await heading('Edit');
  assert.equal(await hours.inputValue(), '48', 'the saved value is in the form');
  await hours.fill('');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await heading('Silence watch');
  await until('the alert is off', async () => /Silence alert\s*Off/.test(await page.locator('.facts').textContent()));
  assert.equal((await adminApi('GET', `/admin/incoming-webhooks/${id}`)).body.expect_every_hours, null);
  assert.equal((await adminApi('DELETE', `/admin/incoming-webhooks/${id}`)).status, 200);
});

/** Standard Webhooks `v1,<base64>` of a delivery under `secret` (whsec_ + base64 key). */
function standardSig(secret, hit) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${hit.headers['webhook-id']}.${hit.headers['webhook-timestamp']}.${hit.body}`;
  return `v1,${crypto.createHmac('sha256', key).update(signed).digest('base64')}`;
}

/** Clicks Send test event and returns what the receiver got at `urlPath`. */
async function sendTestTo(urlPath) {
  const before = received.length;
  await page.getByRole('button', { name: 'Send test event' }).click();
  await until('the test outcome', async () => /Test delivered\./.test((await page.locator('#test-result').textContent()) || ''), 60_000);
  return until('the test delivery', () => received.slice(before).find((r) => r.url === urlPath && r.body.includes('"webhook.test"')));
}

/** Rotates through the dialog, choosing `overlap` (an option value; undefined keeps the default). */
async function rotateInDialog(overlap) {
  const { body: was } = await adminApi('GET', `/admin/webhooks/${state.rotationId}`);
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const dialog = page.getByRole('dialog');
  const select = dialog.getByLabel('Overlap');
  assert.equal(await select.inputValue(), '', 'the default overlap is preselected');
  if (overlap !== undefined) await select.selectOption(overlap);
  await dialog.getByRole('button', { name: 'Rotate secret' }).click();
  await dialog.waitFor({ state: 'detached' });
  const ep = await until('the rotated secret', async () => {
    const r = (await adminApi('GET', `/admin/webhooks/${state.rotationId}`)).body;
    return r.secret !== was.secret ? r : null;
  });
  await until('the new secret on the page', async () => (await page.locator('#secret-value').textContent()) === ep.secret);
  return { was, ep };
}

function assertExpiresIn(ep, seconds) {
  const left = (Date.parse(ep.previous_secret_expires_at) - Date.now()) / 1000;
  assert.ok(Math.abs(left - seconds) < 300, `previous_secret_expires_at ${ep.previous_secret_expires_at} is about ${seconds}s away (${left}s)`);
}

test('secret rotation: the default 24-hour overlap keeps previous_secret, a chosen one replaces it, none drops it', T, async () => {
  receiverMode = 'ok';
  const created = await adminApi('POST', '/admin/webhooks', { name: 'Rotation receiver', url: receiverUrl.replace(/\/hook$/, '/rotation'), events: ['feed.created'] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  state.rotationId = created.body.id;
  await go(`#/outgoing/${state.rotationId}`);
  await heading('Rotation receiver');
  assert.equal(await page.locator('#secret-overlap').count(), 0, 'no overlap before a rotation');

  // The default: the dialog tells the 24-hour overlap; the previous secret keeps signing.
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  assert.match(await page.getByRole('dialog').textContent(), /24 hours/);
  await shot('outgoing-rotate-secret');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  const first = await rotateInDialog();
  assert.equal(first.ep.previous_secret, first.was.secret, 'the previous secret is kept');
  assertExpiresIn(first.ep, 86_400);
  await page.locator('#secret-overlap').waitFor();
  const both = await sendTestTo('/rotation');
  assert.equal(both.headers['webhook-signature'], `${standardSig(first.ep.secret, both)} ${standardSig(first.was.secret, both)}`, 'new and previous secret sign');
  assert.equal(both.headers['x-fluent-signature'], `sha256=${hmacHex(first.ep.secret, both.body)}`, 'the seed header uses the new secret');

  // A chosen overlap during an overlap: the oldest secret is dropped, the one just replaced signs for an hour.
  const second = await rotateInDialog('3600');
  assert.equal(second.ep.previous_secret, first.ep.secret);
  assert.notEqual(second.ep.previous_secret, first.was.secret, 'the oldest secret is dropped');
  assertExpiresIn(second.ep, 3600);
  await until('the one-hour overlap on the page', async () => (await page.locator('#secret-overlap time').getAttribute('datetime')) === second.ep.previous_secret_expires_at);

  // No overlap: every overlap ends at once, only the new secret signs.
  const third = await rotateInDialog('0');
  assert.equal(third.ep.previous_secret, null, 'no previous secret');
  assert.equal(third.ep.previous_secret_expires_at, null);
  await page.locator('#secret-overlap').waitFor({ state: 'detached' });
  const one = await sendTestTo('/rotation');
  assert.equal(one.headers['webhook-signature'], standardSig(third.ep.secret, one), 'only the new secret signs');
  assert.equal((await adminApi('DELETE', `/admin/webhooks/${state.rotationId}`)).status, 200);
});

/** A ULID of now whose outbox shard (its random bits mod 8) is `shard` (0..7, the last character). */
function ulidInShard(shard) {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let time = '';
  for (let i = 0; i < 10; i += 1) {
    time = A[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const random = Array.from(crypto.randomBytes(15), (b) => A[b % 32]).join('');
  return time + random + A[shard + 8 * crypto.randomInt(4)];
}

/**
 * Writes `count` parked outbox batches of shard 0 straight to the emulator's table (DynamoDB JSON
 * API), as the sweeper leaves them after five re-sends; the relay leaves an item inserted parked
 * alone, so they wait for a redrive.
 */
async function seedParked(count) {
  const items = Array.from({ length: count }, () => {
    const id = ulidInShard(0);
    return { PutRequest: { Item: {
      pk: { S: 'OUTBOX#0' }, sk: { S: id }, body: { S: JSON.stringify({ batch_id: id, shard: 0, events: [] }) },
      created_at: { N: String(Math.floor(Date.now() / 1000)) }, attempts: { N: '5' }, parked: { BOOL: true },
    } } };
  });
  for (let i = 0; i < items.length; i += 25) {
    const r = await fetch(process.env.AWS_ENDPOINT_URL, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'DynamoDB_20120810.BatchWriteItem',
        Authorization: 'AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ RequestItems: { [process.env.TABLE_NAME]: items.slice(i, i + 25) } }),
    });
    assert.equal(r.status, 200, await r.text());
  }
}

test('parked event batches: listed page by page with Show more, Redrive all sends every one', T, async () => {
  assert.ok(process.env.AWS_ENDPOINT_URL && process.env.TABLE_NAME, 'the emulator and table of this run');
  await seedParked(101);
  await go('#/outgoing');
  await page.locator('#parked-title').waitFor();
  let shown = 0;
  await until('the first page of parked batches', async () => {
    shown = await page.locator('#parked-list li').count();
    return shown === 100;
  }).catch((e) => {
    throw new Error(`${e.message}: ${shown} shown`);
  });
  await page.locator('#parked-more').click();
  await until('the next page appended', async () => (await page.locator('#parked-list li').count()) === 101);
  assert.equal(await page.locator('#parked-more').count(), 0, 'nothing more to show');
  await page.locator('#redrive-all').click();
  await page.locator('.toast', { hasText: '101 batches were sent to the event queue again.' }).waitFor();
  await page.locator('#parked-title').waitFor({ state: 'detached' });
  const status = await adminApi('GET', '/admin/outbox');
  assert.deepEqual(status.body.parked, [], JSON.stringify(status.body));
});

test('no CSP violation, script error or dialog happened', () => {
  assert.deepEqual(problems, []);
});
