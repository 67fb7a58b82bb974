/**
 * The two halves the autocomplete index is built in (autocomplete-index.ts
 * says what it holds and how it ranks):
 *
 * - the addresses: every address folded, numbered in rank order, split by
 *   shard, and the owners in the order of their best suggestion
 *   (buildAddresses);
 * - the keys: name words, phrases and account names, each with its owners
 *   (collectKeys, visiting owners in that order, then finishKeys).
 *
 * Both read and yield only plain arrays, principals numbered by their
 * position in the build's input, so that a worker thread can build them
 * (worker-thread.ts; build-autocomplete.ts says who builds what).
 */
import { PRINCIPAL_KINDS, type PrincipalRecord } from '../../model/principal.js';
import { fold, foldedWords } from '../fold.js';

/** Words of one display name that are indexed (and start a phrase key). */
const MAX_NAME_WORDS = 12;

// Address classes in rank order: primary before alias, enabled before disabled owner.
export const CLASS_COUNT = 4;
function classOf(primary: boolean, enabled: boolean): number {
  return (primary ? 0 : 2) + (enabled ? 0 : 1);
}

/** Rank of a suggestion within one name or account tier; lower is better. */
export function tierScore(cls: number, suggestion: number, suggestions: number): number {
  return cls * suggestions + suggestion;
}

/** What both halves read of principal p. */
interface Common {
  /** 1 when the owner is enabled. */
  readonly enabled: Uint8Array;
  /** The owner's shard: domain number · PRINCIPAL_KINDS.length + kind. */
  readonly shard: Int32Array;
}

/** What the address half reads. */
export interface AddressSource extends Common {
  readonly ids: readonly string[];
  /** The primary address: its index among p's addresses when it is one of them (nearly always), else itself. */
  readonly primaries: readonly (number | string | null)[];
  /** Addresses of p: emails[emailOffsets[p] .. emailOffsets[p + 1]). */
  readonly emailOffsets: Int32Array;
  readonly emails: readonly string[];
}

/** What the key half reads; posted to a worker, so nothing it does not need. */
export interface KeySource extends Common {
  /** fold(displayName.trim()). */
  readonly names: readonly string[];
  readonly sams: readonly (string | null)[];
  readonly upns: readonly (string | null)[];
}

export interface AutocompleteSources {
  readonly addresses: AddressSource;
  readonly keys: KeySource;
  /** Folded mail domain → domain number. */
  readonly domains: readonly (readonly [string, number])[];
}

/** Sorted unique keys, each with the owners (principal numbers) it reaches. */
export interface KeyedRun {
  readonly keys: readonly string[];
  /** Postings of keys[i] are owners[offsets[i] .. offsets[i + 1]). */
  readonly offsets: Int32Array;
  readonly owners: Int32Array;
}

const EMPTY_RUN: KeyedRun = { keys: [], offsets: new Int32Array(1), owners: new Int32Array(0) };
/** [enabled, disabled] runs of a source with no keys. */
export const NO_RUNS: readonly KeyedRun[] = [EMPTY_RUN, EMPTY_RUN];

/** The address half. */
export interface AddressParts {
  /** Per suggestion, in rule-5 order: owner, which of its addresses, folded address, class. */
  readonly suggOwner: Int32Array;
  readonly suggEmail: Int32Array;
  /** null where folding leaves the address as it is: the address itself is then the key. */
  readonly suggFolded: readonly (string | null)[];
  readonly suggClass: Uint8Array;
  /** Per principal: the best tier score of its suggestions; infinity without any. */
  readonly ownerBest: Float64Array;
  /** The principals with a suggestion, in the order of their best one (class, then number). */
  readonly owners: Int32Array;
  /** Per shard: per address class, ascending suggestion numbers. */
  readonly shards: ReadonlyMap<number, readonly Int32Array[]>;
}

/** The key half: per shard, [enabled owners, disabled owners] of names and of accounts. */
export interface KeyParts {
  readonly shards: readonly {
    readonly shard: number;
    readonly names: readonly KeyedRun[];
    readonly accounts: readonly KeyedRun[];
  }[];
}

export type KeySourceName = 'names' | 'accounts';
const KEY_SOURCES: readonly KeySourceName[] = ['names', 'accounts'];

/**
 * The sources of principals in the order given; `foldedNames`: each one's
 * fold(displayName.trim()); `domainOf` maps a connection to its mail domain.
 */
