"""Webhook figures against a running server (benches/webhooks.sh starts it): a receiver on
127.0.0.1 in this process, so publish acknowledgements and arrivals share one clock.

    python3 benches/webhooks.py BASE TOKEN TAG_URL

1. latency, idle: 200 publishes one after another; acknowledgement (201) to arrival, p50/p99
2. throughput: 8 writers create articles for 10 s with 1, then 8 endpoints listening; events
   delivered per second (each write is one event per endpoint) and how long the queue took to drain
3. latency under the read benchmark's load: wrk on TAG_URL at 64 connections while 200
   publishes run, and wrk's rate beside the same wrk run without webhooks
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".ci", "lib"))
from receiver import Receiver  # noqa: E402

BASE, TOKEN, TAG_URL = sys.argv[1], sys.argv[2], sys.argv[3]
DURATION = os.environ.get("BENCH_DURATION", "10s")


def call(method, path, body=None):
    request = urllib.request.Request(BASE + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response) if response.status != 204 else None


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


receiver = Receiver()
hooks = []


def listen(endpoints):
    """Replaces the registered endpoints with `endpoints` new ones on the receiver."""
    for hook in hooks:
        path = f"{BASE}/api/v1/webhooks/{hook['id']}"
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with urllib.request.urlopen(urllib.request.Request(path, headers=headers), timeout=30) as response:
            etag = response.headers["ETag"]
        urllib.request.urlopen(urllib.request.Request(path, method="DELETE", headers=dict(headers, **{"If-Match": etag})),
                               timeout=30)
    hooks.clear()
    for _ in range(endpoints):
        hooks.append(call("POST", "/api/v1/webhooks", {"url": receiver.url, "events": ["article.published"]}))


def arrivals():
    with receiver.lock:
        return {subject: at for at, _, kind, subject in receiver.received if kind == "article.published"}


def publish_latencies(count, label):
    latencies = []
    for n in range(count):
        article = call("POST", "/api/v1/articles", {"title": f"{label} {n}", "status": "published"})
        acknowledged = time.monotonic()
        deadline = acknowledged + 10
        while article["id"] not in arrivals() and time.monotonic() < deadline:
            time.sleep(0.0005)
        arrived = arrivals().get(article["id"])
        if arrived:
            latencies.append((arrived - acknowledged) * 1000)
        time.sleep(0.01)
    return latencies


def wrk(url):
    out = subprocess.run(["wrk", "-t1", "-c64", f"-d{DURATION}", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"\s99%\s+(\S+)", out).group(1)
    return rate, p99


listen(1)
idle = publish_latencies(200, "idle")
print(f"latency, idle (1 endpoint): p50 {percentile(idle, 50):.1f} ms, p99 {percentile(idle, 99):.1f} ms, "
      f"{len(idle)}/200 arrived")

for endpoints in (1, 8):
    listen(endpoints)
    with receiver.lock:
        receiver.received.clear()
    stop = time.monotonic() + float(DURATION.rstrip("s"))
    written = [0]

    def writer():
        while time.monotonic() < stop:
            call("POST", "/api/v1/articles", {"title": "throughput", "status": "published"})
            written[0] += 1

    threads = [threading.Thread(target=writer) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = written[0] * endpoints
    while len(receiver.received) < expected and time.monotonic() < stop + 120:
        time.sleep(0.05)
    drained = time.monotonic() - started
    print(f"throughput, {endpoints} endpoint(s): {written[0]} writes in {DURATION}, {len(receiver.received)}/{expected} "
          f"events delivered in {drained:.1f} s = {len(receiver.received) / drained:.0f} events/s")

listen(0)
alone = wrk(TAG_URL)
listen(1)
result = {}
load = threading.Thread(target=lambda: result.update(rate=wrk(TAG_URL)))
load.start()
time.sleep(1)
busy = publish_latencies(200, "loaded")
load.join()
print(f"latency under read load: p50 {percentile(busy, 50):.1f} ms, p99 {percentile(busy, 99):.1f} ms")
print(f"tag list at 64 connections: {alone[0]:.0f} req/s (p99 {alone[1]}) without webhooks, "
      f"{result['rate'][0]:.0f} req/s (p99 {result['rate'][1]}) with 200 publishes delivered beside it")
receiver.stop()
