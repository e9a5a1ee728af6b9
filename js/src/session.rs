//! `Session`: one POP3 session for JavaScript, over a [`Client`]. Every method returns a
//! `Promise`, takes one options object, and runs after the calls made before it (a FIFO lock),
//! so overlapping calls queue instead of failing. An aborted call rejects at once and the
//! session stays usable (a reply still on its way is read and discarded by the next call).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::abort::AbortWatch;
use super::error::{js_error, to_js_error, Thrown};
use super::interop::{
    capabilities_to_js, languages_to_js, list_entry_to_js, msg_num, object, opt_str, state_name, tls_to_js, u8array,
    uid_entry_to_js, JsBuffer,
};
use super::options::{client_config, Options};
use super::queue;
use super::timer::JsTimer;
use super::transport::{self, AnyTransport};
use pop3_wasm::auth::{AuthMethod, Credentials};
use pop3_wasm::client::{Client, LoginOptions};
use pop3_wasm::engine::CommandId;
use pop3_wasm::proto::{Command, MsgNum};
use pop3_wasm::Secret;
use pop3_wasm::{Error, ErrorKind, Result};

pub(crate) type JsClient = Client<AnyTransport>;

pub(crate) struct Inner {
    lock: queue::FifoLock,
    client: RefCell<Option<JsClient>>,
    /// Sizes from the last `LIST`, for progress reports.
    sizes: RefCell<HashMap<u32, u64>>,
    /// What the synchronous getters report, refreshed after every call.
    snapshot: RefCell<Snapshot>,
    /// Set by `close()`: every running or waiting call ends at once.
    closing: RefCell<(bool, Vec<Waker>)>,
    /// What a caller's callback threw during the running call.
    pub(crate) thrown: Thrown,
}

#[derive(Default)]
struct Snapshot {
    greeting: JsValue,
    capabilities: JsValue,
    tls: JsValue,
    state: &'static str,
    round_trips: u64,
    commands: u64,
    bytes_in: u64,
    bytes_out: u64,
    login_delay: Option<u32>,
}

