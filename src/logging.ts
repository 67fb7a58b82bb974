/**
 * The process logger: JSON lines when stdout is a file or a pipe (log
 * collectors), human-readable lines (pino-pretty, in this thread, no worker)
 * when it is a terminal. `DIRGATE_LOG_FORMAT=json|pretty` overrides the
 * guess. Secrets are redacted by key wherever they appear in a log object;
 * error messages that could carry a bind password are scrubbed where they
 * are made (src/ldap/errors.ts).
 */
import pino from 'pino';
import pretty from 'pino-pretty';
import { outputSettings } from './config/environment.js';

export type AppLogger = pino.Logger;
export type LogFormat = 'json' | 'pretty';

/** Keys whose values never reach a log line, at the top level and one or two levels down. */
const SECRET_KEYS = [
  'bindPassword',
  'bindPasswordSealed',
  // A KERBEROS connection's keytab (#17): the service account's keys, base64 in input, sealed at rest.
  'keytab',
  'keytabSealed',
  'password',
  'authorization',
  'token',
  'adminToken',
  'readerToken',
  'secretKey',
];

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

/** `json` unless the output is a terminal; the format wanted (DIRGATE_LOG_FORMAT) wins when given. */
export function logFormat(wanted: LogFormat | null, isTty: boolean): LogFormat {
  return wanted ?? (isTty ? 'pretty' : 'json');
}

export interface LoggerOptions {
  readonly name?: string;
  /** Default: json unless stdout is a terminal (see logFormat). */
  readonly format?: LogFormat;
  /** File descriptor written to: 1 (stdout, the service) or 2 (stderr, the CLI's foreground commands). */
  readonly fd?: 1 | 2;
  /** Writes JSON lines here instead (tests). */
  readonly stream?: pino.DestinationStream;
}

export function createLogger(level: string, options: LoggerOptions = {}): AppLogger {
  const fd = options.fd ?? 1;
  const isTty = (fd === 1 ? process.stdout : process.stderr).isTTY === true;
  const output = outputSettings();
  const format = options.format ?? logFormat(output.logFormat, isTty);
  const pinoOptions: pino.LoggerOptions = {
    name: options.name ?? 'dirgate',
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  if (options.stream) return pino(pinoOptions, options.stream);
  if (format === 'json') return pino(pinoOptions, pino.destination({ fd, sync: true }));
  const stream = pretty({
    sync: true,
    destination: fd,
    colorize: isTty && !output.noColor,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    singleLine: true,
  });
  return pino(pinoOptions, stream);
}
