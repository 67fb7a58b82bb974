/**
 * One bound LDAP connection to one server URL.
 *
 * The TCP connect and the TLS handshake are done here, on sockets we own,
 * and the established socket is handed to ldapts. That gives each step its
 * own bound and its own report (testConnection shows TCP, TLS and BIND
 * apart), and lets us kill the socket when any bound fires. ldapts gets no
 * way to reconnect: after any failure its next operation would silently run
 * on a new, UNBOUND connection (LAB.md), so a dead connection stays dead and
 * the caller opens a new one.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Client, type Control, type Filter, type SearchResult } from 'ldapts';
import { bounded } from './deadline.js';
import { BindError, ConnectError, type LdapError, TlsError, toLdapError } from './errors.js';
import { encodeStartTls, exchange } from './kerberos/bind-wire.js';
import { bindGssapi, requestTicket } from './kerberos/gssapi-bind.js';
import { EntryBudget, tooManyValues } from './limits.js';
import { installReadBounds, type ReadBounds } from './read-bounds.js';
import { resolveHost } from './resolve-host.js';
import { installCompactSearchEntries } from './search-entry-parser.js';
import { tlsOptionsFor } from './tls-options.js';
import type { ConnectionStep, LdapLimits, LdapSettings, StepReport, TlsMode } from './types.js';

export interface ServerEndpoint {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** How this URL is reached: the URL's scheme and the connection's TLS mode together. */
  readonly transport: TlsMode;
}

/**
 * Resolves how to reach a URL. TLS is never downgraded: `ldaps://` always
 * means LDAPS; `ldap://` means plain or StartTLS per the mode, and with mode
 * LDAPS becomes `ldaps://` on the same host (port 636 unless one is given).
 */
export function resolveEndpoint(url: string, mode: TlsMode): ServerEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectError('CONNECTION_FAILED', `invalid server URL: ${url}`, 'TCP', url);
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'ldap' && scheme !== 'ldaps') {
    throw new ConnectError('CONNECTION_FAILED', `server URL must be ldap:// or ldaps://: ${url}`, 'TCP', url);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ConnectError('CONNECTION_FAILED', `server URL has no host: ${url}`, 'TCP', url);
  const transport: TlsMode = scheme === 'ldaps' || mode === 'LDAPS' ? 'LDAPS' : mode;
  const port = parsed.port ? Number(parsed.port) : transport === 'LDAPS' ? 636 : 389;
  const shownHost = net.isIP(host) === 6 ? `[${host}]` : host;
  return { url: `${transport === 'LDAPS' ? 'ldaps' : 'ldap'}://${shownHost}:${port}`, host, port, transport };
}

export interface OpenOptions {
  readonly signal?: AbortSignal | undefined;
  /** Called after each step (TCP, TLS, BIND) with its outcome; testConnection builds its report from these. */
  readonly onStep?: ((report: StepReport) => void) | undefined;
  /** The entries the run may still receive, shared by its connections (default: this connection's own). */
  readonly budget?: EntryBudget | undefined;
}

export interface PageOptions {
  readonly filter: string | Filter;
  readonly scope: 'base' | 'one' | 'sub';
  readonly attributes: readonly string[];
  readonly explicitBufferAttributes?: readonly string[];
  readonly pageSize: number;
}

export interface BaseSearchOptions {
  readonly filter?: string | Filter;
  readonly scope: 'base' | 'one' | 'sub';
  readonly attributes: readonly string[];
  readonly explicitBufferAttributes?: readonly string[];
  readonly sizeLimit?: number;
  /**
   * Request controls (DirSync, Show Deleted). A response control ldapts does not know is parsed into
   * the request control of the same OID (ldapts' ControlParser), which is how its value comes back.
   */
  readonly controls?: readonly Control[];
}

/** A bound connection. Every operation is bounded; after any transport failure it is dead for good. */
export class LdapConnection {
  readonly url: string;
  private readonly client: Client;
  private readonly sockets: net.Socket[];
  private readonly limits: LdapLimits;
  private readonly secrets: readonly (string | null)[];
  private readonly bounds: ReadBounds;
  private deadReason: LdapError | null = null;

