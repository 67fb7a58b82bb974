import { DateTimeResolver } from 'graphql-scalars';
import { Field, Float, ID, InputType, Int, ObjectType } from 'type-graphql';
import {
  AuthMethodEnum,
  ChangeTrackingEnum,
  ConnectionStepEnum,
  DeletionCheckEnum,
  IncrementalFallbackEnum,
  PrincipalKindEnum,
  SyncModeEnum,
  SyncPhaseEnum,
  SyncStatusEnum,
  SyncTriggerEnum,
  TlsModeEnum,
} from './enums.js';

/** How settings only an administrator needs (src/graphql/visibility.ts) are described. */
const ADMIN_ONLY = 'Null for the reader role.';
const RUN_ERROR_DESCRIPTION =
  "Why the run failed or was held. For the reader role a failed run's text is generic (the phase it failed in; ask an administrator for details), not the server's.";

@ObjectType('SyncCounts', { simpleResolvers: true })
export class SyncCounts {
  @Field(() => Int) users!: number;
  @Field(() => Int) groups!: number;
  @Field(() => Int) contacts!: number;
  @Field(() => Int) addresses!: number;
}

@ObjectType('ChangedObject', {
  simpleResolvers: true,
  description:
    'An object a run removed, named as it was before the run: the directory no longer serves it once the run is applied.',
})
export class ChangedObject {
  @Field(() => ID) id!: string;
  @Field(() => PrincipalKindEnum) kind!: PrincipalKindEnum;
  @Field(() => String, { description: 'Its display name, or its DN when it has none.' }) name!: string;
}

@ObjectType('SyncChanges', {
  simpleResolvers: true,
  description: 'What a run changed. Id lists are capped at 1,000 each; counts are exact.',
})
export class SyncChanges {
  @Field(() => [ID]) added!: string[];
  @Field(() => [ID]) updated!: string[];
  @Field(() => [ID]) removed!: string[];
  @Field(() => [ChangedObject], {
    description:
      'The removed objects with their kind and name, in the order of `removed` (capped the same way). Empty for runs recorded before names were kept.',
  })
  removedObjects!: ChangedObject[];
  @Field(() => Int) addedCount!: number;
  @Field(() => Int) updatedCount!: number;
  @Field(() => Int) removedCount!: number;
}

@ObjectType('SyncRun', { simpleResolvers: true })
export class SyncRun {
  @Field(() => ID) id!: string;
  @Field(() => ID) connectionId!: string;
  @Field(() => String) node!: string;
  @Field(() => SyncTriggerEnum) trigger!: SyncTriggerEnum;
  @Field(() => SyncStatusEnum) status!: SyncStatusEnum;
  @Field(() => SyncPhaseEnum) phase!: SyncPhaseEnum;
  @Field(() => DateTimeResolver) startedAt!: Date;
  @Field(() => DateTimeResolver, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true }) server!: string | null;
  @Field(() => SyncCounts, { nullable: true }) counts!: SyncCounts | null;
  /** The server's or the gateway's text; the `error` field resolves what the caller's role may see. */
  @Field(() => String, { nullable: true, description: RUN_ERROR_DESCRIPTION })
  error!: string | null;
  /** The phase a failed run was in; not a field, the reader's text for `error` names it. */
  failedPhase!: string | null;
  @Field(() => SyncChanges, { nullable: true }) changes!: SyncChanges | null;
  @Field(() => Int, { description: 'Entries read so far.' }) progress!: number;
  @Field(() => SyncModeEnum, {
    description:
      'What the run is: an INCREMENTAL run that could not be done reads in full, and says so here as FULL.',
  })
  mode!: SyncModeEnum;
  @Field(() => IncrementalFallbackEnum, {
    nullable: true,
    description: 'Asked to be INCREMENTAL and run FULL: why.',
  })
  fallbackReason!: IncrementalFallbackEnum | null;
  @Field(() => String, {
    nullable: true,
    description: `The directory's words for fallbackReason. ${ADMIN_ONLY}`,
  })
  fallbackMessage!: string | null;
  @Field(() => DeletionCheckEnum, {
    nullable: true,
    description: 'INCREMENTAL runs, once their changes are read: how deletions were found.',
  })
  deletionCheck!: DeletionCheckEnum | null;
  @Field(() => Int, {
    nullable: true,
    description:
      'INCREMENTAL runs: entries read for their id alone (ids changed since the last run, tombstones, access-log entries, or every id when ids were compared), besides `progress`.',
  })
  idsRead!: number | null;
}

@ObjectType('Domain', {
  simpleResolvers: true,
  description: 'A mail domain; it has one LDAP connection or more, each with a unique search base.',
})
export class Domain {
  @Field(() => String) name!: string;
  @Field(() => [Connection]) connections!: Connection[];
}

