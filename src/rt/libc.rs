//! The C functions the compiler emits calls to (`memcpy`, `memmove`,
//! `memset`, `memcmp`, `bcmp`, `strlen`), which a program without libc must
//! supply itself. Part of the binary only (`main.rs` includes it).
//!
//! Bodies use `rep` string instructions (x86_64) or volatile byte loops, so
//! that LLVM cannot turn them back into calls to themselves. Never inlined:
//! with LTO the compiler would otherwise copy a loop into every place that
//! moves a struct or copies a slice.

use core::ffi::{c_char, c_void};

/// `memcpy`: copies `n` bytes between non-overlapping buffers.
#[unsafe(no_mangle)]
#[inline(never)]
unsafe extern "C" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    // SAFETY: the caller guarantees both ranges are valid for `n` bytes.
    unsafe { memmove(dst, src, n) }
}

/// `memmove`: copies `n` bytes between buffers that may overlap.
#[unsafe(no_mangle)]
#[inline(never)]
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
#[inline(never)]
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
#[inline(never)]
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
#[inline(never)]
unsafe extern "C" fn bcmp(a: *const c_void, b: *const c_void, n: usize) -> i32 {
    // SAFETY: same contract as `memcmp`.
    unsafe { memcmp(a, b, n) }
}

/// `strlen`: the length of a NUL-terminated string (used by `CStr::from_ptr`).
#[unsafe(no_mangle)]
#[inline(never)]
unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees `s` is NUL-terminated.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
