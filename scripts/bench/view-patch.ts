/**
 * What an incremental run's change costs the directory view: a chain of
 * patches of `changes` records each (renames, new addresses, group member
 * changes, a user disabled, one removed, one added) against a whole build
 * of the same snapshots, over the synthetic directory (100,000 users,
 * 10,000 groups, 20,000 contacts by default), and what the patched view's
 * autocomplete costs a query against the whole build's.
 *
 *   npx tsx --expose-gc scripts/bench/view-patch.ts [users] [changes] [patches]
 *
 * (--expose-gc: the garbage of the patch before is collected before each
 * patch is timed, as the minute between two runs lets it be.)
 */
import { DirectoryView } from '../../src/directory/directory-view.js';
import { countSnapshot, type PrincipalRecord, type Snapshot } from '../../src/model/principal.js';
import type { SnapshotChange } from '../../src/model/snapshot-change.js';
import { generateDirectory } from './directory-synthetic.js';

const USERS = Number(process.argv[2] ?? 100_000);
const CHANGES = Number(process.argv[3] ?? 10);
const PATCHES = Number(process.argv[4] ?? 30);
const CONTACTS = Math.round(USERS / 5);

const { snapshots, domains } = generateDirectory(USERS);
// The generator makes a contact per 20 users; the target directory has one per 5.
const c1 = snapshots[0] as Snapshot;
const extra: PrincipalRecord[] = [];
const have = c1.principals.filter((p) => p.kind === 'CONTACT').length;
for (let c = have; c < CONTACTS; c++) {
  extra.push({
    id: `c1:k${c}`,
    connectionId: 'c1',
    guid: `k${c}`,
    kind: 'CONTACT',
    dn: `CN=Partner ${c},OU=Contacts,DC=corp,DC=test`,
    displayName: `Partner Contact ${c}`,
    primaryEmail: `contact${c}@partner${c % 50}.example`,
    emails: [`contact${c}@partner${c % 50}.example`],
    samAccountName: null,
    userPrincipalName: null,
    enabled: true,
    memberIds: [],
  });
}
snapshots[0] = withPrincipals(c1, [...c1.principals, ...extra]);

function withPrincipals(s: Snapshot, principals: readonly PrincipalRecord[]): Snapshot {
  return { meta: { ...s.meta, counts: countSnapshot(principals) }, principals };
}

/** `CHANGES` changes of the kinds an hourly directory sees, as applyChanges would apply them. */
function changeOf(previous: Snapshot, round: number): { next: Snapshot; change: SnapshotChange } {
  const records = previous.principals;
  const pick = (i: number) => records[(round * 7919 + i * 104729) % records.length] as PrincipalRecord;
  const replaced = new Map<string, PrincipalRecord>();
  const removed: string[] = [];
  const added: PrincipalRecord[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const p = replaced.get(pick(i).id) ?? pick(i);
    switch (i % 5) {
      case 0:
        replaced.set(p.id, { ...p, displayName: `${p.displayName} (renamed ${round})` });
        break;
      case 1:
        replaced.set(p.id, { ...p, emails: [...p.emails, `alias${round}.${i}@corp.test`] });
        break;
      case 2: {
        const group = records.find((g, j) => g.kind === 'GROUP' && j % 97 === (round + i) % 97) ?? p;
        replaced.set(group.id, { ...group, memberIds: [...group.memberIds.slice(1), p.id] });
        break;
      }
      case 3:
        if (i === 3 && !replaced.has(p.id)) removed.push(p.id);
        else replaced.set(p.id, { ...p, enabled: !p.enabled });
        break;
      default:
        added.push({
          ...p,
          id: `${p.connectionId}:new${round}.${i}`,
          guid: `new${round}.${i}`,
          displayName: `New Person ${round} ${i}`,
          emails: [`new${round}.${i}@corp.test`],
          primaryEmail: `new${round}.${i}@corp.test`,
          memberIds: [],
        });
    }
  }
  const gone = new Set(removed);
  const principals: PrincipalRecord[] = [];
  const upserted: PrincipalRecord[] = [];
  for (const p of records) {
    if (gone.has(p.id)) continue;
    const r = replaced.get(p.id) ?? p;
    if (r !== p) upserted.push(r);
    principals.push(r);
  }
  principals.push(...added);
  upserted.push(...added);
  return { next: withPrincipals(previous, principals), change: { previous, upserted, removed } };
}

const served = new Map(snapshots.map((s) => [s.meta.connectionId, s]));
const principals = [...served.values()].reduce((n, s) => n + s.principals.length, 0);
console.log(`${principals} principals; patches of ${CHANGES} changes, ${PATCHES} in a chain`);

