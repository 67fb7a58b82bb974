/**
 * A Samba 4 Active Directory domain controller provisioned from scratch in
 * a temp folder (realm CORP.TEST, NetBIOS domain CORP, host dc1), listening
 * on 127.0.0.1 only, with our certificate so verified LDAPS and StartTLS
 * work, and loaded through Samba's own Python SamDB (see samba_load.py).
 *
 * Samba binds fixed ports (53, 88, 389, 636, …): one DC per machine. Tests
 * share one started in the vitest global setup.
 *
 * The LAB.md traps handled here: provision drops some --option values and
 * copies the host resolver into `dns forwarder`, so smb.conf is rewritten
 * afterwards; --host-ip is ignored, so dc1's A record is written by us;
 * every tool gets `-s DIR/etc/smb.conf` so /etc/samba is never read.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'ldapts';
import { makeCertificates, type TestCertificates } from './certificates.js';
import { querySrv } from './dns-query.js';
import type { Dataset } from './generator.js';
import { SYSTEM_PYTHON } from './packages.js';
import {
  canConnect,
  isAlive,
  type ManagedServer,
  readPidFile,
  requireExecutable,
  run,
  runDaemonizing,
  stopPid,
  waitFor,
} from './process.js';
import {
  assertSambaCompatible,
  datasetOperations,
  type SambaOperation,
  writeOperations,
} from './samba-data.js';

export const SAMBA_REALM = 'CORP.TEST';
export const SAMBA_DOMAIN = 'corp.test';
export const SAMBA_NETBIOS_DOMAIN = 'CORP';
export const SAMBA_HOST = 'dc1';
export const SAMBA_BASE_DN = 'DC=corp,DC=test';
/** Ports Samba binds on 127.0.0.1; all fixed. */
export const SAMBA_PORTS = { dns: 53, kerberos: 88, ldap: 389, ldaps: 636, globalCatalog: 3268 } as const;

/** Records the running DC so a later run can clean up one a crashed run left behind. */
const MARKER = join(tmpdir(), 'dirgate-samba-dc.json');

export interface SambaAccount {
  readonly dn: string;
  /** `name@corp.test` */
  readonly userPrincipalName: string;
  /** `CORP\name` */
  readonly ntlmName: string;
  readonly password: string;
}

/** Keytab files exported from the DC (MIT format, as `samba-tool domain exportkeytab` writes them). */
export interface SambaKeytabs {
  /** svc-dirgate's: the account the gateway binds as. */
  readonly dirgate: string;
  /** svc-second's: another account, for two connections side by side. */
  readonly second: string;
  /** svc-stale's, exported before its password was changed: its kvno is one behind the account's. */
  readonly stale: string;
  /** svc-gone's, exported before the account was deleted: the principal is unknown to the KDC. */
  readonly gone: string;
}

/** What the Kerberos tests need of the DC (#17). */
export interface SambaKerberos {
  /** CORP.TEST */
  readonly realm: string;
  /** The DC's KDC, TCP and UDP: `127.0.0.1:88`. */
  readonly kdc: string;
  /** The LDAP service principal the DC holds: `ldap/dc1.corp.test`. */
  readonly ldapServicePrincipal: string;
  readonly keytabs: SambaKeytabs;
  /** Principal of each keytab, `svc-dirgate@CORP.TEST` etc. */
  readonly principals: Readonly<Record<keyof SambaKeytabs, string>>;
  /** svc-dirgate with its password (the StartTLS simple-bind comparison of the same account). */
  readonly service: SambaAccount;
  /** svc-second with its password. */
  readonly second: SambaAccount;
}

export interface SambaOptions {
  readonly certificates?: TestCertificates;
  /**
   * `ldap server require strong auth = no`: simple binds over plain
   * ldap:// work. Default false: hardened, as a current Windows AD.
   */
  readonly allowPlainBind?: boolean;
  /** Loaded offline before the first start (sAMAccountName/UPN duplicates refused). */
  readonly dataset?: Dataset;
  readonly adminPassword?: string;
  readonly readerPassword?: string;
  /** The DC exits by itself after this long, in case nobody stops it. Default 7200 s. */
  readonly maximumRuntimeSeconds?: number;
  readonly dir?: string;
  readonly log?: (line: string) => void;
}

