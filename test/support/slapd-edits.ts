/** Changes to a test slapd's data, made as its admin: what an administrator fixing the directory does. */
import { randomBytes } from 'node:crypto';
import { Attribute, Change, Client } from 'ldapts';
import { guidFromBytes, guidToBytes } from '../../scripts/directories/identifiers.js';
import type { SlapdInstance } from '../../scripts/directories/slapd.js';

/** Replaces attributes of one entry. */
export async function modifyEntry(
  slapd: SlapdInstance,
  dn: string,
  values: Record<string, string[]>,
): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    await client.modify(
      dn,
      Object.entries(values).map(
        ([type, vals]) =>
          new Change({ operation: 'replace', modification: new Attribute({ type, values: vals }) }),
      ),
    );
  } finally {
    await client.unbind();
  }
}

/** Deletes one entry (a leaf): an object removed from the directory. */
export async function deleteEntry(slapd: SlapdInstance, dn: string): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    await client.del(dn);
  } finally {
    await client.unbind();
  }
}

/** Adds one entry. Binary values (objectGUID) as Buffers. */
export async function addEntry(
  slapd: SlapdInstance,
  dn: string,
  attributes: Record<string, string | Buffer | readonly (string | Buffer)[]>,
): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    await client.add(
      dn,
      Object.entries(attributes).map(
        ([type, v]) =>
          new Attribute({ type, values: (Array.isArray(v) ? [...v] : [v]) as string[] | Buffer[] }),
      ),
    );
  } finally {
    await client.unbind();
  }
}

/** Renames or moves one entry (modrdn): the object keeps its id and changes its DN. */
export async function moveEntry(slapd: SlapdInstance, dn: string, newDn: string): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    await client.modifyDN(dn, newDn);
  } finally {
    await client.unbind();
  }
}

/** Adds and removes values of one attribute of one entry (a group's members). */
export async function changeValues(
  slapd: SlapdInstance,
  dn: string,
  attribute: string,
  change: { readonly add?: readonly string[]; readonly remove?: readonly string[] },
): Promise<void> {
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.admin.dn, slapd.admin.password);
    const changes: Change[] = [];
    if (change.add?.length)
      changes.push(
        new Change({
          operation: 'add',
          modification: new Attribute({ type: attribute, values: [...change.add] }),
        }),
      );
    if (change.remove?.length)
      changes.push(
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: attribute, values: [...change.remove] }),
        }),
      );
    await client.modify(dn, changes);
  } finally {
    await client.unbind();
  }
}

/** Adds an enabled user named `name` (also its account name) under `container`, with `name@corp.test`. */
export async function addUser(
  slapd: SlapdInstance,
  container: string,
  name: string,
): Promise<{ readonly dn: string; readonly guid: string; readonly mail: string }> {
  const guid = guidFromBytes(randomBytes(16));
  const dn = `cn=${name},${container}`;
  const mail = `${name.toLowerCase()}@corp.test`;
  await addEntry(slapd, dn, {
    objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'user'],
    cn: name,
    sn: name,
    displayName: name,
    mail,
    sAMAccountName: name.toLowerCase(),
    userPrincipalName: mail,
    userAccountControl: '512',
    objectGUID: guidToBytes(guid),
  });
  return { dn, guid, mail };
}
