/** The code-first schema, built once per process. */
import 'reflect-metadata';
import type { PubSub } from '@graphql-yoga/subscription';
import { type GraphQLSchema, isInterfaceType } from 'graphql';
import { buildSchema } from 'type-graphql';
import type { Topics } from './pubsub.js';
import { ClusterResolver, FindingResolver } from './resolvers/cluster.resolver.js';
import { ConnectionResolver } from './resolvers/connection.resolver.js';
import { DirectoryResolver } from './resolvers/directory.resolver.js';
import { GroupResolver, PrincipalResolver, UserResolver } from './resolvers/principal.resolver.js';
import { ViewerResolver } from './resolvers/viewer.resolver.js';
import { ConnectionVisibilityResolver, SyncRunVisibilityResolver } from './resolvers/visibility.resolver.js';
import { Contact, Group, principalTypeName, User } from './types/principal.type.js';

const RESOLVERS = [
  DirectoryResolver,
  PrincipalResolver,
  UserResolver,
  GroupResolver,
  ConnectionResolver,
  ClusterResolver,
  FindingResolver,
  ConnectionVisibilityResolver,
  SyncRunVisibilityResolver,
  ViewerResolver,
] as const;

export async function buildGatewaySchema(pubSub: PubSub<Topics>): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    // Implementations reached only through the Principal interface must still be in the schema.
    orphanedTypes: [User, Group, Contact],
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
  // The object types declare `simpleResolvers`: the schema uses no field middlewares, and
  // type-graphql's wrapper around each plain field would only cost time on every answer.
  // type-graphql wraps every resolveType in an async function, so each principal in a result
  // would cost a promise and a microtask hop.
  // The answer needs no await: set the plain function on the built interface.
  const principal = schema.getType('Principal');
  if (!isInterfaceType(principal)) throw new Error('the schema has no Principal interface');
  principal.resolveType = principalTypeName;
  return schema;
}
