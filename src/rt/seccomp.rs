//! The self-sandbox: after arguments are parsed and files are read, and
//! before the first socket, the probe sets no-new-privs and installs a
//! seccomp-BPF filter that allows only what a probe does from then on.
//! Everything else kills the process: `execve`, any `open`, sockets that are
//! not AF_INET, AF_INET6 or AF_UNIX streams, writes to anything but stdout
//! and stderr (sockets are written with `sendto`).
//!
//! The filter is shaped for what it costs to install. When a filter is
//! attached, the kernel runs it in an emulator once for every syscall number
//! (about 470 on Linux 6.18, and as many again for the compat arch), to find
//! the numbers it always allows and skip the filter for those later
//! (kernel/seccomp.c, `seccomp_cache_prepare`, since Linux 5.11). That pass
//! follows each number's path through the program, so it costs the sum of
//! the paths, not the program's length: a chain of one compare per allowed
//! syscall, which every refused number walks to its end, took 40 µs to
//! install here, a binary search over the same numbers 24 µs
//! (build-scripts/seccomp-cost measures shapes; docs/bench.md has the
//! figures). So the program checks the arch, then looks the syscall number
//! up by binary search, at most ceil(log2 n) + 1 compares for any number;
//! the search sends `socket` and `write`, the only syscalls whose arguments
//! are checked, to checks placed after it.

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

/// One architecture's syscall numbers: everything of it the filter needs.
pub struct Syscalls {
    /// `AUDIT_ARCH_*`: what the kernel puts in `seccomp_data.arch` for this
    /// architecture's syscalls. Any other value is killed.
    pub audit_arch: u32,
    /// Allowed whatever their arguments.
    pub allowed: &'static [u32],
    /// Allowed on top in the TLS build: getrandom (the key share), setsockopt
    /// (TCP_NODELAY).
    pub tls: &'static [u32],
    /// Allowed for AF_INET, AF_INET6 and AF_UNIX stream sockets only.
    pub socket: u32,
    /// Allowed on stdout and stderr only (sockets are written by sendto).
    pub write: u32,
    /// `seccomp` itself, which installs the filter.
    pub seccomp: usize,
}

/// x86_64's numbers (arch/x86/entry/syscalls/syscall_64.tbl).
pub const X86_64: Syscalls = Syscalls {
    audit_arch: 0xc000_003e,
    allowed: &[
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
    ],
    tls: &[318, 54],
    socket: 41,
    write: 1,
    seccomp: 317,
};

/// aarch64's numbers (include/uapi/asm-generic/unistd.h).
pub const AARCH64: Syscalls = Syscalls {
    audit_arch: 0xc000_00b7,
    allowed: &[
        57,  // close
        79,  // newfstatat
        73,  // ppoll
        203, // connect
        206, // sendto
        207, // recvfrom
        205, // getpeername
        209, // getsockopt
        135, // rt_sigprocmask
        137, // rt_sigtimedwait
        128, // restart_syscall
        94,  // exit_group
    ],
    tls: &[278, 208],
    socket: 198,
    write: 64,
    seccomp: 277,
};

/// The architecture this binary runs on.
#[cfg(target_arch = "x86_64")]
pub const NATIVE: Syscalls = X86_64;
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Syscalls = AARCH64;

// The program, in the order of its parts (`Layout` says where each starts):
//
//   load arch; not this architecture's: kill
//   load nr
//   search: the binary search over `Keys`, found numbers go to allow, or to
//           the argument checks of write and socket; the rest to kill
//   write:  fd 1 or 2, else kill
//   socket: family AF_INET, AF_INET6 or AF_UNIX, type SOCK_STREAM, else kill
//   kill:   return kill
//   allow:  return allow
//
// The kernel's emulation stops at the first load of an argument, so it caches
// exactly the syscalls allowed by number; only socket and write run the
// filter when called.

/// Bound on the numbers one search looks up (a size for const arrays).
const MAX_KEYS: usize = 32;

/// The syscall numbers the search looks up, sorted: the ones allowed by
/// number alone (the TLS build's too), and `socket` and `write`.
struct Keys {
    nr: [u32; MAX_KEYS],
    len: usize,
}