export interface SambaInstance extends ManagedServer {
  readonly smbConf: string;
  readonly realm: string;
  /** DNS domain, also the mail and UPN domain: corp.test */
  readonly domain: string;
  /** NetBIOS domain name for NTLM names: CORP */
  readonly netbiosName: string;
  readonly hostName: string;
  readonly baseDn: string;
  /** `ldap://127.0.0.1:389` (StartTLS available; plain simple bind refused unless allowPlainBind) */
  readonly url: string;
  /** `ldaps://127.0.0.1:636` */
  readonly ldapsUrl: string;
  /** Samba's DNS: `127.0.0.1:53`, answers `_ldap._tcp.corp.test` SRV. */
  readonly dnsServer: string;
  readonly allowPlainBind: boolean;
  readonly admin: SambaAccount;
  /** An ordinary enabled user, for read-only syncs. */
  readonly reader: SambaAccount;
  /** A disabled user with a known password: binding gives 49 "data 533". */
  readonly disabledUser: SambaAccount;
  /** Service accounts and their keytabs (in the private folder), the KDC, the LDAP SPN. */
  readonly kerberos: SambaKerberos;
  readonly certificates: TestCertificates;
  /** Rewrites smb.conf for the other bind policy and restarts (≈3 s; drops every connection). */
  setAllowPlainBind(allow: boolean): Promise<void>;
  /** Loads through SamDB while running (≈2.5–8 ms per entry). kill() stops the master; its workers follow. */
  load(dataset: Dataset): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const LOADER = join(HERE, 'samba_load.py');

function smbConf(dir: string, certificates: TestCertificates, allowPlainBind: boolean): string {
  const options: Array<[string, string]> = [
    ['netbios name', SAMBA_HOST.toUpperCase()],
    ['realm', SAMBA_REALM],
    ['workgroup', SAMBA_NETBIOS_DOMAIN],
    ['server role', 'active directory domain controller'],
    ['interfaces', '127.0.0.1'],
    ['bind interfaces only', 'yes'],
    ['disable netbios', 'yes'],
    // No `dns forwarder`: out-of-zone names must not leave the machine.
    ['private dir', join(dir, 'private')],
    ['lock directory', dir],
    ['state directory', join(dir, 'state')],
    ['cache directory', join(dir, 'cache')],
    ['pid directory', join(dir, 'run')],
    ['ncalrpc dir', join(dir, 'ncalrpc')],
    ['winbindd socket directory', join(dir, 'winbindd')],
    ['ntp signd socket directory', join(dir, 'ntp_signd')],
    ['binddns dir', join(dir, 'bind-dns')],
    ['log file', join(dir, 'log', 'samba.log')],
    ['logging', 'file'],
    ['max log size', '10000'],
    ['load printers', 'no'],
    ['printing', 'bsd'],
    ['printcap name', '/dev/null'],
    ['disable spoolss', 'yes'],
    ['tls enabled', 'yes'],
    ['tls keyfile', certificates.serverKey.path],
    ['tls certfile', certificates.server.path],
    ['tls cafile', certificates.ca.path],
  ];
  if (allowPlainBind) options.push(['ldap server require strong auth', 'no']);
  return [
    '# Written by scripts/directories/samba.ts (provision output replaced).',
    '[global]',
    ...options.map(([key, value]) => `\t${key} = ${value}`),
    '',
    '[sysvol]',
    `\tpath = ${join(dir, 'state', 'sysvol')}`,
    '\tread only = No',
    '',
    '[netlogon]',
    `\tpath = ${join(dir, 'state', 'sysvol', SAMBA_DOMAIN, 'scripts')}`,
    '\tread only = No',
    '',
  ].join('\n');
}

/** Answers once LDAP serves the RootDSE (the listener alone is not proof the DSDB is ready). */
async function ldapAnswers(url: string): Promise<boolean> {
  const client = new Client({ url, timeout: 2000, connectTimeout: 1000 });
  try {
    const { searchEntries } = await client.search('', {
      scope: 'base',
      attributes: ['defaultNamingContext'],
    });
    return searchEntries.length === 1;
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => {});
  }
}

