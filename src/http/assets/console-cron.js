// Cron expressions as the gateway accepts them (cron-parser 4, which node-schedule runs): 5 fields
// (minute hour day-of-month month day-of-week) or 6 with seconds first. Pure functions, no DOM, so
// the console shows the next runs and the words without a round trip, and a unit test compares
// them with cron-parser itself.

const FIELDS = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
/** February with 29: the longest it gets, as cron-parser counts. */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export class CronError extends Error {
  /** `unsupported`: the gateway accepts the expression; only the preview cannot follow it. */
  constructor(message, unsupported = false) {
    super(message);
    this.unsupported = unsupported;
  }
}

function number(text, field) {
  if (!/^\d+$/.test(text)) throw new CronError(`${field.name}: "${text}" is not a number`);
  const n = Number(text);
  if (n < field.min || n > field.max)
    throw new CronError(`${field.name}: ${n} is outside ${field.min}–${field.max}`);
  return n;
}

/**
 * One field → the values it allows (`set`, day of week 7 read as 0) and `entries`, what it lists as
 * cron-parser lists it (duplicates of list items kept; a range ending at Sunday 7 adds Sunday 0),
 * whose length decides "any day" there.
 */
function parseField(text, field, index) {
  let source = text.toLowerCase();
  if (index === 4) source = source.replace(/[a-z]{3}/g, (m) => aliasOf(m, MONTHS, 1, field));
  if (index === 5) source = source.replace(/[a-z]{3}/g, (m) => aliasOf(m, DAYS, 0, field));
  const allowed = index === 3 ? /^[\d*?,/L-]+$/i : index === 5 ? /^[\d*?,/L#-]+$/i : /^[\d*,/-]+$/;
  if (!allowed.test(source)) throw new CronError(`${field.name}: "${text}" has characters cron refuses`);
  if (/[l#]/.test(source))
    throw new CronError(`${field.name}: "${text}" (L and #) is accepted but not previewed here`, true);
  const entries = [];
  for (const item of source.split(',')) {
    if (item === '') throw new CronError(`${field.name}: "${text}" has an empty list item`);
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) throw new CronError(`${field.name}: "${item}" has two steps`);
    const step =
      stepText === undefined ? 1 : number(stepText, { name: `${field.name} step`, min: 1, max: 1e9 });
    let lo;
    let hi;
    let isRange = true;
    if (range === '*' || range === '?') {
      lo = field.min;
      hi = field.max;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined || a === '' || b === '')
        throw new CronError(`${field.name}: "${range}" is not a range`);
      lo = number(a, field);
      hi = number(b, field);
      if (lo > hi) throw new CronError(`${field.name}: the range ${range} runs backwards`);
    } else {
      lo = number(range, field);
      // "5/15" means from 5 to the end, every 15.
      isRange = stepText !== undefined;
      hi = isRange ? field.max : lo;
    }
    if (!isRange) {
      entries.push(index === 5 ? lo % 7 : lo);
      continue;
    }
    const run = new Set(index === 5 && hi % 7 === 0 ? [0] : []);
    for (let v = lo, k = 0; v <= hi; v++, k++) if (k % step === 0) run.add(v);
    entries.push(...run);
  }
  return withEntries(entries, index === 5);
}

function withEntries(entries, weekday) {
  const values = [...new Set(entries.map((v) => (weekday ? v % 7 : v)))].sort((a, b) => a - b);
  return { values, set: new Set(values), count: entries.length, entries };
}

function aliasOf(match, names, offset, field) {
  const i = names.indexOf(match);
  if (i < 0) throw new CronError(`${field.name}: "${match}" is not a name cron knows`);
  return String(i + offset);
}

/**
 * Parses an expression; throws CronError with the reason in words. Same field count and ranges as
 * the gateway (5 or 6 fields); L, W and # are refused here (the gateway takes L and #).
 */
export function parseCron(expression) {
  const text = String(expression ?? '').trim();
  if (text === '') throw new CronError('the schedule is empty');
  const parts = text.split(/\s+/);
  if (parts.length < 5 || parts.length > 6)
    throw new CronError(
      `a cron expression has 5 fields (or 6 with seconds first); this one has ${parts.length}`,
    );
  const all = parts.length === 5 ? ['0', ...parts] : parts;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = all.map((p, i) => parseField(p, FIELDS[i], i));
  // One month named: a day it does not have is refused, the others dropped (as cron-parser does).
  if (month.values.length === 1) {
    const days = DAYS_IN_MONTH[month.values[0] - 1];
    if (dayOfMonth.values[0] > days)
      throw new CronError(`${MONTH_NAMES[month.values[0] - 1]} has no day ${dayOfMonth.values[0]}`);
    Object.assign(
      dayOfMonth,
      withEntries(
        dayOfMonth.entries.filter((d) => d <= days),
        false,
      ),
    );
  }
  return { text, hasSeconds: parts.length === 6, second, minute, hour, dayOfMonth, month, dayOfWeek };
}

// cron-parser's rule: a day of month field listing as many days as the month has, and a day of week
// field listing all eight (0-7), mean any day; both restricted, either one matching will do.
function anyDayOfWeek(cron) {
  return cron.dayOfWeek.count === 8;
}

const QUARTER_HOUR = 900_000;
const HOUR = 3_600_000;
/** cron-parser gives up a search after this many steps ("loop limit exceeded"). */
const LOOP_LIMIT = 10_000;
const offsetReaders = new Map();

/**
 * The zone's offset from UTC (minutes) at an instant. Since 1970 every zone changes its offset
 * on a quarter hour of UTC, so one reading per quarter hour is exact. Without a zone: the JS
 * runtime's own (the browser's).
 */
function offsetReader(timeZone) {
  const known = offsetReaders.get(timeZone ?? null);
  if (known) return known;
  const format = timeZone
    ? new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      })
    : null;
  const cache = new Map();
  const read = (ts) => {
    const bucket = Math.floor(ts / QUARTER_HOUR);
    let offset = cache.get(bucket);
    if (offset !== undefined) return offset;
    const at = bucket * QUARTER_HOUR;
    if (format) {
      const p = {};
      for (const part of format.formatToParts(new Date(at))) p[part.type] = Number(part.value);
      const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
      offset = Math.round((wall - at) / 60_000);
    } else offset = -new Date(at).getTimezoneOffset();
    if (cache.size > 100_000) cache.clear();
    cache.set(bucket, offset);
    return offset;
  };
  offsetReaders.set(timeZone ?? null, read);
  return read;
}

