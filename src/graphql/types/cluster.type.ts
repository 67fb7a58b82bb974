import { DateTimeResolver } from 'graphql-scalars';
import { Field, ID, ObjectType } from 'type-graphql';
import type { PrincipalRecord } from '../../model/principal.js';
import { Connection, SyncRun } from './connection.type.js';
import { DuplicateKindEnum } from './enums.js';
import { Principal } from './principal.type.js';

@ObjectType('DuplicateFinding', { simpleResolvers: true })
export class DuplicateFinding {
  @Field(() => ID) id!: string;
  @Field(() => DuplicateKindEnum) kind!: DuplicateKindEnum;
  @Field(() => String, {
    description: 'The duplicated value as found (a name, a Kerberos or NTLM name, an address).',
  })
  value!: string;
  /** Ids; the `principals` field resolves them through the request's loader. */
  principalIds!: string[];
  @Field(() => [Principal]) principals!: PrincipalRecord[];
  @Field(() => [ID], { description: 'The connections the objects involved belong to.' })
  connectionIds!: string[];
  @Field(() => String, { description: 'What the duplicate turns off, in words for an administrator.' })
  consequence!: string;
  @Field(() => DateTimeResolver) detectedAt!: Date;
  @Field(() => Boolean, {
    description:
      'True when two or more of the principals are one directory object read through several connections whose search bases overlap.',
  })
  sameObject!: boolean;
}

@ObjectType('ClusterNode', { simpleResolvers: true, description: 'A row of the cluster node table.' })
export class ClusterNode {
  @Field(() => String) name!: string;
  @Field(() => DateTimeResolver) lastSeenAt!: Date;
  @Field(() => [Connection]) connections!: Connection[];
  @Field(() => [DuplicateFinding], {
    description:
      "Duplicates found by this node's last synchronizations; non-empty means the table shows a warning.",
  })
  duplicateFindings!: DuplicateFinding[];
  @Field(() => Boolean) hasWarning!: boolean;
  @Field(() => Boolean, {
    description:
      'Whether the node wrote its row recently (within three heartbeats); a stopped node keeps its last row until it returns.',
  })
  online!: boolean;
  @Field(() => String, {
    nullable: true,
    description:
      "The node's IANA time zone (e.g. Europe/Berlin), in which its schedules' cron expressions fire; null in the row of a node whose version predates the field.",
  })
  timeZone!: string | null;
}

@ObjectType('DuplicateWarning', {
  simpleResolvers: true,
  description: 'Pushed when a synchronization changes the set of duplicate findings.',
})
export class DuplicateWarning {
  @Field(() => String) node!: string;
  @Field(() => ID) connectionId!: string;
  @Field(() => [DuplicateFinding]) added!: DuplicateFinding[];
  @Field(() => [ID]) resolved!: string[];
}

@ObjectType('SyncEvent', { simpleResolvers: true })
export class SyncEvent {
  @Field(() => String) node!: string;
  @Field(() => SyncRun) run!: SyncRun;
}
