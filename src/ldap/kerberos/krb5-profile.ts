/**
 * The krb5.conf of this process, kept in the data folder (`kerberos/krb5.conf`):
 * MIT krb5 finds KDCs only through its profile, and reads the file named by
 * KRB5_CONFIG whenever it makes a context (each gss_acquire_cred_from and
 * the first gss_init_sec_context). It lists every realm a KERBEROS
 * connection of this process uses, with the KDCs last found for it; it is
 * replaced whole (write, then rename), so a context never reads half a file.
 *
 * Its [libdefaults] keep MIT from anything implicit: no DNS lookups of its
 * own (kdc-discovery.ts asks DIRGATE_DNS_SERVERS), no reverse lookup or
 * canonicalisation of the server's name (the SPN is ldap/<name as
 * configured>), TCP to the KDC (AD's tickets carry a PAC that often does not
 * fit a UDP datagram), no default ticket cache or keytab (each client brings
 * its own, in memory), and kdc_timesync off: a clock the KDC disagrees with
 * is reported as CLOCK_SKEW instead of silently corrected, as AD's own
 * servers would reject it at the next step anyway.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SerialQueue } from '../../model/serial-queue.js';
import { configureKerberos } from './gssapi.js';

/** Realm names as krb5.conf may hold them (no braces, spaces, or newlines to break the file). */
const REALM = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;
const ENDPOINT = /^(\[[0-9A-Fa-f:.]+\]|[0-9.]+):\d{1,5}$/;

export function renderKrb5Conf(realms: ReadonlyMap<string, readonly string[]>): string {
  const lines = [
    '# Written by dirgate (src/ldap/kerberos/krb5-profile.ts); replaced whenever a KDC list changes.',
    '[libdefaults]',
    '  dns_lookup_kdc = false',
    '  dns_lookup_realm = false',
    '  rdns = false',
    '  dns_canonicalize_hostname = false',
    '  udp_preference_limit = 1',
    '  kdc_timesync = 0',
    '  forwardable = false',
    '  noaddresses = true',
    '  default_ccache_name = MEMORY:dirgate-default',
    '  default_keytab_name = MEMORY:dirgate-none',
    '  default_client_keytab_name = MEMORY:dirgate-none',
    '[realms]',
  ];
  for (const [realm, kdcs] of [...realms].sort(([a], [b]) => a.localeCompare(b))) {
    if (!REALM.test(realm)) throw new RangeError(`realm ${JSON.stringify(realm)} cannot go in krb5.conf`);
    lines.push(`  ${realm} = {`);
    for (const kdc of kdcs) {
      if (!ENDPOINT.test(kdc)) throw new RangeError(`KDC ${JSON.stringify(kdc)} is not address:port`);
      lines.push(`    kdc = ${kdc}`);
    }
    lines.push('  }');
  }
  return `${lines.join('\n')}\n`;
}

export class Krb5Profile {
  readonly file: string;
  private readonly realms = new Map<string, readonly string[]>();
  private written: string | null = null;
  private readonly queue = new SerialQueue();

  constructor(folder: string) {
    this.file = path.join(folder, 'krb5.conf');
  }

  /** Makes the file name this realm's KDCs (in this order) before the caller asks MIT for tickets. */
  use(realm: string, kdcs: readonly string[]): Promise<void> {
    return this.queue.run(async () => {
      this.realms.set(realm, [...kdcs]);
      const text = renderKrb5Conf(this.realms);
      if (text === this.written) return;
      await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const temporary = `${this.file}.${process.pid}.tmp`;
      await writeFile(temporary, text, { mode: 0o600 });
      await rename(temporary, this.file);
      this.written = text;
    });
  }
}

let shared: Krb5Profile | null = null;

/**
 * The process's profile. MIT's environment is process-wide, so the first data folder that asks
 * holds the file for the whole process (one gateway per process; tests that run several gateways
 * in one process share the first one's).
 */
export function krb5Profile(folder: string): Krb5Profile {
  if (shared === null) {
    const profile = new Krb5Profile(folder);
    configureKerberos(profile.file);
    shared = profile;
  }
  return shared;
}
