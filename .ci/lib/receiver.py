"""A webhook receiver on 127.0.0.1 for the CI scripts and benchmarks: records every request
(arrival time, webhook-id, event type, data id) and notices a webhook-id arriving while an
earlier request with the same id is still being answered (a delivery sent twice at once)."""

import http.server
import json
import threading
import time


class Receiver:
    def __init__(self, delay=0.0, status=200):
        self.delay, self.status = delay, status
        self.lock = threading.Lock()
        self.received = []          # (monotonic time, webhook-id, type, data id)
        self.active = set()
        self.concurrent = []        # webhook-ids that arrived while already being answered
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                message = self.headers.get("webhook-id", "")
                event = json.loads(body or b"{}")
                with receiver.lock:
                    if message in receiver.active:
                        receiver.concurrent.append(message)
                    receiver.active.add(message)
                    receiver.received.append((time.monotonic(), message, event.get("type"),
                                              (event.get("data") or {}).get("id")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.active.discard(message)
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, kind):
        """{data id: number of distinct webhook-ids} for one event type."""
        with self.lock:
            seen = {}
            for _, message, event_type, subject in self.received:
                if event_type == kind:
                    seen.setdefault(subject, set()).add(message)
            return {subject: len(ids) for subject, ids in seen.items()}

    def arrivals(self, kind):
        """{data id: number of requests} for one event type, repeats of a webhook-id included."""
        with self.lock:
            seen = {}
            for _, _, event_type, subject in self.received:
                if event_type == kind:
                    seen[subject] = seen.get(subject, 0) + 1
            return seen

    def stop(self):
        self.server.shutdown()
