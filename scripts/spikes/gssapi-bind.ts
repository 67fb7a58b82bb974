/**
 * Spike for #17: a SASL GSSAPI bind (RFC 4752) with the security layer
 * against the Samba AD DC, with the npm `kerberos` package, and the answers
 * docs/kerberos-lab.md records (layers Samba insists on, several keytabs and
 * realms in one process, ticket lifetime and re-acquisition, the errors as
 * the package reports them). A proof, not product code: not run by
 * `npm test`, imported by nothing in src/.
 *
 * Needs (docs/kerberos-lab.md, "Installing"):
 *  - Debian `libkrb5-dev krb5-user krb5-kdc faketime` (krb5-kdc: a second,
 *    MIT realm OTHER.TEST on 127.0.0.1:18888; faketime: the clock-skew case)
 *    and the Samba packages the tests install;
 *  - the `kerberos` package built for Node 24 in scratch folders, NOT in the
 *    project, with its wrap() bug fixed (7.0.0 wraps a 4-byte "no layer"
 *    reply instead of the data; see docs/kerberos-lab.md). The script checks
 *    for the bug first and stops with this recipe if it is still there:
 *      export PATH=/work/main/node_modules/.bin:$PATH
 *      for d in /tmp/krb-spike /tmp/krb-spike-link; do mkdir -p $d && cd $d &&
 *        echo '{"private":true}' > package.json && npm install --ignore-scripts kerberos@7.0.0 &&
 *        sed -i -e 's/if (user) {/if (user \&\& *user) {/' \
 *          -e 's/if (!user \&\& input_token.value)/if (!(user \&\& *user) \&\& input_token.value)/' \
 *          node_modules/kerberos/src/unix/kerberos_gss.cc; done
 *      G=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
 *      (cd /tmp/krb-spike/node_modules/kerberos && node $G rebuild --nodedir=/usr)
 *      (cd /tmp/krb-spike-link/node_modules/kerberos && node $G rebuild --nodedir=/usr -- -Dkerberos_use_rtld=false)
 *    The second build links MIT at compile time: the default one dlopen()s
 *    it with RTLD_DEEPBIND, which hides it from libfaketime, so the faketime
 *    children load that one (KRB_SPIKE_MODULES, KRB_SPIKE_LINKED_MODULES
 *    name other node_modules folders).
 * Run (it starts its own Samba DC and an MIT KDC, so under the machine-wide
 * lock; ≈20 s):
 *   cd /work/main && flock /tmp/dirgate-samba.lock npx tsx scripts/spikes/gssapi-bind.ts
 * SPIKE_EXPIRY_WAIT=1 adds the session-expiry check (6 min more under the
 * lock); SPIKE_KEEP=1 keeps the private folder (it holds keytabs: delete it).
 * It prints one line per check and exits non-zero when a check fails.
 * Everything it writes (krb5.conf, keytabs, ccaches, the MIT KDC's database)
 * is in one private folder under /tmp/krb-spike (SPIKE_DIR), removed at the
 * end; /etc is never touched and no ticket cache lands in /tmp itself
 * (KRB5_CONFIG, KRB5_CLIENT_KTNAME, KRB5CCNAME point into the folder).
 *
 * `--child bind <dir>` is one bind in a child process, run by the main
 * script under `faketime` (clock skew; tickets past their end): libfaketime
 * moves only that process's clock, the KDC's stays.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { BerReader, BerWriter, FilterParser, MessageParser, SearchRequest } from 'ldapts';
import {
  encodeLayerReply,
  frameSaslBuffer,
  type LayerPolicy,
  negotiateSecurityLayer,
  SaslBufferReader,
  type SaslLayer,
  splitForWrap,
} from '../../src/ldap/kerberos/sasl-layer.js';
import { type SambaInstance, startSambaDc } from '../directories/samba.js';

// ---- the `kerberos` package, from the scratch folder -------------------------------------------

interface KerberosClient {
  response: string | null;
  responseConf: number;
  contextComplete: boolean;
  step(challenge: string): Promise<string>;
  wrap(challenge: string, options?: { user?: string; protect?: boolean }): Promise<string>;
  unwrap(challenge: string): Promise<string>;
}
interface KerberosServer {
  username: string;
  contextComplete: boolean;
  step(challenge: string): Promise<string>;
}
interface KerberosModule {
  version: string;
  GSS_C_MUTUAL_FLAG: number;
  GSS_C_SEQUENCE_FLAG: number;
  GSS_C_CONF_FLAG: number;
  GSS_C_INTEG_FLAG: number;
  initializeClient(
    service: string,
    options?: { principal?: string; flags?: number },
  ): Promise<KerberosClient>;
  initializeServer(service: string): Promise<KerberosServer>;
}
const MODULES = process.env.KRB_SPIKE_MODULES ?? '/tmp/krb-spike/node_modules';
/**
 * The package dlopen()s MIT with RTLD_DEEPBIND by default, which puts libc
 * before libfaketime's LD_PRELOAD: under faketime MIT would still see the
 * real clock. The faketime children use a build linked at compile time
 * (`node-gyp rebuild -- -Dkerberos_use_rtld=false`), where it works.
 */
const LINKED_MODULES = process.env.KRB_SPIKE_LINKED_MODULES ?? '/tmp/krb-spike-link/node_modules';
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, KRB_SPIKE_MODULES: LINKED_MODULES, ...extra };
}
const kerberos = createRequire(join(MODULES, 'spike.cjs'))('kerberos') as KerberosModule;

// ---- checks ------------------------------------------------------------------------------------

let failures = 0;
function report(name: string, ok: boolean, detail: string): void {
  if (!ok) failures += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
}
function ms(since: number): string {
  return `${(performance.now() - since).toFixed(0)} ms`;
}
function errorText(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error);
}
/** The error a promise rejects with, or null when it resolves. */
async function failureOf(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return errorText(error);
  }
}

// ---- the Kerberos environment: process-wide, so every change is serialized ---------------------