/**
 * An instant with its wall clock in a zone, and the calendar steps cron-parser takes on one
 * (it uses luxon): hours, minutes and seconds are added as elapsed time, days and months on the
 * wall clock; a wall time that does not exist (a DST gap) resolves as luxon resolves it.
 */
class ZonedTime {
  constructor(offsetAt, ts) {
    this.offsetAt = offsetAt;
    this.ts = ts;
    this.o = offsetAt(ts);
    const d = new Date(ts + this.o * 60_000);
    this.c = {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      millisecond: d.getUTCMilliseconds(),
    };
    this.weekday = d.getUTCDay();
  }

  /** The instant showing wall clock `c`, the current offset tried first (luxon's fixOffset). */
  atWall(c) {
    const local = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second, c.millisecond);
    let guess = local - this.o * 60_000;
    const o2 = this.offsetAt(guess);
    if (o2 === this.o) return new ZonedTime(this.offsetAt, guess);
    guess -= (o2 - this.o) * 60_000;
    const o3 = this.offsetAt(guess);
    if (o2 === o3) return new ZonedTime(this.offsetAt, guess);
    // In a gap: moved on by its length.
    return new ZonedTime(this.offsetAt, local - Math.min(o2, o3) * 60_000);
  }

  plus(ms) {
    return new ZonedTime(this.offsetAt, this.ts + ms);
  }

  plusDays(n) {
    return this.atWall({ ...this.c, day: this.c.day + n });
  }

  plusMonths(n) {
    const month = this.c.month + n;
    const last = new Date(Date.UTC(this.c.year, month, 0)).getUTCDate();
    return this.atWall({ ...this.c, month, day: Math.min(this.c.day, last) });
  }

  startOf(unit) {
    const c = { ...this.c, millisecond: 0 };
    const order = ['second', 'minute', 'hour', 'day', 'month'];
    const upTo = order.indexOf(unit);
    if (upTo >= 1) c.second = 0;
    if (upTo >= 2) c.minute = 0;
    if (upTo >= 3) c.hour = 0;
    if (upTo >= 4) c.day = 1;
    return this.atWall(c);
  }
}

