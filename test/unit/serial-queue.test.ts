import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/model/serial-queue.js';

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order queued', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    const task = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name} end`);
      return name;
    };
    const results = await Promise.all([
      queue.run(task('a', 20)),
      queue.run(task('b', 1)),
      queue.run(task('c', 5)),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('gives each caller its own failure and goes on with the next task', async () => {
    const queue = new SerialQueue();
    const failing = queue.run(async () => {
      throw new Error('first');
    });
    const next = queue.run(() => 'second');
    await expect(failing).rejects.toThrow('first');
    await expect(next).resolves.toBe('second');
  });

  it('is idle once every queued task has settled, failed ones included', async () => {
    const queue = new SerialQueue();
    let done = false;
    void queue
      .run(async () => {
        await new Promise((r) => setTimeout(r, 10));
        done = true;
        throw new Error('late');
      })
      .catch(() => {});
    await queue.idle();
    expect(done).toBe(true);
  });
});
