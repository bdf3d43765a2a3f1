"""Python's http.server (HTTP/1.0) on a loopback address, port 0.

    python3 httpserver.py HOST DIR LOG

Prints the port the kernel picked on one line, then serves DIR until killed,
appending one line per request to LOG (`"GET /healthz HTTP/1.1" 200 -`).
"""

import functools
import http.server
import socket
import sys


class Logged(http.server.SimpleHTTPRequestHandler):
    log_path = ""

    def log_message(self, format, *args):
        with open(self.log_path, "a") as f:
            f.write(format % args + "\n")


def main() -> None:
    host, directory, Logged.log_path = sys.argv[1], sys.argv[2], sys.argv[3]

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    srv = Server((host, 0), functools.partial(Logged, directory=directory))
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