// cron-parser's CronDate steps.
function addHour(d) {
  const next = d.plus(HOUR).startOf('hour');
  return next.ts <= d.ts ? next.plus(HOUR) : next;
}

function addMinute(d) {
  const next = d.plus(60_000).startOf('minute');
  return next.ts < d.ts ? next.plus(HOUR) : next;
}

function addSecond(d) {
  const next = d.plus(1000).startOf('second');
  return next.ts < d.ts ? next.plus(HOUR) : next;
}

/**
 * The search of cron-parser 4 (CronExpression._findSchedule, forward), step for step, so that
 * the preview lands where the gateway's scheduler fires, around DST changes too. `state` carries
 * the current time and cron-parser's DST marks from one run to the next, as its iterator does.
 * Null when cron-parser would give up (its loop limit).
 */
function findNext(cron, state) {
  let d = state.current;
  const start = d.ts;
  const hourGiven = cron.hour.count !== 24;
  // _applyTimezoneShift for hours, minutes and seconds: notes an hour skipped or repeated.
  const shift = (step) => {
    const before = d.c.hour;
    d = step(d);
    const diff = d.c.hour - before;
    if (diff === 2 && hourGiven) state.dstStart = d.c.hour;
    else if (diff === 0 && d.c.minute === 0 && d.c.second === 0 && hourGiven) state.dstEnd = d.c.hour;
  };
  // ... and for days and months: a step that lands where it started is moved on an hour.
  const shiftDate = (step) => {
    const before = d.ts;
    d = step(d);
    if (d.ts === before && d.c.minute === 0 && d.c.second === 0) d = addHour(d);
  };
  for (let steps = 0; steps < LOOP_LIMIT; steps++) {
    const { c } = d;
    const dom = cron.dayOfMonth.set.has(c.day);
    const dow = cron.dayOfWeek.set.has(d.weekday);
    const domAny = cron.dayOfMonth.count >= DAYS_IN_MONTH[c.month - 1];
    const dowAny = anyDayOfWeek(cron);
    if ((!dom && (!dow || dowAny)) || (domAny && !dowAny && !dow)) {
      shiftDate((x) => x.plusDays(1).startOf('day'));
      continue;
    }
    if (!cron.month.set.has(c.month)) {
      shiftDate((x) => x.plusMonths(1).startOf('month'));
      continue;
    }
    if (!cron.hour.set.has(c.hour)) {
      if (state.dstStart !== c.hour) {
        state.dstStart = null;
        shift(addHour);
        continue;
      }
      if (!cron.hour.set.has(c.hour - 1)) {
        d = addHour(d);
        continue;
      }
    } else if (state.dstEnd === c.hour) {
      state.dstEnd = null;
      shift(addHour);
      continue;
    }
    if (!cron.minute.set.has(c.minute)) {
      shift(addMinute);
      continue;
    }
    if (!cron.second.set.has(c.second)) {
      shift(addSecond);
      continue;
    }
    if (d.ts === start) {
      shift(addSecond);
      continue;
    }
    state.current = d;
    return d;
  }
  return null;
}

/**
 * The next `count` times after `from` (exclusive) at which the gateway fires: the expression read
 * on the wall clock of `timeZone` (an IANA name; the JS runtime's own zone when left out). Fewer
 * when there are no more (31 April never comes) or cron-parser would give up searching.
 */