/** Asked with our own DNS client: node:dns (c-ares 1.34) rejects Samba's compressed SRV targets. */
async function dnsAnswers(server: string): Promise<boolean> {
  try {
    const records = await querySrv(server, `_ldap._tcp.${SAMBA_DOMAIN}`, 500);
    return records.length > 0;
  } catch {
    return false;
  }
}

/**
 * True when `pid` is the samba master of `dir`: samba rewrites its process
 * title ("samba: root process"), so compare the executable and the pid file.
 */
function isSambaOf(pid: number, dir: string): boolean {
  try {
    return (
      isAlive(pid) &&
      readlinkSync(`/proc/${pid}/exe`).endsWith('/samba') &&
      readPidFile(join(dir, 'run', 'samba.pid')) === pid
    );
  } catch {
    return false;
  }
}

/**
 * A DC left by a crashed earlier run holds the fixed ports. Stop it only if
 * the marker proves it is ours and abandoned: the samba master of the
 * recorded folder, started by a process that no longer exists.
 * A DC whose starter still runs is in use (e.g. the shared test DC): then
 * explain who is in the way instead.
 */
async function clearStaleDc(log: (line: string) => void): Promise<void> {
  let liveOwner: number | null = null;
  if (existsSync(MARKER)) {
    try {
      const stale = JSON.parse(readFileSync(MARKER, 'utf8')) as {
        pid?: number;
        dir?: string;
        owner?: number;
      };
      const running = stale.pid !== undefined && stale.dir !== undefined && isSambaOf(stale.pid, stale.dir);
      if (running && stale.owner && isAlive(stale.owner)) {
        liveOwner = stale.owner;
      } else {
        if (running && stale.pid) {
          log(`samba: stopping a DC left by an earlier run (pid ${stale.pid})`);
          await stopPid(stale.pid, 'SIGTERM', 10_000);
          // Its workers may hold the sockets a moment longer than the master lives.
          await waitFor(
            async () => !(await canConnect(SAMBA_PORTS.ldap)),
            15_000,
            () => 'stale Samba still on 389',
          );
          if (stale.dir?.startsWith(join(tmpdir(), 'dirgate-samba-')))
            rmSync(stale.dir, { recursive: true, force: true });
        }
        rmSync(MARKER, { force: true });
      }
    } catch {
      rmSync(MARKER, { force: true });
    }
  }
  for (const port of [SAMBA_PORTS.ldap, SAMBA_PORTS.ldaps, SAMBA_PORTS.dns]) {
    if (await canConnect(port)) {
      throw new Error(
        `127.0.0.1:${port} is in use: only one Samba DC can run per machine (fixed ports)` +
          (liveOwner
            ? `; process ${liveOwner} runs one (in tests, use the shared DC from directories() instead of startSambaDc)`
            : '; stop whatever holds the port first'),
      );
    }
  }
}

/**
 * The service accounts of the Kerberos tests and the operations creating
 * them, run by the loader with the rest of the set-up (offline, one Python
 * process: no samba-tool start-up per call). svc-stale's password changes
 * after its export and svc-gone is deleted after its own, so their keytabs
 * are wrong in the two ways a real one goes stale.
 */
function kerberosSetup(
  dir: string,
  account: (name: string, password: string) => SambaAccount,
): { info: SambaKerberos; operations: SambaOperation[] } {
  const names = {
    dirgate: 'svc-dirgate',
    second: 'svc-second',
    stale: 'svc-stale',
    gone: 'svc-gone',
  } as const;
  const password = 'Svc-Dirgate-Passw0rd!';
  const keytab = (name: string) => join(dir, 'private', `${name}.keytab`);
  const principal = (name: string) => `${name}@${SAMBA_REALM}`;
  const ldapServicePrincipal = `ldap/${SAMBA_HOST}.${SAMBA_DOMAIN}`;
  const operations: SambaOperation[] = [
    { op: 'spn', account: `${SAMBA_HOST.toUpperCase()}$`, spn: ldapServicePrincipal },
  ];
  for (const name of Object.values(names)) {
    operations.push(
      { op: 'newuser', name, password },
      { op: 'exportkeytab', principal: principal(name), path: keytab(name) },
    );
  }
  operations.push(
    { op: 'setpassword', name: names.stale, password: `${password}-changed` },
    { op: 'deleteuser', name: names.gone },
  );
  return {
    operations,
    info: {
      realm: SAMBA_REALM,
      kdc: `127.0.0.1:${SAMBA_PORTS.kerberos}`,
      ldapServicePrincipal,
      keytabs: {
        dirgate: keytab(names.dirgate),
        second: keytab(names.second),
        stale: keytab(names.stale),
        gone: keytab(names.gone),
      },
      principals: {
        dirgate: principal(names.dirgate),
        second: principal(names.second),
        stale: principal(names.stale),
        gone: principal(names.gone),
      },
      service: account(names.dirgate, password),
      second: account(names.second, password),
    },
  };
}

