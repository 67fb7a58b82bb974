/**
 * The GSSAPI initiator of a KERBEROS connection: dirgate's own addon
 * (native/gssapi, MIT krb5 over N-API; why not the npm `kerberos` package
 * is at the top of native/gssapi/gssapi.c), typed and loaded lazily, so
 * that a machine without MIT's headers runs every other kind of connection
 * and reports KERBEROS ones with a typed error.
 *
 * Each GssapiClient owns its keys (a MEMORY: keytab filled from the
 * connection's keytab) and its tickets (a MEMORY: cache); release() forgets
 * both. A client lives for one LDAP connection: every connection of every
 * run gets new tickets, so no run binds late in a ticket's life and has its
 * session closed by the server when the ticket ends (docs/kerberos-lab.md).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeytabEntry } from './keytab.js';

/** GSS request flags (RFC 2744), as the addon exports them. */
export interface GssFlags {
  readonly MUTUAL: number;
  readonly SEQUENCE: number;
  readonly REPLAY: number;
  readonly INTEG: number;
  readonly CONF: number;
}

type Handle = { readonly __brand: 'gssapi-client' };

interface AddonEntry {
  readonly principal: string;
  readonly kvno: number;
  readonly enctype: number;
  readonly timestamp: number;
  readonly key: Buffer;
}

interface Addon {
  readonly flags: GssFlags;
  configure(krb5ConfPath: string): void;
  createClient(options: {
    readonly principal: string;
    readonly target: string;
    readonly flags: number;
    readonly entries: readonly AddonEntry[];
  }): Handle;
  step(client: Handle, token: Buffer | null): Promise<{ token: Buffer | null; complete: boolean }>;
  wrap(client: Handle, data: Buffer, confidential: boolean): Buffer;
  unwrap(client: Handle, token: Buffer): { data: Buffer; confidential: boolean };
  wrapSizeLimit(client: Handle, confidential: boolean, maxToken: number): number;
  release(client: Handle): void;
}

/** What the addon throws for a failed GSS or krb5 call: the krb5 error code is `minor`. */
export interface GssFailure extends Error {
  readonly call: string;
  readonly major: number;
  /** The mechanism's code: a krb5 error code (krb5/krb5.h), e.g. -1765328360 preauthentication failed. */
  readonly minor: number;
  readonly minorText?: string;
}

export function isGssFailure(err: unknown): err is GssFailure {
  return err instanceof Error && typeof (err as Partial<GssFailure>).minor === 'number' && 'call' in err;
}

const ADDON_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../native/gssapi/build/Release/dirgate_gssapi.node',
);

/** Why the addon cannot be used, or null once it loaded. */
export class GssapiUnavailable extends Error {
  constructor(detail: string) {
    super(
      `Kerberos support is not built on this machine (${detail}): install MIT krb5's headers (apt-get install libkrb5-dev), then run npm run build:native (or npm ci)`,
    );
    this.name = 'GssapiUnavailable';
  }
}

let loaded: Addon | GssapiUnavailable | null = null;

function addon(): Addon {
  if (loaded === null) {
    try {
      loaded = createRequire(import.meta.url)(ADDON_PATH) as Addon;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      loaded = new GssapiUnavailable(code === 'MODULE_NOT_FOUND' ? `${ADDON_PATH} is missing` : String(err));
    }
  }
  if (loaded instanceof GssapiUnavailable) throw loaded;
  return loaded;
}

/** Whether KERBEROS connections can work in this process (the addon loads). */
export function gssapiAvailable(): boolean {
  try {
    addon();
    return true;
  } catch {
    return false;
  }
}

let configuredPath: string | null = null;

/**
 * Points MIT krb5 at the krb5.conf dirgate writes (krb5-profile.ts). MIT reads the environment
 * each time it makes a context, and the environment is the process's: this is done once, from
 * the main thread, before the first client; later calls keep the first file (one gateway per
 * process; tests with several gateways in one process share it).
 */
export function configureKerberos(krb5ConfPath: string): string {
  if (configuredPath === null) {
    addon().configure(krb5ConfPath);
    configuredPath = krb5ConfPath;
  }
  return configuredPath;
}

export interface GssapiClientOptions {
  /** The client principal, as MIT prints it (svc-dirgate@CORP.TEST). */
  readonly principal: string;
  /** Its keys: the keytab entries of that principal. */
  readonly entries: readonly KeytabEntry[];
  /** The LDAP server's host name as configured (the SPN is ldap/<host>; never a reverse lookup). */
  readonly host: string;
}

function realmOf(principal: string): string {
  const at = principal.lastIndexOf('@');
  return at < 0 ? '' : principal.slice(at + 1);
}

/** One security context with one server, from the first token to the last wrap. */
export class GssapiClient {
  readonly #addon: Addon;
  #handle: Handle | null;
  #complete = false;

  constructor(options: GssapiClientOptions) {
    this.#addon = addon();
    const { MUTUAL, SEQUENCE, INTEG, CONF } = this.#addon.flags;
    const entries = options.entries
      .filter((entry) => entry.principal.name === options.principal)
      .map((entry) => ({
        principal: entry.principal.name,
        kvno: entry.kvno,
        enctype: entry.enctype,
        timestamp: Math.floor(entry.timestamp.getTime() / 1000),
        key: entry.key.reveal(),
      }));
    try {
      this.#handle = this.#addon.createClient({
        principal: options.principal,
        // The SPN as a principal in the client's realm: ldap/<host as configured>@REALM. A host-based
        // name (ldap@host) would need MIT to map the host to a realm, which fails for an IP address.
        target: `ldap/${options.host}@${realmOf(options.principal)}`,
        // INTEG and CONF: the SASL layer needs per-message protection (Samba offers it either way; AD
        // takes the flags as the request for signing and sealing).
        flags: MUTUAL | SEQUENCE | INTEG | CONF,
        entries,
      });
    } finally {
      // MIT copied the keys into its in-memory keytab: these copies are not left for the GC.
      for (const entry of entries) entry.key.fill(0);
    }
  }

  get complete(): boolean {
    return this.#complete;
  }

  /** One gss_init_sec_context round: the server's token in (null first), ours out. The first one asks the KDC. */
  async step(token: Buffer | null): Promise<Buffer | null> {
    const result = await this.#addon.step(this.handle(), token);
    this.#complete = result.complete;
    return result.token;
  }

  wrap(data: Buffer, confidential: boolean): Buffer {
    return this.#addon.wrap(this.handle(), data, confidential);
  }

  unwrap(token: Buffer): { data: Buffer; confidential: boolean } {
    return this.#addon.unwrap(this.handle(), token);
  }

  /** The largest plaintext whose token fits in `maxToken` bytes. */
  wrapSizeLimit(confidential: boolean, maxToken: number): number {
    return this.#addon.wrapSizeLimit(this.handle(), confidential, maxToken);
  }

  /** Forgets the context, tickets and keys (a step in flight finishes first). Idempotent. */
  release(): void {
    if (this.#handle !== null) this.#addon.release(this.#handle);
    this.#handle = null;
  }

  private handle(): Handle {
    if (this.#handle === null) throw new Error('the GSSAPI client was released');
    return this.#handle;
  }
}
