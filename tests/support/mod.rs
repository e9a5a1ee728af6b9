//! Shared test support: a scripted server for misbehaviour, and real servers (Dovecot,
//! websockify) started through `tests/support/mailstack.py`.
#![allow(dead_code)]

pub mod fake;
pub mod fault_proxy;
pub mod stack;
