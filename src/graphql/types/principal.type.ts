/**
 * Principals as the API shows them. Resolvers hand out PrincipalRecord
 * objects; the fields that need the directory (memberOf, members,
 * spoofingProtection, connection…) are field resolvers in
 * ../resolvers/principal.resolver.ts.
 */
import { Field, ID, Int, InterfaceType, ObjectType } from 'type-graphql';
import type { PrincipalRecord } from '../../model/principal.js';
import { PrincipalKindEnum } from './enums.js';
import { PageInfo } from './page.type.js';

const TYPE_NAME = { USER: 'User', GROUP: 'Group', CONTACT: 'Contact' } as const;

/** The object type of a principal: synchronous (see ../schema.ts). */
export const principalTypeName = (value: PrincipalRecord): string => TYPE_NAME[value.kind];

@InterfaceType('Principal', {
  description: 'A user, group or contact read from the directory.',
  resolveType: principalTypeName,
})
export abstract class Principal {
  @Field(() => ID, {
    description:
      'Stable across syncs and renames: objectGUID (Active Directory) or entryUUID, scoped to its connection.',
  })
  id!: string;

  @Field(() => PrincipalKindEnum)
  kind!: PrincipalKindEnum;

  @Field(() => String)
  dn!: string;

  @Field(() => String)
  displayName!: string;

  @Field(() => String, {
    nullable: true,
    description: 'The mail attribute, or the primary SMTP: proxy address.',
  })
  primaryEmail!: string | null;

  @Field(() => [String], {
    description:
      'Every address the object receives mail at: mail plus all smtp: proxyAddresses, without duplicates.',
  })
  emails!: string[];

  @Field(() => String, {
    description: "The directory's own id: objectGUID in AD's string form, or entryUUID.",
  })
  guid!: string;
}

@ObjectType('User', { simpleResolvers: true, implements: Principal })
export class User extends Principal {
  @Field(() => String, { nullable: true })
  samAccountName!: string | null;

  @Field(() => String, { nullable: true })
  userPrincipalName!: string | null;

  @Field(() => Boolean)
  enabled!: boolean;
}

@ObjectType('Group', { simpleResolvers: true, implements: Principal })
export class Group extends Principal {}

@ObjectType('Contact', { simpleResolvers: true, implements: Principal })
export class Contact extends Principal {}

@ObjectType('PrincipalPage', { simpleResolvers: true })
export class PrincipalPage {
  @Field(() => [Principal])
  nodes!: PrincipalRecord[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType('UserPage', { simpleResolvers: true })
export class UserPage {
  @Field(() => [User])
  nodes!: PrincipalRecord[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType('GroupPage', { simpleResolvers: true })
export class GroupPage {
  @Field(() => [Group])
  nodes!: PrincipalRecord[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType('ContactPage', { simpleResolvers: true })
export class ContactPage {
  @Field(() => [Contact])
  nodes!: PrincipalRecord[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType('AddressSuggestion', {
  simpleResolvers: true,
  description: 'One email address offered for a Sender or Recipient field, with the object that owns it.',
})
export class AddressSuggestion {
  @Field(() => String)
  address!: string;

  @Field(() => Principal)
  principal!: PrincipalRecord;
}

@ObjectType('AddressInfo', {
  simpleResolvers: true,
  description: 'What the gateway knows of one email address.',
})
export class AddressInfo {
  @Field(() => String)
  address!: string;

  @Field(() => [Principal])
  principals!: PrincipalRecord[];

  @Field(() => Boolean, { description: 'More than one directory object receives mail at this address.' })
  duplicated!: boolean;

  @Field(() => Boolean, {
    description: 'False for a duplicated address: messages to it are not placed in a personal Backup.',
  })
  personalBackupAllowed!: boolean;

  @Field(() => Boolean, {
    description: 'False for a duplicated address: personal allow and deny lists are not applied to it.',
  })
  personalListsAllowed!: boolean;
}
