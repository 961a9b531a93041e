// The --html report of a real (short) simulation in a real headless Chromium (Debian's, driven by
// playwright-core): it renders, its SVG charts are there, the page made no network request at all, and a
// screenshot is not blank. In CI a missing browser is a failure; elsewhere a loud skip.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough } from 'node:stream';
import { chromium, type Browser } from 'playwright-core';
import { main } from '../../src/cli/main.js';
import { renderHTML } from '../../src/simulate/report-html.js';
import type { SimulationReport } from '../../src/simulate/report.js';
import { assertChromium, CHROMIUM, CHROMIUM_ARGS, chromiumSkipFor } from '../helpers/chromium.js';

const skip = chromiumSkipFor('report-browser');

const dir = mkdtempSync(join(tmpdir(), 'tessera-sim-html-'));
let browser: Browser | undefined;
let htmlFile: string;
let report: SimulationReport;

before(async () => {
  if (skip) return;
  assertChromium();
  htmlFile = join(dir, 'report.html');
  const jsonFile = join(dir, 'report.json');
  const out = new PassThrough();
  out.resume();
  const code = await main(
    [
      'simulate',
      '--scenario',
      'idp-outage',
      '--strategies',
      'jwt,jwt-cached,introspect',
      '--duration',
      '3s',
      '--connections',
      '3',
      '--users',
      '10',
      '--html',
      htmlFile,
      '--json',
      jsonFile,
    ],
    { stdout: out, stderr: out, stdin: new PassThrough(), env: {} },
  );
  assert.equal(code, 0);
  report = JSON.parse(readFileSync(jsonFile, 'utf8')) as SimulationReport;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the HTML report is self-contained: no script, no external reference', { skip }, () => {
  const html = readFileSync(htmlFile, 'utf8');
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /(src|href)=["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import|url\(/i);
  assert.equal(html, renderHTML(report), 'the file is the rendering of the JSON report');
});

test('it renders in Chromium with its SVG charts, makes no request, and is not blank', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const fileURL = pathToFileURL(htmlFile).href;
  await page.goto(fileURL, { waitUntil: 'load' });
  assert.equal(await page.title(), 'tessera simulate: idp-outage');
  const charts = await page.locator('svg.chart').count();
  // Latency, throughput, requests over time, cache hit ratio over time, error rate over time.
  assert.ok(charts >= 5, `${charts} charts`);
  const bars = await page.locator('svg.chart rect').count();
  assert.ok(bars > 10, 'the bar charts have bars');
  assert.ok((await page.locator('svg.chart path').count()) >= 3, 'the time-series charts have lines');
  const rows = await page.locator('table tbody tr').count();
  assert.equal(rows, report.strategies.length);
  // The outage marker is drawn on the time series.
  assert.ok((await page.getByText('issuer stops').count()) >= 1);
  // The only request is the page itself (file://): no font, script, image or beacon went anywhere.
  assert.deepEqual(
    requests.filter((u) => u !== fileURL),
    [],
  );
  const shot = await page.screenshot({ fullPage: true });
  const blank = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  await blank.setContent('<html><body></body></html>');
  const empty = await blank.screenshot({ fullPage: true });
  assert.ok(shot.length > 30_000, `screenshot is ${shot.length} bytes`);
  assert.ok(shot.length > empty.length * 5, 'much more content than a blank page');
  await page.close();
  await blank.close();
});
