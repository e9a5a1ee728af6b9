// The admin HTTP API. Every request needs `Authorization: Bearer <ADMIN_TOKEN>` (compared in
// constant time); without the ADMIN_TOKEN secret the API does not exist (404).
//
//   GET    /mailboxes                    ids and schedules (?after=ID&limit=N, by id)
//   PUT    /mailboxes/ID                 add, or replace the configuration (secrets left out are kept)
//   PATCH  /mailboxes/ID                 change some fields (e.g. { "password": "..." })
//   GET    /mailboxes/ID                 configuration (no secrets) and status
//   DELETE /mailboxes/ID                 remove (stored mail in R2 stays)
//   POST   /mailboxes/ID/run             run one sync now and answer its outcome (409 while one
//                                        runs; 429 while the server's LOGIN-DELAY forbids a login)
//
// Adding or updating a mailbox also enqueues a first poll, so it does not wait for its phase.

import { bearerMatches } from '../delivery.js';
import { directoryShard } from './directory.js';
import { ID_PATTERN } from './mailbox-config.js';
import { enqueuePolls, mailboxStub } from './scheduler.js';
import { readSettings } from './settings.js';

const MAX_BODY_BYTES = 64 * 1024;

const json = (body, status = 200, headers = {}) => new Response(JSON.stringify(body, null, 2), {
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
});
const problem = (status, code, message, headers) => json({ ok: false, error: { code, message } }, status, headers);

async function readJson(request) {
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) return { error: problem(413, 'too-large', `the body is over ${MAX_BODY_BYTES} bytes`) };
  try {
    return { body: JSON.parse(text) };
  } catch {
    return { error: problem(400, 'input', 'the body is not JSON') };
  }
}

async function list(env, url) {
  const settings = readSettings(env);
  const after = url.searchParams.get('after') ?? '';
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit')) || 100, 1), 1000);
  const pages = await Promise.all(Array.from({ length: settings.shards }, (_, n) => directoryShard(env, n).list(after, limit)));
  const mailboxes = pages.flat().sort((a, b) => (a.id < b.id ? -1 : 1)).slice(0, limit).map((m) => ({
    id: m.id,
    active: m.active,
    intervalSeconds: m.intervalTicks * settings.tickSeconds,
    notBefore: m.notBefore,
  }));
  const next = mailboxes.length === limit ? mailboxes[mailboxes.length - 1].id : null;
  return json({ ok: true, mailboxes, next });
}

export async function handleAdmin(request, env) {
  // Without the secret the endpoint does not exist: never an open API.
  if (!env.ADMIN_TOKEN) return problem(404, 'disabled', 'not found');
  if (!(await bearerMatches(request, env.ADMIN_TOKEN))) {
    return problem(401, 'unauthorized', 'a valid Authorization: Bearer token is required', { 'www-authenticate': 'Bearer' });
  }
  const url = new URL(request.url);
  const { method } = request;
  if (url.pathname === '/mailboxes' || url.pathname === '/mailboxes/') {
    return method === 'GET' ? list(env, url) : problem(405, 'method', 'GET /mailboxes');
  }
  const m = /^\/mailboxes\/([^/]+)(\/run)?$/.exec(url.pathname);
  if (!m) return problem(404, 'not-found', 'see /mailboxes');
  const id = decodeURIComponent(m[1]);
  if (!ID_PATTERN.test(id)) return problem(400, 'input', 'a mailbox id is 1-128 letters, digits and ._@+- (starting with a letter or digit)');
  const stub = mailboxStub(env, id);

  if (m[2]) {
    if (method !== 'POST') return problem(405, 'method', `POST /mailboxes/${id}/run`);
    const result = await stub.poll({ trigger: 'admin' });
    if (result.outcome === 'missing') return problem(404, 'not-found', `no mailbox ${id}`);
    if (result.outcome === 'skipped') return json({ ok: false, ...result }, 409);
    if (result.reason === 'login-delay') return json({ ok: false, ...result }, 429, { 'retry-after': String(result.retryAfterSeconds) });
    return json({ ok: result.outcome === 'ok', ...result }, result.outcome === 'ok' ? 200 : 502);
  }
  switch (method) {
    case 'GET': {
      const mailbox = await stub.describe();
      return mailbox ? json({ ok: true, mailbox }) : problem(404, 'not-found', `no mailbox ${id}`);
    }
    case 'PUT':
    case 'PATCH': {
      const { body, error } = await readJson(request);
      if (error) return error;
      const result = await stub.configure(id, body, method.toLowerCase());
      if (!result.ok) return json({ ok: false, error: result.error }, result.status);
      await enqueuePolls(env, [id], Date.now());
      return json({ ok: true, mailbox: result.mailbox }, result.created ? 201 : 200);
    }
    case 'DELETE': {
      const result = await stub.remove(id);
      return result.ok ? json({ ok: true }) : problem(404, 'not-found', `no mailbox ${id}`);
    }
    default:
      return problem(405, 'method', 'GET, PUT, PATCH or DELETE');
  }
}
