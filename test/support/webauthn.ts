// A software authenticator for the in-process tests: real WebAuthn responses built with node:crypto
// (an ES256 key pair, authenticator data, a COSE key, a "none" attestation in CBOR, a real
// signature), so that the server's verification (@simplewebauthn/server) runs unmocked. The browser
// tests use Chromium's own virtual authenticator instead.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** The little of CBOR (RFC 8949) a COSE key and an attestation object need. */
type Cbor = number | string | Buffer | Map<number | string, Cbor>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  const out = Buffer.alloc(3);
  out[0] = (major << 5) | 25;
  out.writeUInt16BE(length, 1);
  return out;
}

export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  const parts: Buffer[] = [head(5, value.size)];
  for (const [key, item] of value) parts.push(cbor(key), cbor(item));
  return Buffer.concat(parts);
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  /** the COSE key (EC2, P-256, ES256) */
  cosePublicKey: Buffer;
  counter: number;
  userHandle: Buffer;
}

export interface Ceremony {
  origin: string;
  rpId: string;
  /** user verification flag (default true) */
  userVerified?: boolean;
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
}

function authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(counter);
  return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count, ...(attested ? [attested] : [])]);
}

/** A new credential for `userHandle` (the user id the registration options named, as bytes). */
export function newCredential(userHandle: Buffer | string): SoftCredential {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = cbor(
    new Map<number, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x ?? '', 'base64url')],
      [-3, Buffer.from(jwk.y ?? '', 'base64url')],
    ]),
  );
  return { id: randomBytes(16), privateKey, cosePublicKey: cose, counter: 0, userHandle: typeof userHandle === 'string' ? Buffer.from(userHandle, 'utf8') : userHandle };
}

/** The answer of navigator.credentials.create() to options with `challenge`, as @simplewebauthn/browser posts it. */
export function registrationResponse(credential: SoftCredential, challenge: string, ceremony: Ceremony): Record<string, unknown> {
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(credential.id.length);
  const attested = Buffer.concat([Buffer.alloc(16), idLength, credential.id, credential.cosePublicKey]);
  const flags = FLAG_UP | FLAG_AT | (ceremony.userVerified === false ? 0 : FLAG_UV);
  const attestationObject = cbor(
    new Map<string, Cbor>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', authData(ceremony.rpId, flags, credential.counter, attested)],
    ]),
  );
  const id = credential.id.toString('base64url');
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: clientData('webauthn.create', challenge, ceremony.origin).toString('base64url'),
      attestationObject: attestationObject.toString('base64url'),
      transports: ['internal'],
    },
  };
}

/** The answer of navigator.credentials.get() to options with `challenge`, signed; the counter moves on. */
export function authenticationResponse(credential: SoftCredential, challenge: string, ceremony: Ceremony & { counter?: number }): Record<string, unknown> {
  credential.counter = ceremony.counter ?? credential.counter + 1;
  const data = authData(ceremony.rpId, FLAG_UP | (ceremony.userVerified === false ? 0 : FLAG_UV), credential.counter);
  const client = clientData('webauthn.get', challenge, ceremony.origin);
  const signature = sign('sha256', Buffer.concat([data, createHash('sha256').update(client).digest()]), credential.privateKey);
  const id = credential.id.toString('base64url');
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      clientDataJSON: client.toString('base64url'),
      authenticatorData: data.toString('base64url'),
      signature: signature.toString('base64url'),
      userHandle: credential.userHandle.toString('base64url'),
    },
  };
}