interface KrbEnv {
  readonly config: string;
  readonly clientKeytab: string;
  readonly ccache: string;
}
/** MIT reads these when it makes a krb5 context, i.e. on each initializeClient/step. */
function useEnv(env: KrbEnv): void {
  process.env.KRB5_CONFIG = env.config;
  process.env.KRB5_CLIENT_KTNAME = env.clientKeytab;
  process.env.KRB5CCNAME = env.ccache;
  // Neither default keytab nor trace file from the machine.
  process.env.KRB5_KTNAME = `FILE:${join(env.clientKeytab.replace(/^FILE:/, ''), '..', 'no-such.keytab')}`;
}

function krb5Conf(realms: ReadonlyArray<{ realm: string; kdc: string }>, extra = ''): string {
  return [
    '[libdefaults]',
    `  default_realm = ${realms[0]?.realm ?? 'CORP.TEST'}`,
    '  dns_lookup_kdc = false',
    '  dns_lookup_realm = false',
    '  rdns = false',
    '  dns_canonicalize_hostname = false',
    '  udp_preference_limit = 1',
    extra,
    '[realms]',
    ...realms.flatMap(({ realm, kdc }) => [`  ${realm} = {`, `    kdc = ${kdc}`, '  }']),
    '[domain_realm]',
    '  .corp.test = CORP.TEST',
    '  .other.test = OTHER.TEST',
    '',
  ].join('\n');
}

// ---- LDAP over a socket, with or without the SASL layer ----------------------------------------

interface BindResult {
  readonly code: number;
  readonly diagnostic: string;
  readonly serverCreds: Buffer | null;
}

/** One BER TLV's total length at the start of `buffer`, or null when incomplete. */
function berLength(buffer: Buffer): number | null {
  if (buffer.length < 2) return null;
  const first = buffer[1]!;
  if (first < 0x80) return buffer.length >= 2 + first ? 2 + first : null;
  const count = first & 0x7f;
  if (buffer.length < 2 + count) return null;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + buffer[2 + i]!;
  return buffer.length >= 2 + count + length ? 2 + count + length : null;
}

class RawLdap {
  private plain = Buffer.alloc(0);
  private readonly messages: Buffer[] = [];
  private waiter: (() => void) | null = null;
  private closed: Error | null = null;
  private reader: SaslBufferReader | null = null;
  private gss: KerberosClient | null = null;
  private layer: SaslLayer = 'none';
  private serverMax = 0;
  /** wrap and unwrap share one result slot in the package's client: one at a time, in order. */
  private serial: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  /** Unwrapped tokens seen, and how many said they were sealed (responseConf). */
  readonly stats = { tokensIn: 0, sealedIn: 0, tokensOut: 0 };

