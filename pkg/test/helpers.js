// Test helpers: real servers from tests/support/mailstack.py, and sample mail.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../../', import.meta.url));

/** Starts a mail stack; resolves to its JSON description plus stop(). */
export function startStack(args = []) {
  const child = spawn('python3', [join(repo, 'tests/support/mailstack.py'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const info = JSON.parse(out.slice(0, nl));
        info.stop = () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.once('exit', done);
          child.stdin.end();
        });
        info.password = (user = 'alice') => info.users[user].password;
        info.maildir = (user = 'alice') => info.users[user].maildir;
        resolve(info);
      }
    });
    child.once('exit', (code) => reject(new Error(`mailstack exited with ${code} before starting`)));
  });
}

/** Generates the sample mailbox into a temporary directory; returns its path and cleanup. */
export function sampleMail(largeMb = 1) {
  const dir = mkdtempSync(join(tmpdir(), 'pop3-sample-'));
  execFileSync('python3', [join(repo, 'tests/fixtures/make_sample_mail.py'), dir, '--large-mb', String(largeMb)], { stdio: 'ignore' });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Delivers files into a running stack's maildir. */
export function deliver(maildir, files) {
  execFileSync('python3', [join(repo, 'tests/support/mailstack.py'), 'deliver', '--maildir', maildir, ...files], { stdio: 'ignore' });
}
