#!/usr/bin/env python3
"""A scripted HTTP receiver for fault tests of the push destinations.

Every request's body is saved as <dir>/<n>.body and one JSON line per request is
appended to <dir>/requests.jsonl (n, time, method, path, headers, body size, the
answer given). Answers come from --script, one entry per request, then --default:
  204, 500, 400 ...   that status (a short text body for errors)
  429:2               429 with Retry-After: 2
  hang                read the request, never answer, keep the connection open
Usage: http_standin.py --port P --dir D [--script 500,500,204] [--default 204]
                       [--tls CERT KEY]   (HTTPS with that certificate)
With --tls, <dir>/sni.txt gets one line per TLS handshake: the server name the
client sent (SNI), "-" when it sent none.
"""
import argparse
import http.server
import json
import os
import ssl
import threading
import time

lock = threading.Lock()
state = {"n": 0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--script", default="")
    parser.add_argument("--default", default="204")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()
    script = [s for s in args.script.split(",") if s]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                n = state["n"]
                state["n"] += 1
                answer = script[n] if n < len(script) else args.default
                with open(os.path.join(args.dir, "%d.body" % n), "wb") as f:
                    f.write(body)
                with open(os.path.join(args.dir, "requests.jsonl"), "a") as f:
                    f.write(json.dumps({"n": n, "time": time.time(), "method": self.command,
                                        "path": self.path, "headers": dict(self.headers.items()),
                                        "size": len(body), "answer": answer}) + "\n")
            if answer == "hang":
                time.sleep(3600)
                return
            status, _, retry_after = answer.partition(":")
            status = int(status)
            text = b"" if status < 300 else ("scripted answer %d" % status).encode()
            self.send_response(status)
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])

        def record_sni(ssl_socket, server_name, ssl_context):
            with lock, open(os.path.join(args.dir, "sni.txt"), "a") as f:
                f.write((server_name or "-") + "\n")

        context.sni_callback = record_sni
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