impl Inner {
    /// Resolves when the session is being closed.
    async fn closing(&self) {
        std::future::poll_fn(|cx| {
            let mut closing = self.closing.borrow_mut();
            if closing.0 {
                Poll::Ready(())
            } else {
                closing.1.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    fn start_closing(&self) {
        let wakers = {
            let mut closing = self.closing.borrow_mut();
            closing.0 = true;
            std::mem::take(&mut closing.1)
        };
        for w in wakers {
            w.wake();
        }
    }

    fn refresh(&self, client: &JsClient) {
        let mut snap = self.snapshot.borrow_mut();
        snap.capabilities = client.capabilities().map(capabilities_to_js).unwrap_or(JsValue::NULL);
        snap.tls = tls_to_js(client.tls_info());
        snap.state = state_name(client.state());
        let stats = client.stats();
        (snap.round_trips, snap.commands, snap.bytes_in, snap.bytes_out) =
            (stats.round_trips, stats.commands, stats.bytes_in, stats.bytes_out);
        snap.login_delay = client.login_delay_seen();
    }
}

/// Lends the client to one call and puts it back when the call ends, even if it is aborted.
pub(crate) struct Lease<'a> {
    inner: &'a Inner,
    client: Option<JsClient>,
    /// The call ran to its end. When a lease is dropped before that, the call was aborted.
    pub(crate) completed: bool,
}

impl Lease<'_> {
    pub(crate) fn get(&mut self) -> &mut JsClient {
        self.client.as_mut().expect("leased")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else { return };
        if !self.completed {
            // An aborted call: commands it queued but did not send are dropped now, before
            // the next call's turn (a reply already on its way is skipped by that call). A
            // call aborted half-way through a TLS upgrade leaves nothing trustworthy.
            client.cancel_queued();
            if client.is_awaiting_tls() {
                self.inner.snapshot.borrow_mut().state = "closed";
                return;
            }
        }
        self.inner.refresh(&client);
        *self.inner.client.borrow_mut() = Some(client);
    }
}

/// A POP3 session for JavaScript. Created by `Session.connect()`; used through the npm
/// package's `Pop3Client`, which adds the documented API on top.
#[wasm_bindgen]
pub struct Session {
    pub(crate) inner: Rc<Inner>,
}

/// Runs one call's `work` (which starts by taking its turn with [`acquire`]), honouring
/// `signal` and [`Session::close`]. An aborted call rejects at once, whether it was running or
/// still waiting for its turn; a value the caller's callback threw is what it rejects with.
/// Not generic: the abort and error handling exist once in the module, not once per method.
pub(crate) fn run(inner: Rc<Inner>, signal: JsValue, work: Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    promise(Box::pin(async move {
        let abort = AbortWatch::new(&signal);
        if abort.fired() {
            return Err(abort.error());
        }
        let aborted = std::pin::pin!(abort.wait());
        let closed = std::pin::pin!(inner.closing());
        let stop = futures::future::select(aborted, closed);
        let outcome = match futures::future::select(work, stop).await {
            futures::future::Either::Left((result, _)) => result.map_err(|e| to_js_error(&e)),
            // Dropping the call's future drops its lease (which cleans up) and its turn.
            futures::future::Either::Right((futures::future::Either::Left(_), _)) => Err(abort.error()),
            futures::future::Either::Right((futures::future::Either::Right(_), _)) => {
                Err(js_error(ErrorKind::Closed, "the session was closed while this call was running or waiting"))
            }
        };
        // The caller's own error, unchanged, rather than what the call made of it.
        match inner.thrown.take() {
            Some(thrown) => Err(thrown),
            None => outcome,
        }
    }))
}

/// The one instantiation of `future_to_promise` in the module (each costs kilobytes).
pub(crate) fn promise(work: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>) -> Promise {
    future_to_promise(work)
}

/// Waits for the calls made before this one, then lends the client to this call.
pub(crate) async fn acquire(inner: &Inner) -> Result<(queue::FifoGuard, Lease<'_>)> {
    let turn = inner.lock.lock().await;
    let taken = inner.client.borrow_mut().take();
    let Some(client) = taken else {
        return Err(Error::usage("the session is closed"));
    };
    Ok((turn, Lease { inner, client: Some(client), completed: false }))
}

/// Defines a session call: `session_op!(self, options, |lease, opts| { ... })` runs the block
/// with the client leased and the options object readable, after earlier calls, abortable
/// through `options.signal`.
macro_rules! session_op {
    ($self:ident, $options:ident, |$lease:ident, $opts:ident| $body:block) => {{
        let inner = $self.inner.clone();
        let signal = Options(&$options).value("signal");
        run(
            $self.inner.clone(),
            signal,
            Box::pin(async move {
                let (_turn, mut leased) = acquire(&inner).await?;
                let result: Result<JsValue> = async {
                    let $lease = &mut leased;
                    let $opts = Options(&$options);
                    $body
                }
                .await;
                leased.completed = true;
                result
            }),
        )
    }};
}
pub(crate) use session_op;

/// Queues `commands` and hands each message (in order, whole, in JavaScript memory) to
/// `deliver`; a message the server refuses goes to `deliver` as an error, and the others
/// continue. If `deliver` fails, the rest is abandoned.
async fn fetch_each(
    client: &mut JsClient,
    commands: Vec<(MsgNum, Command)>,
    mut deliver: impl AsyncFnMut(MsgNum, Result<JsValue>) -> Result<()>,
) -> Result<()> {
    let mut ids: Vec<(MsgNum, CommandId)> = Vec::with_capacity(commands.len());
    for (msg, command) in commands {
        match client.queue(command) {
            Ok(id) => ids.push((msg, id)),
            Err(e) => {
                client.cancel_queued();
                return Err(e);
            }
        }
    }
    for (msg, id) in ids {
        let body: Result<JsValue> = async {
            let mut stream = client.message_of(id).await?;
            let mut body = JsBuffer::with_capacity(stream.octets_hint().unwrap_or(0).min(16 << 20) as u32);
            while let Some(chunk) = stream.next_chunk().await? {
                body.push(chunk);
            }
            Ok(body.finish().into())
        }
        .await;
        if let Err(e) = &body {
            if e.kind() != ErrorKind::Server {
                client.cancel_queued();
                return Err(e.clone());
            }
        }
        if let Err(e) = deliver(msg, body).await {
            client.cancel_queued();
            return Err(e);
        }
    }
    Ok(())
}

#[wasm_bindgen]
impl Session {
    /// Connects and waits for the greeting. `options.url` opens a WebSocket to a
    /// websockify-style proxy (with `options.protocols`, none by default); `options.stream`
    /// uses a JavaScript byte stream instead.
    pub fn connect(#[wasm_bindgen(unchecked_param_type = "SessionConnectOptions")] options: JsValue) -> Promise {
        promise(Box::pin(async move {
            let abort = AbortWatch::new(&Options(&options).value("signal"));
            if abort.fired() {
                return Err(abort.error());
            }
            let outcome = {
                let work = std::pin::pin!(connect_session(&options));
                let aborted = std::pin::pin!(abort.wait());
                match futures::future::select(work, aborted).await {
                    futures::future::Either::Left((result, _)) => Some(result),
                    futures::future::Either::Right(_) => None,
                }
            };
            match outcome {
                Some(result) => result.map_err(|e| to_js_error(&e)),
                None => Err(abort.error()),
            }
        }))
    }

    /// The greeting: `{ text, code, apopTimestamp }`.
    #[wasm_bindgen(getter)]
    pub fn greeting(&self) -> JsValue {
        self.inner.snapshot.borrow().greeting.clone()
    }

    /// The capabilities from the last `CAPA`, or `null` (not asked yet, or no CAPA support).
    #[wasm_bindgen(getter)]
    pub fn capabilities(&self) -> JsValue {
        self.inner.snapshot.borrow().capabilities.clone()
    }

    /// The TLS session (`{ version, cipher, terminatedBy }`), or `null` on a plain connection.
    #[wasm_bindgen(getter, js_name = tlsInfo)]
    pub fn tls_info(&self) -> JsValue {
        self.inner.snapshot.borrow().tls.clone()
    }

    /// `greeting`, `authorization`, `transaction`, `update` or `closed`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.inner.snapshot.borrow().state.to_owned()
    }

    /// Counters: `{ roundTrips, commands, bytesIn, bytesOut }`, as of the end of the last call.
    #[wasm_bindgen(getter)]
    pub fn stats(&self) -> JsValue {
        let s = self.inner.snapshot.borrow();
        object(&[
            ("roundTrips", (s.round_trips as f64).into()),
            ("commands", (s.commands as f64).into()),
            ("bytesIn", (s.bytes_in as f64).into()),
            ("bytesOut", (s.bytes_out as f64).into()),
        ])
    }

    /// The largest `LOGIN-DELAY` (seconds) the server announced in this session, before or
    /// after login, or `undefined`.
    #[wasm_bindgen(getter, js_name = loginDelay)]
    pub fn login_delay(&self) -> Option<u32> {
        self.inner.snapshot.borrow().login_delay
    }

    /// Calls running or waiting on this session.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> usize {
        self.inner.lock.queued()
    }

