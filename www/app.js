// The demo mail reader: log in through a WebSocket proxy, list the mailbox (headers with
// TOP n 0, pipelined), read, delete and undo, log out. The POP3 session runs on this thread
// (it is I/O); MIME parsing runs in a module worker (parser.js).
//
// One store (store.js) holds the state. Views render from it: list-view.js (the list),
// reader.js (the reading pane), login.js (the form). Actions change it: session.js (login to
// logout), deletion.js, keyboard.js. This file only starts them.

import { initLogin } from './login.js';
import './session.js';
import './list-view.js';
import './reader.js';
import './deletion.js';
import './keyboard.js';

initLogin();
