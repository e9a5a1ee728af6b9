// Directory: one shard of the schedule (a SQLite-backed Durable Object per shard, named
// "shard-<n>"). It knows which mailboxes exist and when each is due; the mailboxes' own
// objects hold everything else.
//
// A mailbox polled every I ticks has a fixed phase p (a hash of its id): it is due at the
// ticks t with t mod I = p, unless it is backing off (not_before) or failing (active = 0).
// Claiming due mailboxes therefore only reads rows; a row is written only when a mailbox is
// added, changed, fails or recovers. Each claim records the last tick it served, in the same
// synchronous step as the read, so overlapping or repeated cron runs never hand out the same
// tick twice; a late cron run makes up for the ticks it missed (at most catchUpTicks).

import { DurableObject } from 'cloudflare:workers';

import { hash32 } from './settings.js';

export class Directory extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS mailboxes (
      id TEXT PRIMARY KEY,
      interval_ticks INTEGER NOT NULL,
      phase INTEGER NOT NULL,
      not_before INTEGER NOT NULL DEFAULT 0,
      active INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);`);
  }

  /** Adds or changes a mailbox's schedule. Fields left out keep their stored values. */
  schedule(id, { intervalTicks, notBefore, active }) {
    const row = this.sql.exec('SELECT interval_ticks, not_before, active FROM mailboxes WHERE id = ?', id).toArray()[0];
    const ticks = Math.max(1, Math.trunc(intervalTicks ?? row?.interval_ticks ?? 1));
    const next = {
      interval: ticks,
      phase: hash32(id) % ticks,
      notBefore: Math.trunc(notBefore ?? row?.not_before ?? 0),
      active: (active ?? (row ? row.active === 1 : true)) ? 1 : 0,
    };
    if (row && row.interval_ticks === next.interval && row.not_before === next.notBefore && row.active === next.active) return;
    this.sql.exec(`INSERT INTO mailboxes (id, interval_ticks, phase, not_before, active) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET interval_ticks = excluded.interval_ticks, phase = excluded.phase,
      not_before = excluded.not_before, active = excluded.active`, id, next.interval, next.phase, next.notBefore, next.active);
  }

  remove(id) {
    this.sql.exec('DELETE FROM mailboxes WHERE id = ?', id);
  }

  /**
   * The mailboxes due at `tick` (and at the ticks since the last claim, at most `catchUp`),
   * as of `now` (ms). Each tick is handed out once.
   */
  claim(tick, now, catchUp) {
    // A shard's first claim covers the catch-up window too.
    const last = this.sql.exec("SELECT value FROM meta WHERE key = 'lastTick'").toArray()[0]?.value ?? tick - catchUp;
    if (tick <= last) return { ids: [], ticks: 0 };
    const from = Math.max(last + 1, tick - catchUp + 1);
    const n = tick - from + 1;
    // Due in [from, tick] when some t in it has t mod I = phase: the distance from `from` to
    // the next such t, ((phase - from) mod I), is below n. SQLite's % keeps the sign of the
    // left side, hence the + I.
    const ids = this.sql.exec(`SELECT id FROM mailboxes WHERE active = 1 AND not_before <= ?
      AND (interval_ticks <= ? OR ((phase - ?) % interval_ticks + interval_ticks) % interval_ticks < ?)`,
    now, n, from, n).toArray().map((r) => r.id);
    this.sql.exec("INSERT INTO meta (key, value) VALUES ('lastTick', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", tick);
    return { ids, ticks: n };
  }

  /** A page of the shard's mailboxes, by id. */
  list(after, limit) {
    return this.sql.exec('SELECT id, interval_ticks, not_before, active FROM mailboxes WHERE id > ? ORDER BY id LIMIT ?', after, limit)
      .toArray().map((r) => ({ id: r.id, intervalTicks: r.interval_ticks, notBefore: r.not_before || null, active: r.active === 1 }));
  }

  counts() {
    const r = this.sql.exec('SELECT count(*) AS total, coalesce(sum(active), 0) AS active FROM mailboxes').one();
    return { total: r.total, active: r.active };
  }
}

/** The Directory shard a mailbox belongs to. */
export function shardOf(env, settings, id) {
  return directoryShard(env, hash32(`shard:${id}`) % settings.shards);
}

export function directoryShard(env, n) {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName(`shard-${n}`));
}
