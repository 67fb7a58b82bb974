import { describe, expect, it } from 'vitest';
import { outputSettings } from '../../src/config/environment.js';
import { createLogger, logFormat } from '../../src/logging.js';

describe('logFormat', () => {
  it('is JSON for files and pipes, human-readable on a terminal', () => {
    expect(logFormat(null, false)).toBe('json');
    expect(logFormat(null, true)).toBe('pretty');
  });

  it('follows DIRGATE_LOG_FORMAT whatever stdout is', () => {
    const wanted = (value: string) => outputSettings({ DIRGATE_LOG_FORMAT: value }).logFormat;
    expect(logFormat(wanted('json'), true)).toBe('json');
    expect(logFormat(wanted('PRETTY'), false)).toBe('pretty');
    expect(logFormat(wanted('xml'), false)).toBe('json');
  });

  it('never writes bind passwords, tokens or keys, at any of the first three levels', () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { stream: { write: (line: string) => void lines.push(line) } });
    const secret = 'S3cret-Value-0042';
    logger.info({ bindPassword: secret, connection: { name: 'corp', bindPassword: secret } }, 'one');
    logger.warn({ input: { settings: { password: secret } }, authorization: `Bearer ${secret}` }, 'two');
    logger.debug({ token: secret, secrets: { adminToken: secret, secretKey: secret } }, 'three');
    expect(lines).toHaveLength(3);
    const all = lines.join('');
    expect(all).not.toContain(secret);
    expect(all.match(/\[redacted\]/g)).toHaveLength(7);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ msg: 'one', connection: { name: 'corp' } });
  });
});
