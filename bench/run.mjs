#!/usr/bin/env node
// Tessera benchmarks. `npm run bench` builds, then runs every section whose code exists;
// `node --expose-gc bench/run.mjs --only jose|sdk|http|stores|signin|dpop|dpop-sdk|proxy` runs one; `--quick` shortens everything for a smoke run.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanup, setInProcessLoad } from './lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const mdAt = args.indexOf('--markdown');
const markdownPath = mdAt >= 0 ? args[mdAt + 1] : null;
setInProcessLoad(quick);
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1]?.split(',')) : null;
const SECTIONS = [
  ['jose', './jose.mjs', 'runJoseSection'],
  ['sdk', './sdk.mjs', 'runSDKSection'],
  ['http', './http-server.mjs', 'runHTTPSection'],
  ['stores', './stores.mjs', 'runStoresSection'],
  ['signin', './signin.mjs', 'runSignInSection'],
  ['dpop', './dpop.mjs', 'runDpopSection'],
  ['dpop-sdk', './dpop-sdk.mjs', 'runDpopSDKSection'],
  ['proxy', './proxy.mjs', 'runProxySection'],
];
if (only) {
  for (const name of only) {
    if (!SECTIONS.some(([n]) => n === name)) {
      console.error(`unknown section "${name}" (expected ${SECTIONS.map(([n]) => n).join(', ')})`);
      process.exit(2);
    }
  }
}

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    // not Linux: os.cpus() is good enough
  }
  return {
    cpus: cpus().length,
    cpuModel: model,
    node: process.version,
    gcExposed: typeof globalThis.gc === 'function',
  };
}

// Everything printed is Markdown; with --markdown FILE it is also written there (for docs/performance.md).
const printed = [];
const print = (text) => {
  printed.push(text);
  console.log(text);
};

// Which code was measured: the commit, plus any uncommitted package sources (several people share this tree).
function codeState() {
  const git = (...a) => execFileSync('git', a, { cwd: join(here, '..'), encoding: 'utf8' });
  try {
    const dirty = git('status', '--porcelain', '--', 'packages/jwt/src', 'packages/server/src');
    // porcelain lines: two status letters and a space, then the path (never trim the first line's space)
    const uncommitted = dirty
      .split('\n')
      .filter((l) => l.length > 3)
      .map((l) => l.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD').trim(), uncommitted };
  } catch {
    return { commit: 'unknown', uncommitted: [] };
  }
}

const report = {
  startedAt: new Date().toISOString(),
  command: `node ${process.execArgv.join(' ')} bench/run.mjs ${args.join(' ')}`.replace(/\s+/g, ' ').trim(),
  quick,
  machine: machine(),
  code: codeState(),
  sections: {},
};
print(`# Tessera benchmarks${quick ? ' (--quick: smoke run, numbers are not meaningful)' : ''}\n`);
print(
  `Code: commit ${report.code.commit}` +
    (report.code.uncommitted.length
      ? `, plus uncommitted changes to ${report.code.uncommitted.join(', ')}`
      : '') +
    '\n',
);
print(
  `Machine: ${report.machine.cpus} CPUs, ${report.machine.cpuModel}, node ${report.machine.node}` +
    `${report.machine.gcExposed ? '' : ' (run with --expose-gc for gc between contenders)'}\n`,
);

let failed = false;
for (const [name, file, fn] of SECTIONS) {
  if (only && !only.has(name)) continue;
  const t0 = Date.now();
  try {
    const mod = await import(file);
    const loadBefore = loadavg();
    const result = await mod[fn]({ quick });
    const loadAfter = loadavg();
    report.sections[name] = {
      ...result,
      seconds: (Date.now() - t0) / 1000,
      loadavgBefore: loadBefore,
      loadavgAfter: loadAfter,
    };
    const la = (l) => l.map((x) => x.toFixed(2)).join(' ');
    print(
      `_(${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s; load average before ${la(loadBefore)}, after ${la(loadAfter)})_\n`,
    );
    print(`${result.markdown}\n`);
  } catch (err) {
    failed = true;
    report.sections[name] = { error: String(err?.stack ?? err) };
    print(`### ${name}: FAILED\n\n\`\`\`\n${err?.stack ?? err}\n\`\`\`\n`);
  }
}
await cleanup(); // every child (servers, load generators) is gone, also after a failed section
report.finishedAt = new Date().toISOString();
mkdirSync(join(here, 'results'), { recursive: true });
const out = join(here, 'results', 'latest.json');
writeFileSync(out, JSON.stringify(report, (k, v) => (k === 'markdown' ? undefined : v), 2) + '\n');
if (markdownPath) writeFileSync(markdownPath, printed.join('\n') + '\n');
console.log(`Results written to ${out}${markdownPath ? ` and ${markdownPath}` : ''}`);
process.exit(failed ? 1 : 0);
