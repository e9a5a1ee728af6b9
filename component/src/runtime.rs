//! Running the async client on WASI 0.2, where sockets block: a clock of armed timers, the
//! [`Timer`] the client takes, a small executor, and coroutines that pause a running call
//! between two calls of the component's caller.
//!
//! How timeouts work without an event loop. The client bounds every wait by racing the
//! transport's future against a [`Timer`] sleep (`select`, the transport polled first). Here
//! the transport blocks in the socket, so a sleep would never get its turn; instead:
//! - every sleep registers its deadline with the shared [`Clock`] when it is created, and
//!   removes it when dropped;
//! - before it blocks, the transport sets the socket's read (or write) timeout to the time
//!   until the earliest deadline ([`Clock::time_left`]);
//! - when that timeout fires, the transport yields once ([`yield_now`]): the `select` then
//!   polls the sleeps, and the one that is due wins (the reply timeout, the command deadline,
//!   the close timeout, the TLS handshake's limit). If none is due (the deadline of a sleep
//!   nobody polls right now), the executor polls again and the transport waits once more.
//!
//! So no socket wait outlasts the earliest deadline, and nothing spins: the executor sleeps
//! only when every future waits for a timer, until the earliest one ahead.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use pop3_wasm::transport::Timer;

/// The deadlines of the sleeps alive in this instance.
#[derive(Debug, Default)]
pub struct Clock {
    deadlines: RefCell<BTreeSet<(Instant, u64)>>,
    next_id: Cell<u64>,
}

impl Clock {
    /// A new clock, shared by a session's timer, transport and executor.
    pub fn new() -> Rc<Clock> {
        Rc::new(Clock::default())
    }

    fn add(&self, at: Instant) -> (Instant, u64) {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.deadlines.borrow_mut().insert((at, id));
        (at, id)
    }

    fn remove(&self, key: &(Instant, u64)) {
        self.deadlines.borrow_mut().remove(key);
    }

    /// How long a socket may wait: the time until the earliest deadline, at least a
    /// millisecond (a socket timeout of zero means none), so a deadline that has passed (a
    /// command deadline that ran out while the caller held a message) is seen as soon as the
    /// socket has nothing to read; `None` when no timer is armed.
    pub fn time_left(&self) -> Option<Duration> {
        let (at, _) = *self.deadlines.borrow().iter().next()?;
        Some(at.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)))
    }

    /// How long the executor may sleep when every future waits for a timer: until the
    /// earliest deadline still ahead (one that has passed belongs to a sleep nobody polls now,
    /// or it would have completed); `None` when none is ahead.
    fn time_to_next(&self) -> Option<Duration> {
        let now = Instant::now();
        let deadlines = self.deadlines.borrow();
        let (at, _) = deadlines.iter().find(|(at, _)| *at > now)?;
        Some(*at - now)
    }
}

/// The [`Timer`] the client takes: sleeps whose deadlines the [`Clock`] knows.
#[derive(Debug, Clone)]
pub struct ClockTimer(pub Rc<Clock>);

impl Timer for ClockTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        let key = self.0.add(Instant::now() + duration);
        Box::pin(Sleep { clock: self.0.clone(), key })
    }
}

/// A sleep: ready once its deadline has passed. It never asks to be woken: the executor
/// sleeps until the earliest deadline when nothing else can make progress.
struct Sleep {
    clock: Rc<Clock>,
    key: (Instant, u64),
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.key.0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.clock.remove(&self.key);
    }
}

/// Gives the other branches of a `select` a turn: pending once, and asks to be polled again.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// How [`run`] stopped.
enum Outcome<T> {
    /// The future completed.
    Done(T),
    /// `paused` said so: a coroutine handed something out.
    Paused,
    /// Nothing can make progress: no wake-up was asked for and no deadline is ahead.
    Stalled,
}

