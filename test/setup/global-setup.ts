/**
 * Vitest global setup of the integration project: installs what is missing,
 * makes a throwaway CA, and starts ONE shared slapd, ONE Samba AD DC (fixed
 * ports: one per machine) and ONE Redis, all on 127.0.0.1, loaded with the
 * datasets of ./datasets.ts. Tests read the addresses through
 * `directories()` from test/support/directories.ts.
 *
 * DIRGATE_TEST_DIRECTORIES: `none` starts nothing (unit runs); a comma list
 * of `slapd,samba,redis` starts only those; default all.
 * DIRGATE_SAMBA_PLAIN_BIND=1: the shared DC allows simple binds over plain
 * ldap:// (`ldap server require strong auth = no`) instead of refusing them.
 *
 * With Samba, the Kerberos addon is built too (scripts/build-native.sh,
 * after the packages bring libkrb5-dev), and the DC's service accounts and
 * keytabs are provided as `kerberos` (test/support/kerberos.ts).
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { makeCertificates } from '../../scripts/directories/certificates.js';
import { generateDirectory } from '../../scripts/directories/generator.js';
import {
  ALL_BINARIES,
  ensurePackages,
  libfaketimePath,
  type RequiredBinary,
} from '../../scripts/directories/packages.js';
import { run } from '../../scripts/directories/process.js';
import { type RedisInstance, startRedis } from '../../scripts/directories/redis.js';
import { SAMBA_PORTS, type SambaInstance, startSambaDc } from '../../scripts/directories/samba.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import type { TestDirectoriesInfo } from '../support/directories.js';
import type { KerberosFixtureInfo } from '../support/kerberos.js';
import { SHARED_SAMBA_DATASET, SHARED_SLAPD_DATASET } from './datasets.js';

type Service = 'slapd' | 'samba' | 'redis';

function wanted(): Set<Service> {
  const raw = (process.env.DIRGATE_TEST_DIRECTORIES ?? 'all').trim().toLowerCase();
  if (raw === 'none' || raw === '') return new Set();
  if (raw === 'all') return new Set(['slapd', 'samba', 'redis']);
  const services = raw.split(',').map((part) => part.trim());
  for (const service of services) {
    if (!['slapd', 'samba', 'redis'].includes(service)) {
      throw new Error(
        `DIRGATE_TEST_DIRECTORIES: unknown service ${service} (slapd, samba, redis, all, none)`,
      );
    }
  }
  return new Set(services as Service[]);
}

const BINARIES_FOR: Readonly<Record<Service, readonly RequiredBinary[]>> = {
  slapd: ['slapd', 'ldapsearch'],
  // The Kerberos tests run against the DC: MIT's tools, the addon's headers, faketime for clock skew.
  // krb5kdc: a second realm (MIT) beside the DC's, with slapd accepting its tickets.
  samba: ['samba', 'samba-tool', 'ldapsearch', 'kinit', 'krb5-config', 'faketime', 'krb5kdc'],
  redis: ['redis-server'],
};

function line(text: string): void {
  console.log(`[directories] ${text}`);
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILD_NATIVE = path.join(ROOT, 'scripts', 'build-native.sh');

/** Builds and loads the gateway's GSSAPI addon; its output is the error when that fails. */
async function buildNative(): Promise<void> {
  if (!existsSync(BUILD_NATIVE))
    throw new Error(`${BUILD_NATIVE} is missing: the Kerberos addon cannot be built`);
  // The script's load check must use the project's Node (node_modules/.bin first, as npm runs scripts).
  const env = {
    ...process.env,
    PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  const result = await run('bash', [BUILD_NATIVE], { cwd: ROOT, env, allowFailure: true });
  if (result.code !== 0) {
    throw new Error(
      `bash scripts/build-native.sh exited with ${result.code}:\n${`${result.stdout}\n${result.stderr}`.trim().slice(-8000)}`,
    );
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = wanted();
  const timings: Record<string, number> = {};
  const empty: TestDirectoriesInfo = { certificates: null, slapd: null, samba: null, redis: null, timings };
  if (services.size === 0) {
    project.provide('directories', empty);
    project.provide('kerberos', null);
    return async () => {};
  }
  const began = Date.now();
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    const result = await work();
    timings[label] = Date.now() - start;
    line(`${label}: ${timings[label]} ms`);
    return result;
  };

  // dnsmasq: tests start private DNS servers for SRV discovery whatever shared services run.
  const binaries = new Set<RequiredBinary>(['openssl', 'dnsmasq']);
  for (const service of services) for (const binary of BINARIES_FOR[service]) binaries.add(binary);
  await timed('packages', () =>
    ensurePackages(
      ALL_BINARIES.filter((b) => binaries.has(b)),
      line,
    ),
  );
  if (services.has('samba')) await timed('native', buildNative);
  const certificates = await timed('certificates', () => makeCertificates());

  let slapd: SlapdInstance | null = null;
  let samba: SambaInstance | null = null;
  let redis: RedisInstance | null = null;
  const teardown = async (): Promise<void> => {
    const start = Date.now();
    await Promise.allSettled([slapd?.dispose(), samba?.dispose(), redis?.stop()]);
    line(`stopped in ${Date.now() - start} ms`);
  };

  try {
    // Samba dominates (provision ≈3 s, load ≈3 s, start ≈1 s): start the others alongside.
    const [slapdResult, sambaResult, redisResult] = await Promise.allSettled([
      services.has('slapd')
        ? timed('slapd', () => startSlapd({ certificates, dataset: generateDirectory(SHARED_SLAPD_DATASET) }))
        : Promise.resolve(null),
      services.has('samba')
        ? timed('samba', () =>
            startSambaDc({
              certificates,
              dataset: generateDirectory(SHARED_SAMBA_DATASET),
              allowPlainBind: process.env.DIRGATE_SAMBA_PLAIN_BIND === '1',
              log: line,
            }),
          )
        : Promise.resolve(null),
      services.has('redis') ? timed('redis', () => startRedis()) : Promise.resolve(null),
    ]);
    slapd = slapdResult.status === 'fulfilled' ? slapdResult.value : null;
    samba = sambaResult.status === 'fulfilled' ? sambaResult.value : null;
    redis = redisResult.status === 'fulfilled' ? redisResult.value : null;
    const failures = [slapdResult, sambaResult, redisResult].filter((r) => r.status === 'rejected');
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((f) => (f as PromiseRejectedResult).reason),
        `starting test directories failed: ${failures.map((f) => String((f as PromiseRejectedResult).reason)).join('; ')}`,
      );
    }
  } catch (error) {
    await teardown();
    throw error;
  }

  const info: TestDirectoriesInfo = {
    certificates: {
      caPem: certificates.ca.pem,
      caPath: certificates.ca.path,
      unknownCaPem: certificates.unknownCa.pem,
      unknownCaPath: certificates.unknownCa.path,
      serverCertPath: certificates.server.path,
      serverKeyPath: certificates.serverKey.path,
      dir: certificates.dir,
    },
    slapd: slapd && {
      url: slapd.url,
      ldapsUrl: slapd.ldapsUrl,
      baseDn: slapd.baseDn,
      admin: slapd.admin,
      reader: slapd.reader,
      sizeLimit: 1000,
      dataset: SHARED_SLAPD_DATASET,
    },
    samba: samba && {
      url: samba.url,
      ldapsUrl: samba.ldapsUrl,
      baseDn: samba.baseDn,
      realm: samba.realm,
      domain: samba.domain,
      netbiosName: samba.netbiosName,
      hostName: samba.hostName,
      dnsServer: samba.dnsServer,
      allowPlainBind: samba.allowPlainBind,
      admin: samba.admin,
      reader: samba.reader,
      disabledUser: samba.disabledUser,
      dataset: SHARED_SAMBA_DATASET,
    },
    redis: redis && { url: redis.url },
    timings,
  };
  const kerberos: KerberosFixtureInfo | null = samba && {
    ...samba.kerberos,
    dnsServer: samba.dnsServer,
    hostName: samba.hostName,
    ldapPort: SAMBA_PORTS.ldap,
    libfaketime: libfaketimePath(),
  };
  timings.total = Date.now() - began;
  line(`ready in ${timings.total} ms`);
  project.provide('directories', info);
  project.provide('kerberos', kerberos);
  return async () => {
    await teardown();
    rmSync(certificates.dir, { recursive: true, force: true });
  };
}
