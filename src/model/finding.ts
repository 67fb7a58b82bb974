/** Duplicate findings as stored and served. */
export const DUPLICATE_KINDS = [
  'USER_NAME',
  'GROUP_NAME',
  'CONTACT_NAME',
  'KERBEROS_NAME',
  'NTLM_NAME',
  'EMAIL_ADDRESS',
] as const;
export type DuplicateKind = (typeof DUPLICATE_KINDS)[number];
