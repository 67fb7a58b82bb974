/** Connections and domains: queries, administration mutations and the `domain` field. */
import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ConnectionTestReport } from '../../ldap/types.js';
import type { ConnectionRecord } from '../../model/connection.js';
import type { SyncRunRecord } from '../../model/run.js';
import { checkCount, checkOptionalText, checkText, LIMITS } from '../arguments.js';
import { ALL_CONNECTIONS } from '../loaders.js';
import { toConnection, toSyncRun } from '../mappers.js';
import type { GraphQLContext } from '../services.js';
import {
  AddConnectionInput,
  Connection,
  ConnectionTestResult,
  Domain,
  SyncRun,
  UpdateConnectionInput,
} from '../types/connection.type.js';
import { ConnectionStepEnum, SyncModeEnum } from '../types/enums.js';

/** confirmSync and discardSync alike: the arguments checked, the connection known, then `settle`. */
async function settleHeld(
  ctx: GraphQLContext,
  connectionId: string,
  runId: string,
  settle: (connectionId: string, runId: string) => Promise<SyncRunRecord>,
): Promise<SyncRun> {
  const id = checkText('connectionId', connectionId, LIMITS.idLength);
  await ctx.services.connections.require(id);
  return toSyncRun(await settle(id, checkText('runId', runId, LIMITS.idLength)));
}

function toTestResult(report: ConnectionTestReport): ConnectionTestResult {
  return {
    ok: report.ok,
    server: report.server,
    error: report.error,
    users: report.users,
    groups: report.groups,
    contacts: report.contacts,
    steps: report.steps.map((s) => ({ ...s, step: s.step as ConnectionStepEnum, ms: Math.round(s.ms) })),
  };
}

function view(ctx: GraphQLContext, record: ConnectionRecord): Connection {
  return toConnection(
    record,
    ctx.services.engine.state(record.id),
    ctx.view.snapshotMeta(record.id)?.watermark,
  );
}

/** After a change, later fields of the same request must read the settings anew. */
function forgetConnections(ctx: GraphQLContext): void {
  ctx.loaders.connections.clearAll();
  ctx.loaders.connection.clearAll();
}

function domains(ctx: GraphQLContext, records: readonly ConnectionRecord[]): Domain[] {
  const byDomain = new Map<string, Connection[]>();
  for (const r of records) {
    const list = byDomain.get(r.domain) ?? [];
    list.push(view(ctx, r));
    byDomain.set(r.domain, list);
  }
  return [...byDomain]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, connections]) => ({ name, connections }));
}

@Resolver(() => Connection)
export class ConnectionResolver {
  @FieldResolver(() => Domain)
  async domain(@Root() c: Connection, @Ctx() ctx: GraphQLContext): Promise<Domain> {
    const all = await ctx.loaders.connections.load(ALL_CONNECTIONS);
    return (
      domains(
        ctx,
        all.filter((r) => r.domain === c.domainName),
      )[0] ?? { name: c.domainName, connections: [c] }
    );
  }

  @FieldResolver(() => [Connection], {
    description:
      'Other connections of this node that read some of the same directory objects (same objectGUID or entryUUID): their search bases overlap.',
  })
  async overlapsWith(@Root() c: Connection, @Ctx() ctx: GraphQLContext): Promise<Connection[]> {
    const others = [...ctx.view.overlaps(c.id).keys()];
    if (others.length === 0) return [];
    const records = await ctx.loaders.connection.loadMany(others);
    return records.flatMap((r) => (r && !(r instanceof Error) ? [view(ctx, r)] : []));
  }

  @Query(() => [Domain])
  async domains(@Ctx() ctx: GraphQLContext): Promise<Domain[]> {
    return domains(ctx, await ctx.loaders.connections.load(ALL_CONNECTIONS));
  }

  @Query(() => Domain, { name: 'domain', nullable: true })
  async domainByName(
    @Ctx() ctx: GraphQLContext,
    @Arg('name', () => String) name: string,
  ): Promise<Domain | null> {
    const wanted = checkText('name', name, LIMITS.addressLength).trim().toLowerCase().replace(/\.$/, '');
    const all = await ctx.loaders.connections.load(ALL_CONNECTIONS);
    return (
      domains(
        ctx,
        all.filter((r) => r.domain === wanted),
      )[0] ?? null
    );
  }

  @Query(() => [Connection])
  async connections(
    @Ctx() ctx: GraphQLContext,
    @Arg('domain', () => String, { nullable: true }) domain: string | null,
  ): Promise<Connection[]> {
    const d = checkOptionalText('domain', domain, LIMITS.addressLength)
      ?.trim()
      .toLowerCase()
      .replace(/\.$/, '');
    const all = await ctx.loaders.connections.load(ALL_CONNECTIONS);
    return all.filter((r) => !d || r.domain === d).map((r) => view(ctx, r));
  }

