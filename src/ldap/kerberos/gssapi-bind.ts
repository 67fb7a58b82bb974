/**
 * A KERBEROS connection's two steps, on our own socket before ldapts gets it:
 *
 * KERBEROS: the keytab's keys into a fresh GSSAPI client, the realm's KDCs
 *   found (kdc-discovery.ts) and written to the process's krb5.conf, then the
 *   first gss_init_sec_context: a TGT from the keys and a service ticket for
 *   ldap/<server name as configured>. Every Kerberos failure but the
 *   server's refusal happens here.
 * BIND: the SASL GSSAPI exchange (RFC 4752): the AP-REQ, the server's
 *   AP-REP, then its wrapped offer of security layers, answered with the
 *   layer we choose (sasl-layer.ts: sealing on plain LDAP, none over TLS
 *   when offered). Three round trips; after the last, with a layer, every
 *   byte goes through a SaslSocket.
 */
import type * as net from 'node:net';
import { KerberosError } from '../errors.js';
import type { LdapLimits, LdapSettings } from '../types.js';
import { encodeSaslBind, exchange, type LdapResponse, RESULT } from './bind-wire.js';
import { GssapiClient, GssapiUnavailable } from './gssapi.js';
import { findKdcs } from './kdc-discovery.js';
import { type FailureContext, kerberosFailure } from './kerberos-failure.js';
import { parseKeytab } from './keytab.js';
import { checkKeytab } from './keytab-check.js';
import { krb5Profile } from './krb5-profile.js';
import { negotiateSecurityLayer, type SaslLayer } from './sasl-layer.js';
import { SaslSocket } from './sasl-socket.js';

export interface KerberosTicket {
  readonly gss: GssapiClient;
  /** The AP-REQ for the first bind message. */
  readonly token: Buffer;
  readonly context: FailureContext;
  /** For the step's report: who, to which SPN, through which KDCs. */
  readonly detail: string;
}

/** The KERBEROS step. The caller bounds it and releases `gss` when the bind fails. */
export async function requestTicket(
  settings: Pick<LdapSettings, 'keytab' | 'kdcs'>,
  limits: LdapLimits,
  host: string,
  server: string,
  signal?: AbortSignal,
): Promise<KerberosTicket> {
  if (settings.keytab === null) {
    throw new KerberosError(
      'KERBEROS_FAILED',
      'the connection has no keytab: upload one',
      'KERBEROS',
      server,
    );
  }
  if (limits.kerberosFolder === null) {
    throw new KerberosError(
      'KERBEROS_UNAVAILABLE',
      'this process has no data folder for its Kerberos configuration',
      'KERBEROS',
      server,
    );
  }
  let summary: ReturnType<typeof checkKeytab>;
  let entries: ReturnType<typeof parseKeytab>['entries'];
  try {
    summary = checkKeytab(settings.keytab);
    entries = parseKeytab(settings.keytab).entries;
  } catch (err) {
    throw new KerberosError(
      'KERBEROS_FAILED',
      `the stored keytab is unusable: ${(err as Error).message}`,
      'KERBEROS',
      server,
      err,
    );
  }
  const found = await findKdcs(summary.realm, settings.kdcs, limits, signal);
  const context: FailureContext = {
    principal: summary.principal,
    realm: summary.realm,
    kvno: summary.kvno,
    host,
    kdcs: found.kdcs.map((k) => k.name).join(', '),
    step: 'KERBEROS',
    server,
  };
  let gss: GssapiClient;
  try {
    await krb5Profile(limits.kerberosFolder).use(
      summary.realm,
      found.kdcs.map((k) => k.endpoint),
    );
    gss = new GssapiClient({ principal: summary.principal, entries, host });
  } catch (err) {
    if (err instanceof GssapiUnavailable)
      throw new KerberosError('KERBEROS_UNAVAILABLE', err.message, 'KERBEROS', server, err);
    throw kerberosFailure(err, context);
  }
  try {
    const token = await gss.step(null);
    if (token === null) throw new Error('GSSAPI gave no first token');
    const via = found.source === 'kdcs' ? context.kdcs : `${context.kdcs} from ${found.source}`;
    return { gss, token, context, detail: `${summary.principal} → ldap/${host} (KDC ${via})` };
  } catch (err) {
    gss.release();
    throw kerberosFailure(err, context);
  }
}

