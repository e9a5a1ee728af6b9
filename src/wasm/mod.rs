//! The JavaScript face of the client: the only module that touches wasm-bindgen.
//!
//! It is deliberately thin. `Session` wraps one [`Client`] over an [`AnyTransport`]; every
//! method returns a `Promise` and runs after the calls made before it (a FIFO lock), so
//! overlapping calls queue instead of failing. Errors become real JavaScript `Error` objects
//! with a stable `code`. Each call can take an `AbortSignal`: an aborted call rejects at once
//! and the session stays usable (a reply still on its way is read and discarded by the next
//! call). The friendlier API, TypeScript types and runtime adapters live in the npm package
//! (`pkg/src`), on top of this.

mod js_stream;
mod mime;
mod queue;
mod timer;
mod websocket;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::auth::{AuthMethod, Credentials};
use crate::client::{Client, ClientConfig, LoginOptions};
use crate::engine::State;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Capabilities, Expire, MsgNum};
use crate::transport::{TlsInfo, Transport};
use crate::Secret;

pub use js_stream::{JsByteStream, JsStreamTransport};
pub use mime::{attachment_content, parse_message, TextDecoderFallback};
pub use timer::JsTimer;
pub use websocket::WebSocketTransport;

/// The byte streams the JavaScript client can run over.
pub enum BaseTransport {
    /// A WebSocket to a websockify-style proxy.
    WebSocket(WebSocketTransport),
    /// A byte stream object supplied by JavaScript (Node, Deno, Cloudflare adapters).
    Js(JsStreamTransport),
}

impl Transport for BaseTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            BaseTransport::WebSocket(t) => t.read(buf).await,
            BaseTransport::Js(t) => t.read(buf).await,
        }
    }
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.write(data).await,
            BaseTransport::Js(t) => t.write(data).await,
        }
    }
    async fn close(&mut self) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.close().await,
            BaseTransport::Js(t) => t.close().await,
        }
    }
    async fn start_tls(&mut self) -> Result<()> {
        match self {
            BaseTransport::WebSocket(t) => t.start_tls().await,
            BaseTransport::Js(t) => t.start_tls().await,
        }
    }
    fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            BaseTransport::WebSocket(t) => t.tls_info(),
            BaseTransport::Js(t) => t.tls_info(),
        }
    }
}

/// A base stream as it is, or wrapped in TLS running inside the wasm module.
pub enum AnyTransport {
    /// No TLS of ours: plain, or TLS done by the host runtime inside a JavaScript stream.
    Plain(BaseTransport),
    /// rustls inside the module: the proxy (or host) sees only ciphertext.
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TlsStream<BaseTransport>>),
}

impl Transport for AnyTransport {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self {
            AnyTransport::Plain(t) => t.read(buf).await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.read(buf).await,
        }
    }
    async fn write(&mut self, data: &[u8]) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.write(data).await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.write(data).await,
        }
    }
    async fn close(&mut self) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.close().await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.close().await,
        }
    }
    async fn start_tls(&mut self) -> Result<()> {
        match self {
            AnyTransport::Plain(t) => t.start_tls().await,
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.start_tls().await,
        }
    }
    fn tls_info(&self) -> Option<TlsInfo> {
        match self {
            AnyTransport::Plain(t) => t.tls_info(),
            #[cfg(feature = "tls")]
            AnyTransport::Tls(t) => t.tls_info(),
        }
    }
}

// ----- conversions -----

/// A short description of a JavaScript exception (its message, or its string form).
pub(crate) fn describe_js(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        let message: String = e.message().into();
        // Node's codes (ECONNREFUSED, CERT_HAS_EXPIRED) help; our own kinds would only repeat.
        let code = Reflect::get(value, &"code".into()).ok().and_then(|c| c.as_string());
        let ours = Reflect::has(value, &"pop3Kind".into()).unwrap_or(false);
        return match code {
            Some(code) if !ours && !message.contains(&code) => format!("{message} ({code})"),
            _ => message,
        };
    }
    // Avoid `{:?}`: it would pull float formatting into the module for this one message.
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "an unknown error".to_owned())
}

/// Converts an [`Error`] into a JavaScript `Error` with `name` `Pop3Error`, a stable `code`
/// (the [`ErrorKind`] name), and the server's `responseCode` and `serverText` when present.
pub fn to_js_error(error: &Error) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("Pop3Error");
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&js, &k.into(), &v);
    };
    set("code", error.kind().as_str().into());
    set("responseCode", error.response_code().map(|c| JsValue::from_str(c.as_str())).unwrap_or(JsValue::NULL));
    set("serverText", error.server_text().map(JsValue::from_str).unwrap_or(JsValue::NULL));
    set("transient", error.is_transient().into());
    set("deletionsUncertain", error.deletions_uncertain().into());
    set("detail", error.detail().map(detail_to_js).unwrap_or(JsValue::NULL));
    js.into()
}

