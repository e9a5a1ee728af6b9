//! The options objects of the JavaScript calls: one object per call, read here with the checks
//! and messages every call shares. Their TypeScript types are declared below, so the generated
//! `.d.ts` of the module says what each call takes.

use std::time::Duration;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use pop3_wasm::client::ClientConfig;
use pop3_wasm::{Error, Result};

#[wasm_bindgen(typescript_custom_section)]
const OPTION_TYPES: &'static str = r#"
/** What Session.connect() takes (see the package's ConnectOptions for the meaning of each). */
export interface SessionConnectOptions {
  url?: string; protocols?: string[]; stream?: ByteStream;
  tls?: 'none' | 'implicit' | 'starttls'; tlsProvider?: 'wasm' | 'host';
  serverName?: string; ca?: string | string[]; caOnly?: boolean; pin?: string;
  replyTimeoutMs?: number; commandTimeoutMs?: number; connectTimeoutMs?: number;
  maxLineBytes?: number; maxMessageBytes?: number; pipelining?: boolean; window?: number;
  signal?: AbortSignal;
}
/** Every Session call takes its AbortSignal in its options. */
export interface SessionCallOptions { signal?: AbortSignal }
export interface SessionLoginOptions extends SessionCallOptions {
  user: string; secret: string; mechanism?: string; allowCleartext?: boolean; token?: boolean;
}
export interface SessionMessageOptions extends SessionCallOptions {
  msg: number; lines?: number;
  onProgress?: (p: { received: number; expected?: number }) => void;
  onChunk?: (chunk: Uint8Array) => unknown;
}
export interface SessionManyOptions extends SessionCallOptions {
  msgs: number[]; lines?: number;
  onMessage?: (msg: number, bytes: Uint8Array | null, error: Error | null) => unknown;
}
export interface SessionSyncOptions extends SessionCallOptions {
  state: SyncState; retention?: string; maxMessages?: number; recordEvery?: number; nowMs?: number;
  sink: {
    begin(message: { uid: string; size: number | null }): unknown;
    write(chunk: Uint8Array): unknown;
    commit(): unknown;
    abort?(): unknown;
    flush?(): unknown;
  };
  record?(batch: { entries: Array<{ uid: string; savedAt: number; size: number }>; journal: string }): unknown;
  saveState(): unknown;
  onProgress?: (p: { messagesDone: number; messagesTotal: number; bytesDone: number; bytesTotal: number }) => void;
}
"#;

/// A JavaScript options object (or `undefined`), read field by field.
pub(crate) struct Options<'a>(pub(crate) &'a JsValue);

impl Options<'_> {
    fn get(&self, name: &str) -> Option<JsValue> {
        if !self.0.is_object() {
            return None;
        }
        let value = Reflect::get(self.0, &name.into()).unwrap_or(JsValue::UNDEFINED);
        (!value.is_undefined() && !value.is_null()).then_some(value)
    }

    /// Any value, or `undefined` when absent.
    pub(crate) fn value(&self, name: &str) -> JsValue {
        self.get(name).unwrap_or(JsValue::UNDEFINED)
    }

    /// A non-negative finite number.
    pub(crate) fn number(&self, name: &str) -> Result<Option<f64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= 0.0 && n.is_finite() => Ok(Some(n)),
                _ => Err(Error::usage(format!("option {name} must be a non-negative number"))),
            },
        }
    }

    /// A whole number from 0.
    pub(crate) fn whole(&self, name: &str) -> Result<Option<u64>> {
        match self.number(name)? {
            Some(n) if n.fract() == 0.0 && n <= 9_007_199_254_740_991.0 => Ok(Some(n as u64)),
            Some(_) => Err(Error::usage(format!("option {name} must be a whole number"))),
            None => Ok(None),
        }
    }

    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| Error::usage(format!("option {name} must be a boolean"))),
        }
    }

    pub(crate) fn string(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.as_string().map(Some).ok_or_else(|| Error::usage(format!("option {name} must be a string"))),
        }
    }

    pub(crate) fn required_string(&self, name: &str) -> Result<String> {
        self.string(name)?.ok_or_else(|| Error::usage(format!("option {name} is required")))
    }

    pub(crate) fn function(&self, name: &str) -> Result<Option<Function>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                v.dyn_into::<Function>().map(Some).map_err(|_| Error::usage(format!("{name} must be a function")))
            }
        }
    }

    /// An array of message numbers.
    pub(crate) fn numbers(&self, name: &str) -> Result<Vec<f64>> {
        let value = self.get(name).ok_or_else(|| Error::usage(format!("option {name} is required")))?;
        if !Array::is_array(&value) {
            return Err(Error::usage(format!("{name} must be an array of message numbers")));
        }
        Array::from(&value)
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| Error::usage(format!("{name} must be an array of message numbers"))))
            .collect()
    }

    /// A time in milliseconds, 0 meaning no limit.
    pub(crate) fn limit_ms(&self, name: &str) -> Result<Option<Option<Duration>>> {
        Ok(self.number(name)?.map(|ms| (ms > 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))))
    }
}

/// The client settings from the connect options.
pub(crate) fn client_config(options: &Options<'_>) -> Result<ClientConfig> {
    let mut config = ClientConfig::default();
    if let Some(limit) = options.limit_ms("replyTimeoutMs")? {
        config.reply_timeout = limit;
    }
    if let Some(limit) = options.limit_ms("commandTimeoutMs")? {
        config.command_deadline = limit;
    }
    if let Some(v) = options.number("maxLineBytes")? {
        config.engine.limits.max_line = (v as usize).max(512);
    }
    if let Some(v) = options.number("maxMessageBytes")? {
        config.engine.limits.max_message = v as u64;
    }
    if let Some(v) = options.boolean("pipelining")? {
        config.engine.pipelining = v;
    }
    if let Some(v) = options.number("window")? {
        config.engine.max_in_flight = (v as usize).max(1);
    }
    Ok(config)
}
