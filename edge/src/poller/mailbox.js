// Mailbox: one Durable Object per mailbox (named by the mailbox id). It owns the mailbox's
// configuration, its sealed credentials and its sync state (the UIDLs already delivered) in
// the object's transactional storage, and it runs the POP3 sessions: one at a time, since a
// Durable Object is a single instance and a run in progress turns away any other request.
//
// A run: connect, log in, client.sync() of pop3-wasm. For each new message, deliver it (R2:
// raw message and JSON summary; webhook: the summary) and only once that succeeded let the
// library record it, which writes the state here before the next message; only after that,
// and only with retention 'delete', is the message marked for deletion (the server deletes at
// QUIT). A run that fails part-way keeps what it recorded; the rest comes next time.
//
// Storage (key-value API of the SQLite-backed object):
//   config        the public configuration (mailbox-config.js)
//   sealed        the secrets, AES-GCM (secrets.js)
//   status        counters, last run, last error, failing or not
//   stateParts    n; the sync state's JSON is in state/0 .. state/n-1 (a value holds at most
//                 2 MB; a state of 100,000 messages is about 6 MB)
//
// An empty poll writes nothing (the "last run" in `status` is persisted at most every
// STATUS_PERSIST_SECONDS), so polling costs requests and time, not storage writes.

import { DurableObject } from 'cloudflare:workers';

import { postWebhook, summarize } from '../delivery.js';
import { classify, StoreError } from './errors.js';
import { checkMailboxInput, InputError } from './mailbox-config.js';
import { CredentialsError, open, seal } from './secrets.js';
import { backoffSeconds, readSettings } from './settings.js';
import { shardOf } from './directory.js';

const STATE_PART_CHARS = 1_000_000;

/** A run was cancelled because the mailbox is being removed. */
class RemovedError extends Error {
  constructor() {
    super('the mailbox was removed during the run');
    this.code = 'removed';
  }
}

const freshStatus = (now) => ({
  state: 'active',
  failing: null,
  createdAt: now,
  updatedAt: now,
  lastRun: null,
  lastSuccessAt: null,
  lastError: null,
  consecutiveFailures: 0,
  loginDelaySeconds: 0,
  counts: { runs: 0, delivered: 0, failures: 0 },
});

