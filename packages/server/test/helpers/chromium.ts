/**
 * Debian's Chromium for the browser tests (`npx playwright install` cannot download here). In CI a missing
 * browser is a failure, never a silent skip; elsewhere `skip` holds the reason for a loud skip.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
export const chromiumAvailable = existsSync(CHROMIUM);
export const chromiumSkip: string | false =
  !chromiumAvailable && process.env.CI !== 'true' ? `chromium not found at ${CHROMIUM}` : false;

/**
 * Headless flags: without the background-networking ones Chromium makes requests of its own (updates,
 * sync, safe browsing), which would both fail on this closed network and pollute the network-log checks.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * For a browser test file: announces a loud skip outside CI when Chromium is missing and returns its reason
 * (false when the file runs).
 */
export function chromiumSkipFor(file: string): string | false {
  if (chromiumSkip)
    process.stderr.write(
      `\n!!! ${file}: SKIPPED, ${chromiumSkip} (install Debian's chromium; in CI this fails)\n\n`,
    );
  return chromiumSkip;
}

/** Where the browser tests run (always in CI), a missing Chromium fails them. */
export function assertChromium(): void {
  assert.ok(chromiumAvailable, `chromium is required in CI (looked for ${CHROMIUM})`);
}
