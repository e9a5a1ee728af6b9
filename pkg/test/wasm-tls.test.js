// TLS inside the wasm module over a Node socket: large messages arrive complete.
// Regression: feeding rustls a whole read at once could overflow its bounded buffer of
// decrypted data ("TLS read failed"), depending on how reads were chunked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { connect } from '../src/node.js';
import { startStack, sampleMail } from './helpers.js';

let stack;
let mail;

before(async () => {
  mail = sampleMail(5);
  stack = await startStack(['--tls', '--mail', mail.dir]);
});

after(async () => {
  await stack?.stop();
  mail?.remove();
});

test('a 7 MB message over wasm TLS, implicit and STLS, repeatedly', async () => {
  const ca = readFileSync(stack.ca_cert, 'utf8');
  const expected = stack.users.alice.messages.at(-1).octets;
  for (let round = 0; round < 3; round++) {
    for (const [tls, port] of [['implicit', stack.pop3s_port], ['starttls', stack.pop3_port]]) {
      const client = await connect({ host: '127.0.0.1', port, tls, tlsProvider: 'wasm', serverName: 'localhost', ca });
      assert.equal(client.tlsInfo.terminatedBy, 'wasm');
      await client.login('alice', stack.password());
      const count = (await client.stat()).count;
      const body = await client.retrieve(count);
      assert.equal(body.length, expected, `${tls}, round ${round}`);
      await client.quit();
    }
  }
});