  /** Use openConnection. */
  constructor(
    url: string,
    client: Client,
    sockets: net.Socket[],
    limits: LdapLimits,
    secrets: readonly (string | null)[],
    bounds: ReadBounds,
  ) {
    this.url = url;
    this.client = client;
    this.sockets = sockets;
    this.limits = limits;
    this.secrets = secrets;
    this.bounds = bounds;
  }

  get isDead(): boolean {
    return this.deadReason !== null;
  }

  /** One non-paged search (RootDSE, a base-scope read, a small one-level lookup). */
  async search(base: string, options: BaseSearchOptions, signal?: AbortSignal): Promise<SearchResult> {
    this.assertAlive('SEARCH');
    try {
      return await bounded(
        this.client.search(
          base,
          {
            scope: options.scope,
            filter: options.filter ?? '(objectClass=*)',
            attributes: [...options.attributes],
            explicitBufferAttributes: [...(options.explicitBufferAttributes ?? [])],
            derefAliases: 'never',
            ...(options.sizeLimit ? { sizeLimit: options.sizeLimit } : {}),
          },
          options.controls ? [...options.controls] : undefined,
        ),
        this.boundFor('SEARCH', this.limits.operationTimeoutMs, signal),
      );
    } catch (err) {
      throw this.fail(err, 'SEARCH');
    }
  }

  /** A paged search, one page at a time; each page is bounded by operationTimeoutMs. Referrals are not chased. */
  async *pages(
    base: string,
    options: PageOptions,
    signal?: AbortSignal,
  ): AsyncGenerator<SearchResult, void, undefined> {
    this.assertAlive('SEARCH');
    const iterator = this.client.searchPaginated(base, {
      scope: options.scope,
      filter: options.filter,
      attributes: [...options.attributes],
      explicitBufferAttributes: [...(options.explicitBufferAttributes ?? [])],
      derefAliases: 'never',
      paged: { pageSize: options.pageSize },
    });
    let finished = false;
    // A page asked for in advance may fail before anyone awaits it (the caller is still decoding
    // the previous one): marked as handled at once, so that the failure is not an unhandled
    // rejection; awaiting it still throws.
    const ask = () => {
      const page = iterator.next();
      page.catch(() => undefined);
      return page;
    };
    let pending = ask();
    try {
      while (true) {
        let next: IteratorResult<SearchResult, unknown>;
        try {
          next = await bounded(pending, this.boundFor('SEARCH', this.limits.operationTimeoutMs, signal));
        } catch (err) {
          finished = true;
          throw this.fail(err, 'SEARCH');
        }
        if (next.done) {
          finished = true;
          return;
        }
        // The next page is asked for before this one is handed over: the server reads it while
        // the caller decodes this one, and against a remote DC its round trip is hidden too.
        pending = ask();
        yield next.value;
      }
    } finally {
      // The consumer stopped early: the page asked for in advance is not wanted, and the
      // generator finishes without anyone waiting on it.
      if (!finished) iterator.return(undefined).catch(() => undefined);
    }
  }

  /** Polite close: unbind (bounded), then make sure every socket is gone. */
  async close(): Promise<void> {
    if (this.deadReason === null) {
      this.deadReason = new ConnectError('CONNECTION_LOST', 'connection closed', 'SEARCH', this.url);
      try {
        await bounded(this.client.unbind(), {
          step: 'SEARCH',
          server: this.url,
          ms: 1000,
          onGiveUp: () => this.kill(),
        });
      } catch {
        // The server is gone or slow; the sockets are destroyed below either way.
      }
    }
    this.kill();
  }

  /** Immediate close: destroys the sockets, which fails every pending operation at once. */
  kill(): void {
    this.deadReason ??= new ConnectError('CONNECTION_LOST', 'connection closed', 'SEARCH', this.url);
    for (const socket of this.sockets) socket.destroy();
  }

  private boundFor(step: ConnectionStep, ms: number, signal?: AbortSignal) {
    return { step, server: this.url, ms, signal, onGiveUp: () => this.kill() };
  }

