/** Why changes since a watermark cannot be read: the caller then runs a full read and says why. */
import { LdapError } from '../errors.js';
import type { WatermarkRefusal } from './watermark.js';

/** A watermark problem, a server that tracks no changes, or a DirSync cookie the server refused. */
export type ChangeRefusal = WatermarkRefusal | 'NOT_SUPPORTED' | 'COOKIE_REFUSED';

export class WatermarkRefusedError extends LdapError {
  readonly code = 'WATERMARK_REFUSED' as const;
  readonly reason: ChangeRefusal;
  constructor(reason: ChangeRefusal, message: string, server: string | null) {
    super(message, 'SEARCH', server);
    this.reason = reason;
  }
}
