/** Stored records → the API's object shapes. */
import type { DuplicateFinding as DetectedFinding } from '../directory/duplicate-detection.js';
import { consequenceText } from '../directory/duplicate-detection.js';
import type { ConnectionRecord } from '../model/connection.js';
import type { ConnectionState, FindingRecord } from '../model/node.js';
import type { SyncRunRecord } from '../model/run.js';
import type { Watermark } from '../model/watermark.js';
import type { DuplicateFinding } from './types/cluster.type.js';
import type { Connection, SyncRun } from './types/connection.type.js';
import type {
  AuthMethodEnum,
  ChangeTrackingEnum,
  DeletionCheckEnum,
  DuplicateKindEnum,
  IncrementalFallbackEnum,
  PrincipalKindEnum,
  SyncModeEnum,
  SyncPhaseEnum,
  SyncStatusEnum,
  SyncTriggerEnum,
  TlsModeEnum,
} from './types/enums.js';

export function toSyncRun(run: SyncRunRecord): SyncRun {
  return {
    id: run.id,
    connectionId: run.connectionId,
    node: run.node,
    trigger: run.trigger as SyncTriggerEnum,
    status: run.status as SyncStatusEnum,
    phase: run.phase as SyncPhaseEnum,
    startedAt: new Date(run.startedAt),
    finishedAt: run.finishedAt ? new Date(run.finishedAt) : null,
    server: run.server,
    counts: run.counts,
    error: run.error,
    failedPhase: run.status === 'FAILED' ? (run.failedPhase ?? null) : null,
    changes: run.changes
      ? {
          ...run.changes,
          added: [...run.changes.added],
          updated: [...run.changes.updated],
          removed: [...run.changes.removed],
          removedObjects: (run.changes.removedObjects ?? []).map((o) => ({
            ...o,
            kind: o.kind as PrincipalKindEnum,
          })),
        }
      : null,
    progress: run.progress,
    mode: (run.mode ?? 'FULL') as SyncModeEnum,
    fallbackReason: (run.fallback ?? null) as IncrementalFallbackEnum | null,
    fallbackMessage: run.fallbackMessage ?? null,
    deletionCheck: (run.deletionCheck ?? null) as DeletionCheckEnum | null,
    idsRead: run.idsRead ?? null,
  };
}

/** What the served snapshot's watermark says of the directory: undefined, no snapshot or one from before. */
function changeTracking(watermark: Watermark | null | undefined): ChangeTrackingEnum {
  if (watermark === undefined) return 'UNKNOWN' as ChangeTrackingEnum;
  if (watermark === null) return 'NONE' as ChangeTrackingEnum;
  return watermark.kind as ChangeTrackingEnum;
}

/** `watermark`: the served snapshot's (DirectoryView.snapshotMeta), for changeTracking. */
export function toConnection(
  record: ConnectionRecord,
  state: ConnectionState,
  watermark: Watermark | null | undefined,
): Connection {
  return {
    id: record.id,
    name: record.name,
    domainName: record.domain,
    searchBase: record.searchBase,
    servers: [...record.servers],
    tls: record.tls as TlsModeEnum,
    tlsVerify: record.tlsVerify,
    hasCaCertificate: record.caCertificate !== null,
    allowPlaintextBind: record.allowPlaintextBind,
    bindDn: record.bindDn,
    hasBindPassword: record.bindPasswordSealed !== null,
    auth: record.auth as AuthMethodEnum,
    hasKeytab: record.keytabSealed !== null,
    keytabPrincipal: record.keytabPrincipal,
    kdcs: [...record.kdcs],
    includeContacts: record.includeContacts,
    schedule: record.schedule,
    incrementalSchedule: record.incrementalSchedule,
    changeTracking: changeTracking(watermark),
    enabled: record.enabled,
    deleteThreshold: record.deleteThreshold,
    userFilter: record.overrides.userFilter ?? null,
    groupFilter: record.overrides.groupFilter ?? null,
    contactFilter: record.overrides.contactFilter ?? null,
    netbiosName: record.overrides.netbiosName ?? null,
    status: state.status as SyncStatusEnum,
    activeServer: state.activeServer,
    lastSync: state.lastRun ? toSyncRun(state.lastRun) : null,
    lastSuccessfulSync: state.lastSuccessfulRun ? toSyncRun(state.lastSuccessfulRun) : null,
    heldRunId: state.heldRunId,
    userCount: state.counts.users,
    groupCount: state.counts.groups,
    contactCount: state.counts.contacts,
  };
}

/** `principals` is filled by its field resolver through the request's loader. */
export function toFinding(f: FindingRecord): DuplicateFinding {
  return {
    id: f.id,
    kind: f.kind as DuplicateKindEnum,
    value: f.value,
    principalIds: [...f.principalIds],
    principals: [],
    connectionIds: [...f.connectionIds],
    consequence: consequenceText(f.kind),
    detectedAt: new Date(f.detectedAt),
    sameObject: f.sameObject ?? false,
  };
}

export type { DetectedFinding };
