// The multi-mailbox poller (Cron → Queue → one Durable Object per mailbox → webhook and/or
// R2), with TLS by the Workers runtime. Deploy with wrangler.poller.toml; see README.md.

import * as pop3 from 'pop3-wasm';
import { makePoller } from './src/poller/index.js';

const poller = makePoller(pop3);

export default poller.worker;
export class Mailbox extends poller.Mailbox {}
export class Directory extends poller.Directory {}
