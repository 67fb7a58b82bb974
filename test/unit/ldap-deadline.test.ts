import { describe, expect, it, vi } from 'vitest';
import { bounded } from '../../src/ldap/deadline.js';
import { AbortedError, TimeoutError } from '../../src/ldap/errors.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

describe('bounded', () => {
  it('passes results and errors through', async () => {
    const onGiveUp = vi.fn();
    await expect(
      bounded(Promise.resolve(7), { step: 'BIND', server: 's', ms: 1000, onGiveUp }),
    ).resolves.toBe(7);
    await expect(
      bounded(Promise.reject(new Error('boom')), { step: 'BIND', server: 's', ms: 1000, onGiveUp }),
    ).rejects.toThrow('boom');
    expect(onGiveUp).not.toHaveBeenCalled();
  });

  it('times out with the step and gives up on the work', async () => {
    vi.useFakeTimers();
    try {
      const onGiveUp = vi.fn();
      const result = bounded(never<number>(), { step: 'TLS', server: 'ldap://x', ms: 250, onGiveUp });
      const assertion = expect(result).rejects.toMatchObject({
        code: 'TIMEOUT',
        step: 'TLS',
        server: 'ldap://x',
      });
      await vi.advanceTimersByTimeAsync(250);
      await assertion;
      await expect(result).rejects.toBeInstanceOf(TimeoutError);
      expect(onGiveUp).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('aborts at once, and refuses to start when already aborted', async () => {
    const controller = new AbortController();
    const onGiveUp = vi.fn();
    const result = bounded(never<number>(), {
      step: 'SEARCH',
      server: null,
      ms: 60_000,
      signal: controller.signal,
      onGiveUp,
    });
    controller.abort();
    await expect(result).rejects.toBeInstanceOf(AbortedError);
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    await expect(
      bounded(Promise.resolve(1), {
        step: 'SEARCH',
        server: null,
        ms: 10,
        signal: controller.signal,
        onGiveUp,
      }),
    ).rejects.toBeInstanceOf(AbortedError);
  });

  it('swallows a late rejection of the abandoned work', async () => {
    vi.useFakeTimers();
    try {
      let rejectLater: (err: Error) => void = () => undefined;
      const work = new Promise<number>((_, reject) => {
        rejectLater = reject;
      });
      const result = bounded(work, { step: 'BIND', server: null, ms: 10, onGiveUp: () => undefined });
      const assertion = expect(result).rejects.toBeInstanceOf(TimeoutError);
      await vi.advanceTimersByTimeAsync(10);
      await assertion;
      rejectLater(new Error('socket destroyed'));
      await vi.advanceTimersByTimeAsync(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
