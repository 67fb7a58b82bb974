/** `dirgate token`: prints the admin token; `--rotate` writes a new one. */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeSecretFile } from '../../config/secret-file.js';
import { ADMIN_TOKEN_FILE } from '../../config/secrets.js';
import { type Command, UsageError } from '../command.js';
import { adminToken, cliConfig } from '../context.js';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'Prints the admin token, or writes a new one with --rotate.',
  description: `
The admin token lives in <data dir>/admin-token (mode 0600) unless
DIRGATE_ADMIN_TOKEN is set, in which case that is the token and --rotate
refuses (change the variable instead).

--rotate replaces the file atomically. A running gateway keeps the token it
read at start until it is restarted: restart it (SIGTERM, then start) for
the new token to take effect; the old one is refused from then on.`,
  options: {
    rotate: { type: 'boolean', help: 'generate a new admin token and write it to the data folder' },
  },
  async run(values) {
    const config = cliConfig(values);
    if (!values.rotate) {
      process.stdout.write(`${await adminToken(config)}\n`);
      return 0;
    }
    if (config.adminToken) {
      throw new UsageError(
        'DIRGATE_ADMIN_TOKEN is set: the token comes from the environment; change it there',
      );
    }
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(config.dataDir, ADMIN_TOKEN_FILE);
    const token = randomBytes(32).toString('base64url');
    // Synced and renamed into place: a crash leaves the old token or the new one, never neither.
    await writeSecretFile(file, `${token}\n`, { mode: 'replace' });
    process.stdout.write(`${token}\n`);
    process.stderr.write(
      `dirgate: wrote a new admin token to ${file}; restart a running gateway for it to take effect\n`,
    );
    return 0;
  },
};
