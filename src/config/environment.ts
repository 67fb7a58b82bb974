/**
 * The one place that reads the environment (src/config/production-mode.ts,
 * the one place that writes it, says why it must). Every variable of
 * ../shared/contract/RUNTIME.md (plus dirgate's own options) is parsed and
 * validated here, once, at start; all problems are reported together, each
 * naming its variable. Other modules take the values from here, and a caller
 * that would change one (the dirgate command's --data-dir, --port, --host)
 * passes overrides instead of writing the environment.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'expected host or host:port');

const redisUrl = z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' });

const boolFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => ['true', '1', 'yes'].includes(v));

/**
 * A bearer token. Whitespace is refused, not trimmed: a header carries the
 * token up to the first space (and clients and proxies strip the ends), so
 * a token with a space or a stray newline from `export X="$(cat file)"`
 * could never be presented, or would be a different token than the one the
 * operator copied.
 */
const token = z
  .string()
  .min(16, 'must be at least 16 characters')
  .regex(/^\S*$/, 'must not contain whitespace (spaces, tabs, line breaks)');

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DIRGATE_DATA_DIR: z.string().min(1).default('./data'),
  DIRGATE_NODE_NAME: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s]+$/, 'must not contain spaces')
    .optional(),
  DIRGATE_ADMIN_TOKEN: token.optional(),
  DIRGATE_READER_TOKEN: token.optional(),
  DIRGATE_DNS_SERVERS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      for (const item of list) {
        if (!hostPort.safeParse(item).success) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port` });
        }
      }
      return list;
    }),
  DIRGATE_CONFIG_STORE: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || /^(redis|rediss|sqlite):\/\//.test(v),
      'expected redis://… or sqlite://…',
    ),
  DIRGATE_PUBSUB: redisUrl.optional(),
  DIRGATE_SECRET_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex characters (a 256-bit key)')
    .optional(),
  /**
   * The fingerprint a start refused for a lost secret key printed: given, that start discards
   * the sealed bind passwords it names instead (src/store/key-check.ts). Any other value does nothing.
   */
  DIRGATE_FORGET_BIND_PASSWORDS: z
    .string()
    .regex(/^[0-9a-fA-F]{16}$/, 'expected the 16 hex characters a refused start printed')
    .optional(),
  DIRGATE_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Share of the cache a sync may remove before it is held for confirmation. */
  DIRGATE_DELETE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  /**
   * The shortest time between two runs a connection's schedule may ask for: refuses typos such
   * as "every minute of every 30th hour" meant as every 30 minutes, or a seconds field that
   * would read the whole directory every second.
   */
  DIRGATE_MIN_SCHEDULE_INTERVAL_MS: z.coerce.number().int().min(1000).max(86_400_000).default(300_000),
  /** Run schedules and the start-up sync (tests turn this off to drive syncs by hand). */
  DIRGATE_SCHEDULER: boolFlag.default(true),
  /** Operation names that label the GraphQL metrics besides the known ones (another client's). */
  DIRGATE_METRICS_OPERATIONS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const names = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      for (const name of names) {
        if (!/^[_A-Za-z][_0-9A-Za-z]*$/.test(name))
          ctx.addIssue({ code: 'custom', message: `"${name}" is not a GraphQL operation name` });
      }
      // Each name is a series Prometheus keeps: the list is what bounds them.
      if (names.length > 200) ctx.addIssue({ code: 'custom', message: 'at most 200 names' });
      return names;
    }),
  DIRGATE_LDAP_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(120000).default(5000),
  DIRGATE_LDAP_OPERATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(600000).default(30000),
  DIRGATE_LDAP_DNS_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(3000),
  DIRGATE_LDAP_PAGE_SIZE: z.coerce.number().int().min(1).max(100000).default(1000),
  DIRGATE_LDAP_RANGE_SIZE: z.coerce.number().int().min(1).max(100000).default(1500),
  /** Bounds on what a directory may send (src/ldap/limits.ts): past one, the run fails and says which. */
  DIRGATE_LDAP_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(64 * 1024 * 1024),
  DIRGATE_LDAP_MAX_ENTRIES: z.coerce.number().int().min(1).max(100_000_000).default(2_000_000),
  DIRGATE_LDAP_MAX_VALUES: z.coerce.number().int().min(1).max(100_000_000).default(1_000_000),
  /** A whole run, from its start to its commit (default 30 min). */
  DIRGATE_SYNC_RUN_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(7 * 24 * 3600 * 1000)
    .default(30 * 60 * 1000),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly nodeName: string;
  readonly adminToken: string | null;
  readonly readerToken: string | null;
  readonly dnsServers: readonly string[];
  readonly configStore: string | null;
  readonly pubsub: string | null;
  readonly secretKey: string | null;
  /** DIRGATE_FORGET_BIND_PASSWORDS, lower-case. */
  readonly forgetBindPasswords: string | null;
  readonly logLevel: z.infer<typeof schema>['DIRGATE_LOG_LEVEL'];
  readonly deleteThreshold: number;
  readonly minScheduleIntervalMs: number;
  readonly scheduler: boolean;
  /** DIRGATE_METRICS_OPERATIONS: operation names labelled as themselves in the metrics. */
  readonly metricsOperations: readonly string[];
  readonly ldap: {
    readonly connectTimeoutMs: number;
    readonly operationTimeoutMs: number;
    readonly dnsTimeoutMs: number;
    readonly pageSize: number;
    readonly rangeSize: number;
    readonly maxMessageBytes: number;
    readonly maxEntries: number;
    readonly maxValuesPerAttribute: number;
  };
  /** DIRGATE_SYNC_RUN_TIMEOUT_MS: how long one run may take before it fails. */
  readonly syncRunTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Variables given in place of the environment's, by name; an undefined one is not given. */
export type ConfigOverrides = Partial<Record<keyof typeof schema.shape, string>>;

/** This process's configuration: its environment, with `overrides` winning. */
export function loadProcessConfig(overrides: ConfigOverrides = {}): Config {
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined);
  return loadConfig({ ...process.env, ...Object.fromEntries(given) });
}

/** Parses `env`; throws ConfigError listing every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // An empty variable means "not set", as shells and service managers often export them that way.
  const present = Object.fromEntries(
    Object.keys(schema.shape).flatMap((k) => (env[k] !== undefined && env[k] !== '' ? [[k, env[k]]] : [])),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(environment)'}: ${i.message}`),
    );
  }
  const e = parsed.data;
  // One token for both roles would make every reader an admin (roleFor tries the admin token first).
  if (e.DIRGATE_READER_TOKEN !== undefined && e.DIRGATE_READER_TOKEN === e.DIRGATE_ADMIN_TOKEN) {
    throw new ConfigError([
      'DIRGATE_READER_TOKEN: must differ from DIRGATE_ADMIN_TOKEN (a reader would get the admin role)',
    ]);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DIRGATE_DATA_DIR),
    nodeName: e.DIRGATE_NODE_NAME ?? hostname(),
    adminToken: e.DIRGATE_ADMIN_TOKEN ?? null,
    readerToken: e.DIRGATE_READER_TOKEN ?? null,
    dnsServers: e.DIRGATE_DNS_SERVERS,
    configStore: e.DIRGATE_CONFIG_STORE ?? null,
    pubsub: e.DIRGATE_PUBSUB ?? null,
    secretKey: e.DIRGATE_SECRET_KEY ?? null,
    forgetBindPasswords: e.DIRGATE_FORGET_BIND_PASSWORDS?.toLowerCase() ?? null,
    logLevel: e.DIRGATE_LOG_LEVEL,
    deleteThreshold: e.DIRGATE_DELETE_THRESHOLD,
    minScheduleIntervalMs: e.DIRGATE_MIN_SCHEDULE_INTERVAL_MS,
    scheduler: e.DIRGATE_SCHEDULER,
    metricsOperations: e.DIRGATE_METRICS_OPERATIONS,
    ldap: {
      connectTimeoutMs: e.DIRGATE_LDAP_CONNECT_TIMEOUT_MS,
      operationTimeoutMs: e.DIRGATE_LDAP_OPERATION_TIMEOUT_MS,
      dnsTimeoutMs: e.DIRGATE_LDAP_DNS_TIMEOUT_MS,
      pageSize: e.DIRGATE_LDAP_PAGE_SIZE,
      rangeSize: e.DIRGATE_LDAP_RANGE_SIZE,
      maxMessageBytes: e.DIRGATE_LDAP_MAX_MESSAGE_BYTES,
      maxEntries: e.DIRGATE_LDAP_MAX_ENTRIES,
      maxValuesPerAttribute: e.DIRGATE_LDAP_MAX_VALUES,
    },
    syncRunTimeoutMs: e.DIRGATE_SYNC_RUN_TIMEOUT_MS,
  };
}