impl Keys {
    const fn of(sys: &Syscalls) -> Keys {
        let mut keys = Keys {
            nr: [0; MAX_KEYS],
            len: 0,
        };
        let mut i = 0;
        while i < sys.allowed.len() {
            keys.insert(sys.allowed[i]);
            i += 1;
        }
        let mut i = 0;
        while cfg!(feature = "tls") && i < sys.tls.len() {
            keys.insert(sys.tls[i]);
            i += 1;
        }
        keys.insert(sys.socket);
        keys.insert(sys.write);
        keys
    }

    /// Inserts `nr` in order; a number given twice is a mistake in a table.
    const fn insert(&mut self, nr: u32) {
        assert!(self.len < MAX_KEYS, "more syscall numbers than MAX_KEYS");
        let mut at = self.len;
        while at > 0 && self.nr[at - 1] > nr {
            self.nr[at] = self.nr[at - 1];
            at -= 1;
        }
        assert!(
            at == 0 || self.nr[at - 1] != nr,
            "a syscall number is listed twice"
        );
        self.nr[at] = nr;
        self.len += 1;
    }

    const fn as_slice(&self) -> &[u32] {
        self.nr.split_at(self.len).0
    }
}

/// Where each part of the program starts.
struct Layout {
    search: usize,
    write: usize,
    socket: usize,
    kill: usize,
    allow: usize,
    len: usize,
}

impl Layout {
    const fn of(sys: &Syscalls) -> Layout {
        let search = 3;
        let write = search + search_len(Keys::of(sys).len);
        let socket = write + 3;
        let kill = socket + 7;
        Layout {
            search,
            write,
            socket,
            kill,
            allow: kill + 1,
            len: kill + 2,
        }
    }

    /// Where the search sends a syscall number it found.
    const fn found(&self, sys: &Syscalls, nr: u32) -> usize {
        if nr == sys.socket {
            self.socket
        } else if nr == sys.write {
            self.write
        } else {
            self.allow
        }
    }
}

/// Instructions in a search over `n` numbers: an equality compare for each,
/// and a split for each but one.
const fn search_len(n: usize) -> usize {
    2 * n - 1
}

/// Length of the filter program for `sys`.
pub const fn len(sys: &Syscalls) -> usize {
    Layout::of(sys).len
}

/// Length of the filter program for this machine.
pub const LEN: usize = len(&NATIVE);

