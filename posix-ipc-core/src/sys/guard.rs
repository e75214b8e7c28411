//! The truncation guard: a SIGBUS handler that keeps a mapping of a segment that another
//! process shrank from killing this one.

use std::ffi::{c_int, c_void};

use super::*;

//
// Touching a page of a shared mapping that lies past the end of its file raises SIGBUS, and any
// process that can open a segment can shrink it (`ftruncate`) while others have it mapped. So
// that no safe access ever dies of it, every `MapRegion` is registered here, and a SIGBUS
// handler replaces a faulting page of a registered region by a private zero page (the access
// then completes, reading zeros or writing into the void) and marks the region: every access
// through the region checks the mark afterwards and reports the truncation as an error. A
// SIGBUS at any other address goes to the handler installed before ours (or the default
// action), so other faults keep their usual effect.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};

/// Most regions the guard tracks at once; a mapping beyond that is refused.
pub(crate) const GUARD_SLOTS: usize = 8192;

pub(super) struct GuardSlot {
    start: AtomicUsize,
    len: AtomicUsize,
    pub(super) truncated: AtomicBool,
}

#[expect(
    clippy::declare_interior_mutable_const,
    reason = "used only as the array-repeat initialiser"
)]
pub(super) const EMPTY_SLOT: GuardSlot = GuardSlot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    truncated: AtomicBool::new(false),
};
pub(super) static GUARD: [GuardSlot; GUARD_SLOTS] = [EMPTY_SLOT; GUARD_SLOTS];
pub(super) static GUARD_PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The SIGBUS action that was in place before ours, for addresses that are not ours.
pub(super) struct PreviousAction(libc::sigaction);
// SAFETY: written once before our handler is installed, read-only afterwards (also from the
// handler); `sigaction` is plain data (a function address, a mask and flags).
unsafe impl Sync for PreviousAction {}
// SAFETY: as above.
unsafe impl Send for PreviousAction {}
pub(super) static PREVIOUS: std::sync::OnceLock<PreviousAction> = std::sync::OnceLock::new();
pub(super) static INSTALL: std::sync::Once = std::sync::Once::new();

pub(super) fn install_guard() {
    INSTALL.call_once(|| {
        GUARD_PAGE.store(
            sysconf(libc::_SC_PAGESIZE).map_or(4096, |p| p as usize),
            AtomicOrdering::Relaxed,
        );
        // SAFETY: `old` and `new` are valid sigaction structs (all-zero is a valid value:
        // SIG_DFL, empty mask, no flags); sigaction reads `new` and writes `old`. The handler
        // only performs async-signal-safe work (atomics, mmap, sigaction, calling the previous
        // handler).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old);
            let _ = PREVIOUS.set(PreviousAction(old));
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(libc::SIGBUS, &new, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_sigbus(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler; `si_addr` is the
    // faulting address for SIGBUS.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if code == libc::BUS_ADRERR {
        for slot in &GUARD {
            let start = slot.start.load(AtomicOrdering::Acquire);
            if start == 0 || addr < start {
                continue;
            }
            if addr - start < slot.len.load(AtomicOrdering::Acquire) {
                let page = GUARD_PAGE.load(AtomicOrdering::Relaxed);
                let at = addr - addr % page;
                // SAFETY: `at` is a page inside a region this process mapped and still owns
                // (registered until just before munmap); replacing it by a private anonymous
                // page changes what later accesses see, never the validity of memory Rust
                // code refers to (all access to regions is by raw copies and atomics on
                // integers, for which zeros are valid values). mmap is async-signal-safe.
                let p = unsafe {
                    libc::mmap(
                        at as *mut c_void,
                        page,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if p != libc::MAP_FAILED {
                    slot.truncated.store(true, AtomicOrdering::Release);
                    return;
                }
                break;
            }
        }
    }
    // Not ours: behave as if we were not here.
    let Some(PreviousAction(prev)) = PREVIOUS.get() else {
        return;
    };
    match prev.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => {
            // SAFETY: restoring the default action is async-signal-safe; returning re-runs the
            // faulting access, which now gets the default action (termination), as it would
            // have without this handler.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            }
        }
        f if prev.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: `f` is the SA_SIGINFO handler that was installed for SIGBUS before ours,
            // called with the arguments the kernel gave us.
            let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { std::mem::transmute(f) };
            f(sig, info, ctx);
        }
        f => {
            // SAFETY: `f` is the plain handler that was installed for SIGBUS before ours.
            let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(f) };
            f(sig);
        }
    }
}

/// Registers `[start, start + len)`; returns its slot, or `None` if every slot is taken.
pub(super) fn guard_register(start: usize, len: usize) -> Option<usize> {
    install_guard();
    for (i, slot) in GUARD.iter().enumerate() {
        if slot.start.load(AtomicOrdering::Relaxed) == 0
            && slot
                .start
                .compare_exchange(
                    0,
                    usize::MAX,
                    AtomicOrdering::AcqRel,
                    AtomicOrdering::Relaxed,
                )
                .is_ok()
        {
            // usize::MAX as the start matches no address while the slot is being filled.
            slot.truncated.store(false, AtomicOrdering::Relaxed);
            slot.len.store(len, AtomicOrdering::Relaxed);
            slot.start.store(start, AtomicOrdering::Release);
            return Some(i);
        }
    }
    None
}

pub(super) fn guard_release(slot: usize) {
    let s = &GUARD[slot];
    s.len.store(0, AtomicOrdering::Relaxed);
    s.start.store(0, AtomicOrdering::Release);
}
