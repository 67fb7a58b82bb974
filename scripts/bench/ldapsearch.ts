/** Times `ldapsearch` with paged results reading every user, group and contact: the physical limit. */
import { spawn } from 'node:child_process';

export interface LdapsearchResult {
  readonly entries: number;
  readonly ms: number;
}

export async function timeLdapsearch(
  url: string,
  base: string,
  bindDn: string,
  password: string,
  filter: string,
  attributes: readonly string[],
): Promise<LdapsearchResult> {
  const started = performance.now();
  const child = spawn(
    'ldapsearch',
    [
      '-x',
      '-LLL',
      '-H',
      url,
      '-D',
      bindDn,
      '-w',
      password,
      '-b',
      base,
      '-E',
      'pr=1000/noprompt',
      filter,
      ...attributes,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let entries = 0;
  let tail = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = tail + chunk.toString('latin1');
    const lines = text.split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('dn:')) entries++;
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  if (code !== 0) throw new Error(`ldapsearch exited ${code}: ${err}`);
  if (tail.startsWith('dn:')) entries++;
  return { entries, ms: performance.now() - started };
}
