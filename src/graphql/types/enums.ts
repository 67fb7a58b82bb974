import { registerEnumType } from 'type-graphql';

export enum PrincipalKindEnum {
  USER = 'USER',
  GROUP = 'GROUP',
  CONTACT = 'CONTACT',
}
registerEnumType(PrincipalKindEnum, { name: 'PrincipalKind' });

export enum DuplicateKindEnum {
  USER_NAME = 'USER_NAME',
  GROUP_NAME = 'GROUP_NAME',
  CONTACT_NAME = 'CONTACT_NAME',
  KERBEROS_NAME = 'KERBEROS_NAME',
  NTLM_NAME = 'NTLM_NAME',
  EMAIL_ADDRESS = 'EMAIL_ADDRESS',
}
registerEnumType(DuplicateKindEnum, {
  name: 'DuplicateKind',
  valuesConfig: {
    USER_NAME: { description: 'Two or more users share a display name (cn).' },
    GROUP_NAME: { description: 'Two or more groups share a name.' },
    CONTACT_NAME: { description: 'Two or more contacts share a name.' },
    KERBEROS_NAME: { description: 'Two or more users share a Kerberos principal name (userPrincipalName).' },
    NTLM_NAME: { description: 'Two or more users share an NTLM name (NETBIOSDOMAIN\\sAMAccountName).' },
    EMAIL_ADDRESS: {
      description: 'Two or more directory objects share an email address (mail or smtp: proxyAddresses).',
    },
  },
});

export enum SyncStatusEnum {
  NEVER = 'NEVER',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  HELD = 'HELD',
}
registerEnumType(SyncStatusEnum, {
  name: 'SyncStatus',
  valuesConfig: {
    HELD: {
      description:
        'The run read everything but would remove more of the cache than allowed; the previous snapshot is served until an administrator confirms (confirmSync).',
    },
  },
});

export enum SyncTriggerEnum {
  SCHEDULE = 'SCHEDULE',
  MANUAL = 'MANUAL',
  STARTUP = 'STARTUP',
}
registerEnumType(SyncTriggerEnum, { name: 'SyncTrigger' });

export enum TlsModeEnum {
  NONE = 'NONE',
  STARTTLS = 'STARTTLS',
  LDAPS = 'LDAPS',
}
registerEnumType(TlsModeEnum, { name: 'TlsMode' });

export enum AuthMethodEnum {
  ANONYMOUS = 'ANONYMOUS',
  SIMPLE = 'SIMPLE',
  KERBEROS = 'KERBEROS',
}
registerEnumType(AuthMethodEnum, {
  name: 'AuthMethod',
  description: 'How the gateway authenticates to the directory.',
  valuesConfig: {
    ANONYMOUS: { description: 'No credentials.' },
    SIMPLE: { description: 'Simple bind with bindDn (a DN or a user principal name) and bindPassword.' },
    KERBEROS: {
      description:
        "Kerberos (SASL GSSAPI) with the key held in the connection's keytab; no password is stored.",
    },
  },
});

export enum SyncPhaseEnum {
  CONNECTING = 'CONNECTING',
  READING = 'READING',
  BUILDING = 'BUILDING',
  SAVING = 'SAVING',
  DETECTING = 'DETECTING',
  DONE = 'DONE',
}
registerEnumType(SyncPhaseEnum, { name: 'SyncPhase' });

export enum ConnectionStepEnum {
  DNS = 'DNS',
  TCP = 'TCP',
  TLS = 'TLS',
  /** Tickets from the keytab (KERBEROS connections only), before BIND. */
  KERBEROS = 'KERBEROS',
  BIND = 'BIND',
  SEARCH = 'SEARCH',
}
registerEnumType(ConnectionStepEnum, { name: 'ConnectionStep' });

export enum RoleEnum {
  ADMIN = 'ADMIN',
  READER = 'READER',
}
registerEnumType(RoleEnum, {
  name: 'Role',
  valuesConfig: {
    ADMIN: { description: 'The admin token: every query, mutation and subscription.' },
    READER: { description: 'The reader token: queries and subscriptions; every mutation is refused.' },
  },
});