  private assertAlive(step: ConnectionStep): void {
    if (this.deadReason !== null) {
      throw new ConnectError(
        'CONNECTION_LOST',
        `connection is closed (${this.deadReason.message})`,
        step,
        this.url,
      );
    }
  }

  private fail(err: unknown, step: ConnectionStep): LdapError {
    // A bound that killed the connection is why its operation failed, whatever ldapts says of it.
    const mapped = this.bounds.violation ?? toLdapError(err, step, this.url, this.secrets);
    // Server-side result codes (no such object, size limit…) leave the connection usable; anything else kills it.
    if (!(mapped.code === 'SEARCH_FAILED' || mapped.code === 'BIND_REQUIRED')) {
      this.deadReason ??= mapped;
      this.kill();
    }
    return mapped;
  }
}

/**
 * Connects to one server, sets up TLS as configured and binds.
 * Throws an LdapError naming the failed step; never leaves a socket open on failure.
 */
export async function openConnection(
  url: string,
  settings: LdapSettings,
  limits: LdapLimits,
  options: OpenOptions = {},
): Promise<LdapConnection> {
  const { signal, onStep } = options;
  const secrets = [settings.bindPassword];
  const sockets: net.Socket[] = [];
  const killAll = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  let step: ConnectionStep = 'TCP';
  let stepStart = performance.now();
  let bounds: ReadBounds | null = null;
  const endpoint = resolveEndpoint(url, settings.tls);
  const server = endpoint.url;
  const report = (ok: boolean, detail: string | null): void => {
    onStep?.({
      step,
      ok,
      ms: Math.round(performance.now() - stepStart),
      detail,
    });
  };
  const begin = (next: ConnectionStep): void => {
    step = next;
    stepStart = performance.now();
  };

  try {
    // An empty password with a DN is an "unauthenticated bind" (RFC 4513 5.1.2): many servers
    // answer success and the session is silently anonymous. Refuse it before the network.
    if (settings.bindDn !== null && settings.bindDn !== '' && !settings.bindPassword) {
      begin('BIND');
      throw new BindError('EMPTY_PASSWORD', 'a bind DN is set but the password is empty', server, null);
    }

    begin('DNS');
    const resolved = await bounded(resolveHost(endpoint.host, limits, server), {
      step: 'DNS',
      server,
      ms: limits.dnsTimeoutMs * Math.max(1, limits.dnsServers.length) + 250,
      signal,
      onGiveUp: killAll,
    });
    if (resolved.lookedUp) report(true, `${endpoint.host} → ${resolved.address}`);

    begin('TCP');
    const connectStart = performance.now();
    const tcp = await bounded(connectTcp(resolved.address, endpoint.port, sockets), {
      step: 'TCP',
      server,
      ms: limits.connectTimeoutMs,
      signal,
      onGiveUp: killAll,
    });
    report(true, `${resolved.address}:${endpoint.port}`);

    let established: net.Socket = tcp;
    if (endpoint.transport === 'LDAPS') {
      begin('TLS');
      // connectTimeoutMs covers TCP connect plus the TLS handshake together.
      const left = Math.max(1, limits.connectTimeoutMs - (performance.now() - connectStart));
      const secure = await bounded(handshake(tcp, tlsOptionsFor(settings, endpoint.host), sockets), {
        step: 'TLS',
        server,
        ms: Math.round(left),
        signal,
        onGiveUp: killAll,
      });
      report(true, describeTls(secure));
      established = secure;
    }

    if (settings.auth === 'KERBEROS') {
      let secured: net.Socket = established;
      if (endpoint.transport === 'STARTTLS') {
        begin('TLS');
        // Done here, not by ldapts: the SASL exchange runs on our socket before ldapts gets it.
        secured = await bounded(startTls(established, tlsOptionsFor(settings, endpoint.host), sockets), {
          step: 'TLS',
          server,
          ms: limits.operationTimeoutMs,
          signal,
          onGiveUp: killAll,
        });
        report(true, describeTls(secured));
      }
      begin('KERBEROS');
      const asked = requestTicket(settings, limits, endpoint.host, server, signal);
      const ticket = await bounded(asked, {
        step: 'KERBEROS',
        server,
        ms: limits.operationTimeoutMs,
        signal,
        // The KDC exchange runs on a thread and cannot be stopped: its client is let go when it ends.
        onGiveUp: () => {
          killAll();
          asked.then((late) => late.gss.release()).catch(() => undefined);
        },
      });
      report(true, ticket.detail);
      begin('BIND');
      let session: Awaited<ReturnType<typeof bindGssapi>>;
      try {
        session = await bounded(bindGssapi(secured, ticket, endpoint.transport !== 'NONE'), {
          step: 'BIND',
          server,
          ms: limits.operationTimeoutMs,
          signal,
          onGiveUp: killAll,
        });
      } catch (err) {
        ticket.gss.release();
        throw err;
      }
      if (session.socket !== secured) sockets.push(session.socket);
      const client = ldaptsClient(server, session.socket, limits, endpoint.transport === 'LDAPS', sockets);
      bounds = installBounds(client, limits, options, server, killAll);
      report(
        true,
        `GSSAPI as ${ticket.context.principal}, ${session.layer === 'none' ? 'no SASL layer (TLS)' : `SASL ${session.layer}`}`,
      );
      return new LdapConnection(server, client, sockets, limits, secrets, bounds);
    }

    const client = ldaptsClient(server, established, limits, endpoint.transport === 'LDAPS', sockets);
    bounds = installBounds(client, limits, options, server, killAll);

    if (endpoint.transport === 'STARTTLS') {
      begin('TLS');
      // StartTLS = an extended operation, then a handshake on the same socket: one operation bound.
      await bounded(client.startTLS(tlsOptionsFor(settings, endpoint.host)), {
        step: 'TLS',
        server,
        ms: limits.operationTimeoutMs,
        signal,
        onGiveUp: killAll,
      });
      report(true, describeTls(sockets.at(-1)));
    }

    begin('BIND');
    const anonymous = settings.bindDn === null || settings.bindDn === '';
    // Samba and hardened Windows DCs refuse a simple bind without TLS; so do we, before the
    // password leaves the process, unless the connection explicitly accepts the risk.
    if (!anonymous && endpoint.transport === 'NONE' && settings.allowPlaintextBind !== true) {
      throw new BindError(
        'PLAINTEXT_BIND_REFUSED',
        `refusing to send the bind password to ${server} without TLS: set tls to STARTTLS or LDAPS ` +
          '(or allowPlaintextBind: true to send it in clear)',
        server,
        null,
      );
    }
    await bounded(
      anonymous ? client.bind('', '') : client.bind(settings.bindDn ?? '', settings.bindPassword ?? ''),
      {
        step: 'BIND',
        server,
        ms: limits.operationTimeoutMs,
        signal,
        onGiveUp: killAll,
      },
    );
    report(true, anonymous ? 'anonymous' : `as ${settings.bindDn}`);
    return new LdapConnection(server, client, sockets, limits, secrets, bounds);
  } catch (err) {
    killAll();
    const mapped = bounds?.violation ?? toLdapError(err, step, server, secrets);
    // The mapped step can be more precise than ours (a certificate error surfacing during bind).
    report(false, mapped.message);
    throw mapped;
  }
}

