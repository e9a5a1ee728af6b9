// The multi-mailbox poller: a Worker (admin API, cron, queue consumer) and its two Durable
// Object classes, made for the pop3-wasm module the entry file imported (poller.js).

import { handleAdmin } from './admin.js';
import { Directory } from './directory.js';
import { makeMailboxClass } from './mailbox.js';
import { consume, tick } from './scheduler.js';

export function makePoller(pop3) {
  return {
    Mailbox: makeMailboxClass(pop3),
    Directory,
    worker: {
      fetch: (request, env) => handleAdmin(request, env),
      scheduled: (controller, env) => tick(env, controller.scheduledTime).then(() => {}),
      queue: (batch, env) => consume(batch, env),
    },
  };
}
