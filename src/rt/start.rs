//! The process entry point, per architecture: no libc, no std. `_start`
//! hands the initial stack to `entry`, which reads argv and envp from it,
//! runs the probe and exits with its status. Part of the binary only
//! (`main.rs` includes it): the library and its tests keep the usual C
//! runtime.

use core::ffi::{CStr, c_char};

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
