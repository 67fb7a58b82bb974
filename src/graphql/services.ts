/** What the resolvers reach: the gateway's services, shared by all requests. */

import type { DirectoryView } from '../directory/directory-view.js';
import type { LiveDirectory } from '../directory/live-directory.js';
import type { NodeTable } from '../directory/node-table.js';
import type { ConnectionService } from '../sync/connection-service.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { Role } from './auth.js';
import type { Loaders } from './loaders.js';
import type { EventBus } from './pubsub.js';

export interface GatewayServices {
  readonly nodeName: string;
  readonly connections: ConnectionService;
  readonly engine: SyncEngine;
  readonly directory: LiveDirectory;
  readonly nodes: NodeTable;
  readonly events: EventBus;
  /** Test hook: called with each batch a request's loaders make. */
  readonly onLoaderBatch?: (loader: string, keys: readonly string[]) => void;
}

export interface GraphQLContext {
  readonly role: Role;
  /**
   * Taken once per request (per operation over WebSocket, per event of a subscription),
   * so one response never mixes two snapshots.
   */
  readonly view: DirectoryView;
  readonly services: GatewayServices;
  readonly loaders: Loaders;
}
