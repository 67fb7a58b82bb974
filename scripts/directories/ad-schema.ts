/**
 * An Active-Directory-like schema for slapd, with Microsoft's OIDs, so the
 * same attribute names can be read from slapd and from AD. The classes are
 * AUXILIARY: slapd allows one structural chain per entry, so an entry is
 * inetOrgPerson + user, groupOfNames + group, organizationalPerson + contact.
 * memberOf is NOT defined here: the memberof overlay defines it and slapd
 * refuses a duplicate attribute type.
 */

const DIRECTORY_STRING = '1.3.6.1.4.1.1466.115.121.1.15';
const OCTET_STRING = '1.3.6.1.4.1.1466.115.121.1.40';
const INTEGER = '1.3.6.1.4.1.1466.115.121.1.27';
const GENERALIZED_TIME = '1.3.6.1.4.1.1466.115.121.1.24';
const DN = '1.3.6.1.4.1.1466.115.121.1.12';

const STRING_MATCH = `EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX ${DIRECTORY_STRING}`;

export const AD_SCHEMA = `# Active-Directory-like attributes and classes for dirgate tests (Microsoft OIDs).
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID'
  DESC 'AD: 16-byte binary object identifier'
  EQUALITY octetStringMatch SYNTAX ${OCTET_STRING} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.146 NAME 'objectSid'
  DESC 'AD: binary security identifier'
  EQUALITY octetStringMatch SYNTAX ${OCTET_STRING} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  DESC 'AD: pre-Windows 2000 logon name'
  ${STRING_MATCH} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  DESC 'AD: Kerberos-style logon name'
  ${STRING_MATCH} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.210 NAME 'proxyAddresses'
  DESC 'AD/Exchange: addresses with type prefixes (SMTP: primary)'
  ${STRING_MATCH} )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  DESC 'AD: account flags (bit 2 = disabled)'
  EQUALITY integerMatch SYNTAX ${INTEGER} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.750 NAME 'groupType'
  DESC 'AD: group scope and security flags'
  EQUALITY integerMatch SYNTAX ${INTEGER} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.120 NAME 'uSNChanged'
  DESC 'AD: update sequence number of the last change'
  EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX ${INTEGER} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.3 NAME 'whenChanged'
  DESC 'AD: time of the last change'
  EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX ${GENERALIZED_TIME} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.782 NAME 'objectCategory'
  DESC 'AD: schema class DN'
  EQUALITY distinguishedNameMatch SYNTAX ${DN} SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.146 NAME 'company'
  DESC 'AD: company name'
  ${STRING_MATCH} SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user'
  DESC 'AD user attributes (auxiliary here; use with inetOrgPerson)'
  SUP top AUXILIARY
  MAY ( objectGUID $ objectSid $ sAMAccountName $ userPrincipalName $ proxyAddresses $
        userAccountControl $ uSNChanged $ whenChanged $ objectCategory $ company ) )
objectclass ( 1.2.840.113556.1.5.8 NAME 'group'
  DESC 'AD group attributes (auxiliary here; use with groupOfNames)'
  SUP top AUXILIARY
  MAY ( objectGUID $ objectSid $ sAMAccountName $ groupType $ proxyAddresses $ mail $
        displayName $ uSNChanged $ whenChanged $ objectCategory ) )
objectclass ( 1.2.840.113556.1.5.15 NAME 'contact'
  DESC 'AD contact attributes (auxiliary here; use with organizationalPerson)'
  SUP top AUXILIARY
  MAY ( objectGUID $ proxyAddresses $ mail $ displayName $ givenName $ company $
        uSNChanged $ whenChanged $ objectCategory ) )
`;
