// The CLI: parses arguments, runs one command, maps errors to exit codes.

import { readFileSync } from 'node:fs';

import { COMMANDS, checkCommandOptions, parseArgs } from './args.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';
import { EXIT, exitCodeFor, formatError, usageError } from './errors.js';
import { selectRuns } from './config.js';

const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function version() {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return `pop3 (${pkg.name}) ${pkg.version}\n`;
}

async function loadCommand(name) {
  // Imported lazily: --help and --version do not load the wasm module.
  switch (name) {
    case 'capa': return (await import('./commands/capa.js')).capaCommand;
    case 'list': return (await import('./commands/list.js')).listCommand;
    case 'fetch': return (await import('./commands/fetch.js')).fetchCommand;
    case 'show': return (await import('./commands/show.js')).showCommand;
    case 'watch': return (await import('./commands/watch.js')).watchCommand;
    default: throw usageError(`unknown command ${JSON.stringify(name)}`, `commands: ${COMMANDS.join(', ')}; see pop3 --help`);
  }
}

function writeAll(stream, data) {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.write(data, () => resolve());
  });
}

/**
 * Runs the CLI with `argv` (without node and the script); resolves to the exit code.
 * `io` replaces process.{env, stdin, stdout, stderr} (for embedding).
 */
export async function main(argv, io = {}) {
  const env = io.env ?? process.env;
  const stdin = io.stdin ?? process.stdin;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  // A closed pipe (pop3 show 1 --raw | head) is not an error worth a stack trace.
  stdout.on('error', (e) => { if (e.code !== 'EPIPE') throw e; });

  const ctx = {
    env, stdin, stdout, stderr,
    options: {},
    positionals: [],
    signal: null,
    progress: false,
    out: (s) => { stdout.write(s); },
    err: (s) => { stderr.write(s); },
    outBytes: (bytes) => writeAll(stdout, bytes),
    log: () => {},
  };

  let parsed;
  try {
    parsed = parseArgs(argv);
    if (parsed.options.version) {
      stdout.write(version());
      return EXIT.OK;
    }
    if (parsed.options.help) {
      if (parsed.command !== null && !COMMAND_HELP[parsed.command]) await loadCommand(parsed.command);
      stdout.write(parsed.command ? COMMAND_HELP[parsed.command] : MAIN_HELP);
      return EXIT.OK;
    }
    if (parsed.command === null) {
      stderr.write(`${MAIN_HELP.slice(0, MAIN_HELP.indexOf('\nConnection:'))}\nSee pop3 --help for the options.\n`);
      return EXIT.USAGE;
    }
    checkCommandOptions(parsed);
    // The accounts of the config file, or the server given on the command line.
    ctx.runs = selectRuns(parsed, env);
    if (ctx.runs[0].noConfig && ctx.runs[0].options.host === undefined && ctx.runs[0].options.ws === undefined) {
      throw usageError('no server: pass --host H (or --ws URL for a WebSocket proxy), '
        + `or set up accounts in ${ctx.runs[0].noConfig} (see pop3 --help)`);
    }
  } catch (e) {
    stderr.write(`${formatError(e)}\n`);
    return exitCodeFor(e);
  }

  const { options } = parsed;
  ctx.options = ctx.runs.length === 1 ? ctx.runs[0].options : options;
  ctx.positionals = parsed.positionals;
  ctx.progress = Boolean(stderr.isTTY) && !ctx.options.quiet;
  if (ctx.options.verbose) ctx.log = (m) => stderr.write(`* ${m}\n`);

  // Ctrl-C (and SIGTERM, SIGHUP): abort the call in flight; the command then closes the
  // connection without QUIT, so nothing marked for deletion is deleted.
  const controller = new AbortController();
  ctx.signal = controller.signal;
  let caught = null;
  const onSignal = (sig) => {
    if (caught) return; // a repeated Ctrl-C (or the launcher forwarding it) changes nothing
    caught = sig;
    if (stdin.isTTY && stdin.isRaw) stdin.setRawMode(false);
    controller.abort();
    // If closing hangs, leave anyway.
    setTimeout(() => { stderr.write('pop3: interrupted\n'); process.exit(SIGNAL_EXIT[sig]); }, 3000).unref();
  };
  const signals = Object.keys(SIGNAL_EXIT);
  for (const sig of signals) process.on(sig, onSignal);

  try {
    const command = await loadCommand(parsed.command);
    return await command(ctx);
  } catch (e) {
    if (caught) {
      stderr.write('pop3: interrupted; the connection was closed without QUIT (nothing was deleted)\n');
      return SIGNAL_EXIT[caught];
    }
    stderr.write(`${formatError(e)}\n`);
    if (options.verbose && exitCodeFor(e) === EXIT.UNEXPECTED && e && e.stack) stderr.write(`${e.stack}\n`);
    return exitCodeFor(e);
  } finally {
    for (const sig of signals) process.removeListener(sig, onSignal);
  }
}
