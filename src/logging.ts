/** The process logger: JSON lines, human-readable on a terminal; secrets redacted by key. */
import pino from 'pino';

export type AppLogger = pino.Logger;

export function createLogger(level: string, name = 'dirgate'): AppLogger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'bindPassword',
        '*.bindPassword',
        'password',
        '*.password',
        'authorization',
        '*.authorization',
        'token',
      ],
      censor: '[redacted]',
    },
  });
}