/** Provisions, loads and starts a DC; about 5 s plus the data (≈3 ms per entry). */
export async function startSambaDc(options: SambaOptions = {}): Promise<SambaInstance> {
  const samba = requireExecutable('samba');
  const sambaTool = requireExecutable('samba-tool');
  if (!existsSync(SYSTEM_PYTHON))
    throw new Error(`${SYSTEM_PYTHON} is missing: Samba's Python bindings need it`);
  const log = options.log ?? (() => {});
  await clearStaleDc(log);
  if (options.dataset) assertSambaCompatible(options.dataset, SAMBA_BASE_DN);

  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dirgate-samba-'));
  const conf = join(dir, 'etc', 'smb.conf');
  const adminPassword = options.adminPassword ?? 'Admin-Passw0rd!';
  const readerPassword = options.readerPassword ?? 'Reader-Passw0rd!';
  let allowPlainBind = options.allowPlainBind ?? false;
  const certificates = options.certificates ?? (await makeCertificates({ dir: join(dir, 'tls') }));
  const account = (name: string, password: string): SambaAccount => ({
    dn: `CN=${name},CN=Users,${SAMBA_BASE_DN}`,
    userPrincipalName: `${name}@${SAMBA_DOMAIN}`,
    ntlmName: `${SAMBA_NETBIOS_DOMAIN}\\${name}`,
    password,
  });

  let started = Date.now();
  // Only the log folder: Samba creates the socket folders itself and refuses looser modes than its own.
  mkdirSync(join(dir, 'log'), { recursive: true });
  // An empty base config: otherwise provision copies settings from /etc/samba/smb.conf.
  const emptyConf = join(dir, 'provision-base.conf');
  writeFileSync(emptyConf, '');
  const provisionArgs = [
    'domain',
    'provision',
    '-s',
    emptyConf,
    `--targetdir=${dir}`,
    `--realm=${SAMBA_REALM}`,
    `--domain=${SAMBA_NETBIOS_DOMAIN}`,
    '--server-role=dc',
    '--dns-backend=SAMBA_INTERNAL',
    `--adminpass=${adminPassword}`,
    `--host-name=${SAMBA_HOST}`,
    '--host-ip=127.0.0.1',
    '--option=interfaces = 127.0.0.1',
    '--option=bind interfaces only = yes',
    `--option=pid directory = ${join(dir, 'run')}`,
    `--option=ncalrpc dir = ${join(dir, 'ncalrpc')}`,
    `--option=winbindd socket directory = ${join(dir, 'winbindd')}`,
    `--option=ntp signd socket directory = ${join(dir, 'ntp_signd')}`,
    '--option=disable netbios = yes',
  ];
  await run(sambaTool, provisionArgs, { env: { ...process.env, LANG: 'C.UTF-8' } });
  writeFileSync(conf, smbConf(dir, certificates, allowPlainBind));
  log(`samba: provisioned in ${Date.now() - started} ms`);

  const loadOperations = async (operations: Iterable<SambaOperation>, label: string): Promise<void> => {
    const began = Date.now();
    const path = join(dir, `load-${Date.now()}.jsonl`);
    const count = await writeOperations(path, operations);
    const result = await run(SYSTEM_PYTHON, [LOADER, conf, path, '200']).catch((error: unknown) => {
      throw new Error(
        `loading ${label} into Samba failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    rmSync(path, { force: true });
    log(`samba: loaded ${label} (${count} operations) in ${Date.now() - began} ms ${result.stdout.trim()}`);
  };

  const reader = account('dirgate-reader', readerPassword);
  const disabledUser = account('dirgate-disabled', readerPassword);
  const kerberos = kerberosSetup(dir, account);
  started = Date.now();
  const setup: SambaOperation[] = [
    { op: 'dns-a', zone: SAMBA_DOMAIN, host: SAMBA_HOST, ip: '127.0.0.1' },
    { op: 'newuser', name: 'dirgate-reader', password: readerPassword },
    { op: 'newuser', name: 'dirgate-disabled', password: readerPassword, disabled: true },
    ...kerberos.operations,
  ];
  await loadOperations(
    (function* () {
      yield* setup;
      if (options.dataset) yield* datasetOperations(options.dataset);
    })(),
    options.dataset
      ? `${options.dataset.users.length} users, ${options.dataset.groups.length} groups, ${options.dataset.contacts.length} contacts`
      : 'accounts',
  );

  const pidFile = join(dir, 'run', 'samba.pid');
  let pid: number | null = null;
  const maximumRuntime = options.maximumRuntimeSeconds ?? 7200;
  const dnsServer = `127.0.0.1:${SAMBA_PORTS.dns}`;
  const url = `ldap://127.0.0.1:${SAMBA_PORTS.ldap}`;
  const ldapsUrl = `ldaps://127.0.0.1:${SAMBA_PORTS.ldaps}`;

  const start = async (): Promise<void> => {
    if (pid !== null && isAlive(pid)) return;
    await clearStaleDc(log);
    const began = Date.now();
    rmSync(pidFile, { force: true });
    // Daemonizes; --maximum-runtime is the safety net if nobody stops it.
    await runDaemonizing(
      samba,
      ['-s', conf, `--maximum-runtime=${maximumRuntime}`],
      join(dir, 'log', 'start.log'),
    );
    await waitFor(
      async () => readPidFile(pidFile) !== null,
      10_000,
      () => `no ${pidFile}`,
      50,
    );
    pid = readPidFile(pidFile);
    writeFileSync(MARKER, JSON.stringify({ pid, smbConf: conf, dir, owner: process.pid }));
    await waitFor(
      async () => {
        if (pid === null || !isAlive(pid)) {
          throw new Error(`samba exited during start-up; see ${join(dir, 'log')}`);
        }
        return (
          (await ldapAnswers(url)) &&
          (await canConnect(SAMBA_PORTS.ldaps)) &&
          (await canConnect(SAMBA_PORTS.kerberos)) &&
          (await dnsAnswers(dnsServer))
        );
      },
      30_000,
      () => `Samba LDAP/KDC/DNS on 127.0.0.1 (logs in ${join(dir, 'log')})`,
      100,
    );
    log(`samba: started in ${Date.now() - began} ms (pid ${pid})`);
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const current = pid ?? readPidFile(pidFile);
    pid = null;
    if (current === null) return;
    await stopPid(current, signal, 15_000);
    // Workers may hold the sockets a moment longer than the master lives.
    await waitFor(
      async () => !(await canConnect(SAMBA_PORTS.ldap)),
      15_000,
      () => 'Samba port 389 still open',
    );
    rmSync(MARKER, { force: true });
  };

  const instance: SambaInstance = {
    dir,
    smbConf: conf,
    realm: SAMBA_REALM,
    domain: SAMBA_DOMAIN,
    netbiosName: SAMBA_NETBIOS_DOMAIN,
    hostName: `${SAMBA_HOST}.${SAMBA_DOMAIN}`,
    baseDn: SAMBA_BASE_DN,
    url,
    ldapsUrl,
    dnsServer,
    get allowPlainBind() {
      return allowPlainBind;
    },
    admin: account('Administrator', adminPassword),
    reader,
    disabledUser,
    kerberos: kerberos.info,
    certificates,
    get pid() {
      return pid;
    },
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    restart: async () => {
      await stopWith('SIGTERM');
      await start();
    },
    setAllowPlainBind: async (allow) => {
      allowPlainBind = allow;
      writeFileSync(conf, smbConf(dir, certificates, allowPlainBind));
      await stopWith('SIGTERM');
      await start();
    },
    load: async (dataset) => {
      assertSambaCompatible(dataset, SAMBA_BASE_DN);
      await loadOperations(datasetOperations(dataset), `${dataset.users.length} users`);
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
    await stopWith('SIGKILL').catch(() => {});
    throw error;
  }
  return instance;
}
