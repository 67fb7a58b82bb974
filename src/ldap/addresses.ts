/**
 * Email addresses of a directory object. Exchange keeps every address in
 * proxyAddresses with a type prefix: `SMTP:` (upper case) is the primary
 * address, `smtp:` secondary ones; X500:, X400:, sip:, EUM: … are not email.
 */
import { sameFoldedKey } from '../model/text.js';

export interface ProxySmtpAddress {
  readonly address: string;
  readonly primary: boolean;
}

/** The prefix, in any case (a regular expression test makes no new string, a sync does this per value). */
const SMTP_PREFIX = /^smtp:/i;
const SMTP_PREFIX_LENGTH = 5;

/**
 * The SMTP addresses among proxyAddresses, in stored order. The prefix is
 * matched case-insensitively; only the exact `SMTP:` spelling marks the
 * primary (that is Exchange's convention). Values without an `@` are dropped
 * as malformed.
 */
export function parseProxyAddresses(values: readonly string[]): ProxySmtpAddress[] {
  const out: ProxySmtpAddress[] = [];
  for (const raw of values) {
    const value = raw.trim();
    const address = smtpAddress(value);
    if (address !== null) out.push({ address, primary: value.startsWith('SMTP:') });
  }
  return out;
}

/** The address of one trimmed proxyAddresses value, or null when it is not a plausible SMTP one. */
function smtpAddress(value: string): string | null {
  if (!SMTP_PREFIX.test(value)) return null;
  const address = value.slice(SMTP_PREFIX_LENGTH).trim();
  return isPlausibleAddress(address) ? address : null;
}

export interface EmailSet {
  /** `mail` if set, else the primary SMTP: proxy address, else null. */
  readonly primaryEmail: string | null;
  /** mail, then every smtp:/SMTP: address in stored order; first-seen spelling kept, no case-insensitive duplicates. */
  readonly emails: readonly string[];
}

/** Shared by every object without an address. */
const NO_EMAILS: readonly string[] = Object.freeze([]);

/**
 * Computes the addresses a principal is known by, as the sync stores them:
 * mail, then what parseProxyAddresses finds, in one pass. A sync runs this
 * per object, so it makes no intermediate objects (the unit tests hold it to
 * the definition through parseProxyAddresses).
 */
export function computeEmails(mail: string | null, proxyAddresses: readonly string[]): EmailSet {
  const trimmedMail = mail?.trim() ?? null;
  const mailAddress = trimmedMail !== null && isPlausibleAddress(trimmedMail) ? trimmedMail : null;
  let primaryProxy: string | null = null;
  let emails: string[] | null = mailAddress === null ? null : [mailAddress];
  let grown = false;
  for (const raw of proxyAddresses) {
    const value = raw.trim();
    const address = smtpAddress(value);
    if (address === null) continue;
    if (primaryProxy === null && value.startsWith('SMTP:')) primaryProxy = address;
    if (emails === null) {
      emails = [address];
      continue;
    }
    // A handful of addresses per object, compared pairwise without making fold keys.
    let known = false;
    for (const e of emails) {
      if (sameFoldedKey(e, address)) {
        known = true;
        break;
      }
    }
    if (!known) {
      emails.push(address);
      grown = true;
    }
  }
  // Exactly sized: an array grown by push reserves spare slots, and a sync keeps one of these per
  // object for as long as its snapshot is served.
  return {
    primaryEmail: mailAddress ?? primaryProxy,
    emails: emails === null ? NO_EMAILS : grown ? emails.slice() : emails,
  };
}

/** Deliberately loose: one `@` with something on both sides, no whitespace. */
function isPlausibleAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  return at > 0 && at < value.length - 1 && !/\s/.test(value);
}
