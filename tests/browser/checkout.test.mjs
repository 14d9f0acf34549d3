// Browser test of the web chat page: the real `comptoir` binary (COMPTOIR_BINARY) on an
// ephemeral loopback port with a temp data dir, driven through Debian's Chromium by
// playwright-core. A customer buys by clicking options and by typing, the page survives a
// reload, shows shop news from polling, explains a 429, and fits a 360 px phone screen.
// Every step awaits a condition (Playwright's auto-waiting); nothing sleeps.
//
// Run: COMPTOIR_BINARY=build/comptoir tests/browser/run.sh   (ctest: browser.checkout)
// Optional: CHROMIUM=/path/to/chromium, COMPTOIR_SCREENSHOTS=/some/dir (saves page images).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const BINARY = process.env.COMPTOIR_BINARY;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.COMPTOIR_SCREENSHOTS || '';
const TIMEOUT = 20_000;  // per awaited condition; a healthy run needs a fraction of it

let dir;
let config;
let server;
let serverExit;
let stderrLines = [];
let base;
let browser;
let ownerToken;

function run(file, args) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

// Starts `comptoir serve` and resolves with the port from its "listening" log line.
function startServer() {
  server = spawn(BINARY, ['serve', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  serverExit = once(server, 'close');  // after stderr is drained too
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no "listening" line within 30 s:\n' + stderrLines.join('\n'))), 30_000);
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`comptoir serve exited early (code ${code}, signal ${signal}):\n` + stderrLines.join('\n')));
    });
    createInterface({ input: server.stderr }).on('line', (line) => {
      stderrLines.push(line);
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        return;  // sanitizer output or other non-JSON text: kept for the failure message only
      }
      if (entry.event === 'listening' && Number.isInteger(entry.port) && entry.port > 0) {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
  });
}

