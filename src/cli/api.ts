/**
 * The running gateway's public GraphQL API as the command reaches it: over
 * HTTP, with the data folder's admin token (context.ts adminToken), the
 * address from --url, DIRGATE_URL or HOST:PORT. Errors keep what the API
 * said of them (code, and for BAD_USER_INPUT the field and reason), so that
 * a command can name the flag that was refused.
 */
import type { Config } from '../config/environment.js';
import { commandSettings } from '../config/environment.js';
import { type ParsedValues, stringOption, UsageError } from './command.js';
import { adminToken, gatewayBase } from './context.js';

export interface ApiErrorDetail {
  readonly message: string;
  readonly code: string | null;
  /** BAD_USER_INPUT: the input field refused, e.g. `schedule` or `servers[0]`. */
  readonly field: string | null;
  readonly reason: string | null;
}

/** The gateway answered with errors (or no data). The message is the server's text: print it cleaned. */
export class ApiError extends Error {
  constructor(
    readonly base: string,
    readonly errors: readonly ApiErrorDetail[],
    status: number,
  ) {
    super(`${base}: ${errors.length ? errors.map((e) => e.message).join('; ') : `HTTP ${status}`}`);
  }

  /** The first BAD_USER_INPUT error that names a field. */
  badInput(): (ApiErrorDetail & { readonly field: string }) | null {
    const found = this.errors.find((e) => e.code === 'BAD_USER_INPUT' && e.field !== null);
    return found ? { ...found, field: found.field ?? '' } : null;
  }
}

interface RawError {
  readonly message?: unknown;
  readonly extensions?: { readonly code?: unknown; readonly field?: unknown; readonly reason?: unknown };
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export class GatewayApi {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  async call<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const res = await fetch(`${this.base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json().catch(() => ({}))) as { data?: T | null; errors?: RawError[] };
    if (res.status === 401) {
      throw new UsageError(
        `the gateway at ${this.base} refused the admin token (rotated? restart the gateway, or check DIRGATE_ADMIN_TOKEN)`,
      );
    }
    if (body.errors?.length || !body.data) {
      throw new ApiError(
        this.base,
        (body.errors ?? []).map((e) => ({
          message: str(e.message) ?? 'error',
          code: str(e.extensions?.code),
          field: str(e.extensions?.field),
          reason: str(e.extensions?.reason),
        })),
        res.status,
      );
    }
    return body.data;
  }
}

/** Whether a gateway serves at `base` (its /readyz answers 200). */
export async function answers(base: string): Promise<boolean> {
  try {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1500) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The `--gateway` option of every command that works through a running gateway. */
export const GATEWAY_OPTION = {
  type: 'string',
  value: 'URL',
  help: 'the running gateway (default: $DIRGATE_URL, else HOST:PORT)',
} as const;

export const JSON_OPTION = { type: 'boolean', help: 'print JSON (for scripts) instead of a table' } as const;

/** The running gateway of this configuration (or --gateway), with the admin token; refuses when none answers. */
export async function gatewayApi(values: ParsedValues, config: Config): Promise<GatewayApi> {
  const given = stringOption(values, 'gateway');
  const base = gatewayBase(config, given);
  if (!(await answers(base))) {
    const how = (given ?? commandSettings().gatewayUrl) ? '' : ' (or give --gateway URL)';
    throw new UsageError(`no gateway answers at ${base}/readyz: start it (dirgate serve)${how}`);
  }
  return new GatewayApi(base, await adminToken(config));
}
