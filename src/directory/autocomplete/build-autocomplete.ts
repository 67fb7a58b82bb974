/**
 * The one way an autocomplete index is built. A small one is built on the
 * calling thread. A large one, when a worker is given, is built on two
 * threads: the worker builds the address half and posts it, then the name
 * keys; this thread builds the account keys from the address half once it
 * arrives, which keeps both threads busy until the end, and in between is
 * free for the rest of a view build (display order, membership, duplicate
 * detection) and, during a sync, for writing the snapshot. Either way the
 * index is the same.
 */
import type { PrincipalRecord } from '../../model/principal.js';
import { AutocompleteIndex } from './autocomplete-index.js';
import { autocompleteSources, buildHalves, collectKeys, finishKeys, joinKeys } from './index-halves.js';
import type { AutocompleteWorker } from './worker-thread.js';

/**
 * Below this many principals the worker is not used: posting the sources
 * to it and the halves back costs about what building there saves.
 */
const WORKER_MIN_PRINCIPALS = 5000;

interface AutocompleteInput {
  /** Every principal to suggest; the index numbers them by their position here. */
  readonly principals: readonly PrincipalRecord[];
  /** Per principal: fold(displayName.trim()), which a directory view has for its display order. */
  readonly foldedNames: readonly string[];
  /** The mail domain a connection serves. */
  readonly connectionDomain: (connectionId: string) => string | null | undefined;
}

/** The index over `input.principals` at once, on this thread: for small ones (a patched view's overlay). */
export function buildAutocompleteHere(input: AutocompleteInput): AutocompleteIndex {
  const sources = autocompleteSources(input.principals, input.foldedNames, input.connectionDomain);
  return AutocompleteIndex.assemble(input.principals, sources.domains, buildHalves(sources));
}

/**
 * The autocomplete index over `input.principals`; a large one on `worker`
 * as well as this thread. It does not fail for the worker's sake: what the
 * worker does not deliver is built here.
 */
export async function buildAutocomplete(
  input: AutocompleteInput,
  worker?: AutocompleteWorker,
): Promise<AutocompleteIndex> {
  const { principals } = input;
  const sources = autocompleteSources(principals, input.foldedNames, input.connectionDomain);
  if (worker === undefined || principals.length < WORKER_MIN_PRINCIPALS) {
    // A worker warmed for this build has nothing to do.
    worker?.stopIdle();
    return AutocompleteIndex.assemble(principals, sources.domains, buildHalves(sources));
  }
  const halves = worker.halves(sources);
  // Handled at once: should the address half fail, the name keys' failure is no unhandled rejection.
  halves.names.catch(() => {});
  const addresses = await halves.addresses;
  // The account keys here, while the worker collects the name keys.
  const accounts = finishKeys(collectKeys(sources.keys, addresses.owners, ['accounts']));
  const keys = joinKeys(await halves.names, accounts);
  return AutocompleteIndex.assemble(principals, sources.domains, { addresses, keys });
}