export function autocompleteSources(
  principals: readonly PrincipalRecord[],
  foldedNames: readonly string[],
  domainOf: (connectionId: string) => string | null | undefined,
): AutocompleteSources {
  const n = principals.length;
  const ids = new Array<string>(n);
  const enabled = new Uint8Array(n);
  const shard = new Int32Array(n);
  const domains = new Map<string, number>();
  const domainOfConnection = new Map<string, number>();
  const sams = new Array<string | null>(n);
  const upns = new Array<string | null>(n);
  const primaries = new Array<number | string | null>(n);
  const emailOffsets = new Int32Array(n + 1);
  const emails: string[] = [];
  for (let p = 0; p < n; p++) {
    const principal = principals[p] as PrincipalRecord;
    ids[p] = principal.id;
    enabled[p] = principal.enabled ? 1 : 0;
    let d = domainOfConnection.get(principal.connectionId);
    if (d === undefined) {
      const name = fold(domainOf(principal.connectionId) ?? '');
      d = domains.get(name);
      if (d === undefined) {
        d = domains.size;
        domains.set(name, d);
      }
      domainOfConnection.set(principal.connectionId, d);
    }
    shard[p] = d * PRINCIPAL_KINDS.length + PRINCIPAL_KINDS.indexOf(principal.kind);
    sams[p] = principal.samAccountName;
    upns[p] = principal.userPrincipalName;
    const primary = principal.primaryEmail;
    const at = primary === null ? -1 : principal.emails.indexOf(primary);
    primaries[p] = at >= 0 ? at : primary;
    for (const address of principal.emails) emails.push(address);
    emailOffsets[p + 1] = emails.length;
  }
  return {
    addresses: { enabled, shard, ids, primaries, emailOffsets, emails },
    keys: { enabled, shard, names: foldedNames, sams, upns },
    domains: [...domains],
  };
}

export function buildAddresses(source: AddressSource): AddressParts {
  const count = source.ids.length;
  // 1. One suggestion per distinct (folded) address of each principal. Sized
  // for every address: duplicates and blanks only leave the end unused.
  const capacity = source.emails.length;
  const tmpOwner = new Int32Array(capacity);
  const tmpEmail = new Int32Array(capacity);
  const tmpClass = new Uint8Array(capacity);
  const tmpFolded: string[] = [];
  const seen: string[] = [];
  const folds: string[] = [];
  for (let p = 0; p < count; p++) {
    const first = source.emailOffsets[p] as number;
    const end = source.emailOffsets[p + 1] as number;
    if (first === end) continue;
    // The owner's addresses folded first: the primary is nearly always one of them.
    folds.length = 0;
    for (let e = first; e < end; e++) folds.push(fold((source.emails[e] as string).trim()));
    const primaryEmail = source.primaries[p] as number | string | null;
    const primary =
      primaryEmail === null
        ? null
        : typeof primaryEmail === 'number'
          ? (folds[primaryEmail] as string)
          : fold(primaryEmail.trim());
    const enabled = source.enabled[p] === 1;
    seen.length = 0;
    for (let e = first; e < end; e++) {
      const folded = folds[e - first] as string;
      if (folded.length === 0 || seen.includes(folded)) continue;
      seen.push(folded);
      const t = tmpFolded.length;
      tmpOwner[t] = p;
      tmpEmail[t] = e - first;
      tmpClass[t] = classOf(folded === primary, enabled);
      tmpFolded.push(folded);
    }
  }

  // 2. Number suggestions in rule-5 order (folded address, spelling, owner
  // id), so that comparing numbers compares addresses.
  const n = tmpFolded.length;
  const spelling = (t: number): string =>
    source.emails[(source.emailOffsets[tmpOwner[t] as number] as number) + (tmpEmail[t] as number)] as string;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => {
    const fa = tmpFolded[a] as string;
    const fb = tmpFolded[b] as string;
    if (fa !== fb) return fa < fb ? -1 : 1;
    const sa = spelling(a);
    const sb = spelling(b);
    if (sa !== sb) return sa < sb ? -1 : 1;
    const ia = source.ids[tmpOwner[a] as number] as string;
    const ib = source.ids[tmpOwner[b] as number] as string;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  const suggOwner = new Int32Array(n);
  const suggEmail = new Int32Array(n);
  const suggFolded = new Array<string | null>(n);
  const suggClass = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const t = order[s] as number;
    suggOwner[s] = tmpOwner[t] as number;
    suggEmail[s] = tmpEmail[t] as number;
    const folded = tmpFolded[t] as string;
    suggFolded[s] = folded === spelling(t) ? null : folded;
    suggClass[s] = tmpClass[t] as number;
  }

  // 3. Each shard's suggestions, per class, ascending.
  const lists = new Map<number, number[][]>();
  for (let s = 0; s < n; s++) {
    const shard = source.shard[suggOwner[s] as number] as number;
    let own = lists.get(shard);
    if (own === undefined) {
      own = Array.from({ length: CLASS_COUNT }, () => []);
      lists.set(shard, own);
    }
    (own[suggClass[s] as number] as number[]).push(s);
  }
  const shards = new Map<number, Int32Array[]>();
  for (const [shard, own] of lists)
    shards.set(
      shard,
      own.map((a) => Int32Array.from(a)),
    );

  // 4. Each owner's best score, and the owners in that order: the first
  // suggestion met of each owner, by class and then number, is its best.
  const ownerBest = new Float64Array(count).fill(Number.POSITIVE_INFINITY);
  const owners: number[] = [];
  for (let cls = 0; cls < CLASS_COUNT; cls++) {
    for (let s = 0; s < n; s++) {
      if (suggClass[s] !== cls) continue;
      const p = suggOwner[s] as number;
      if (ownerBest[p] !== Number.POSITIVE_INFINITY) continue;
      ownerBest[p] = tierScore(cls, s, n);
      owners.push(p);
    }
  }

  return { suggOwner, suggEmail, suggFolded, suggClass, ownerBest, owners: Int32Array.from(owners), shards };
}

