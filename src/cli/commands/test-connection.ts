/**
 * `dirgate test-connection`: the whole path to a directory, for real and
 * step by step — DNS (SRV discovery when no server is named), TCP, TLS,
 * bind, a counting search — printing each step and naming the one that
 * failed. Uses the same code as the testConnection mutation
 * (src/ldap/test-connection.ts); stores nothing.
 */
import { readFile } from 'node:fs/promises';
import { type Config, commandSettings } from '../../config/environment.js';
import { loadSecrets } from '../../config/secrets.js';
import type { LdapSettings, TlsMode } from '../../ldap/index.js';
import type { AuthMethod, ConnectionRecord, DirectoryAccess } from '../../model/connection.js';
import { bindEndpoint, keytabEndpoint, SealedSecretError, SecretBox } from '../../store/secret-box.js';
import { validateKdcs, validateKeytab } from '../../sync/connection-input.js';
import { ldapSettingsOf } from '../../sync/ldap-settings.js';
import { type Command, type ParsedValues, stringOption, stringsOption, UsageError } from '../command.js';
import { cliConfig, limitsOf, openStores } from '../context.js';
import { json, line, paint, print } from '../output.js';
import { readSecret, readSecretBytes } from '../secret-input.js';
import { AUTH_METHODS, domainOfBase } from './connection-flags.js';

const TLS_MODES: Readonly<Record<string, TlsMode>> = { none: 'NONE', starttls: 'STARTTLS', ldaps: 'LDAPS' };

/**
 * A stored secret, opened for the record's own settings (its binding), before anything connects:
 * a record edited outside the API is named, and nothing is sent.
 */
function openStoredSecret<T>(id: string, what: string, fix: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    if (err instanceof SealedSecretError && err.kind === 'BINDING') {
      throw new Error(
        `the stored ${what} of connection ${id} does not match its settings (edited outside the API?); ${fix}`,
      );
    }
    throw new Error(
      `the stored ${what} of connection ${id} cannot be decrypted with this secret key (DIRGATE_SECRET_KEY or the data folder's secret-key)`,
    );
  }
}

function openStoredPassword(
  box: SecretBox,
  record: ConnectionRecord & { readonly bindPasswordSealed: string },
): string {
  return openStoredSecret(record.id, 'bind password', 'set the password again', () =>
    box.open(record.bindPasswordSealed, record),
  );
}

function openStoredKeytab(
  box: SecretBox,
  record: ConnectionRecord & { readonly keytabSealed: string },
): Buffer {
  return openStoredSecret(record.id, 'keytab', 'upload the keytab again', () =>
    box.openKeytab(record.keytabSealed, record),
  );
}

/** A stored connection's settings; its secrets are opened only when asked (openPassword, openKeytab). */
type StoredSettings = DirectoryAccess & {
  readonly hasPassword: boolean;
  readonly openPassword: () => string | null;
  readonly hasKeytab: boolean;
  readonly openKeytab: () => Buffer | null;
};

async function storedSettings(config: Config, id: string): Promise<StoredSettings> {
  const stores = await openStores(config);
  try {
    const record = await stores.settings.getConnection(id);
    if (!record) throw new UsageError(`no connection ${id} in ${config.dataDir} (see: dirgate connections)`);
    const secrets = await loadSecrets(config);
    return {
      domain: record.domain,
      searchBase: record.searchBase,
      servers: record.servers,
      tls: record.tls,
      caCertificate: record.caCertificate,
      tlsVerify: record.tlsVerify,
      allowPlaintextBind: record.allowPlaintextBind,
      auth: record.auth,
      bindDn: record.bindDn,
      keytabPrincipal: record.keytabPrincipal,
      kdcs: record.kdcs,
      hasKeytab: record.keytabSealed !== null,
      openKeytab: () =>
        record.keytabSealed
          ? openStoredKeytab(new SecretBox(secrets.secretKey), {
              ...record,
              keytabSealed: record.keytabSealed,
            })
          : null,
      hasPassword: record.bindPasswordSealed !== null,
      openPassword: () =>
        record.bindPasswordSealed
          ? openStoredPassword(new SecretBox(secrets.secretKey), {
              ...record,
              bindPasswordSealed: record.bindPasswordSealed,
            })
          : null,
      includeContacts: record.includeContacts,
      overrides: record.overrides,
    };
  } finally {
    await stores.close();
  }
}

