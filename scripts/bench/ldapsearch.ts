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
  // Entries are counted on the raw bytes ("\ndn:" at line starts) so that the counting costs the
  // machine next to nothing: the bench shares two cores with ldapsearch and slapd.
  let entries = 0;
  // The last bytes seen, for a "\ndn:" split across chunks; the output starts at a line start.
  let tail: Buffer = Buffer.from('\n');
  child.stdout.on('data', (chunk: Buffer) => {
    // Shorter than the pattern on either side: a match here straddles the two chunks.
    if (Buffer.concat([tail, chunk.subarray(0, 3)]).includes('\ndn:')) entries++;
    for (let at = chunk.indexOf('\ndn:'); at >= 0; at = chunk.indexOf('\ndn:', at + 1)) entries++;
    tail = chunk.length >= 3 ? chunk.subarray(-3) : Buffer.concat([tail, chunk]).subarray(-3);
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? -1)));
  if (code !== 0) throw new Error(`ldapsearch exited ${code}: ${err}`);
  return { entries, ms: performance.now() - started };
}