/// The machine-readable detail of an error as a plain object with a `type`.
fn detail_to_js(detail: &crate::Detail) -> JsValue {
    use crate::{Detail, ListingEntries};
    match detail {
        Detail::DeletionsUncertain { marked } => {
            object(&[("type", "deletionsUncertain".into()), ("marked", (*marked).into())])
        }
        Detail::Listing(problem) => {
            let entries: Array = match &problem.entries {
                ListingEntries::List(list) => list.iter().map(|e| list_entry_to_js(e.msg, e.size)).collect(),
                ListingEntries::Uidl(list) => list.iter().map(|e| uid_entry_to_js(e.msg, &e.uid)).collect(),
            };
            let malformed: Array = problem.malformed.iter().map(|l| JsValue::from_str(l)).collect();
            let beyond: Array = problem.beyond_count.iter().map(|m| JsValue::from(m.get())).collect();
            object(&[
                ("type", "listing".into()),
                ("entries", entries.into()),
                ("malformed", malformed.into()),
                ("beyondCount", beyond.into()),
            ])
        }
    }
}

fn list_entry_to_js(msg: MsgNum, size: u64) -> JsValue {
    object(&[("msg", msg.get().into()), ("size", (size as f64).into())])
}

fn uid_entry_to_js(msg: MsgNum, uid: &str) -> JsValue {
    object(&[("msg", msg.get().into()), ("uid", uid.into())])
}

fn js_error(kind: ErrorKind, message: &str) -> JsValue {
    to_js_error(&Error::new(kind, message))
}

/// Builds a plain object from key/value pairs.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&obj, &(*k).into(), v);
    }
    obj.into()
}

fn opt_str(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

fn capabilities_to_js(caps: &Capabilities) -> JsValue {
    let strings = |items: &[String]| items.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into();
    let login_delay = caps
        .login_delay
        .map(|d| object(&[("seconds", d.value.into()), ("perUser", d.per_user.into())]))
        .unwrap_or(JsValue::NULL);
    let expire = caps
        .expire
        .map(|e| {
            let days = match e.value {
                Expire::Never => JsValue::NULL,
                Expire::Days(d) => d.into(),
            };
            object(&[("days", days), ("never", (e.value == Expire::Never).into()), ("perUser", e.per_user.into())])
        })
        .unwrap_or(JsValue::NULL);
    object(&[
        ("top", caps.top.into()),
        ("user", caps.user.into()),
        ("sasl", strings(&caps.sasl)),
        ("respCodes", caps.resp_codes.into()),
        ("authRespCode", caps.auth_resp_code.into()),
        ("loginDelay", login_delay),
        ("pipelining", caps.pipelining.into()),
        ("expire", expire),
        ("uidl", caps.uidl.into()),
        ("implementation", opt_str(caps.implementation.as_deref())),
        ("stls", caps.stls.into()),
        ("utf8", caps.utf8.is_some().into()),
        ("utf8User", caps.utf8.unwrap_or(false).into()),
        ("lang", caps.lang.into()),
        ("other", strings(&caps.other)),
    ])
}

fn tls_to_js(info: Option<TlsInfo>) -> JsValue {
    match info {
        None => JsValue::NULL,
        Some(i) => object(&[
            ("version", i.version.into()),
            ("cipher", i.cipher.into()),
            ("terminatedBy", i.terminated_by.into()),
        ]),
    }
}

fn state_name(state: State) -> &'static str {
    match state {
        State::Greeting => "greeting",
        State::Authorization => "authorization",
        State::Transaction => "transaction",
        State::Update => "update",
        State::Closed => "closed",
    }
}

fn msg_num(n: f64) -> Result<MsgNum> {
    if n.fract() != 0.0 || !(1.0..=u32::MAX as f64).contains(&n) {
        return Err(Error::usage("message numbers are integers from 1"));
    }
    MsgNum::new(n as u32)
}

/// Reads an optional non-negative number option.
fn number_option(options: &JsValue, name: &str) -> Result<Option<f64>> {
    let value = Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(v) if v >= 0.0 && v.is_finite() => Ok(Some(v)),
        _ => Err(Error::usage(format!("option {name} must be a non-negative number"))),
    }
}

fn bool_option(options: &JsValue, name: &str) -> Result<Option<bool>> {
    let value = Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_bool().map(Some).ok_or_else(|| Error::usage(format!("option {name} must be a boolean")))
}

