#!/usr/bin/env node
// pop3: the command-line POP3 client of pop3-wasm. See `pop3 --help`.
import { launch } from '../src/cli/launch.js';

launch(process.argv.slice(2));
