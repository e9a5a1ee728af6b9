// Human explanations of Pop3Error codes. The library's messages never contain a password;
// `redact` is a second line of defence for the one place where the page still has it.

/**
 * { title, detail, hint } for an error. `context`: 'connect', 'login' or 'session'.
 * `proxyUrl`: the WebSocket URL in use, for the messages that name it.
 */
export function describeError(error, { context = 'session', proxyUrl = '' } = {}) {
  const code = error && error.code;
  const message = String(error && error.message || error);
  // The library's machine-readable account (Pop3Error.detail); its messages are for people.
  const detail = error && typeof error.detail === 'object' && error.detail ? error.detail : {};
  const server = error && error.serverText ? `The server said: “${error.serverText}”` : '';
  switch (code) {
    case 'auth':
      if (detail.type === 'mechanismUnavailable') {
        const offered = detail.offered && detail.offered.length ? ` It offers ${detail.offered.join(', ')}.` : '';
        return {
          title: 'This login mechanism is not available',
          hint: `The server does not offer ${detail.mechanism}, chosen under “Login options”.${offered} Choose “Automatic”.`,
          detail: message,
        };
      }
      return {
        title: 'Wrong user name or password',
        hint: 'The mail server refused the login. Check both and try again.',
        detail: server || message,
      };
    case 'transport':
      if (detail.type === 'proxy' && detail.closeCode === 1011) {
        return {
          title: 'The proxy cannot reach the mail server',
          hint: 'The WebSocket proxy answered, but it could not open a connection to its POP3 server '
            + '(it closed the WebSocket with code 1011). The mail server may be down, or the proxy points at the wrong host or port.',
          detail: message,
        };
      }
      if (context === 'connect') {
        return {
          title: 'Cannot reach the WebSocket proxy',
          hint: `Nothing answered at ${proxyUrl || 'the proxy URL'}. Check the address and that websockify is running. `
            + '(Browsers do not say why a WebSocket failed: a wrong port, a refused Origin and a certificate problem look the same.)',
          detail: message,
        };
      }
      return { title: 'The connection to the proxy failed', hint: 'Log in again to continue.', detail: message };
    case 'closed':
      return {
        title: context === 'session' ? 'The connection was lost' : 'The connection closed unexpectedly',
        hint: 'The proxy or the mail server ended the session. Nothing marked for deletion was deleted. Log in again to continue.',
        detail: message,
      };
    case 'tls':
      if (context === 'session') {
        return {
          title: 'The encrypted connection failed',
          hint: 'TLS broke in the middle of the session, so it had to end. Nothing marked for deletion was deleted. Log in again.',
          detail: message,
        };
      }
      return { title: 'The secure connection failed', hint: tlsHint(detail), detail: message };
    case 'timeout':
      return {
        title: 'The server did not answer in time',
        hint: context === 'connect'
          ? 'The proxy or the mail server is too slow or unreachable. Try again.'
          : 'The mail server stopped answering. Try again; log in again if it persists.',
        detail: message,
      };
    case 'usage':
      if (detail.type === 'cleartextRefused') {
        return {
          title: 'Refused to send the password unencrypted',
          hint: 'This login would send the password itself over a connection without TLS, so the proxy and the network '
            + 'behind it could read it. Choose CRAM-MD5 or APOP if the server offers them, use TLS, or tick '
            + '“Allow sending the password in cleartext” under “Login options” if you trust the path to the server.',
          detail: message,
        };
      }
      if (context === 'connect' && proxyUrl && !isWebSocketUrl(proxyUrl)) {
        return { title: 'That is not a WebSocket URL', hint: 'Use ws://host:port/ or wss://host:port/.', detail: message };
      }
      return { title: 'The request could not be made', hint: '', detail: message };
    case 'server':
      return serverError(error, message);
    case 'limit':
      return { title: 'Too large', hint: 'A reply or message exceeded the client’s limits.', detail: message };
    case 'protocol':
      return { title: 'The server broke the POP3 protocol', hint: 'Its reply could not be understood.', detail: message };
    case 'aborted':
      return { title: 'Cancelled', hint: '', detail: message };
    default:
      return { title: 'Something went wrong', hint: '', detail: message };
  }
}

