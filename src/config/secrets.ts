/**
 * Secrets that must exist before the service starts: the admin token and the
 * key that encrypts bind passwords. Given in the environment they are used
 * as they are; otherwise they are generated once into the data folder with
 * mode 0600 and read back on every later start.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './environment.js';

export interface Secrets {
  readonly adminToken: string;
  readonly readerToken: string | null;
  readonly secretKey: Buffer;
  /** Where the generated admin token is kept, when it was not given in the environment. */
  readonly adminTokenPath: string | null;
  readonly generatedAdminToken: boolean;
}

export const ADMIN_TOKEN_FILE = 'admin-token';
export const SECRET_KEY_FILE = 'secret-key';

async function readOrCreate(
  file: string,
  make: () => string,
  onEmpty: 'replace' | 'refuse',
): Promise<{ value: string; created: boolean }> {
  let empty = false;
  try {
    const value = (await readFile(file, 'utf8')).trim();
    // Tighten permissions an operator may have loosened by copying the folder.
    await chmod(file, 0o600);
    if (value.length > 0) return { value, created: false };
    empty = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (empty && onEmpty === 'refuse') {
    throw new Error(
      `${file} is empty: restore it from a backup (a new key could not decrypt the stored bind passwords)`,
    );
  }
  const value = make();
  if (empty) {
    // A truncated file (a crash while it was first written): replace it whole.
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${value}\n`, { mode: 0o600 });
    await rename(temp, file);
    return { value, created: true };
  }
  // 'wx' refuses to overwrite a file another process wrote meanwhile.
  try {
    await writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreate(file, make, onEmpty);
    throw err;
  }
  return { value, created: true };
}

export async function loadSecrets(config: Config): Promise<Secrets> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const tokenPath = path.join(config.dataDir, ADMIN_TOKEN_FILE);
  const admin = config.adminToken
    ? { value: config.adminToken, created: false }
    : await readOrCreate(tokenPath, () => randomBytes(32).toString('base64url'), 'replace');
  const key = config.secretKey
    ? { value: config.secretKey, created: false }
    : await readOrCreate(
        path.join(config.dataDir, SECRET_KEY_FILE),
        () => randomBytes(32).toString('hex'),
        'refuse',
      );
  if (!/^[0-9a-f]{64}$/i.test(key.value)) {
    throw new Error(`${path.join(config.dataDir, SECRET_KEY_FILE)}: expected 64 hex characters`);
  }
  return {
    adminToken: admin.value,
    readerToken: config.readerToken,
    secretKey: Buffer.from(key.value, 'hex'),
    adminTokenPath: config.adminToken ? null : tokenPath,
    generatedAdminToken: admin.created,
  };
}
