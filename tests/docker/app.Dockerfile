# The application image of the end-to-end tests: what examples/Dockerfile's
# final stage produces, assembled from binaries built on this machine (no
# registry is reachable here). FROM scratch: no shell at /bin/sh, so only the
# exec form of HEALTHCHECK can work.
#
# Context (assembled by tests/test_docker.py in a temp dir):
#   busybox        Debian's busybox-static, the app server
#   scratchprobe   the release probe
#   www/healthz    the page the probe asks for
FROM scratch
COPY busybox /bin/busybox
COPY www /www
COPY scratchprobe /scratchprobe
# busybox httpd is the app; PORT picks its port (default 8080). `exec` makes
# httpd PID 1, so SIGSTOP from the host hangs the app itself.
ENTRYPOINT ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p \"${PORT:-8080}\" -h /www"]
HEALTHCHECK --interval=1s --timeout=3s --retries=1 CMD ["/scratchprobe", "http://:8080/healthz"]