    /// `CAPA`: resolves to the capabilities, or `null` for a server without CAPA.
    pub fn capa(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            Ok(lease.get().capa().await?.as_ref().map(capabilities_to_js).unwrap_or(JsValue::NULL))
        })
    }

    /// `STLS`: upgrades the connection to TLS through the transport's `startTls()`.
    pub fn stls(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            lease.get().stls().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `UTF8` (RFC 6856): the session in UTF-8 mode, before login.
    pub fn utf8(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            lease.get().utf8().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `LANG` (RFC 6856): `[{ tag, description }]`, the languages the server offers.
    pub fn languages(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| { Ok(languages_to_js(&lease.get().languages().await?)) })
    }

    /// `LANG tag` (RFC 6856): resolves to the server's text naming the language chosen.
    #[wasm_bindgen(js_name = setLanguage)]
    pub fn set_language(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionCallOptions & { tag: string }")] options: JsValue,
    ) -> Promise {
        session_op!(self, options, |lease, opts| {
            let tag = opts.required_string("tag")?;
            Ok(lease.get().set_language(&tag).await?.into())
        })
    }

    /// Logs in with `user` and `secret` (a password, or an OAuth access token when `token`),
    /// by `mechanism` (`auto`, `user`, `apop` or a SASL name). Resolves to the method used.
    pub fn login(&self, #[wasm_bindgen(unchecked_param_type = "SessionLoginOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, opts| {
            let user = opts.required_string("user")?;
            let secret = Secret::new(opts.required_string("secret")?);
            let credentials = if opts.boolean("token")?.unwrap_or(false) {
                Credentials::access_token(user, secret)
            } else {
                Credentials::new(user, secret)
            };
            let method = AuthMethod::parse(&opts.string("mechanism")?.unwrap_or_default())?;
            let allow_cleartext = opts.boolean("allowCleartext")?.unwrap_or(false);
            let used = lease.get().login(&credentials, &LoginOptions { method, allow_cleartext }).await?;
            Ok(JsValue::from_str(&match used {
                AuthMethod::UserPass => "USER".to_owned(),
                AuthMethod::Apop => "APOP".to_owned(),
                AuthMethod::Sasl(m) => m,
                AuthMethod::Auto => "AUTO".to_owned(),
            }))
        })
    }

    /// `STAT`: `{ count, size }`.
    pub fn stat(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            let s = lease.get().stat().await?;
            Ok(object(&[("count", s.count.into()), ("size", (s.size as f64).into())]))
        })
    }

    /// `LIST` or, with `msg`, `LIST msg`: `[{ msg, size }]` or `{ msg, size }`. A listing with
    /// lines that cannot be read is refused (`detail.type` `listing` holds what could be read).
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionCallOptions & { msg?: number }")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, options, |lease, opts| {
            match opts.number("msg")? {
                Some(n) => {
                    let e = lease.get().list_one(msg_num(n)?).await?;
                    inner.sizes.borrow_mut().insert(e.msg.get(), e.size);
                    Ok(list_entry_to_js(e.msg, e.size))
                }
                None => {
                    let result = lease.get().list().await;
                    // Progress reports use the sizes read, even from a refused listing.
                    let read = match &result {
                        Ok(entries) => Some(entries.as_slice()),
                        Err(e) => match e.detail() {
                            Some(pop3_wasm::Detail::Listing(p)) => match &p.entries {
                                pop3_wasm::ListingEntries::List(entries) => Some(entries.as_slice()),
                                _ => None,
                            },
                            _ => None,
                        },
                    };
                    if let Some(entries) = read {
                        let mut sizes = inner.sizes.borrow_mut();
                        sizes.clear();
                        sizes.extend(entries.iter().map(|e| (e.msg.get(), e.size)));
                    }
                    Ok(result?.iter().map(|e| list_entry_to_js(e.msg, e.size)).collect::<Array>().into())
                }
            }
        })
    }

    /// `UIDL` or, with `msg`, `UIDL msg`: `[{ msg, uid }]` or `{ msg, uid }`, checked like `list`.
    pub fn uidl(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionCallOptions & { msg?: number }")] options: JsValue,
    ) -> Promise {
        session_op!(self, options, |lease, opts| {
            match opts.number("msg")? {
                Some(n) => {
                    let e = lease.get().uidl_one(msg_num(n)?).await?;
                    Ok(uid_entry_to_js(e.msg, &e.uid))
                }
                None => Ok(lease
                    .get()
                    .uidl()
                    .await?
                    .iter()
                    .map(|e| uid_entry_to_js(e.msg, &e.uid))
                    .collect::<Array>()
                    .into()),
            }
        })
    }

    /// `RETR msg` (or `TOP msg lines`): resolves to a `Uint8Array` put together in JavaScript
    /// memory. `onProgress({ received, expected })` is called as data arrives; `expected`
    /// comes from the last `LIST` or the server's `+OK ... octets`, and is a hint.
    pub fn retr(&self, #[wasm_bindgen(unchecked_param_type = "SessionMessageOptions")] options: JsValue) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, options, |lease, opts| {
            let msg = msg_num(opts.number("msg")?.ok_or_else(|| Error::usage("option msg is required"))?)?;
            let lines = opts.whole("lines")?;
            let progress = opts.function("onProgress")?;
            let known = inner.sizes.borrow().get(&msg.get()).copied();
            let client = lease.get();
            let limit = client.config().engine.limits.max_message;
            let mut stream = match lines {
                Some(l) => client.top_stream(msg, l.min(u64::from(u32::MAX)) as u32).await?,
                None => client.retr_stream(msg).await?,
            };
            let expected = if lines.is_none() { known.or(stream.octets_hint()) } else { stream.octets_hint() };
            let mut body = JsBuffer::with_capacity(expected.unwrap_or(0).min(limit).min(16 << 20) as u32);
            while let Some(chunk) = stream.next_chunk().await? {
                body.push(chunk);
                if let Some(f) = &progress {
                    let report = object(&[
                        ("received", f64::from(body.len()).into()),
                        ("expected", expected.map(|e| JsValue::from(e as f64)).unwrap_or(JsValue::UNDEFINED)),
                    ]);
                    inner.thrown.call_now(f, &[report]);
                    if inner.thrown.is_set() {
                        return Err(Error::usage("the progress callback threw"));
                    }
                }
            }
            Ok(body.finish().into())
        })
    }

    /// `RETR msg` (or `TOP msg lines`) delivered in pieces of up to 64 KiB: `onChunk(bytes)` is
    /// called for each; when it returns a promise, no more is read until it settles, so memory
    /// stays bounded. Resolves to `{ size, expected }` once the message is complete; rejects if
    /// it is cut short.
    #[wasm_bindgen(js_name = retrStream)]
    pub fn retr_stream(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionMessageOptions")] options: JsValue,
    ) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, options, |lease, opts| {
            // Decoded pieces end at every dot-stuffed line; gathering them into larger chunks
            // saves JavaScript calls (a 100 MB message would otherwise be ~100,000 of them).
            const CHUNK: usize = 64 * 1024;
            let msg = msg_num(opts.number("msg")?.ok_or_else(|| Error::usage("option msg is required"))?)?;
            let lines = opts.whole("lines")?;
            let on_chunk = opts.function("onChunk")?.ok_or_else(|| Error::usage("onChunk must be a function"))?;
            let client = lease.get();
            let mut stream = match lines {
                Some(l) => client.top_stream(msg, l.min(u64::from(u32::MAX)) as u32).await?,
                None => client.retr_stream(msg).await?,
            };
            let hint = stream.octets_hint();
            let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
            while let Some(chunk) = stream.next_chunk().await? {
                if !pending.is_empty() && pending.len() + chunk.len() > CHUNK {
                    inner.thrown.call(&on_chunk, &[u8array(&pending)]).await?;
                    pending.clear();
                }
                if chunk.len() >= CHUNK {
                    inner.thrown.call(&on_chunk, &[u8array(chunk)]).await?;
                } else {
                    pending.extend_from_slice(chunk);
                }
            }
            if !pending.is_empty() {
                inner.thrown.call(&on_chunk, &[u8array(&pending)]).await?;
            }
            Ok(object(&[
                ("size", (stream.received() as f64).into()),
                ("expected", hint.map(|h| JsValue::from(h as f64)).unwrap_or(JsValue::UNDEFINED)),
            ]))
        })
    }

    /// Retrieves several messages, pipelined when the server allows it: `onMessage(msg,
    /// bytes, error)` is called for each in order (`bytes` null when the server refused that
    /// one); when it returns a promise, the next message is handed over once it settles. With
    /// `lines`, `TOP msg lines` instead of `RETR`.
    #[wasm_bindgen(js_name = retrMany)]
    pub fn retr_many(&self, #[wasm_bindgen(unchecked_param_type = "SessionManyOptions")] options: JsValue) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, options, |lease, opts| {
            let msgs = opts.numbers("msgs")?.into_iter().map(msg_num).collect::<Result<Vec<_>>>()?;
            let lines = opts.whole("lines")?.map(|l| l.min(u64::from(u32::MAX)) as u32);
            let on_message = opts.function("onMessage")?.ok_or_else(|| Error::usage("onMessage must be a function"))?;
            let commands =
                msgs.into_iter().map(|m| (m, lines.map_or(Command::Retr(m), |l| Command::Top(m, l)))).collect();
            let thrown = &inner.thrown;
            fetch_each(lease.get(), commands, async |msg, body| {
                let (bytes, error) = match body {
                    Ok(bytes) => (bytes, JsValue::NULL),
                    Err(e) => (JsValue::NULL, to_js_error(&e)),
                };
                thrown.call(&on_message, &[msg.get().into(), bytes, error]).await.map(drop)
            })
            .await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `DELE msg`.
    pub fn dele(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionCallOptions & { msg: number }")] options: JsValue,
    ) -> Promise {
        session_op!(self, options, |lease, opts| {
            let msg = msg_num(opts.number("msg")?.ok_or_else(|| Error::usage("option msg is required"))?)?;
            lease.get().dele(msg).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `DELE` for several messages, pipelined. Resolves to an array with, per message, `null`
    /// when it was marked or the error the server gave.
    #[wasm_bindgen(js_name = deleMany)]
    pub fn dele_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "SessionCallOptions & { msgs: number[] }")] options: JsValue,
    ) -> Promise {
        session_op!(self, options, |lease, opts| {
            let msgs = opts.numbers("msgs")?.into_iter().map(msg_num).collect::<Result<Vec<_>>>()?;
            let results = lease.get().dele_many(&msgs).await?;
            Ok(results
                .iter()
                .map(|r| match r {
                    Ok(()) => JsValue::NULL,
                    Err(e) => to_js_error(e),
                })
                .collect::<Array>()
                .into())
        })
    }

    /// `RSET`.
    pub fn rset(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            lease.get().rset().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `NOOP`.
    pub fn noop(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            lease.get().noop().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `QUIT`: deletes what was marked, ends the session and closes the connection.
    pub fn quit(&self, #[wasm_bindgen(unchecked_param_type = "SessionCallOptions")] options: JsValue) -> Promise {
        session_op!(self, options, |lease, _opts| {
            lease.get().quit().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Closes the connection without `QUIT`: nothing marked for deletion is deleted.
    pub fn close(&self) -> Promise {
        let inner = self.inner.clone();
        promise(Box::pin(async move {
            // End every call running or waiting, so closing never waits behind them (a
            // stream nobody reads would otherwise hold the session forever).
            inner.start_closing();
            let _turn = inner.lock.lock().await;
            let taken = inner.client.borrow_mut().take();
            if let Some(mut client) = taken {
                let closed = client.close().await;
                inner.refresh(&client);
                inner.snapshot.borrow_mut().state = "closed";
                closed.map_err(|e| to_js_error(&e))?;
            } else {
                inner.snapshot.borrow_mut().state = "closed";
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

async fn connect_session(options: &JsValue) -> Result<JsValue> {
    let opts = Options(options);
    let config = client_config(&opts)?;
    let transport = transport::open(&opts, &config).await?;
    let client = Client::connect(transport, Rc::new(JsTimer), config).await?;
    let greeting = client.greeting();
    let greeting_js = object(&[
        ("text", greeting.status.text.as_str().into()),
        ("code", opt_str(greeting.status.code.as_ref().map(|c| c.as_str()))),
        ("apopTimestamp", opt_str(greeting.apop_timestamp.as_deref())),
    ]);
    let inner = Rc::new(Inner {
        lock: queue::FifoLock::default(),
        client: RefCell::new(None),
        sizes: RefCell::new(HashMap::new()),
        snapshot: RefCell::new(Snapshot { greeting: greeting_js, ..Snapshot::default() }),
        closing: RefCell::new((false, Vec::new())),
        thrown: Thrown::default(),
    });
    inner.refresh(&client);
    *inner.client.borrow_mut() = Some(client);
    Ok(Session { inner }.into())
}
