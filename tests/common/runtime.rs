//! The tokio runtime of the async tests (only they have tokio: `mod runtime` with
//! `#[path = "common/runtime.rs"]`, apart from `common`, which other crates' tests share).

/// Runs `fut` on a tokio runtime with `workers` worker threads (0: the current-thread runtime,
/// where a wait that blocked the thread would block every task), failing instead of hanging
/// after `limit`.
pub fn run_async<F>(workers: usize, limit: std::time::Duration, fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    }
    .enable_all()
    .build()
    .expect("build a tokio runtime");
    rt.block_on(async move {
        tokio::time::timeout(limit, fut)
            .await
            .expect("the async test did not finish in time (a wait blocked the runtime?)");
    });
}
