/**
 * Throwaway certificate authorities for the test directories. Samba's own
 * certificate has no subjectAltName, so verified TLS to 127.0.0.1 needs a
 * server certificate of ours; a second, unrelated CA lets tests check that
 * a certificate from the wrong authority is refused.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireExecutable, run } from './process.js';

export interface PemFile {
  readonly path: string;
  readonly pem: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** The CA that signed `server`: give it to clients as their trust anchor. */
  readonly ca: PemFile;
  /** Server certificate valid for the names in `subjectAltNames`. */
  readonly server: PemFile;
  /** The server's private key (mode 0600: Samba refuses looser permissions). */
  readonly serverKey: PemFile;
  /** A CA that signed nothing we serve: trusting only it must fail verification. */
  readonly unknownCa: PemFile;
  readonly subjectAltNames: readonly string[];
}

export interface CertificateOptions {
  /** Folder to write into; default a fresh temp folder. */
  readonly dir?: string;
  /** Default: IP:127.0.0.1, DNS:localhost, DNS:dc1.corp.test. */
  readonly subjectAltNames?: readonly string[];
}

export const DEFAULT_SUBJECT_ALT_NAMES: readonly string[] = [
  'IP:127.0.0.1',
  'DNS:localhost',
  'DNS:dc1.corp.test',
];

function pemFile(path: string): PemFile {
  return { path, pem: readFileSync(path, 'utf8') };
}

async function makeCa(openssl: string, dir: string, name: string, subject: string): Promise<void> {
  await run(openssl, [
    'req',
    '-quiet',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '3650',
    '-subj',
    subject,
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    join(dir, `${name}.pem`),
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** Creates both CAs and a server certificate (RSA 2048, about 0.3 s in all). */
export async function makeCertificates(options: CertificateOptions = {}): Promise<TestCertificates> {
  const openssl = requireExecutable('openssl');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'dirgate-certs-'));
  mkdirSync(dir, { recursive: true });
  const subjectAltNames = options.subjectAltNames ?? DEFAULT_SUBJECT_ALT_NAMES;
  await Promise.all([
    makeCa(openssl, dir, 'ca', '/O=dirgate tests/CN=dirgate test CA'),
    makeCa(openssl, dir, 'unknown-ca', '/O=somebody else/CN=unknown test CA'),
  ]);
  const extensions = join(dir, 'server.ext');
  writeFileSync(
    extensions,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${subjectAltNames.join(',')}`,
      '',
    ].join('\n'),
  );
  await run(openssl, [
    'req',
    '-quiet',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-subj',
    '/O=dirgate tests/CN=dc1.corp.test',
    '-keyout',
    join(dir, 'server.key'),
    '-out',
    join(dir, 'server.csr'),
  ]);
  await run(openssl, [
    'x509',
    '-req',
    '-sha256',
    '-days',
    '825',
    '-in',
    join(dir, 'server.csr'),
    '-CA',
    join(dir, 'ca.pem'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-CAcreateserial',
    '-extfile',
    extensions,
    '-out',
    join(dir, 'server.pem'),
  ]);
  for (const key of ['ca.key', 'unknown-ca.key', 'server.key']) chmodSync(join(dir, key), 0o600);
  return {
    dir,
    ca: pemFile(join(dir, 'ca.pem')),
    server: pemFile(join(dir, 'server.pem')),
    serverKey: pemFile(join(dir, 'server.key')),
    unknownCa: pemFile(join(dir, 'unknown-ca.pem')),
    subjectAltNames,
  };
}
