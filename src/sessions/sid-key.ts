// The key that seals each session's sid beside its row (sessions.sid_sealed), so that the admin
// listing can show the id the tokens carry while the database holds no sid in plain text
// (docs/decisions/0044-hashed-session-ids.md). Its material is one more instance secret
// (storage/instance-secrets.ts), sealed under GATEHOUSE_SECRET_KEY when one is set, like the PIN
// key; the AES-256 key is derived from it with HKDF-SHA256 under its own info string.
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.ts';
import { SecretBox } from '../crypto/sealed.ts';
import { loadInstanceSecret, sealInstanceSecret } from '../storage/instance-secrets.ts';
import type { Database } from '../storage/schema.ts';

const SID_KEY = 'session_sid_key';
const SID_KEY_INFO = 'gatehouse session ids v1';

/** The box that seals and opens sids, made on first start like the PIN key. */
export async function loadSidBox(db: Kysely<Database>, clock: Clock, box: SecretBox): Promise<SecretBox> {
  const material = await loadInstanceSecret(db, clock, box, SID_KEY, 'The session id key (instance_secrets.session_sid_key)');
  return new SecretBox(material, SID_KEY_INFO);
}

/** Seals the session id key if it is stored in plain text (gatehouse keys encrypt); answers whether it did. */
export async function sealSidKey(db: Kysely<Database>, box: SecretBox): Promise<boolean> {
  return sealInstanceSecret(db, box, SID_KEY);
}
