/**
 * Property: whatever set of changes an administrator makes, what a
 * connection serves after one incremental run is what a full read of the
 * same directory serves, object for object (#18). Two connections to one
 * private slapd: one runs INCREMENTAL after each round of random changes,
 * the other (incremental runs off) runs in full; their served directories
 * must be equal with the ids mapped between the connections, and so must
 * the changes each run lists and the duplicate findings. Three times: with
 * the default filters; with filters that leave out objects marked hidden,
 * so that objects also leave and enter the read (as moved out of the search
 * base and back); and with those filters on a slapd whose access log finds
 * the deletions (objects leaving the read are then found from the ids
 * stamped since the watermark). The seed is printed on failure;
 * DIRGATE_PROPERTY_SEED replays one.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../../scripts/directories/prng.js';
import {
  type AddConnectionInput,
  AutocompleteDocument,
  ContactsDocument,
  type DeletionCheck,
  DuplicateFindingsDocument,
  GroupMembersDocument,
  GroupsDocument,
  UsersDocument,
} from '../gql/graphql.js';
import { privateSlapd } from '../support/fixtures.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { HIDING_FILTERS, randomEditor } from '../support/random-edits.js';
import { type ServedObject, servedDirectory } from '../support/served-directory.js';
import { addSlapdConnection, syncNow } from '../support/sync.js';

const SEED = process.env.DIRGATE_PROPERTY_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
const ROUNDS = 8;

/** The duplicate findings of a connection, without what differs between nodes (ids, times). */
async function findings(client: TestGateway, connectionId: string) {
  const { duplicateFindings } = await client.ok(DuplicateFindingsDocument, { connectionId });
  return duplicateFindings
    .map((f) => ({
      kind: f.kind,
      value: f.value,
      sameObject: f.sameObject,
      principals: f.principals.map((p) => p.id.slice(connectionId.length + 1)).sort(),
    }))
    .sort((a, b) => `${a.kind} ${a.value}`.localeCompare(`${b.kind} ${b.value}`));
}

/** Prefixes typed into autocomplete: the generated names' and the added objects' first letters. */
const PREFIXES = ['prop', 'p', 'a', 'e', 'm', 's'];

/**
 * What the view derives from the records, as guids: each group's transitive members, the
 * suggestions for a few prefixes in their order, and the display order of each kind.
 */
async function derived(client: TestGateway, connectionId: string, objects: readonly ServedObject[]) {
  const guid = (id: string) => id.slice(connectionId.length + 1);
  const groups = objects.filter((o) => o.principal.__typename === 'Group').map((o) => o.principal.id);
  const transitive = await Promise.all(
    groups.map(async (id) => {
      const { principal } = await client.ok(GroupMembersDocument, { id, transitive: true, first: 500 });
      const members = principal?.__typename === 'Group' ? principal.members.nodes : [];
      return [guid(id), members.map((n) => guid(n.id)).sort()] as const;
    }),
  );
  const suggestions = await Promise.all(
    PREFIXES.map(async (prefix) => {
      const { autocomplete } = await client.ok(AutocompleteDocument, { prefix, first: 50 });
      return [prefix, autocomplete.map((s) => `${s.address} ${guid(s.principal.id)}`)] as const;
    }),
  );
  // The display order, as the lists page through it (one page holds these directories).
  const order = await Promise.all([
    client.ok(UsersDocument, { connectionId, first: 200 }).then((d) => d.users.nodes.map((n) => guid(n.id))),
    client
      .ok(GroupsDocument, { connectionId, first: 200 })
      .then((d) => d.groups.nodes.map((n) => guid(n.id))),
    client
      .ok(ContactsDocument, { connectionId, first: 200 })
      .then((d) => d.contacts.nodes.map((n) => guid(n.id))),
  ]);
  return { transitive, suggestions, order };
}

type Changes = { added: string[]; updated: string[]; removed: string[] } | null | undefined;

/** A run's changes as guids, sorted: comparable between the two connections. */
function listed(changes: Changes, connectionId: string) {
  const guids = (ids: readonly string[] | undefined) =>
    (ids ?? []).map((id) => id.slice(connectionId.length + 1)).sort();
  return { added: guids(changes?.added), updated: guids(changes?.updated), removed: guids(changes?.removed) };
}

