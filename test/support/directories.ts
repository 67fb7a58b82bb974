/**
 * What the global setup (test/setup/global-setup.ts) started, as tests see
 * it through `inject('directories')`, plus the starters and the generator
 * for tests that need private instances or exact expectations.
 *
 * Only one Samba DC can run per machine (fixed ports): use the shared one
 * from directories().samba, never startSambaDc in a test. slapd, dnsmasq
 * and Redis are cheap: start private ones freely.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { DEFAULT_SUBJECT_ALT_NAMES, type TestCertificates } from '../../scripts/directories/certificates.js';
import {
  type Dataset,
  type GeneratorOptions,
  generateDirectory,
} from '../../scripts/directories/generator.js';

export interface BindCredentials {
  readonly dn: string;
  readonly password: string;
}

export interface SambaCredentials extends BindCredentials {
  /** `name@corp.test` */
  readonly userPrincipalName: string;
  /** `CORP\name` */
  readonly ntlmName: string;
}

export interface CertificateInfo {
  /** The CA that signed every test server's certificate. */
  readonly caPem: string;
  readonly caPath: string;
  /** A CA that signed nothing we serve: verification against it must fail. */
  readonly unknownCaPem: string;
  readonly unknownCaPath: string;
  /** For starting private servers with the same CA. */
  readonly serverCertPath: string;
  readonly serverKeyPath: string;
  readonly dir: string;
}

export interface SlapdInfo {
  /** `ldap://127.0.0.1:PORT` (StartTLS works too) */
  readonly url: string;
  /** `ldaps://127.0.0.1:PORT` */
  readonly ldapsUrl: string;
  readonly baseDn: string;
  /** rootdn: no limits. */
  readonly admin: BindCredentials;
  /** Size limit `sizeLimit` per search, paging unlimited (like AD). */
  readonly reader: BindCredentials;
  readonly sizeLimit: number;
  /** Regenerate with generateDirectory(dataset) for expectations. */
  readonly dataset: GeneratorOptions;
}

export interface SambaInfo {
  /** `ldap://127.0.0.1:389`: StartTLS; plain simple binds refused unless allowPlainBind. */
  readonly url: string;
  /** `ldaps://127.0.0.1:636` */
  readonly ldapsUrl: string;
  readonly baseDn: string;
  readonly realm: string;
  /** corp.test: DNS, mail and UPN domain. */
  readonly domain: string;
  /** CORP */
  readonly netbiosName: string;
  /** dc1.corp.test (SRV target; in the certificate). */
  readonly hostName: string;
  /** `127.0.0.1:53`: Samba's DNS (SRV `_ldap._tcp.corp.test`). */
  readonly dnsServer: string;
  /** False (hardened) unless the run set DIRGATE_SAMBA_PLAIN_BIND=1. */
  readonly allowPlainBind: boolean;
  readonly admin: SambaCredentials;
  readonly reader: SambaCredentials;
  /** Disabled account with a known password (bind fails with 49 "data 533"). */
  readonly disabledUser: SambaCredentials;
  readonly dataset: GeneratorOptions;
}

export interface TestDirectoriesInfo {
  /** Null when DIRGATE_TEST_DIRECTORIES=none. */
  readonly certificates: CertificateInfo | null;
  readonly slapd: SlapdInfo | null;
  readonly samba: SambaInfo | null;
  /** `redis://127.0.0.1:PORT`, no persistence. */
  readonly redis: { readonly url: string } | null;
  /** Milliseconds per start-up step. */
  readonly timings: Readonly<Record<string, number>>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    directories: TestDirectoriesInfo;
  }
}

/** The shared directories; throws a clear error if the global setup did not run. */
export function directories(): TestDirectoriesInfo {
  const info = inject('directories');
  if (!info) {
    throw new Error(
      'no shared test directories: run through the integration project (globalSetup test/setup/global-setup.ts)',
    );
  }
  return info;
}

/** The shared slapd, or an error saying why it is absent. */
export function sharedSlapd(): SlapdInfo {
  const info = directories().slapd;
  if (!info) throw new Error('the shared slapd was not started (DIRGATE_TEST_DIRECTORIES)');
  return info;
}

/** The shared Samba DC, or an error saying why it is absent. */
export function sharedSamba(): SambaInfo {
  const info = directories().samba;
  if (!info) throw new Error('the shared Samba DC was not started (DIRGATE_TEST_DIRECTORIES)');
  return info;
}

/** The shared CA and server certificate, in the shape startSlapd({ certificates }) takes. */
export function sharedCertificates(): TestCertificates {
  const info = directories().certificates;
  if (!info) throw new Error('no shared certificates (DIRGATE_TEST_DIRECTORIES=none)');
  return {
    dir: info.dir,
    ca: { path: info.caPath, pem: info.caPem },
    server: { path: info.serverCertPath, pem: readFileSync(info.serverCertPath, 'utf8') },
    serverKey: { path: info.serverKeyPath, pem: readFileSync(info.serverKeyPath, 'utf8') },
    unknownCa: { path: info.unknownCaPath, pem: info.unknownCaPem },
    subjectAltNames: DEFAULT_SUBJECT_ALT_NAMES,
  };
}

const datasets = new Map<string, Dataset>();

/** generateDirectory, memoized per options: the shared datasets are regenerated once per worker. */
export function datasetFor(options: GeneratorOptions): Dataset {
  const key = JSON.stringify(options);
  let dataset = datasets.get(key);
  if (!dataset) {
    dataset = generateDirectory(options);
    datasets.set(key, dataset);
  }
  return dataset;
}

export { makeCertificates, type TestCertificates } from '../../scripts/directories/certificates.js';
export { queryA, querySrv } from '../../scripts/directories/dns-query.js';
export { type DnsmasqInstance, startDnsmasq } from '../../scripts/directories/dnsmasq.js';
export {
  allEntries,
  type Dataset,
  type DirectoryEntry,
  duplicateKey,
  expectedAddresses,
  expectedPrimaryEmail,
  expectedTransitiveMembers,
  type GeneratorOptions,
  generateDirectory,
} from '../../scripts/directories/generator.js';
export { guidFromBytes, guidToBytes } from '../../scripts/directories/identifiers.js';
export { type RedisInstance, startRedis } from '../../scripts/directories/redis.js';
export { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
export { SHARED_SAMBA_DATASET, SHARED_SLAPD_DATASET } from '../setup/datasets.js';
