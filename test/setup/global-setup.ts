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
 */
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { makeCertificates } from '../../scripts/directories/certificates.js';
import { generateDirectory } from '../../scripts/directories/generator.js';
import { ALL_BINARIES, ensurePackages, type RequiredBinary } from '../../scripts/directories/packages.js';
import { type RedisInstance, startRedis } from '../../scripts/directories/redis.js';
import { type SambaInstance, startSambaDc } from '../../scripts/directories/samba.js';
import { type SlapdInstance, startSlapd } from '../../scripts/directories/slapd.js';
import type { TestDirectoriesInfo } from '../support/directories.js';
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
  samba: ['samba', 'samba-tool', 'ldapsearch'],
  redis: ['redis-server'],
};

function line(text: string): void {
  console.log(`[directories] ${text}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const services = wanted();
  const timings: Record<string, number> = {};
  const empty: TestDirectoriesInfo = { certificates: null, slapd: null, samba: null, redis: null, timings };
  if (services.size === 0) {
    project.provide('directories', empty);
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
  timings.total = Date.now() - began;
  line(`ready in ${timings.total} ms`);
  project.provide('directories', info);
  return async () => {
    await teardown();
    rmSync(certificates.dir, { recursive: true, force: true });
  };
}