@ObjectType('Connection', {
  simpleResolvers: true,
  description: 'The settings and state of one LDAP connection, on this node.',
})
export class Connection {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  /** The domain's name; the `domain` field resolves it into a Domain. */
  domainName!: string;
  @Field(() => String) searchBase!: string;
  @Field(() => [String], {
    description:
      'Explicit ldap:// or ldaps:// URLs, tried in order. Empty: domain controllers are found through DNS SRV records of the domain.',
  })
  servers!: string[];
  @Field(() => TlsModeEnum) tls!: TlsModeEnum;
  @Field(() => Boolean, { description: "Whether the directory's certificate is verified." })
  tlsVerify!: boolean;
  @Field(() => Boolean, { description: 'Whether a CA bundle is set for this connection.' })
  hasCaCertificate!: boolean;
  @Field(() => Boolean, {
    description:
      'Whether a password may be sent over a connection without TLS (default false: such a bind is refused).',
  })
  allowPlaintextBind!: boolean;
  @Field(() => String, { nullable: true, description: ADMIN_ONLY }) bindDn!: string | null;
  @Field(() => Boolean, { description: 'The bind password is write-only; this says whether one is set.' })
  hasBindPassword!: boolean;
  @Field(() => AuthMethodEnum) auth!: AuthMethodEnum;
  @Field(() => Boolean, { description: 'Whether a keytab is set (the keytab itself is write-only).' })
  hasKeytab!: boolean;
  @Field(() => String, {
    nullable: true,
    description: `The Kerberos principal the keytab holds a key for, e.g. svc-dirgate@CORP.TEST. ${ADMIN_ONLY}`,
  })
  keytabPrincipal!: string | null;
  @Field(() => [String], {
    description:
      'Kerberos KDCs (host or host:port), tried in order; empty: found through DNS SRV records (_kerberos._tcp.<REALM>).',
  })
  kdcs!: string[];
  @Field(() => Boolean) includeContacts!: boolean;
  @Field(() => String, {
    description: 'Cron expression of the synchronization schedule (default: every 30 minutes).',
  })
  schedule!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'Cron expression of the incremental synchronizations between full ones; null: full synchronizations only.',
  })
  incrementalSchedule!: string | null;
  @Field(() => ChangeTrackingEnum, {
    description:
      "How the directory says what changed, as the served snapshot's run found; NONE: full runs only, whatever incrementalSchedule says.",
  })
  changeTracking!: ChangeTrackingEnum;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => Float, {
    nullable: true,
    description: 'Share of the cache a sync may remove before it is held; null: the node default.',
  })
  deleteThreshold!: number | null;
  @Field(() => String, { nullable: true, description: ADMIN_ONLY }) userFilter!: string | null;
  @Field(() => String, { nullable: true, description: ADMIN_ONLY }) groupFilter!: string | null;
  @Field(() => String, { nullable: true, description: ADMIN_ONLY }) contactFilter!: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'NetBIOS domain name for NTLM names, set for directories that do not state one (AD does).',
  })
  netbiosName!: string | null;
  @Field(() => SyncStatusEnum) status!: SyncStatusEnum;
  @Field(() => String, { nullable: true, description: 'The server the last synchronization used.' })
  activeServer!: string | null;
  @Field(() => SyncRun, { nullable: true }) lastSync!: SyncRun | null;
  @Field(() => SyncRun, { nullable: true }) lastSuccessfulSync!: SyncRun | null;
  @Field(() => ID, { nullable: true, description: 'A run held for confirmation (see confirmSync).' })
  heldRunId!: string | null;
  @Field(() => Int) userCount!: number;
  @Field(() => Int) groupCount!: number;
  @Field(() => Int) contactCount!: number;
}

@ObjectType('ConnectionTestStep', { simpleResolvers: true })
export class ConnectionTestStep {
  @Field(() => ConnectionStepEnum) step!: ConnectionStepEnum;
  @Field(() => Boolean) ok!: boolean;
  @Field(() => Int) ms!: number;
  @Field(() => String, { nullable: true }) detail!: string | null;
}

@ObjectType('ConnectionTestResult', { simpleResolvers: true })
export class ConnectionTestResult {
  @Field(() => Boolean) ok!: boolean;
  @Field(() => String, { nullable: true }) server!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int, {
    nullable: true,
    description: 'Entries the search base holds, by kind, when the test could count them.',
  })
  users!: number | null;
  @Field(() => Int, { nullable: true }) groups!: number | null;
  @Field(() => Int, { nullable: true }) contacts!: number | null;
  @Field(() => [ConnectionTestStep], {
    description: 'Each step of the path, in order; the last failed one says why.',
  })
  steps!: ConnectionTestStep[];
}