  private constructor(private socket: Socket) {
    this.attach(socket);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawLdap> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new RawLdap(socket)));
      socket.once('error', reject);
    });
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.fail(new Error('connection closed')));
    socket.on('error', (error) => this.fail(error));
  }

  /** When the connection ended (performance.now()), for the session-expiry check. */
  closedAt: number | null = null;

  private fail(error: Error): void {
    this.closedAt ??= performance.now();
    this.closed ??= error;
    this.waiter?.();
  }

  private onData(chunk: Buffer): void {
    if (!this.reader) {
      this.onPlain(chunk);
      return;
    }
    let tokens: Buffer[];
    try {
      tokens = this.reader.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const token of tokens) {
      this.serial = this.serial.then(async () => {
        const gss = this.gss!;
        await gss.unwrap(token.toString('base64'));
        this.stats.tokensIn += 1;
        if (gss.responseConf) this.stats.sealedIn += 1;
        this.onPlain(Buffer.from(gss.response ?? '', 'base64'));
      });
      this.serial.catch((error: Error) => this.fail(error));
    }
  }

  private onPlain(chunk: Buffer): void {
    this.plain = Buffer.concat([this.plain, chunk]);
    for (;;) {
      const length = berLength(this.plain);
      if (length === null) break;
      this.messages.push(this.plain.subarray(0, length));
      this.plain = this.plain.subarray(length);
    }
    if (this.messages.length > 0) this.waiter?.();
  }

  async next(timeoutMs = 10_000): Promise<Buffer> {
    const started = Date.now();
    while (this.messages.length === 0) {
      if (this.closed) throw this.closed;
      if (Date.now() - started > timeoutMs) throw new Error('no LDAP answer in time');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 200);
      });
      this.waiter = null;
    }
    return this.messages.shift()!;
  }

  async send(bytes: Buffer): Promise<void> {
    if (!this.gss || this.layer === 'none') {
      this.socket.write(bytes);
      return;
    }
    const gss = this.gss;
    const protect = this.layer === 'confidentiality';
    const pieces = splitForWrap(bytes, this.serverMax - 128);
    const run = this.serial.then(async () => {
      for (const piece of pieces) {
        await gss.wrap(piece.toString('base64'), { protect });
        this.stats.tokensOut += 1;
        this.socket.write(frameSaslBuffer(Buffer.from(gss.response ?? '', 'base64'), this.serverMax));
      }
    });
    this.serial = run.catch(() => {});
    await run;
  }

  static openTls(port: number, ca: string, servername: string): Promise<RawLdap> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: [ca], servername }, () =>
        resolve(new RawLdap(socket)),
      );
      socket.once('error', reject);
    });
  }

  /** StartTLS (1.3.6.1.4.1.1466.20037), then TLS on the same socket. */
  async startTls(ca: string, servername: string): Promise<void> {
    const w = new BerWriter();
    w.startSequence();
    w.writeInt(this.nextId++);
    w.startSequence(0x77);
    w.writeString('1.3.6.1.4.1.1466.20037', 0x80);
    w.endSequence();
    w.endSequence();
    await this.send(w.buffer);
    const answer = new BerReader(await this.next());
    answer.readSequence();
    answer.readInt();
    answer.readSequence(0x78);
    const code = answer.readEnumeration();
    if (code !== 0) throw new Error(`StartTLS refused: ${code}`);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    this.socket.removeAllListeners('error');
    const secure = await new Promise<Socket>((resolve, reject) => {
      const s = tlsConnect({ socket: this.socket, ca: [ca], servername }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  async saslBind(mechanism: string, credentials: Buffer | null): Promise<BindResult> {
    const w = new BerWriter();
    w.startSequence();
    w.writeInt(this.nextId++);
    w.startSequence(0x60);
    w.writeInt(3);
    w.writeString('');
    w.startSequence(0xa3);
    w.writeString(mechanism);
    if (credentials) w.writeBuffer(credentials, 0x04);
    w.endSequence();
    w.endSequence();
    w.endSequence();
    await this.send(w.buffer);
    const r = new BerReader(await this.next());
    r.readSequence();
    r.readInt();
    const end = (r.readSequence(0x61) ?? 0) + r.offset;
    const code = r.readEnumeration() ?? -1;
    r.readString();
    const diagnostic = r.readString() ?? '';
    let serverCreds: Buffer | null = null;
    while (r.offset < end) {
      const tag = r.peek();
      if (tag === 0x87) serverCreds = r.readString(0x87, true);
      else if (tag === 0xa3) r.offset += r.readSequence(0xa3) ?? 0;
      else break;
    }
    return { code, diagnostic, serverCreds };
  }

  /** From the byte after the successful bind response on, both ways framed and wrapped. */
  installLayer(gss: KerberosClient, layer: SaslLayer, serverMax: number, clientMax: number): void {
    this.gss = gss;
    this.layer = layer;
    this.serverMax = serverMax;
    if (layer !== 'none') this.reader = new SaslBufferReader(clientMax);
  }

  /** A subtree search; its entries' DNs and the final result code. */
  async search(base: string, filter: string, attributes: string[]): Promise<{ dns: string[]; code: number }> {
    const messageId = this.nextId++;
    const request = new SearchRequest({
      messageId,
      baseDN: base,
      scope: 'sub',
      filter: FilterParser.parseString(filter),
      attributes,
    });
    await this.send(request.write());
    const parser = new MessageParser();
    const details = new Map([[String(messageId), { message: request }]]);
    const dns: string[] = [];
    let code: number | null = null;
    parser.on('message', (message) => {
      const m = message as unknown as { protocolOperation: number; name?: string; status?: number };
      if (m.protocolOperation === 0x64) dns.push(m.name ?? '?');
      if (m.protocolOperation === 0x65) code = m.status ?? -1;
    });
    parser.on('error', (error) => {
      throw error;
    });
    while (code === null) parser.read(await this.next(), details);
    return { dns, code };
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- the GSSAPI bind ---------------------------------------------------------------------------

interface GssapiBindOptions {
  readonly service: string;
  readonly principal?: string;
  readonly policy: LayerPolicy;
  /** Bypass the policy and ask for this layer (to see what the server refuses). */
  readonly forceLayer?: SaslLayer;
  /** Set the process's Kerberos environment before initializeClient and the first step. */
  readonly env?: KrbEnv;
  /** GSS request flags; default mutual, sequence, conf and integ. 'package' = the package's default. */
  readonly flags?: number | 'package';
}
interface GssapiBindResult {
  readonly client: KerberosClient;
  readonly offer: string;
  readonly layer: SaslLayer;
  readonly serverMax: number;
  readonly roundTrips: number;
  readonly ticketMs: number;
}

function offerText(offer: Buffer): string {
  const bits = offer[0] ?? 0;
  const names = [bits & 1 ? 'none' : '', bits & 2 ? 'integrity' : '', bits & 4 ? 'confidentiality' : '']
    .filter(Boolean)
    .join('+');
  return `${names} (0x${bits.toString(16)}), max ${offer.readUIntBE(1, 3)}`;
}

class BindRefused extends Error {
  constructor(
    readonly code: number,
    diagnostic: string,
  ) {
    super(`bind result ${code}: ${diagnostic}`);
    this.name = 'BindRefused';
  }
}

async function gssapiBind(ldap: RawLdap, options: GssapiBindOptions): Promise<GssapiBindResult> {
  if (options.env) useEnv(options.env);
  const flags =
    options.flags === 'package'
      ? {}
      : {
          flags:
            options.flags ??
            kerberos.GSS_C_MUTUAL_FLAG |
              kerberos.GSS_C_SEQUENCE_FLAG |
              kerberos.GSS_C_CONF_FLAG |
              kerberos.GSS_C_INTEG_FLAG,
        };
  const client = await kerberos.initializeClient(options.service, {
    ...flags,
    ...(options.principal ? { principal: options.principal } : {}),
  });
  const began = performance.now();
  // The first step gets the TGT (from the client keytab) and the service ticket.
  let token: string = await client.step('');
  const ticketMs = performance.now() - began;
  let roundTrips = 0;
  for (;;) {
    roundTrips += 1;
    const answer = await ldap.saslBind('GSSAPI', Buffer.from(token ?? '', 'base64'));
    if (answer.code === 0) throw new Error('bind succeeded without a layer negotiation');
    if (answer.code !== 14) throw new BindRefused(answer.code, answer.diagnostic);
    const creds = (answer.serverCreds ?? Buffer.alloc(0)).toString('base64');
    if (!client.contextComplete) {
      token = (await client.step(creds)) ?? '';
      continue;
    }
    await client.unwrap(creds);
    const offer = Buffer.from(client.response ?? '', 'base64');
    let layer: SaslLayer;
    let reply: Buffer;
    let serverMax = offer.length === 4 ? offer.readUIntBE(1, 3) : 0;
    const clientMax = 1024 * 1024;
    if (options.forceLayer) {
      layer = options.forceLayer;
      reply = encodeLayerReply({ layer, maxBufferSize: layer === 'none' ? 0 : clientMax });
    } else {
      const negotiated = negotiateSecurityLayer(offer, options.policy, { clientMaxBuffer: clientMax });
      layer = negotiated.layer;
      reply = negotiated.reply;
      serverMax = negotiated.serverMaxBuffer;
    }
    await client.wrap(reply.toString('base64'), { protect: false });
    roundTrips += 1;
    const last = await ldap.saslBind('GSSAPI', Buffer.from(client.response ?? '', 'base64'));
    if (last.code !== 0)
      throw new BindRefused(last.code, `${last.diagnostic} (offer ${offerText(offer)}, sent ${layer})`);
    ldap.installLayer(client, layer, serverMax, clientMax);
    return { client, offer: offerText(offer), layer, serverMax, roundTrips, ticketMs };
  }
}

// ---- Samba and the MIT KDC ---------------------------------------------------------------------

function sh(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { ...env, LANG: 'C.UTF-8' } });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')}: ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

function sambaTool(samba: SambaInstance, args: string[]): string {
  return sh('samba-tool', [...args, '-s', samba.smbConf]);
}

function createAccount(samba: SambaInstance, name: string, keytab: string): void {
  sambaTool(samba, ['user', 'create', name, 'Spike-Passw0rd!1']);
  sambaTool(samba, ['domain', 'exportkeytab', keytab, `--principal=${name}@CORP.TEST`]);
}

/** klist of a FILE ccache: the client principal and the tickets with their times. */
function klist(ccache: string): string {
  const out = spawnSync('klist', ['-c', ccache], { encoding: 'utf8' });
  return (out.stdout + out.stderr).trim();
}

interface MitKdc {
  readonly config: string;
  readonly keytab: string;
  readonly serviceKeytab: string;
  readonly pid: number;
}

/** A second realm, OTHER.TEST, from MIT's krb5kdc on 127.0.0.1:18888 (≈0.1 s). */
function startMitKdc(dir: string): MitKdc {
  mkdirSync(dir, { recursive: true });
  const kdcConf = join(dir, 'kdc.conf');
  writeFileSync(
    kdcConf,
    [
      '[kdcdefaults]',
      '  kdc_listen = 127.0.0.1:18888',
      '  kdc_tcp_listen = 127.0.0.1:18888',
      '[realms]',
      '  OTHER.TEST = {',
      `    database_name = ${join(dir, 'principal')}`,
      `    key_stash_file = ${join(dir, 'stash')}`,
      `    acl_file = ${join(dir, 'kadm5.acl')}`,
      '  }',
      '[logging]',
      `  kdc = FILE:${join(dir, 'kdc.log')}`,
      '',
    ].join('\n'),
  );
  const config = join(dir, 'krb5.conf');
  writeFileSync(config, krb5Conf([{ realm: 'OTHER.TEST', kdc: '127.0.0.1:18888' }]));
  const env = { ...process.env, KRB5_KDC_PROFILE: kdcConf, KRB5_CONFIG: config };
  sh('kdb5_util', ['create', '-s', '-r', 'OTHER.TEST', '-P', 'spike-master'], env);
  const keytab = join(dir, 'svc-other.keytab');
  const serviceKeytab = join(dir, 'ldap-other.keytab');
  for (const query of [
    'addprinc -randkey svc-other@OTHER.TEST',
    'addprinc -randkey ldap/ldap.other.test@OTHER.TEST',
    `ktadd -k ${keytab} svc-other@OTHER.TEST`,
    `ktadd -k ${serviceKeytab} ldap/ldap.other.test@OTHER.TEST`,
  ]) {
    sh('kadmin.local', ['-r', 'OTHER.TEST', '-q', query], env);
  }
  const pidFile = join(dir, 'kdc.pid');
  sh('krb5kdc', ['-r', 'OTHER.TEST', '-P', pidFile], env);
  const deadline = Date.now() + 5000;
  let pid = 0;
  while (Date.now() < deadline && pid === 0) {
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      spawnSync('sleep', ['0.05']);
    }
  }
  return { config, keytab, serviceKeytab, pid };
}

// ---- the scenarios -----------------------------------------------------------------------------

const DC = 'dc1.corp.test';
const SERVICE = `ldap@${DC}`;
const PLAIN: LayerPolicy = { transportEncrypted: false };

async function bindAndSearch(
  samba: SambaInstance,
  options: GssapiBindOptions,
): Promise<{ bind: GssapiBindResult; ldap: RawLdap; entries: number; ms: string }> {
  const began = performance.now();
  const ldap = await RawLdap.open(389);
  const bind = await gssapiBind(ldap, options);
  const found = await ldap.search(samba.baseDn, '(objectClass=user)', ['sAMAccountName', 'objectGUID']);
  if (found.code !== 0) throw new Error(`search result ${found.code}`);
  return { bind, ldap, entries: found.dns.length, ms: ms(began) };
}

/**
 * kerberos 7.0.0 on Unix always builds its own "no layer" reply in wrap():
 * `user` reaches C as "" (never NULL), so `if (user)` holds and the data is
 * replaced by 4 bytes. Seen by wrapping 1,000 bytes on a context with the
 * in-process acceptor of OTHER.TEST: a token of ~60 bytes means the bug.
 */
async function wrapKeepsData(mit: MitKdc, dir: string): Promise<number> {
  useEnv({ config: mit.config, clientKeytab: `FILE:${mit.keytab}`, ccache: `FILE:${join(dir, 'cc-probe')}` });
  const client = await kerberos.initializeClient('ldap@ldap.other.test');
  const first = await client.step('');
  process.env.KRB5_KTNAME = `FILE:${mit.serviceKeytab}`;
  const server = await kerberos.initializeServer('ldap@ldap.other.test');
  const reply = await server.step(first);
  await client.step(reply);
  await client.wrap(Buffer.alloc(1000, 0x61).toString('base64'), { protect: true });
  return Buffer.from(client.response ?? '', 'base64').length;
}

async function main(dir: string): Promise<void> {
  const mit = startMitKdc(join(dir, 'mit'));
  try {
    const tokenBytes = await wrapKeepsData(mit, dir);
    report(
      'package wrap() keeps the data',
      tokenBytes > 1000,
      `1,000 bytes wrapped into a ${tokenBytes}-byte token`,
    );
    if (tokenBytes <= 1000) {
      console.log(
        'the kerberos package has its wrap() bug: in its src/unix/kerberos_gss.cc replace `if (user)` by `if (user && *user)` and `if (!user && input_token.value)` by `if (!(user && *user) && input_token.value)`, then node-gyp rebuild (docs/kerberos-lab.md)',
      );
      return;
    }
    const t0 = performance.now();
    const samba = await startSambaDc({ maximumRuntimeSeconds: 900, log: () => {} });
    console.log(`samba started in ${ms(t0)}`);
    try {
      await scenarios(samba, dir, mit);
    } finally {
      await samba.dispose();
    }
  } finally {
    process.kill(mit.pid, 'SIGTERM');
  }
}

async function scenarios(samba: SambaInstance, dir: string, mit: MitKdc): Promise<void> {
  // -- set-up: SPN, accounts, keytabs, krb5.conf
  // Samba registers ldap/<host> for DC1$ by itself (unless `spn update command` is /bin/true);
  // `spn list` does not always show it, and adding it again is refused as "already affected".
  const spns = sambaTool(samba, ['spn', 'list', 'DC1$']);
  if (!spns.toLowerCase().includes(`ldap/${DC}`)) {
    const added = spawnSync(
      'samba-tool',
      ['spn', 'add', `ldap/${DC}`, 'DC1$', '-H', join(samba.dir, 'private', 'sam.ldb'), '-s', samba.smbConf],
      { encoding: 'utf8' },
    );
    report(
      'spn',
      added.status === 0 || /already affected/.test(added.stdout + added.stderr),
      `ldap/${DC} not listed for DC1$; spn add: ${(added.stdout + added.stderr).trim() || 'added'}`,
    );
  } else report('spn', true, `ldap/${DC} already on DC1$`);
  const t = performance.now();
  for (const name of ['svc-a', 'svc-b', 'svc-kvno', 'svc-gone'])
    createAccount(samba, name, join(dir, `${name}.keytab`));
  console.log(`4 accounts + keytabs in ${ms(t)}`);
  console.log(sh('klist', ['-k', '-e', join(dir, 'svc-a.keytab')]).trim());
  const conf = join(dir, 'krb5.conf');
  writeFileSync(conf, krb5Conf([{ realm: 'CORP.TEST', kdc: '127.0.0.1:88' }]));
  const envA: KrbEnv = {
    config: conf,
    clientKeytab: `FILE:${join(dir, 'svc-a.keytab')}`,
    ccache: `FILE:${join(dir, 'cc-a')}`,
  };
  const envB: KrbEnv = {
    ...envA,
    clientKeytab: `FILE:${join(dir, 'svc-b.keytab')}`,
    ccache: `FILE:${join(dir, 'cc-b')}`,
  };

  // -- 2. the bind with confidentiality on plain ldap://, a search through the layer
  {
    const r = await bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env: envA });
    report(
      'bind plain ldap:// (policy)',
      r.bind.layer === 'confidentiality' && r.entries > 0 && r.ldap.stats.sealedIn === r.ldap.stats.tokensIn,
      `offer ${r.bind.offer}; chose ${r.bind.layer}; ${r.bind.roundTrips} bind round trips; first step (TGT+service ticket) ${r.bind.ticketMs.toFixed(0)} ms; bind+search ${r.ms}; ${r.entries} users; tokens in ${r.ldap.stats.tokensIn} (sealed ${r.ldap.stats.sealedIn}), out ${r.ldap.stats.tokensOut}`,
    );
    r.ldap.close();
    console.log(klist(envA.ccache));
    // A second bind reuses the ccache: no KDC round trip for the TGT.
    const again = await bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env: envA });
    report(
      'bind again, same ccache',
      again.entries === r.entries,
      `first step ${again.bind.ticketMs.toFixed(1)} ms; bind+search ${again.ms}`,
    );
    again.ldap.close();
    const memory = await bindAndSearch(samba, {
      service: SERVICE,
      policy: PLAIN,
      env: { ...envA, ccache: 'MEMORY:spike-a' },
    });
    report(
      'bind with a MEMORY: ccache',
      memory.entries === r.entries,
      `first step ${memory.bind.ticketMs.toFixed(0)} ms`,
    );
    memory.ldap.close();
    const defaults = await failureOf(
      bindAndSearch(samba, { service: SERVICE, policy: PLAIN, flags: 'package', env: envA }),
    );
    report(
      'package default flags (mutual+sequence only)',
      true,
      defaults ?? 'accepted (no CONF/INTEG request flag needed)',
    );
  }
  for (const forced of ['integrity', 'none'] as const) {
    const ldap = await RawLdap.open(389);
    const failure = await failureOf(
      (async () => {
        await gssapiBind(ldap, { service: SERVICE, policy: PLAIN, forceLayer: forced, env: envA });
        const found = await ldap.search(samba.baseDn, '(sAMAccountName=svc-a)', ['cn']);
        if (found.code !== 0 || found.dns.length !== 1)
          throw new Error(`search ${found.code} ${found.dns.length}`);
      })(),
    );
    report(
      `plain ldap:// layer ${forced}`,
      forced === 'integrity' ? failure === null : failure !== null,
      failure ?? `accepted; search works (sealed tokens in: ${ldap.stats.sealedIn}/${ldap.stats.tokensIn})`,
    );
    ldap.close();
  }
  // -- over StartTLS: is a layer still required?
  const ca = readFileSync(samba.certificates.ca.path, 'utf8');
  for (const row of [
    ['StartTLS', 'none'],
    ['StartTLS', 'integrity'],
    ['StartTLS', 'confidentiality'],
    ['LDAPS', 'none'],
    ['LDAPS', 'integrity'],
    ['LDAPS', 'confidentiality'],
    ['LDAPS', 'none', 'package'],
    ['StartTLS', 'none', 'package'],
  ] as const) {
    const flags = ((row as readonly string[])[2] ?? undefined) as 'package' | undefined;
    const [transport, forced] = row;
    const ldap = transport === 'LDAPS' ? await RawLdap.openTls(636, ca, DC) : await RawLdap.open(389);
    if (transport === 'StartTLS') await ldap.startTls(ca, DC);
    let info = '';
    const failure = await failureOf(
      (async () => {
        const bind = await gssapiBind(ldap, {
          service: SERVICE,
          policy: { transportEncrypted: true },
          forceLayer: forced,
          ...(flags ? { flags } : {}),
          env: envA,
        });
        info = `offer ${bind.offer}; layer ${bind.layer}`;
        const found = await ldap.search(samba.baseDn, '(sAMAccountName=svc-a)', ['cn']);
        if (found.code !== 0 || found.dns.length !== 1)
          throw new Error(`search ${found.code} ${found.dns.length}`);
      })(),
    );
    report(
      `${transport} layer ${forced}${flags === 'package' ? ' (package default flags)' : ''}`,
      true,
      failure ? `refused: ${failure}` : `${info}; search works`,
    );
    ldap.close();
  }

  // -- 3. two keytabs in one process
  {
    // (a) the `principal` option alone, with one environment (svc-a's keytab): does it pick svc-b?
    const failure = await failureOf(
      bindAndSearch(samba, {
        service: SERVICE,
        policy: PLAIN,
        principal: 'svc-b@CORP.TEST',
        env: { ...envA, ccache: `FILE:${join(dir, 'cc-x')}` },
      }),
    );
    report('principal option without svc-b in the client keytab', failure !== null, failure ?? 'bound?!');
    // (b) environment switched before each initializeClient + first step, connections interleaved
    const a = await bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env: envA });
    const b = await bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env: envB });
    useEnv(envA); // B's connection keeps working under A's environment: its context is made
    const aAgain = await a.ldap.search(samba.baseDn, '(sAMAccountName=svc-b)', ['cn']);
    const bAgain = await b.ldap.search(samba.baseDn, '(sAMAccountName=svc-a)', ['cn']);
    const ccA = klist(envA.ccache);
    const ccB = klist(envB.ccache);
    report(
      'two keytabs, env switched per bind',
      ccA.includes('Default principal: svc-a@CORP.TEST') &&
        ccB.includes('Default principal: svc-b@CORP.TEST') &&
        aAgain.code === 0 &&
        bAgain.code === 0,
      `cc-a: ${ccA.split('\n')[1]}; cc-b: ${ccB.split('\n')[1]}; interleaved searches ok`,
    );
    a.ldap.close();
    b.ldap.close();
    // (c) the second realm: MIT KDC, its own krb5.conf and keytab; completed against an in-process acceptor
    {
      const envOther: KrbEnv = {
        config: mit.config,
        clientKeytab: `FILE:${mit.keytab}`,
        ccache: `FILE:${join(dir, 'cc-other')}`,
      };
      const began = performance.now();
      useEnv(envOther);
      const client = await kerberos.initializeClient('ldap@ldap.other.test');
      const token = await client.step('');
      process.env.KRB5_KTNAME = `FILE:${mit.serviceKeytab}`;
      const server = await kerberos.initializeServer('ldap@ldap.other.test');
      await server.step(token);
      const otherMs = ms(began);
      // and straight back to CORP.TEST in the same process
      const back = await bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env: envA });
      report(
        'second realm (MIT OTHER.TEST) beside CORP.TEST',
        server.username === 'svc-other@OTHER.TEST' && back.entries > 0,
        `acceptor saw ${server.username} in ${otherMs}; CORP.TEST bind after it: ok`,
      );
      back.ldap.close();
      // (d) one krb5.conf naming both realms: the config need not switch at all
      const both = join(dir, 'krb5-both.conf');
      writeFileSync(
        both,
        krb5Conf([
          { realm: 'CORP.TEST', kdc: '127.0.0.1:88' },
          { realm: 'OTHER.TEST', kdc: '127.0.0.1:18888' },
        ]),
      );
      useEnv({ ...envOther, config: both, ccache: `FILE:${join(dir, 'cc-other2')}` });
      const c2 = await kerberos.initializeClient('ldap@ldap.other.test');
      await c2.step('');
      const viaBoth = await bindAndSearch(samba, {
        service: SERVICE,
        policy: PLAIN,
        env: { ...envB, config: both, ccache: `FILE:${join(dir, 'cc-b2')}` },
      });
      report(
        'one krb5.conf with both realms',
        viaBoth.entries > 0,
        'OTHER.TEST ticket and CORP.TEST bind with the same KRB5_CONFIG',
      );
      viaBoth.ldap.close();
      // (e) does MIT re-read KRB5_CONFIG within the process? point it at a realm-less file and step
      const empty = join(dir, 'krb5-empty.conf');
      writeFileSync(empty, '[libdefaults]\n  dns_lookup_kdc = false\n');
      useEnv({ ...envOther, config: empty, ccache: `FILE:${join(dir, 'cc-other3')}` });
      const c3 = await kerberos.initializeClient('ldap@ldap.other.test');
      const reread = await failureOf(c3.step(''));
      report(
        'MIT re-reads KRB5_CONFIG per context',
        reread !== null,
        reread ?? 'step succeeded with a config lacking the realm: cached',
      );
      // (f) KRB5_CLIENT_KTNAME changed after initializeClient, before step: which keytab does step use?
      useEnv({ ...envA, ccache: `FILE:${join(dir, 'cc-late')}` });
      const late = await kerberos.initializeClient(SERVICE);
      useEnv({ ...envB, ccache: `FILE:${join(dir, 'cc-late')}` });
      await late.step('');
      report(
        'env read at step, not at initializeClient (no principal)',
        true,
        `cc-late: ${klist(`FILE:${join(dir, 'cc-late')}`).split('\n')[1]}`,
      );
      // (g) no switching at all: one client keytab holding both accounts' keys, a DIR: ccache
      // collection, and the `principal` option choosing the account per connection.
      const merged = join(dir, 'merged.keytab');
      writeFileSync(
        merged,
        Buffer.concat([
          readFileSync(join(dir, 'svc-a.keytab')),
          readFileSync(join(dir, 'svc-b.keytab')).subarray(2),
        ]),
      );
      mkdirSync(join(dir, 'ccdir'));
      const envMerged: KrbEnv = {
        config: conf,
        clientKeytab: `FILE:${merged}`,
        ccache: `DIR:${join(dir, 'ccdir')}`,
      };
      useEnv(envMerged);
      const ma = await bindAndSearch(samba, {
        service: SERVICE,
        policy: PLAIN,
        principal: 'svc-a@CORP.TEST',
      });
      const mb = await bindAndSearch(samba, {
        service: SERVICE,
        policy: PLAIN,
        principal: 'svc-b@CORP.TEST',
      });
      const collection = spawnSync('klist', ['-l'], {
        encoding: 'utf8',
        env: { ...process.env, KRB5CCNAME: envMerged.ccache },
      });
      report(
        'merged client keytab + DIR: collection + principal option',
        ma.entries > 0 &&
          mb.entries > 0 &&
          collection.stdout.includes('svc-a@CORP.TEST') &&
          collection.stdout.includes('svc-b@CORP.TEST'),
        `klist -l:\n${collection.stdout.trim()}`,
      );
      ma.ldap.close();
      mb.ldap.close();
      // (h) the same with a MEMORY: ccache (nothing on disk but the keytab)
      useEnv({ ...envMerged, ccache: 'MEMORY:spike-merged' });
      const memA = await failureOf(
        bindAndSearch(samba, { service: SERVICE, policy: PLAIN, principal: 'svc-a@CORP.TEST' }).then((r) =>
          r.ldap.close(),
        ),
      );
      const memB = await failureOf(
        bindAndSearch(samba, { service: SERVICE, policy: PLAIN, principal: 'svc-b@CORP.TEST' }).then((r) =>
          r.ldap.close(),
        ),
      );
      // Measured: MEMORY: is no collection, the second principal fails ("does not match desired name").
      report(
        'merged client keytab + MEMORY: ccache + principal option',
        memA === null,
        `svc-a: ${memA ?? 'bound'}; svc-b: ${memB ?? 'bound'}`,
      );
    }
  }

  // -- 4. lifetime and re-acquisition from the keytab
  try {
    console.log(`default lifetime (cc-a):\n${klist(envA.ccache)}`);
    // Which short lifetimes does Samba's KDC serve a service ticket for?
    const lives: Array<[string, string]> = [
      ['40s', '+1m'],
      ['2m', '+3m'],
      ['5m', '+6m'],
      ['10m', '+11m'],
      ['1h', '+61m'],
    ];
    let usable: [string, string] | null = null;
    let held: RawLdap | null = null;
    let control: [string, RawLdap] | null = null;
    const boundAt = performance.now();
    for (const [life, past] of lives) {
      const config = join(dir, `krb5-${life}.conf`);
      writeFileSync(
        config,
        krb5Conf([{ realm: 'CORP.TEST', kdc: '127.0.0.1:88' }], `  ticket_lifetime = ${life}`),
      );
      const env: KrbEnv = { ...envA, config, ccache: `FILE:${join(dir, `cc-${life}`)}` };
      let session: RawLdap | null = null;
      const failure = await failureOf(
        bindAndSearch(samba, { service: SERVICE, policy: PLAIN, env }).then((r) => {
          session = r.ldap;
        }),
      );
      report(
        `ticket_lifetime ${life}`,
        true,
        failure ?? `bound; ${klist(env.ccache).split('\n').slice(4, 5).join('')}`,
      );
      if (!failure && !usable) {
        usable = [life, past];
        held = session;
      } else if (!failure && !control && session) control = [life, session];
      else (session as RawLdap | null)?.close();
    }
    if (usable) {
      const [life, past] = usable;
      const ccache = `FILE:${join(dir, `cc-${life}`)}`;
      const child = spawnSync(
        'faketime',
        ['-f', past, process.execPath, ...process.execArgv, process.argv[1]!, '--child', 'bind', dir],
        {
          encoding: 'utf8',
          env: childEnv({
            SPIKE_KRB5_CONFIG: join(dir, `krb5-${life}.conf`),
            SPIKE_KEYTAB: join(dir, 'svc-a.keytab'),
            SPIKE_CCACHE: ccache,
            KRB5_TRACE: join(dir, 'trace-renew.log'),
          }),
          timeout: 60_000,
        },
      );
      const after = klist(ccache);
      report(
        `bind ${past} later (past the ${life} ticket, faketime child), same ccache + client keytab`,
        child.status === 0 &&
          readFileSync(join(dir, 'trace-renew.log'), 'utf8').includes(
            'Getting initial credentials for svc-a@CORP.TEST',
          ),
        `${(child.stdout + child.stderr).trim()}; trace: ${readFileSync(join(dir, 'trace-renew.log'), 'utf8')
          .split('\n')
          .filter((line) => /Getting initial credentials|refresh_time:/.test(line))
          .map((line) => line.replace(/^\[\d+\] /, ''))
          .join(' | ')}\n  ccache after:\n${after}`,
      );
      if (held && process.env.SPIKE_EXPIRY_WAIT) {
        const wait = Number.parseInt(past.slice(1), 10) * 60_000;
        console.log(`waiting ${wait / 1000} s with the ${life} session open...`);
        await new Promise((resolve) => setTimeout(resolve, wait));
        const session = held as RawLdap;
        const still = await failureOf(session.search(samba.baseDn, '(sAMAccountName=svc-a)', ['cn']));
        const closed =
          session.closedAt === null
            ? ''
            : `; the server closed it ${((session.closedAt - boundAt) / 1000).toFixed(0)} s after the bind`;
        report(
          `established session after its ${life} ticket expired`,
          true,
          `${still ?? 'search still works: Samba keeps the session'}${closed}`,
        );
        if (control) {
          const [controlLife, controlSession] = control;
          const ok = await failureOf(controlSession.search(samba.baseDn, '(sAMAccountName=svc-a)', ['cn']));
          report(
            `control: a ${controlLife} session opened at the same time`,
            ok === null,
            ok ?? 'still works',
          );
        }
      }
      (held as RawLdap | null)?.close();
      control?.[1].close();
    }
  } catch (error) {
    report('lifetime scenario', false, errorText(error));
  }

  // -- 5. errors as the package reports them
  {
    const errors: Array<[string, () => Promise<unknown>]> = [];
    const deadConf = join(dir, 'krb5-dead.conf');
    writeFileSync(deadConf, krb5Conf([{ realm: 'CORP.TEST', kdc: '127.0.0.1:1' }]));
    errors.push([
      'KDC unreachable (port 1)',
      () =>
        bindAndSearch(samba, {
          service: SERVICE,
          policy: PLAIN,
          env: { ...envA, config: deadConf, ccache: `FILE:${join(dir, 'cc-dead')}` },
        }),
    ]);
    const unknownConf = join(dir, 'krb5-norealm.conf');
    writeFileSync(unknownConf, krb5Conf([{ realm: 'ELSEWHERE.TEST', kdc: '127.0.0.1:88' }]));
    errors.push([
      'realm not in krb5.conf',
      () =>
        bindAndSearch(samba, {
          service: SERVICE,
          policy: PLAIN,
          env: { ...envA, config: unknownConf, ccache: `FILE:${join(dir, 'cc-norealm')}` },
        }),
    ]);
    sambaTool(samba, ['user', 'delete', 'svc-gone']);
    errors.push([
      'principal unknown (account deleted after export)',
      () =>
        bindAndSearch(samba, {
          service: SERVICE,
          policy: PLAIN,
          env: {
            ...envA,
            clientKeytab: `FILE:${join(dir, 'svc-gone.keytab')}`,
            ccache: `FILE:${join(dir, 'cc-gone')}`,
          },
        }),
    ]);
    sambaTool(samba, ['user', 'setpassword', 'svc-kvno', '--newpassword=Spike-Changed!2']);
    errors.push([
      'wrong kvno (password changed after export)',
      () =>
        bindAndSearch(samba, {
          service: SERVICE,
          policy: PLAIN,
          env: {
            ...envA,
            clientKeytab: `FILE:${join(dir, 'svc-kvno.keytab')}`,
            ccache: `FILE:${join(dir, 'cc-kvno')}`,
          },
        }),
    ]);
    errors.push([
      'missing SPN (ldap/dc2.corp.test)',
      () =>
        bindAndSearch(samba, {
          service: 'ldap@dc2.corp.test',
          policy: PLAIN,
          env: { ...envA, ccache: `FILE:${join(dir, 'cc-spn')}` },
        }),
    ]);
    errors.push([
      'SPN from the address (ldap/127.0.0.1)',
      () =>
        bindAndSearch(samba, {
          service: 'ldap@127.0.0.1',
          policy: PLAIN,
          env: { ...envA, ccache: `FILE:${join(dir, 'cc-ip')}` },
        }),
    ]);
    errors.push([
      'empty client keytab file',
      () => {
        writeFileSync(join(dir, 'empty.keytab'), Buffer.from([5, 2]));
        return bindAndSearch(samba, {
          service: SERVICE,
          policy: PLAIN,
          env: {
            ...envA,
            clientKeytab: `FILE:${join(dir, 'empty.keytab')}`,
            ccache: `FILE:${join(dir, 'cc-empty')}`,
          },
        });
      },
    ]);
    for (const [name, attempt] of errors) {
      const began = performance.now();
      const failure = await failureOf(attempt());
      report(`error: ${name}`, failure !== null, `${failure ?? 'no error'} (${ms(began)})`);
    }
    // clock skew: a child process two hours ahead, under faketime
    const began = performance.now();
    const child = spawnSync(
      'faketime',
      ['-f', '+2h', process.execPath, ...process.execArgv, process.argv[1]!, '--child', 'bind', dir],
      {
        encoding: 'utf8',
        env: childEnv({ SPIKE_KRB5_CONFIG: conf, SPIKE_KEYTAB: join(dir, 'svc-b.keytab') }),
        timeout: 60_000,
      },
    );
    report(
      'error: clock skew +2h (faketime child)',
      child.status === 0,
      `${(child.stdout + child.stderr).trim()} (${ms(began)})`,
    );
    const noSync = join(dir, 'krb5-nosync.conf');
    writeFileSync(noSync, krb5Conf([{ realm: 'CORP.TEST', kdc: '127.0.0.1:88' }], '  kdc_timesync = 0'));
    const strict = spawnSync(
      'faketime',
      ['-f', '+2h', process.execPath, ...process.execArgv, process.argv[1]!, '--child', 'bind', dir],
      {
        encoding: 'utf8',
        env: childEnv({
          SPIKE_KRB5_CONFIG: noSync,
          SPIKE_KEYTAB: join(dir, 'svc-b.keytab'),
          SPIKE_CCACHE: `FILE:${join(dir, 'cc-skew2')}`,
        }),
        timeout: 60_000,
      },
    );
    report(
      'error: clock skew +2h, kdc_timesync = 0',
      strict.status === 0,
      (strict.stdout + strict.stderr).trim(),
    );
  }
}