fn client_config(options: &JsValue) -> Result<ClientConfig> {
    let mut config = ClientConfig::default();
    if let Some(ms) = number_option(options, "replyTimeoutMs")? {
        config.reply_timeout = if ms == 0.0 { None } else { Some(Duration::from_secs_f64(ms / 1000.0)) };
    }
    if let Some(v) = number_option(options, "maxLineBytes")? {
        config.engine.limits.max_line = (v as usize).max(512);
    }
    if let Some(v) = number_option(options, "maxMessageBytes")? {
        config.engine.limits.max_message = v as u64;
    }
    if let Some(v) = bool_option(options, "pipelining")? {
        config.engine.pipelining = v;
    }
    if let Some(v) = number_option(options, "window")? {
        config.engine.max_in_flight = (v as usize).max(1);
    }
    if let Some(ms) = number_option(options, "commandTimeoutMs")? {
        config.command_deadline = if ms == 0.0 { None } else { Some(Duration::from_secs_f64(ms / 1000.0)) };
    }
    Ok(config)
}

// ----- abort signals -----

#[derive(Default)]
struct AbortState {
    fired: bool,
    waker: Option<Waker>,
}

/// Resolves when an `AbortSignal` fires; removes its listener when dropped.
struct AbortWatch {
    signal: JsValue,
    state: Rc<RefCell<AbortState>>,
    listener: Option<Closure<dyn FnMut()>>,
}

impl AbortWatch {
    fn new(signal: &JsValue) -> AbortWatch {
        let state = Rc::new(RefCell::new(AbortState::default()));
        let mut watch = AbortWatch { signal: signal.clone(), state: state.clone(), listener: None };
        if signal.is_undefined() || signal.is_null() {
            return watch;
        }
        if Reflect::get(signal, &"aborted".into()).ok().and_then(|a| a.as_bool()) == Some(true) {
            state.borrow_mut().fired = true;
            return watch;
        }
        let listener = Closure::<dyn FnMut()>::new(move || {
            let mut st = state.borrow_mut();
            st.fired = true;
            if let Some(w) = st.waker.take() {
                w.wake();
            }
        });
        if let Ok(add) = Reflect::get(signal, &"addEventListener".into()).and_then(|f| f.dyn_into::<Function>()) {
            let _ = add.call2(signal, &"abort".into(), listener.as_ref());
        }
        watch.listener = Some(listener);
        watch
    }

    fn fired(&self) -> bool {
        self.state.borrow().fired
    }

    /// The error an aborted call rejects with: `code` `timeout` when the signal's reason is a
    /// `TimeoutError` (as from `AbortSignal.timeout()`), `aborted` otherwise.
    fn error(&self) -> JsValue {
        let reason = Reflect::get(&self.signal, &"reason".into()).unwrap_or(JsValue::UNDEFINED);
        let name = Reflect::get(&reason, &"name".into()).ok().and_then(|n| n.as_string());
        if name.as_deref() == Some("TimeoutError") {
            js_error(ErrorKind::Timeout, "the call took longer than its time limit and was cancelled")
        } else {
            let err = js_error(ErrorKind::Usage, "the call was aborted");
            let _ = Reflect::set(&err, &"code".into(), &"aborted".into());
            let _ = Reflect::set(&err, &"name".into(), &"AbortError".into());
            err
        }
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            let mut st = self.state.borrow_mut();
            if st.fired {
                Poll::Ready(())
            } else {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            if let Ok(remove) =
                Reflect::get(&self.signal, &"removeEventListener".into()).and_then(|f| f.dyn_into::<Function>())
            {
                let _ = remove.call2(&self.signal, &"abort".into(), listener.as_ref());
            }
        }
    }
}

// ----- the session -----

type JsClient = Client<AnyTransport>;

struct Inner {
    lock: queue::FifoLock,
    client: RefCell<Option<JsClient>>,
    /// Sizes from the last `LIST`, for progress reports.
    sizes: RefCell<HashMap<u32, u64>>,
    /// What the synchronous getters report, refreshed after every call.
    snapshot: RefCell<Snapshot>,
    /// Set by `close()`: every running or waiting call ends at once.
    closing: RefCell<(bool, Vec<Waker>)>,
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
    }
}

/// Lends the client to one call and puts it back when the call ends, even if it is aborted.
struct Lease<'a> {
    inner: &'a Inner,
    client: Option<JsClient>,
    /// The call ran to its end. When a lease is dropped before that, the call was aborted.
    completed: bool,
}

impl Lease<'_> {
    fn get(&mut self) -> &mut JsClient {
        self.client.as_mut().expect("leased")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else {
            self.inner.snapshot.borrow_mut().state = "closed";
            return;
        };
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
    inner: Rc<Inner>,
}

