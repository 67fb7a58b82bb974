/** The fields the reader role sees otherwise (src/graphql/visibility.ts says which, and why). */
import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../services.js';
import { Connection, SyncRun } from '../types/connection.type.js';
import { adminOnly, runErrorFor } from '../visibility.js';

@Resolver(() => Connection)
export class ConnectionVisibilityResolver {
  @FieldResolver(() => String, { nullable: true })
  bindDn(@Root() c: Connection, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, c.bindDn);
  }

  /** The bind account under another name (as bindDn): an administrator's. */
  @FieldResolver(() => String, { nullable: true })
  keytabPrincipal(@Root() c: Connection, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, c.keytabPrincipal);
  }

  @FieldResolver(() => String, { nullable: true })
  userFilter(@Root() c: Connection, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, c.userFilter);
  }

  @FieldResolver(() => String, { nullable: true })
  groupFilter(@Root() c: Connection, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, c.groupFilter);
  }

  @FieldResolver(() => String, { nullable: true })
  contactFilter(@Root() c: Connection, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, c.contactFilter);
  }
}

@Resolver(() => SyncRun)
export class SyncRunVisibilityResolver {
  @FieldResolver(() => String, { nullable: true })
  error(@Root() run: SyncRun, @Ctx() ctx: GraphQLContext): string | null {
    return runErrorFor(ctx.role, run);
  }

  /** The directory's words, like a failed run's error: an administrator's. */
  @FieldResolver(() => String, { nullable: true })
  fallbackMessage(@Root() run: SyncRun, @Ctx() ctx: GraphQLContext): string | null {
    return adminOnly(ctx.role, run.fallbackMessage);
  }
}
