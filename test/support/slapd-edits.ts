/** Changes to a test slapd's data, made as its admin: what an administrator fixing the directory does. */
import { Attribute, Change, Client } from 'ldapts';
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
