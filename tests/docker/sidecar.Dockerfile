# A probe-only image for the sidecar pattern: nothing but the probe, whose main
# process idles until SIGTERM (and exits 0 on it, as PID 1), so that
# `docker-compose down` does not wait out the 10 s stop timeout.
FROM scratch
COPY scratchprobe /scratchprobe
ENTRYPOINT ["/scratchprobe", "--idle"]
