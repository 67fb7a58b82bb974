import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ProcessLifecycle } from '../../src/process-lifecycle.js';

/** A lifecycle over an emitter of its own: the signals it hears, the exits it asks for, what it logs. */
function lifecycle(options: { budgetMs?: number; early?: NodeJS.Signals[] } = {}) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const lines: string[] = [];
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const early = options.early ? { takeOver: () => options.early ?? [] } : undefined;
  const life = new ProcessLifecycle({
    source,
    stderr,
    exit: (code) => exits.push(code),
    early,
    ...(options.budgetMs !== undefined ? { budgetMs: options.budgetMs } : {}),
  });
  return { life, source, exits, lines };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ProcessLifecycle', () => {
  it('aborts start-up on a signal and ends with exit 0 when start-up gives up', () => {
    const { life, source, exits, lines } = lifecycle();
    expect(life.startupSignal.aborted).toBe(false);
    source.emit('SIGTERM', 'SIGTERM');
    expect(life.startupSignal.aborted).toBe(true);
    expect(life.signal).toBe('SIGTERM');
    life.startupStopped();
    expect(exits).toEqual([0]);
    expect(lines.join('')).toMatch(/stopping.*\n.*stopped during start-up/s);
    life.dispose();
  });

  it('acts on a signal the early preload recorded before it existed', () => {
    const { life, exits } = lifecycle({ early: ['SIGINT'] });
    expect(life.signal).toBe('SIGINT');
    expect(life.startupSignal.aborted).toBe(true);
    expect(exits).toEqual([]);
    life.dispose();
  });

  it('runs the stop once serving, then exits 0; a second signal changes nothing', async () => {
    const { life, source, exits } = lifecycle();
    const stop = vi.fn(async () => {});
    life.serving(stop);
    expect(stop).not.toHaveBeenCalled();
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exits).toEqual([0]);
    life.dispose();
  });

  it('runs the stop at once when the signal came before serving began', async () => {
    const { life, source, exits } = lifecycle();
    source.emit('SIGTERM', 'SIGTERM');
    const stop = vi.fn(async () => {});
    life.serving(stop);
    await tick();
    expect(stop).toHaveBeenCalledTimes(1);
    expect(exits).toEqual([0]);
    life.dispose();
  });

  it('exits 1 when the stop fails, and when it outlasts its budget', async () => {
    const failing = lifecycle();
    failing.life.serving(async () => {
      throw new Error('the store would not close');
    });
    failing.source.emit('SIGTERM', 'SIGTERM');
    await tick();
    expect(failing.exits).toEqual([1]);
    expect(failing.lines.join('')).toMatch(/shutdown failed/);
    failing.life.dispose();

    const stuck = lifecycle({ budgetMs: 30 });
    stuck.life.serving(() => new Promise(() => {}));
    stuck.source.emit('SIGTERM', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 80));
    expect(stuck.exits).toEqual([1]);
    expect(stuck.lines.join('')).toMatch(/shutdown took too long/);
    stuck.life.dispose();
  });

  it('stops listening when disposed', () => {
    const { life, source } = lifecycle();
    life.dispose();
    expect(source.listenerCount('SIGTERM')).toBe(0);
    expect(source.listenerCount('SIGINT')).toBe(0);
  });
});