export function nextRuns(expression, count = 5, from = new Date(), options = {}) {
  const cron = typeof expression === 'string' ? parseCron(expression) : expression;
  const state = {
    current: new ZonedTime(offsetReader(options.timeZone), from.getTime()),
    dstStart: null,
    dstEnd: null,
  };
  const out = [];
  while (out.length < count) {
    const next = findNext(cron, state);
    if (!next) break;
    out.push(new Date(next.ts));
  }
  return out;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function list(words) {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** "every 15" when the values are an even step from the field's start, else null. */
function stepOf(values, min, max) {
  if (values.length < 2 || values[0] !== min) return null;
  const step = values[1] - values[0];
  for (let i = 1; i < values.length; i++) if (values[i] - values[i - 1] !== step) return null;
  return values.at(-1) + step > max ? step : null;
}

function minutesPhrase(cron) {
  const m = cron.minute;
  if (m.values.length === 60) return 'every minute';
  const step = stepOf(m.values, 0, 59);
  if (step) return `every ${step} minutes`;
  return null;
}

/** The schedule in words: "every 30 minutes", "every day at 02:00", "every Monday at 06:30". */
export function describeCron(expression) {
  const cron = typeof expression === 'string' ? parseCron(expression) : expression;
  const parts = [];
  const { second, minute, hour } = cron;
  const oneTime = minute.values.length === 1 && hour.values.length === 1 && second.values.length === 1;
  if (second.values.length === 60) parts.push('every second');
  else if (second.values.length > 1 || second.values[0] !== 0) {
    const step = stepOf(second.values, 0, 59);
    parts.push(step ? `every ${step} seconds` : `at second ${list(second.values.map(String))}`);
  }
  if (oneTime) {
    parts.push(`at ${pad(hour.values[0])}:${pad(minute.values[0])}`);
  } else {
    const minutes = minutesPhrase(cron);
    if (second.values.length !== 1 && minute.values.length === 60) {
      // "every second" says it all for the minute.
    } else if (minutes) parts.push(minutes);
    else if (minute.values.length === 1) parts.push(`at minute ${minute.values[0]}`);
    else parts.push(`at minutes ${list(minute.values.map(String))}`);
    if (hour.values.length !== 24) {
      const step = stepOf(hour.values, 0, 23);
      if (step && minute.values.length === 1)
        parts.splice(-1, 1, `every ${step} hours at minute ${minute.values[0]}`);
      else if (step) parts.push(`every ${step} hours`);
      else
        parts.push(`during hour${hour.values.length > 1 ? 's' : ''} ${list(hour.values.map((h) => pad(h)))}`);
    } else if (minute.values.length === 1 && second.values.length === 1) {
      parts.splice(-1, 1, minute.values[0] === 0 ? 'every hour' : `every hour at minute ${minute.values[0]}`);
    }
  }
  const domAny = cron.dayOfMonth.count >= 31;
  const dowAny = anyDayOfWeek(cron) || (domAny && cron.dayOfWeek.values.length === 7);
  const days = [];
  const weekdays = (d) => d.length === 5 && [1, 2, 3, 4, 5].every((x) => d.includes(x));
  if (!domAny) days.push(`on day ${list(cron.dayOfMonth.values.map(String))} of the month`);
  if (!dowAny) {
    const d = cron.dayOfWeek.values;
    days.push(weekdays(d) ? 'on weekdays' : `on ${list(d.map((x) => `${DAY_NAMES[x]}s`))}`);
  }
  const when = parts.join(', ');
  let text;
  if (days.length === 0) text = oneTime ? `every day ${when}` : when;
  else if (oneTime && domAny && cron.dayOfWeek.values.length === 1)
    text = `every ${DAY_NAMES[cron.dayOfWeek.values[0]]} ${when}`;
  else if (oneTime && domAny && weekdays(cron.dayOfWeek.values)) text = `every weekday ${when}`;
  else text = `${when}, ${days.join(' or ')}`;
  if (cron.month.values.length !== 12)
    text += `, in ${list(cron.month.values.map((m) => MONTH_NAMES[m - 1]))}`;
  return text;
}

function clock(s) {
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/**
 * The shortest gap between two runs, in seconds, and two times of day that make it, worked out as
 * the gateway does (connection-input.ts shortestInterval): the closest two times of day it runs at,
 * or the last of a day and the first of the next. The gateway refuses an incremental schedule
 * whose gap is under a minute; the form says so as it is typed.
 */
export function shortestGap(expression) {
  const cron = typeof expression === 'string' ? parseCron(expression) : expression;
  const times = [];
  for (const h of cron.hour.values)
    for (const m of cron.minute.values) for (const s of cron.second.values) times.push(h * 3600 + m * 60 + s);
  times.sort((x, y) => x - y);
  let seconds = Number.POSITIVE_INFINITY;
  let between = '';
  for (let i = 1; i < times.length; i++) {
    if (times[i] - times[i - 1] < seconds) {
      seconds = times[i] - times[i - 1];
      between = `${clock(times[i - 1])} and ${clock(times[i])}`;
    }
  }
  const wrap = 86_400 - (times.at(-1) - times[0]);
  if (wrap < seconds) {
    seconds = wrap;
    between = `${clock(times.at(-1))} and ${clock(times[0])} the next day`;
  }
  return { seconds, between };
}