  @Query(() => Connection, { nullable: true })
  async connection(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<Connection | null> {
    const record = await ctx.loaders.connection.load(checkText('id', id, LIMITS.idLength));
    return record ? view(ctx, record) : null;
  }

  @Query(() => [SyncRun])
  async syncRuns(
    @Ctx() ctx: GraphQLContext,
    @Arg('connectionId', () => ID) connectionId: string,
    @Arg('last', () => Int, { nullable: true, defaultValue: 20 }) last: number | null,
  ): Promise<SyncRun[]> {
    const id = checkText('connectionId', connectionId, LIMITS.idLength);
    const n = checkCount('last', last, 20, LIMITS.runs);
    await ctx.services.connections.require(id);
    return (await ctx.services.engine.runs(id, n)).map(toSyncRun);
  }

  @Mutation(() => Connection)
  async addConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => AddConnectionInput) input: AddConnectionInput,
  ): Promise<Connection> {
    const added = await ctx.services.connections.add(input);
    forgetConnections(ctx);
    return view(ctx, added);
  }

  @Mutation(() => Connection)
  async updateConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateConnectionInput) input: UpdateConnectionInput,
  ): Promise<Connection> {
    const updated = await ctx.services.connections.update(checkText('id', id, LIMITS.idLength), input);
    forgetConnections(ctx);
    return view(ctx, updated);
  }

  @Mutation(() => Boolean, { description: 'Removes the connection and every cached entry it synchronized.' })
  async deleteConnection(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<boolean> {
    const deleted = await ctx.services.connections.delete(checkText('id', id, LIMITS.idLength));
    forgetConnections(ctx);
    return deleted;
  }

  @Mutation(() => ConnectionTestResult, {
    description: 'Connects and binds with these settings and counts entries; stores nothing.',
  })
  async testConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('input', () => AddConnectionInput) input: AddConnectionInput,
  ): Promise<ConnectionTestResult> {
    return toTestResult(await ctx.services.connections.test(input));
  }

  @Mutation(() => ConnectionTestResult, {
    description:
      'Tests a stored connection with these changes over its settings (merged as updateConnection merges them); stores nothing. Without bindPassword the stored password is used, only while the changed settings bind where and how the stored ones do (else PASSWORD_REQUIRED on bindPassword, as updateConnection refuses it).',
  })
  async testStoredConnection(
    @Ctx() ctx: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateConnectionInput, { nullable: true }) input: UpdateConnectionInput | null,
  ): Promise<ConnectionTestResult> {
    const report = await ctx.services.connections.testStored(
      checkText('id', id, LIMITS.idLength),
      input ?? {},
    );
    return toTestResult(report);
  }

  @Mutation(() => [SyncRun], {
    description:
      'Starts a synchronization now, of one connection or of all; returns the runs started (or already running, of either mode). INCREMENTAL is refused (CONFLICT) while a run of the connection is held for confirmation.',
  })
  async startSync(
    @Ctx() ctx: GraphQLContext,
    @Arg('connectionId', () => ID, { nullable: true }) connectionId: string | null,
    @Arg('mode', () => SyncModeEnum, { nullable: true, defaultValue: SyncModeEnum.FULL })
    mode: SyncModeEnum | null,
  ): Promise<SyncRun[]> {
    const id = checkOptionalText('connectionId', connectionId, LIMITS.idLength);
    const targets = id
      ? [await ctx.services.connections.require(id)]
      : await ctx.loaders.connections.load(ALL_CONNECTIONS);
    const runs: SyncRunRecord[] = [];
    for (const c of targets) runs.push(await ctx.services.engine.start(c.id, 'MANUAL', mode ?? 'FULL'));
    return runs.map(toSyncRun);
  }

  @Mutation(() => SyncRun, {
    description: 'Applies a run that was held because it would have removed more of the cache than allowed.',
  })
  async confirmSync(
    @Ctx() ctx: GraphQLContext,
    @Arg('connectionId', () => ID) connectionId: string,
    @Arg('runId', () => ID) runId: string,
  ): Promise<SyncRun> {
    return settleHeld(ctx, connectionId, runId, (id, run) => ctx.services.engine.confirmHeld(id, run));
  }

  @Mutation(() => SyncRun, {
    description:
      'Drops a held run instead of applying it: the data served before it stays, the run is recorded FAILED (discarded by an administrator), and the next run compares with the served data again.',
  })
  async discardSync(
    @Ctx() ctx: GraphQLContext,
    @Arg('connectionId', () => ID) connectionId: string,
    @Arg('runId', () => ID) runId: string,
  ): Promise<SyncRun> {
    return settleHeld(ctx, connectionId, runId, (id, run) => ctx.services.engine.discardHeld(id, run));
  }
}
