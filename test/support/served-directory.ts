/**
 * Everything a connection serves through the API, object for object: every
 * user, group and contact with its fields, and every group's direct members.
 * What two runs of the same directory must agree on (an incremental run and
 * the full run after it).
 */
import {
  ContactsDocument,
  GroupMembersDocument,
  type GroupMembersQuery,
  GroupsDocument,
  type PrincipalFieldsFragment,
  UsersDocument,
} from '../gql/graphql.js';
import type { GraphQLClient } from './sync.js';

export interface ServedObject {
  readonly principal: PrincipalFieldsFragment;
  /** Groups: direct member ids, sorted. */
  readonly members: readonly string[];
}

const PAGE = 200;

interface Page {
  readonly nodes: readonly PrincipalFieldsFragment[];
  readonly pageInfo: { readonly endCursor?: string | null; readonly hasNextPage: boolean };
}

type PageReader = (after: string | null) => Promise<Page>;

async function everyPage(read: PageReader): Promise<PrincipalFieldsFragment[]> {
  const out: PrincipalFieldsFragment[] = [];
  let after: string | null = null;
  for (;;) {
    const page: Page = await read(after);
    out.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor ?? null;
  }
}

async function directMembers(gw: GraphQLClient, id: string): Promise<string[]> {
  const members: string[] = [];
  let after: string | null = null;
  for (;;) {
    const data: GroupMembersQuery = await gw.ok(GroupMembersDocument, { id, first: PAGE, after });
    const group = data.principal;
    if (group?.__typename !== 'Group') return members;
    for (const n of group.members.nodes) members.push(n.id);
    if (!group.members.pageInfo.hasNextPage) return members;
    after = group.members.pageInfo.endCursor ?? null;
  }
}

export async function servedDirectory(gw: GraphQLClient, connectionId: string): Promise<ServedObject[]> {
  const principals = [
    ...(await everyPage(
      async (after) => (await gw.ok(UsersDocument, { connectionId, first: PAGE, after })).users,
    )),
    ...(await everyPage(
      async (after) => (await gw.ok(GroupsDocument, { connectionId, first: PAGE, after })).groups,
    )),
    ...(await everyPage(
      async (after) => (await gw.ok(ContactsDocument, { connectionId, first: PAGE, after })).contacts,
    )),
  ];
  const out: ServedObject[] = [];
  for (const principal of principals) {
    const members = principal.__typename === 'Group' ? await directMembers(gw, principal.id) : [];
    out.push({ principal, members: members.sort() });
  }
  return out.sort((a, b) => (a.principal.id < b.principal.id ? -1 : a.principal.id > b.principal.id ? 1 : 0));
}
