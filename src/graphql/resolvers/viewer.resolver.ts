/** `viewer`: the asking token's role, readable by every role. */
import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../services.js';
import { RoleEnum } from '../types/enums.js';
import { Viewer } from '../types/viewer.type.js';

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, {
    description:
      'The token of this request: its role. A client asks instead of trying a mutation to see whether it is refused.',
  })
  viewer(@Ctx() ctx: GraphQLContext): Viewer {
    return { role: ctx.role === 'ADMIN' ? RoleEnum.ADMIN : RoleEnum.READER };
  }
}
