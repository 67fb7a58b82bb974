/**
 * The lowest TLS version the gateway speaks as a client (LDAPS, StartTLS,
 * rediss://). TLS 1.0 and 1.1 are deprecated (RFC 8996). Node's default is
 * 1.2 already, but `--tls-min-v1.0` or NODE_OPTIONS lower that default for the
 * whole process; an explicit minVersion on each connection is not lowered.
 */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;
