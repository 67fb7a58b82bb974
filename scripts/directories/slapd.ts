/**
 * A private OpenLDAP slapd in a fresh temp folder: mdb backend, the usual
 * schemas plus an AD-like one, the memberof overlay, ldap:// and ldaps://
 * on free loopback ports, an admin (rootdn) and a limited "reader" whose
 * 1,000-entry size limit makes paging necessary, as on AD. Starting one
 * takes a few hundredths of a second, so tests may start their own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AD_SCHEMA } from './ad-schema.js';
import { makeCertificates, type TestCertificates } from './certificates.js';
import type { Dataset } from './generator.js';
import { datasetLdifEntries, entryToLdif, type LdifEntry, writeLdifFile } from './ldif.js';
import {
  canConnect,
  freePort,
  isAlive,
  type ManagedServer,
  requireExecutable,
  run,
  stopPid,
  waitFor,
} from './process.js';

export interface BindAccount {
  readonly dn: string;
  readonly password: string;
}

export interface SlapdOptions {
  /** Default `dc=corp,dc=test`. */
  readonly baseDn?: string;
  /** Reuse certificates (e.g. the shared test CA); default: make new ones. */
  readonly certificates?: TestCertificates;
  /** Loaded with slapadd before the first start (fast; memberOf written by us). */
  readonly dataset?: Dataset;
  /** Size limit for the reader (and any non-root bind); default 1000, like AD's MaxPageSize. */
  readonly sizeLimit?: number;
  readonly adminPassword?: string;
  readonly readerPassword?: string;
  /** Run a caller-chosen folder instead of a fresh mkdtemp one. */
  readonly dir?: string;
  readonly log?: (line: string) => void;
  /**
   * Initial-substring indexes on the attributes an address book is searched
   * by, as Active Directory has: for benchmarks of live prefix searches.
   */
  readonly prefixIndexes?: boolean;
  /**
   * The accesslog overlay (slapo-accesslog) writing every successful write to
   * a second mdb database, `cn=accesslog`, readable by the reader: how an
   * incremental read sees deletions on OpenLDAP. Implies changeIndexes.
   */
  readonly accessLog?: boolean | AccessLogOptions;
  /** Equality indexes on modifyTimestamp and entryCSN, which `(modifyTimestamp>=…)` change filters use. */
  readonly changeIndexes?: boolean;
  readonly kerberos?: SlapdKerberosOptions;
}

/**
 * SASL GSSAPI binds (Cyrus SASL's plugin, MIT krb5): slapd accepts tickets for
 * `ldap/<host>@<realm>` from `keytab`, and maps every Kerberos principal to
 * the reader. Any SASL security layer, or none (for binds over TLS).
 */
export interface SlapdKerberosOptions {
  readonly keytab: string;
  /** A krb5.conf naming the realm (slapd's GSSAPI only accepts, it asks no KDC). */
  readonly krb5Config: string;
  readonly host: string;
  readonly realm: string;
}

export interface AccessLogOptions {
  /**
   * slapo-accesslog's `logpurge AGE INTERVAL` (`[dd+]hh:mm[:ss]` each): entries older than AGE
   * are deleted every INTERVAL. Default `07+00:00 01+00:00`.
   */
  readonly purge?: string;
}

/** The suffix of the access log database (slapo-accesslog's usual one). */
export const ACCESS_LOG_SUFFIX = 'cn=accesslog';

export interface SlapdInstance extends ManagedServer {
  readonly baseDn: string;
  /** `ldap://127.0.0.1:PORT` */
  readonly url: string;
  /** `ldaps://127.0.0.1:PORT` (certificate for 127.0.0.1, localhost, dc1.corp.test) */
  readonly ldapsUrl: string;
  readonly port: number;
  readonly ldapsPort: number;
  /** The rootdn: no limits, bypasses ACLs. */
  readonly admin: BindAccount;
  /** A plain user with AD-like size limits (1,000 per search, paging unlimited). */
  readonly reader: BindAccount;
  readonly certificates: TestCertificates;
  /** Online load with ldapadd as the admin (≈1,000 entries/s); memberOf comes from the overlay. */
  load(dataset: Dataset): Promise<void>;
  /** slapadd -q (100k users in about 2 s); stops and restarts a running server around it. stop() takes
   * about 1.5 s (slapd flushes the database); data survives kill() (mdb is crash-safe). */
  loadOffline(dataset: Dataset): Promise<void>;
}

