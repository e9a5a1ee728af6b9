// No configuration: the package finds its .wasm files where the bundler put them.
import { connect, parseMessage } from 'pop3-wasm';
import * as mime from 'pop3-wasm/mime';
import { listSubjects, report } from './list.js';

report(listSubjects({ connect, parseMessage }, { init: mime.init, parseMessage: mime.parseMessage }));