/** Under faketime: a fresh ccache, so the AS exchange itself meets the skew; then the bind. */
async function skewChild(dir: string): Promise<void> {
  const env: KrbEnv = {
    config: process.env.SPIKE_KRB5_CONFIG!,
    clientKeytab: `FILE:${process.env.SPIKE_KEYTAB!}`,
    ccache: process.env.SPIKE_CCACHE ?? `FILE:${join(dir, 'cc-skew')}`,
  };
  const ldap = await RawLdap.open(389);
  const failure = await failureOf(
    (async () => {
      await gssapiBind(ldap, { service: SERVICE, policy: PLAIN, env });
      const found = await ldap.search('DC=corp,DC=test', '(sAMAccountName=svc-b)', ['cn']);
      if (found.code !== 0) throw new Error(`search ${found.code}`);
    })(),
  );
  console.log(
    `clock ${new Date().toISOString()}: ${failure ?? 'bound and searched despite the skew'}; ${klist(env.ccache).split('\n').slice(1, 2).join('')}`,
  );
  ldap.close();
}

if (process.argv[2] === '--child') {
  await skewChild(process.argv[4]!);
} else {
  const dir = mkdtempSync(join(process.env.SPIKE_DIR ?? '/tmp/krb-spike', 'run-'));
  console.log(`kerberos ${kerberos.version} from ${MODULES}; private folder ${dir}`);
  try {
    await main(dir);
  } finally {
    if (!process.env.SPIKE_KEEP) rmSync(dir, { recursive: true, force: true });
  }
  console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}
