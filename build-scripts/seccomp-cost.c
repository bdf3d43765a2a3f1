/* seccomp-cost: what a seccomp filter costs to install and to run, by the
 * shape of the filter (x86_64).
 *
 *   seccomp-cost [-n ROUNDS] [-s SYSCALLS] [-l]
 *
 * Why the shape matters: when a filter is attached, the kernel works out
 * which syscall numbers the filter always allows, so that it can skip the
 * filter for them later (kernel/seccomp.c, seccomp_cache_prepare since Linux
 * 5.11). It does so by emulating the classic-BPF program once per syscall
 * number, for the native arch and again for the compat arch (i386 on x86_64),
 * about 470 numbers each; the emulation follows a number's path until a
 * return, or until an instruction it does not model (any load but `nr` and
 * `arch`, any ALU op but AND, ...), where it gives up and leaves the number
 * uncached. So the attach-time work is the sum over all numbers of the
 * length of each one's path, not the length of the program. This program
 * measures that, and counts the emulated instructions of each shape by the
 * kernel's rules (the `emulated` column) to set beside the times.
 *
 * Each round forks one child per shape, in an order rotated each round (the
 * machine is shared: interleaving spreads its noise over every shape alike).
 * The child sets no-new-privs, installs its shape's filter, then calls
 * close(-1) SYSCALLS times (default 100), and exits. Medians over ROUNDS
 * (default 500) of:
 *   install  the seccomp(2) call alone, timed in the child (CLOCK_MONOTONIC
 *            through the vDSO: no syscall, the filter sees nothing);
 *   close    one close(-1) after the install: the run cost of one syscall
 *            the filter allows by its number (close is allowed in every shape);
 *   cpu      the child's user + system time from wait4: fork to exit;
 *   wall     fork to reaped exit, seen from the parent.
 * `-l` lists each shape's instructions and stops.
 *
 * Built by hand (gcc -O2 -o target/bench/seccomp-cost build-scripts/seccomp-cost.c);
 * docs/bench.md has the figures measured with it.
 */
#define _GNU_SOURCE
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "seccomp-cost knows x86_64's syscall numbers only"
#endif

/* The number of syscall numbers the kernel's cache covers per arch
 * (NR_syscalls, IA32_NR_syscalls): about 470 on Linux 6.18. Only the
 * `emulated` column depends on it. */
#define NATIVE_NR 470
#define COMPAT_NR 470

#define MAX_LEN 512
#define MAX_SHAPES 32

/* scratchprobe's allow-list (src/seccomp.rs, default build, x86_64): allowed
 * by number, then socket and write, allowed for some arguments. */
static const unsigned ALLOWED[] = {3, 262, 271, 42, 44, 45, 52, 55, 14, 128, 219, 231};
#define N_ALLOWED (sizeof ALLOWED / sizeof ALLOWED[0])
#define NR_SOCKET 41
#define NR_WRITE 1

struct shape {
    const char *name;
    struct sock_filter prog[MAX_LEN];
    int len;
};

static struct shape shapes[MAX_SHAPES];
static int n_shapes;

static struct shape *new_shape(const char *name) {
    struct shape *s = &shapes[n_shapes++];
    s->name = name;
    return s;
}

static void emit(struct shape *s, unsigned short code, unsigned char jt, unsigned char jf, unsigned k) {
    if (s->len == MAX_LEN) { fprintf(stderr, "seccomp-cost: %s is too long\n", s->name); exit(2); }
    s->prog[s->len++] = (struct sock_filter){code, jt, jf, k};
}

/* A jump from the instruction about to be emitted to two absolute targets. */
static void jump(struct shape *s, unsigned short code, unsigned k, int yes, int no) {
    int at = s->len, t = yes - at - 1, f = no - at - 1;
    if (t < 0 || t > 255 || f < 0 || f > 255) { fprintf(stderr, "seccomp-cost: %s: jump out of range\n", s->name); exit(2); }
    emit(s, code, t, f, k);
}

#define LD_ABS (BPF_LD | BPF_W | BPF_ABS)
#define JEQ (BPF_JMP | BPF_JEQ | BPF_K)
#define JGE (BPF_JMP | BPF_JGE | BPF_K)
#define RET (BPF_RET | BPF_K)
#define NR offsetof(struct seccomp_data, nr)
#define ARCH offsetof(struct seccomp_data, arch)
#define ARG0 offsetof(struct seccomp_data, args[0])
#define ARG1 offsetof(struct seccomp_data, args[1])