/**
 * The ldapts client over a socket that is already connected (and secured, and for KERBEROS bound):
 * ldapts takes it as is. StartTLS sessions of simple binds are upgraded by ldapts itself.
 */
function ldaptsClient(
  server: string,
  socket: net.Socket,
  limits: LdapLimits,
  secure: boolean,
  sockets: net.Socket[],
): Client {
  return new Client({
    url: server,
    connectTimeout: limits.connectTimeoutMs,
    timeout: limits.operationTimeoutMs,
    ...(secure
      ? { createSecureConnection: handOverOnce(socket) as unknown as typeof tls.connect }
      : {
          createConnection: handOverOnce(socket) as unknown as typeof net.connect,
          // Used by startTLS() only: records the upgraded socket so kill() reaches it too.
          createSecureConnection: trackedTlsConnect(sockets) as unknown as typeof tls.connect,
        }),
  });
}

/** What every connection's client gets before its first operation; throws when ldapts cannot be bounded. */
function installBounds(
  client: Client,
  limits: LdapLimits,
  options: OpenOptions,
  server: string,
  killAll: () => void,
): ReadBounds {
  // Search entries decoded without ldapts' per-value copies: the bulk of a sync's reading CPU.
  installCompactSearchEntries(client, {
    max: limits.maxValuesPerAttribute,
    refuse: (attribute, dn) => tooManyValues(attribute, dn, limits, server),
  });
  // What the server sends is bounded before ldapts buffers it; without that, refuse to read.
  const bounds = installReadBounds(client, {
    limits,
    budget: options.budget ?? new EntryBudget(limits),
    server,
    onViolation: killAll,
  });
  if (bounds === null) {
    throw new ConnectError('CONNECTION_FAILED', 'this ldapts cannot be read with bounds', 'BIND', server);
  }
  return bounds;
}

