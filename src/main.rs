//! The entry point: no libc, no std. `_start` hands the initial stack to
//! `entry`, which reads argv and envp from it, runs the probe and exits.
#![no_std]
#![no_main]

use core::ffi::{CStr, c_char, c_void};

/// The process entry point: passes the initial stack pointer (argc, argv,
/// NULL, envp, NULL, auxv) to [`entry`], keeping the ABI's 16-byte alignment.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("mov rdi, rsp", "and rsp, -16", "call {entry}", "ud2", entry = sym entry)
}

/// The process entry point, as above, for aarch64.
#[cfg(target_arch = "aarch64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!("mov x0, sp", "bl {entry}", "brk #0", entry = sym entry)
}

/// A NULL-terminated array of C strings on the initial stack (argv or envp).
#[derive(Clone)]
struct CStrings(*const *const c_char);

impl Iterator for CStrings {
    type Item = &'static [u8];

    fn next(&mut self) -> Option<&'static [u8]> {
        // SAFETY: the kernel put a NULL-terminated array of NUL-terminated
        // strings here, and it lives as long as the process.
        unsafe {
            let ptr = *self.0;
            if ptr.is_null() {
                return None;
            }
            self.0 = self.0.add(1);
            Some(CStr::from_ptr(ptr).to_bytes())
        }
    }
}

extern "C" fn entry(stack: *const usize) -> ! {
    // SAFETY: `stack` is the initial stack pointer: argc, then argc argv
    // pointers and a NULL, then envp. The arguments start after the program
    // name, if there is one (argc may be 0).
    let (args, envp) = unsafe {
        let argc = *stack;
        let argv = stack.add(1) as *const *const c_char;
        (argv.add(argc.min(1)), argv.add(argc + 1))
    };
    scratchprobe::rt::signals::exit_1_on_trap();
    let status = scratchprobe::run::run(CStrings(args), CStrings(envp));
    rustix::runtime_448b8ad740e2a26f::exit_group(status)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Unreachable by design (the parsers are checked not to panic), but if it
    // ever happens the probe still fails with 1, never a signal. (Builds with
    // `-Cpanic=immediate-abort` trap instead: see `signals::exit_1_on_trap`.)
    rustix::runtime_448b8ad740e2a26f::exit_group(1)
}

// With no libc, the compiler's calls to memcpy and friends land here, with C's
// signatures (`void *`). Bodies use `rep` string instructions (x86_64) or
// volatile byte loops (aarch64) so that LLVM cannot turn them back into calls
// to themselves.

/// `memcpy`: copies `n` bytes between non-overlapping buffers.
#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
    unsafe { memmove(dst, src, n) }
}

/// `memmove`: copies `n` bytes between buffers that may overlap.
#[unsafe(no_mangle)]
unsafe extern "C" fn memmove(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    let (to, from) = (dst.cast::<u8>(), src.cast::<u8>());
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes;
    // copying backwards when `dst` is above `src` handles overlap.
    unsafe {
        if (to as usize) <= (from as usize) {
            for i in 0..n {
                to.add(i).write_volatile(from.add(i).read());
            }
        } else {
            for i in (0..n).rev() {
                to.add(i).write_volatile(from.add(i).read());
            }
        }
    }
    dst
}

/// `memset`: fills `n` bytes with `c`.
#[unsafe(no_mangle)]
unsafe extern "C" fn memset(dst: *mut c_void, c: i32, n: usize) -> *mut c_void {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller guarantees `dst` is valid for `n` bytes; `rep stosb`
    // writes exactly those.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _, in("al") c as u8, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: the caller guarantees `dst` is valid for `n` bytes.
    unsafe {
        for i in 0..n {
            dst.cast::<u8>().add(i).write_volatile(c as u8);
        }
    }
    dst
}

/// `memcmp`: compares `n` bytes.
#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> i32 {
    let (a, b) = (a.cast::<u8>(), b.cast::<u8>());
    for i in 0..n {
        // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// `bcmp`: like `memcmp`, only equality matters.
#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> i32 {
    // SAFETY: same contract as `memcmp`.
    unsafe { memcmp(a, b, n) }
}

/// `strlen`: the length of a NUL-terminated string (used by `CStr::from_ptr`).
#[unsafe(no_mangle)]
unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees `s` is NUL-terminated.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
