/**
 * The Kerberos figure of `npm run bench` (#17): a full sync of one Samba AD
 * DC's domain over a sealed GSSAPI session (plain ldap://, SASL
 * confidentiality, the keytab of svc-dirgate) beside a full sync of the same
 * domain as the same account with a password over StartTLS. Each in its own
 * gateway process (one gateway takes one connection per search base), the
 * two alternating for `turns` turns; the runs' own times (finishedAt −
 * startedAt) are compared. The target is sealed ≤ 1.3× StartTLS.
 *
 * Samba binds fixed ports, one DC per machine: this part holds
 * /tmp/dirgate-samba.lock (as the tests do) while its DC runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type GatewayProcess, spawnGateway } from '../../test/support/gateway-process.js';
import { makeCertificates } from '../directories/certificates.js';
import { generateDirectory } from '../directories/generator.js';
import { ensurePackages } from '../directories/packages.js';
import { SAMBA_PORTS, startSambaDc } from '../directories/samba.js';
import { post } from './incremental.js';

const LOCK = '/tmp/dirgate-samba.lock';
const NEVER = '0 0 1 1 *';

interface Run {
  readonly status: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly counts: { users: number; groups: number; contacts: number } | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a full run and waits for its end; the run as the API reports it. */
async function fullRun(gw: GatewayProcess, id: string): Promise<Run & { ms: number }> {
  const { startSync } = await post<{ startSync: { id: string }[] }>(
    gw,
    'mutation($id: ID!) { startSync(connectionId: $id, mode: FULL) { id } }',
    { id },
  );
  const deadline = Date.now() + 600_000;
  for (;;) {
    const { syncRuns } = await post<{ syncRuns: (Run & { id: string })[] }>(
      gw,
      'query($c: ID!) { syncRuns(connectionId: $c, last: 3) { id status startedAt finishedAt error counts { users groups contacts } } }',
      { c: id },
    );
    const run = syncRuns.find((r) => r.id === startSync[0]?.id);
    if (run?.finishedAt) {
      if (run.status !== 'SUCCEEDED') throw new Error(`run ${run.status}: ${run.error}`);
      return { ...run, ms: Date.parse(run.finishedAt) - Date.parse(run.startedAt) };
    }
    if (Date.now() > deadline) throw new Error('no end of the run in 600 s');
    await sleep(50);
  }
}

/** Holds the machine's Samba lock until release() (flock in a child that sleeps). */
async function holdSambaLock(): Promise<{ release(): void }> {
  const child: ChildProcess = spawn('flock', [LOCK, 'sh', '-c', 'echo locked; exec sleep 100000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock ${LOCK} exited ${code}`)));
  });
  return { release: () => child.kill('SIGTERM') };
}

export interface KerberosBenchOptions {
  readonly users: number;
  readonly turns: number;
}

export async function kerberosBesideStartTls(options: KerberosBenchOptions): Promise<string[]> {
  await ensurePackages(['samba', 'samba-tool', 'krb5-config']);
  const lines: string[] = [];
  const lock = await holdSambaLock();
  const dirs: string[] = [];
  const gateways: GatewayProcess[] = [];
  try {
    const users = options.users;
    const dataset = generateDirectory({
      users,
      groups: Math.round(users / 10),
      contacts: Math.round(users / 5),
      seed: 'bench-kerberos',
      baseDn: 'DC=corp,DC=test',
      largeGroupSize: Math.min(1600, users),
    });
    const certificates = await makeCertificates();
    let t = performance.now();
    const samba = await startSambaDc({ certificates, dataset, maximumRuntimeSeconds: 3600 });
    lines.push(
      `Samba DC with ${users.toLocaleString('en-US')} users, ${dataset.groups.length} groups, ${dataset.contacts.length} contacts: started in ${Math.round(performance.now() - t)} ms`,
    );
    try {
      const k = samba.kerberos;
      const server = `ldap://${samba.hostName}:${SAMBA_PORTS.ldap}`;
      const common = {
        domain: samba.domain,
        searchBase: samba.baseDn,
        servers: [server],
        includeContacts: true,
        schedule: NEVER,
        incrementalSchedule: '',
      };
      const inputs = {
        sealed: {
          ...common,
          name: 'Kerberos, sealed',
          tls: 'NONE',
          auth: 'KERBEROS',
          keytab: readFileSync(k.keytabs.dirgate).toString('base64'),
          kdcs: [k.kdc],
        },
        startTls: {
          ...common,
          name: 'StartTLS, password',
          tls: 'STARTTLS',
          caCertificate: certificates.ca.pem,
          bindDn: k.service.userPrincipalName,
          bindPassword: k.service.password,
        },
      } as const;
      const ids: Record<keyof typeof inputs, { gw: GatewayProcess; id: string }> = {} as never;
      for (const which of ['sealed', 'startTls'] as const) {
        const dir = await mkdtemp(path.join(tmpdir(), 'dirgate-bench-krb-'));
        dirs.push(dir);
        const gw = await spawnGateway(dir, {
          DIRGATE_DNS_SERVERS: samba.dnsServer,
          DIRGATE_LOG_LEVEL: 'warn',
        });
        gateways.push(gw);
        const { addConnection } = await post<{ addConnection: { id: string } }>(
          gw,
          'mutation($input: AddConnectionInput!) { addConnection(input: $input) { id } }',
          { input: inputs[which] },
        );
        ids[which] = { gw, id: addConnection.id };
        // A first run each, not counted: the DC's caches warm, and each gateway has a snapshot.
        await fullRun(gw, addConnection.id);
      }
      const times = { sealed: [] as number[], startTls: [] as number[] };
      let counts = '';
      for (let turn = 0; turn < options.turns; turn++) {
        const order = turn % 2 === 0 ? (['sealed', 'startTls'] as const) : (['startTls', 'sealed'] as const);
        for (const which of order) {
          t = performance.now();
          const run = await fullRun(ids[which].gw, ids[which].id);
          times[which].push(run.ms);
          counts = `${run.counts?.users} users, ${run.counts?.groups} groups, ${run.counts?.contacts} contacts`;
        }
      }
      const best = (xs: number[]) => Math.min(...xs);
      const ratio = best(times.sealed) / best(times.startTls);
      lines.push(`each run read ${counts}`);
      lines.push(
        `full sync, Kerberos sealed (ldap://, SASL confidentiality) ${times.sealed.map((m) => `${m}`).join(' / ')} ms; StartTLS with a password ${times.startTls.map((m) => `${m}`).join(' / ')} ms`,
      );
      const turns = times.sealed.map((s, i) => (s / (times.startTls[i] ?? s)).toFixed(2));
      lines.push(
        `sealed vs StartTLS: ${ratio.toFixed(2)}× (best of ${options.turns} each, in turns; single turns ${turns.join(', ')}×; target ≤ 1.3×)`,
      );
    } finally {
      for (const gw of gateways) {
        gw.child.kill('SIGTERM');
        await gw.exited;
      }
      await samba.dispose();
    }
  } finally {
    lock.release();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
  return lines;
}