/** StartTLS on our own socket (KERBEROS: the bind is ours too): the extended operation, then the handshake. */
async function startTls(
  socket: net.Socket,
  options: tls.ConnectionOptions,
  sockets: net.Socket[],
): Promise<tls.TLSSocket> {
  const response = await exchange(socket, encodeStartTls(1), 1);
  if (response.resultCode !== 0) {
    throw new TlsError(
      'STARTTLS_REFUSED',
      `server refused StartTLS: result ${response.resultCode}${response.diagnosticMessage ? ` (${response.diagnosticMessage})` : ''}`,
      null,
    );
  }
  return handshake(socket, options, sockets);
}

function connectTcp(host: string, port: number, sockets: net.Socket[]): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    sockets.push(socket);
    swallowLateErrors(socket);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      socket.setNoDelay(true);
      // Detects a peer that vanished without a FIN while a sync is idle between pages.
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function handshake(
  socket: net.Socket,
  options: tls.ConnectionOptions,
  sockets: net.Socket[],
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tls.connect({ ...options, socket });
    sockets.push(secure);
    swallowLateErrors(secure);
    secure.once('secureConnect', () => {
      secure.removeListener('error', reject);
      // With rejectUnauthorized false an untrusted certificate still connects; nothing to do.
      resolve(secure);
    });
    secure.once('error', reject);
  });
}

/**
 * An 'error' event without a listener crashes the process. Under LDAPS the
 * raw TCP socket is ours alone (ldapts only sees the TLS socket on top), and
 * a failed handshake can still try to write an alert to it after we
 * destroyed it (EPIPE). Failures reach callers through the pending
 * operation or the handshake promise, so these late events are dropped.
 */
function swallowLateErrors(socket: net.Socket): void {
  socket.on('error', () => undefined);
}

function describeTls(socket: net.Socket | undefined): string {
  if (!(socket instanceof tls.TLSSocket)) return 'TLS';
  const protocol = socket.getProtocol() ?? 'TLS';
  return socket.authorized
    ? `${protocol}, certificate verified`
    : `${protocol}, certificate NOT verified (${String(socket.authorizationError)})`;
}

/**
 * The connection factory given to ldapts: the first call gets our established
 * socket; any later call (ldapts reconnecting after a failure) gets a socket
 * that fails at once, so no operation can run on a fresh unbound connection.
 */
function handOverOnce(socket: net.Socket): () => net.Socket {
  let used = false;
  return () => {
    if (!used) {
      used = true;
      return socket;
    }
    const refused = new net.Socket();
    process.nextTick(() => {
      refused.destroy(
        Object.assign(new Error('connection was closed; not reconnecting'), { code: 'ECONNABORTED' }),
      );
    });
    return refused;
  };
}

function trackedTlsConnect(sockets: net.Socket[]): (options: tls.ConnectionOptions) => tls.TLSSocket {
  return (options) => {
    const secure = tls.connect(options);
    sockets.push(secure);
    return secure;
  };
}