/** Keys being collected: per shard, per source, [enabled, disabled] key → owner(s). */
type KeyMaps = Map<number, Record<KeySourceName, Map<string, number | number[]>[]>>;

/**
 * The first step of the key half: every key of the owners given, in their
 * order (AddressParts.owners). Posting lists are thereby sorted by the
 * owners' best suggestion without sorting them, as the query's early stop
 * requires; and keys arrive nearly sorted (addresses mostly follow names),
 * which finishKeys' sort is quick on. Principals without a suggestion are
 * not given: they have nothing to suggest.
 */
export function collectKeys(
  source: KeySource,
  owners: Int32Array,
  which: readonly KeySourceName[] = KEY_SOURCES,
): KeyMaps {
  const withNames = which.includes('names');
  const withAccounts = which.includes('accounts');
  const maps: KeyMaps = new Map();
  // Most keys (account names, runs of name words) have one owner: it is
  // stored as a number, and only a second owner makes an array, which spares
  // the build an allocation per key.
  const add = (map: Map<string, number | number[]>, key: string, p: number): void => {
    const found = map.get(key);
    if (found === undefined) map.set(key, p);
    else if (typeof found === 'number') map.set(key, [found, p]);
    else found.push(p);
  };
  for (const p of owners) {
    const shard = source.shard[p] as number;
    let own = maps.get(shard);
    if (own === undefined) {
      own = { names: [new Map(), new Map()], accounts: [new Map(), new Map()] };
      maps.set(shard, own);
    }
    const slot = source.enabled[p] === 1 ? 0 : 1;
    if (withNames) {
      const names = own.names[slot] as Map<string, number | number[]>;
      for (const key of nameKeys(source.names[p] as string)) add(names, key, p);
    }
    if (withAccounts) {
      const accounts = own.accounts[slot] as Map<string, number | number[]>;
      for (const key of accountKeys(source.sams[p] ?? null, source.upns[p] ?? null)) add(accounts, key, p);
    }
  }
  return maps;
}

/** The second step: each run's keys sorted, with their postings. */
export function finishKeys(maps: KeyMaps): KeyParts {
  const shards: KeyParts['shards'][number][] = [];
  for (const [shard, own] of maps) {
    shards.push({ shard, names: own.names.map(finishRun), accounts: own.accounts.map(finishRun) });
  }
  return { shards };
}

