import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WorkerOptions } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import nodeFlags from '../../bin/node-flags.json' with { type: 'json' };
import { AutocompleteWorker } from '../../src/directory/autocomplete/index.js';
import { DirectoryView, type DirectoryViewInput } from '../../src/directory/directory-view.js';
import type { Logger } from '../../src/model/logger.js';
import type { PrincipalKind, PrincipalRecord, Snapshot } from '../../src/model/principal.js';
import { principal, snapshotOf } from '../support/principals.js';

const run = promisify(execFile);

// The worker's script, replaced while `fault.entry` is set: the worker then fails as a real one can.
const fault = vi.hoisted(() => ({ entry: null as string | null }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:worker_threads')>();
  class Worker extends real.Worker {
    constructor(script: string | URL, options?: WorkerOptions) {
      super(script, fault.entry === null ? options : { ...options, workerData: { entry: fault.entry } });
    }
  }
  return { ...real, Worker };
});

/** Directories this large are built on the worker (smaller ones on the calling thread). */
const LARGE = 5000;

// A directory with what makes ranking hard: shared name words, the same
// address on several owners (ties broken by id), case variants, aliases,
// disabled owners, owners without addresses or with a blank one, three
// connections (one without a mail domain) and every kind.
function directory(seed: number, size: number): DirectoryViewInput {
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
  const first = ['Anna', 'Jörg', 'John', 'Li', 'Zoë', 'Ann', 'Bob', 'Émile'];
  const last = ['Müller', 'Smith', 'Doe', "O'Brien", 'Wang', 'Smithers', 'Ann'];
  const kinds: PrincipalKind[] = ['USER', 'USER', 'USER', 'GROUP', 'CONTACT'];
  const connections = ['c1', 'c2', 'c3'];
  const byConnection = new Map<string, PrincipalRecord[]>(connections.map((c) => [c, []]));
  for (let i = 0; i < size; i++) {
    const connectionId = connections[next(3)] as string;
    const guid = `g${(i * 7919) % size}`.padEnd(6, 'x');
    const given = first[next(first.length)] as string;
    const family = last[next(last.length)] as string;
    const emails: string[] = [];
    const shape = next(10);
    if (shape > 0) emails.push(`${given}.${family}${next(3) === 0 ? '' : i}@Corp.Test`);
    if (shape > 5) emails.push(`alias${next(50)}@corp.test`);
    if (shape === 9) emails.push(`${given.toUpperCase()}@corp.test`, `${given.toLowerCase()}@corp.test`);
    if (shape === 1) emails.push('   ');
    const list = byConnection.get(connectionId) as PrincipalRecord[];
    list.push(
      principal({
        connectionId,
        guid,
        kind: kinds[next(kinds.length)] as PrincipalKind,
        displayName: next(20) === 0 ? '' : `${given} ${family}`,
        primaryEmail: emails.length > 1 && next(2) === 0 ? (emails[1] as string) : (emails[0] ?? null),
        emails,
        samAccountName: next(4) === 0 ? null : `${given.slice(0, 1)}${family}${next(30)}`,
        userPrincipalName: next(3) === 0 ? null : `${given}.${family}${i}@corp.test`,
        enabled: next(6) !== 0,
      }),
    );
  }
  const snapshots: Snapshot[] = connections.map((connectionId) =>
    snapshotOf(connectionId, byConnection.get(connectionId) as PrincipalRecord[], {
      netbiosName: connectionId.toUpperCase(),
    }),
  );
  return {
    snapshots,
    connectionDomains: new Map([
      ['c1', 'corp.test'],
      ['c2', 'Other.Test'],
    ]),
  };
}

const QUERIES = [
  'a',
  'an',
  'ann',
  'anna m',
  'jö',
  'j',
  'smith',
  'smithers',
  'o',
  "o'b",
  'alias1',
  'zo',
  'é',
  'bob.',
];
const OPTIONS = [
  {},
  { first: 1 },
  { first: 50 },
  { kinds: ['GROUP', 'CONTACT'] as PrincipalKind[] },
  { domain: 'other.test' },
  { domain: 'CORP.TEST', kinds: ['USER'] as PrincipalKind[], first: 25 },
];

/** Everything the autocomplete index answers, as plain data. */
function answers(view: DirectoryView): unknown[] {
  const out: unknown[] = [];
  for (const q of QUERIES) {
    for (const options of OPTIONS) {
      out.push(view.autocomplete(q, options).map((s) => [s.address, s.principal.id]));
    }
  }
  for (const address of [
    'anna.müller@corp.test',
    'ALIAS7@corp.test',
    'alias12@corp.test',
    'nobody@corp.test',
  ]) {
    out.push(view.byEmail(address).map((p) => p.id));
  }
  out.push(view.findings.map((f) => [f.kind, f.value, f.principalIds]));
  return out;
}

const log = { warnings: [] as string[], started: 0, stopped: 0 };
const logger: Logger = {
  info: () => {},
  debug: (_obj, msg) => {
    if (msg === 'autocomplete worker started') log.started++;
    if (msg === 'autocomplete worker stopped') log.stopped++;
  },
  error: () => {},
  warn: (_obj, msg) => log.warnings.push(msg ?? ''),
};
const running = () => log.started - log.stopped;

