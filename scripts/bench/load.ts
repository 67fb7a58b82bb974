/** A closed-loop load generator: N workers each sending the next request when the last one answered. */

export interface LoadOptions {
  readonly seconds: number;
  readonly concurrency: number;
  /** One request; `worker` is the worker's index (for per-worker connections). */
  readonly request: (worker: number) => Promise<void>;
  /** Unmeasured load first, so that JIT and connection set-up do not count (default 1000 ms). */
  readonly warmUpMs?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

interface Samples {
  readonly latencies: number[];
  errors: number;
  seconds: number;
}

async function drive(options: LoadOptions, into: Samples): Promise<void> {
  const warmUntil = performance.now() + (options.warmUpMs ?? 1000);
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      while (performance.now() < warmUntil) await options.request(w).catch(() => {});
    }),
  );
  const started = performance.now();
  const until = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, w) => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await options.request(w);
          into.latencies.push(performance.now() - t);
        } catch {
          into.errors++;
        }
      }
    }),
  );
  into.seconds += (performance.now() - started) / 1000;
}

function result(s: Samples): LoadResult {
  s.latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    s.latencies[Math.min(s.latencies.length - 1, Math.floor(s.latencies.length * p))] ?? 0;
  return {
    requests: s.latencies.length,
    errors: s.errors,
    rps: s.latencies.length / s.seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: Samples = { latencies: [], errors: 0, seconds: 0 };
  await drive(options, samples);
  return result(samples);
}

/**
 * Several loads against one server, taken in turns (`rounds` of
 * `seconds / rounds` each), so that whatever the machine or the server is
 * doing meanwhile (other tenants, a collection after a sync) weighs on all
 * of them alike: their ratio is what the bench reports.
 */
export async function runInTurns<K extends string>(
  loads: Readonly<Record<K, (worker: number) => Promise<void>>>,
  options: { readonly seconds: number; readonly concurrency: number; readonly rounds: number },
): Promise<Record<K, LoadResult>> {
  const names = Object.keys(loads) as K[];
  const samples = new Map<K, Samples>(names.map((n) => [n, { latencies: [], errors: 0, seconds: 0 }]));
  for (let round = 0; round < options.rounds; round++) {
    for (const name of names) {
      await drive(
        {
          seconds: options.seconds / options.rounds,
          concurrency: options.concurrency,
          request: loads[name],
          warmUpMs: round === 0 ? 1000 : 200,
        },
        samples.get(name) as Samples,
      );
    }
  }
  return Object.fromEntries(names.map((n) => [n, result(samples.get(n) as Samples)])) as Record<
    K,
    LoadResult
  >;
}
