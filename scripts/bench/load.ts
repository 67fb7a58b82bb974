/** A closed-loop load generator: N workers each sending the next request when the last one answered. */

export interface LoadOptions {
  readonly seconds: number;
  readonly concurrency: number;
  /** One request; `worker` is the worker's index (for per-worker connections). */
  readonly request: (worker: number) => Promise<void>;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  // A short warm-up so JIT and connection set-up do not count.
  const warmUntil = performance.now() + 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      while (performance.now() < warmUntil) await options.request(w).catch(() => {});
    }),
  );
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await options.request(w);
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { requests: latencies.length, errors, rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}
