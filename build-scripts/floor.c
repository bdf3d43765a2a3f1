/* floor: the least a health check can cost. A static C program that makes
 * the syscalls a check needs and nothing more: no options, no timeout, no
 * name lookup, no IPv6, no sandbox, no parsing beyond a byte compare; a
 * floor to set every probe against, not a probe.
 *
 *   floor http PORT PATH   socket, connect, write a GET, read once (up to
 *                          512 bytes), exit; 0 on "HTTP/1.x 2.."
 *   floor tcp PORT         socket, connect, exit; 0 if it connected
 *   floor grpc PORT        socket, connect, write one grpc.health.v1
 *                          Health/Check in one write (HTTP/2 preface,
 *                          SETTINGS, HEADERS, DATA), read frames until the
 *                          server ends the stream, exit; 0 if the answer
 *                          was SERVING
 *
 * Always 127.0.0.1. Built by build-scripts/bench (musl-gcc -static -O2).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_to(const char *port) {
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)atoi(port)),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) exit(1);
    return fd;
}

static int http(int fd, const char *path) {
    char req[512], buf[512];
    size_t n = strlen(path);
    if (n > 400) return 1;
    memcpy(req, "GET ", 4);
    memcpy(req + 4, path, n);
    static const char rest[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    memcpy(req + 4 + n, rest, sizeof rest - 1);
    n += 4 + sizeof rest - 1;
    if (write(fd, req, n) != (ssize_t)n) return 1;
    ssize_t got = read(fd, buf, sizeof buf);
    return got >= 12 && memcmp(buf, "HTTP/1.", 7) == 0 && buf[9] == '2' ? 0 : 1;
}

/* HPACK: a header as a literal without indexing, new name, no Huffman
 * (RFC 7541 6.2.2); every length here is under 127. */
static size_t put_header(char *at, const char *name, const char *value) {
    size_t n = strlen(name), v = strlen(value);
    at[0] = 0;
    at[1] = (char)n;
    memcpy(at + 2, name, n);
    at[2 + n] = (char)v;
    memcpy(at + 3 + n, value, v);
    return 3 + n + v;
}

static size_t put_frame_head(char *at, size_t len, int type, int flags, int stream) {
    at[0] = (char)(len >> 16);
    at[1] = (char)(len >> 8);
    at[2] = (char)len;
    at[3] = (char)type;
    at[4] = (char)flags;
    at[5] = (char)(stream >> 24);
    at[6] = (char)(stream >> 16);
    at[7] = (char)(stream >> 8);
    at[8] = (char)stream;
    return 9;
}

enum { DATA = 0, HEADERS = 1, SETTINGS = 4, END_STREAM = 1, END_HEADERS = 4 };

static int grpc(int fd) {
    char req[512], buf[4096];
    size_t n = 0;
    memcpy(req, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n += 24;
    n += put_frame_head(req + n, 0, SETTINGS, 0, 0);
    char *headers = req + n;
    n += 9;
    size_t block = 0;
    block += put_header(req + n + block, ":method", "POST");
    block += put_header(req + n + block, ":scheme", "http");
    block += put_header(req + n + block, ":path", "/grpc.health.v1.Health/Check");
    block += put_header(req + n + block, ":authority", "127.0.0.1");
    block += put_header(req + n + block, "content-type", "application/grpc");
    block += put_header(req + n + block, "te", "trailers");
    put_frame_head(headers, block, HEADERS, END_HEADERS, 1);
    n += block;
    /* An empty HealthCheckRequest: not compressed, 0 bytes long. */
    n += put_frame_head(req + n, 5, DATA, END_STREAM, 1);
    memset(req + n, 0, 5);
    n += 5;
    if (write(fd, req, n) != (ssize_t)n) return 1;

    /* Frames until one on stream 1 ends it; SERVING is the message
     * 00 (not compressed) 00000002 (length) 08 01 (status = 1). */
    static const char serving[] = {0, 0, 0, 0, 2, 8, 1};
    size_t have = 0;
    int answer = 1;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - have);
        if (got <= 0) return 1;
        have += (size_t)got;
        size_t at = 0;
        while (have - at >= 9) {
            const unsigned char *f = (const unsigned char *)buf + at;
            size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
            if (have - at < 9 + len) break;
            int stream = (f[5] & 0x7f) << 24 | f[6] << 16 | f[7] << 8 | f[8];
            if (stream == 1 && f[3] == DATA && len == sizeof serving && memcmp(f + 9, serving, len) == 0) answer = 0;
            if (stream == 1 && (f[3] == DATA || f[3] == HEADERS) && (f[4] & END_STREAM)) return answer;
            at += 9 + len;
        }
        if (at == 0 && have == sizeof buf) return 1; /* a frame bigger than the buffer */
        memmove(buf, buf + at, have - at);
        have -= at;
    }
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "http") == 0) return http(connect_to(argv[2]), argv[3]);
    if (argc == 3 && strcmp(argv[1], "tcp") == 0) return connect_to(argv[2]) < 0;
    if (argc == 3 && strcmp(argv[1], "grpc") == 0) return grpc(connect_to(argv[2]));
    return 2;
}
