// The console's one way to the gateway: the public GraphQL API over HTTP POST with the token of this
// tab (sessionStorage, the key the status page uses), and the role that token has.

export const TOKEN_KEY = 'dirgate-token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export class AuthError extends Error {}

/** GraphQL errors of one response; `byField` maps an input field (servers[2] → servers) to its message. */
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.errors = errors;
  }

  get code() {
    return this.errors[0]?.extensions?.code ?? null;
  }

  byField() {
    const fields = new Map();
    for (const e of this.errors) {
      const field = e.extensions?.field;
      if (e.extensions?.code !== 'BAD_USER_INPUT' || typeof field !== 'string') continue;
      const name = field.replace(/\[\d+\]$/, '');
      // The message starts with the field's own name: the form shows it beside the field already.
      const text = e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
      if (!fields.has(name)) fields.set(name, field === name ? text : `${field}: ${text}`);
    }
    return fields;
  }
}

/** Runs an operation; resolves with `data`, rejects with ApiError (or AuthError for a refused token). */
export async function gql(query, variables) {
  const response = await fetch(`${location.origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token()}` },
    body: JSON.stringify({ query, variables: variables ?? {} }),
  });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) throw new AuthError('the token was not accepted');
  if (body.errors?.length) throw new ApiError(body.errors);
  if (!body.data) throw new ApiError([{ message: `the gateway answered ${response.status}` }]);
  return body.data;
}

// The token's role, as the gateway states it (viewer): asked once per token, read by every role.
const VIEWER = 'query ConsoleViewer { viewer { role } }';
let roleFor = { token: null, role: null };

/** 'ADMIN' or 'READER' for this tab's token (READER when in doubt: the console then offers less). */
export async function role() {
  const current = token();
  if (roleFor.token === current && roleFor.role) return roleFor.role;
  try {
    const { viewer } = await gql(VIEWER);
    const found = viewer?.role === 'ADMIN' ? 'ADMIN' : 'READER';
    roleFor = { token: current, role: found };
    return found;
  } catch (err) {
    if (err instanceof AuthError) throw err;
    // Not remembered: the next page asks again.
    return 'READER';
  }
}

export function forgetRole() {
  roleFor = { token: null, role: null };
}

// The gateway fires schedules in its own time zone (node { timeZone }); it does not change while
// the page is open, so it is asked once.
const GATEWAY_ZONE = 'query ConsoleGatewayZone { node { timeZone } }';
let gatewayZone = null;

/** The gateway's IANA time zone, or null when it does not say or this browser does not know it. */
export async function gatewayTimeZone() {
  if (gatewayZone) return gatewayZone;
  const zone = (await gql(GATEWAY_ZONE)).node?.timeZone ?? null;
  if (!zone) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    return null;
  }
  gatewayZone = zone;
  return zone;
}
