/**
 * The console's cron preview (src/http/assets/console-cron.js, plain browser JS) against
 * cron-parser 4, which the gateway validates with and node-schedule fires by: the same next
 * runs for expressions built from every syntax the preview handles, the same verdict on what
 * is refused, and the schedule in words.
 */
import cronParser from 'cron-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CronError,
  describeCron,
  nextRuns,
  parseCron,
  shortestGap,
} from '../../src/http/assets/console-cron.js';
import { shortestInterval } from '../../src/sync/connection-input.js';

function serverRuns(expression: string, from: Date, count: number, tz?: string): number[] {
  const it = cronParser.parseExpression(expression, { currentDate: from, ...(tz ? { tz } : {}) });
  return Array.from({ length: count }, () => it.next().getTime());
}

/** Zones with DST one way or the other, half-hour and 45-minute offsets, a 30-minute DST, midnight changes. */
const ZONES = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Europe/London',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Pacific/Chatham',
  'America/Santiago',
  'America/Havana',
  'Asia/Kathmandu',
];

/** Instants of every offset change of `zone` in 2025–2028: where the zones differ from plain arithmetic. */
function transitions(zone: string): number[] {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  const offset = (ts: number) => {
    const parts = format.formatToParts(ts);
    const n = (type: string) => Number(parts.find((x) => x.type === type)?.value);
    return Math.round(
      (Date.UTC(n('year'), n('month') - 1, n('day'), n('hour') % 24, n('minute')) - ts) / 60_000,
    );
  };
  const out: number[] = [];
  // An offset changes at most once a day: days first, then the hour within.
  for (let day = Date.UTC(2025, 0, 1); day < Date.UTC(2029, 0, 1); day += 86_400_000) {
    if (offset(day) === offset(day + 86_400_000)) continue;
    for (let t = day; t < day + 86_400_000; t += 900_000)
      if (offset(t) !== offset(t + 900_000)) out.push(t + 900_000);
  }
  return out;
}
const TRANSITIONS = new Map(ZONES.map((z) => [z, transitions(z)]));

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

  it("gives the same runs as cron-parser in the gateway's zone (tz), across DST changes", () => {
    const zoned = fc
      .tuple(
        expression,
        fc.constantFrom(...ZONES),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: -3 * 86_400, max: 86_400 }),
      )
      .map(([expr, zone, pick, offset]) => {
        const near = TRANSITIONS.get(zone) ?? [];
        // Mostly just before a change of the zone's offset; otherwise anywhere.
        const base =
          near.length && pick % 4 !== 0
            ? (near[pick % near.length] as number)
            : FROM.getTime() + pick * 86_400_000;
        return { expr, zone, from: new Date(base + offset * 1000 + (pick % 7) * 137) };
      });
    fc.assert(
      fc.property(zoned, ({ expr, zone, from }) => {
        let server: number[] | Error;
        try {
          server = serverRuns(expr, from, 5, zone);
        } catch (err) {
          server = err as Error;
        }
        let console: number[] | Error;
        try {
          console = nextRuns(expr, 5, from, { timeZone: zone }).map((d) => d.getTime());
        } catch (err) {
          console = err as Error;
        }
        if (server instanceof Error) {
          if (console instanceof Error) expect(console).toBeInstanceOf(CronError);
          else expect(console.length, `${expr} ${zone}: ${server.message}`).toBeLessThan(5);
          return;
        }
        expect(console, `${expr} in ${zone} from ${from.toISOString()}`).toEqual(server);
      }),
      // cron-parser with a zone takes milliseconds a run (luxon): fewer cases than above.
      { numRuns: 200 },
    );
  }, 60_000);

  it.each([
    // Spring forward in New York (02:00 → 03:00) and fall back (01:00–02:00 twice).
    ['30 2 * * *', 'America/New_York', '2025-03-08T12:00:00Z'],
    ['0 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z'],
    ['30 1 * * *', 'America/New_York', '2025-11-01T12:00:00Z'],
    ['*/20 1-2 * * *', 'America/New_York', '2025-11-02T04:30:00Z'],
    ['0 2 * * *', 'Europe/Berlin', '2025-03-29T12:00:00Z'],
    ['0 0 * * *', 'America/Santiago', '2025-09-05T12:00:00Z'],
    ['15 2 * * *', 'Australia/Lord_Howe', '2025-10-04T00:00:00Z'],
    ['0 9 * * 1-5', 'Asia/Kolkata', '2025-03-14T00:00:00Z'],
  ])('%s in %s from %s: the same runs as cron-parser', (expr, zone, from) => {
    const at = new Date(from);
    const runs = nextRuns(expr, 5, at, { timeZone: zone }).map((d) => d.getTime());
    expect(runs).toEqual(serverRuns(expr, at, 5, zone));
    // The zone matters: the same expression in UTC fires at other instants.
    if (zone !== 'UTC') expect(runs).not.toEqual(serverRuns(expr, at, 5, 'UTC'));
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

  it('finds the shortest gap between runs as the gateway does, which refuses incremental schedules under a minute', () => {
    const withSeconds = fc.tuple(field(0, 59), expression).map(([seconds, rest]) => `${seconds} ${rest}`);
    fc.assert(
      fc.property(fc.oneof(expression, withSeconds), (expr) => {
        let server: { ms: number; between: string };
        try {
          server = shortestInterval(expr);
          parseCron(expr);
        } catch {
          return;
        }
        const gap = shortestGap(expr);
        // A list item given twice ("0,30,0") is one run, here; the gateway's shortestInterval
        // (cron-parser keeps the duplicate) counts it as two, 0 s apart: those are left out.
        if (server.ms === 0) expect(gap.seconds, expr).toBeGreaterThan(0);
        else expect({ ms: gap.seconds * 1000, between: gap.between }, expr).toEqual(server);
      }),
      { numRuns: 400 },
    );
    expect(shortestGap('*/20 * * * * *')).toEqual({ seconds: 20, between: '00:00:00 and 00:00:20' });
    expect(shortestGap('0 23 * * *')).toEqual({
      seconds: 86_400,
      between: '23:00:00 and 23:00:00 the next day',
    });
  });
});
