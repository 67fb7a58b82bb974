/**
 * What a Kerberos run must not leave behind (#17): ticket caches outside the
 * data folder, and the keytab in any readable form (its bytes, its base64,
 * or one of its keys in raw or hex form) in a file, a log line or a
 * response. Also a TCP relay in front of the KDC, to take the KDC away
 * from a connection for real.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** MIT's and Heimdal's default ticket cache names: `FILE:/tmp/krb5cc_<uid>`, `krb5cc_<uid>_XXXXXX`, `tkt…`. */
const CACHE_NAME = /^(krb5cc|tkt)/;

/** Ticket-cache-like files directly in each folder (the default /tmp and the working directory). */
export function ticketCacheFiles(folders: readonly string[] = [tmpdir(), process.cwd()]): string[] {
  const found: string[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      continue;
    }
    for (const name of names) if (CACHE_NAME.test(name)) found.push(path.join(folder, name));
  }
  return found.sort();
}

/** A secret's forms to look for, each with a label for the failure message. */
export interface SecretForm {
  readonly label: string;
  readonly bytes: Buffer;
}

/**
 * Every readable form of a keytab: the file, its base64, and each key it
 * holds raw, in hex (lower and upper case) and in base64, as MIT's
 * `klist -k -K` reads the keys (not the gateway's own parser).
 */
export function keytabForms(file: string): SecretForm[] {
  const raw = readFileSync(file);
  const forms: SecretForm[] = [
    { label: 'keytab file bytes', bytes: raw },
    { label: 'keytab base64', bytes: Buffer.from(raw.toString('base64')) },
  ];
  const listing = spawnSync('klist', ['-k', '-K', '-e', file], { encoding: 'utf8' });
  if (listing.status !== 0) throw new Error(`klist -k -K ${file}: ${listing.stderr}`);
  const keys = [...listing.stdout.matchAll(/\(0x([0-9a-f]+)\)/gi)].map((m) => m[1] ?? '');
  if (keys.length === 0) throw new Error(`klist -k -K ${file} listed no keys:\n${listing.stdout}`);
  keys.forEach((hex, i) => {
    const key = Buffer.from(hex, 'hex');
    forms.push(
      { label: `key ${i} raw`, bytes: key },
      { label: `key ${i} hex`, bytes: Buffer.from(hex.toLowerCase()) },
      { label: `key ${i} HEX`, bytes: Buffer.from(hex.toUpperCase()) },
      { label: `key ${i} base64`, bytes: Buffer.from(key.toString('base64')) },
    );
  });
  return forms;
}

/** The forms found in `haystack`, by label. */
export function formsIn(haystack: Buffer | string, forms: readonly SecretForm[]): string[] {
  const bytes = typeof haystack === 'string' ? Buffer.from(haystack) : haystack;
  return forms.filter((form) => bytes.includes(form.bytes)).map((form) => form.label);
}

/** Every file under `folder` (recursively) that holds one of the forms: `path: labels`. */
export function filesHolding(folder: string, forms: readonly SecretForm[]): string[] {
  const hits: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && statSync(full).size > 0) {
        const found = formsIn(readFileSync(full), forms);
        if (found.length > 0) hits.push(`${full}: ${found.join(', ')}`);
      }
    }
  };
  walk(folder);
  return hits;
}

/** Every file under `folder`, relative to it (to show what a data folder holds). */
export function filesUnder(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(folder, full));
    }
  };
  walk(folder);
  return out.sort();
}

export interface TcpRelay {
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly port: number;
  /** Connections relayed so far. */
  readonly connections: number;
  /** Every byte relayed so far, both ways, in arrival order: what a listener on the wire sees. */
  wire(): Buffer;
  /** Forgets what was relayed so far. */
  clearWire(): void;
  /** Stops listening and cuts every relayed connection: the port is closed afterwards. */
  stop(): Promise<void>;
}

/**
 * A TCP relay on a free loopback port to `127.0.0.1:targetPort`: the KDC as
 * a connection sees it (stop it to take the KDC away), or the DC's LDAP port
 * with a listener on the wire.
 */
export async function startTcpRelay(targetPort: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let seen: Buffer[] = [];
  const server: Server = createServer((inbound) => {
    connections++;
    const outbound = createConnection({ host: '127.0.0.1', port: targetPort });
    sockets.add(inbound);
    sockets.add(outbound);
    const close = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
    inbound.on('data', (chunk: Buffer) => seen.push(chunk));
    outbound.on('data', (chunk: Buffer) => seen.push(chunk));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    wire: () => Buffer.concat(seen),
    clearWire() {
      seen = [];
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
