/**
 * The autocomplete index behind the Sender and Recipient fields, as the
 * rest of the gateway sees it: one function builds it (build-autocomplete.ts),
 * the index answers (autocomplete-index.ts), and a worker thread builds the
 * large ones (worker-thread.ts, whose warm, stopIdle and close a sync calls
 * around its view build). The halves an index is built in, the worker's
 * messages and its script are private to this folder.
 */
export {
  type AddressSuggestion,
  AutocompleteIndex,
  CANDIDATE_CAP,
  type SuggestOptions,
} from './autocomplete-index.js';
export { buildAutocomplete, buildAutocompleteHere } from './build-autocomplete.js';
export { LayeredAutocomplete, type Suggester } from './layered-autocomplete.js';
export { AutocompleteWorker } from './worker-thread.js';