let workers: AutocompleteWorker[] = [];
function startWorker(): AutocompleteWorker {
  const worker = new AutocompleteWorker({ logger });
  workers.push(worker);
  return worker;
}

afterEach(async () => {
  await Promise.all(workers.map((w) => w.close()));
  workers = [];
  fault.entry = null;
  Object.assign(log, { warnings: [], started: 0, stopped: 0 });
});

/** The answers of the view built all on this thread. */
async function inThread(input: DirectoryViewInput): Promise<unknown[]> {
  return answers(await DirectoryView.create(input));
}

describe('autocomplete built on a worker thread', () => {
  it('answers exactly as the index built on this thread', async () => {
    const input = directory(7, LARGE + 1000);
    const here = await DirectoryView.create(input);
    const there = await DirectoryView.create(input, startWorker());
    expect(log.started).toBe(1);
    expect(log.warnings).toEqual([]);
    expect(answers(there)).toEqual(answers(here));
    // The fixture is one where answers differ: not all empty, and not all alike.
    expect(here.autocomplete('ann', { first: 50 }).length).toBeGreaterThan(10);
    expect(here.findings.some((f) => f.kind === 'EMAIL_ADDRESS')).toBe(true);
  });

  it('gives the same answers for other directories too', async () => {
    const worker = startWorker();
    for (const seed of [1, 2, 3]) {
      const input = directory(seed, LARGE);
      expect(answers(await DirectoryView.create(input, worker))).toEqual(await inThread(input));
    }
    expect(log.started).toBe(3);
    expect(log.warnings).toEqual([]);
  });

  it('stops the worker once the build is done, and starts one for the next', async () => {
    const worker = startWorker();
    worker.warm();
    expect(running()).toBe(1);
    await DirectoryView.create(directory(4, LARGE), worker);
    expect(running()).toBe(0);
    const again = await DirectoryView.create(directory(5, LARGE), worker);
    expect([log.started, running()]).toEqual([2, 0]);
    expect(answers(again)).toEqual(await inThread(directory(5, LARGE)));
    // Warmed for a sync that then failed: stopped without having served.
    worker.warm();
    expect(running()).toBe(1);
    worker.stopIdle();
    expect(running()).toBe(0);
    // Warmed for a directory too small for it: stopped by the build.
    worker.warm();
    await DirectoryView.create(directory(6, 300), worker);
    expect([log.started, running()]).toEqual([4, 0]);
  });

  it('does not stop a worker that has a job', async () => {
    const worker = startWorker();
    const building = DirectoryView.create(directory(6, LARGE), worker);
    worker.stopIdle();
    expect(running()).toBe(1);
    const view = await building;
    expect(running()).toBe(0);
    expect(log.warnings).toEqual([]);
    expect(answers(view)).toEqual(await inThread(directory(6, LARGE)));
  });

  it('builds two views at once on one worker', async () => {
    const worker = startWorker();
    const [a, b] = await Promise.all([
      DirectoryView.create(directory(8, LARGE), worker),
      DirectoryView.create(directory(9, LARGE), worker),
    ]);
    expect(log.started).toBe(1);
    expect(answers(a)).toEqual(await inThread(directory(8, LARGE)));
    expect(answers(b)).toEqual(await inThread(directory(9, LARGE)));
  });

  it.each([
    ['cannot load its script', new URL('./autocomplete-worker.missing-script.mjs', import.meta.url)],
    // It delivers the address half, then dies: the name keys are built here from those addresses.
    ['dies after the addresses', new URL('../fixtures/autocomplete-worker-dies.ts', import.meta.url)],
  ])('builds on this thread, with one warning, when the worker %s', async (_case, entry) => {
    fault.entry = entry.href;
    const input = directory(10, LARGE);
    const view = await DirectoryView.create(input, startWorker());
    expect(answers(view)).toEqual(await inThread(input));
    expect(log.warnings).toEqual(['autocomplete worker failed; building on the main thread']);
    expect(log.started).toBe(1);
  });

  it('builds small indexes, and any after close(), on this thread', async () => {
    const worker = startWorker();
    const small = await DirectoryView.create(directory(11, 300), worker);
    expect(log.started).toBe(0);
    expect(answers(small)).toEqual(await inThread(directory(11, 300)));
    await worker.close();
    const after = await DirectoryView.create(directory(12, LARGE), worker);
    expect(log.started).toBe(0);
    expect(answers(after)).toEqual(await inThread(directory(12, LARGE)));
    expect(log.warnings).toEqual([]);
  });
});

describe('autocomplete worker, however the gateway is started', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const script = 'test/fixtures/autocomplete-in-process.ts';
  // npm start runs the tsx command; the dirgate command and the bench run node --import tsx.
  it.each([
    ['the tsx command', 'node_modules/.bin/tsx', [...nodeFlags, script]],
    ['node --import tsx', 'node_modules/.bin/node', [...nodeFlags, '--import', 'tsx', script]],
  ])('serves from the worker under %s', async (_how, command, args) => {
    const { stdout } = await run(path.join(root, command), args, { cwd: root });
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      started: number;
      same: boolean;
      suggested: number;
      warnings: string[];
    };
    expect(result.warnings).toEqual([]);
    expect(result.started).toBe(1);
    expect(result.same).toBe(true);
    expect(result.suggested).toBeGreaterThan(100);
  });
});
