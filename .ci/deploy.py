"""deploy/haproxy.cfg in front of two release servers on one PostgreSQL database, as README
"Running more than one instance" describes it:

- requests through the load balancer reach both instances;
- an article written through one instance is read through the other at once, though the
  read caches keep entries for ten minutes (LISTEN/NOTIFY);
- an instance stopped under load (SIGTERM, as systemd stops it) costs no request: HAProxy's
  readiness checks and retries move traffic to the other, and back once it is ready again.

    python3 .ci/deploy.py target/release/folio LOG_DIR POSTGRES_ADMIN_URL
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from folio import Folio  # noqa: E402
from pgserver import free_port, wait_for  # noqa: E402

BINARY, LOG_DIR, ADMIN_URL = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def expect(condition, message):
    print(("  ok   " if condition else "  FAIL ") + message)
    if not condition:
        failures.append(message)


def psql(url, sql):
    return subprocess.run(["psql", "-q", "-At", url, "-c", sql], check=True, text=True,
                          capture_output=True).stdout.strip()


database = f"folio_deploy_{uuid.uuid4().hex[:12]}"
psql(ADMIN_URL, f'CREATE DATABASE "{database}"')
url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{database}"
env = {"FOLIO_READ_CACHE_TTL_MS": "600000", "FOLIO_TRUSTED_PROXIES": "127.0.0.1/32"}
a = Folio(BINARY, url, LOG_DIR, "deploy-a", env, port=free_port()).start()
a.wait_ready()
b = Folio(BINARY, url, LOG_DIR, "deploy-b", env, port=free_port()).start()
b.wait_ready()

# The example configuration, with this run's ports.
balancer_port = free_port()
config = open("deploy/haproxy.cfg").read()
config = config.replace("127.0.0.1:8080", f"127.0.0.1:{balancer_port}")
config = config.replace("127.0.0.1:8001", f"127.0.0.1:{a.port}")
config = config.replace("127.0.0.1:8002", f"127.0.0.1:{b.port}")
config_path = os.path.join(LOG_DIR, "haproxy.cfg")
with open(config_path, "w") as out:
    out.write(config)
haproxy_log = open(os.path.join(LOG_DIR, "haproxy.log"), "w")
haproxy = subprocess.Popen(["haproxy", "-f", config_path], stdout=haproxy_log,
                           stderr=subprocess.STDOUT)
balancer = Folio(BINARY, url, LOG_DIR, "deploy-unused", port=balancer_port)

try:
    expect(wait_for(lambda: balancer.status("/readyz") == 200, 20) is not None,
           "the load balancer answers")
    # Each instance counts the requests it served in its access log (request_id lines).
    def served(instance):
        with open(instance.log) as log:
            return sum(1 for line in log if "/api/v1/articles" in line and "GET" in line)

    before = (served(a), served(b))
    for _ in range(40):
        balancer.status("/api/v1/articles")
    time.sleep(0.5)
    after = (served(a), served(b))
    print(f"  requests logged by A and B: {after[0] - before[0]}, {after[1] - before[1]}")
    expect(after[0] > before[0] and after[1] > before[1], "round robin reaches both instances")

    token = a.admin_token()
    for cached in (a, b):
        cached.status("/api/v1/articles?tag=deploy")
    status, _, _ = a.json("POST", "/api/v1/articles", {
        "title": "Written through A", "body_markdown": "Hello.", "tags": ["deploy"],
        "status": "published"}, token)
    expect(status == 201, f"a write through A ({status})")

    def titles(instance):
        status, _, body = instance.json("GET", "/api/v1/articles?tag=deploy")
        return [item["title"] for item in body["data"]] if status == 200 else None

    took = wait_for(lambda: titles(b) == ["Written through A"], 5, interval=0.005)
    print(f"  seen through B's cache after {took and round(took * 1000, 1)} ms")
    expect(took is not None, "a write through A is read through B's ten-minute cache")

    # Steady load through the balancer while B stops and starts again.
    results = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                results.append(balancer.request("GET", "/api/v1/articles?limit=5", timeout=10)[0])
            except OSError as error:
                results.append(type(error).__name__)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    b.signal(signal.SIGTERM)
    b.process.wait(30)
    time.sleep(3)
    b.start()
    b.wait_ready()
    time.sleep(5)
    stop.set()
    for thread in threads:
        thread.join()
    failed = [r for r in results if r != 200]
    print(f"  requests through the balancer while B stopped and came back: {len(results)}, "
          f"not 200: {len(failed)} {sorted(set(map(str, failed)))}")
    expect(len(results) > 100 and not failed, "stopping an instance costs no request")
finally:
    haproxy.terminate()
    haproxy.wait(10)
    a.stop()
    b.stop()
    psql(ADMIN_URL, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

print()
if failures:
    print(f"deploy: FAILED: {len(failures)} expectations: {failures}")
    sys.exit(1)
print("deploy: OK")
