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