/** Characters a key segment cannot hold as they are: '/', '%' and controls. */
const keySegment = (s) => s.replace(/[%/\x00-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);

/** The R2 key of a message, without extension: <prefix><account>/<uid>. */
export const objectKey = (prefix, account, uid) => `${prefix}${keySegment(account)}/${keySegment(uid)}`;

export function makeMailboxClass(pop3) {
  return class Mailbox extends DurableObject {
    #box = null; // { config, sealed, status, stateJson } once loaded
    #loading = null;
    #running = null; // the run in progress (a promise), if any
    #abort = null;
    #removing = false;
    #changes = Promise.resolve(); // configuration changes, one after the other
    // In memory only (an empty poll writes nothing): when the last successful run started,
    // the last login, the last status write.
    #lastSuccessStartedAt = 0;
    #lastLoginAt = 0;
    #statusWrittenAt = 0;

    get #settings() { return readSettings(this.env); }

    async #load() {
      if (this.#box) return this.#box;
      this.#loading ??= (async () => {
        const got = await this.ctx.storage.get(['config', 'sealed', 'status', 'stateParts']);
        const parts = got.get('stateParts') ?? 0;
        let stateJson = null;
        if (parts > 0) {
          const keys = Array.from({ length: parts }, (_, i) => `state/${i}`);
          const chunks = await this.ctx.storage.get(keys);
          stateJson = keys.map((k) => chunks.get(k) ?? '').join('');
        }
        this.#box = {
          config: got.get('config') ?? null,
          sealed: got.get('sealed') ?? null,
          status: got.get('status') ?? null,
          stateJson,
          stateParts: parts,
        };
        return this.#box;
      })().catch((e) => {
        this.#loading = null;
        throw e;
      });
      return this.#loading;
    }

    /** The mailbox as the admin API shows it: configuration without secrets, and status. */
    async describe() {
      const box = await this.#load();
      return box.config ? this.#view(box) : null;
    }

    #view(box) {
      const { config, status } = box;
      return {
        ...config,
        webhook: config.webhook ? { url: config.webhook.url, token: config.webhook.hasToken } : null,
        credentials: 'sealed',
        ...status,
        running: Boolean(this.#running),
      };
    }

    /**
     * Creates or changes the mailbox: `mode` 'put' (replace; secrets left out are kept) or
     * 'patch' (merge). A failing mailbox becomes active again. Answers { ok, created,
     * mailbox } or { ok: false, error } for a refused request.
     */
    configure(id, input, mode) {
      return this.#serially(() => this.#configure(id, input, mode));
    }

    /** The sealed secrets with `changes` applied (null removes a secret). */
    async #reseal(id, sealed, changes) {
      let current = {};
      try {
        if (sealed) current = (await open(this.env, id, sealed)).secrets;
      } catch (e) {
        // A blob that no longer opens is replaced when the request brings the credential.
        if (!(e instanceof CredentialsError) || e.transient || !(changes.password || changes.accessToken)) throw e;
      }
      const next = { ...current };
      if (changes.password !== undefined || changes.accessToken !== undefined) {
        delete next.password;
        delete next.accessToken;
      }
      for (const [k, v] of Object.entries(changes)) {
        if (v === null) delete next[k];
        else next[k] = v;
      }
      return seal(this.env, id, next);
    }

    /** Removes the mailbox: stops a run in progress, forgets everything (R2 objects stay). */
    remove(id) {
      return this.#serially(() => this.#remove(id));
    }

    /**
     * Runs configuration changes one at a time. Each ends by telling its Directory shard the
     * new schedule, a call to another object during which other requests may run; one after
     * the other, the schedule the shard keeps is the last change's.
     */
    #serially(change) {
      const done = this.#changes.then(change, change);
      this.#changes = done.catch(() => {});
      return done;
    }

    async #configure(id, input, mode) {
      if (this.#removing) return { ok: false, status: 409, error: { code: 'removing', message: 'the mailbox is being removed' } };
      const box = await this.#load();
      if (box.config && box.config.id !== id) throw new Error('Durable Object name and mailbox id disagree');
      if (!box.config && mode === 'patch') return { ok: false, status: 404, error: { code: 'not-found', message: `no mailbox ${id}` } };
      let checked;
      try {
        checked = checkMailboxInput(id, input, box.config, {
          replace: mode === 'put',
          settings: this.#settings,
          hasBucket: Boolean(this.env.MAIL_BUCKET),
        });
      } catch (e) {
        if (e instanceof InputError) return { ok: false, status: 400, error: { code: e.code, message: e.message } };
        throw e;
      }
      const now = Date.now();
      let sealed = box.sealed;
      const changes = checked.secrets;
      if (Object.keys(changes).length > 0) {
        try {
          sealed = await this.#reseal(id, box.sealed, changes);
        } catch (e) {
          if (!(e instanceof CredentialsError)) throw e;
          // 503: the deployment's key setup; 409: this mailbox's blob, without a new credential.
          return { ok: false, status: e.transient ? 503 : 409, error: { code: e.code, message: e.message } };
        }
      }
      const created = !box.config;
      const status = created ? freshStatus(now) : { ...box.status, updatedAt: now };
      // Any update ends a failing state: the schedule picks the mailbox up again.
      status.state = 'active';
      status.failing = null;
      status.consecutiveFailures = 0;
      await this.ctx.storage.put({ config: checked.config, sealed, status });
      Object.assign(box, { config: checked.config, sealed, status });
      this.#statusWrittenAt = now;
      await this.#reschedule({ notBefore: 0, active: true });
      return { ok: true, created, mailbox: this.#view(box) };
    }

    async #remove(id) {
      const box = await this.#load();
      if (!box.config) return { ok: false };
      this.#removing = true;
      try {
        this.#abort?.abort(new RemovedError());
        await this.#running?.catch(() => {});
        await shardOf(this.env, this.#settings, id).remove(id);
        await this.ctx.storage.deleteAll();
        this.#box = { config: null, sealed: null, status: null, stateJson: null, stateParts: 0 };
        this.#lastSuccessStartedAt = 0;
        return { ok: true };
      } finally {
        this.#removing = false;
      }
    }

    /**
     * Runs one sync, unless one is running ('busy'), or a run that started after `claimedAt`
     * (when the poll was requested) already succeeded ('done': a duplicate delivery of the
     * queue message). Answers { outcome: 'ok' | 'skipped' | 'retry' | 'failing' | 'missing',
     * ... }; 'retry' asks the queue to try again later (retryAfterSeconds, when known); 'ok'
     * with `more` says the run stopped at maxMessagesPerRun with new mail left.
     */
    async poll({ claimedAt = 0, trigger = 'queue' } = {}) {
      if (this.#removing) return { outcome: 'missing' };
      const box = await this.#load();
      if (!box.config) return { outcome: 'missing' };
      if (box.status.state === 'failing') return { outcome: 'failing', error: box.status.failing };
      if (this.#running) return { outcome: 'skipped', reason: 'busy' };
      if (claimedAt && this.#lastSuccessStartedAt >= claimedAt) return { outcome: 'skipped', reason: 'done' };
      const delayMs = this.#lastLoginAt + box.status.loginDelaySeconds * 1000 - Date.now();
      if (delayMs > 0) return { outcome: 'retry', reason: 'login-delay', retryAfterSeconds: Math.ceil(delayMs / 1000) };
      // Nothing awaited between the check above and this line: no second run can slip in.
      const run = this.#run(box, trigger);
      this.#running = run;
      try {
        return await run;
      } finally {
        this.#running = null;
        this.#abort = null;
      }
    }

    async #run(box, trigger) {
      const started = Date.now();
      const { config } = box;
      const settings = this.#settings;
      const abort = new AbortController();
      this.#abort = abort;
      let report = null;
      let error = null;
      let delivered = 0; // delivered by this run
      let recorded = 0; // of which counted in the stored status
      let loginDelaySeconds = box.status.loginDelaySeconds;
      try {
        const { secrets, stale } = await open(this.env, config.id, box.sealed);
        if (stale) {
          box.sealed = await seal(this.env, config.id, secrets);
          await this.ctx.storage.put('sealed', box.sealed);
        }
        // A stored state that does not check is an error, never a fresh start (which would
        // deliver the whole mailbox again).
        const state = box.stateJson === null ? pop3.newSyncState(config.account) : pop3.checkSyncState(box.stateJson, config.account);
        const client = await pop3.connect({
          host: config.host,
          port: config.port,
          tls: config.tls,
          connectTimeoutMs: settings.connectTimeoutMs,
          replyTimeoutMs: settings.replyTimeoutMs,
          maxMessageBytes: settings.maxMessageBytes,
          signal: abort.signal,
        });
        try {
          const loginOptions = { mechanism: config.mechanism, allowCleartext: config.allowCleartext, signal: abort.signal };
          if (secrets.accessToken) await client.loginWithToken(config.user, secrets.accessToken, loginOptions);
          else await client.login(config.user, secrets.password, loginOptions);
          this.#lastLoginAt = Date.now();
          // Servers announce LOGIN-DELAY in CAPA, some only after login (Gmail).
          loginDelaySeconds = client.capabilities?.loginDelay?.seconds ?? 0;
          report = await client.sync({
            state,
            retention: config.retention,
            maxMessages: config.maxMessagesPerRun,
            // A webhook post is not idempotent: record each message before the next one.
            recordEvery: 1,
            signal: abort.signal,
            save: async ({ uid, bytes }) => {
              if (abort.signal.aborted) throw abort.signal.reason;
              await this.#deliver(config, secrets, uid, bytes);
              delivered += 1;
            },
            saveState: (s) => this.#saveState(box, s, delivered - recorded).then((n) => { recorded += n; }),
          });
        } catch (e) {
          // sync() ends the session itself; after a failed login the connection is open.
          await client.close().catch(() => {});
          throw e;
        }
      } catch (e) {
        error = abort.signal.aborted && abort.signal.reason instanceof RemovedError ? abort.signal.reason : e;
      }
      return this.#finish(box, { started, trigger, report, error, recorded, loginDelaySeconds });
    }

    /** Stores and/or posts one message; resolves once it is durably delivered. */
    async #deliver(config, secrets, uid, bytes) {
      const summary = summarize(pop3, config, uid, bytes);
      if (config.r2) {
        const key = objectKey(config.r2.prefix, config.account, uid);
        summary.r2Key = `${key}.eml`;
        const meta = { customMetadata: { account: config.account, uid, mailbox: config.id } };
        try {
          // The same message always lands under the same keys: delivering it again after a
          // failed run overwrites, it never makes a second copy.
          await this.env.MAIL_BUCKET.put(`${key}.eml`, bytes, { ...meta, httpMetadata: { contentType: 'message/rfc822' } });
          await this.env.MAIL_BUCKET.put(`${key}.json`, JSON.stringify(summary), { ...meta, httpMetadata: { contentType: 'application/json' } });
        } catch (e) {
          throw new StoreError(`R2 did not store message ${uid}: ${e?.message ?? e}`);
        }
      }
      if (config.webhook) {
        await postWebhook({
          url: config.webhook.url,
          token: config.webhook.hasToken ? secrets.webhookToken : undefined,
          timeoutMs: this.#settings.webhookTimeoutMs,
        }, summary);
      }
    }

    /**
     * Persists the sync state (called by the library after each recorded message), with the
     * status counting the `newlyDelivered` messages in the same write, so the count and the
     * state never disagree. Resolves to the number counted.
     */
    async #saveState(box, state, newlyDelivered) {
      const json = typeof state === 'string' ? state : JSON.stringify(state);
      if (json === box.stateJson) return 0;
      if (this.#removing) throw new RemovedError();
      const parts = Math.max(1, Math.ceil(json.length / STATE_PART_CHARS));
      const status = { ...box.status, counts: { ...box.status.counts, delivered: box.status.counts.delivered + newlyDelivered } };
      const entries = { stateParts: parts, status };
      for (let i = 0; i < parts; i++) entries[`state/${i}`] = json.slice(i * STATE_PART_CHARS, (i + 1) * STATE_PART_CHARS);
      // One put: the parts, their count and the status change together or not at all.
      await this.ctx.storage.put(entries);
      if (box.stateParts > parts) {
        await this.ctx.storage.delete(Array.from({ length: box.stateParts - parts }, (_, i) => `state/${parts + i}`));
      }
      box.stateJson = json;
      box.stateParts = parts;
      box.status = status;
      return newlyDelivered;
    }

    /** Records the run's outcome, tells the schedule what changed, answers the caller. */
    async #finish(box, { started, trigger, report, error, recorded, loginDelaySeconds }) {
      const now = Date.now();
      const settings = this.#settings;
      const { config } = box;
      const status = box.status;
      const before = { state: status.state, failures: status.consecutiveFailures, loginDelay: status.loginDelaySeconds };
      let verdict = error ? classify(error) : null;
      if (error?.code === 'removed') return { outcome: 'missing' };
      const warnings = [...(report?.warnings ?? [])];
      if (verdict?.kind === 'deletions-uncertain') {
        warnings.push(`${verdict.message} (the next run deletes them, or forgets them if they are gone)`);
        verdict = null;
      }
      // Messages count as delivered once recorded (#saveState counted them in the status);
      // one delivered but not recorded (the run failed in between) comes again next run.
      const delivered = recorded;
      status.counts.runs += 1;
      status.loginDelaySeconds = loginDelaySeconds;
      status.lastRun = {
        at: started,
        ms: now - started,
        trigger,
        delivered,
        onServer: report?.onServer ?? null,
        deleted: report?.deleted ?? 0,
        ok: !verdict,
        ...(warnings.length ? { warnings: warnings.slice(0, 10) } : {}),
      };
      let result;
      if (!verdict) {
        this.#lastSuccessStartedAt = started;
        status.lastSuccessAt = now;
        status.consecutiveFailures = 0;
        // A full run with mail left over: the caller polls again at once rather than a
        // whole interval later, so a backlog drains in bounded runs.
        const left = report ? report.onServer - report.alreadySaved - report.saved : 0;
        result = { outcome: 'ok', delivered, onServer: report?.onServer ?? null, more: report?.saved === config.maxMessagesPerRun && left > 0 };
      } else {
        status.counts.failures += 1;
        status.consecutiveFailures += 1;
        status.lastError = { at: now, kind: verdict.kind, code: verdict.code, message: verdict.message,
          ...(verdict.responseCode ? { responseCode: verdict.responseCode } : {}), ...(verdict.status ? { status: verdict.status } : {}) };
        if (verdict.kind === 'permanent') {
          status.state = 'failing';
          status.failing = { since: now, code: verdict.code, message: verdict.message };
          result = { outcome: 'failing', delivered, error: status.lastError };
        } else {
          result = { outcome: 'retry', delivered, error: status.lastError };
        }
      }
      const changed = delivered > 0 || verdict || before.state !== status.state || before.failures !== status.consecutiveFailures
        || before.loginDelay !== status.loginDelaySeconds || warnings.length > 0;
      if (changed || now - this.#statusWrittenAt >= settings.statusPersistSeconds * 1000) {
        await this.ctx.storage.put('status', status);
        this.#statusWrittenAt = now;
      }
      // The schedule learns only of changes: a failing mailbox leaves it, a failing run backs
      // it off, a recovery or a new LOGIN-DELAY resets it.
      try {
        if (status.state === 'failing') await this.#reschedule({ active: false });
        else if (verdict) {
          const wait = backoffSeconds(settings, this.#intervalSeconds(status), status.consecutiveFailures);
          await this.#reschedule({ notBefore: now + wait * 1000 });
        } else if (before.failures > 0 || before.loginDelay !== status.loginDelaySeconds) await this.#reschedule({ notBefore: 0 });
      } catch (e) {
        console.log(JSON.stringify({ pop3Poller: { mailbox: config.id, schedule: 'not updated', error: String(e?.message ?? e) } }));
      }
      if (verdict || delivered > 0 || settings.logEmptyPolls) {
        // Counts, codes and ids only: no credentials, no message content.
        console.log(JSON.stringify({ pop3Poller: { mailbox: config.id, trigger, ...result, ms: now - started } }));
      }
      return result;
    }

    /** The effective interval: the configured one, or the server's LOGIN-DELAY when longer. */
    #intervalSeconds(status) {
      return Math.max(this.#box.config.intervalSeconds, status.loginDelaySeconds);
    }

    #reschedule(change) {
      const { config, status } = this.#box;
      const intervalTicks = Math.ceil(this.#intervalSeconds(status) / this.#settings.tickSeconds);
      return shardOf(this.env, this.#settings, config.id).schedule(config.id, { intervalTicks, ...change });
    }
  };
}
