// The login form: pre-filled from the demo's demo-config.json when there is one, checked
// before connecting, and explained when connecting or logging in fails.

import { state, subscribe } from './store.js';
import { pkg, build, parserReady } from './services.js';
import { startSession } from './session.js';
import { describeError, showAlert } from './errors.js';

const $ = (id) => document.getElementById(id);

/** Proxy URLs from demo-config.json: one for plain/STLS, one for implicit TLS (POP3S). */
const configProxies = { plain: '', implicit: '' };

export async function initLogin() {
  const tlsSelect = $('tls');
  // The demo writes demo-config.json next to the page to pre-fill the form. Nothing is ever
  // written back: the page stores no credentials (and nothing else) anywhere.
  let config = null;
  try {
    const response = await fetch('demo-config.json', { cache: 'no-store' });
    if (response.ok) config = await response.json();
  } catch { /* no config: not the demo */ }
  configProxies.plain = resolveProxy(config && config.proxyUrl) || defaultProxy();
  configProxies.implicit = resolveProxy(config && config.proxyUrlImplicitTls);
  $('proxy').value = configProxies.plain;
  if (config) {
    if (config.user) $('user').value = config.user;
    if (config.password) $('password').value = config.password;
    if (config.serverName) $('server-name').value = config.serverName;
    if (config.ca) $('ca').value = config.ca;
  }

  if (!build.tls) {
    tlsSelect.value = 'none';
    tlsSelect.disabled = true;
    $('tls-help').textContent = 'This build has no TLS inside the browser, so the proxy sees the password and '
      + 'the mail. wss:// protects only the hop from the browser to the proxy.';
  } else {
    if (config && ['none', 'implicit', 'starttls'].includes(config.tls)) tlsSelect.value = config.tls;
    $('tls-help').textContent = 'TLS runs inside this page (WebAssembly), end to end: the proxy relays only ciphertext.';
  }
  tlsSelect.addEventListener('change', tlsChanged);
  tlsChanged();
  parserReady.then((p) => {
    $('build-info').textContent = `pop3-wasm ${build.version} · ${build.fullEncoding || build.hostCharsets ? 'all charsets' : 'common charsets'}`
      + ` · TLS in wasm: ${build.tls ? 'yes' : 'no'} · parsing ${p.mode === 'worker' ? 'in a Web Worker' : 'on the main thread'}`;
    document.documentElement.dataset.parser = p.mode;
  });
  ($('user').value ? ($('password').value ? $('connect') : $('password')) : $('user')).focus();
}

function tlsChanged() {
  const mode = $('tls').value;
  $('tls-fields').hidden = mode === 'none';
  // POP3S needs the relay to the POP3S port; switch between the demo's two, never over a URL
  // the reader typed.
  const proxy = $('proxy');
  if (configProxies.implicit) {
    if (mode === 'implicit' && proxy.value === configProxies.plain) proxy.value = configProxies.implicit;
    if (mode !== 'implicit' && proxy.value === configProxies.implicit) proxy.value = configProxies.plain;
  }
}

function defaultProxy() {
  if (location.protocol !== 'http:' && location.protocol !== 'https:') return '';
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
}

/** "/path" means the page's own host and port. */
function resolveProxy(url) {
  if (!url) return '';
  if (url.startsWith('/')) {
    const base = defaultProxy();
    return base ? base.replace(/\/$/, '') + url : '';
  }
  return url;
}

let connecting = false;
$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (connecting) return;
  const errorBox = $('login-error');
  errorBox.hidden = true;
  const proxyUrl = $('proxy').value.trim();
  const user = $('user').value.trim();
  let password = $('password').value;
  if (!/^wss?:\/\/[^/\s]+/i.test(proxyUrl)) {
    showAlert(errorBox, { title: 'That is not a WebSocket URL', hint: 'Use ws://host:port/ or wss://host:port/.' });
    $('proxy').focus();
    return;
  }
  if (!user) {
    showAlert(errorBox, { title: 'Enter a user name' });
    $('user').focus();
    return;
  }
  const tls = $('tls').value;
  const serverName = $('server-name').value.trim();
  if (tls !== 'none' && !serverName) {
    showAlert(errorBox, { title: 'Enter the mail server’s name', hint: 'TLS checks that the mail server’s certificate carries this name.' });
    $('server-name').focus();
    return;
  }
  connecting = true;
  $('connect').disabled = true;
  const status = $('login-status');
  let client = null;
  try {
    status.textContent = 'Connecting to the proxy…';
    const options = { url: proxyUrl, connectTimeoutMs: 15_000 };
    if (tls !== 'none') {
      options.tls = tls;
      options.serverName = serverName;
      const ca = $('ca').value.trim();
      if (ca) {
        options.ca = ca;
        options.caOnly = $('ca-only').checked;
      }
    }
    client = await pkg.connect(options);
    status.textContent = 'Logging in…';
    const mechanism = await client.login(user, password, {
      mechanism: $('mechanism').value,
      allowCleartext: $('cleartext').checked,
      timeoutMs: 30_000,
    });
    password = null;
    $('password').value = '';
    status.textContent = '';
    await startSession(client, { user, serverName, proxyUrl, mechanism });
  } catch (error) {
    status.textContent = '';
    showAlert(errorBox, describeError(error, { context: client ? 'login' : 'connect', proxyUrl }), password);
    errorBox.scrollIntoView({ block: 'nearest' });
    if (client && !state.session) client.close().catch(() => {});
    // A refused password is fixed in the password field; anything else is read first.
    if (error.code === 'auth' || error.code === 'server') {
      $('password').focus();
      $('password').select();
    } else {
      errorBox.focus();
    }
  } finally {
    password = null;
    connecting = false;
    $('connect').disabled = false;
  }
});

subscribe('logged-out', (note) => {
  $('login-view').hidden = false;
  $('login-error').hidden = true;
  $('login-status').textContent = note;
  $('password').focus();
});

// The skip link leads to what the screen shows: the form, or the message list.
subscribe('session', (session) => {
  const skip = $('skip-link');
  skip.href = session ? '#list' : '#login-form';
  skip.textContent = session ? 'Skip to the message list' : 'Skip to the login form';
});