interface Scenario {
  readonly name: string;
  readonly filters: Partial<AddConnectionInput>;
  /** slapd with an access log: deletions found in the log instead of by comparing ids. */
  readonly accessLog: boolean;
  readonly deletionCheck: DeletionCheck;
}

const scenarios: readonly Scenario[] = [
  { name: 'the default filters', filters: {}, accessLog: false, deletionCheck: 'ID_COMPARISON' },
  {
    name: 'filters that leave hidden objects out',
    filters: HIDING_FILTERS,
    accessLog: false,
    deletionCheck: 'ID_COMPARISON',
  },
  {
    name: 'hiding filters and an access log',
    filters: HIDING_FILTERS,
    accessLog: true,
    deletionCheck: 'CHANGE_LOG',
  },
];

for (const { name, filters, accessLog, deletionCheck } of scenarios) {
  describe(`incremental runs over random change sets, ${name} (seed ${SEED})`, () => {
    const ldap = privateSlapd({
      users: 40,
      groups: 12,
      contacts: 10,
      seed: 'incremental-property',
      largeGroupSize: 0,
      server: { accessLog },
    });
    // Two gateways, one connection each: a gateway refuses a second connection over the same
    // search base of a domain, and the two must read the directory under the same settings.
    let gw: TestGateway;
    let reference: TestGateway;
    let incremental: string;
    let full: string;

    beforeAll(async () => {
      [gw, reference] = await Promise.all([startTestGateway(), startTestGateway()]);
      incremental = await addSlapdConnection(gw, ldap.slapd, filters);
      full = await addSlapdConnection(reference, ldap.slapd, { ...filters, incrementalSchedule: '' });
      expect((await syncNow(gw, incremental)).status).toBe('SUCCEEDED');
      expect((await syncNow(reference, full)).status).toBe('SUCCEEDED');
      return async () => {
        await gw.dispose();
        await reference.dispose();
      };
    });

    /** The incremental connection's directory with its ids as the full connection names them. */
    function mapped(objects: readonly ServedObject[]): ServedObject[] {
      const json = JSON.stringify(objects).replaceAll(`"${incremental}:`, `"${full}:`);
      return JSON.parse(json) as ServedObject[];
    }

    it('serve what a full run of the same directory serves, round after round', async () => {
      const random = createRandom(SEED, `incremental-property ${name}`);
      const editor = randomEditor(ldap.slapd, ldap.dataset, random);
      const history: string[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const edits = await editor.edit(1 + random.int(8));
        history.push(`round ${round}:`, ...edits.map((e) => `  ${e}`));
        const why = `seed ${SEED} (DIRGATE_PROPERTY_SEED=${SEED} replays it), ${name}\n${history.join('\n')}`;

        const inc = await syncNow(gw, incremental, undefined, 'INCREMENTAL');
        expect(inc.lastSync?.status, `${why}\n${inc.lastSync?.error ?? ''}`).toBe('SUCCEEDED');
        expect(inc.lastSync?.mode, why).toBe('INCREMENTAL');
        expect(inc.lastSync?.fallbackReason, why).toBeNull();
        expect(inc.lastSync?.deletionCheck, why).toBe(deletionCheck);
        const whole = await syncNow(reference, full);
        expect(whole.lastSync?.status, why).toBe('SUCCEEDED');
        expect(whole.lastSync?.mode, why).toBe('FULL');

        const [served, truth] = await Promise.all([
          servedDirectory(gw, incremental),
          servedDirectory(reference, full),
        ]);
        expect(mapped(served), why).toEqual(truth);
        // The membership graph, the autocomplete index and the display order, patched, are the
        // ones built whole.
        expect(await derived(gw, incremental, served), why).toEqual(await derived(reference, full, truth));
        // The duplicate findings recomputed from the touched values are the whole recomputation's.
        expect(await findings(gw, incremental), why).toEqual(await findings(reference, full));
        // And it lists exactly what changed: what the full run, from the same state to the same
        // state, found by comparing the snapshots.
        expect(listed(inc.lastSync?.changes, incremental), why).toEqual(
          listed(whole.lastSync?.changes, full),
        );
        expect(inc.userCount, why).toBe(whole.userCount);
        expect(inc.groupCount, why).toBe(whole.groupCount);
        expect(inc.contactCount, why).toBe(whole.contactCount);
      }
    }, 60_000);
  });
}