/* The argument checks scratchprobe makes, at `at`: write to fds 1 and 2;
 * socket of AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM with NONBLOCK|CLOEXEC.
 * 10 instructions: write at `at`, socket at `at + 3`. */
static void argument_checks(struct shape *s, int kill, int allow) {
    int w = s->len, so = w + 3;
    emit(s, LD_ABS, 0, 0, ARG0);
    jump(s, JEQ, 1, allow, w + 2);
    jump(s, JEQ, 2, allow, kill);
    emit(s, LD_ABS, 0, 0, ARG0);
    jump(s, JEQ, 2, so + 4, so + 2);
    jump(s, JEQ, 10, so + 4, so + 3);
    jump(s, JEQ, 1, so + 4, kill);
    emit(s, LD_ABS, 0, 0, ARG1);
    emit(s, BPF_ALU | BPF_AND | BPF_K, 0, 0, ~(04000u | 02000000u));
    jump(s, JEQ, 1, allow, kill);
}

/* The filter as scratchprobe had it: arch check, x32 check, one compare per
 * allowed number, then socket and write, their argument checks, the verdicts.
 * `allow_first` puts a return-allow before it all (then nothing is filtered:
 * the same program, with every number's path one instruction long). */
static void chain(struct shape *s, int allow_first) {
    int base = allow_first, n = N_ALLOWED;
    int write = base + 6 + n, socket = write + 3, kill = socket + 7, allow = kill + 1;
    if (allow_first) emit(s, RET, 0, 0, SECCOMP_RET_ALLOW);
    emit(s, LD_ABS, 0, 0, ARCH);
    jump(s, JEQ, AUDIT_ARCH_X86_64, base + 2, kill);
    emit(s, LD_ABS, 0, 0, NR);
    jump(s, JGE, 0x40000000, kill, base + 4);
    for (int i = 0; i < n; i++) jump(s, JEQ, ALLOWED[i], allow, s->len + 1);
    jump(s, JEQ, NR_SOCKET, socket, s->len + 1);
    jump(s, JEQ, NR_WRITE, write, kill);
    argument_checks(s, kill, allow);
    emit(s, RET, 0, 0, SECCOMP_RET_KILL_PROCESS);
    emit(s, RET, 0, 0, SECCOMP_RET_ALLOW);
}

/* The sorted list a search runs over: every allowed number, socket and write
 * among them, each with where it goes. */
static unsigned keys[N_ALLOWED + 2];
static int n_keys;

