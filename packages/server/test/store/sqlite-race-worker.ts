// A worker for sqlite.test.ts: opens the shared file (racing the others through migrations), waits until
// every worker has it open, then rotates the same refresh token as the others at the same moment.
import { parentPort, workerData } from 'node:worker_threads';
import { openSQLiteStore } from '../../src/store/sqlite.js';
import { familyFixture, tokenFixture } from './contract.js';

const { path, index, workers, shared } = workerData as {
  path: string;
  index: number;
  workers: number;
  shared: Int32Array;
};

let applied: string[] = [];
const store = await openSQLiteStore({ path, onMigrationsApplied: (names) => (applied = names) });
if (index === 0) await store.createFamily(familyFixture('f1'), tokenFixture('h0', 'f1'));
// Barrier: worker 0 arrives only after creating the token, so once all have arrived it exists; then all
// rotate at the same moment.
Atomics.add(shared, 0, 1);
for (let seen = Atomics.load(shared, 0); seen < workers; seen = Atomics.load(shared, 0)) {
  Atomics.wait(shared, 0, seen, 10);
}
const result = await store.rotateRefreshToken(
  'h0',
  { hash: `next-${index}`, createdAt: 1, expiresAt: 2, usedAt: null },
  1,
);
await store.close();
parentPort?.postMessage({ applied, status: result.status });
