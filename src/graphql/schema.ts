/** The code-first schema, built once per process. */
import 'reflect-metadata';
import type { PubSub } from '@graphql-yoga/subscription';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import type { Topics } from './pubsub.js';
import { ClusterResolver, FindingResolver } from './resolvers/cluster.resolver.js';
import { ConnectionResolver } from './resolvers/connection.resolver.js';
import { DirectoryResolver } from './resolvers/directory.resolver.js';
import { GroupResolver, PrincipalResolver, UserResolver } from './resolvers/principal.resolver.js';
import { Contact, Group, User } from './types/principal.type.js';

export const RESOLVERS = [
  DirectoryResolver,
  PrincipalResolver,
  UserResolver,
  GroupResolver,
  ConnectionResolver,
  ClusterResolver,
  FindingResolver,
] as const;

export function buildGatewaySchema(pubSub: PubSub<Topics>): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    // Implementations reached only through the Principal interface must still be in the schema.
    orphanedTypes: [User, Group, Contact],
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
