//! Conversions between Rust values and the plain JavaScript objects the API hands out.

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use pop3_wasm::engine::{Language, State};
use pop3_wasm::proto::{Capabilities, Expire, MsgNum};
use pop3_wasm::transport::TlsInfo;
use pop3_wasm::{Error, Result};

/// Builds a plain object from key/value pairs.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let obj = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&obj, &(*k).into(), v);
    }
    obj.into()
}

/// A string, or `null`.
pub(crate) fn opt_str(value: Option<&str>) -> JsValue {
    value.map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

/// An array of strings.
pub(crate) fn strings(items: &[String]) -> JsValue {
    items.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into()
}

/// A copy of `bytes` in JavaScript memory.
pub(crate) fn u8array(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

pub(crate) fn capabilities_to_js(caps: &Capabilities) -> JsValue {
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

pub(crate) fn tls_to_js(info: Option<TlsInfo>) -> JsValue {
    match info {
        None => JsValue::NULL,
        Some(i) => object(&[
            ("version", i.version.into()),
            ("cipher", i.cipher.into()),
            ("terminatedBy", i.terminated_by.into()),
        ]),
    }
}

pub(crate) fn state_name(state: State) -> &'static str {
    match state {
        State::Greeting => "greeting",
        State::Authorization => "authorization",
        State::Transaction => "transaction",
        State::Update => "update",
        State::Closed => "closed",
    }
}

pub(crate) fn msg_num(n: f64) -> Result<MsgNum> {
    if n.fract() != 0.0 || !(1.0..=u32::MAX as f64).contains(&n) {
        return Err(Error::usage("message numbers are integers from 1"));
    }
    MsgNum::new(n as u32)
}

pub(crate) fn list_entry_to_js(msg: MsgNum, size: u64) -> JsValue {
    object(&[("msg", msg.get().into()), ("size", (size as f64).into())])
}

pub(crate) fn uid_entry_to_js(msg: MsgNum, uid: &str) -> JsValue {
    object(&[("msg", msg.get().into()), ("uid", uid.into())])
}

pub(crate) fn languages_to_js(languages: &[Language]) -> JsValue {
    languages
        .iter()
        .map(|l| object(&[("tag", l.tag.as_str().into()), ("description", l.description.as_str().into())]))
        .collect::<Array>()
        .into()
}

/// A message put together in JavaScript memory, growing by doubling when a size hint was low:
/// wasm memory (which never shrinks) stays small even for a huge message.
pub(crate) struct JsBuffer {
    array: Uint8Array,
    len: u32,
}

impl JsBuffer {
    pub(crate) fn with_capacity(capacity: u32) -> JsBuffer {
        JsBuffer { array: Uint8Array::new_with_length(capacity.max(4096)), len: 0 }
    }

    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
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

    pub(crate) fn finish(self) -> Uint8Array {
        if self.len == self.array.length() {
            self.array
        } else {
            self.array.slice(0, self.len)
        }
    }
}
