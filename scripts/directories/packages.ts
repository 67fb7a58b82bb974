/**
 * Makes sure the directory servers' binaries exist. CI starts from a fresh
 * Debian machine, so when something is missing and we are root we install
 * it with apt, without letting the packages start their stock daemons on
 * every interface (policy-rc.d exiting 101) and without slapd creating a
 * default instance (debconf preseed).
 */
import { existsSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, isRoot, run } from './process.js';

export type RequiredBinary =
  | 'slapd'
  | 'samba'
  | 'samba-tool'
  | 'ldapsearch'
  | 'dnsmasq'
  | 'redis-server'
  | 'openssl'
  | 'chromium'
  /** MIT Kerberos client tools (kinit, klist, kvno): checking the DC's keytabs by hand. */
  | 'kinit'
  /** libkrb5-dev: the GSSAPI headers the gateway's Kerberos addon compiles against (#17). */
  | 'krb5-config'
  /** libfaketime: a gateway process with a skewed clock (Kerberos clock-skew tests). */
  | 'faketime'
  /**
   * MIT's KDC and kadmin.local: a second realm beside Samba's (test/support/mit-realm.ts), and
   * Cyrus SASL's GSSAPI plugin, with which slapd accepts that realm's tickets.
   */
  | 'krb5kdc';

export const ALL_BINARIES: readonly RequiredBinary[] = [
  'slapd',
  'samba',
  'samba-tool',
  'ldapsearch',
  'dnsmasq',
  'redis-server',
  'openssl',
  'kinit',
  'krb5-config',
  'faketime',
  'krb5kdc',
];

/**
 * The browser the status page's end-to-end tests drive (playwright-core with
 * Debian's chromium; Playwright's own browser download does not work here).
 * Not in ALL_BINARIES: only the tests that open a browser ask for it.
 */
export const BROWSER_BINARIES: readonly RequiredBinary[] = ['chromium'];
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Samba as an AD DC needs more than the `samba` package (see LAB.md). */
const SAMBA_PACKAGES = [
  'samba',
  'samba-ad-provision',
  'samba-dsdb-modules',
  'samba-vfs-modules',
  'winbind',
  'ldb-tools',
  'ldap-utils',
  'bind9-dnsutils',
  'krb5-user',
  'attr',
];

/** Debian packages providing each binary. */
export const PACKAGES_FOR: Readonly<Record<RequiredBinary, readonly string[]>> = {
  slapd: ['slapd', 'ldap-utils'],
  samba: SAMBA_PACKAGES,
  'samba-tool': SAMBA_PACKAGES,
  ldapsearch: ['ldap-utils'],
  dnsmasq: ['dnsmasq-base'],
  'redis-server': ['redis-server'],
  openssl: ['openssl'],
  chromium: ['chromium'],
  kinit: ['krb5-user'],
  'krb5-config': ['libkrb5-dev'],
  faketime: ['faketime', 'libfaketime'],
  krb5kdc: ['krb5-kdc', 'krb5-admin-server', 'libsasl2-modules-gssapi-mit'],
};

/** The header the addon's build includes first: krb5-config alone is no proof the headers are there. */
const GSSAPI_HEADER = '/usr/include/gssapi/gssapi.h';

/**
 * libfaketime's preload library (LD_PRELOAD), in Debian's multiarch folder
 * (`/usr/lib/x86_64-linux-gnu/faketime/`), or null when not installed.
 */
export function libfaketimePath(): string | null {
  const candidates = ['/usr/lib/faketime/libfaketime.so.1'];
  try {
    for (const entry of readdirSync('/usr/lib', { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.includes('-linux-'))
        candidates.push(join('/usr/lib', entry.name, 'faketime', 'libfaketime.so.1'));
    }
  } catch {
    // no /usr/lib: nothing installed
  }
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** Cyrus SASL's GSSAPI plugin, in Debian's multiarch folder. */
function saslGssapiPluginPresent(): boolean {
  try {
    return readdirSync('/usr/lib', { withFileTypes: true }).some(
      (entry) =>
        entry.isDirectory() &&
        entry.name.includes('-linux-') &&
        existsSync(join('/usr/lib', entry.name, 'sasl2', 'libgssapiv2.so.2')),
    );
  } catch {
    return false;
  }
}

/** Whether `name` is present: the executable, plus for some the files it stands for. */
function present(name: RequiredBinary): boolean {
  if (findExecutable(name) === null) return false;
  if (name === 'krb5-config') return existsSync(GSSAPI_HEADER);
  if (name === 'faketime') return libfaketimePath() !== null;
  if (name === 'krb5kdc') return findExecutable('kadmin.local') !== null && saslGssapiPluginPresent();
  return true;
}

const POLICY_RC_D = '/usr/sbin/policy-rc.d';
/** Samba's Python bindings only load under the system interpreter. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Binaries of `list` that are missing (Samba also counts as missing when its Python bindings are). */
export async function missingBinaries(list: readonly RequiredBinary[]): Promise<RequiredBinary[]> {
  const missing: RequiredBinary[] = list.filter((name) => !present(name));
  if (list.includes('samba') && !missing.includes('samba')) {
    const probe = await run(SYSTEM_PYTHON, ['-c', 'import samba.samdb'], { allowFailure: true }).catch(
      () => null,
    );
    if (probe?.code !== 0) missing.push('samba');
  }
  return missing;
}

/** The apt packages that provide `binaries`, deduplicated in a stable order. */
export function packagesFor(binaries: readonly RequiredBinary[]): string[] {
  return [...new Set(binaries.flatMap((name) => PACKAGES_FOR[name]))];
}

export interface EnsureResult {
  /** Packages installed by this call (empty when everything was present). */
  readonly installed: readonly string[];
}

/**
 * Installs whatever of `list` is missing. Not root: throws naming the exact
 * apt packages, because sudo prompts in a test run would hang.
 */
export async function ensurePackages(
  list: readonly RequiredBinary[] = ALL_BINARIES,
  log: (line: string) => void = () => {},
): Promise<EnsureResult> {
  const missing = await missingBinaries(list);
  if (missing.length === 0) return { installed: [] };
  const packages = packagesFor(missing);
  if (!isRoot()) {
    throw new Error(
      `missing ${missing.join(', ')}; install as root: ` +
        `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    );
  }
  log(`installing ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Without this the slapd package creates and starts a default instance.
  await run('debconf-set-selections', [], { input: 'slapd slapd/no_configuration boolean true\n', env });
  const createdPolicy = !existsSync(POLICY_RC_D);
  if (createdPolicy) {
    // 101 = "action forbidden": postinst scripts then start no daemons.
    writeFileSync(POLICY_RC_D, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  }
  try {
    await run('apt-get', ['update'], { env });
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env });
  } finally {
    if (createdPolicy) unlinkSync(POLICY_RC_D);
  }
  const still = await missingBinaries(list);
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(', ')}`);
  return { installed: packages };
}
