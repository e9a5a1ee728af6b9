// For a bundler that does not emit the package's .wasm files (esbuild): they are copied next
// to the page, and init() is told where.
import { connect, init, parseMessage } from 'pop3-wasm';
import * as mime from 'pop3-wasm/mime';
import { listSubjects, report } from './list.js';

report(init({ url: 'wasm/client.wasm', parser: { url: 'wasm/parser.wasm' } })
  .then(() => listSubjects({ connect, parseMessage }, { init: mime.init, parseMessage: mime.parseMessage, source: { url: 'wasm/parser.wasm' } })));
