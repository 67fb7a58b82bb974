import { describe, expect, it } from 'vitest';
import { DEFAULT_SCHEDULE } from '../../src/model/connection.js';
import { scheduleInterval } from '../../src/sync/scheduler.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('scheduleInterval', () => {
  it('is 30 minutes for the default schedule', () => {
    expect(scheduleInterval(DEFAULT_SCHEDULE)).toBe(30 * MINUTE);
    expect(scheduleInterval('*/30 * * * *')).toBe(30 * MINUTE);
  });

  it('is one hour for an hourly schedule', () => {
    expect(scheduleInterval('0 * * * *')).toBe(HOUR);
  });

  it('does not depend on where in the interval it is asked', () => {
    for (const from of ['2025-03-10T10:00:00Z', '2025-03-10T10:29:59Z', '2025-03-10T10:45:00Z']) {
      expect(scheduleInterval('*/30 * * * *', new Date(from))).toBe(30 * MINUTE);
    }
  });

  it('handles other common schedules', () => {
    expect(scheduleInterval('*/5 * * * *')).toBe(5 * MINUTE);
    expect(scheduleInterval('15 3 * * *')).toBe(24 * HOUR);
    expect(scheduleInterval('0 */15 * * * *')).toBe(15 * MINUTE);
  });

  it('measures the gap that starts at the given time, for uneven schedules', () => {
    const from = new Date(2025, 2, 10, 0, 30);
    // 01:00 and 02:00 of local time follow 00:30: one hour apart.
    expect(scheduleInterval('0 1,2,9 * * *', from)).toBe(HOUR);
    // 02:00 and 09:00 follow 01:30: seven hours apart.
    expect(scheduleInterval('0 1,2,9 * * *', new Date(2025, 2, 10, 1, 30))).toBe(7 * HOUR);
  });
});
