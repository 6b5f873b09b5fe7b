"""Starting the release binary and talking to it, for the CI tests that need real processes."""

import http.client
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.parse

from pgserver import free_port, wait_for


class Folio:
    """A `folio serve` process of our own."""

    def __init__(self, binary, database_url, log_dir, name="folio", env=None, port=None):
        self.binary, self.database_url, self.name = binary, database_url, name
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = os.path.join(log_dir, f"{name}.log")
        self.env = dict(os.environ, FOLIO_LOG="info", FOLIO_DATABASE_URL=database_url,
                        FOLIO_BIND=f"127.0.0.1:{self.port}", FOLIO_RATE_LIMIT_ANONYMOUS="0",
                        FOLIO_RATE_LIMIT_AUTHENTICATED="0", FOLIO_RATE_LIMIT_WRITES="0",
                        FOLIO_LOGIN_LIMIT_PER_ADDRESS="0", FOLIO_LOGIN_LIMIT_PER_ACCOUNT="0")
        self.env.update(env or {})
        self.process = None

    def start(self):
        with open(self.log, "a") as log:
            self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)
        if wait_for(lambda: self.status("/healthz") == 200, 20) is None:
            raise RuntimeError(f"{self.name} did not start; see {self.log}")
        return self

    def wait_ready(self, timeout=30):
        return wait_for(lambda: self.status("/readyz") == 200, timeout)

    def signal(self, number):
        self.process.send_signal(number)

    def kill(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def run(self, *args, stdin=None):
        """Runs a CLI command (`folio user create …`) against the same database."""
        return subprocess.run([self.binary, *args], env=self.env, input=stdin, text=True,
                              check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout

    def request(self, method, path, body=None, token=None, headers=None, timeout=20):
        """(status, headers, body bytes); raises on connection errors."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            all_headers = dict(headers or {})
            if body is not None:
                body = json.dumps(body)
                all_headers["Content-Type"] = "application/json"
            if token:
                all_headers["Authorization"] = f"Bearer {token}"
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def status(self, path):
        try:
            return self.request("GET", path, timeout=2)[0]
        except OSError:
            return None

    def json(self, method, path, body=None, token=None):
        status, headers, raw = self.request(method, path, body, token)
        return status, headers, (json.loads(raw) if raw else None)

    def admin_token(self, email="admin@example.com", password="a long enough password"):
        try:
            self.run("user", "create", "--email", email, "--name", "CI Admin", "--role", "admin",
                     "--password-stdin", stdin=password + "\n")
        except subprocess.CalledProcessError:
            pass  # made by an earlier start
        status, _, body = self.json("POST", "/api/v1/auth/login", {"email": email, "password": password})
        assert status == 200, (status, body)
        return body["access_token"]


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]
