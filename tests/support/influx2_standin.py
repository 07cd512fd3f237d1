#!/usr/bin/python3
"""A stand-in for the InfluxDB 2.x write API (POST /api/v2/write), written from
its reference: token auth, org and bucket, precision, gzip bodies, and the
answers a real server gives (204, 400, 401, 404, 413, 429 + Retry-After, 5xx).

  influx2_standin.py PORT TOKEN ORG BUCKET OUT_FILE [--script 500,429,204]
                     [--max-lines N]

Accepted lines are appended to OUT_FILE. --script answers the first requests
with those statuses in turn (204 = accept), then accepts; --max-lines answers 413
to a body of more lines. Each request is logged to OUT_FILE.log as
"<status> <lines> <content-encoding>".
"""
import gzip
import http.server
import sys
import urllib.parse

port, token, org, bucket, out_file = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
script = []
max_lines = None
args = sys.argv[6:]
while args:
    if args[0] == "--script":
        script = [int(s) for s in args[1].split(",") if s]
        args = args[2:]
    elif args[0] == "--max-lines":
        max_lines = int(args[1])
        args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, lines, body=b"", headers=()):
        with open(out_file + ".log", "a") as log:
            log.write("%d %d %s\n" % (status, lines, self.headers.get("Content-Encoding", "-")))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path != "/api/v2/write":
            return self.answer(404, 0, b'{"code":"not found","message":"path not found"}')
        if self.headers.get("Authorization") != "Token " + token:
            return self.answer(401, 0, b'{"code":"unauthorized","message":"unauthorized access"}')
        if query.get("org") != [org] or query.get("bucket") != [bucket]:
            return self.answer(404, 0, b'{"code":"not found","message":"bucket not found"}')
        if query.get("precision", ["ns"]) != ["ns"]:
            return self.answer(400, 0, b'{"code":"invalid","message":"precision"}')
        try:
            body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
            text = body.decode("utf-8")
        except Exception:
            return self.answer(400, 0, b'{"code":"invalid","message":"cannot decode the body"}')
        lines = [l for l in text.split("\n") if l]
        if script:
            status = script.pop(0)
            if status == 429 or status == 503:
                return self.answer(status, len(lines), b'{"code":"too many requests"}', [("Retry-After", "1")])
            if status != 204:
                return self.answer(status, len(lines), b'{"code":"internal error","message":"scripted"}')
        if max_lines is not None and len(lines) > max_lines:
            return self.answer(413, len(lines), b'{"code":"request too large","message":"too many lines"}')
        for line in lines:
            if " " not in line:
                return self.answer(400, len(lines), b'{"code":"invalid","message":"unable to parse line"}')
        with open(out_file, "a") as out:
            out.write("".join(l + "\n" for l in lines))
        self.answer(204, len(lines))


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