export enum SyncModeEnum {
  FULL = 'FULL',
  INCREMENTAL = 'INCREMENTAL',
}
registerEnumType(SyncModeEnum, {
  name: 'SyncMode',
  valuesConfig: {
    FULL: { description: 'Reads every object under the search base; what is not read any more is removed.' },
    INCREMENTAL: {
      description:
        "Reads only what changed since the connection's last run, deletions included (Active Directory: DirSync or uSNChanged).",
    },
  },
});

export enum IncrementalFallbackEnum {
  NO_WATERMARK = 'NO_WATERMARK',
  SETTINGS_CHANGED = 'SETTINGS_CHANGED',
  NOT_SUPPORTED = 'NOT_SUPPORTED',
  OTHER_SERVER = 'OTHER_SERVER',
  INVOCATION_ID_CHANGED = 'INVOCATION_ID_CHANGED',
  USN_WENT_BACKWARDS = 'USN_WENT_BACKWARDS',
  KIND_CHANGED = 'KIND_CHANGED',
  COOKIE_REFUSED = 'COOKIE_REFUSED',
  TOMBSTONE_LIFETIME_PASSED = 'TOMBSTONE_LIFETIME_PASSED',
  REFUSED = 'REFUSED',
}
registerEnumType(IncrementalFallbackEnum, {
  name: 'IncrementalFallback',
  description: 'Why a run asked to be incremental read everything instead.',
  valuesConfig: {
    NO_WATERMARK: {
      description:
        'No snapshot yet, or one without a watermark (read before incremental runs existed, or from a server that tracks no changes).',
    },
    SETTINGS_CHANGED: {
      description:
        'The search base, a filter, an attribute or includeContacts changed since the served snapshot.',
    },
    NOT_SUPPORTED: { description: 'The directory (or this account) cannot say what changed.' },
    OTHER_SERVER: {
      description: 'The watermark is from another domain controller or server than the one bound now.',
    },
    INVOCATION_ID_CHANGED: {
      description: "The domain controller's database was restored from a backup (new invocationID).",
    },
    USN_WENT_BACKWARDS: {
      description: "The domain controller's highestCommittedUSN is below the watermark.",
    },
    KIND_CHANGED: {
      description: 'The directory now tracks changes another way than when the watermark was read.',
    },
    COOKIE_REFUSED: { description: 'The domain controller refused the DirSync cookie.' },
    TOMBSTONE_LIFETIME_PASSED: {
      description: 'The watermark is older than the tombstone lifetime: deletions since may be forgotten.',
    },
    REFUSED: { description: 'The directory refused the watermark for another reason (see fallbackMessage).' },
  },
});

export enum DeletionCheckEnum {
  TOMBSTONES = 'TOMBSTONES',
  CHANGE_LOG = 'CHANGE_LOG',
  ID_COMPARISON = 'ID_COMPARISON',
}
registerEnumType(DeletionCheckEnum, {
  name: 'DeletionCheck',
  description: 'How an incremental run found what was deleted.',
  valuesConfig: {
    TOMBSTONES: {
      description: "The directory's deleted objects (Active Directory, with the rights to see them).",
    },
    CHANGE_LOG: { description: "The directory's log of deletions (OpenLDAP's accesslog overlay)." },
    ID_COMPARISON: {
      description:
        "Every object's id read (nothing else) and compared with the cache: where deletions cannot be seen otherwise.",
    },
  },
});

export enum ChangeTrackingEnum {
  UNKNOWN = 'UNKNOWN',
  DIRSYNC = 'DIRSYNC',
  USN = 'USN',
  TIMESTAMP = 'TIMESTAMP',
  NONE = 'NONE',
}
registerEnumType(ChangeTrackingEnum, {
  name: 'ChangeTracking',
  description: "How the connection's directory says what changed, as its last full run found.",
  valuesConfig: {
    UNKNOWN: { description: 'No run has told yet (no snapshot, or one from before incremental runs).' },
    DIRSYNC: { description: 'Active Directory DirSync.' },
    USN: { description: "Active Directory uSNChanged against the domain controller's highestCommittedUSN." },
    TIMESTAMP: { description: 'modifyTimestamp (OpenLDAP and other servers).' },
    NONE: {
      description: 'The directory tracks no changes: full runs only (incremental runs are not scheduled).',
    },
  },
});
