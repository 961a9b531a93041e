#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist so `npx tessera` works right after `npm install`.
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tessera: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