export interface GssapiSession {
  /** What ldapts is given: a SaslSocket with a layer, the socket itself without. */
  readonly socket: net.Socket;
  readonly layer: SaslLayer;
}

/** The most round trips a GSSAPI bind takes (AD and Samba: 3); more is a broken server. */
const MAX_ROUND_TRIPS = 6;

/** The BIND step: the SASL exchange on `socket`, ending in a session with the chosen layer. */
export async function bindGssapi(
  socket: net.Socket,
  ticket: KerberosTicket,
  transportEncrypted: boolean,
): Promise<GssapiSession> {
  const { gss } = ticket;
  const context: FailureContext = { ...ticket.context, step: 'BIND' };
  let credentials: Buffer | null = ticket.token;
  let layer: ReturnType<typeof negotiateSecurityLayer> | null = null;
  for (let id = 1; id <= MAX_ROUND_TRIPS; id++) {
    const response: LdapResponse = await exchange(socket, encodeSaslBind(id, 'GSSAPI', credentials), id);
    if (response.resultCode === RESULT.success) {
      if (layer === null) {
        throw new KerberosError(
          'KERBEROS_FAILED',
          'the server ended the GSSAPI bind before a security layer was agreed',
          'BIND',
          context.server,
        );
      }
      if (layer.layer === 'none') {
        gss.release();
        return { socket, layer: layer.layer };
      }
      return { socket: new SaslSocket(socket, gss, layer) as unknown as net.Socket, layer: layer.layer };
    }
    if (response.resultCode !== RESULT.saslBindInProgress)
      throw refusal(response, transportEncrypted, layer?.layer ?? null, context);
    const incoming = response.serverSaslCreds ?? Buffer.alloc(0);
    if (!gss.complete) {
      try {
        credentials = (await gss.step(incoming)) ?? Buffer.alloc(0);
      } catch (err) {
        throw kerberosFailure(err, context);
      }
      continue;
    }
    if (layer !== null) break;
    try {
      const offer = gss.unwrap(incoming).data;
      layer = negotiateSecurityLayer(offer, { transportEncrypted });
      // RFC 4752 3.1: the reply is wrapped with conf_flag FALSE.
      credentials = gss.wrap(layer.reply, false);
    } catch (err) {
      if (err instanceof Error && err.name === 'SaslLayerError') {
        throw new KerberosError('SASL_LAYER_REFUSED', err.message, 'BIND', context.server, err);
      }
      throw kerberosFailure(err, context);
    }
  }
  throw new KerberosError(
    'KERBEROS_FAILED',
    `the GSSAPI bind took more than ${MAX_ROUND_TRIPS} round trips`,
    'BIND',
    context.server,
  );
}

function refusal(
  response: LdapResponse,
  transportEncrypted: boolean,
  layer: SaslLayer | null,
  context: FailureContext,
): KerberosError {
  const said = response.diagnosticMessage ? `: ${response.diagnosticMessage}` : '';
  const code = response.resultCode;
  if (code === RESULT.strongerAuthRequired || code === RESULT.unwillingToPerform) {
    const message = transportEncrypted
      ? `the server does not accept this GSSAPI bind over TLS (result ${code}${said}); Samba refuses GSSAPI over StartTLS and LDAPS whatever the layer: use ldap:// with tls NONE, where the session is sealed by Kerberos`
      : `the server refused the SASL security layer ${layer ?? 'negotiation'} (result ${code}${said})`;
    return new KerberosError('SASL_LAYER_REFUSED', message, 'BIND', context.server);
  }
  if (code === RESULT.authMethodNotSupported) {
    return new KerberosError(
      'KERBEROS_FAILED',
      `the server does not support SASL GSSAPI binds (result 7${said})`,
      'BIND',
      context.server,
    );
  }
  return new KerberosError(
    'KERBEROS_FAILED',
    `the server refused the Kerberos bind of ${context.principal} (result ${code}${said})`,
    'BIND',
    context.server,
  );
}
