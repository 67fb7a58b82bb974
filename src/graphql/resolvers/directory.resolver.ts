/** Read queries over the cached directory: autocomplete, lookups, lists, membership, findings. */
import { Arg, Args, ArgsType, Ctx, Field, ID, Int, Query, Resolver } from 'type-graphql';
import type { PrincipalKind, PrincipalRecord } from '../../model/principal.js';
import { checkCount, checkOptionalText, checkText, LIMITS } from '../arguments.js';
import { badInput, limitExceeded } from '../errors.js';
import { toFinding } from '../mappers.js';
import type { GraphQLContext } from '../services.js';
import { DuplicateFinding } from '../types/cluster.type.js';
import { DuplicateKindEnum, PrincipalKindEnum } from '../types/enums.js';
import {
  AddressInfo,
  AddressSuggestion,
  ContactPage,
  GroupPage,
  Principal,
  UserPage,
} from '../types/principal.type.js';

interface PageResult {
  nodes: PrincipalRecord[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  totalCount: number;
}

/** The arguments users, groups and contacts share. */
@ArgsType()
class ListArgs {
  @Field(() => ID, { nullable: true }) connectionId!: string | null;
  @Field(() => String, { nullable: true }) search!: string | null;
  @Field(() => Int, { nullable: true, defaultValue: 50 }) first!: number | null;
  @Field(() => String, { nullable: true }) after!: string | null;
}

function list(ctx: GraphQLContext, kind: PrincipalKind, args: ListArgs): PageResult {
  const page = ctx.view.list(kind, {
    connectionId: checkOptionalText('connectionId', args.connectionId, LIMITS.idLength),
    search: checkOptionalText('search', args.search, LIMITS.searchLength),
    first: checkCount('first', args.first, 50, LIMITS.pageSize),
    after: checkOptionalText('after', args.after, LIMITS.idLength),
  });
  return { nodes: [...page.nodes], pageInfo: { ...page.pageInfo }, totalCount: page.totalCount };
}

@Resolver()
export class DirectoryResolver {
  @Query(() => [AddressSuggestion], {
    description:
      'Email addresses whose address, display name or account name starts with the prefix (case-insensitive), best first.',
  })
  autocomplete(
    @Ctx() ctx: GraphQLContext,
    @Arg('prefix', () => String) prefix: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 10 }) first: number | null,
    @Arg('kinds', () => [PrincipalKindEnum], { nullable: true }) kinds: PrincipalKindEnum[] | null,
    @Arg('domain', () => String, { nullable: true }) domain: string | null,
  ): { address: string; principal: PrincipalRecord }[] {
    const text = checkText('prefix', prefix, LIMITS.prefixLength);
    const n = checkCount('first', first, 10, LIMITS.autocomplete);
    if (kinds && kinds.length > 3)
      throw limitExceeded('kinds: at most 3 values', { field: 'kinds', limit: 3 });
    const d = checkOptionalText('domain', domain, LIMITS.addressLength);
    if (text.trim() === '') return [];
    return ctx.view
      .autocomplete(text, { first: n, kinds: kinds as PrincipalKind[] | null, domain: d })
      .map((s) => ({ address: s.address, principal: s.principal }));
  }

  @Query(() => [Principal], {
    description:
      'The objects that receive mail at this address (more than one when the address is duplicated).',
  })
  principalsByEmail(
    @Ctx() ctx: GraphQLContext,
    @Arg('address', () => String) address: string,
  ): PrincipalRecord[] {
    return ctx.view.byEmail(checkText('address', address, LIMITS.addressLength));
  }

  @Query(() => AddressInfo, { nullable: true })
  address(@Ctx() ctx: GraphQLContext, @Arg('address', () => String) address: string): AddressInfo | null {
    const info = ctx.view.addressInfo(checkText('address', address, LIMITS.addressLength));
    return info ? { ...info, principals: [...info.principals] } : null;
  }

  @Query(() => Principal, { nullable: true })
  principal(@Ctx() ctx: GraphQLContext, @Arg('id', () => ID) id: string): Promise<PrincipalRecord | null> {
    return ctx.loaders.principal.load(checkText('id', id, LIMITS.idLength));
  }

  @Query(() => UserPage)
  users(@Ctx() ctx: GraphQLContext, @Args(() => ListArgs) args: ListArgs): PageResult {
    return list(ctx, 'USER', args);
  }

  @Query(() => GroupPage)
  groups(@Ctx() ctx: GraphQLContext, @Args(() => ListArgs) args: ListArgs): PageResult {
    return list(ctx, 'GROUP', args);
  }

  @Query(() => ContactPage)
  contacts(@Ctx() ctx: GraphQLContext, @Args(() => ListArgs) args: ListArgs): PageResult {
    return list(ctx, 'CONTACT', args);
  }

  @Query(() => Boolean, {
    description:
      'Whether the object that owns this address is a member of the group, directly or through nested groups.',
  })
  isMember(
    @Ctx() ctx: GraphQLContext,
    @Arg('address', () => String) address: string,
    @Arg('groupId', () => ID) groupId: string,
  ): boolean {
    const a = checkText('address', address, LIMITS.addressLength);
    const g = checkText('groupId', groupId, LIMITS.idLength);
    const group = ctx.view.byId(g);
    if (group?.kind !== 'GROUP')
      throw badInput('groupId', `no group has id ${JSON.stringify(g)}`, 'NOT_A_GROUP');
    return ctx.view.isMember(a, g);
  }

  @Query(() => [DuplicateFinding])
  duplicateFindings(
    @Ctx() ctx: GraphQLContext,
    @Arg('kind', () => DuplicateKindEnum, { nullable: true }) kind: DuplicateKindEnum | null,
    @Arg('connectionId', () => ID, { nullable: true }) connectionId: string | null,
  ): DuplicateFinding[] {
    const c = checkOptionalText('connectionId', connectionId, LIMITS.idLength);
    return ctx.services.directory
      .findings(ctx.view)
      .filter((f) => (!kind || f.kind === kind) && (c === null || f.connectionIds.includes(c)))
      .map(toFinding);
  }
}
