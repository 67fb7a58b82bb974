/**
 * The shared Samba DC's Kerberos side (#17), as the global setup provides
 * it: the realm, the KDC, the service accounts and the keytabs exported for
 * them (scripts/directories/samba.ts, kerberosSetup), plus the MIT tools'
 * view of them (klist, kinit with a private configuration) as an oracle that
 * does not share code with the gateway.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { SambaKerberos, SambaKeytabs } from '../../scripts/directories/samba.js';

export type KeytabName = keyof SambaKeytabs;

export interface KerberosFixtureInfo extends SambaKerberos {
  /** Samba's DNS, `127.0.0.1:53`: resolves the DC's name and answers `_kerberos._tcp.<REALM>`. */
  readonly dnsServer: string;
  /** dc1.corp.test: the host name of the URLs a KERBEROS connection uses (its SPN is built from it). */
  readonly hostName: string;
  readonly ldapPort: number;
  /** libfaketime's preload library, or null when not installed. */
  readonly libfaketime: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Null unless the shared Samba DC runs. */
    kerberos: KerberosFixtureInfo | null;
  }
}

/** The Kerberos side of the shared Samba DC, or an error saying why it is absent. */
export function kerberosFixture(): KerberosFixtureInfo {
  const info = inject('kerberos');
  if (!info)
    throw new Error('the shared Samba DC was not started (DIRGATE_TEST_DIRECTORIES): no Kerberos fixture');
  return info;
}

/** A keytab file's bytes, as exported from the DC. */
export function keytabBytes(name: KeytabName): Buffer {
  return readFileSync(kerberosFixture().keytabs[name]);
}

/** A keytab as the API takes it (base64 of the file). */
export function keytabBase64(name: KeytabName): string {
  return keytabBytes(name).toString('base64');
}

/** `ldap://dc1.corp.test:389`: plain LDAP to the DC by its DNS name, so the SPN is `ldap/dc1.corp.test`. */
export function kerberosServerUrl(): string {
  const k = kerberosFixture();
  return `ldap://${k.hostName}:${k.ldapPort}`;
}

/** The key versions a keytab file holds, as MIT's `klist -k` reads them. */
export function keytabKvnos(file: string): number[] {
  const result = spawnSync('klist', ['-k', file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`klist -k ${file}: ${result.stderr}`);
  const kvnos = new Set<number>();
  for (const row of result.stdout.split('\n')) {
    const match = /^\s*(\d+)\s+\S+@\S+/.exec(row);
    if (match?.[1]) kvnos.add(Number(match[1]));
  }
  return [...kvnos].sort((a, b) => a - b);
}

/**
 * A krb5.conf for the fixture's realm with only `kdc` (no DNS, no reverse
 * lookups, TCP), in the form LAB.md found MIT to need (block `[realms]`).
 */
export function privateKrb5Conf(realm: string, kdc: string): string {
  return [
    '[libdefaults]',
    `\tdefault_realm = ${realm}`,
    '\tdns_lookup_kdc = false',
    '\tdns_lookup_realm = false',
    '\trdns = false',
    '\tdns_canonicalize_hostname = false',
    '\tudp_preference_limit = 1',
    '[realms]',
    `\t${realm} = {`,
    `\t\tkdc = ${kdc}`,
    '\t}',
    '',
  ].join('\n');
}

export interface KinitResult {
  readonly status: number | null;
  readonly output: string;
}

/**
 * `kinit -k -t KEYTAB PRINCIPAL` with a private KRB5_CONFIG and ticket cache
 * in a folder of its own (removed afterwards): nothing in /etc or /tmp's
 * default cache is read or written. `kdc` defaults to the DC's. Runs
 * asynchronously: a KDC relay in this process must keep serving meanwhile.
 */
export async function kinitWithKeytab(name: KeytabName, kdc?: string): Promise<KinitResult> {
  const k = kerberosFixture();
  const dir = mkdtempSync(path.join(tmpdir(), 'dirgate-kinit-'));
  try {
    const conf = path.join(dir, 'krb5.conf');
    writeFileSync(conf, privateKrb5Conf(k.realm, kdc ?? k.kdc));
    const env = { ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${path.join(dir, 'cc')}` };
    const child = spawn('kinit', ['-k', '-t', k.keytabs[name], k.principals[name]], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const status = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    return { status, output: output.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
