// Types of console-cron.js (plain browser JS) for the unit test that imports it.
export class CronError extends Error {
  constructor(message: string, unsupported?: boolean);
  readonly unsupported: boolean;
}
export interface CronField {
  readonly values: readonly number[];
  readonly set: ReadonlySet<number>;
  readonly count: number;
}
export interface Cron {
  readonly text: string;
  readonly hasSeconds: boolean;
  readonly second: CronField;
  readonly minute: CronField;
  readonly hour: CronField;
  readonly dayOfMonth: CronField;
  readonly month: CronField;
  readonly dayOfWeek: CronField;
}
export function parseCron(expression: string): Cron;
export function nextRuns(
  expression: string | Cron,
  count?: number,
  from?: Date,
  options?: { readonly timeZone?: string },
): Date[];
export function describeCron(expression: string | Cron): string;
export function shortestGap(expression: string | Cron): {
  readonly seconds: number;
  readonly between: string;
};
