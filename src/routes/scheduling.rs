//! Ordering work on a worker so that answers leave together.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets the requests that are ready on this worker take their turn before this one answers.
///
/// A busy verify endpoint spends most of each request in one RSA verification and then
/// answers at once, one packet per request, while its clients sit idle between answers: every
/// answer then wakes an idle CPU, and on a VM that wake-up (an inter-processor interrupt, paid
/// inside the sender's `send`) costs about a quarter of the verification (`bench/README.md`).
/// Answering after the other ready requests have verified sends the answers back to back, so
/// one wake-up serves many: verify went from about 31,000 to 34,000-35,000 requests/s with 16
/// or 64 clients on one core. The price is at very few clients: with 4, every request in
/// flight is answered in one burst and the worker then waits for the next ones, about 6 % fewer
/// requests/s; with one, no difference (`bench/README.md`). The task goes straight to the back
/// of the worker's queue (`tokio::task::yield_now` holds it until the runtime has polled for
/// I/O, tokio#5223, and measured no better); alone on the worker, it is polled again at once.
pub fn yield_to_ready_requests() -> impl Future<Output = ()> {
    YieldOnce { yielded: false }
}

struct YieldOnce {
    yielded: bool,
}

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        context.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    #[test]
    fn ready_requests_all_take_their_step_before_any_answers() {
        let events = Rc::new(RefCell::new(Vec::new()));
        actix_web::rt::System::new().block_on({
            let events = events.clone();
            async move {
                let requests: Vec<_> = ["a", "b", "c"]
                    .into_iter()
                    .map(|name| {
                        let events = events.clone();
                        actix_web::rt::spawn(async move {
                            events.borrow_mut().push(format!("{name} verified"));
                            yield_to_ready_requests().await;
                            events.borrow_mut().push(format!("{name} answered"));
                        })
                    })
                    .collect();
                for request in requests {
                    request.await.unwrap();
                }
            }
        });
        assert_eq!(
            *events.borrow(),
            [
                "a verified",
                "b verified",
                "c verified",
                "a answered",
                "b answered",
                "c answered"
            ]
        );
    }

    #[test]
    fn it_asks_to_run_again_at_once_and_then_finishes() {
        struct CountingWaker(AtomicUsize);
        impl Wake for CountingWaker {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut context = Context::from_waker(&waker);
        let mut step = std::pin::pin!(yield_to_ready_requests());
        assert_eq!(step.as_mut().poll(&mut context), Poll::Pending);
        // Woken before returning Pending: the scheduler re-queues it without waiting for I/O.
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(step.as_mut().poll(&mut context), Poll::Ready(()));
    }
}