static int cmp_unsigned(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static void sort_keys(void) {
    n_keys = 0;
    for (size_t i = 0; i < N_ALLOWED; i++) keys[n_keys++] = ALLOWED[i];
    keys[n_keys++] = NR_SOCKET;
    keys[n_keys++] = NR_WRITE;
    qsort(keys, n_keys, sizeof keys[0], cmp_unsigned);
}

/* Instructions a search over `n` keys takes: one compare per key, one
 * split per key but the first. */
static int search_len(int n) { return 2 * n - 1; }

/* A balanced binary search over keys[lo..hi): one key left is compared
 * for equality; more are split at the middle key with a JGE whose false
 * branch (the lower half) follows at once. */
static void search(struct shape *s, int lo, int hi, int kill, int allow, int write, int socket) {
    if (hi - lo == 1) {
        unsigned k = keys[lo];
        jump(s, JEQ, k, k == NR_WRITE ? write : k == NR_SOCKET ? socket : allow, kill);
        return;
    }
    int mid = lo + (hi - lo) / 2, at = s->len;
    jump(s, JGE, keys[mid], at + 1 + search_len(mid - lo), at + 1);
    search(s, lo, mid, kill, allow, write, socket);
    search(s, mid, hi, kill, allow, write, socket);
}

/* Where a tree shape loads an argument it ignores, to stop the kernel's
 * emulation (which follows loads of `nr` and `arch` only): nowhere, before
 * anything (every number stops at once), or after the arch check (a number
 * of the compat arch is still killed by it in 3 instructions). Either way
 * nothing is cached and the filter runs on every syscall. */
enum uncache { CACHED, UNCACHED_FIRST, UNCACHED_AFTER_ARCH };

/* The same allow-list as a binary search over the syscall number. */
static void tree(struct shape *s, enum uncache uncache) {
    sort_keys();
    int head = uncache == CACHED ? 3 : 4;
    int write = head + search_len(n_keys), socket = write + 3, kill = socket + 7, allow = kill + 1;
    if (uncache == UNCACHED_FIRST) emit(s, LD_ABS, 0, 0, ARG0);
    emit(s, LD_ABS, 0, 0, ARCH);
    jump(s, JEQ, AUDIT_ARCH_X86_64, s->len + 1, kill);
    if (uncache == UNCACHED_AFTER_ARCH) emit(s, LD_ABS, 0, 0, ARG0);
    emit(s, LD_ABS, 0, 0, NR);
    search(s, 0, n_keys, kill, allow, write, socket);
    argument_checks(s, kill, allow);
    emit(s, RET, 0, 0, SECCOMP_RET_KILL_PROCESS);
    emit(s, RET, 0, 0, SECCOMP_RET_ALLOW);
}

/* Length and path apart: `walk` puts k compares on every number's path
 * (none matches a real syscall), `skip` jumps over the same k compares.
 * Both allow close and exit_group and refuse everything else with ERRNO
 * (not a kill: the child must live to report); 6 + k instructions each. */
static void walk_or_skip(struct shape *s, int k, int skip) {
    int refuse = 4 + k, allow = refuse + 1;
    emit(s, LD_ABS, 0, 0, NR);
    jump(s, JEQ, __NR_exit_group, allow, 2);
    jump(s, JEQ, __NR_close, allow, 3);
    emit(s, BPF_JMP | BPF_JA, 0, 0, skip ? k : 0);
    for (int i = 0; i < k; i++) jump(s, JEQ, 100000 + i, allow, s->len + 1);
    emit(s, RET, 0, 0, SECCOMP_RET_ERRNO | 1);
    emit(s, RET, 0, 0, SECCOMP_RET_ALLOW);
}

/* -- the kernel's emulation, counted ------------------------------------------ */

/* Instructions seccomp_is_const_allow steps through for one number, and
 * whether it found the number always allowed. */
static int emulate(const struct shape *s, unsigned nr, unsigned arch, int *allowed) {
    unsigned a = 0;
    *allowed = 0;
    for (int pc = 0, steps = 1; pc < s->len; pc++, steps++) {
        const struct sock_filter *in = &s->prog[pc];
        switch (in->code) {
        case LD_ABS:
            if (in->k == NR) a = nr;
            else if (in->k == ARCH) a = arch;
            else return steps;
            break;
        case RET: *allowed = in->k == SECCOMP_RET_ALLOW; return steps;
        case BPF_JMP | BPF_JA: pc += in->k; break;
        case JEQ: pc += a == in->k ? in->jt : in->jf; break;
        case JGE: pc += a >= in->k ? in->jt : in->jf; break;
        case BPF_ALU | BPF_AND | BPF_K: a &= in->k; break;
        default: return steps;
        }
    }
    return 0;
}

static void count_emulated(const struct shape *s, long *steps, int *cached) {
    *steps = 0;
    *cached = 0;
    for (unsigned nr = 0; nr < NATIVE_NR + COMPAT_NR; nr++) {
        int allowed;
        *steps += nr < NATIVE_NR ? emulate(s, nr, AUDIT_ARCH_X86_64, &allowed)
                                 : emulate(s, nr - NATIVE_NR, AUDIT_ARCH_I386, &allowed);
        *cached += allowed;
    }
}

/* -- measuring ---------------------------------------------------------------- */

struct sample { double install_us, close_ns, cpu_us, wall_us; };

static long long ns_between(struct timespec a, struct timespec b) {
    return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

/* One child: no-new-privs, the filter (none for a NULL shape), `syscalls`
 * close(-1) calls; the child's own timings come back through `shared`. */
static struct sample run_one(const struct shape *s, int syscalls, volatile long long *shared) {
    struct timespec t0, t1;
    struct rusage ru;
    int status;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        struct timespec a, b, c;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (s) {
            struct sock_fprog fprog = {(unsigned short)s->len, (struct sock_filter *)s->prog};
            if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) _exit(4);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        for (int i = 0; i < syscalls; i++) syscall(__NR_close, -1);
        clock_gettime(CLOCK_MONOTONIC, &c);
        shared[0] = ns_between(a, b);
        shared[1] = ns_between(b, c);
        syscall(__NR_exit_group, 0);
    }
    if (wait4(pid, &status, 0, &ru) != pid) { perror("wait4"); exit(2); }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "seccomp-cost: %s: child status %#x\n", s ? s->name : "none", status);
        exit(2);
    }
    return (struct sample){
        shared[0] / 1e3,
        syscalls ? (double)shared[1] / syscalls : 0,
        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
        ns_between(t0, t1) / 1e3,
    };
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void list(const struct shape *s) {
    printf("%s (%d instructions)\n", s->name, s->len);
    for (int i = 0; i < s->len; i++)
        printf("  %3d: code %#06x jt %3u jf %3u k %#010x\n", i, s->prog[i].code, s->prog[i].jt, s->prog[i].jf, s->prog[i].k);
}

