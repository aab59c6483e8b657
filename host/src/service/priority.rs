//! Scheduling priority of the background threads.
//!
//! On a small machine the ingest worker and the publisher can keep every core busy. They run at
//! a lower priority than the HTTP threads, so a query preempts them and its latency stays low
//! under ingest. Ingest uses the time that queries leave.

/// Nice value of the ingest and publisher threads: 10 gives them about a tenth of the CPU
/// weight of a default thread (nice 0) when both want the same core.
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`BACKGROUND_NICE`].
///
/// On Linux a nice value applies to one thread. Elsewhere, or when the call fails, the thread
/// keeps its priority and a debug line gives the reason: the service works either way.
pub(crate) fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take no pointers; they act on the calling thread.
        let result = unsafe {
            let thread = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, thread as libc::id_t, BACKGROUND_NICE)
        };
        if result != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "could not lower the thread priority");
        }
    }
}
