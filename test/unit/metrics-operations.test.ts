/**
 * The operation names that label metrics as themselves (src/metrics.ts):
 * every operation the gateway's own clients send (status page, console,
 * dirgate command) and every documented one is among them, and anything
 * else is `other`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/environment.js';
import { KNOWN_OPERATIONS, Metrics } from '../../src/metrics.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NAMED = /\b(?:query|mutation|subscription)\s+([A-Z][A-Za-z0-9_]*)/g;

function namesIn(text: string): string[] {
  return [...text.matchAll(NAMED)].map((m) => m[1] as string);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

describe('operation labels', () => {
  it("know every operation the gateway's own clients send", () => {
    const sent = new Set(sources(path.join(ROOT, 'src')).flatMap((f) => namesIn(readFileSync(f, 'utf8'))));
    expect(sent.size).toBeGreaterThan(5);
    const unknown = [...sent].filter((n) => !KNOWN_OPERATIONS.includes(n));
    expect(unknown, 'add these to KNOWN_OPERATIONS in src/metrics.ts').toEqual([]);
  });

  it('know every documented operation', () => {
    const dir = path.join(ROOT, 'test/operations');
    const documented = readdirSync(dir).flatMap((f) =>
      // The directory file ends with operations of the tests alone.
      namesIn(readFileSync(path.join(dir, f), 'utf8').split('# Directory API tests')[0] as string),
    );
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((n) => !KNOWN_OPERATIONS.includes(n))).toEqual([]);
  });

  it('label a known name as itself, an unnamed operation anonymous, any other name other', () => {
    const metrics = new Metrics({ operations: ['MailGatewaySearch'] });
    expect(metrics.operationLabel('Autocomplete')).toBe('Autocomplete');
    expect(metrics.operationLabel('MailGatewaySearch')).toBe('MailGatewaySearch');
    expect(metrics.operationLabel(undefined)).toBe('anonymous');
    expect(metrics.operationLabel(null)).toBe('anonymous');
    expect(metrics.operationLabel('')).toBe('anonymous');
    expect(metrics.operationLabel('Probe123')).toBe('other');
    expect(new Metrics().operationLabel('MailGatewaySearch')).toBe('other');
  });

  it('take more names from DIRGATE_METRICS_OPERATIONS, GraphQL names only, at most 200', () => {
    expect(loadConfig({ DIRGATE_METRICS_OPERATIONS: ' Lookup, Rules ,' }).metricsOperations).toEqual([
      'Lookup',
      'Rules',
    ]);
    expect(loadConfig({}).metricsOperations).toEqual([]);
    expect(() => loadConfig({ DIRGATE_METRICS_OPERATIONS: 'Lookup, not-a-name' })).toThrow(ConfigError);
    const many = Array.from({ length: 201 }, (_, i) => `Op${i}`).join(',');
    expect(() => loadConfig({ DIRGATE_METRICS_OPERATIONS: many })).toThrow(/at most 200 names/);
  });
});
