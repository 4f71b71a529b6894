#!/usr/bin/env python3
"""A loopback stand-in for a Pyroscope server, for tests/record.sh: it takes
POST /ingest as Pyroscope's HTTP API documents it (query parameters name,
from, until, format=pprof, spyName; the body a multipart form whose
"profile" field is a gzipped pprof, and an optional "sample_type_config"
file field, a JSON object of sample types as Pyroscope's ingest reads it),
keeps each profile as OUT/N.pb.gz (and its config as OUT/N.json) with a line
"N from until name" in OUT/log, and answers 503 while the file OUT/down
exists. Anything else is answered 400 and logged as "BAD ...".
It writes its port to OUT/port and exits after SECONDS.

usage: pyroscope-receiver.py OUT SECONDS"""
import json
import os
import sys
import threading
import urllib.parse
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, HTTPServer

OUT = sys.argv[1]
count = 0
# What Pyroscope's SampleTypeConfig holds, and the units it knows.
CONFIG_KEYS = {"units", "display-name", "aggregation", "cumulative", "sampled"}
UNITS = {"samples", "objects", "goroutines", "bytes", "lock_samples",
         "lock_nanoseconds"}


def config_problem(raw):
    """Why RAW is no sample_type_config Pyroscope would take, or None."""
    try:
        config = json.loads(raw)
    except ValueError as e:
        return "sample_type_config is no JSON: %s" % e
    if not isinstance(config, dict) or not config:
        return "sample_type_config is no object of sample types"
    for name, c in config.items():
        if not isinstance(c, dict) or not set(c) <= CONFIG_KEYS:
            return "sample_type_config %s: keys %s" % (name, c)
        if c.get("units", "samples") not in UNITS:
            return "sample_type_config %s: units %s" % (name, c["units"])
    return None


def log(line):
    with open(os.path.join(OUT, "log"), "a") as f:
        f.write(line + "\n")


class Ingest(BaseHTTPRequestHandler):
    def reply(self, status, text):
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def bad(self, why):
        log("BAD " + why)
        self.reply(400, why)

    def do_GET(self):
        self.bad("GET " + self.path)

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path != "/ingest":
            return self.bad("path " + url.path)
        if os.path.exists(os.path.join(OUT, "down")):
            return self.reply(503, "down for the test")
        for k in ("name", "from", "until", "format", "spyName"):
            if len(q.get(k, [])) != 1:
                return self.bad("query parameter %s missing or repeated" % k)
        if q["format"][0] != "pprof" or q["spyName"][0] != "cprof":
            return self.bad("format or spyName")
        if not (q["from"][0].isdigit() and q["until"][0].isdigit() and
                int(q["from"][0]) <= int(q["until"][0])):
            return self.bad("from/until")
        if "{" not in q["name"][0] or not q["name"][0].endswith("}"):
            return self.bad("name is not APP{labels}")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data"):
            return self.bad("content type " + ctype)
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        profile = config = None
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "profile":
                profile = part.get_payload(decode=True)
            elif name == "sample_type_config":
                # Pyroscope reads the form's files: a field without a file name is lost.
                if not part.get_param("filename", header="content-disposition"):
                    return self.bad("sample_type_config is no file field")
                config = part.get_payload(decode=True)
                why = config_problem(config)
                if why:
                    return self.bad(why)
            else:
                return self.bad("unknown form field %s" % name)
        if not profile or profile[:2] != b"\x1f\x8b":
            return self.bad("no gzipped profile field")
        count += 1
        with open(os.path.join(OUT, "%d.pb.gz" % count), "wb") as f:
            f.write(profile)
        if config:
            with open(os.path.join(OUT, "%d.json" % count), "wb") as f:
                f.write(config)
        log("%d %s %s %s" % (count, q["from"][0], q["until"][0], q["name"][0]))
        self.reply(200, "ok")

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Ingest)
with open(os.path.join(OUT, "port.tmp"), "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(os.path.join(OUT, "port.tmp"), os.path.join(OUT, "port"))
threading.Timer(float(sys.argv[2]), server.shutdown).start()
server.serve_forever()