const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

function slapdConf(options: {
  dir: string;
  baseDn: string;
  admin: BindAccount;
  sizeLimit: number;
  certificates: TestCertificates;
  prefixIndexes: boolean;
  accessLog: AccessLogOptions | null;
  changeIndexes: boolean;
  kerberos: SlapdKerberosOptions | null;
  readerDn: string;
}): string {
  const { dir, baseDn, admin, sizeLimit, certificates, prefixIndexes, accessLog, changeIndexes } = options;
  const kerberos = options.kerberos
    ? [
        `sasl-host ${options.kerberos.host}`,
        `sasl-realm ${options.kerberos.realm}`,
        // No minimum: over TLS a client may take no layer; on plain LDAP ours takes sealing anyway.
        'sasl-secprops none',
        `authz-regexp "^uid=[^,]+,(cn=[^,]+,)?cn=gssapi,cn=auth$" "${options.readerDn}"`,
      ]
    : [];
  // Declared before the database it logs (logdb names it). The reader reads it, with the same
  // size limit as the directory, so the log is read paged as the directory is.
  const logDatabase = accessLog
    ? [
        'database mdb',
        `suffix "${ACCESS_LOG_SUFFIX}"`,
        `rootdn "cn=admin,${ACCESS_LOG_SUFFIX}"`,
        `directory ${join(dir, 'accesslog')}`,
        'maxsize 1073741824',
        'dbnosync',
        'index reqStart eq',
        'index objectClass eq',
        `limits users size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited`,
        'access to * by users read by * none',
      ]
    : [];
  const logOverlay = accessLog
    ? [
        'overlay accesslog',
        `logdb "${ACCESS_LOG_SUFFIX}"`,
        'logops writes',
        'logsuccess TRUE',
        `logpurge ${accessLog.purge ?? '07+00:00 01+00:00'}`,
      ]
    : [];
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis'].map(
    (name) => `include ${SCHEMA_DIR}/${name}.schema`,
  );
  return [
    ...schemas,
    `include ${join(dir, 'ad.schema')}`,
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    `modulepath ${MODULE_DIR}`,
    'moduleload back_mdb',
    'moduleload memberof',
    ...(accessLog ? ['moduleload accesslog'] : []),
    `TLSCACertificateFile ${certificates.ca.path}`,
    `TLSCertificateFile ${certificates.server.path}`,
    `TLSCertificateKeyFile ${certificates.serverKey.path}`,
    ...kerberos,
    // Only the limited reader and admin read; anonymous may read the RootDSE and schema, as on AD.
    'access to dn.base="" by * read',
    'access to dn.base="cn=Subschema" by * read',
    ...logDatabase,
    'database mdb',
    `suffix "${baseDn}"`,
    `rootdn "${admin.dn}"`,
    `rootpw ${admin.password}`,
    `directory ${join(dir, 'data')}`,
    // The map is virtual; 4 GiB leaves room for 100k-entry benchmarks.
    'maxsize 4294967296',
    // Test data is disposable: skip fsync (≈5× faster online loads).
    'dbnosync',
    // Equality only: the gateway reads everything and searches its own cache;
    // substring indexes made slapadd of 100k users 25× slower.
    'index objectClass eq',
    ...(prefixIndexes
      ? [
          'index cn,mail,displayName,sAMAccountName,proxyAddresses eq,subinitial',
          'index uid,userPrincipalName eq',
        ]
      : ['index cn,mail,uid,sAMAccountName,userPrincipalName,proxyAddresses eq']),
    'index objectGUID,entryUUID,member,memberOf eq',
    ...(changeIndexes || accessLog ? ['index modifyTimestamp,entryCSN eq'] : []),
    `limits users size.soft=${sizeLimit} size.hard=${sizeLimit} size.prtotal=unlimited`,
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by users read by * none',
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    'memberof-refint TRUE',
    ...logOverlay,
    '',
  ].join('\n');
}

