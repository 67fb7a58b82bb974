/** Polling for what other processes, nodes or timers bring about. */

/**
 * Calls `probe` until it gives a truthy value and returns that value; an
 * error thrown by `probe` counts as not yet. After `timeoutMs` it fails,
 * naming `what` and the last error.
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
