/**
 * DataLoaders, a fresh set per request. Principal lookups batch into the
 * request's DirectoryView; connection lookups batch into one settings read,
 * however many objects of a page ask for their connection.
 */
import DataLoader from 'dataloader';
import type { DirectoryView } from '../directory/directory-view.js';
import type { ConnectionRecord } from '../model/connection.js';
import type { PrincipalRecord } from '../model/principal.js';
import type { ConnectionService } from '../sync/connection-service.js';

export interface Loaders {
  readonly principal: DataLoader<string, PrincipalRecord | null>;
  readonly memberOf: DataLoader<string, PrincipalRecord[]>;
  readonly memberOfTransitive: DataLoader<string, PrincipalRecord[]>;
  readonly connection: DataLoader<string, ConnectionRecord | null>;
  /** Every connection's settings, read once per request (key: ALL_CONNECTIONS). */
  readonly connections: DataLoader<string, readonly ConnectionRecord[]>;
}

export const ALL_CONNECTIONS = 'all';

export function createLoaders(
  view: DirectoryView,
  connections: ConnectionService,
  onBatch?: (loader: string, keys: readonly string[]) => void,
): Loaders {
  const observe = <V>(name: string, fn: (keys: readonly string[]) => V[] | Promise<V[]>) => {
    return async (keys: readonly string[]): Promise<V[]> => {
      onBatch?.(name, keys);
      return fn(keys);
    };
  };
  // One settings read per request, however many fields ask for connections.
  const connectionsLoader = new DataLoader<string, readonly ConnectionRecord[]>(
    observe('connections', async (keys) => {
      const list = await connections.list();
      return keys.map(() => list);
    }),
  );
  return {
    principal: new DataLoader(observe('principal', (ids) => ids.map((id) => view.byId(id)))),
    memberOf: new DataLoader(observe('memberOf', (ids) => ids.map((id) => view.memberOf(id, false)))),
    memberOfTransitive: new DataLoader(
      observe('memberOfTransitive', (ids) => ids.map((id) => view.memberOf(id, true))),
    ),
    connection: new DataLoader(
      observe('connection', async (ids) => {
        const all = new Map((await connectionsLoader.load(ALL_CONNECTIONS)).map((c) => [c.id, c]));
        // A connection whose settings were lost but whose cache is still served resolves as last listed.
        return ids.map((id) => all.get(id) ?? connections.orphaned(id) ?? null);
      }),
    ),
    connections: connectionsLoader,
  };
}