before(async () => {
  assert.ok(BINARY, 'set COMPTOIR_BINARY to the comptoir executable');
  await access(BINARY);
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} not found; run COMPTOIR_WITH_BROWSER=1 scripts/install-deps.sh`);
  });
  dir = await mkdtemp(join(tmpdir(), 'comptoir-browser-'));
  config = join(dir, 'comptoir.json');
  await writeFile(config, JSON.stringify({
    data_dir: join(dir, 'data'),
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
  }, null, 2));
  const init = await run(BINARY, ['init', '-c', config]);
  assert.equal(init.code, 0, `comptoir init failed:\n${init.stdout}\n${init.stderr}`);
  const token = await run(BINARY, ['token', 'create', '-c', config, '--role', 'operator', '--label', 'browser-test']);
  assert.equal(token.code, 0, `comptoir token create failed:\n${token.stderr}`);
  ownerToken = token.stdout.trim().split(/\s+/).pop();
  const port = await startServer();
  base = `http://127.0.0.1:${port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

// A page whose console errors (CSP violations among them) and uncaught exceptions are collected.
async function openChat(options) {
  const context = await browser.newContext({ locale: 'en-US', ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    // The server has no favicon; a browser asks for one anyway.
    if (url.endsWith('/favicon.ico')) return;
    problems.push(`console: ${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(base + '/');
  return { context, page, problems };
}

// The newest group of option buttons; Playwright re-resolves it on every action, so
// `latest(page).getByRole('button', …)` waits until the expected reply has arrived.
const log = (page) => page.getByRole('log');
const latest = (page) => log(page).getByRole('group').last();
const option = (page, name) => latest(page).getByRole('button', { name, exact: true });
const shopSays = (page, text) => log(page).locator('.msg-shop').filter({ hasText: text }).last();
const focusedText = (page) => page.evaluate(() => document.activeElement && document.activeElement.textContent);

async function waitForFocus(page, description, predicate, arg) {
  await page.waitForFunction(predicate, arg, { timeout: TIMEOUT }).catch(async () => {
    throw new Error(`focus is not ${description}; it is on "${await focusedText(page)}"`);
  });
}

async function noHorizontalScroll(page) {
  const sizes = await page.evaluate(() => {
    const el = document.documentElement;
    const logEl = document.getElementById('log');
    return { page: [el.scrollWidth, el.clientWidth], log: [logEl.scrollWidth, logEl.clientWidth] };
  });
  assert.ok(sizes.page[0] <= sizes.page[1], `page scrolls sideways: ${JSON.stringify(sizes)}`);
  assert.ok(sizes.log[0] <= sizes.log[1], `conversation scrolls sideways: ${JSON.stringify(sizes)}`);
}

async function insideViewport(page, locator, what) {
  await locator.waitFor({ state: 'visible' });
  const box = await locator.boundingBox();
  const vp = page.viewportSize();
  assert.ok(box, `${what} has no box`);
  assert.ok(box.x >= 0 && box.y >= 0 && box.x + box.width <= vp.width && box.y + box.height <= vp.height,
    `${what} is not fully on screen: ${JSON.stringify(box)} in ${vp.width}x${vp.height}`);
}

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: join(SHOTS, name), animations: 'disabled' });
}

test('a customer buys by clicking and typing, reloads, and sees shop news', async () => {
  const { context, page, problems } = await openChat({ viewport: { width: 1280, height: 860 } });

  // Page chrome: English, a labelled text box, a conversation log.
  await page.getByRole('heading', { level: 1, name: 'Chat with the shop' }).waitFor();
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.waitFor();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await log(page).getAttribute('aria-live'), 'polite');

  // The page greets the shop by itself; the menu arrives without the customer doing anything.
  await option(page, 'Browse products').waitFor();
  assert.equal(await log(page).locator('.msg-me').count(), 0, 'the automatic greeting is not shown as typed');
  await shot(page, 'desktop-menu.png');

  // Clicking an option moves focus to the new choices: the rest works from the keyboard.
  await option(page, 'Browse products').click();
  await log(page).locator('.msg-me').filter({ hasText: 'Browse products' }).waitFor();
  await option(page, 'Bakery').waitFor();
  await waitForFocus(page, 'on the first category', () => document.activeElement?.textContent === 'Bakery');
  await page.keyboard.press('Enter');  // choose "Bakery" with the keyboard
  await option(page, 'Baguette').waitFor();
  await waitForFocus(page, 'on the first product', () => document.activeElement?.textContent?.startsWith('Baguette'));
  await page.keyboard.press('Enter');
  await option(page, 'Add 2').click();
  await shopSays(page, 'Added 2 × Baguette to your cart.').waitFor();

  // Typing: "cart" + Enter; the text box keeps the focus.
  await input.fill('cart');
  await input.press('Enter');
  await log(page).locator('.msg-me').filter({ hasText: /^You: cart$/ }).waitFor();
  await shopSays(page, 'Your cart:').waitFor();
  assert.match(await shopSays(page, 'Your cart:').innerText(), /2 × Baguette/);
  assert.equal(await input.inputValue(), '');
  await waitForFocus(page, 'in the text box', () => document.activeElement?.id === 'text');

  await option(page, 'Checkout').click();
  await option(page, 'Pick up in store').click();
  await option(page, 'Order and pay').waitFor();
  // The summary's privacy notice address is a real link, built without innerHTML.
  const privacy = shopSays(page, 'Please check your order:').getByRole('link');
  assert.match(await privacy.getAttribute('href'), /^http:\/\/127\.0\.0\.1:\d+\/privacy\?lang=en$/);
  await shot(page, 'desktop-summary.png');
  await option(page, 'Order and pay').click();
  const placed = shopSays(page, 'has been placed');
  await placed.waitFor();
  const number = (await placed.innerText()).match(/Your order (C-\d{6}) has been placed/);
  assert.ok(number, `no order number in: ${await placed.innerText()}`);
  assert.equal(number[1], 'C-000001', 'first order of a fresh shop');
  await shot(page, 'desktop-placed.png');

  // A reload continues the same conversation (session in sessionStorage) without greeting again.
  const before = await log(page).locator('.msg').count();
  await page.reload();
  await shopSays(page, 'Your order C-000001 has been placed').waitFor();
  assert.equal(await log(page).locator('.msg').count(), before);
  await input.fill('orders');
  await input.press('Enter');
  await option(page, 'C-000001 · placed').waitFor();

  // Shop news: the shop accepts the order; the page's polling shows it.
  const res = await fetch(`${base}/api/v1/orders/C-000001/status`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ownerToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ status: 'accepted' }),
  });
  assert.equal(res.status, 200, await res.text());
  await shopSays(page, 'Good news: your order C-000001 has been accepted.').waitFor();

  assert.deepEqual(problems, []);
  await context.close();
});

test('on a 360 px phone the chat fits, and a 429 gets a polite wait line', async () => {
  const { context, page, problems } = await openChat({
    viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  const input = page.getByRole('textbox', { name: 'Message' });
  const send = page.getByRole('button', { name: 'Send', exact: true });
  await option(page, 'Browse products').waitFor();
  await insideViewport(page, input, 'the text box');
  await insideViewport(page, send, 'the Send button');
  await insideViewport(page, option(page, 'Browse products'), 'the first option');
  await noHorizontalScroll(page);
  await shot(page, 'phone-menu.png');

  await option(page, 'Browse products').tap();
  await option(page, 'Wine & drinks').tap();
  await option(page, 'Back').waitFor();
  await noHorizontalScroll(page);
  await insideViewport(page, send, 'the Send button');
  await shot(page, 'phone-products.png');

  // The next message is refused once with 429 + Retry-After: the page says so, then sends it.
  let refused = 0;
  await page.route((url) => url.pathname === '/webchat/v1/messages', async (route) => {
    if (route.request().method() === 'POST' && refused === 0) {
      refused += 1;
      await route.fulfill({
        status: 429,
        headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
        body: JSON.stringify({ error: { code: 'rate_limited', message: 'too many messages', request_id: 'test' } }),
      });
    } else {
      await route.continue();
    }
  });
  await input.fill('help');
  await send.tap();
  const status = page.getByRole('status');
  await status.getByText('Your message will be sent in 1 s.').waitFor();
  await shopSays(page, 'Tap an option or type its number.').waitFor();
  await status.getByText('Too many messages').waitFor({ state: 'detached' });
  assert.equal(refused, 1);
  await noHorizontalScroll(page);

  // Chromium logs the refused request; nothing else may show up.
  const refusals = problems.filter((p) => p.includes('status of 429') && p.includes('/webchat/v1/messages'));
  assert.equal(refusals.length, 1, problems.join('\n'));
  assert.deepEqual(problems.filter((p) => !refusals.includes(p)), []);
  await context.close();
});

test('the server stops cleanly on SIGTERM', async () => {
  assert.ok(server.kill('SIGTERM'));
  const [code, signal] = await serverExit;
  assert.equal(signal, null, stderrLines.join('\n'));
  assert.equal(code, 0, stderrLines.join('\n'));
  const errors = stderrLines.filter((l) => l.includes('"level":"error"') || l.includes('Sanitizer'));
  assert.deepEqual(errors, []);
});
