// Browser test of the request forms on the /privacy page: the real `comptoir` binary
// (COMPTOIR_BINARY) on an ephemeral loopback port with a temp data dir, driven through Debian's
// Chromium by playwright-core. A web chat customer asks for a copy of their data on the page
// (the page offers their chat session), reads the code in the chat, enters a wrong code, then the
// right one, downloads the export once; then erases their data and gets the signed receipt. The
// French page speaks French. No console error (the page's Content-Security-Policy included).
// Every step awaits a condition; nothing sleeps.
//
// Run: COMPTOIR_BINARY=build/comptoir tests/browser/run.sh privacy.test.mjs   (ctest: browser.privacy)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile, access, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const BINARY = process.env.COMPTOIR_BINARY;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = 20_000;

let dir;
let config;
let server;
let serverExit;
const stderrLines = [];
let base;
let browser;

function run(file, args) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

function startServer() {
  server = spawn(BINARY, ['serve', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  serverExit = once(server, 'close');
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
        return;
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
  dir = await mkdtemp(join(tmpdir(), 'comptoir-browser-privacy-'));
  config = join(dir, 'comptoir.json');
  await writeFile(config, JSON.stringify({
    data_dir: join(dir, 'data'),
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
  }, null, 2));
  const init = await run(BINARY, ['init', '-c', config]);
  assert.equal(init.code, 0, `comptoir init failed:\n${init.stdout}\n${init.stderr}`);
  base = `http://127.0.0.1:${await startServer()}`;
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

async function newPage(locale = 'en-US') {
  const context = await browser.newContext({ locale, acceptDownloads: true, viewport: { width: 1024, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const url = m.location().url || '';
    if (url.endsWith('/favicon.ico')) return;
    // A wrong code is a 403 the page handles; Chromium logs the status anyway.
    if (/status of 403/.test(m.text()) && url.includes('/verify')) return;
    problems.push(`console: ${m.text()} ${url}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

// The code the shop sent to the web chat session, read from its news.
async function codeFor(session, seen) {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/webchat/v1/messages?after=0`, { headers: { Authorization: `Bearer ${session}` } });
    const body = await res.json();
    const codes = body.messages.map((m) => (m.text.match(/\b(\d{8})\b/) || [])[1]).filter(Boolean);
    const fresh = codes.filter((c) => !seen.includes(c));
    if (fresh.length) {
      seen.push(fresh[0]);
      return fresh[0];
    }
    await new Promise((r) => setTimeout(r, 50));  // polling interval while the code is queued
  }
  throw new Error('no code arrived in the web chat');
}

test('a web chat customer gets their data, then erases it, on the privacy page', async () => {
  const { context, page, problems } = await newPage();
  // Chat first, in this tab: the page keeps the session in this tab's storage.
  await page.goto(base + '/');
  await page.getByRole('log').getByRole('button', { name: 'Browse products', exact: true }).waitFor();
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('comptoir.webchat.v1')).session);
  assert.match(session, /^wcs_/);

  await page.goto(base + '/privacy');
  const forms = page.getByRole('region', { name: 'Make a request about your data' });
  await forms.waitFor();
  await forms.getByLabel('What would you like?').selectOption('access');
  await forms.getByLabel('The chat you use with us').selectOption('webchat');
  assert.equal(await forms.getByLabel('Your WhatsApp number').inputValue(), session, 'the page offers the chat session');
  await forms.getByRole('button', { name: 'Send me a code' }).click();
  const status = page.getByRole('status');
  await status.getByText('a code is on its way').waitFor();
  const codeBox = forms.getByLabel('Code received in the chat');
  await codeBox.waitFor();

  const seen = [];
  const code = await codeFor(session, seen);
  await codeBox.fill(code === '00000000' ? '11111111' : '00000000');
  await forms.getByRole('button', { name: 'Confirm' }).click();
  await status.getByText('Attempts left: 4.').waitFor();
  await codeBox.fill(code);
  await forms.getByRole('button', { name: 'Confirm' }).click();
  await status.getByText('Done: your request has been carried out.').waitFor();

  const link = forms.getByRole('link', { name: /Download my data/ });
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const exported = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(exported.format, 'comptoir.export.v1');
  assert.ok(exported.categories.some((c) => c.id === 'channel_address' && c.records.length === 1));
  // Once only.
  const again = await fetch(base + (await link.getAttribute('href')));
  assert.equal(again.status, 410);

  // Erasure: the signed receipt is shown on the page.
  await forms.getByLabel('What would you like?').selectOption('erasure');
  await forms.getByRole('button', { name: 'Send me a code' }).click();
  await codeBox.waitFor();
  await codeBox.fill(await codeFor(session, seen));
  await forms.getByRole('button', { name: 'Confirm' }).click();
  await status.getByText('Done: your request has been carried out.').waitFor();
  const receipt = JSON.parse(await forms.locator('pre.receipt').innerText());
  assert.equal(receipt.algorithm, 'Ed25519');
  assert.equal(receipt.receipt.format, 'comptoir.erasure-receipt.v1');
  assert.match(receipt.signature, /^[0-9a-f]{128}$/);
  assert.ok(receipt.receipt.categories.some((c) => c.category === 'channel_address' && c.outcome === 'erased'));

  assert.deepEqual(problems, []);
  await context.close();
});

test('the French page asks in French and explains a refused form', async () => {
  const { context, page, problems } = await newPage('fr-FR');
  await page.goto(base + '/privacy?lang=fr');
  const forms = page.getByRole('region', { name: 'Faire une demande concernant vos données' });
  await forms.waitFor();
  await forms.getByLabel('Que souhaitez-vous ?').selectOption('rectification');
  await forms.getByLabel('Nouvelle adresse de livraison (facultatif)').waitFor();
  await forms.getByLabel('La messagerie que vous utilisez avec nous').selectOption('whatsapp');
  await forms.getByRole('button', { name: 'Envoyez-moi un code' }).click();
  await page.getByRole('status').getByText('Veuillez vérifier votre saisie.').waitFor();
  assert.deepEqual(problems, []);
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
