/**
 * CPU time from /proc (the bench runs on Linux): a process's own, and the
 * whole machine's busy share, so that a run's wall time can be split into
 * what the gateway and the directory spent and what the shared machine's
 * other tenants took.
 */
import { readFile } from 'node:fs/promises';

/** USER_HZ is 100 on Linux: one tick is 10 ms. */
const MS_PER_TICK = 10;

/** CPU time (user + system) a process has used, in ms. */
export async function cpuMsOf(pid: number | null | undefined): Promise<number> {
  if (pid === null || pid === undefined) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (stat === null) return 0;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK; // utime, stime
}

/** The machine's CPU time so far, all cores: busy and in all, in ms. */
async function machineMs(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal; guest is inside user
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle, iowait
  return { busy: (total - idle) * MS_PER_TICK, total: total * MS_PER_TICK };
}

export interface CpuSample {
  /** Date.now() when taken. */
  readonly at: number;
  /** Per watched process, CPU ms so far. */
  readonly processes: readonly number[];
  readonly machineBusy: number;
  readonly machineTotal: number;
}

export async function cpuSample(pids: readonly (number | null | undefined)[]): Promise<CpuSample> {
  const [processes, machine] = await Promise.all([Promise.all(pids.map(cpuMsOf)), machineMs()]);
  return { at: Date.now(), processes, machineBusy: machine.busy, machineTotal: machine.total };
}

export interface CpuSpent {
  /** CPU ms each watched process spent between the two samples. */
  readonly processes: readonly number[];
  /** The share of all cores busy meanwhile, whoever used them (0–1). */
  readonly machineBusy: number;
}

export function cpuBetween(before: CpuSample, after: CpuSample): CpuSpent {
  const total = after.machineTotal - before.machineTotal;
  return {
    processes: after.processes.map((ms, i) => ms - (before.processes[i] ?? 0)),
    machineBusy: total > 0 ? (after.machineBusy - before.machineBusy) / total : 0,
  };
}

/** Samples every `intervalMs` until stopped, for runs that start on their own (the scheduler's). */
export function cpuRecorder(pids: readonly (number | null | undefined)[], intervalMs = 100) {
  const samples: CpuSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      samples.push(await cpuSample(pids));
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop(): Promise<void> {
      stopped = true;
      await loop;
    },
    /** What was spent from the last sample at or before `from` to the first at or after `to`. */
    between(from: number, to: number): CpuSpent | null {
      const before = samples.filter((s) => s.at <= from).pop();
      const after = samples.find((s) => s.at >= to);
      return before && after ? cpuBetween(before, after) : null;
    },
  };
}