@InputType('AddConnectionInput')
export class AddConnectionInput {
  @Field(() => String) name!: string;
  @Field(() => String) domain!: string;
  @Field(() => String) searchBase!: string;
  @Field(() => [String], { nullable: true, defaultValue: [] }) servers?: string[] | null;
  @Field(() => TlsModeEnum, { nullable: true, defaultValue: TlsModeEnum.NONE }) tls?: TlsModeEnum | null;
  @Field(() => String, {
    nullable: true,
    description:
      "PEM certificates trusted for this connection's TLS; when set, only these are (instead of the system's trust store, not besides it).",
  })
  caCertificate?: string | null;
  @Field(() => Boolean, { nullable: true, description: "Verify the directory's certificate (default true)." })
  tlsVerify?: boolean | null;
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      'Allow sending the bind password without TLS (tls NONE on ldap://). Default false: such a bind is refused.',
  })
  allowPlaintextBind?: boolean | null;
  @Field(() => String, { nullable: true }) bindDn?: string | null;
  @Field(() => String, { nullable: true }) bindPassword?: string | null;
  @Field(() => AuthMethodEnum, {
    nullable: true,
    description: 'Default: SIMPLE when bindDn is given, ANONYMOUS otherwise.',
  })
  auth?: AuthMethodEnum | null;
  @Field(() => String, {
    nullable: true,
    description:
      'A keytab file, base64-encoded, holding the key of the account the gateway binds as (KERBEROS). Write-only.',
  })
  keytab?: string | null;
  @Field(() => [String], {
    nullable: true,
    description:
      'KERBEROS: KDCs (host, host:port, [IPv6]:port), tried in order; default: DNS SRV records of the realm.',
  })
  kdcs?: string[] | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) includeContacts?: boolean | null;
  @Field(() => String, { nullable: true, defaultValue: '*/30 * * * *' }) schedule?: string | null;
  @Field(() => String, {
    nullable: true,
    description:
      'Default: every minute where the directory supports incremental reads. Empty string: full runs only.',
  })
  incrementalSchedule?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) enabled?: boolean | null;
  @Field(() => Float, { nullable: true }) deleteThreshold?: number | null;
  @Field(() => String, { nullable: true }) userFilter?: string | null;
  @Field(() => String, { nullable: true }) groupFilter?: string | null;
  @Field(() => String, { nullable: true }) contactFilter?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'NetBIOS domain name for NTLM names (NETBIOS\\user), when the directory does not state one.',
  })
  netbiosName?: string | null;
}

@InputType('UpdateConnectionInput')
export class UpdateConnectionInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) searchBase?: string | null;
  @Field(() => [String], { nullable: true }) servers?: string[] | null;
  @Field(() => TlsModeEnum, { nullable: true }) tls?: TlsModeEnum | null;
  @Field(() => String, { nullable: true }) caCertificate?: string | null;
  @Field(() => Boolean, { nullable: true }) tlsVerify?: boolean | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'Allow sending the bind password without TLS; a change needs bindPassword again.',
  })
  allowPlaintextBind?: boolean | null;
  @Field(() => String, { nullable: true }) bindDn?: string | null;
  @Field(() => String, { nullable: true, description: 'Empty string: remove the stored password.' })
  bindPassword?: string | null;
  @Field(() => AuthMethodEnum, {
    nullable: true,
    description:
      'Switching to KERBEROS needs a keytab and drops the password; switching away from it drops the keytab.',
  })
  auth?: AuthMethodEnum | null;
  @Field(() => String, {
    nullable: true,
    description:
      'A new keytab (base64). Left out, the stored one is kept while the connection authenticates where it did; a change of servers, TLS settings or kdcs needs it again.',
  })
  keytab?: string | null;
  @Field(() => [String], {
    nullable: true,
    description: 'KERBEROS: the KDCs; an empty list: DNS SRV records.',
  })
  kdcs?: string[] | null;
  @Field(() => Boolean, { nullable: true }) includeContacts?: boolean | null;
  @Field(() => String, { nullable: true }) schedule?: string | null;
  @Field(() => String, { nullable: true, description: 'Empty string: incremental runs off.' })
  incrementalSchedule?: string | null;
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
  @Field(() => Float, { nullable: true }) deleteThreshold?: number | null;
  @Field(() => String, { nullable: true }) userFilter?: string | null;
  @Field(() => String, { nullable: true }) groupFilter?: string | null;
  @Field(() => String, { nullable: true }) contactFilter?: string | null;
  @Field(() => String, {
    nullable: true,
    description: 'NetBIOS domain name for NTLM names (NETBIOS\\user), when the directory does not state one.',
  })
  netbiosName?: string | null;
}
