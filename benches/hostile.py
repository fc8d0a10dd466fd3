#!/usr/bin/env python3
"""What hostile requests cost the server (issue 31), against a given `ruche` binary on a scratch
SQLite site: rendering HTML written inside Markdown, pages holding comments of that shape while
others check /healthz, slow readers of a large file, and how much one request makes it log.

    cargo build --release --bin ruche && python3 benches/hostile.py target/release/ruche
    python3 benches/hostile.py /path/to/an/older/ruche      # the same probes, another build

Prints wall-clock times, bytes and the server's resident memory (now and at its peak). Only
loopback addresses are used; every loop is bounded.
"""
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid

BIN = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else "target/release/ruche")
SCRATCH = tempfile.mkdtemp(prefix="ruche-hostile-")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    PORT = probe.getsockname()[1]
BASE = f"http://127.0.0.1:{PORT}"
EMAIL, PASSWORD = "hostile@example.org", "hostile probe secret"
ENV = dict(
    os.environ,
    DATABASE_URL=f"sqlite://{SCRATCH}/ruche.db?mode=rwc",
    RUCHE_DATA=SCRATCH,
    RUST_LOG="error",
)


def cli(*args, stdin=None):
    done = subprocess.run([BIN, *args], input=stdin, env=ENV, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


cli("user", "add", EMAIL, "--name", "Hostile", "--password-stdin", "--admin", stdin=PASSWORD + "\n")
TOKEN = cli("token", "create", EMAIL)
with open(f"{SCRATCH}/hostile.toml", "w") as config:
    config.write("max_connections_per_address = 0\nmax_http_connections_per_address = 0\n")
LOG = open(f"{SCRATCH}/server.log", "wb")
SERVER = subprocess.Popen(
    [BIN],
    env=dict(ENV, RUCHE_ADDR=f"127.0.0.1:{PORT}", RUCHE_CONFIG=f"{SCRATCH}/hostile.toml", RUST_LOG="info"),
    stdout=subprocess.DEVNULL,
    stderr=LOG,
)


def status(field):
    with open(f"/proc/{SERVER.pid}/status") as s:
        for line in s:
            if line.startswith(field):
                return int(line.split()[1]) // 1024
    return 0


def memory():
    return f"RSS {status('VmRSS')} MiB (peak {status('VmHWM')} MiB)"


def request(method, path, body=None, headers=None, opener=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    started = time.monotonic()
    with (opener or urllib.request.build_opener()).open(req, timeout=600) as answer:
        data = answer.read()
        return answer.status, data, time.monotonic() - started


def api(method, path, payload):
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    return request(method, path, json.dumps(payload).encode(), headers)


def reopened_formatting(size):
    """`<b id=0><p>x<b id=1><p>x…`: formatting tags with distinct attributes, each before a block."""
    parts, total, i = [], 0, 0
    while total < size:
        part = f"<b id={i}><p>x"
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)[:size]


try:
    for _ in range(200):
        try:
            request("GET", "/healthz")
            break
        except OSError:
            time.sleep(0.05)
    print(f"server: {BIN}")
    api("POST", "/api/spaces", {"slug": "bench", "title": "Bench", "visibility": "public"})
    api("PUT", "/api/pages/bench/notes", {"markdown": "Une page publique."})
    print(f"memory at start: {memory()}")

    # 1. Rendering HTML inside Markdown.
    for size in (40_000, 80_000):
        body = json.dumps({"space": "bench", "markdown": reopened_formatting(size)}).encode()
        code, data, took = request("POST", "/api/render", body, {"Content-Type": "application/json"})
        print(f"1. POST /api/render, {size // 1000} KB of <b id=N><p>x: {code} in {took:.3f} s, "
              f"{len(data):,} bytes answered; {memory()}")

    # 2. Three comments of that shape under a public page, three anonymous readers, /healthz.
    shape = reopened_formatting(19_990)
    for i in range(3):
        api("POST", "/api/pages/bench/notes/comments", {"markdown": f"{i}{shape}"})
    quiet = [request("GET", "/healthz")[2] * 1000 for _ in range(20)]
    reading, reads = True, []

    def reader():
        while reading and len(reads) < 2000:
            _, data, took = request("GET", "/s/bench/notes")
            reads.append((len(data), took))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for r in readers:
        r.start()
    busy = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        busy.append(request("GET", "/healthz")[2] * 1000)
        time.sleep(0.02)
    reading = False
    for r in readers:
        r.join()
    sizes = [s for s, _ in reads]
    print(f"2. page with three such comments: {len(reads)} anonymous reads, "
          f"{statistics.median(sizes):,.0f} bytes and {statistics.median([t for _, t in reads]):.3f} s each (median)")
    print(f"2. /healthz: quiet median {statistics.median(quiet):.1f} ms; while read: median "
          f"{statistics.median(busy):.1f} ms, max {max(busy):.1f} ms ({len(busy)} probes); {memory()}")

    # 4. A 10 MiB file, 100 clients asking it and reading nothing.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    csrf = lambda html: re.search(rb'name="_csrf" value="([^"]+)"', html).group(1).decode()
    _, login, _ = request("GET", "/login", opener=browser)
    form = urllib.parse.urlencode({"_csrf": csrf(login), "email": EMAIL, "password": PASSWORD, "next": "/"})
    request("POST", "/login", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}, browser)
    _, edit, _ = request("GET", "/s/bench/notes/edit", opener=browser)
    boundary = uuid.uuid4().hex
    content = (b"ligne de texte\n" * (10 * 1024 * 1024 // 15))
    multipart = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf(edit)}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gros.txt\"\r\n"
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    _, sent, _ = request("POST", "/s/bench/notes/files", multipart, {
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"}, browser)
    sent = json.loads(sent)
    api("PUT", "/api/pages/bench/notes", {"markdown": f"Un fichier : {sent['markdown']}"})
    url = sent["url"]
    time.sleep(1)
    before = status("VmRSS")
    stalled = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        stalled.append(s)
    time.sleep(5)
    held = status("VmRSS")
    print(f"4. 100 clients asking a {len(content) / 2**20:.0f} MiB file, reading nothing, after 5 s: "
          f"RSS {before} -> {held} MiB (+{held - before} MiB); {memory()}")
    for s in stalled:
        s.close()

    # 5. How much one request makes the server log.
    LOG.flush()
    logged = os.path.getsize(f"{SCRATCH}/server.log")
    body = json.dumps({"space": "bench", "markdown": "<table>x" * 16_384}).encode()
    code, _, took = request("POST", "/api/render", body, {"Content-Type": "application/json"})
    time.sleep(0.5)
    grown = os.path.getsize(f"{SCRATCH}/server.log") - logged
    print(f"5. POST /api/render, '<table>x' x 16 384 (128 KB): {code} in {took:.3f} s, {grown:,} bytes of log")
finally:
    SERVER.kill()
    SERVER.wait()
    subprocess.run(["rm", "-rf", SCRATCH])
