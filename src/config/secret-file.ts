/**
 * Writes a secret file (the admin token, the secret key) so that a crash or
 * a power loss at any moment leaves either no file or the whole old one or
 * the whole new one, never a truncated or empty file, and so that a file
 * reported written survives a power loss: the content goes to a temporary
 * file in the same folder (mode 0600 from its creation, so the secret is
 * never readable by others even briefly), is fsynced, is linked or renamed
 * into place, and the folder is fsynced so that the new name is durable too.
 */
import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export interface WriteSecretOptions {
  /**
   * `create`: the file must not exist; another process that created it
   * meanwhile wins and this call fails with EEXIST (the caller reads theirs).
   * `replace`: the file is replaced whole (token rotation, an empty file).
   */
  readonly mode: 'create' | 'replace';
}

export async function writeSecretFile(
  file: string,
  content: string,
  options: WriteSecretOptions,
): Promise<void> {
  const dir = path.dirname(file);
  // Unique per call: two writers in one process (or a pid reused after a crash) never share one.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let placed = false;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // The umask can only remove bits; this makes the mode exactly 0600 whatever it is.
      await handle.chmod(0o600);
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.mode === 'replace') {
      await rename(temp, file);
      placed = true;
    } else {
      // link() fails with EEXIST instead of replacing, as open(…, 'wx') would, but only ever
      // publishes a complete, synced file.
      await link(temp, file);
    }
    await syncFolder(dir);
  } finally {
    if (!placed) await unlink(temp).catch(() => {});
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // A few file systems cannot fsync a folder (EINVAL); the file itself is synced already.
    if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
  } finally {
    await handle.close();
  }
}
