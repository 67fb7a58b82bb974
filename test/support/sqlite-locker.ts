/**
 * Another process with a SQLite database open, taking `BEGIN EXCLUSIVE` on
 * demand: SQLite's locks are POSIX locks, per process, so a lock that a
 * gateway must wait for has to come from another process. With the cache
 * in WAL mode, the gateway's reads go on and its writes wait (its busy
 * timeout, then fail): a run can be held just before it writes anything.
 */
import { spawn } from 'node:child_process';

export interface SqliteLocker {
  /** Resolves once the other process holds an exclusive lock. */
  lock(): Promise<void>;
  /** Rolls back, closes and waits for the other process to exit. */
  release(): Promise<void>;
}

export async function sqliteLocker(file: string): Promise<SqliteLocker> {
  const script = `
    const { DatabaseSync } = require('node:sqlite');
    const db = new DatabaseSync(process.argv[1], { timeout: 10000 });
    const rl = require('node:readline').createInterface({ input: process.stdin });
    console.log('open');
    rl.on('line', (line) => {
      if (line === 'lock') { db.exec('BEGIN EXCLUSIVE'); console.log('locked'); }
      if (line === 'release') { try { db.exec('ROLLBACK'); } catch {} db.close(); console.log('released'); process.exit(0); }
    });`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const waiters: [string, () => void][] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const [word, resolve] of waiters) if (out.includes(word)) resolve();
  });
  const said = (word: string) =>
    new Promise<void>((resolve) => {
      if (out.includes(word)) resolve();
      else waiters.push([word, resolve]);
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await said('open');
  return {
    lock() {
      child.stdin.write('lock\n');
      return said('locked');
    },
    async release() {
      if (child.exitCode === null) child.stdin.write('release\n');
      await exited;
    },
  };
}
