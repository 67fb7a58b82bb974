// The V8 heap settings the gateway runs with (`npm start`, `dirgate`, the benchmark):
// a young generation of at most 8 MB and a heap that grows by 35% between full
// collections instead of up to fourfold. A 100,000-user sync then peaks near 530 MB
// instead of 700–800 MB, for about 15% more sync time (README, Performance).
// package.json's start script repeats them; test/unit/node-flags.test.ts checks they agree.
export const SERVICE_NODE_FLAGS = ['--heap-growing-percent=35', '--max-semi-space-size=8'];