/**
 * How output looks. Read apart from loadConfig: the logger and the dirgate
 * command need these before (or without) a configuration, and a value they
 * do not know falls back to the default instead of stopping the process.
 */
export interface OutputSettings {
  /** DIRGATE_LOG_FORMAT, `json` or `pretty` in any case; null when unset or anything else (then: by terminal). */
  readonly logFormat: 'json' | 'pretty' | null;
  /** NO_COLOR set and not empty (https://no-color.org): no colours anywhere. */
  readonly noColor: boolean;
  /** TERM=dumb: a terminal that shows escape codes as text. */
  readonly dumbTerminal: boolean;
}

export function outputSettings(env: NodeJS.ProcessEnv = process.env): OutputSettings {
  const format = env.DIRGATE_LOG_FORMAT?.trim().toLowerCase();
  return {
    logFormat: format === 'json' || format === 'pretty' ? format : null,
    noColor: Boolean(env.NO_COLOR),
    dumbTerminal: env.TERM === 'dumb',
  };
}

/** What the dirgate command reads besides the service's configuration. */
export interface CommandSettings {
  /** DIRGATE_CLI_NAME: the name the command calls itself in messages (bin/dirgate.mjs sets it; default `dirgate`). */
  readonly name: string;
  /** DIRGATE_URL: the gateway `dirgate sync` runs on; null when unset (then: HOST:PORT). */
  readonly gatewayUrl: string | null;
  /** DIRGATE_BIND_PASSWORD: the bind password `dirgate test-connection` uses without --password-file. */
  readonly bindPassword: string | undefined;
}

export function commandSettings(env: NodeJS.ProcessEnv = process.env): CommandSettings {
  return {
    name: env.DIRGATE_CLI_NAME ?? 'dirgate',
    gatewayUrl: env.DIRGATE_URL || null,
    bindPassword: env.DIRGATE_BIND_PASSWORD,
  };
}