/// Runs one call's `work` (which starts by taking its turn with [`acquire`]), honouring
/// `signal` and [`Session::close`]. An aborted call rejects at once, whether it was running or
/// still waiting for its turn. Not generic: the abort and error handling exist once in the
/// module, not once per method.
fn run(inner: Rc<Inner>, signal: JsValue, work: Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    promise(Box::pin(async move {
        let abort = AbortWatch::new(&signal);
        if abort.fired() {
            return Err(abort.error());
        }
        let aborted = std::pin::pin!(abort.wait());
        let closed = std::pin::pin!(inner.closing());
        let stop = futures::future::select(aborted, closed);
        match futures::future::select(work, stop).await {
            futures::future::Either::Left((result, _)) => result.map_err(|e| to_js_error(&e)),
            // Dropping the call's future drops its lease (which cleans up) and its turn.
            futures::future::Either::Right((futures::future::Either::Left(_), _)) => Err(abort.error()),
            futures::future::Either::Right((futures::future::Either::Right(_), _)) => {
                Err(js_error(ErrorKind::Closed, "the session was closed while this call was running or waiting"))
            }
        }
    }))
}

/// The one instantiation of `future_to_promise` in the module (each costs kilobytes).
fn promise(work: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>) -> Promise {
    future_to_promise(work)
}

/// Waits for the calls made before this one, then lends the client to this call.
async fn acquire(inner: &Inner) -> Result<(queue::FifoGuard, Lease<'_>)> {
    let turn = inner.lock.lock().await;
    let taken = inner.client.borrow_mut().take();
    let Some(client) = taken else {
        return Err(Error::usage("the session is closed"));
    };
    Ok((turn, Lease { inner, client: Some(client), completed: false }))
}

/// Defines a session call: `session_op!(self, signal, |lease| { ... })` runs the block with
/// the client leased, after earlier calls, abortable through `signal`.
macro_rules! session_op {
    ($self:ident, $signal:expr, |$lease:ident| $body:block) => {{
        let inner = $self.inner.clone();
        run(
            $self.inner.clone(),
            $signal,
            Box::pin(async move {
                let (_turn, mut leased) = acquire(&inner).await?;
                let result: Result<JsValue> = async {
                    let $lease = &mut leased;
                    $body
                }
                .await;
                leased.completed = true;
                result
            }),
        )
    }};
}

/// A message put together in JavaScript memory, growing by doubling when a size hint was low.
struct JsBuffer {
    array: Uint8Array,
    len: u32,
}

impl JsBuffer {
    fn with_capacity(capacity: u32) -> JsBuffer {
        JsBuffer { array: Uint8Array::new_with_length(capacity.max(4096)), len: 0 }
    }

    fn push(&mut self, data: &[u8]) {
        let needed = self.len as u64 + data.len() as u64;
        if needed > u64::from(self.array.length()) {
            let capacity = needed.max(u64::from(self.array.length()) * 2).min(u64::from(u32::MAX)) as u32;
            let bigger = Uint8Array::new_with_length(capacity);
            bigger.set(&self.array.subarray(0, self.len), 0);
            self.array = bigger;
        }
        self.array.subarray(self.len, self.len + data.len() as u32).copy_from(data);
        self.len += data.len() as u32;
    }

    fn finish(self) -> Uint8Array {
        if self.len == self.array.length() {
            self.array
        } else {
            self.array.slice(0, self.len)
        }
    }
}

