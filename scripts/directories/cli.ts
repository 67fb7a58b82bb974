/**
 * Start test directories by hand, e.g. to run the gateway against them, or
 * write generated data to a file.
 *
 *   npm run directories -- start [slapd] [samba] [redis] [--users N] [--groups N] [--contacts N] [--seed S] [--plain-bind]
 *   npm run directories -- generate [--users N] [--groups N] [--contacts N] [--seed S] [--base DN] [--format ldif|json] [--out FILE]
 *
 * `start` prints the addresses and credentials as JSON, then runs until
 * Ctrl-C (SIGINT/SIGTERM) and stops everything it started.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { makeCertificates } from './certificates.js';
import { type GeneratorOptions, generateDirectory } from './generator.js';
import { writeLdifFile } from './ldif.js';
import { ALL_BINARIES, ensurePackages } from './packages.js';
import { startRedis } from './redis.js';
import { SAMBA_BASE_DN, startSambaDc } from './samba.js';
import { startSlapd } from './slapd.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    users: { type: 'string', default: '2000' },
    groups: { type: 'string', default: '50' },
    contacts: { type: 'string', default: '150' },
    seed: { type: 'string', default: 'dirgate' },
    base: { type: 'string', default: 'dc=corp,dc=test' },
    format: { type: 'string', default: 'ldif' },
    out: { type: 'string' },
    'plain-bind': { type: 'boolean', default: false },
  },
});

const [command, ...rest] = positionals;
const log = (line: string): void => console.error(line);

function datasetOptions(baseDn: string): GeneratorOptions {
  return {
    users: Number(values.users),
    groups: Number(values.groups),
    contacts: Number(values.contacts),
    seed: values.seed ?? 'dirgate',
    baseDn,
  };
}

async function generate(): Promise<void> {
  const dataset = generateDirectory(datasetOptions(values.base ?? 'dc=corp,dc=test'));
  if (values.format === 'json') {
    const text = JSON.stringify(dataset);
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return;
  }
  await writeLdifFile(dataset, values.out ?? '/dev/stdout', { memberOf: true });
}

async function start(): Promise<void> {
  const services = new Set(rest.length > 0 ? rest : ['slapd', 'samba', 'redis']);
  await ensurePackages(ALL_BINARIES, log);
  const certificates = await makeCertificates();
  const stops: Array<() => Promise<void>> = [];
  const info: Record<string, unknown> = { caPath: certificates.ca.path };
  try {
    if (services.has('slapd')) {
      const slapd = await startSlapd({
        certificates,
        dataset: generateDirectory(datasetOptions('dc=corp,dc=test')),
        log,
      });
      stops.push(() => slapd.dispose());
      info.slapd = {
        url: slapd.url,
        ldapsUrl: slapd.ldapsUrl,
        baseDn: slapd.baseDn,
        admin: slapd.admin,
        reader: slapd.reader,
      };
    }
    if (services.has('samba')) {
      const samba = await startSambaDc({
        certificates,
        dataset: generateDirectory(datasetOptions(SAMBA_BASE_DN)),
        allowPlainBind: values['plain-bind'],
        log,
      });
      stops.push(() => samba.dispose());
      info.samba = {
        url: samba.url,
        ldapsUrl: samba.ldapsUrl,
        baseDn: samba.baseDn,
        dnsServer: samba.dnsServer,
        allowPlainBind: samba.allowPlainBind,
        admin: samba.admin,
        reader: samba.reader,
        // The realm, KDC, service accounts and their keytab files (KERBEROS connections by hand).
        kerberos: samba.kerberos,
        dir: samba.dir,
      };
    }
    if (services.has('redis')) {
      const redis = await startRedis();
      stops.push(() => redis.stop());
      info.redis = { url: redis.url };
    }
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
  console.log(JSON.stringify(info, null, 2));
  log('running; Ctrl-C stops everything');
  // The servers are unref'd children: without a timer Node would exit here and orphan them.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  await Promise.allSettled(stops.map((stop) => stop()));
  rmSync(certificates.dir, { recursive: true, force: true });
}

if (command === 'generate') await generate();
else if (command === 'start') await start();
else {
  console.error('usage: directories start [slapd] [samba] [redis] [options] | generate [options]');
  process.exitCode = 64;
}
