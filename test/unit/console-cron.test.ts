/**
 * The console's cron preview (src/http/assets/console-cron.js, plain browser JS) against
 * cron-parser 4, which the gateway validates with and node-schedule fires by: the same next
 * runs for expressions built from every syntax the preview handles, the same verdict on what
 * is refused, and the schedule in words.
 */
import cronParser from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CronError, describeCron, nextRuns, parseCron } from '../../src/http/assets/console-cron.js';

function serverRuns(expression: string, from: Date, count: number): number[] {
  const it = cronParser.parseExpression(expression, { currentDate: from });
  return Array.from({ length: count }, () => it.next().getTime());
}

const FROM = new Date('2025-03-14T09:26:53.000Z');

/** One list item of a field with bounds [min, max]. */
function item(min: number, max: number) {
  return fc.oneof(
    fc.integer({ min, max }).map(String),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
      .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    fc.integer({ min: 1, max: max - min + 1 }).map((s) => `*/${s}`),
    fc
      .tuple(fc.integer({ min, max }), fc.integer({ min, max }), fc.integer({ min: 1, max: 12 }))
      .map(([a, b, s]) => `${Math.min(a, b)}-${Math.max(a, b)}/${s}`),
    fc.tuple(fc.integer({ min, max }), fc.integer({ min: 1, max: 20 })).map(([a, s]) => `${a}/${s}`),
  );
}

function field(min: number, max: number) {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('*') },
    {
      weight: 4,
      arbitrary: fc.array(item(min, max), { minLength: 1, maxLength: 3 }).map((a) => a.join(',')),
    },
  );
}

const expression = fc
  .tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12), field(0, 7))
  .map((fields) => fields.join(' '));

describe('console cron preview', () => {
  it('gives the same next five runs as cron-parser, or refuses what it refuses', () => {
    fc.assert(
      fc.property(expression, fc.integer({ min: 0, max: 4 * 365 * 86_400 }), (expr, offset) => {
        const from = new Date(FROM.getTime() + offset * 1000);
        let server: number[] | Error;
        try {
          server = serverRuns(expr, from, 5);
        } catch (err) {
          server = err as Error;
        }
        let console: number[] | Error;
        try {
          console = nextRuns(expr, 5, from).map((d) => d.getTime());
        } catch (err) {
          console = err as Error;
        }
        if (server instanceof Error) {
          // cron-parser also ends with "out of the timespan" on dates that never come (31 February).
          if (console instanceof Error) expect(console).toBeInstanceOf(CronError);
          else expect(console.length, `${expr}: ${server.message}`).toBeLessThan(5);
          return;
        }
        expect(console, expr).toEqual(server);
      }),
      { numRuns: 400 },
    );
  });

  it.each([
    ['*/30 * * * *'],
    ['0 2 * * *'],
    ['15 6 * * mon-fri'],
    ['0 0 1,15 * 5'],
    ['30 */6 * * *'],
    ['0 0 29 2 *'],
    ['*/10 * * * * *'],
    ['0 9 * jan,jul sun'],
    ['0 0 * * 7'],
    ['0 0 1-31 * 1'],
    ['0 0 5 * 0-6'],
  ])('%s: the same runs as cron-parser', (expr) => {
    expect(nextRuns(expr, 5, FROM).map((d) => d.getTime())).toEqual(serverRuns(expr, FROM, 5));
  });

  it.each([
    ['*/30 * * * *', 'every 30 minutes'],
    ['* * * * *', 'every minute'],
    ['0 * * * *', 'every hour'],
    ['5 * * * *', 'every hour at minute 5'],
    ['0 2 * * *', 'every day at 02:00'],
    ['30 6 * * 1', 'every Monday at 06:30'],
    ['0 7 * * 1-5', 'every weekday at 07:00'],
    ['0 7 * * 1,3', 'at 07:00, on Mondays and Wednesdays'],
    ['*/10 * * * 1-5', 'every 10 minutes, on weekdays'],
    ['0 0 1,15 * 5', 'at 00:00, on day 1 and 15 of the month or on Fridays'],
    ['0 */4 * * *', 'every 4 hours at minute 0'],
    ['0 0 1 * *', 'at 00:00, on day 1 of the month'],
    ['0 3 * 1,7 *', 'every day at 03:00, in January and July'],
    ['*/15 * * * * *', 'every 15 seconds'],
  ])('%s reads "%s"', (expr, words) => {
    expect(describeCron(expr)).toBe(words);
  });

  it.each([
    ['', 'empty'],
    ['* * * *', '5 fields'],
    ['60 * * * *', 'minute: 60 is outside 0–59'],
    ['* 24 * * *', 'hour: 24 is outside 0–23'],
    ['* * * * 8', 'day of week: 8 is outside 0–7'],
    ['*/0 * * * *', 'minute step: 0 is outside'],
    ['0 0 30 2 *', 'February has no day 30'],
    ['0 0 * * funday', 'not a name cron knows'],
    ['5-1 * * * *', 'runs backwards'],
    ['0 0 1W * *', 'characters cron refuses'],
  ])('refuses "%s" (%s), as the gateway does', (expr, reason) => {
    expect(() => parseCron(expr)).toThrow(reason);
    expect(() => cronParser.parseExpression(expr)).toSatisfy((f: () => unknown) => {
      // The gateway also refuses what has not 5 or 6 fields, before cron-parser (connection-input.ts).
      if (expr.trim().split(/\s+/).length < 5) return true;
      try {
        f();
        return false;
      } catch {
        return true;
      }
    });
  });

  it('says L and # are accepted but not previewed', () => {
    expect(() => parseCron('0 0 L * *')).toThrow(expect.objectContaining({ unsupported: true }));
    expect(cronParser.parseExpression('0 0 L * *').next()).toBeTruthy();
  });
});
