import { mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeSecretFile } from '../../src/config/secret-file.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dirgate-secret-file-'));
  file = path.join(dir, 'secret-key');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (f: string): Promise<number> => (await stat(f)).mode & 0o777;

describe('writeSecretFile', () => {
  it('creates the file whole, mode 0600, and leaves no temporary file beside it', async () => {
    const content = `${'ab'.repeat(32)}\n`;
    await writeSecretFile(file, content, { mode: 'create' });
    expect(await readFile(file, 'utf8')).toBe(content);
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret-key']);
  });

  it('refuses to overwrite on create (EEXIST), keeping the other writer’s file and no temporary file', async () => {
    await writeFile(file, 'theirs\n', { mode: 0o600 });
    await expect(writeSecretFile(file, 'mine\n', { mode: 'create' })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    expect(await readFile(file, 'utf8')).toBe('theirs\n');
    expect(await readdir(dir)).toEqual(['secret-key']);
  });

  it('lets exactly one of several concurrent creates win', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => writeSecretFile(file, `writer ${i}\n`, { mode: 'create' })),
    );
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'EEXIST' });
    }
    expect(await readFile(file, 'utf8')).toBe(`writer ${won[0]}\n`);
    expect(await readdir(dir)).toEqual(['secret-key']);
  });

  it('replaces an existing file whole on replace, tightening a loosened mode to 0600', async () => {
    await writeFile(file, 'old token\n', { mode: 0o644 });
    await writeSecretFile(file, 'new token\n', { mode: 'replace' });
    expect(await readFile(file, 'utf8')).toBe('new token\n');
    expect(await mode(file)).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret-key']);
  });

  it('fsyncs the file before it takes the name, and the folder after', async () => {
    // FileHandle is not exported: its prototype is reached through a handle.
    const probe = await open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync(): Promise<void> };
    await probe.close();
    await rm(path.join(dir, 'probe'));
    const synced: string[] = [];
    const original = proto.sync;
    const spy = vi.spyOn(proto, 'sync').mockImplementation(async function (this: { fd: number }) {
      // What is visible when each sync happens: the name appears only after the file's own sync.
      synced.push((await readdir(dir)).includes('secret-key') ? 'after rename' : 'before rename');
      return original.call(this);
    });
    try {
      await writeSecretFile(file, 'v\n', { mode: 'replace' });
    } finally {
      spy.mockRestore();
    }
    expect(synced).toEqual(['before rename', 'after rename']);
  });

  it('writes a large value completely', async () => {
    const content = 'x'.repeat(1 << 20);
    await writeSecretFile(file, content, { mode: 'replace' });
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('fails without leaving anything when the folder is missing', async () => {
    const missing = path.join(dir, 'nope', 'secret-key');
    await expect(writeSecretFile(missing, 'x\n', { mode: 'create' })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await readdir(dir)).toEqual([]);
  });
});
