// The demo mail reader with 10,000 small messages: time from Connect to a complete, sorted
// list, and how smoothly the (virtual) list scrolls. Figures go to the test output and to
// artifacts/perf-10k.json.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, launchBrowser, startDemo } from './harness.mjs';

const COUNT = 10_000;
const results = { messages: COUNT };
let dir;
let demo;
let browser;

function writeMailbox(path) {
  const senders = ['Ana Prado', 'Chen Wei', 'Grace O\'Neill', 'Jörg Weber', 'Lena Hartmann', 'Priya Raman', 'Sam Okafor', 'Yuko Tanaka'];
  const topics = ['budget', 'sensor calibration', 'offsite', 'invoice', 'release notes', 'lunch', 'field report', 'hiring'];
  const start = Date.UTC(2025, 0, 1);
  for (let i = 1; i <= COUNT; i++) {
    const who = senders[i % senders.length];
    const date = new Date(start + i * 47 * 60_000).toUTCString().replace('GMT', '+0000');
    const text = [
      `From: ${who} <${who.toLowerCase().replace(/[^a-z]+/g, '.')}@example.org>`,
      'To: Alex Morgan <alex.morgan@bramblewood.example>',
      `Subject: Message ${i} about the ${topics[i % topics.length]}`,
      `Date: ${date}`,
      `Message-ID: <perf-${i}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Hello Alex, this is message number ${i}.`,
      '',
    ].join('\r\n');
    writeFileSync(join(path, `${String(i).padStart(5, '0')}.eml`), text);
  }
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const pick = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { frames: s.length, mean: +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(1), p50: +pick(0.5).toFixed(1), p95: +pick(0.95).toFixed(1), max: +s[s.length - 1].toFixed(1) };
};

describe('10,000 messages', { timeout: 900_000 }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pop3-demo-10k-'));
    writeMailbox(dir);
    const t = Date.now();
    demo = await startDemo(['--mail', dir]);
    results.stackStartMs = Date.now() - t;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
    writeFileSync(join(ROOT, 'artifacts', 'perf-10k.json'), `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
  });

  for (const tls of ['none', 'starttls']) {
    test(`log in, list, scroll, filter, open (TLS: ${tls})`, async () => {
      const r = {};
      results[tls] = r;
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      try {
        await page.goto(demo.info.url);
        await page.waitForFunction(() => document.getElementById('password').value !== '');
        await page.selectOption('#tls', tls);
        const t0 = Date.now();
        await page.click('#connect');
        await page.waitForSelector('#list .row', { timeout: 60_000 });
        r.firstRowsMs = Date.now() - t0;
        await page.waitForSelector('#list .row:not(.pending)', { timeout: 60_000 });
        r.firstHeadersMs = Date.now() - t0;
        await page.waitForSelector('#list[data-state=ready]', { timeout: 60_000 });
        r.completeSortedListMs = Date.now() - t0;
        r.headersPhaseMs = Number(await page.evaluate(() => document.documentElement.dataset.headersMs));
        assert.equal(Number(await page.getAttribute('#list', 'data-total')), COUNT);
        r.rowsInDom = await page.$$eval('#list .row', (rows) => rows.length);
        assert.ok(r.rowsInDom < 80, `a virtual list keeps few rows in the DOM (${r.rowsInDom})`);
        // Newest first: the last message delivered has the latest date.
        assert.equal(await page.getAttribute('#list .row[aria-posinset="1"]', 'data-msg'), String(COUNT));

        // Scrolling: 20 rows per frame through the list, frame times measured in the page.
        r.scroll = await page.evaluate(async () => {
          const list = document.getElementById('list');
          const longTasks = [];
          const observer = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
          try { observer.observe({ type: 'longtask', buffered: false }); } catch { /* not supported */ }
          const frames = [];
          let last = performance.now();
          for (let i = 0; i < 300; i++) {
            list.scrollTop += 20 * 58;
            await new Promise((r) => requestAnimationFrame(r));
            const now = performance.now();
            frames.push(now - last);
            last = now;
          }
          observer.disconnect();
          return { frames, longTasks, rowsInDom: list.querySelectorAll('.row').length, scrollTop: list.scrollTop };
        });
        const frameStats = stats(r.scroll.frames);
        r.scroll = { ...frameStats, longTasks: r.scroll.longTasks.length, longestTaskMs: Math.max(0, ...r.scroll.longTasks), rowsInDom: r.scroll.rowsInDom };
        assert.ok(r.scroll.rowsInDom < 80);
        assert.ok(frameStats.p95 < 100, `scrolling stays responsive (p95 frame ${frameStats.p95} ms)`);

        // Keyboard: End jumps to the oldest message.
        await page.focus('#list');
        let t1 = Date.now();
        await page.keyboard.press('End');
        await page.waitForFunction(() => document.getElementById('list').getAttribute('aria-activedescendant') === 'row-1');
        r.endKeyMs = Date.now() - t1;

        // Filter over all 10,000.
        t1 = Date.now();
        await page.fill('#filter', 'message 9999 ');
        await page.waitForFunction(() => document.getElementById('list').dataset.filter === 'message 9999');
        r.filterMs = Date.now() - t1; // includes the 90 ms typing debounce
        assert.equal(await page.getAttribute('#list', 'data-count'), '1');

        // Open it.
        t1 = Date.now();
        await page.click('#list [data-msg="9999"]');
        await page.waitForSelector('#message[data-msg="9999"][data-state=ready]');
        r.openMessageMs = Date.now() - t1;
        assert.match(await page.textContent('#text-body'), /message number 9999\./);
        await page.click('#logout');
        await page.waitForSelector('#login-view:not([hidden])');
      } finally {
        await context.close();
      }
      console.log(`10k (TLS ${tls}):`, JSON.stringify(r));
    });
  }
});