/// Polls `future` until it completes, or `paused` returns true after a poll, or it stalls.
fn run<T>(clock: &Clock, future: Pin<&mut dyn Future<Output = T>>, paused: &dyn Fn() -> bool) -> Outcome<T> {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = future;
    loop {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return Outcome::Done(value);
        }
        if paused() {
            return Outcome::Paused;
        }
        if flag.0.load(Ordering::SeqCst) {
            continue;
        }
        match clock.time_to_next() {
            Some(wait) => std::thread::sleep(wait),
            None => return Outcome::Stalled,
        }
    }
}

/// The error of a future that can never complete (a bug, not a condition of the network).
pub fn stalled() -> pop3_wasm::Error {
    pop3_wasm::Error::new(pop3_wasm::ErrorKind::Protocol, "internal: the call waits for nothing that can happen")
}

/// Runs `future` to completion on this thread.
pub fn block_on<T>(clock: &Clock, future: impl Future<Output = pop3_wasm::Result<T>>) -> pop3_wasm::Result<T> {
    let future = std::pin::pin!(future);
    match run(clock, future, &|| false) {
        Outcome::Done(value) => value,
        Outcome::Paused | Outcome::Stalled => Err(stalled()),
    }
}

/// Where a coroutine hands a value out and gets its caller's answer.
pub struct Channel<Y, A> {
    out: RefCell<Option<Y>>,
    answer: RefCell<Option<A>>,
}

impl<Y, A> Channel<Y, A> {
    /// Hands `value` to the caller of [`Coroutine::resume`] and waits for the answer given to
    /// the next `resume`.
    pub async fn hand_out(&self, value: Y) -> A {
        *self.out.borrow_mut() = Some(value);
        std::future::poll_fn(|_| match self.answer.borrow_mut().take() {
            Some(answer) => Poll::Ready(answer),
            None => Poll::Pending,
        })
        .await
    }
}

/// What [`Coroutine::resume`] got.
pub enum Resumed<Y, R> {
    /// The coroutine handed this out and waits for an answer.
    Yielded(Y),
    /// The coroutine finished with this.
    Finished(R),
}

/// A future run in steps: it hands values out with [`Channel::hand_out`] and is resumed with
/// an answer to each. It keeps whatever it borrows (a session's client, a message stream)
/// between the steps; dropping it drops them.
pub struct Coroutine<Y, A, R> {
    clock: Rc<Clock>,
    channel: Rc<Channel<Y, A>>,
    future: Option<Pin<Box<dyn Future<Output = R>>>>,
    started: bool,
}

impl<Y, A, R> Coroutine<Y, A, R> {
    /// A coroutine running the future `body` makes from its channel. Nothing runs until the
    /// first [`Coroutine::resume`].
    pub fn new<F>(clock: Rc<Clock>, body: impl FnOnce(Rc<Channel<Y, A>>) -> F) -> Self
    where
        F: Future<Output = R> + 'static,
    {
        let channel = Rc::new(Channel { out: RefCell::new(None), answer: RefCell::new(None) });
        let future: Pin<Box<dyn Future<Output = R>>> = Box::pin(body(channel.clone()));
        Coroutine { clock, channel, future: Some(future), started: false }
    }

    /// Passes `answer` to the pending hand-out (the first call starts the coroutine, and its
    /// answer is dropped: nothing was handed out yet) and runs the coroutine to its next
    /// hand-out or its end. `None` once it has finished; when it stalls, `stalled` makes its
    /// result.
    pub fn resume(&mut self, answer: Option<A>, stalled: impl FnOnce() -> R) -> Option<Resumed<Y, R>> {
        let future = self.future.as_mut()?;
        *self.channel.answer.borrow_mut() = if self.started { answer } else { None };
        self.started = true;
        let channel = &self.channel;
        let outcome = run(&self.clock, future.as_mut(), &|| channel.out.borrow().is_some());
        match outcome {
            Outcome::Paused => Some(Resumed::Yielded(self.channel.out.borrow_mut().take().expect("paused on a value"))),
            Outcome::Done(result) => {
                self.future = None;
                Some(Resumed::Finished(result))
            }
            Outcome::Stalled => {
                self.future = None;
                Some(Resumed::Finished(stalled()))
            }
        }
    }
}
