import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/model/logger.js';
import { runStopSteps } from '../../src/stop-steps.js';

function recording(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const warn = (obj: object, msg?: string) => warnings.push(`${msg} ${JSON.stringify(obj)}`);
  return { logger: { info: () => {}, warn, error: warn, debug: () => {} }, warnings };
}

describe('runStopSteps', () => {
  it('runs every step in order, past one that fails and one that hangs', async () => {
    const { logger, warnings } = recording();
    const ran: string[] = [];
    const began = Date.now();
    await runStopSteps(
      [
        { name: 'a', run: async () => void ran.push('a') },
        {
          name: 'b',
          run: async () => {
            ran.push('b');
            throw new Error('store gone');
          },
        },
        {
          name: 'c',
          run: () => {
            ran.push('c');
            return new Promise(() => {});
          },
          capMs: 150,
        },
        { name: 'd', run: async () => void ran.push('d') },
      ],
      { budgetMs: 5_000, logger },
    );
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(warnings.some((w) => w.startsWith('a step of stopping failed') && w.includes('store gone'))).toBe(
      true,
    );
    expect(warnings.some((w) => w.startsWith('a step of stopping took too long') && w.includes('"c"'))).toBe(
      true,
    );
  });

  it('keeps all the steps together within the budget', async () => {
    const { logger } = recording();
    const hang = () => new Promise(() => {});
    const began = Date.now();
    await runStopSteps(
      [
        { name: 'a', run: hang, capMs: 10_000 },
        { name: 'b', run: hang, capMs: 10_000 },
        { name: 'c', run: hang, capMs: 10_000 },
      ],
      { budgetMs: 300, logger },
    );
    // The first takes the budget; each later one gets the floor of 100 ms.
    expect(Date.now() - began).toBeLessThan(900);
  });
});