const fn stmt(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump at index `at` to `yes` or `no`. BPF jumps go forward
/// only, by at most 255 instructions: a program that breaks either rule
/// fails to compile.
const fn jump(code: u16, k: u32, at: usize, yes: usize, no: usize) -> Insn {
    assert!(yes > at && no > at, "BPF jumps go forward only");
    assert!(
        yes - at - 1 <= u8::MAX as usize && no - at - 1 <= u8::MAX as usize,
        "BPF jump offset does not fit in a u8"
    );
    Insn {
        code,
        jt: (yes - at - 1) as u8,
        jf: (no - at - 1) as u8,
        k,
    }
}

/// Lays out at `at` a binary search of the accumulator (the syscall number)
/// over the sorted `keys`, and returns where it ends. One key is compared for
/// equality: equal goes to its part of the program, anything else is killed.
/// More are split at the middle key: a JGE on it; below it, the search over
/// the lower half, which the false branch falls through to; then the upper
/// half, where the true branch goes.
const fn search(p: &mut [Insn], at: usize, keys: &[u32], sys: &Syscalls, parts: &Layout) -> usize {
    assert!(!keys.is_empty(), "a search over no numbers");
    if let [nr] = keys {
        p[at] = jump(JEQ_K, *nr, at, parts.found(sys, *nr), parts.kill);
        return at + 1;
    }
    let (lower, upper) = keys.split_at(keys.len() / 2);
    let upper_at = search(p, at + 1, lower, sys, parts);
    p[at] = jump(JGE_K, upper[0], at, upper_at, at + 1);
    search(p, upper_at, upper, sys, parts)
}

/// Builds the filter for `sys` (`LEN` must be `len(sys)`): the arch check,
/// the search over the syscall number, the argument checks of `write` and
/// `socket`, then the two verdicts. Numbers the search does not find are
/// killed, x86_64's x32 numbers (bit 30 set) among them.
pub const fn program<const LEN: usize>(sys: &Syscalls) -> [Insn; LEN] {
    let parts = Layout::of(sys);
    assert!(parts.len == LEN, "LEN is not len(sys)");
    let kill = parts.kill;
    let allow = parts.allow;
    let mut p = [stmt(RET_K, RET_KILL); LEN];
    p[0] = stmt(LD_W_ABS, ARCH);
    p[1] = jump(JEQ_K, sys.audit_arch, 1, 2, kill);
    p[2] = stmt(LD_W_ABS, NR);
    let end = search(&mut p, parts.search, Keys::of(sys).as_slice(), sys, &parts);
    assert!(end == parts.write);
    // write(fd, ...): stdout and stderr only.
    let write = parts.write;
    p[write] = stmt(LD_W_ABS, ARG0);
    p[write + 1] = jump(JEQ_K, 1, write + 1, allow, write + 2);
    p[write + 2] = jump(JEQ_K, 2, write + 2, allow, kill);
    // socket(domain, type, 0): the three families, stream sockets only.
    let socket = parts.socket;
    let ty = socket + 4;
    p[socket] = stmt(LD_W_ABS, ARG0);
    p[socket + 1] = jump(JEQ_K, AF_INET, socket + 1, ty, socket + 2);
    p[socket + 2] = jump(JEQ_K, AF_INET6, socket + 2, ty, socket + 3);
    p[socket + 3] = jump(JEQ_K, AF_UNIX, socket + 3, ty, kill);
    p[ty] = stmt(LD_W_ABS, ARG1);
    p[ty + 1] = stmt(AND_K, !SOCK_FLAGS);
    p[ty + 2] = jump(JEQ_K, SOCK_STREAM, ty + 2, allow, kill);
    p[kill] = stmt(RET_K, RET_KILL);
    p[allow] = stmt(RET_K, RET_ALLOW);
    p
}

/// The filter, built at compile time.
pub static PROGRAM: [Insn; LEN] = program(&NATIVE);

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
        core::arch::asm!("syscall", inlateout("rax") NATIVE.seccomp as isize => ret,
            in("rdi") SECCOMP_SET_MODE_FILTER, in("rsi") 0usize, in("rdx") &prog,
            lateout("rcx") _, lateout("r11") _, options(nostack));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("svc 0", in("x8") NATIVE.seccomp, inlateout("x0") SECCOMP_SET_MODE_FILTER as isize => ret,
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

    const X86_64_PROGRAM: [Insn; len(&X86_64)] = program(&X86_64);
    const AARCH64_PROGRAM: [Insn; len(&AARCH64)] = program(&AARCH64);

    /// Every architecture's filter, with its table.
    fn filters() -> [(&'static str, &'static Syscalls, &'static [Insn]); 2] {
        [
            ("x86_64", &X86_64, &X86_64_PROGRAM),
            ("aarch64", &AARCH64, &AARCH64_PROGRAM),
        ]
    }

    /// `struct seccomp_data` as the kernel fills it (little-endian).
    fn data(nr: u32, arch: u32, args: [u64; 6]) -> [u8; 64] {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        data
    }

    /// A reference interpreter for the few classic-BPF instructions used:
    /// the verdict, and how many instructions it took.
    fn run_counted(prog: &[Insn], nr: u32, arch: u32, args: [u64; 6]) -> (u32, usize) {
        let data = data(nr, arch, args);
        let (mut pc, mut acc) = (0usize, 0u32);
        for steps in 1.. {
            let insn = prog[pc];
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
                RET_K => return (insn.k, steps),
                other => panic!("unknown opcode {other:#x}"),
            }
        }
        unreachable!()
    }

    fn run(prog: &[Insn], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        run_counted(prog, nr, arch, args).0
    }

    /// The policy, said plainly: what the filter must decide. The kernel
    /// takes fds, families and types as 32-bit ints: their low word counts.
    fn policy(sys: &Syscalls, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let tls: &[u32] = if cfg!(feature = "tls") { sys.tls } else { &[] };
        let (arg0, arg1) = (args[0] as u32, args[1] as u32);
        let allowed = arch == sys.audit_arch
            && (sys.allowed.contains(&nr)
                || tls.contains(&nr)
                || (nr == sys.write && (arg0 == 1 || arg0 == 2))
                || (nr == sys.socket
                    && [AF_INET, AF_INET6, AF_UNIX].contains(&arg0)
                    && arg1 & !SOCK_FLAGS == SOCK_STREAM));
        if allowed { RET_ALLOW } else { RET_KILL }
    }

    /// What the kernel learns from the filter when it is attached: whether
    /// `nr` is always allowed, found the way `seccomp_is_const_allow`
    /// (kernel/seccomp.c) finds it, which follows the program only as far as
    /// it loads `nr` and `arch`.
    fn kernel_caches(prog: &[Insn], nr: u32, arch: u32) -> bool {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let insn = prog[pc];
            pc += 1;
            match insn.code {
                LD_W_ABS if insn.k == NR => acc = nr,
                LD_W_ABS if insn.k == ARCH => acc = arch,
                LD_W_ABS => return false, // an argument: not constant
                AND_K => acc &= insn.k,
                JEQ_K => pc += usize::from(if acc == insn.k { insn.jt } else { insn.jf }),
                JGE_K => pc += usize::from(if acc >= insn.k { insn.jt } else { insn.jf }),
                RET_K => return insn.k == RET_ALLOW,
                other => panic!("unknown opcode {other:#x}"),
            }
        }
    }

    /// Argument values worth trying: the ones the checks look for, their
    /// neighbours, and high words that must not count.
    const ARGS: [u64; 12] = [
        0,
        1,
        2,
        3,
        5,
        10,
        16,
        17,
        0o4000 | 0o2000000 | 1,
        0o4000 | 0o2000000 | 2,
        0x1_0000_0001,
        u64::MAX,
    ];

    #[test]
    fn the_native_program_is_the_native_architectures() {
        let native = if cfg!(target_arch = "x86_64") {
            &X86_64_PROGRAM[..]
        } else {
            &AARCH64_PROGRAM[..]
        };
        assert_eq!(&PROGRAM[..], native);
    }

    #[test]
    fn every_syscall_number_gets_the_policys_verdict() {
        for (name, sys, prog) in filters() {
            for nr in 0..1024 {
                for (a0, a1) in [(0, 0), (1, 0), (2, 0), (AF_INET.into(), 1)] {
                    let args = [a0, a1, 0, 0, 0, 0];
                    let want = policy(sys, nr, sys.audit_arch, args);
                    assert_eq!(
                        run(prog, nr, sys.audit_arch, args),
                        want,
                        "{name}: syscall {nr} {args:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn argument_checks_follow_the_policy() {
        for (name, sys, prog) in filters() {
            for nr in [sys.socket, sys.write] {
                for a0 in ARGS {
                    for a1 in ARGS {
                        let args = [a0, a1, 0, 0, 0, 0];
                        let want = policy(sys, nr, sys.audit_arch, args);
                        assert_eq!(
                            run(prog, nr, sys.audit_arch, args),
                            want,
                            "{name}: syscall {nr} {args:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn allows_what_a_probe_does() {
        for (name, sys, prog) in filters() {
            for &nr in sys.allowed {
                assert_eq!(
                    run(prog, nr, sys.audit_arch, [0; 6]),
                    RET_ALLOW,
                    "{name}: syscall {nr}"
                );
            }
            for &nr in sys.tls {
                let want = if cfg!(feature = "tls") {
                    RET_ALLOW
                } else {
                    RET_KILL
                };
                assert_eq!(
                    run(prog, nr, sys.audit_arch, [0; 6]),
                    want,
                    "{name}: syscall {nr}"
                );
            }
            for family in [AF_INET, AF_INET6, AF_UNIX] {
                for ty in [SOCK_STREAM | SOCK_FLAGS, SOCK_STREAM] {
                    let args = [family.into(), ty.into(), 0, 0, 0, 0];
                    assert_eq!(
                        run(prog, sys.socket, sys.audit_arch, args),
                        RET_ALLOW,
                        "{name}: socket {args:?}"
                    );
                }
            }
            for fd in [1, 2] {
                assert_eq!(
                    run(prog, sys.write, sys.audit_arch, [fd, 0, 0, 0, 0, 0]),
                    RET_ALLOW,
                    "{name}: write({fd})"
                );
            }
        }
    }

    #[test]
    fn kills_everything_else() {
        // execve, openat, open (aarch64 has no open)
        for (name, sys, prog, refused) in [
            ("x86_64", &X86_64, &X86_64_PROGRAM[..], [59, 257, 2]),
            ("aarch64", &AARCH64, &AARCH64_PROGRAM[..], [221, 56, 56]),
        ] {
            let arch = sys.audit_arch;
            for nr in refused {
                assert_eq!(
                    run(prog, nr, arch, [0; 6]),
                    RET_KILL,
                    "{name}: syscall {nr}"
                );
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
                let args = [family.into(), ty.into(), 0, 0, 0, 0];
                assert_eq!(
                    run(prog, sys.socket, arch, args),
                    RET_KILL,
                    "{name}: socket {args:?}"
                );
            }
            for fd in [0, 3] {
                assert_eq!(
                    run(prog, sys.write, arch, [fd, 0, 0, 0, 0, 0]),
                    RET_KILL,
                    "{name}: write({fd})"
                );
            }
            // Another architecture's numbering is refused whole: i386 and arm
            // (the compat arches), and each other.
            for other in [
                0x4000_0003,
                0x4000_0028,
                X86_64.audit_arch,
                AARCH64.audit_arch,
            ] {
                if other == arch {
                    continue;
                }
                for nr in 0..1024 {
                    assert_eq!(
                        run(prog, nr, other, [1, 1, 0, 0, 0, 0]),
                        RET_KILL,
                        "{name}: arch {other:#x} {nr}"
                    );
                }
            }
        }
        // x32 calls: x86_64's arch, bit 30 set in the number.
        for &nr in X86_64.allowed.iter().chain([&X86_64.socket, &X86_64.write]) {
            let args = [1, 1, 0, 0, 0, 0];
            assert_eq!(
                run(&X86_64_PROGRAM, 0x4000_0000 | nr, X86_64.audit_arch, args),
                RET_KILL,
                "x32 {nr}"
            );
        }
    }

    #[test]
    fn the_kernel_caches_exactly_the_syscalls_allowed_by_number() {
        // Those skip the filter when called; socket and write run it.
        for (name, sys, prog) in filters() {
            for nr in 0..1024 {
                let by_number = policy(sys, nr, sys.audit_arch, [0; 6]) == RET_ALLOW;
                assert_eq!(
                    kernel_caches(prog, nr, sys.audit_arch),
                    by_number,
                    "{name}: syscall {nr}"
                );
            }
        }
    }

    #[test]
    fn every_number_takes_a_search_path() {
        // Load arch, compare it, load nr, at most ceil(log2 n) + 1 compares,
        // return: what installing the filter costs per number.
        for (name, sys, prog) in filters() {
            let keys = Keys::of(sys).len;
            let most = 3 + keys.next_power_of_two().ilog2() as usize + 1 + 1;
            for nr in 0..1024 {
                if nr == sys.socket || nr == sys.write {
                    continue;
                }
                let (_, steps) = run_counted(prog, nr, sys.audit_arch, [0; 6]);
                assert!(
                    steps <= most,
                    "{name}: syscall {nr} takes {steps} instructions, more than {most}"
                );
            }
        }
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        for (name, _, prog) in filters() {
            for (at, insn) in prog.iter().enumerate() {
                if insn.code == JEQ_K || insn.code == JGE_K {
                    for offset in [insn.jt, insn.jf] {
                        assert!(
                            at + 1 + usize::from(offset) < prog.len(),
                            "{name}: jump at {at}"
                        );
                    }
                }
            }
            assert_eq!(
                prog.last().map(|i| i.code),
                Some(RET_K),
                "{name}: the program ends with a return"
            );
        }
    }
}
