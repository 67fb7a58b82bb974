/** Secrets the command reads: from a file, or from standard input (`-`), never from argv. */
import { readFile } from 'node:fs/promises';
import { UsageError } from './command.js';

/** The file's text less one final line break (what `echo … >file` adds). */
export async function readSecret(flag: string, file: string): Promise<string> {
  let text: string;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  return text.replace(/\r?\n$/, '');
}

/** A binary secret (a keytab file) as it is, from a file or standard input (`-`). */
export async function readSecretBytes(flag: string, file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}
