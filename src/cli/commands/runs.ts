/**
 * `dirgate runs`: the run history of one connection or of all, newest first,
 * with what each run changed by name: as the gateway serves it now, or, for
 * an object a run removed, as the run recorded it.
 */
import { GATEWAY_OPTION, type GatewayApi, gatewayApi, JSON_OPTION } from '../api.js';
import { type Command, stringOption, UsageError } from '../command.js';
import {
  type ApiRun,
  listConnections,
  type PrincipalName,
  principalNames,
  type RecordedObject,
  RUN_FIELDS,
  resolveConnection,
} from '../connections-api.js';
import { cliConfig } from '../context.js';
import { ago, fields, json, line, paint, print, type Styled, table } from '../output.js';
import { runDuration, statusColour } from './connection-show.js';

/** Names shown per kind of change and run; the counts are always whole. */
const NAMES_PER_KIND = 10;
const MAX_RUNS = 100;
const CHANGE_KINDS = ['added', 'updated', 'removed'] as const;

/** Each changed object as served now (null once gone) and, for a removed one, as the run recorded it. */
type ChangedNames = Record<
  (typeof CHANGE_KINDS)[number],
  { id: string; principal: PrincipalName | null; recorded: RecordedObject | null }[]
>;

function limitOf(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RUNS) {
    throw new UsageError(`--limit must be a whole number from 1 to ${MAX_RUNS} (got "${raw}")`);
  }
  return n;
}

async function namesOf(api: GatewayApi, runs: readonly ApiRun[]): Promise<Map<string, ChangedNames>> {
  const ids = runs.flatMap((r) => CHANGE_KINDS.flatMap((k) => r.changes?.[k].slice(0, NAMES_PER_KIND) ?? []));
  const principals = await principalNames(api, ids);
  return new Map(
    runs.map((r) => {
      // Older gateways' runs recorded no names: their removed objects keep only their ids.
      const recorded = new Map((r.changes?.removedObjects ?? []).map((o) => [o.id, o]));
      return [
        r.id,
        Object.fromEntries(
          CHANGE_KINDS.map((k) => [
            k,
            (r.changes?.[k] ?? []).slice(0, NAMES_PER_KIND).map((id) => ({
              id,
              principal: principals.get(id) ?? null,
              recorded: k === 'removed' ? (recorded.get(id) ?? null) : null,
            })),
          ]),
        ) as ChangedNames,
      ];
    }),
  );
}

function changedLine(
  run: ApiRun,
  kind: (typeof CHANGE_KINDS)[number],
  names: ChangedNames | undefined,
): Styled | null {
  const count = run.changes?.[`${kind}Count`] ?? 0;
  if (count === 0) return null;
  const listed = names?.[kind] ?? [];
  // An object gone from the cache by the name its run recorded; one recorded without (an older
  // gateway's run) is counted, its id in --json.
  const named = listed.flatMap(({ principal: p, recorded }) =>
    p
      ? [`${p.displayName}${p.primaryEmail ? ` <${p.primaryEmail}>` : ''}`]
      : recorded
        ? [`${recorded.name} (${recorded.kind.toLowerCase()})`]
        : [],
  );
  const gone = listed.length - named.length;
  const more = count - listed.length;
  const parts = [
    ...named,
    ...(gone > 0 ? [`${gone} no longer served (ids: --json)`] : []),
    ...(more > 0 ? [`and ${more} more`] : []),
  ];
  return line`${parts.join(', ')}`;
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'Shows the synchronization runs: trigger, server, duration, status, changes.',
  description: `
The run history the running gateway keeps (syncRuns), newest first: of one
connection (--connection ID or name) or of all. Below the table, what each
run changed by name (up to ${NAMES_PER_KIND} per kind): as served now, or, for an object
the run removed, by the name it had then. A held run is applied with \`dirgate
confirm RUN_ID\`, or dropped (the current data kept) with \`dirgate discard RUN_ID\`.`,
  options: {
    connection: { type: 'string', short: 'c', value: 'ID|NAME', help: 'one connection (default: all)' },
    limit: {
      type: 'string',
      short: 'n',
      value: 'N',
      help: `the last N runs (default 20, at most ${MAX_RUNS})`,
    },
    gateway: GATEWAY_OPTION,
    json: JSON_OPTION,
  },
  async run(values) {
    const limit = limitOf(stringOption(values, 'limit'));
    const api = await gatewayApi(values, cliConfig(values));
    const ref = stringOption(values, 'connection');
    const targets = ref ? [await resolveConnection(api, ref)] : await listConnections(api);
    const runs: ApiRun[] = [];
    for (const target of targets) {
      const { syncRuns } = await api.call<{ syncRuns: ApiRun[] }>(
        `query CliRuns($id: ID!, $last: Int) { syncRuns(connectionId: $id, last: $last) { ${RUN_FIELDS} } }`,
        { id: target.id, last: limit },
      );
      runs.push(...syncRuns);
    }
    runs.sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
    const shown = runs.slice(0, limit);
    const names = await namesOf(api, shown);
    const nameOf = new Map(targets.map((t) => [t.id, t.name]));
    if (values.json) {
      const out = shown.map((r) => ({
        ...r,
        connection: nameOf.get(r.connectionId) ?? null,
        changedNames: names.get(r.id),
      }));
      process.stdout.write(json(out));
      return 0;
    }
    if (shown.length === 0) {
      print(process.stdout, line`no runs${ref ? ` of ${nameOf.get(targets[0]?.id ?? '')}` : ''} yet`);
      return 0;
    }
    const c = paint(process.stdout);
    const status = statusColour(process.stdout);
    const rows = shown.map((r) => [
      ago(r.startedAt),
      nameOf.get(r.connectionId) ?? r.connectionId,
      r.trigger.toLowerCase(),
      status(r.status),
      runDuration(r),
      r.server ?? '',
      r.changes ? `+${r.changes.addedCount} ~${r.changes.updatedCount} -${r.changes.removedCount}` : '',
      r.id,
      r.error ? c.red(r.error) : '',
    ]);
    const out: Styled[] = [
      table(
        ['STARTED', 'CONNECTION', 'TRIGGER', 'STATUS', 'DURATION', 'SERVER', 'CHANGES', 'RUN', 'ERROR'],
        rows,
      ),
    ];
    for (const r of shown) {
      const changed = CHANGE_KINDS.map((k) => [k, changedLine(r, k, names.get(r.id))] as const).filter(
        ([, l]) => l !== null,
      );
      if (changed.length === 0) continue;
      out.push(
        line``,
        line`${c.bold(nameOf.get(r.connectionId) ?? r.connectionId)} run ${r.id} (${status(r.status)}, ${ago(r.startedAt)}):`,
        fields(changed.map(([k, l]) => [r.status === 'HELD' && k === 'removed' ? 'would remove' : k, l])),
      );
    }
    print(process.stdout, ...out);
    return 0;
  },
};
