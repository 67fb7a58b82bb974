/**
 * A second Kerberos realm beside the Samba DC's: MIT's krb5kdc for
 * OTHER.TEST on a free loopback port, with a client principal per name given
 * and the service principal `ldap/<serviceHost>`, each exported to its own
 * keytab (kadmin.local). Everything lives in one private folder; nothing in
 * /etc. With a slapd that accepts the service keytab (scripts/directories/
 * slapd.ts, `kerberos`), a gateway holds connections of two realms, two
 * implementations of the server side (Samba's Heimdal, Cyrus SASL), and
 * different layers (Cyrus allows none over TLS, which Samba refuses).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  canConnect,
  freePort,
  requireExecutable,
  run,
  stopPid,
  waitFor,
} from '../../scripts/directories/process.js';

export interface MitRealm extends AsyncDisposable {
  readonly realm: string;
  /** `127.0.0.1:PORT` (TCP and UDP). */
  readonly kdc: string;
  /** A krb5.conf naming the realm and its KDC (for slapd, and for kinit as an oracle). */
  readonly krb5Config: string;
  /** Each client principal's keytab file, by account name. */
  readonly keytabs: Readonly<Record<string, string>>;
  /** The keytab of ldap/<serviceHost>@REALM, for the server. */
  readonly serviceKeytab: string;
  /** The KDC's log so far (one line per AS_REQ and TGS_REQ it answered). */
  kdcLog(): string;
  stop(): Promise<void>;
}

export async function startMitRealm(options: {
  readonly realm: string;
  readonly serviceHost: string;
  readonly clients: readonly string[];
}): Promise<MitRealm> {
  const { realm, serviceHost, clients } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'dirgate-mit-realm-'));
  const port = await freePort();
  const kdc = `127.0.0.1:${port}`;
  const kdcConf = path.join(dir, 'kdc.conf');
  writeFileSync(
    kdcConf,
    [
      '[kdcdefaults]',
      `  kdc_listen = ${kdc}`,
      `  kdc_tcp_listen = ${kdc}`,
      '[realms]',
      `  ${realm} = {`,
      `    database_name = ${path.join(dir, 'principal')}`,
      `    key_stash_file = ${path.join(dir, 'stash')}`,
      `    acl_file = ${path.join(dir, 'kadm5.acl')}`,
      '    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal',
      '  }',
      '[logging]',
      `  kdc = FILE:${path.join(dir, 'kdc.log')}`,
      '',
    ].join('\n'),
  );
  const krb5Config = path.join(dir, 'krb5.conf');
  writeFileSync(
    krb5Config,
    [
      '[libdefaults]',
      `  default_realm = ${realm}`,
      '  dns_lookup_kdc = false',
      '  dns_lookup_realm = false',
      '  rdns = false',
      '  dns_canonicalize_hostname = false',
      '  udp_preference_limit = 1',
      '[realms]',
      `  ${realm} = {`,
      `    kdc = ${kdc}`,
      '  }',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, KRB5_KDC_PROFILE: kdcConf, KRB5_CONFIG: krb5Config, LANG: 'C.UTF-8' };
  await run(requireExecutable('kdb5_util'), ['create', '-s', '-r', realm, '-P', 'dirgate-test-master'], {
    env,
  });
  const kadmin = requireExecutable('kadmin.local');
  const keytabs: Record<string, string> = {};
  const serviceKeytab = path.join(dir, 'ldap-service.keytab');
  const queries = [
    `addprinc -randkey ldap/${serviceHost}@${realm}`,
    `ktadd -k ${serviceKeytab} ldap/${serviceHost}@${realm}`,
  ];
  for (const client of clients) {
    keytabs[client] = path.join(dir, `${client}.keytab`);
    queries.push(`addprinc -randkey ${client}@${realm}`, `ktadd -k ${keytabs[client]} ${client}@${realm}`);
  }
  for (const query of queries) await run(kadmin, ['-r', realm, '-q', query], { env });

  const logPath = path.join(dir, 'krb5kdc.out');
  const out = openSync(logPath, 'a');
  // -n: in the foreground, as our child, so that stop() and a crashed test end it.
  const child: ChildProcess = spawn(requireExecutable('krb5kdc'), ['-n', '-r', realm], {
    env,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  child.unref();
  await waitFor(
    () => canConnect(port),
    10_000,
    () => `krb5kdc for ${realm} on ${kdc}: ${readFileSync(logPath, 'utf8').slice(-2000)}`,
  );
  const stop = async (): Promise<void> => {
    if (child.pid) await stopPid(child.pid, 'SIGTERM', 5_000);
    rmSync(dir, { recursive: true, force: true });
  };
  const kdcLog = (): string => {
    try {
      return readFileSync(path.join(dir, 'kdc.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return { realm, kdc, krb5Config, keytabs, serviceKeytab, kdcLog, stop, [Symbol.asyncDispose]: stop };
}
