// A mailbox's secrets (password or access token, webhook token) at rest: AES-256-GCM through
// WebCrypto, with the key from the CREDENTIALS_KEY secret binding (32 random bytes, base64).
// The mailbox id is bound in as additional data, so a sealed blob copied to another mailbox
// does not open. CREDENTIALS_KEY_PREVIOUS, when set, still opens what the previous key
// sealed (key rotation); such blobs are sealed again with the current key.

const FORMAT = 1;
const encoder = new TextEncoder();

/**
 * The secrets cannot be opened or sealed. `transient` when the deployment's key setup is at
 * fault (fixing one secret fixes every mailbox: they back off and resume); not when this
 * mailbox's sealed blob is (it needs its password again).
 */
export class CredentialsError extends Error {
  constructor(message, { setup = false } = {}) {
    super(message);
    this.name = 'CredentialsError';
    this.code = 'credentials';
    this.transient = setup;
  }
}

const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const aad = (id) => encoder.encode(`pop3-poller/credentials/v${FORMAT}/${id}`);

const imported = new Map();

/** { key, kid } for a base64 key; kid names the key without revealing it. */
async function importKey(text, name) {
  let entry = imported.get(text);
  if (entry) return entry;
  let raw;
  try { raw = unb64(text.trim()); } catch { raw = null; }
  if (!raw || raw.length !== 32) throw new CredentialsError(`${name} must be 32 random bytes in base64 (openssl rand -base64 32)`, { setup: true });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  const kid = [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  entry = { key, kid };
  imported.set(text, entry);
  return entry;
}

function currentKey(env) {
  if (!env.CREDENTIALS_KEY) throw new CredentialsError('the CREDENTIALS_KEY secret is not set (npx wrangler secret put CREDENTIALS_KEY)', { setup: true });
  return importKey(env.CREDENTIALS_KEY, 'CREDENTIALS_KEY');
}

/** Seals `secrets` (a plain object) for mailbox `id`. */
export async function seal(env, id, secrets) {
  const { key, kid } = await currentKey(env);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(id) }, key,
    encoder.encode(JSON.stringify(secrets))));
  return { v: FORMAT, kid, iv: b64(iv), data: b64(data) };
}

/** Opens a sealed blob of mailbox `id`: { secrets, stale } (stale: sealed with the previous key). */
export async function open(env, id, sealed) {
  if (!sealed || sealed.v !== FORMAT) throw new CredentialsError('the stored credentials are in an unknown format; update the mailbox with its password');
  const candidates = [await currentKey(env)];
  if (env.CREDENTIALS_KEY_PREVIOUS) candidates.push(await importKey(env.CREDENTIALS_KEY_PREVIOUS, 'CREDENTIALS_KEY_PREVIOUS'));
  const match = candidates.find((c) => c.kid === sealed.kid);
  if (!match) {
    throw new CredentialsError('the credentials were sealed with a key that is no longer configured; set CREDENTIALS_KEY_PREVIOUS to it, or update the mailbox with its password', { setup: true });
  }
  let plain;
  try {
    plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(sealed.iv), additionalData: aad(id) }, match.key, unb64(sealed.data));
  } catch {
    throw new CredentialsError('the stored credentials do not open (altered, or sealed for another mailbox); update the mailbox with its password');
  }
  return { secrets: JSON.parse(new TextDecoder().decode(plain)), stale: match !== candidates[0] };
}
