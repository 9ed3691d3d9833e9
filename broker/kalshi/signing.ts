import { createPrivateKey, createPublicKey, sign, verify, constants, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * Kalshi request signing: RSA-PSS over `timestamp_ms + METHOD + path`, SHA-256, MGF1-SHA-256,
 * salt length = digest length, base64. The path includes `/trade-api/v2` and never the query.
 *
 * The private key is held as a KeyObject, never as a string, so that an accidental log of a
 * config or client object prints `PrivateKeyObject { ... }` rather than the PEM.
 */
export type KalshiCredentials = { readonly keyId: string; readonly privateKey: KeyObject };

/** Where the PEM lives. Config names a path or an env var, never the key itself. */
export type PrivateKeySource = { path: string } | { env: string };

export function loadPrivateKey(source: PrivateKeySource, env: NodeJS.ProcessEnv = process.env): KeyObject {
  let pem: string;
  if ('path' in source) {
    pem = readFileSync(source.path, 'utf8');
  } else {
    const raw = env[source.env];
    if (!raw) throw new Error(`kalshi private key: environment variable ${source.env} is empty`);
    // A PEM squeezed into one env line usually carries literal "\n" sequences.
    pem = raw.includes('\\n') ? raw.replace(/\\n/g, '\n') : raw;
  }
  try {
    return createPrivateKey(pem);
  } catch (cause) {
    // Never echo the input: it is the secret.
    throw new Error(`kalshi private key from ${'path' in source ? 'file ' + source.path : 'env ' + source.env} is not a valid PEM key`, { cause: redactCause(cause) });
  }
}

function redactCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : 'unparseable key';
}

export function signMessage(key: KeyObject, message: string): string {
  return sign('sha256', Buffer.from(message, 'utf8'), {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
  }).toString('base64');
}

export function verifySignature(publicKey: KeyObject, message: string, signatureB64: string): boolean {
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), {
      key: publicKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/** The path that is signed: URL path only, no host, no query string. */
export function signedPath(url: string): string {
  return new URL(url).pathname;
}

export function signingMessage(timestampMs: number, method: string, path: string): string {
  return `${timestampMs}${method.toUpperCase()}${path}`;
}

export type KalshiAuthHeaders = {
  'KALSHI-ACCESS-KEY': string;
  'KALSHI-ACCESS-SIGNATURE': string;
  'KALSHI-ACCESS-TIMESTAMP': string;
};

export function authHeaders(creds: KalshiCredentials, method: string, url: string, nowMs: number): KalshiAuthHeaders {
  const ts = Math.floor(nowMs);
  return {
    'KALSHI-ACCESS-KEY': creds.keyId,
    'KALSHI-ACCESS-SIGNATURE': signMessage(creds.privateKey, signingMessage(ts, method, signedPath(url))),
    'KALSHI-ACCESS-TIMESTAMP': String(ts),
  };
}

export function publicKeyOf(privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey);
}
