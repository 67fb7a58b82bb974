/** Fields of principals that need the directory: membership, consequences, connection. */
import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { ntlmName, type PrincipalRecord } from '../../model/principal.js';
import { checkCount, checkOptionalText, LIMITS } from '../arguments.js';
import { toConnection } from '../mappers.js';
import type { GraphQLContext } from '../services.js';
import { Connection } from '../types/connection.type.js';
import { Group, Principal, PrincipalPage, User } from '../types/principal.type.js';

@Resolver(() => Principal)
export class PrincipalResolver {
  @FieldResolver(() => Connection)
  async connection(@Root() p: PrincipalRecord, @Ctx() ctx: GraphQLContext): Promise<Connection> {
    const record = await ctx.loaders.connection.load(p.connectionId);
    if (!record) throw new Error(`connection ${p.connectionId} of principal ${p.id} is gone`);
    return toConnection(
      record,
      ctx.services.engine.state(record.id),
      ctx.view.snapshotMeta(record.id)?.watermark,
    );
  }

  @FieldResolver(() => [Group], {
    description: 'Groups this object belongs to; transitive follows nested groups.',
  })
  memberOf(
    @Root() p: PrincipalRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('transitive', () => Boolean, { nullable: true, defaultValue: false }) transitive: boolean | null,
  ): Promise<PrincipalRecord[]> {
    return (transitive ? ctx.loaders.memberOfTransitive : ctx.loaders.memberOf).load(p.id);
  }

  @FieldResolver(() => Boolean, {
    description:
      "False when this object's name is duplicated: protection against Active Directory spoofing is off for it.",
  })
  spoofingProtection(@Root() p: PrincipalRecord, @Ctx() ctx: GraphQLContext): boolean {
    return ctx.view.consequencesFor(p.id).spoofingProtection;
  }
}

@Resolver(() => User)
export class UserResolver {
  @FieldResolver(() => String, {
    nullable: true,
    description: 'NETBIOSDOMAIN\\samAccountName, where both are known.',
  })
  ntlmName(@Root() p: PrincipalRecord, @Ctx() ctx: GraphQLContext): string | null {
    return ntlmName(p, ctx.view.snapshotMeta(p.connectionId)?.netbiosName ?? null);
  }

  @FieldResolver(() => Boolean, {
    description: "False when the user's name, Kerberos name or NTLM name is duplicated.",
  })
  personalBackupAllowed(@Root() p: PrincipalRecord, @Ctx() ctx: GraphQLContext): boolean {
    return ctx.view.consequencesFor(p.id).personalBackupAllowed;
  }

  @FieldResolver(() => Boolean, {
    description: "False when the user's name, Kerberos name or NTLM name is duplicated.",
  })
  personalListsAllowed(@Root() p: PrincipalRecord, @Ctx() ctx: GraphQLContext): boolean {
    return ctx.view.consequencesFor(p.id).personalListsAllowed;
  }
}

@Resolver(() => Group)
export class GroupResolver {
  @FieldResolver(() => PrincipalPage)
  members(
    @Root() p: PrincipalRecord,
    @Ctx() ctx: GraphQLContext,
    @Arg('transitive', () => Boolean, { nullable: true, defaultValue: false }) transitive: boolean | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): PrincipalPage {
    const size = checkCount('first', first, 100, LIMITS.pageSize);
    const cursor = checkOptionalText('after', after, LIMITS.idLength);
    const page = ctx.view.members(p.id, transitive ?? false, size, cursor);
    return { nodes: [...page.nodes], pageInfo: { ...page.pageInfo }, totalCount: page.totalCount };
  }
}
