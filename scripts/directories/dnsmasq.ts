/**
 * A private dnsmasq serving SRV and A records on a free loopback port, for
 * discovery and failover tests without Samba (targets on 127.0.0.2 or
 * 127.0.0.3 with nothing listening make dead domain controllers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queryA } from './dns-query.js';
import { freePort, requireExecutable, stopPid, waitFor } from './process.js';

export interface SrvRecord {
  /** e.g. `_ldap._tcp.corp.test` */
  readonly name: string;
  /** e.g. `dc1.corp.test` */
  readonly target: string;
  readonly port: number;
  /** Lower is tried first (RFC 2782). Default 0. */
  readonly priority?: number;
  /** Share within one priority. Default 100. */
  readonly weight?: number;
}

export interface ARecord {
  readonly name: string;
  readonly address: string;
}

export interface DnsmasqOptions {
  readonly srv?: readonly SrvRecord[];
  readonly a?: readonly ARecord[];
  /** Zones answered locally (never forwarded); default: the parent domains of every record name. */
  readonly zones?: readonly string[];
}

export interface DnsmasqInstance extends AsyncDisposable {
  /** `127.0.0.1:PORT`, for `Resolver.setServers([...])`. */
  readonly server: string;
  readonly port: number;
  stop(): Promise<void>;
}

function parentZone(name: string): string {
  const labels = name.split('.').filter((label) => !label.startsWith('_'));
  return labels.slice(-2).join('.');
}

/** Starts dnsmasq (≈0.03 s). Out-of-zone names get REFUSED, unknown in-zone names NXDOMAIN. */
export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<DnsmasqInstance> {
  const dnsmasq = requireExecutable('dnsmasq');
  const srv = options.srv ?? [];
  const a = options.a ?? [];
  const zones = options.zones ?? [
    ...new Set([...srv.map((r) => parentZone(r.name)), ...a.map((r) => parentZone(r.name))]),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'dirgate-dnsmasq-'));
  const conf = join(dir, 'dnsmasq.conf');
  const logPath = join(dir, 'dnsmasq.log');
  let child: ChildProcess | null = null;
  let port = 0;
  // A free port can be taken between our probe and dnsmasq's bind: retry a few times.
  for (let attempt = 0; attempt < 5 && child === null; attempt++) {
    port = await freePort({ udp: true });
    writeFileSync(
      conf,
      [
        `port=${port}`,
        'listen-address=127.0.0.1',
        'bind-interfaces',
        'no-resolv',
        'no-hosts',
        'no-poll',
        'user=root',
        ...zones.map((zone) => `local=/${zone}/`),
        ...srv.map((r) => `srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 100}`),
        ...a.map((r) => `host-record=${r.name},${r.address}`),
        '',
      ].join('\n'),
    );
    const out = openSync(logPath, 'w');
    const proc = spawn(dnsmasq, ['--keep-in-foreground', `--conf-file=${conf}`, '--pid-file='], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    proc.unref();
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const probeName = a[0]?.name ?? `probe.${zones[0] ?? 'corp.test'}`;
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(readFileSync(logPath, 'utf8'));
          // A query sent before dnsmasq binds is simply lost (UDP): ask again.
          return queryA(`127.0.0.1:${port}`, probeName, 200).then(
            () => true,
            () => false,
          );
        },
        5000,
        () => `dnsmasq on 127.0.0.1:${port}: ${readFileSync(logPath, 'utf8')}`,
        20,
      ).catch(async (error: unknown) => {
        if (proc.pid) await stopPid(proc.pid, 'SIGKILL');
        throw error;
      });
      child = proc;
    } catch (error) {
      if (attempt === 4) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const pid = child?.pid;
  const stop = async (): Promise<void> => {
    if (pid) await stopPid(pid, 'SIGTERM', 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  return { server: `127.0.0.1:${port}`, port, stop, [Symbol.asyncDispose]: stop };
}
