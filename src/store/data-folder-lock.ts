/**
 * One process owns a data folder at a time (RUNTIME.md, "The data folder").
 *
 * The lock is an SQLite database held in an open EXCLUSIVE transaction: the
 * operating system holds it for the process (a POSIX record lock) and drops
 * it when the process dies, however it dies, so a SIGKILL or a power loss
 * never leaves the folder locked and no stale-lock timeout is needed. A
 * second process asking for it is refused at once (no busy wait). Beside
 * it, `owner.json` says who holds the lock, for the refusal's message.
 */
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import sqlite3 from 'sqlite3';
import { makePrivateFolder } from '../config/private-folder.js';

export const LOCK_FILE = 'owner.lock';
export const OWNER_FILE = 'owner.json';

/** Who holds a data folder, as its owner wrote it. */
export interface FolderOwner {
  readonly pid: number;
  readonly command: string;
  readonly node: string;
  readonly host: string;
  readonly since: string;
}

export class DataFolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly owner: FolderOwner | null,
  ) {
    super(
      owner
        ? `the data folder ${folder} is in use by process ${owner.pid} (${owner.command}, node ${owner.node}, since ${owner.since}); stop it first, or give this one another DIRGATE_DATA_DIR`
        : `the data folder ${folder} is in use by another process; stop it first, or give this one another DIRGATE_DATA_DIR`,
    );
    this.name = 'DataFolderInUseError';
  }
}

export interface DataFolderLock {
  readonly folder: string;
  /** Lets go of the folder; safe to call more than once. */
  release(): Promise<void>;
}

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE, (err) =>
      err ? reject(err) : resolve(db),
    );
  });
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

function close(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve) => db.close(() => resolve()));
}

async function readOwner(file: string): Promise<FolderOwner | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<FolderOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.command === 'string'
      ? {
          pid: parsed.pid,
          command: parsed.command,
          node: String(parsed.node ?? '?'),
          host: String(parsed.host ?? '?'),
          since: String(parsed.since ?? '?'),
        }
      : null;
  } catch {
    // Not written yet (the owner is starting) or removed meanwhile (it is stopping).
    return null;
  }
}

/** Takes the folder for this process, or throws DataFolderInUseError naming its owner. */
export async function lockDataFolder(
  folder: string,
  who: { readonly command: string; readonly node: string },
): Promise<DataFolderLock> {
  await makePrivateFolder(folder);
  const lockFile = path.join(folder, LOCK_FILE);
  const ownerFile = path.join(folder, OWNER_FILE);
  const db = await open(lockFile);
  await chmod(lockFile, 0o600);
  db.configure('busyTimeout', 0);
  try {
    await exec(db, 'PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;');
  } catch (err) {
    await close(db);
    if ((err as { code?: string }).code === 'SQLITE_BUSY')
      throw new DataFolderInUseError(folder, await readOwner(ownerFile));
    throw err;
  }
  const owner: FolderOwner = {
    pid: process.pid,
    command: who.command,
    node: who.node,
    host: hostname(),
    since: new Date().toISOString(),
  };
  const temp = `${ownerFile}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  await rename(temp, ownerFile);
  let released: Promise<void> | null = null;
  return {
    folder,
    release() {
      released ??= (async () => {
        // The owner file goes while the lock is still held, so it never names a later owner.
        await rm(ownerFile, { force: true });
        await exec(db, 'ROLLBACK').catch(() => {});
        await close(db);
      })();
      return released;
    },
  };
}
