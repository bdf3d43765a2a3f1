//! The self-sandbox: after arguments are parsed and files are read, and
//! before the first socket, the probe sets no-new-privs and installs a
//! seccomp-BPF filter that allows only what a probe does from then on.
//! Everything else kills the process: `execve`, any `open`, sockets that are
//! not AF_INET, AF_INET6 or AF_UNIX streams, writes to anything but stdout
//! and stderr (sockets are written with `sendto`).

/// One classic-BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset if true.
    pub jt: u8,
    /// Jump offset if false.
    pub jf: u8,
    /// Operand.
    pub k: u32,
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL: u32 = 0x8000_0000;
/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;

// Offsets in `struct seccomp_data`: nr, arch, then args[0..6] at 16 + 8*i.
const NR: u32 = 0;
const ARCH: u32 = 4;
const ARG0: u32 = 16;
const ARG1: u32 = 24;

const AF_UNIX: u32 = 1;
const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const SOCK_STREAM: u32 = 1;
/// `SOCK_NONBLOCK | SOCK_CLOEXEC`, allowed on top of the type.
const SOCK_FLAGS: u32 = 0o4000 | 0o2000000;

/// This machine's syscall numbers: the plainly allowed ones, then `socket`
/// and `write`, which are allowed for some arguments only.
#[cfg(target_arch = "x86_64")]
mod nr {
    pub const AUDIT_ARCH: u32 = 0xc000_003e;
    /// x32 syscalls carry bit 30; they and everything above are refused.
    pub const FIRST_REFUSED: u32 = 0x4000_0000;
    pub const ALLOWED: [u32; 12] = [
        3,   // close
        262, // newfstatat (why a Unix socket path refused)
        271, // ppoll (what rustix's poll calls)
        42,  // connect
        44,  // sendto
        45,  // recvfrom
        52,  // getpeername
        55,  // getsockopt
        14,  // rt_sigprocmask (--idle)
        128, // rt_sigtimedwait (--idle)
        219, // restart_syscall (poll resumed after SIGSTOP)
        231, // exit_group
    ];
    /// Allowed on top in the TLS build: getrandom (the key share), setsockopt
    /// (TCP_NODELAY).
    pub const TLS: [u32; 2] = [318, 54];
    pub const SOCKET: u32 = 41;
    pub const WRITE: u32 = 1;
    pub const SECCOMP: usize = 317;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const AUDIT_ARCH: u32 = 0xc000_00b7;
    pub const FIRST_REFUSED: u32 = 0x4000_0000;
    pub const ALLOWED: [u32; 12] = [
        57,  // close
        79,  // newfstatat (why a Unix socket path refused)
        73,  // ppoll
        203, // connect
        206, // sendto
        207, // recvfrom
        205, // getpeername
        209, // getsockopt
        135, // rt_sigprocmask (--idle)
        137, // rt_sigtimedwait (--idle)
        128, // restart_syscall
        94,  // exit_group
    ];
    pub const TLS: [u32; 2] = [278, 208];
    pub const SOCKET: u32 = 198;
    pub const WRITE: u32 = 64;
    pub const SECCOMP: usize = 277;
}

/// How many of `nr::TLS` this build allows: all in the TLS build, else none.
const TLS_EXTRA: usize = if cfg!(feature = "tls") {
    nr::TLS.len()
} else {
    0
};

/// The syscalls allowed by number alone: `nr::ALLOWED`, and `nr::TLS` in the
/// TLS build.
const ALLOWED: [u32; nr::ALLOWED.len() + TLS_EXTRA] = {
    let mut all = [0; nr::ALLOWED.len() + TLS_EXTRA];
    let mut i = 0;
    while i < all.len() {
        all[i] = if i < nr::ALLOWED.len() {
            nr::ALLOWED[i]
        } else {
            nr::TLS[i - nr::ALLOWED.len()]
        };
        i += 1;
    }
    all
};

/// Length of the filter program.
pub const LEN: usize = 18 + ALLOWED.len();

const fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump at index `at` to `yes` or `no` (forward only, as BPF
/// requires).
const fn jump(code: u16, k: u32, at: usize, yes: usize, no: usize) -> Insn {
    Insn {
        code,
        jt: (yes - at - 1) as u8,
        jf: (no - at - 1) as u8,
        k,
    }
}

/// Builds the filter: arch check, allowed syscall numbers, the argument
/// checks for `write` and `socket`, then the two verdicts.
pub const fn program() -> [Insn; LEN] {
    let n = ALLOWED.len();
    let write = 6 + n;
    let socket = 9 + n;
    let kill = 16 + n;
    let allow = 17 + n;
    let mut p = [stmt(RET_K, RET_KILL); LEN];
    p[0] = stmt(LD_W_ABS, ARCH);
    p[1] = jump(JEQ_K, nr::AUDIT_ARCH, 1, 2, kill);
    p[2] = stmt(LD_W_ABS, NR);
    p[3] = jump(JGE_K, nr::FIRST_REFUSED, 3, kill, 4);
    let mut i = 0;
    while i < n {
        p[4 + i] = jump(JEQ_K, ALLOWED[i], 4 + i, allow, 5 + i);
        i += 1;
    }
    p[4 + n] = jump(JEQ_K, nr::SOCKET, 4 + n, socket, 5 + n);
    p[5 + n] = jump(JEQ_K, nr::WRITE, 5 + n, write, kill);
    // write(fd, ...): stdout and stderr only; sockets are written by sendto.
    p[write] = stmt(LD_W_ABS, ARG0);
    p[write + 1] = jump(JEQ_K, 1, write + 1, allow, write + 2);
    p[write + 2] = jump(JEQ_K, 2, write + 2, allow, kill);
    // socket(domain, type, 0): the three families, stream sockets only.
    p[socket] = stmt(LD_W_ABS, ARG0);
    p[socket + 1] = jump(JEQ_K, AF_INET, socket + 1, socket + 4, socket + 2);
    p[socket + 2] = jump(JEQ_K, AF_INET6, socket + 2, socket + 4, socket + 3);
    p[socket + 3] = jump(JEQ_K, AF_UNIX, socket + 3, socket + 4, kill);
    p[socket + 4] = stmt(LD_W_ABS, ARG1);
    p[socket + 5] = stmt(AND_K, !SOCK_FLAGS);
    p[socket + 6] = jump(JEQ_K, SOCK_STREAM, socket + 6, allow, kill);
    p[kill] = stmt(RET_K, RET_KILL);
    p[allow] = stmt(RET_K, RET_ALLOW);
    p
}

/// The filter, built at compile time.
pub static PROGRAM: [Insn; LEN] = program();

/// `struct sock_fprog`.
#[repr(C)]
struct Fprog {
    len: u16,
    filter: *const Insn,
}

/// Sets no-new-privs and installs [`PROGRAM`] with [`seccomp(2)`]
/// `SECCOMP_SET_MODE_FILTER`. On error the kernel's errno is returned and the
/// process goes on unfiltered (old kernels, sandboxes that forbid it).
///
/// [`seccomp(2)`]: https://man7.org/linux/man-pages/man2/seccomp.2.html
pub fn install() -> Result<(), rustix::io::Errno> {
    rustix::thread::set_no_new_privs(true)?;
    let prog = Fprog {
        len: LEN as u16,
        filter: PROGRAM.as_ptr(),
    };
    const SECCOMP_SET_MODE_FILTER: usize = 1;
    let ret: isize;
    // SAFETY: rustix has no seccomp wrapper. The syscall reads `prog` and the
    // static program it points to, both valid for the call, and changes no
    // memory of ours.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("syscall", inlateout("rax") nr::SECCOMP as isize => ret,
            in("rdi") SECCOMP_SET_MODE_FILTER, in("rsi") 0usize, in("rdx") &prog,
            lateout("rcx") _, lateout("r11") _, options(nostack));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("svc 0", in("x8") nr::SECCOMP, inlateout("x0") SECCOMP_SET_MODE_FILTER as isize => ret,
            in("x1") 0usize, in("x2") &prog, options(nostack));
    }
    if ret < 0 {
        return Err(rustix::io::Errno::from_raw_os_error(-ret as i32));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference interpreter for the few classic-BPF instructions used.
    fn run(nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let insn = PROGRAM[pc];
            pc += 1;
            match insn.code {
                LD_W_ABS => {
                    let k = insn.k as usize;
                    acc = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                AND_K => acc &= insn.k,
                JEQ_K | JGE_K => {
                    let taken = if insn.code == JEQ_K {
                        acc == insn.k
                    } else {
                        acc >= insn.k
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                RET_K => return insn.k,
                other => panic!("unknown opcode {other:#x}"),
            }
        }
    }

    const ARCH: u32 = nr::AUDIT_ARCH;

    #[test]
    fn allows_what_a_probe_does() {
        for &n in &ALLOWED {
            assert_eq!(run(n, ARCH, [0; 6]), RET_ALLOW, "syscall {n}");
        }
        for family in [AF_INET, AF_INET6, AF_UNIX] {
            let ty = u64::from(SOCK_STREAM | SOCK_FLAGS);
            assert_eq!(
                run(nr::SOCKET, ARCH, [family.into(), ty, 0, 0, 0, 0]),
                RET_ALLOW
            );
            assert_eq!(
                run(nr::SOCKET, ARCH, [family.into(), 1, 0, 0, 0, 0]),
                RET_ALLOW
            );
        }
        assert_eq!(run(nr::WRITE, ARCH, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(run(nr::WRITE, ARCH, [2, 0, 0, 0, 0, 0]), RET_ALLOW);
    }

    #[test]
    fn kills_everything_else() {
        let (execve, openat, open) = if cfg!(target_arch = "x86_64") {
            (59, 257, 2)
        } else {
            (221, 56, 56)
        };
        for n in [execve, openat, open] {
            assert_eq!(run(n, ARCH, [0; 6]), RET_KILL, "syscall {n}");
        }
        // Raw, packet and netlink sockets; datagram sockets of allowed families.
        for (family, ty) in [
            (17u32, 3u32),
            (16, 3),
            (AF_INET, 2),
            (AF_INET, 3),
            (AF_UNIX, 2),
            (AF_INET6, 5),
        ] {
            assert_eq!(
                run(nr::SOCKET, ARCH, [family.into(), ty.into(), 0, 0, 0, 0]),
                RET_KILL
            );
        }
        assert_eq!(run(nr::WRITE, ARCH, [3, 0, 0, 0, 0, 0]), RET_KILL);
        assert_eq!(run(nr::WRITE, ARCH, [0, 0, 0, 0, 0, 0]), RET_KILL);
        // Another architecture's numbering is refused whole.
        assert_eq!(run(ALLOWED[0], 0x4000_0003, [0; 6]), RET_KILL);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(run(0x4000_0000 | ALLOWED[0], ARCH, [0; 6]), RET_KILL);
        }
    }

    #[test]
    fn every_syscall_number_gets_a_verdict() {
        for n in 0..600 {
            let verdict = run(n, ARCH, [0; 6]);
            assert!(verdict == RET_ALLOW || verdict == RET_KILL);
        }
    }
}