/** The settings to test: a stored connection's, with any flag given overriding it. */
async function settingsFrom(values: ParsedValues, config: Config): Promise<LdapSettings> {
  const id = stringOption(values, 'connection');
  const urls = (Array.isArray(values.url) ? values.url : []).filter(
    (u): u is string => typeof u === 'string',
  );
  const base = stringOption(values, 'base');
  const tlsFlag = stringOption(values, 'tls');
  if (tlsFlag !== undefined && !TLS_MODES[tlsFlag.toLowerCase()]) {
    throw new UsageError(`--tls must be none, starttls or ldaps (got ${tlsFlag})`);
  }
  const caFile = stringOption(values, 'ca');
  const passwordFile = stringOption(values, 'password-file');
  const password =
    passwordFile !== undefined
      ? await readSecret('--password-file', passwordFile)
      : commandSettings().bindPassword;
  const stored = id ? await storedSettings(config, id) : null;
  const searchBase = base ?? stored?.searchBase;
  if (!searchBase) throw new UsageError('--base (the search base DN) is required without --connection');
  const domain = stringOption(values, 'domain') ?? stored?.domain ?? domainOfBase(searchBase);
  const servers = urls.length > 0 ? urls : (stored?.servers ?? []);
  if (servers.length === 0 && !domain) {
    throw new UsageError('give --url, or --domain for DNS SRV discovery');
  }
  const inferredTls: TlsMode =
    servers.every((u) => u.toLowerCase().startsWith('ldaps://')) && servers.length > 0 ? 'LDAPS' : 'NONE';
  const keytabFile = stringOption(values, 'keytab');
  const bindDnFlag = stringOption(values, 'bind-dn');
  const authFlag = stringOption(values, 'auth');
  if (authFlag !== undefined && !AUTH_METHODS[authFlag.toLowerCase()]) {
    throw new UsageError(`--auth must be anonymous, simple or kerberos (got ${authFlag})`);
  }
  const bindDn = bindDnFlag ?? stored?.bindDn ?? null;
  const auth = (
    authFlag !== undefined
      ? AUTH_METHODS[authFlag.toLowerCase()]
      : keytabFile !== undefined
        ? 'KERBEROS'
        : bindDnFlag !== undefined
          ? bindDnFlag.trim()
            ? 'SIMPLE'
            : 'ANONYMOUS'
          : (stored?.auth ?? (bindDn ? 'SIMPLE' : 'ANONYMOUS'))
  ) as AuthMethod;
  const kerberos = auth === 'KERBEROS';
  // Checked as the gateway checks an upload, so that an unusable keytab is named before connecting.
  const keytab = keytabFile !== undefined ? await checkedKeytab(keytabFile) : null;
  const kdcFlags = stringsOption(values, 'kdc');
  const settings: DirectoryAccess = {
    domain,
    searchBase,
    servers,
    tls: tlsFlag ? (TLS_MODES[tlsFlag.toLowerCase()] ?? 'NONE') : (stored?.tls ?? inferredTls),
    caCertificate: caFile ? await readFile(caFile, 'utf8') : (stored?.caCertificate ?? null),
    tlsVerify: values['no-verify'] === true ? false : (stored?.tlsVerify ?? true),
    allowPlaintextBind: values['allow-plaintext-bind'] === true || (stored?.allowPlaintextBind ?? false),
    auth,
    bindDn: kerberos ? null : bindDn,
    keytabPrincipal: kerberos ? (keytab?.summary.principal ?? stored?.keytabPrincipal ?? null) : null,
    kdcs: kerberos ? (kdcFlags.length > 0 ? kdcsOf(kdcFlags) : (stored?.kdcs ?? [])) : [],
    includeContacts: values.contacts === true || (stored?.includeContacts ?? false),
    overrides: stored?.overrides ?? {},
  };
  if (kerberos)
    return ldapSettingsOf(settings, { bindPassword: null, keytab: keytabFor(settings, stored, keytab) });
  if (password !== null && password !== undefined)
    return ldapSettingsOf(settings, { bindPassword: password, keytab: null });
  if (!stored?.hasPassword || stored.auth === 'KERBEROS')
    return ldapSettingsOf(settings, { bindPassword: null, keytab: null });
  // The stored password goes only where and how the connection binds (as updateConnection rules).
  if (bindEndpoint(settings) !== bindEndpoint(stored)) {
    throw new UsageError(
      'the flags change where or how the connection binds, so its stored password is not used: ' +
        'give the password (--password-file, or DIRGATE_BIND_PASSWORD)',
    );
  }
  return ldapSettingsOf(settings, { bindPassword: stored.openPassword(), keytab: null });
}

async function checkedKeytab(file: string): Promise<ReturnType<typeof validateKeytab>> {
  const bytes = await readSecretBytes('--keytab', file);
  try {
    return validateKeytab(bytes.toString('base64'));
  } catch (err) {
    throw new UsageError(`--keytab ${file}: ${(err as Error).message.replace(/^keytab: /, '')}`);
  }
}

function kdcsOf(flags: readonly string[]): string[] {
  try {
    return validateKdcs(flags);
  } catch (err) {
    throw new UsageError(`--kdc: ${(err as Error).message}`);
  }
}

/** The keytab to test with: the one given, else the stored one while the endpoint is the stored one. */
function keytabFor(
  settings: DirectoryAccess,
  stored: StoredSettings | null,
  given: { readonly bytes: Buffer } | null,
): Buffer {
  if (given) return given.bytes;
  if (!stored?.hasKeytab || stored.auth !== 'KERBEROS') {
    throw new UsageError('a Kerberos test needs a keytab: give --keytab FILE');
  }
  if (keytabEndpoint(settings) !== keytabEndpoint(stored)) {
    throw new UsageError(
      'the flags change where or how the connection authenticates, so its stored keytab is not used: give --keytab FILE',
    );
  }
  const opened = stored.openKeytab();
  if (!opened) throw new UsageError('a Kerberos test needs a keytab: give --keytab FILE');
  return opened;
}

