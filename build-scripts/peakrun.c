/* peakrun: runs commands round-robin and measures each run.
 *
 *   peakrun [-m] ROUNDS CMD1 ARGS... -- CMD2 ARGS... [-- ...]
 *
 * Each round runs every command once, starting with a different command each
 * round (round r starts at command r mod K). Each run gets /dev/null as stdin,
 * stdout and stderr. One line per run on stdout:
 *
 *   ROUND INDEX WALL_NS CPU_US STATUS HWM_KB
 *
 * WALL_NS: fork to reaped exit, CLOCK_MONOTONIC. CPU_US: user + system time
 * from wait4's rusage. STATUS: the exit code, or 128+signal. HWM_KB: with -m,
 * the child's VmHWM read from /proc/PID/status at its ptrace exit stop
 * (PTRACE_O_TRACEEXIT: the address space still exists there), because
 * ru_maxrss is coarse and can read 0 for tiny static programs; -1 without -m.
 * The ptrace stops add time, so -m runs are for memory only.
 *
 * Built by build-scripts/bench with gcc into target/bench/.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long vmhwm_kb(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, "VmHWM:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

static int run(char **argv, int trace, long long *wall_ns, long long *cpu_us, long *hwm) {
    struct timespec t0, t1;
    struct rusage ru;
    int status;
    *hwm = -1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) { perror("peakrun: fork"); exit(2); }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0); dup2(null, 1); dup2(null, 2);
        if (null > 2) close(null);
        if (trace && ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    for (;;) {
        if (wait4(pid, &status, 0, &ru) < 0) {
            if (errno == EINTR) continue;
            perror("peakrun: wait4");
            exit(2);
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) break;
        if (!WIFSTOPPED(status)) continue;
        int sig = WSTOPSIG(status), deliver = 0;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
            *hwm = vmhwm_kb(pid);
        } else if (sig == SIGTRAP && *hwm == -1) {
            /* the stop after execve: watch for the exit from here on */
            ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL);
        } else {
            deliver = sig; /* a signal of the child's own: pass it on */
        }
        ptrace(PTRACE_CONT, pid, 0, deliver);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *wall_ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    *cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    int trace = 0, i = 1;
    if (i < argc && strcmp(argv[i], "-m") == 0) { trace = 1; i++; }
    if (argc - i < 2) {
        fprintf(stderr, "usage: peakrun [-m] ROUNDS CMD ARGS... [-- CMD ARGS...]...\n");
        return 2;
    }
    long rounds = strtol(argv[i++], NULL, 10);
    char **cmds[256];
    int k = 0;
    cmds[k++] = &argv[i];
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            argv[i] = NULL;
            if (i + 1 < argc && k < 256) cmds[k++] = &argv[i + 1];
        }
    }
    for (long r = 0; r < rounds; r++) {
        for (int j = 0; j < k; j++) {
            int c = (int)((r + j) % k);
            long long wall, cpu;
            long hwm;
            int st = run(cmds[c], trace, &wall, &cpu, &hwm);
            printf("%ld %d %lld %lld %d %ld\n", r, c, wall, cpu, st, hwm);
        }
    }
    return 0;
}