int main(int argc, char **argv) {
    int rounds = 500, syscalls = 100, listing = 0, opt;
    while ((opt = getopt(argc, argv, "n:s:l")) != -1) {
        if (opt == 'n') rounds = atoi(optarg);
        else if (opt == 's') syscalls = atoi(optarg);
        else if (opt == 'l') listing = 1;
        else { fprintf(stderr, "usage: seccomp-cost [-n ROUNDS] [-s SYSCALLS] [-l]\n"); return 2; }
    }
    if (rounds < 1) rounds = 1;

    emit(new_shape("return-allow"), RET, 0, 0, SECCOMP_RET_ALLOW);
    chain(new_shape("chain (before)"), 0);
    chain(new_shape("allow + chain"), 1);
    tree(new_shape("search tree"), CACHED);
    tree(new_shape("tree, uncached"), UNCACHED_FIRST);
    tree(new_shape("tree, uncached after arch"), UNCACHED_AFTER_ARCH);
    static const int ks[] = {16, 128, 240};
    static char names[2 * sizeof ks / sizeof ks[0]][32];
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        snprintf(names[2 * i], sizeof names[0], "walk %d", ks[i]);
        walk_or_skip(new_shape(names[2 * i]), ks[i], 0);
        snprintf(names[2 * i + 1], sizeof names[0], "skip %d", ks[i]);
        walk_or_skip(new_shape(names[2 * i + 1]), ks[i], 1);
    }
    if (listing) {
        for (int i = 0; i < n_shapes; i++) list(&shapes[i]);
        return 0;
    }

    int k = n_shapes + 1; /* index n_shapes: no filter at all */
    struct sample *samples = calloc((size_t)rounds * k, sizeof *samples);
    volatile long long *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!samples || shared == MAP_FAILED) { perror("seccomp-cost"); return 2; }
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < k; j++) {
            int c = (r + j) % k;
            samples[(size_t)c * rounds + r] = run_one(c < n_shapes ? &shapes[c] : NULL, syscalls, shared);
        }

    printf("%d rounds, interleaved; medians. install: the seccomp(2) call; close: one close(-1)\n"
           "after it; cpu: the child's user+system time; wall: fork to reaped exit.\n"
           "emulated: instructions the kernel's cache emulation steps through (%d native + %d compat\n"
           "numbers); cached: numbers it finds always allowed.\n\n",
           rounds, NATIVE_NR, COMPAT_NR);
    printf("%-26s %6s %9s %7s %11s %9s %8s %8s\n", "shape", "length", "emulated", "cached", "install us", "close ns",
           "cpu us", "wall us");
    double *v = malloc(rounds * sizeof *v);
    for (int c = 0; c < k; c++) {
        const struct shape *s = c < n_shapes ? &shapes[c] : NULL;
        long steps = 0;
        int cached = NATIVE_NR + COMPAT_NR;
        if (s) count_emulated(s, &steps, &cached);
        double m[4];
        for (int f = 0; f < 4; f++) {
            for (int r = 0; r < rounds; r++) {
                struct sample *x = &samples[(size_t)c * rounds + r];
                v[r] = f == 0 ? x->install_us : f == 1 ? x->close_ns : f == 2 ? x->cpu_us : x->wall_us;
            }
            m[f] = median(v, rounds);
        }
        printf("%-26s %6d %9ld %7d %11.1f %9.0f %8.0f %8.0f\n", s ? s->name : "no filter", s ? s->len : 0, steps,
               cached, m[0], m[1], m[2], m[3]);
    }
    return 0;
}
