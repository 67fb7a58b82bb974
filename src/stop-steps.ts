/**
 * Stopping as a list of bounded steps, run in order. Each step has its own
 * bound, and all of them together stay inside one budget (the time a
 * signal allows, RUNTIME.md): a step that waits on a store or a directory
 * that is gone (Redis down, its commands queued until it returns) is given
 * up, and the next step goes on. What a step leaves undone never damages
 * the cache, whose every write is atomic.
 */
import type { Logger } from './model/logger.js';

export interface StopStep {
  readonly name: string;
  readonly run: () => Promise<unknown>;
  /** The longest this step may take (default 2 s), within what is left of the budget. */
  readonly capMs?: number;
}

export async function runStopSteps(
  steps: readonly StopStep[],
  options: { readonly budgetMs: number; readonly logger: Logger },
): Promise<void> {
  const deadline = Date.now() + options.budgetMs;
  for (const step of steps) {
    const ms = Math.max(100, Math.min(step.capMs ?? 2_000, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      step.run().then(
        () => 'done',
        (err: unknown) => {
          options.logger.warn({ step: step.name, err: (err as Error).message }, 'a step of stopping failed');
          return 'failed';
        },
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('timed out'), ms);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'timed out')
      options.logger.warn({ step: step.name, ms }, 'a step of stopping took too long; going on');
  }
}
