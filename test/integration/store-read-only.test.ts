/**
 * The data folder's store turns read-only under a running gateway (as when
 * a failing disk is remounted read-only): the next sync fails and says the
 * store refused the write, the last good snapshot stays served, and once
 * the store is writable again the next run recovers.
 *
 * Root ignores file modes, and Linux refuses to remount a filesystem
 * read-only while files on it are open for writing; the immutable attribute
 * (chattr +i, ext4) makes even an open descriptor's writes fail, as a
 * read-only disk does. Skipped where chattr cannot do that (not root, or a
 * filesystem without the attribute).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import { UsersDocument } from '../gql/graphql.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

let dir: string;
let slapd: SlapdInstance;
let gw: TestGateway | null = null;
let frozen: string[] = [];

/** Whether chattr +i works here (root on ext4 and the like). */
function immutableWorks(probeDir: string): boolean {
  const probe = path.join(probeDir, 'probe');
  try {
    execFileSync('touch', [probe]);
    execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freeze(files: string[]): void {
  for (const f of files) execFileSync('chattr', ['+i', f]);
  frozen = files;
}

function thaw(): void {
  for (const f of frozen) execFileSync('chattr', ['-i', f]);
  frozen = [];
}

let supported = false;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dirgate-rodisk-'));
  supported = process.getuid?.() === 0 && immutableWorks(dir);
  if (!supported) return;
  slapd = await startSlapd({
    dataset: generateDirectory({
      users: 300,
      groups: 10,
      contacts: 10,
      seed: 'rodisk',
      baseDn: 'dc=corp,dc=test',
    }),
  });
});

afterAll(async () => {
  thaw();
  await gw?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await slapd?.dispose();
});

it('fails a sync on a read-only store, keeps serving, and recovers when it is writable', async (ctx) => {
  if (!supported) ctx.skip();
  const dataDir = path.join(dir, 'data');
  gw = await startTestGateway({ dataDir });
  const id = await addSlapdConnection(gw, slapd);
  const good = await syncNow(gw, id);
  expect(good.status).toBe('SUCCEEDED');

  freeze([dataDir, ...['cache.sqlite', 'cache.sqlite-wal'].map((f) => path.join(dataDir, f))]);
  const failed = await syncNow(gw, id);
  expect(failed.status).toBe('FAILED');
  expect(failed.lastSync?.error).toMatch(/store/i);
  expect(failed.lastSync?.error).toMatch(
    /read-?only|I\/O|SQLITE_(READONLY|IOERR|CANTOPEN|PERM)|not permitted/i,
  );
  expect(failed.lastSuccessfulSync?.id).toBe(good.lastSuccessfulSync?.id);
  expect(failed.userCount).toBe(300);
  expect((await gw.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(300);

  thaw();
  const recovered = await syncNow(gw, id);
  expect(recovered.status).toBe('SUCCEEDED');
  expect(recovered.userCount).toBe(300);
});
