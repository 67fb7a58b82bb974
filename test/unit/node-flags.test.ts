/** The heap settings of the service are the same wherever it starts: `npm start`, `dirgate`, the bench. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../../bin/node-flags.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('service node flags', () => {
  it('npm start passes every one of them to node, before the entry', async () => {
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const start = pkg.scripts.start ?? '';
    const words = start.split(/\s+/);
    const entry = words.indexOf('src/main.ts');
    expect(entry).toBeGreaterThan(0);
    expect(SERVICE_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const flag of SERVICE_NODE_FLAGS) {
      const at = words.indexOf(flag);
      expect(at, flag).toBeGreaterThan(0);
      expect(at, flag).toBeLessThan(entry);
    }
  });
});
