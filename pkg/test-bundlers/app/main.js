// No configuration: the package finds its .wasm files where the bundler put them.
import { connect, parseMessage } from 'pop3-wasm';
import { listSubjects, report } from './list.js';

report(listSubjects({ connect, parseMessage }));