fn u8array(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

/// Calls a JavaScript callback; if it returns a promise, waits for it (back-pressure).
async fn call_and_wait(f: &Function, args: &[JsValue]) -> Result<()> {
    let args: Array = args.iter().collect();
    let result =
        f.apply(&JsValue::NULL, &args).map_err(|e| Error::usage(format!("the callback threw: {}", describe_js(&e))))?;
    if result.has_type::<Promise>() || Reflect::has(&result, &"then".into()).unwrap_or(false) {
        JsFuture::from(Promise::resolve(&result))
            .await
            .map_err(|e| Error::usage(format!("the callback's promise rejected: {}", describe_js(&e))))?;
    }
    Ok(())
}

fn callback(value: &JsValue) -> Option<Function> {
    value.dyn_ref::<Function>().cloned()
}

#[wasm_bindgen]
impl Session {
    /// Connects and waits for the greeting. `options.url` opens a WebSocket to a
    /// websockify-style proxy (with `options.protocols`, none by default); `options.stream`
    /// uses a JavaScript byte stream instead. Also: `replyTimeoutMs`, `connectTimeoutMs`,
    /// `maxLineBytes`, `maxMessageBytes`, `pipelining`, `window`, `signal`.
    pub fn connect(options: JsValue) -> Promise {
        promise(Box::pin(async move {
            let signal = Reflect::get(&options, &"signal".into()).unwrap_or(JsValue::UNDEFINED);
            let abort = AbortWatch::new(&signal);
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

    /// Counters: `{ roundTrips, commands, bytesIn, bytesOut }`.
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

    /// Calls running or waiting on this session.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> usize {
        self.inner.lock.queued()
    }

    /// `CAPA`: resolves to the capabilities, or `null` for a server without CAPA.
    pub fn capa(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            Ok(lease.get().capa().await?.as_ref().map(capabilities_to_js).unwrap_or(JsValue::NULL))
        })
    }

    /// `STLS`: upgrades the connection to TLS through the transport's `startTls()`.
    pub fn stls(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            lease.get().stls().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Logs in. `method` is `auto`, `user`, `apop` or a SASL name; `secret` is a password, or
    /// an OAuth access token when `is_token`. Resolves to the method used.
    #[allow(clippy::too_many_arguments)]
    pub fn login(
        &self,
        user: String,
        secret: String,
        method: String,
        allow_cleartext: bool,
        is_token: bool,
        signal: JsValue,
    ) -> Promise {
        let credentials = if is_token {
            Credentials::access_token(user, secret)
        } else {
            Credentials::new(user, Secret::new(secret))
        };
        session_op!(self, signal, |lease| {
            let method = AuthMethod::parse(&method)?;
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
    pub fn stat(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            let s = lease.get().stat().await?;
            Ok(object(&[("count", s.count.into()), ("size", (s.size as f64).into())]))
        })
    }

    /// `LIST` (`msg` undefined) or `LIST n`: `[{ msg, size }]` or `{ msg, size }`.
    pub fn list(&self, msg: Option<f64>, signal: JsValue) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, signal, |lease| {
            match msg {
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
                            Some(crate::Detail::Listing(p)) => match &p.entries {
                                crate::ListingEntries::List(entries) => Some(entries.as_slice()),
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

    /// `UIDL` (`msg` undefined) or `UIDL n`: `[{ msg, uid }]` or `{ msg, uid }`.
    pub fn uidl(&self, msg: Option<f64>, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            match msg {
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

    /// `RETR n` (or `TOP n lines` when `lines` is given): resolves to a `Uint8Array`.
    /// `on_progress({ received, expected })` is called as data arrives; `expected` comes from
    /// the last `LIST` or the server's `+OK ... octets`, and is a hint. The message is put
    /// together in JavaScript memory, so wasm memory (which never shrinks) stays small even for
    /// a huge message.
    pub fn retr(&self, msg: f64, lines: Option<f64>, on_progress: JsValue, signal: JsValue) -> Promise {
        let inner = self.inner.clone();
        session_op!(self, signal, |lease| {
            let msg = msg_num(msg)?;
            let progress = callback(&on_progress);
            let known = inner.sizes.borrow().get(&msg.get()).copied();
            let client = lease.get();
            let limit = client.config().engine.limits.max_message;
            let mut stream = match lines {
                Some(l) => client.top_stream(msg, l as u32).await?,
                None => client.retr_stream(msg).await?,
            };
            let expected = if lines.is_none() { known.or(stream.octets_hint()) } else { stream.octets_hint() };
            let mut body = JsBuffer::with_capacity(expected.unwrap_or(0).min(limit).min(u64::from(u32::MAX)) as u32);
            while let Some(chunk) = stream.next_chunk().await? {
                body.push(chunk);
                if let Some(f) = &progress {
                    let report = object(&[
                        ("received", f64::from(body.len).into()),
                        ("expected", expected.map(|e| JsValue::from(e as f64)).unwrap_or(JsValue::UNDEFINED)),
                    ]);
                    f.call1(&JsValue::NULL, &report)
                        .map_err(|e| Error::usage(format!("the progress callback threw: {}", describe_js(&e))))?;
                }
            }
            Ok(body.finish().into())
        })
    }

    /// `RETR n` (or `TOP n lines`) delivered in pieces of up to 64 KiB: `on_chunk(Uint8Array)`
    /// is called for each; when it returns a promise, no more is read until it settles, so
    /// memory stays bounded. Resolves when the message is complete; rejects if it is cut short.
    #[wasm_bindgen(js_name = retrStream)]
    pub fn retr_stream(&self, msg: f64, lines: Option<f64>, on_chunk: Function, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            // Decoded pieces end at every dot-stuffed line; gathering them into larger chunks
            // saves JavaScript calls (a 100 MB message would otherwise be ~100,000 of them).
            const CHUNK: usize = 64 * 1024;
            let msg = msg_num(msg)?;
            let client = lease.get();
            let mut stream = match lines {
                Some(l) => client.top_stream(msg, l as u32).await?,
                None => client.retr_stream(msg).await?,
            };
            let hint = stream.octets_hint();
            let mut pending: Vec<u8> = Vec::with_capacity(CHUNK);
            while let Some(chunk) = stream.next_chunk().await? {
                if !pending.is_empty() && pending.len() + chunk.len() > CHUNK {
                    call_and_wait(&on_chunk, &[u8array(&pending)]).await?;
                    pending.clear();
                }
                if chunk.len() >= CHUNK {
                    call_and_wait(&on_chunk, &[u8array(chunk)]).await?;
                } else {
                    pending.extend_from_slice(chunk);
                }
            }
            if !pending.is_empty() {
                call_and_wait(&on_chunk, &[u8array(&pending)]).await?;
            }
            Ok(object(&[
                ("size", (stream.received() as f64).into()),
                ("expected", hint.map(|h| JsValue::from(h as f64)).unwrap_or(JsValue::UNDEFINED)),
            ]))
        })
    }

    /// Retrieves several messages, pipelined when the server allows it. `on_message(msg,
    /// bytes, error)` is called for each as it completes (`bytes` null when that message
    /// failed). With `lines`, uses `TOP n lines` instead of `RETR`.
    #[wasm_bindgen(js_name = retrMany)]
    pub fn retr_many(&self, msgs: Vec<f64>, lines: Option<f64>, on_message: Function, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            let msgs = msgs.into_iter().map(msg_num).collect::<Result<Vec<_>>>()?;
            let deliver = |msg: MsgNum, body: Result<Vec<u8>>| {
                let (bytes, error) = match &body {
                    Ok(b) => (u8array(b), JsValue::NULL),
                    Err(e) => (JsValue::NULL, to_js_error(e)),
                };
                on_message
                    .call3(&JsValue::NULL, &msg.get().into(), &bytes, &error)
                    .map(drop)
                    .map_err(|e| Error::usage(format!("the callback threw: {}", describe_js(&e))))
            };
            match lines {
                Some(l) => lease.get().top_many(&msgs, l as u32, deliver).await?,
                None => lease.get().retr_many(&msgs, deliver).await?,
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `DELE n`.
    pub fn dele(&self, msg: f64, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            lease.get().dele(msg_num(msg)?).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `DELE` for several messages, pipelined. Resolves to an array with, per message, `null`
    /// when it was marked or the error the server gave.
    #[wasm_bindgen(js_name = deleMany)]
    pub fn dele_many(&self, msgs: Vec<f64>, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            let msgs = msgs.into_iter().map(msg_num).collect::<Result<Vec<_>>>()?;
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
    pub fn rset(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            lease.get().rset().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `NOOP`.
    pub fn noop(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            lease.get().noop().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `QUIT`: deletes what was marked, ends the session and closes the connection.
    pub fn quit(&self, signal: JsValue) -> Promise {
        session_op!(self, signal, |lease| {
            let client = lease.client.take().expect("leased");
            client.quit().await?;
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
            inner.snapshot.borrow_mut().state = "closed";
            if let Some(client) = taken {
                client.close().await.map_err(|e| to_js_error(&e))?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

async fn connect_session(options: &JsValue) -> Result<JsValue> {
    let config = client_config(options)?;
    let connect_timeout = number_option(options, "connectTimeoutMs")?
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or(Some(Duration::from_secs(30)));
    let url = Reflect::get(options, &"url".into()).ok().and_then(|u| u.as_string());
    let stream = Reflect::get(options, &"stream".into()).unwrap_or(JsValue::UNDEFINED);
    let base = match (url, stream.is_object()) {
        (Some(url), false) => {
            let protocols: Vec<String> = Reflect::get(options, &"protocols".into())
                .ok()
                .filter(Array::is_array)
                .map(|p| Array::from(&p).iter().filter_map(|v| v.as_string()).collect())
                .unwrap_or_default();
            // What may wait unread: the largest message (a slow reader of a streamed one) and
            // then some (the rest of a pipeline). Lists are read as they arrive.
            let max_buffered = config.engine.limits.max_message.saturating_add(16 * 1024 * 1024);
            BaseTransport::WebSocket(
                WebSocketTransport::connect(&url, &protocols, connect_timeout, max_buffered).await?,
            )
        }
        (None, true) => BaseTransport::Js(JsStreamTransport::new(stream.unchecked_into())),
        (Some(_), true) => return Err(Error::usage("give either url or stream, not both")),
        (None, false) => return Err(Error::usage("connect() needs a url (WebSocket proxy) or a stream")),
    };
    let transport = wrap_tls(base, options, connect_timeout).await?;
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
    });
    inner.refresh(&client);
    *inner.client.borrow_mut() = Some(client);
    Ok(Session { inner }.into())
}

fn string_option(options: &JsValue, name: &str) -> Result<Option<String>> {
    let value = Reflect::get(options, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value.as_string().map(Some).ok_or_else(|| Error::usage(format!("option {name} must be a string")))
}

/// Applies `options.tls` (`none`, `implicit`, `starttls`) with `options.tlsProvider`:
/// `wasm` (rustls inside this module; the default for WebSockets) or `host` (the JavaScript
/// stream does TLS itself, through its `startTls()`; the default for streams).
async fn wrap_tls(base: BaseTransport, options: &JsValue, timeout: Option<Duration>) -> Result<AnyTransport> {
    let mode = crate::transport::TlsMode::parse(&string_option(options, "tls")?.unwrap_or_default())?;
    let default_provider = if matches!(base, BaseTransport::WebSocket(_)) { "wasm" } else { "host" };
    let provider = string_option(options, "tlsProvider")?.unwrap_or_else(|| default_provider.to_owned());
    match (mode, provider.as_str()) {
        (crate::transport::TlsMode::None, _) | (_, "host") => Ok(AnyTransport::Plain(base)),
        (_, "wasm") => wasm_tls(base, options, mode, timeout).await,
        (_, other) => Err(Error::usage(format!("tlsProvider must be 'wasm' or 'host', not {other:?}"))),
    }
}

#[cfg(feature = "tls")]
async fn wasm_tls(
    base: BaseTransport,
    options: &JsValue,
    mode: crate::transport::TlsMode,
    timeout: Option<Duration>,
) -> Result<AnyTransport> {
    use crate::tls::{TlsOptions, TlsStream};
    let server_name = string_option(options, "serverName")?.ok_or_else(|| {
        Error::usage("serverName is required for TLS: the name on the mail server's certificate (through a proxy, not the proxy's name)")
    })?;
    let ca = Reflect::get(options, &"ca".into()).unwrap_or(JsValue::UNDEFINED);
    let extra_roots_pem: Vec<String> = if ca.is_undefined() || ca.is_null() {
        Vec::new()
    } else if let Some(pem) = ca.as_string() {
        vec![pem]
    } else if Array::is_array(&ca) {
        Array::from(&ca)
            .iter()
            .map(|v| v.as_string().ok_or_else(|| Error::usage("ca must be PEM text")))
            .collect::<Result<_>>()?
    } else {
        return Err(Error::usage("ca must be PEM text or an array of PEM texts"));
    };
    let pin_sha256 = string_option(options, "pin")?.map(|p| TlsOptions::parse_pin(&p)).transpose()?;
    let only_extra_roots = bool_option(options, "caOnly")?.unwrap_or(false);
    let tls_options = TlsOptions { server_name, extra_roots_pem, only_extra_roots, pin_sha256 };
    let mut stream = TlsStream::new(base, &tls_options)?;
    if mode == crate::transport::TlsMode::Implicit {
        match crate::transport::with_timeout(&JsTimer, timeout, stream.handshake()).await {
            Some(result) => result?,
            None => return Err(Error::timeout("the TLS handshake took too long")),
        }
    }
    Ok(AnyTransport::Tls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
async fn wasm_tls(
    _: BaseTransport,
    _: &JsValue,
    _: crate::transport::TlsMode,
    _: Option<Duration>,
) -> Result<AnyTransport> {
    Err(Error::usage(
        "this build has no TLS inside the module; use the build with TLS (pop3-wasm/tls), or a transport whose host does TLS",
    ))
}

/// What this build contains: `fullEncoding` when the legacy CJK character sets are compiled in
/// (the `full-encoding` feature), `hostCharsets` when they are left to the host's TextDecoder.
#[wasm_bindgen(js_name = buildInfo)]
pub fn build_info() -> JsValue {
    object(&[
        ("version", env!("CARGO_PKG_VERSION").into()),
        ("fullEncoding", cfg!(feature = "full-encoding").into()),
        ("hostCharsets", (!cfg!(feature = "full-encoding")).into()),
        ("htmlText", cfg!(feature = "html-text").into()),
        ("tls", cfg!(feature = "tls").into()),
    ])
}

// ----- sync -----
//
// States cross as plain JavaScript objects (JSON is JavaScript's job): keeping serde_json out of
// the module saves tens of kilobytes.

fn state_to_js(state: &crate::sync::SyncState) -> JsValue {
    let messages = Object::new();
    for (uid, saved) in &state.messages {
        let entry = object(&[("savedAt", (saved.saved_at as f64).into()), ("size", (saved.size as f64).into())]);
        let _ = Reflect::set(&messages, &uid.as_str().into(), &entry);
    }
    object(&[
        ("format", state.format.as_str().into()),
        ("version", state.version.into()),
        ("account", state.account.as_str().into()),
        ("messages", messages.into()),
    ])
}

fn state_from_js(value: &JsValue) -> Result<crate::sync::SyncState> {
    let corrupt = |what: &str| Error::usage(format!("the sync state is corrupt ({what}); fix or remove it"));
    if !value.is_object() {
        return Err(Error::usage("the sync state must be an object"));
    }
    let field = |name: &str| Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let whole = |v: &JsValue| v.as_f64().filter(|n| *n >= 0.0 && n.fract() == 0.0 && n.is_finite()).map(|n| n as u64);
    let version = field("version");
    crate::sync::SyncState::check_header(
        field("format").as_string().as_deref(),
        if version.is_undefined() { None } else { Some(whole(&version)) },
    )?;
    let account = field("account").as_string().ok_or_else(|| corrupt("no account"))?;
    let mut state = crate::sync::SyncState::new(account);
    let messages = field("messages");
    if !messages.is_object() {
        return Err(corrupt("no messages"));
    }
    for entry in Object::entries(messages.unchecked_ref()).iter() {
        let pair = Array::from(&entry);
        let uid = pair.get(0).as_string().ok_or_else(|| corrupt("a message id is not text"))?;
        let saved = pair.get(1);
        let number = |name: &str| whole(&Reflect::get(&saved, &name.into()).unwrap_or(JsValue::UNDEFINED));
        let saved_at = number("savedAt").ok_or_else(|| corrupt("a savedAt is not a time"))?;
        let size = number("size").unwrap_or(0);
        state.messages.insert(uid, crate::sync::Saved { saved_at, size });
    }
    Ok(state)
}

/// A sync sink whose `save` and `saveState` are JavaScript callbacks (which may return
/// promises: the sync waits for them, so they decide when data is durable).
struct JsSink {
    save: Function,
    save_state: Function,
    progress: Option<Function>,
}

impl crate::sync::SyncSink for JsSink {
    async fn save(&mut self, uid: &str, message: &[u8]) -> Result<()> {
        call_and_wait(&self.save, &[uid.into(), u8array(message)]).await
    }

    async fn save_state(&mut self, state: &crate::sync::SyncState) -> Result<()> {
        call_and_wait(&self.save_state, &[state_to_js(state)]).await
    }

    fn progress(&mut self, p: crate::sync::Progress) {
        if let Some(f) = &self.progress {
            let report = object(&[
                ("messagesDone", (p.messages_done as f64).into()),
                ("messagesTotal", (p.messages_total as f64).into()),
                ("bytesDone", (p.bytes_done as f64).into()),
                ("bytesTotal", (p.bytes_total as f64).into()),
            ]);
            let _ = f.call1(&JsValue::NULL, &report);
        }
    }
}

/// Checks a sync state object and returns a clean copy; errors say what is wrong.
#[wasm_bindgen(js_name = checkSyncState)]
pub fn check_sync_state(state: JsValue, account: Option<String>) -> Result<JsValue, JsValue> {
    let state = state_from_js(&state).map_err(|e| to_js_error(&e))?;
    if let Some(account) = account {
        state.check_account(&account).map_err(|e| to_js_error(&e))?;
    }
    Ok(state_to_js(&state))
}

/// A new, empty sync state for `account`.
#[wasm_bindgen(js_name = newSyncState)]
pub fn new_sync_state(account: &str) -> JsValue {
    state_to_js(&crate::sync::SyncState::new(account))
}

#[wasm_bindgen]
impl Session {
    /// Synchronises the mailbox (see the Rust `sync` module): downloads what `state` does not
    /// record, calls `save(uid, bytes)` and `save_state(state)` (both may return promises and
    /// must resolve only once durable), applies `retention` (`keep`, `delete`, `older`, with
    /// `older_than_days`), and ends the session with `QUIT`. Resolves to a report.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &self,
        state: JsValue,
        retention: String,
        older_than_days: Option<f64>,
        max_messages: Option<f64>,
        now_ms: f64,
        save: Function,
        save_state: Function,
        on_progress: JsValue,
        signal: JsValue,
    ) -> Promise {
        session_op!(self, signal, |lease| {
            use crate::sync::{Retention, SyncOptions};
            let mut state = state_from_js(&state)?;
            let retention = match retention.as_str() {
                "keep" => Retention::Keep,
                "delete" => Retention::DeleteAfterSave,
                "older" => Retention::DeleteOlderThan {
                    days: older_than_days
                        .filter(|d| *d >= 0.0 && d.fract() == 0.0)
                        .ok_or_else(|| Error::usage("olderThanDays must be a whole number of days"))?
                        as u32,
                },
                _ => return Err(Error::usage("retention must be 'keep', 'delete' or { olderThanDays }")),
            };
            let options = SyncOptions {
                retention,
                now: (now_ms / 1000.0).max(0.0) as u64,
                max_messages: max_messages.map(|m| m.max(0.0) as usize),
            };
            let mut sink = JsSink { save, save_state, progress: callback(&on_progress) };
            let client = lease.client.take().expect("leased");
            let report = crate::sync::sync(client, &mut state, &options, &mut sink).await?;
            let strings = |items: &[String]| items.iter().map(|s| JsValue::from_str(s)).collect::<Array>();
            Ok(object(&[
                ("onServer", (report.on_server as f64).into()),
                ("saved", (report.saved as f64).into()),
                ("bytes", (report.bytes as f64).into()),
                ("alreadySaved", (report.already_saved as f64).into()),
                ("deleted", (report.deleted as f64).into()),
                ("savedUids", strings(&report.saved_uids).into()),
                ("warnings", strings(&report.warnings).into()),
                ("state", state_to_js(&state)),
            ]))
        })
    }
}
