// Starts the CLI. With --ws on a Node that has no global WebSocket (Node 20 without
// --experimental-websocket), runs node again with that flag, passing the terminal, the exit
// code and signals through.

import { spawn } from 'node:child_process';
import nodeModule from 'node:module';

import { parseArgs } from './args.js';

const CHILD_ENV = 'POP3_WASM_CLI_REEXEC';

function wantsWebSocket(argv) {
  try {
    const { options } = parseArgs(argv);
    return options.ws !== undefined && !options.help && !options.version;
  } catch {
    return false; // main() reports the error
  }
}

function reexec(argv) {
  const args = [...process.execArgv, '--experimental-websocket', process.argv[1], ...argv];
  const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, [CHILD_ENV]: '1' } });
  // Forward signals sent to us alone (a Ctrl-C on the terminal reaches both processes; the
  // child ignores the duplicate).
  const forward = {};
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    forward[sig] = () => { if (child.exitCode === null && child.signalCode === null) child.kill(sig); };
    process.on(sig, forward[sig]);
  }
  child.once('error', (e) => {
    process.stderr.write(`pop3: cannot start ${process.execPath}: ${e.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    for (const [sig, fn] of Object.entries(forward)) process.removeListener(sig, fn);
    if (signal) {
      process.kill(process.pid, signal); // die the same way
      return;
    }
    process.exit(code ?? 1);
  });
}

async function flush(stream) {
  await new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.write('', () => resolve());
  });
}

export async function launch(argv) {
  // Node 22.1+ keeps the compiled JavaScript of the CLI and the package on disk between runs
  // (in the OS temp directory, or NODE_COMPILE_CACHE). Node 20 has no such cache; V8 does not
  // cache compiled wasm across processes in Node at all.
  nodeModule.enableCompileCache?.();
  if (wantsWebSocket(argv) && typeof globalThis.WebSocket !== 'function' && !process.env[CHILD_ENV]
      && process.allowedNodeEnvironmentFlags.has('--experimental-websocket')) {
    reexec(argv);
    return;
  }
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    process.on(event, (e) => {
      process.stderr.write(`pop3: internal error: ${e && e.stack ? e.stack : String(e)}\n`);
      process.exit(70);
    });
  }
  let code;
  try {
    const { main } = await import('./main.js');
    code = await main(argv);
  } catch (e) {
    // A bug: exit 70 (EX_SOFTWARE), never 1, which means "nothing new" for pop3 fetch.
    process.stderr.write(`pop3: internal error: ${e && e.stack ? e.stack : String(e)}\n`);
    code = 70;
  }
  await flush(process.stdout);
  await flush(process.stderr);
  process.exit(code);
}