export const testConnectionCommand: Command = {
  name: 'test-connection',
  summary: 'Tests the whole path to a directory: DNS, TCP, TLS, bind, search.',
  description: `
Either a stored connection (--connection ID, see \`dirgate connections\`) or
settings given as flags; flags given with --connection override the stored
values (a flag that changes where or how it binds, such as --url or
--bind-dn, needs the password given again). Without --url the domain controllers are found through DNS SRV
records of --domain (DIRGATE_DNS_SERVERS chooses the DNS servers).
The bind password is read from --password-file (\`-\` for standard input) or
DIRGATE_BIND_PASSWORD; it is never taken on the command line, where other
users could see it. --keytab FILE tests a Kerberos (SASL GSSAPI) bind with
that keytab (--kdc names the KDCs); a stored Kerberos connection uses its
stored keytab while the flags keep where it authenticates. Exit status: 0 when every step passed, 1 when one failed.

Example:
  dirgate test-connection --url ldaps://dc1.corp.test --base dc=corp,dc=test \\
    --bind-dn 'svc-mail@corp.test' --password-file /run/secrets/bind --ca corp-ca.pem`,
  options: {
    connection: { type: 'string', short: 'c', value: 'ID', help: 'a stored connection' },
    url: {
      type: 'string',
      multiple: true,
      value: 'URL',
      help: 'ldap:// or ldaps:// server (repeat for several)',
    },
    domain: { type: 'string', value: 'DOMAIN', help: 'DNS domain for SRV discovery (default: from --base)' },
    base: { type: 'string', value: 'DN', help: 'search base' },
    auth: {
      type: 'string',
      value: 'METHOD',
      help: 'anonymous, simple or kerberos (default: kerberos with --keytab, simple with --bind-dn)',
    },
    'bind-dn': { type: 'string', value: 'DN', help: 'bind DN or user principal name (default: anonymous)' },
    keytab: { type: 'string', value: 'FILE', help: 'keytab file (kerberos; - for stdin)' },
    kdc: {
      type: 'string',
      multiple: true,
      value: 'HOST[:PORT]',
      help: 'a Kerberos KDC (repeat for several; default: DNS SRV records of the realm)',
    },
    'password-file': { type: 'string', value: 'FILE', help: 'file holding the bind password (- for stdin)' },
    tls: {
      type: 'string',
      value: 'MODE',
      help: 'none, starttls or ldaps (default: ldaps for ldaps:// URLs)',
    },
    ca: { type: 'string', value: 'FILE', help: 'PEM CA bundle: the only CAs trusted (not the system CAs)' },
    'no-verify': { type: 'boolean', help: "do not verify the server's certificate" },
    'allow-plaintext-bind': {
      type: 'boolean',
      help: 'send the bind password without TLS (refused by default)',
    },
    contacts: { type: 'boolean', help: 'count contacts too' },
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  async run(values) {
    const config = cliConfig(values);
    const settings = await settingsFrom(values, config);
    const out = process.stdout;
    const c = paint(out);
    if (!values.json) {
      const target = settings.servers.length
        ? settings.servers.join(', ')
        : `SRV records of ${settings.domain}`;
      print(
        out,
        line`Testing ${target}`,
        line`  base ${settings.searchBase} · tls ${settings.tls.toLowerCase()}${settings.tlsVerify ? '' : ' (not verified)'} · bind ${settings.auth === 'KERBEROS' ? `kerberos as ${settings.keytabPrincipal ?? '?'}` : (settings.bindDn ?? 'anonymous')}`,
      );
    }
    // The LDAP layer, loaded only by this command: the others start without it.
    const { testConnection } = await import('../../ldap/index.js');
    const report = await testConnection(settings, limitsOf(config));
    if (values.json) {
      out.write(json(report));
      return report.ok ? 0 : 1;
    }
    const width = Math.max(...report.steps.map((s) => s.step.length), 6);
    // A step's detail and the error are the server's own text (cleaned by `line`).
    for (const step of report.steps) {
      const mark = step.ok ? c.green('ok  ') : c.red('FAIL');
      print(
        out,
        line`  ${mark} ${step.step.padEnd(width)} ${String(step.ms).padStart(5)} ms  ${step.detail ?? ''}`,
      );
    }
    if (report.ok) {
      const counts = [`${report.users ?? 0} users`, `${report.groups ?? 0} groups`];
      if (settings.includeContacts) counts.push(`${report.contacts ?? 0} contacts`);
      print(
        out,
        line`${c.green('OK')}: ${report.flavour === 'ACTIVE_DIRECTORY' ? 'Active Directory' : 'LDAP'} at ${report.server}; ${counts.join(', ')}`,
      );
      return 0;
    }
    const failedStep = [...report.steps].reverse().find((s) => !s.ok)?.step ?? 'DNS';
    print(out, line`${c.red(`FAILED at ${failedStep}`)}: ${report.error ?? 'unknown error'}`);
    return 1;
  },
};
