//! Errors crossing into JavaScript: every [`Error`] becomes a real `Error` object with a stable
//! `code`; a value a caller's own callback throws goes back to that caller unchanged.

use std::cell::RefCell;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::interop::{list_entry_to_js, object, uid_entry_to_js};
use pop3_wasm::{Detail, ListingEntries};
use pop3_wasm::{Error, ErrorKind, Result};

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
/// (the [`ErrorKind`] name), the server's `responseCode` and `serverText` when present,
/// `transient`, `deletionsUncertain`, `loginDelay` and a machine-readable `detail`.
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
    set("loginDelay", error.login_delay().map(JsValue::from).unwrap_or(JsValue::NULL));
    set("detail", error.detail().map(detail_to_js).unwrap_or(JsValue::NULL));
    js.into()
}

/// The machine-readable detail of an error as a plain object with a `type`.
fn detail_to_js(detail: &Detail) -> JsValue {
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
        // `Detail` may grow; a kind this face does not know yet is left out rather than guessed.
        _ => JsValue::NULL,
    }
}

/// A JavaScript error of `kind` with `message`.
pub(crate) fn js_error(kind: ErrorKind, message: &str) -> JsValue {
    to_js_error(&Error::new(kind, message))
}

/// Where a call keeps the value its caller's callback threw, to reject with it unchanged.
#[derive(Default)]
pub(crate) struct Thrown(RefCell<Option<JsValue>>);

impl Thrown {
    /// Keeps `value` (the first one, if several callbacks threw) and returns the Rust error
    /// that stops the call.
    pub(crate) fn keep(&self, value: JsValue) -> Error {
        let mut slot = self.0.borrow_mut();
        if slot.is_none() {
            *slot = Some(value);
        }
        Error::usage("the callback threw")
    }

    /// The value a callback threw during the call, if any.
    pub(crate) fn take(&self) -> Option<JsValue> {
        self.0.borrow_mut().take()
    }

    /// Whether a callback threw (a later step should stop).
    pub(crate) fn is_set(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Calls a JavaScript callback and, if it returns a promise (or any thenable), waits for
    /// it: back-pressure, and the moment the caller says data is durable. What it throws or
    /// rejects with is kept for the caller.
    pub(crate) async fn call(&self, f: &Function, args: &[JsValue]) -> Result<JsValue> {
        self.call_on(&JsValue::NULL, f, args).await
    }

    /// [`Thrown::call`] with `this` (a sink object's method).
    pub(crate) async fn call_on(&self, this: &JsValue, f: &Function, args: &[JsValue]) -> Result<JsValue> {
        let args: Array = args.iter().collect();
        let result = f.apply(this, &args).map_err(|e| self.keep(e))?;
        // Only an object can be a thenable (and Reflect.get throws on anything else, which is
        // expensive: a sink's synchronous methods return undefined).
        let thenable = result.has_type::<Promise>()
            || (result.is_object() && Reflect::get(&result, &"then".into()).is_ok_and(|t| t.is_function()));
        if thenable {
            return JsFuture::from(Promise::resolve(&result)).await.map_err(|e| self.keep(e));
        }
        Ok(result)
    }

    /// Calls a callback that must not wait (progress reports); what it throws stops the call at
    /// its next step.
    pub(crate) fn call_now(&self, f: &Function, args: &[JsValue]) {
        let args: Array = args.iter().collect();
        if let Err(e) = f.apply(&JsValue::NULL, &args) {
            self.keep(e);
        }
    }
}
