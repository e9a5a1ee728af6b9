// Cron → Queue → consumer. The cron run asks every Directory shard which mailboxes are due
// at this tick and enqueues one message per mailbox; the consumer asks each mailbox's object
// to run one sync, and hands transient failures back to the queue's retry with back-off.

import { directoryShard } from './directory.js';
import { readSettings, retryDelaySeconds } from './settings.js';
import { ID_PATTERN } from './mailbox-config.js';

/** Queues take at most 100 messages (and 256 KB) per sendBatch. */
const SEND_BATCH = 100;
/** sendBatch calls in flight at once (a Worker has 6 connections). */
const SEND_PARALLEL = 4;

export const mailboxStub = (env, id) => env.MAILBOX.get(env.MAILBOX.idFromName(id));

/** The body of a poll message: which mailbox, and when the poll was asked for. */
export const pollMessage = (id, claimedAt) => ({ id, claimedAt });

/** Enqueues poll messages for `ids`, in batches. */
export async function enqueuePolls(env, ids, claimedAt) {
  const batches = [];
  for (let i = 0; i < ids.length; i += SEND_BATCH) {
    batches.push(ids.slice(i, i + SEND_BATCH).map((id) => ({ body: pollMessage(id, claimedAt), contentType: 'json' })));
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await env.POLL_QUEUE.sendBatch(batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(SEND_PARALLEL, batches.length) }, worker));
}

/** The cron run: claim this tick's due mailboxes from every shard and enqueue them. */
export async function tick(env, scheduledTime) {
  const settings = readSettings(env);
  const tickIndex = Math.floor(scheduledTime / (settings.tickSeconds * 1000));
  const claims = await Promise.all(Array.from({ length: settings.shards },
    (_, n) => directoryShard(env, n).claim(tickIndex, scheduledTime, settings.catchUpTicks)));
  const ids = claims.flatMap((c) => c.ids);
  await enqueuePolls(env, ids, scheduledTime);
  const result = { tick: tickIndex, ticks: Math.max(0, ...claims.map((c) => c.ticks)), enqueued: ids.length };
  console.log(JSON.stringify({ pop3Poller: { cron: result } }));
  return result;
}

/** The queue consumer: one sync per message, all of the batch at once. */
export async function consume(batch, env) {
  const settings = readSettings(env);
  await Promise.all(batch.messages.map(async (msg) => {
    const { id, claimedAt } = msg.body ?? {};
    if (typeof id !== 'string' || !ID_PATTERN.test(id) || !Number.isFinite(claimedAt)) {
      console.log(JSON.stringify({ pop3Poller: { queue: 'dropped a malformed message', messageId: msg.id } }));
      msg.ack();
      return;
    }
    let result;
    try {
      result = await mailboxStub(env, id).poll({ claimedAt, trigger: `queue#${msg.attempts}` });
    } catch (e) {
      // The object could not answer (restarted, overloaded, reset by a deployment): whatever
      // it recorded stays recorded; the retry runs the rest.
      console.log(JSON.stringify({ pop3Poller: { mailbox: id, queue: 'retry', error: String(e?.message ?? e) } }));
      msg.retry({ delaySeconds: retryDelaySeconds(settings, msg.attempts) });
      return;
    }
    if (result.outcome === 'retry') {
      msg.retry({ delaySeconds: Math.max(retryDelaySeconds(settings, msg.attempts), result.retryAfterSeconds ?? 0) });
      return;
    }
    // A backlog: the next bounded run is queued now, not at the next turn of the schedule.
    if (result.more) await enqueuePolls(env, [id], Date.now()).catch(() => {});
    msg.ack();
  }));
}
