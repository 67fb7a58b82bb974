import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import nodeFlags from '../../bin/node-flags.json' with { type: 'json' };

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the node flags the gateway runs with', () => {
  it('are what `npm start` passes, in the same order', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe(
      `exec node ${nodeFlags.join(' ')} --import ./bin/early-signals.mjs --import tsx src/main.ts`,
    );
  });
});