/** Whether `url` is a ws: or wss: URL (what the library accepts as a proxy address). */
function isWebSocketUrl(url) {
  try {
    const { protocol } = new URL(url);
    return protocol === 'ws:' || protocol === 'wss:';
  } catch {
    return false;
  }
}

/** Why TLS could not be set up, from the library's certificate detail (when it has one). */
function tlsHint(detail) {
  if (detail.type !== 'certificate') {
    return 'TLS to the mail server could not be set up: a server without TLS on this port (implicit TLS needs '
      + 'the POP3S port), one that does not offer STLS, or no TLS version in common.';
  }
  switch (detail.problem) {
    case 'unknownIssuer':
      return 'The mail server’s certificate is not from a trusted authority. For a private CA, paste its certificate under “Private certificate authority”.';
    case 'nameMismatch': {
      const which = detail.serverName ? ` for “${detail.serverName}”` : ' for the server name you entered';
      const names = detail.names || [];
      return names.length
        ? `The mail server’s certificate is not valid${which}. It carries ${listOf(names)}: enter one of those as the mail server name.`
        : `The mail server’s certificate is not valid${which}. Enter the name on the mail server’s certificate `
          + '(the name you would use in a mail program, not the proxy’s).';
    }
    case 'expired':
      return 'The mail server’s certificate has expired.';
    case 'notYetValid':
      return 'The mail server’s certificate is not valid yet. Check this computer’s clock.';
    case 'revoked':
      return 'The mail server’s certificate has been revoked by its authority.';
    case 'pinMismatch':
      return 'The mail server’s certificate is not the one pinned for it.';
    default:
      return 'The mail server’s certificate was refused.';
  }
}

const listOf = (names) => names.length === 1 ? `the name ${names[0]}`
  : `the names ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;

function serverError(error, message) {
  const text = error.serverText ? `“${error.serverText}”` : message;
  switch (error.responseCode) {
    case 'IN-USE':
      return { title: 'The mailbox is in use', hint: 'Another session holds this mailbox. Close it, or try again in a minute.', detail: text };
    case 'LOGIN-DELAY':
      return { title: 'Logging in again too soon', hint: 'The server limits how often you may log in. Wait and try again.', detail: text };
    case 'SYS/TEMP':
      return { title: 'The mail server has a temporary problem', hint: 'Try again later.', detail: text };
    case 'SYS/PERM':
      return { title: 'The mail server has a problem', hint: 'Trying again will not help; contact its administrator.', detail: text };
    case 'AUTH':
      return { title: 'Wrong user name or password', hint: 'The mail server refused the login.', detail: text };
    default:
      return { title: 'The mail server refused the request', hint: '', detail: text };
  }
}

/** Removes `secret` from `text`, should it ever appear. */
export function redact(text, secret) {
  if (!secret || secret.length < 3 || !text) return text;
  return String(text).split(secret).join('••••');
}

/**
 * Fills an alert element with an error description: the title, the hint, and the library's
 * own words behind "Technical details" (closed), unless they only repeat the rest.
 */
export function showAlert(element, { title, hint, detail }, secret) {
  element.replaceChildren();
  const strong = document.createElement('strong');
  strong.textContent = redact(title, secret);
  element.append(strong);
  if (hint) {
    const p = document.createElement('div');
    p.textContent = redact(hint, secret);
    element.append(p);
  }
  const said = `${title} ${hint || ''}`.toLowerCase();
  if (detail && !said.includes(String(detail).toLowerCase())) {
    const details = document.createElement('details');
    details.className = 'tech';
    const summary = document.createElement('summary');
    summary.textContent = 'Technical details';
    const d = document.createElement('div');
    d.className = 'detail';
    d.textContent = redact(detail, secret);
    details.append(summary, d);
    element.append(details);
  }
  element.hidden = false;
}