function finishRun(map: Map<string, number | number[]>): KeyedRun {
  if (map.size === 0) return EMPTY_RUN;
  // Default sort compares UTF-16 code units, as the index's searches and startsWith do.
  const keys = [...map.keys()].sort();
  const offsets = new Int32Array(keys.length + 1);
  let total = 0;
  for (let k = 0; k < keys.length; k++) {
    const owners = map.get(keys[k] as string) as number | number[];
    total += typeof owners === 'number' ? 1 : owners.length;
    offsets[k + 1] = total;
  }
  const list = new Int32Array(total);
  for (let k = 0; k < keys.length; k++) {
    const owners = map.get(keys[k] as string) as number | number[];
    if (typeof owners === 'number') list[offsets[k] as number] = owners;
    else list.set(owners, offsets[k] as number);
  }
  return { keys, offsets, owners: list };
}

/** Both halves of an index. */
export interface AutocompleteHalves {
  readonly addresses: AddressParts;
  readonly keys: KeyParts;
}

/** Both halves, on this thread. */
export function buildHalves(sources: Pick<AutocompleteSources, 'addresses' | 'keys'>): AutocompleteHalves {
  const addresses = buildAddresses(sources.addresses);
  return { addresses, keys: finishKeys(collectKeys(sources.keys, addresses.owners)) };
}

/** The key half from its name keys and its account keys, built apart (on two threads). */
export function joinKeys(names: KeyParts, accounts: KeyParts): KeyParts {
  const byShard = new Map<number, { names: readonly KeyedRun[]; accounts: readonly KeyedRun[] }>();
  for (const shard of names.shards) byShard.set(shard.shard, { names: shard.names, accounts: NO_RUNS });
  for (const shard of accounts.shards) {
    const found = byShard.get(shard.shard);
    byShard.set(shard.shard, { names: found?.names ?? NO_RUNS, accounts: shard.accounts });
  }
  return { shards: [...byShard].map(([shard, runs]) => ({ shard, ...runs })) };
}

/** The typed arrays of the address half, which a worker hands over instead of copying; `owners` it keeps. */
export function addressTransferables(addresses: AddressParts): ArrayBuffer[] {
  const buffers: ArrayBufferLike[] = [
    addresses.suggOwner.buffer,
    addresses.suggEmail.buffer,
    addresses.suggClass.buffer,
    addresses.ownerBest.buffer,
  ];
  for (const lists of addresses.shards.values()) for (const list of lists) buffers.push(list.buffer);
  return onlyArrayBuffers(buffers);
}

/** The typed arrays of keys, which a worker hands over instead of copying. */
export function keyTransferables(keys: KeyParts): ArrayBuffer[] {
  const buffers: ArrayBufferLike[] = [];
  for (const shard of keys.shards) {
    for (const run of [...shard.names, ...shard.accounts]) {
      if (run !== EMPTY_RUN) buffers.push(run.offsets.buffer, run.owners.buffer);
    }
  }
  return onlyArrayBuffers(buffers);
}

function onlyArrayBuffers(buffers: readonly ArrayBufferLike[]): ArrayBuffer[] {
  return buffers.filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
}

/**
 * The name keys of a display name, given folded (fold(displayName.trim())):
 * each word, and each run of two or more words up to the end ("anna maria
 * müller" → "maria müller" too), so that typing a first name and the start
 * of a surname narrows the list.
 */
function nameKeys(foldedName: string): string[] {
  const words = foldedWords(foldedName).slice(0, MAX_NAME_WORDS);
  const keys: string[] = [];
  // Built from the end: each run is a word plus the run after it.
  let run = words[words.length - 1] ?? '';
  for (let i = words.length - 2; i >= 0; i--) {
    run = `${words[i] as string} ${run}`;
    keys.push(run);
  }
  for (const word of words) if (!keys.includes(word)) keys.push(word);
  return keys;
}

/** The account keys: sAMAccountName and the local part of userPrincipalName, folded, each once. */
function accountKeys(samAccountName: string | null, userPrincipalName: string | null): string[] {
  const sam = samAccountName ? fold(samAccountName.trim()) : '';
  let local = '';
  if (userPrincipalName) {
    const upn = userPrincipalName.trim();
    const at = upn.lastIndexOf('@');
    local = fold(at > 0 ? upn.slice(0, at) : upn);
  }
  // One small array per owner, no intermediate ones: the build does this for every principal.
  if (sam.length === 0) return local.length === 0 ? [] : [local];
  return local.length === 0 || local === sam ? [sam] : [sam, local];
}
