/** The cluster node table, duplicate findings' objects, and the subscriptions. */
import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { NodeRow } from '../../model/node.js';
import type { PrincipalRecord } from '../../model/principal.js';
import { ALL_CONNECTIONS } from '../loaders.js';
import { toConnection, toFinding, toSyncRun } from '../mappers.js';
import { type DuplicateWarningPayload, type SyncEventPayload, TOPICS } from '../pubsub.js';
import type { GraphQLContext } from '../services.js';
import { ClusterNode, DuplicateFinding, DuplicateWarning, SyncEvent } from '../types/cluster.type.js';
import { Principal } from '../types/principal.type.js';

/** Three heartbeats of the node table (15 s each). */
const ONLINE_WINDOW_MS = 45_000;

async function toClusterNode(ctx: GraphQLContext, row: NodeRow): Promise<ClusterNode> {
  const records = new Map((await ctx.loaders.connections.load(ALL_CONNECTIONS)).map((c) => [c.id, c]));
  const connections = row.connections.flatMap((state) => {
    const record = records.get(state.connectionId) ?? ctx.services.connections.orphaned(state.connectionId);
    return record ? [toConnection(record, state, ctx.view.snapshotMeta(record.id)?.watermark)] : [];
  });
  const findings = row.findings.map(toFinding);
  return {
    name: row.name,
    lastSeenAt: new Date(row.lastSeenAt),
    connections,
    duplicateFindings: findings,
    // A cache kept after its settings were lost is a warning too: someone must re-add or delete it.
    hasWarning: findings.length > 0 || (row.orphanedConnections?.length ?? 0) > 0,
    online: Date.now() - Date.parse(row.lastSeenAt) < ONLINE_WINDOW_MS,
    timeZone: row.timeZone ?? null,
  };
}

@Resolver(() => DuplicateFinding)
export class FindingResolver {
  @FieldResolver(() => [Principal])
  async principals(@Root() f: DuplicateFinding, @Ctx() ctx: GraphQLContext): Promise<PrincipalRecord[]> {
    // Another node's finding may name objects this node has not synced (yet): those are left out.
    const found = await ctx.loaders.principal.loadMany(f.principalIds);
    return found.filter((p): p is PrincipalRecord => p !== null && !(p instanceof Error));
  }
}

@Resolver(() => ClusterNode)
export class ClusterResolver {
  @Query(() => ClusterNode, { description: "This node's row of the cluster node table." })
  node(@Ctx() ctx: GraphQLContext): Promise<ClusterNode> {
    return toClusterNode(ctx, ctx.services.nodes.ownRow());
  }

  @Query(() => [ClusterNode])
  async clusterNodes(@Ctx() ctx: GraphQLContext): Promise<ClusterNode[]> {
    const rows = await ctx.services.nodes.rows();
    return Promise.all(rows.map((r) => toClusterNode(ctx, r)));
  }

  @Subscription(() => DuplicateWarning, {
    topics: TOPICS.DUPLICATE_WARNINGS,
    filter: ({
      payload,
      args,
    }: {
      payload: DuplicateWarningPayload;
      args: { connectionId?: string | null };
    }) =>
      !args.connectionId ||
      payload.connectionId === args.connectionId ||
      payload.added.some((f) => f.connectionIds.includes(args.connectionId as string)),
  })
  duplicateWarnings(
    @Root() payload: DuplicateWarningPayload,
    @Arg('connectionId', () => ID, { nullable: true }) _connectionId: string | null,
  ): DuplicateWarning {
    // Each event has a context of its own, in the view served when it goes out (src/graphql/websocket.ts).
    return {
      node: payload.node,
      connectionId: payload.connectionId,
      added: payload.added.map(toFinding),
      resolved: [...payload.resolved],
    };
  }

  @Subscription(() => SyncEvent, {
    topics: TOPICS.SYNC_EVENTS,
    filter: ({ payload, args }: { payload: SyncEventPayload; args: { connectionId?: string | null } }) =>
      !args.connectionId || payload.run.connectionId === args.connectionId,
  })
  syncEvents(
    @Root() payload: SyncEventPayload,
    @Arg('connectionId', () => ID, { nullable: true }) _connectionId: string | null,
  ): SyncEvent {
    return { node: payload.node, run: toSyncRun(payload.run) };
  }
}
