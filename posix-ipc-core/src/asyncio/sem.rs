//! Async semaphore acquire on tokio's blocking pool.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::sync::oneshot;

use super::{object, runtime, timed_out, WAIT_SLICE};
use crate::error::{Error, ErrorKind, Object, ObjectKind, Operation, Result};
use crate::sem::Semaphore;

/// A [`Semaphore`] whose acquire is a future that never blocks the runtime's worker threads.
///
/// A POSIX semaphore has no descriptor for epoll, so a wait that has to sleep runs on tokio's
/// blocking pool: one pool thread per pending acquire, waiting in slices of 100 ms
/// (`sem_clockwait`), plus a thread hand-off per such wait. An acquire that succeeds at once
/// (`sem_trywait`) costs no hand-off. Dropping a pending acquire future never leaks a unit (see
/// the [module docs](crate::asyncio)).
///
/// ```
/// use posix_ipc::{AsyncSemaphore, Semaphore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> posix_ipc::Result<()> {
/// # let name = format!("/doc-asem-{}", std::process::id());
/// let sem = AsyncSemaphore::new(Semaphore::create(&name, 1)?);
/// {
///     let _held = sem.acquire_guard().await?;       // released on drop
///     let err = sem.acquire_timeout(std::time::Duration::from_millis(20)).await.unwrap_err();
///     assert_eq!(err.kind(), posix_ipc::ErrorKind::TimedOut);
/// }
/// sem.acquire().await?;
/// sem.release()?;
/// sem.semaphore().unlink()?;
/// # Ok(())
/// # }
/// ```
pub struct AsyncSemaphore {
    sem: Arc<Semaphore>,
}

/// One unit taken by a pool thread: released when dropped unless [`Unit::keep`] hands it to
/// the caller, so a unit that nobody awaits any more goes back to the semaphore.
struct Unit(Option<Arc<Semaphore>>);

impl Unit {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for Unit {
    fn drop(&mut self) {
        if let Some(sem) = self.0.take() {
            // Cannot fail with Overflow: this unit's own acquire lowered the value.
            let _ = sem.release();
        }
    }
}

impl AsyncSemaphore {
    /// Wraps `sem`. Needs no runtime until an acquire has to wait.
    pub fn new(sem: Semaphore) -> Self {
        AsyncSemaphore { sem: Arc::new(sem) }
    }

    /// Waits until the value is above zero, then decrements it: `sem_trywait` on the task,
    /// then, if the value is zero, `sem_clockwait` on a thread of tokio's blocking pool.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] if it has to wait outside a tokio runtime; errors of
    /// `sem_clockwait` other than a timeout or a signal.
    pub async fn acquire(&self) -> Result<()> {
        match self.sem.try_acquire() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            other => return other,
        }
        let rt = runtime(Operation::Acquire, self.object())?;
        let (tx, rx) = oneshot::channel::<Result<Unit>>();
        let sem = Arc::clone(&self.sem);
        // Detached: it ends within a slice once `rx` is dropped.
        drop(rt.spawn_blocking(move || wait(&sem, tx)));
        match rx.await {
            Ok(Ok(unit)) => {
                unit.keep();
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::new(
                ErrorKind::Other,
                Operation::Acquire,
                self.object(),
                "the waiting thread of tokio's blocking pool ended without an answer; the \
                 runtime is probably shutting down",
            )),
        }
    }

    /// Acquires, waiting at most `timeout` (a tokio timer): [`ErrorKind::TimedOut`] after
    /// that.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<()> {
        match ::tokio::time::timeout(timeout, self.acquire()).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(
                Operation::Acquire,
                self.object(),
                timeout,
                "the semaphore stayed at 0",
            )),
        }
    }

    /// Acquires and returns a guard that releases on drop (the async `with sem:`).
    pub async fn acquire_guard(&self) -> Result<AsyncSemaphoreGuard<'_>> {
        self.acquire().await?;
        Ok(AsyncSemaphoreGuard { sem: self })
    }

    /// Decrements without waiting (`sem_trywait`): [`ErrorKind::WouldBlock`] if the value is 0.
    pub fn try_acquire(&self) -> Result<()> {
        self.sem.try_acquire()
    }

    /// Increments the value (`sem_post`), which never blocks.
    pub fn release(&self) -> Result<()> {
        self.sem.release()
    }

    /// The semaphore.
    pub fn semaphore(&self) -> &Semaphore {
        &self.sem
    }

    fn object(&self) -> Object {
        object(ObjectKind::Semaphore, self.sem.name())
    }
}

/// The pool thread's loop: wait in slices until acquired, failed, or no longer wanted.
fn wait(sem: &Arc<Semaphore>, tx: oneshot::Sender<Result<Unit>>) {
    loop {
        if tx.is_closed() {
            return;
        }
        match sem.acquire_timeout(WAIT_SLICE) {
            Ok(()) => {
                // If the future has gone, `send` hands the unit back and dropping it releases
                // it; if the future goes after the send, the channel drops the unit, which
                // releases it too.
                let _ = tx.send(Ok(Unit(Some(Arc::clone(sem)))));
                return;
            }
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::Interrupted) => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

/// Holds one unit of an [`AsyncSemaphore`]; releases it when dropped.
#[must_use = "the semaphore is released as soon as the guard is dropped"]
pub struct AsyncSemaphoreGuard<'a> {
    sem: &'a AsyncSemaphore,
}

impl AsyncSemaphoreGuard<'_> {
    /// Releases now, reporting an error that `Drop` would have to ignore.
    pub fn release(self) -> Result<()> {
        let sem = self.sem;
        std::mem::forget(self);
        sem.release()
    }
}

impl Drop for AsyncSemaphoreGuard<'_> {
    fn drop(&mut self) {
        // Cannot fail: this guard's own acquire lowered the value by one.
        let _ = self.sem.release();
    }
}

impl fmt::Debug for AsyncSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Async{:?}", self.sem)
    }
}

impl fmt::Debug for AsyncSemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AsyncSemaphoreGuard({:?})", self.sem.sem.name())
    }
}
