//! A first-in, first-out async lock: calls on one JavaScript client run one at a time, in the
//! order they were made, instead of failing with "recursive use of an object".

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    held: Cell<bool>,
    waiting: RefCell<VecDeque<(u64, Option<Waker>)>>,
    next_ticket: Cell<u64>,
}

/// The lock. Cloning gives another handle to the same lock.
#[derive(Clone, Default)]
pub struct FifoLock {
    state: Rc<State>,
}

/// Held while a call runs; the next waiter is woken when it is dropped.
pub struct FifoGuard {
    state: Rc<State>,
}

impl FifoLock {
    /// Waits for every earlier caller to finish.
    pub fn lock(&self) -> impl Future<Output = FifoGuard> {
        let ticket = self.state.next_ticket.get();
        self.state.next_ticket.set(ticket + 1);
        self.state.waiting.borrow_mut().push_back((ticket, None));
        Acquire { state: self.state.clone(), ticket, acquired: false }
    }

    /// Number of calls running or waiting.
    pub fn queued(&self) -> usize {
        self.state.waiting.borrow().len() + usize::from(self.state.held.get())
    }
}

struct Acquire {
    state: Rc<State>,
    ticket: u64,
    acquired: bool,
}

impl Future for Acquire {
    type Output = FifoGuard;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<FifoGuard> {
        let state = &self.state;
        let mut waiting = state.waiting.borrow_mut();
        let first = waiting.front().map(|(t, _)| *t) == Some(self.ticket);
        if first && !state.held.get() {
            waiting.pop_front();
            state.held.set(true);
            drop(waiting);
            self.acquired = true;
            return Poll::Ready(FifoGuard { state: self.state.clone() });
        }
        if let Some(entry) = waiting.iter_mut().find(|(t, _)| *t == self.ticket) {
            entry.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        if !self.acquired {
            // A caller that gave up waiting leaves the line; wake whoever is first now.
            let mut waiting = self.state.waiting.borrow_mut();
            waiting.retain(|(t, _)| *t != self.ticket);
            if !self.state.held.get() {
                if let Some((_, Some(waker))) = waiting.front() {
                    waker.wake_by_ref();
                }
            }
        }
    }
}

impl Drop for FifoGuard {
    fn drop(&mut self) {
        self.state.held.set(false);
        if let Some((_, Some(waker))) = self.state.waiting.borrow().front() {
            waker.wake_by_ref();
        }
    }
}