const whole = await DirectoryView.create({ snapshots: [...served.values()], connectionDomains: domains });
const t0 = performance.now();
const rebuilt = await DirectoryView.create({ snapshots: [...served.values()], connectionDomains: domains });
const wholeMs = performance.now() - t0;
console.log(`whole build (no worker): ${wholeMs.toFixed(0)} ms  ${JSON.stringify(round(rebuilt.timings))}`);

let view = whole;
const times: number[] = [];
/** CPU time of this process per patch: wall time on a busy machine says little. */
const cpu: number[] = [];
let last = whole.timings;
let rebuilds = 0;
for (let r = 0; r < PATCHES; r++) {
  const c = 'c1';
  const { next, change } = changeOf(served.get(c) as Snapshot, r);
  // Runs come a minute apart, and the collector cleans up in between: with
  // --expose-gc, so it does here, outside the measurement.
  (globalThis as { gc?: () => void }).gc?.();
  // And its sweeping on background threads is done before the clock starts.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const t = performance.now();
  const c0 = process.cpuUsage();
  const patched = view.patched({ connectionId: c, next, change, connectionDomains: domains });
  const used = process.cpuUsage(c0);
  served.set(c, next);
  if (patched === null) {
    // Past the patch limit: the live directory builds whole (on its worker), which starts a new chain.
    rebuilds++;
    view = await DirectoryView.create({ snapshots: [...served.values()], connectionDomains: domains });
    continue;
  }
  times.push(performance.now() - t);
  cpu.push((used.user + used.system) / 1000);
  if (r % 20 === 19) {
    const took = (times[times.length - 1] as number).toFixed(1);
    console.log(
      `  patch ${r + 1}: ${took} ms wall, ${(cpu[cpu.length - 1] as number).toFixed(1)} ms CPU  ${JSON.stringify(round(patched.timings))}`,
    );
  }
  view = patched;
  last = patched.timings;
}
const percentile = (list: number[], p: number) => {
  const sorted = [...list].sort((a, b) => a - b);
  return (sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] as number).toFixed(1);
};
const at = (p: number) => percentile(times, p);
console.log(
  `patch: first ${(times[0] as number).toFixed(1)} ms, p50 ${at(50)} ms, p90 ${at(90)} ms, max ${at(100)} ms, last ${(times[times.length - 1] as number).toFixed(1)} ms (CPU p50 ${percentile(cpu, 50)} ms, p90 ${percentile(cpu, 90)} ms; ${rebuilds} whole builds past the limit)  ${JSON.stringify(round(last))}`,
);

// Autocomplete: what people type (starts of addresses, name words, account
// names of real principals), each prefix asked once per view so that no
// answer comes from the memo; each round on new views and other prefixes.
const sample = [...served.values()].flatMap((s) => s.principals).filter((_, i) => i % 17 === 0);
function prefixesOf(round: number): string[] {
  const out: string[] = [];
  sample.forEach((p, i) => {
    const len = 1 + ((i + round) % 5);
    const source = [
      p.emails[0] ?? p.displayName,
      p.displayName.split(' ').at(-1) ?? '',
      p.samAccountName ?? p.displayName,
    ][(i + round) % 3] as string;
    out.push(`${source.slice(0, len)}${round % 2 === 0 ? '' : ' '}`);
  });
  return out;
}
function suggestAll(v: DirectoryView, prefixes: readonly string[]): number {
  const t = performance.now();
  for (const p of prefixes) v.autocomplete(p);
  return ((performance.now() - t) * 1000) / prefixes.length;
}
/** The same view again, with nothing memoized: a patch that changes nothing. */
function again(v: DirectoryView): DirectoryView {
  const s = served.get('c1') as Snapshot;
  return (
    v.patched({
      connectionId: 'c1',
      next: s,
      change: { previous: s, upserted: [], removed: [] },
      connectionDomains: domains,
    }) ?? v
  );
}
const wholeNow = await DirectoryView.create({ snapshots: [...served.values()], connectionDomains: domains });
for (let r = 0; r < 4; r++) {
  const prefixes = prefixesOf(r);
  const a = suggestAll(
    r === 0
      ? wholeNow
      : await DirectoryView.create({ snapshots: [...served.values()], connectionDomains: domains }),
    prefixes,
  );
  const b = suggestAll(again(view), prefixes);
  console.log(
    `autocomplete per query (${prefixes.length} prefixes, round ${r + 1}): whole build ${a.toFixed(1)} µs, patched ${b.toFixed(1)} µs`,
  );
}

function round(t: object): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round((v as number) * 10) / 10]));
}
