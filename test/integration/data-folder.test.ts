/**
 * One process owns a data folder (RUNTIME.md, "The data folder"): a second
 * gateway, or `dirgate sync --local`, started on a folder a running gateway
 * owns exits non-zero within seconds naming the folder and the owner's
 * process id, and changes nothing in it; the owner goes on serving and
 * syncing. An owner killed with SIGKILL does not keep the folder.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createGateway } from '../../src/app.js';
import { loadConfig } from '../../src/config/environment.js';
import { createLogger } from '../../src/logging.js';
import { DataFolderInUseError } from '../../src/store/data-folder-lock.js';
import { SyncRunsDocument, UsersDocument } from '../gql/graphql.js';
import { runCli } from '../support/cli.js';
import { gatewayProcesses, privateSlapd } from '../support/fixtures.js';
import { addSlapdConnection, syncNow, waitForFirstSync } from '../support/sync.js';

const USERS = 500;
const directory = privateSlapd({ users: USERS, groups: 10, contacts: 10, seed: 'folder' });
const gateways = gatewayProcesses('folder');

/**
 * Every file of the folder with its size and modification time: what "changes nothing" compares.
 * The settings file only by name: the owner itself rewrites its node row there every few seconds.
 */
async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const s = await stat(path.join(dir, name));
    out[name] = name.startsWith('settings.sqlite') ? 'present' : `${s.size}:${s.mtimeMs}`;
  }
  return out;
}

it('refuses a second gateway and `dirgate sync --local` on an owned folder; a killed owner lets go', async () => {
  const dataDir = await gateways.folder();
  const owner = await gateways.spawn(dataDir);
  const pid = owner.child.pid;
  const id = await addSlapdConnection(owner, directory.slapd, { name: 'Owned' });
  expect((await waitForFirstSync(owner, id)).status).toBe('SUCCEEDED');
  const runsBefore = (await owner.ok(SyncRunsDocument, { connectionId: id })).syncRuns;
  const owned = JSON.parse(await readFile(path.join(dataDir, 'owner.json'), 'utf8')) as { pid: number };
  expect(owned.pid).toBe(pid);
  const before = await fingerprint(dataDir);

  // A second gateway: refused within seconds, naming the folder and the owner.
  const second = await gateways.launch(dataDir);
  const began = Date.now();
  const code = await Promise.race([
    second.exited,
    new Promise<string>((r) => setTimeout(() => r('running'), 15_000)),
  ]);
  expect(code).toBe(1);
  expect(Date.now() - began).toBeLessThan(10_000);
  expect(second.output()).toContain(dataDir);
  expect(second.output()).toContain(`process ${pid}`);

  // The writing command: refused the same way, even when told to run here.
  const local = await runCli(['sync', '--local'], { env: { DIRGATE_DATA_DIR: dataDir } });
  expect(local.code).not.toBe(0);
  expect(local.stdout + local.stderr).toContain(`process ${pid}`);
  expect(local.stdout + local.stderr).toContain(dataDir);

  // In-process, the error is typed and names the owner.
  const config = loadConfig({ DIRGATE_DATA_DIR: dataDir, DIRGATE_SCHEDULER: 'false', PORT: '0' });
  const refused = await createGateway(config, createLogger('silent')).catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(DataFolderInUseError);
  expect((refused as DataFolderInUseError).owner?.pid).toBe(pid);

  // Nothing in the folder changed, and the owner serves and syncs as before.
  expect(await fingerprint(dataDir)).toEqual(before);
  expect((await owner.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(USERS);
  expect((await owner.ok(SyncRunsDocument, { connectionId: id })).syncRuns).toEqual(runsBefore);
  expect((await syncNow(owner, id)).status).toBe('SUCCEEDED');

  // Killed, the owner keeps nothing locked: the next gateway starts at once and serves the cache.
  owner.child.kill('SIGKILL');
  expect(await owner.exited).toBe('SIGKILL');
  const next = await gateways.spawn(dataDir);
  expect((await next.ok(UsersDocument, { connectionId: id, first: 1 })).users.totalCount).toBe(USERS);
  const nextOwner = JSON.parse(await readFile(path.join(dataDir, 'owner.json'), 'utf8')) as { pid: number };
  expect(nextOwner.pid).toBe(next.child.pid);
  next.child.kill('SIGTERM');
  expect(await next.exited).toBe(0);

  // Stopped cleanly, it lets go too: the command may now run the sync here.
  const after = await runCli(['sync', '--local'], { env: { DIRGATE_DATA_DIR: dataDir } });
  expect(after.code, after.stderr).toBe(0);
});
