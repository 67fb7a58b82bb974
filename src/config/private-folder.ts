/**
 * The data folder holds the admin token, the key that opens the bind
 * passwords and the cache of the directory: it is the owner's alone (0700),
 * whoever made it. mkdir's mode applies only to a folder it creates, so a
 * folder made beforehand (by a package, a volume mount, `mkdir` under a
 * umask of 022) is tightened here on every start.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';

/** The folder cannot be made private: it belongs to another user and others may read it. */
export class PrivateFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrivateFolderError';
  }
}

/** Creates `folder` (and its parents) if needed and makes it mode 0700. */
export async function makePrivateFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  try {
    await chmod(folder, 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    // Not ours to change (another owner): good enough only if no one else may enter it.
    const mode = (await stat(folder)).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new PrivateFolderError(
        `the data folder ${folder} is mode 0${mode.toString(8)} and belongs to another user: make it this user's with mode 0700`,
      );
    }
  }
}