function containerSkeleton(baseDn: string, reader: BindAccount): LdifEntry[] {
  const [first] = baseDn.split(',');
  const [attr = '', value = ''] = (first ?? '').split('=');
  const ou = (name: string): LdifEntry => ({
    dn: `ou=${name},${baseDn}`,
    attributes: [
      ['objectClass', ['top', 'organizationalUnit']],
      ['ou', [name]],
    ],
  });
  const base: LdifEntry =
    attr.toLowerCase() === 'dc'
      ? {
          dn: baseDn,
          attributes: [
            ['objectClass', ['top', 'dcObject', 'organization']],
            ['dc', [value]],
            ['o', [value]],
          ],
        }
      : {
          dn: baseDn,
          attributes: [
            ['objectClass', ['top', 'organization']],
            ['o', [value]],
          ],
        };
  return [
    base,
    ou('Users'),
    ou('Groups'),
    ou('Contacts'),
    {
      dn: reader.dn,
      attributes: [
        ['objectClass', ['top', 'organizationalRole', 'simpleSecurityObject']],
        ['cn', ['reader']],
        ['description', ['dirgate test reader with AD-like limits']],
        ['userPassword', [reader.password]],
      ],
    },
  ];
}

/** Starts a private slapd; see SlapdInstance. */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdInstance> {
  const slapd = requireExecutable('slapd');
  const slapadd = requireExecutable('slapadd');
  const ldapadd = requireExecutable('ldapadd');
  const ldapmodify = requireExecutable('ldapmodify');
  const log = options.log ?? (() => {});
  const baseDn = options.baseDn ?? 'dc=corp,dc=test';
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dirgate-slapd-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  const accessLog =
    options.accessLog === true ? {} : options.accessLog === false ? null : (options.accessLog ?? null);
  if (accessLog) mkdirSync(join(dir, 'accesslog'), { recursive: true });
  const certificates = options.certificates ?? (await makeCertificates({ dir: join(dir, 'tls') }));
  const admin: BindAccount = { dn: `cn=admin,${baseDn}`, password: options.adminPassword ?? 'admin-secret' };
  const reader: BindAccount = {
    dn: `cn=reader,${baseDn}`,
    password: options.readerPassword ?? 'reader-secret',
  };
  const conf = join(dir, 'slapd.conf');
  writeFileSync(join(dir, 'ad.schema'), AD_SCHEMA);
  writeFileSync(
    conf,
    slapdConf({
      dir,
      baseDn,
      admin,
      sizeLimit: options.sizeLimit ?? 1000,
      certificates,
      prefixIndexes: options.prefixIndexes ?? false,
      accessLog,
      changeIndexes: options.changeIndexes ?? false,
      kerberos: options.kerberos ?? null,
      readerDn: reader.dn,
    }),
  );

  const slapaddLdif = async (ldifPath: string): Promise<void> => {
    // -b: with an access log, the directory is not the first database.
    await run(slapadd, ['-q', '-f', conf, '-b', baseDn, '-l', ldifPath]);
  };
  // The skeleton goes in offline: the base entry, the OUs and the reader.
  const skeleton = join(dir, 'skeleton.ldif');
  writeFileSync(skeleton, containerSkeleton(baseDn, reader).map(entryToLdif).join(''));
  await slapaddLdif(skeleton);
  if (options.dataset) {
    const started = Date.now();
    await writeLdifFile(options.dataset, join(dir, 'dataset.ldif'), {
      memberOf: true,
      containers: false,
      stamps: true,
    });
    const written = Date.now();
    await slapaddLdif(join(dir, 'dataset.ldif'));
    log(
      `slapd: LDIF of ${options.dataset.users.length} users written in ${written - started} ms, slapadd ${Date.now() - written} ms`,
    );
  }

  const port = await freePort();
  let ldapsPort = await freePort();
  while (ldapsPort === port) ldapsPort = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  const logPath = join(dir, 'slapd.log');
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    if (child && isAlive(child.pid ?? -1)) return;
    const out = openSync(logPath, 'a');
    // -d 0 keeps slapd in the foreground as our child: we see it exit and can SIGKILL it.
    const proc = spawn(slapd, ['-f', conf, '-h', `${url}/ ${ldapsUrl}/`, '-d', '0'], {
      stdio: ['ignore', out, out],
      ...(options.kerberos
        ? {
            env: {
              ...process.env,
              KRB5_KTNAME: `FILE:${options.kerberos.keytab}`,
              KRB5_CONFIG: options.kerberos.krb5Config,
            },
          }
        : {}),
    });
    closeSync(out);
    proc.unref();
    child = proc;
    let exited: string | null = null;
    proc.once('exit', (code, signal) => {
      exited = `slapd exited (${signal ?? code})`;
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`${exited}: ${readFileSync(logPath, 'utf8').slice(-2000)}`);
        return (await canConnect(port)) && (await canConnect(ldapsPort));
      },
      10_000,
      () => `slapd on ${url}: ${readFileSync(logPath, 'utf8').slice(-2000)}`,
      20,
    );
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc?.pid) return;
    await stopPid(proc.pid, signal);
  };

  const ldapArgs = ['-x', '-H', url, '-D', admin.dn, '-w', admin.password];

  const load = async (dataset: Dataset): Promise<void> => {
    // Groups first without group members (they may form cycles), then those members by modify.
    const entries = [...datasetLdifEntries(dataset, { containers: false })];
    const groupDns = new Set(dataset.groups.map((group) => group.dn));
    let adds = '';
    let modifies = '';
    for (const entry of entries) {
      const members = entry.attributes.find(([name]) => name === 'member');
      if (!members) {
        adds += entryToLdif(entry);
        continue;
      }
      const values = members[1] as readonly string[];
      const direct = values.filter((dn) => !groupDns.has(dn));
      const nested = values.filter((dn) => groupDns.has(dn));
      // groupOfNames needs a member at add time: keep one nested one if nothing else.
      const first = direct.length > 0 ? direct : nested.slice(0, 1);
      const later = direct.length > 0 ? nested : nested.slice(1);
      adds += entryToLdif({
        dn: entry.dn,
        attributes: entry.attributes.map(([name, vals]) => [name, name === 'member' ? first : vals] as const),
      });
      if (later.length > 0) {
        modifies += entryToLdif({
          dn: entry.dn,
          attributes: [
            ['changetype', ['modify']],
            ['add', ['member']],
            ['member', later],
          ],
        }).replace(/\n\n$/, '\n-\n\n');
      }
    }
    const addPath = join(dir, 'online-add.ldif');
    const modifyPath = join(dir, 'online-modify.ldif');
    writeFileSync(addPath, adds);
    writeFileSync(modifyPath, modifies);
    await run(ldapadd, [...ldapArgs, '-f', addPath]);
    if (modifies) await run(ldapmodify, [...ldapArgs, '-f', modifyPath]);
  };

  const instance: SlapdInstance = {
    dir,
    baseDn,
    url,
    ldapsUrl,
    port,
    ldapsPort,
    admin,
    reader,
    certificates,
    get pid() {
      return child?.pid ?? null;
    },
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await start();
    },
    load,
    loadOffline: async (dataset) => {
      const wasRunning = child !== null;
      await stopWith('SIGTERM');
      const path = join(dir, 'dataset.ldif');
      await writeLdifFile(dataset, path, { memberOf: true, containers: false, stamps: true });
      await slapaddLdif(path);
      if (wasRunning) await start();
    },
    dispose: async () => {
      await stopWith('SIGTERM');
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose]: () => instance.dispose(),
  };
  try {
    await start();
  } catch (error) {
    // The error already carries slapd's log; do not leave the folder behind.
    await instance.dispose().catch(() => {});
    throw error;
  }
  return instance;
}
