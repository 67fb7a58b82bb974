/**
 * Worker-thread entry of autocomplete-builder.ts: builds both halves of the
 * autocomplete index from each pair of sources posted to it, and posts them
 * back with their typed arrays handed over.
 */
import { parentPort } from 'node:worker_threads';
import {
  type AutocompleteHalves,
  type AutocompleteSources,
  buildHalves,
  transferables,
} from './autocomplete-build.js';

export interface BuildRequest {
  readonly job: number;
  readonly sources: Pick<AutocompleteSources, 'addresses' | 'keys'>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type BuildReply =
  | { readonly job: number; readonly halves: AutocompleteHalves }
  | { readonly job: number; readonly error: string };

parentPort?.on('message', (request: BuildRequest) => {
  const { job } = request;
  // This copy of the sources is the worker's own: each is dropped once read (about 40 MB at
  // 130,000 principals), so that the build's peak does not hold it.
  const sources: Partial<Mutable<BuildRequest['sources']>> = { ...request.sources };
  (request as { sources?: unknown }).sources = undefined;
  let reply: BuildReply;
  try {
    const halves = buildHalves(sources as BuildRequest['sources'], (read) => {
      delete sources[read];
    });
    parentPort?.postMessage({ job, halves } satisfies BuildReply, transferables(halves));
    return;
  } catch (err) {
    reply = { job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  parentPort?.postMessage(reply);
});
