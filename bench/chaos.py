#!/usr/bin/env python3
"""`make chaos`: faults under load against a local Beacon stack, and proof that
no acknowledged event was lost.

    .deps/venv/bin/python bench/chaos.py --bin-dir .build/release [--short]
        [--faults kill-enricher,redis,...] [--seed N] [--rate EVENTS_PER_S]
        [--work-dir .chaos] [--json PATH]

It starts its own stack (bench/lib/stack.py) in --work-dir (default .chaos/:
logs WORK/NAME.log, Redis and MongoDB data) on free ports, with the Kafka proxy
on: Tansu keeps its data only in memory, so "the broker stopped for 10 s" is
emulated by closing every client connection at a TCP proxy in front of Tansu and
refusing new ones for 10 s (see bench/lib/stack.py), which keeps what a real
Kafka keeps on disk. Redis (append-only) and MongoDB (SecantusDB with a data
folder) are really stopped (SIGTERM) and started again.

Services: tracker, enricher, consumers (services/consumers/rules.demo.yaml),
pusher (dry run: outcomes on beacon.push.feedback, nothing sent) and liveview,
started as scripts/run.sh does. One override: the enricher takes over entries a
dead enricher left pending after 5 s (BEACON_REDIS_CLAIM_IDLE_MS=5000,
BEACON_REDIS_CLAIM_INTERVAL_MS=1000; --claim-idle-ms) instead of 30 s, so that
the run stays short. A restarted enricher gets a new consumer name (host-pid),
as a new pod would, and must claim what the dead one left.

Setup: a pool of users each registers one push device (identify with
context.device.token, iOS or Android); the harness waits until MongoDB has them
all. Then each fault runs as a phase:

    kill-tracker, kill-enricher, kill-consumers, kill-pusher
        kill -9 at a random moment within a window under load (then, for the
        tracker, enricher and pusher, at the first moment their in-flight
        gauge is above 0, polled for at most 3 s, so that the kill hits work
        under way), restarted at once
    redis      Redis stopped (SIGTERM) for 10 s, started again (append-only file)
    kafka      the broker stopped for 10 s (proxy), started again
    mongo      MongoDB stopped for 10 s while pushes flow, started again
    bad-input  30 % corrupted requests mixed into good traffic: random bytes,
               truncated JSON, 5000-deep nesting, an event over 32 KB, a request
               over 500 KB, invalid UTF-8, wrong and missing write key, JSON that
               is not an object, a batch that is not an array, a wrong
               Content-Type. Each must get a 4xx with a JSON error body, the
               deltas of beacon_tracker_requests_rejected_total{reason} must
               match the error codes received, and no event of a refused
               request may reach Kafka.
    udp-burst  datagrams to the tracker's UDP port (on in chaos, as in make run)
               at --udp-rate for as long as bad-input runs, 30 % corrupted:
               truncated, a bit flipped in a brace or a letter, random bytes,
               an event over 32 KB, wrong and missing write key, an unknown
               type, JSON that is not an object. UDP has no acknowledgement, so
               the check is: every good datagram's events reach beacon.events,
               unless the kernel's drop counter for the socket
               (beacon_tracker_udp_socket_drops) accounts for the missing ones;
               the deltas of beacon_tracker_udp_datagrams_total{outcome} match
               what was sent (less what the kernel dropped); no event of a bad
               datagram reaches Kafka. The HTTP load runs meanwhile, checked as
               always.
    slow-clients  3,000 connections (--slow-clients) that stall while good
               traffic flows: half send part of a request head, half a whole
               head and part of the body. The tracker must close every one
               of them within its timeouts (the harness starts it with
               tracker.requestHeadTimeoutMs 5000 and requestBodyTimeoutMs
               10000, --slow-timeouts-ms), the stalled bodies with a 408, the
               beacon_tracker_connections_closed_total{reason} deltas must
               count them, and every good request meanwhile must get its 2xx.
    webhook-endpoint  postback jobs (--webhook-job-objects objects each, at
               --webhook-rate webhooks/s) to the tracker, each object a webhook
               to a local endpoint in the harness, while the event load flows;
               the endpoint answers 503 for --webhook-outage s (30), then 204
               again. The consumers run with webhooks.allowPrivate and short
               webhooks.firstRetryMs and breakerCooldownMs (1 s each,
               --webhook-first-retry-ms, --webhook-breaker-cooldown-ms) so the
               retries and the breaker's probe come within the run. The check:
               every request id of every 202 (the job's requestIds, each the
               webhook-id of its calls) gets a 2xx at the endpoint within
               --webhook-settle-timeout s (150) of the load's end; at least one
               was answered 503 while it was down; every job was accepted.
               Reported: calls answered 503, the time from the endpoint's return
               to its first 2xx and until everything was delivered, and the ids
               delivered more than once (allowed: at least once).

Steady load: --threads threads, keep-alive HTTP (http.client), --rate events/s in
all, POST /v1/batch (5-20 events), /v1/track, /v1/identify, /v1/page with the
demo write key as HTTP Basic user; every event has a client messageId (uuid4).
Some events are "Hello" track events of pool users (the demo rule turns each
into one push per device; at most 10 per user per hour, so the harness never
sends a user more than 10), so pushes flow through consumers and pusher.

A collector reads beacon.events, beacon.events.invalid, beacon.events.failed and
beacon.push.feedback from the beginning (all partitions assigned, no group) and
records each messageId's first arrival and how many distinct Kafka records
carried it. After each fault the load goes on --post seconds, stops, and the
harness polls (bounded by --settle-timeout) until every acknowledged (2xx)
messageId of the phase is in beacon.events, every acknowledged Hello event
has a push outcome on beacon.push.feedback or sits in beacon.events.failed,
and every Beacon consumer group (beacon-registry, beacon-rules,
beacon-counters, beacon-pusher) has committed everything the collector saw
on its topics. A group that does not catch up fails the phase; the service
that owns it is then restarted (SIGTERM + start, said so in the output) so
that the next phases measure their own fault.

Per phase it reports:
    sent       good events sent (requests that failed or got 503 included)
    acked      events whose request got a 2xx
    delivered  acknowledged events found in beacon.events
    dup        extra Kafka records of acknowledged events (same messageId)
    lost       acknowledged events not in beacon.events (must be 0)
    recovery   seconds from the fault's end (the restarted service answering
               /healthz, the server answering again) until the first event
               acknowledged after that moment was seen in beacon.events
    drained    seconds from the fault's end until the last event acknowledged
               before that moment was seen in beacon.events (the backlog the
               fault built up, delivered); 0 when nothing was left behind
    gap        longest time without any 2xx at the tracker during the phase
               (what clients saw)
    pushes     acknowledged Hello events: with feedback / in beacon.events.failed
               (the rules consumer gave up after its retries) / missing
Exit status: 0 all good; 1 an event was lost, a push was missing, a consumer
group did not catch up, a service exited without being killed, a good request
was refused, a bad request did not get 4xx + JSON, an event of a refused
request reached Kafka, or the rejection metrics did not match; 2 the harness
itself could not run (stack did not start, harness error).

Results: a table on stdout and bench/results/chaos-latest.json
(--faults: chaos-partial-latest.json, not kept in git;
--short: bench/results/chaos-short-latest.json, so that CI runs do not
overwrite the full run's), including per phase the metrics of every service
after it, /healthz and /readyz, and the details behind each number.
"""

from __future__ import annotations

import argparse
import base64
import collections
import http.client
import json
import os
import random
import socket
import string
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.dont_write_bytecode = True  # no __pycache__ in bench/lib
from stack import HOST, SERVICES, TOPICS, QuietKafkaLogger, Stack, StackError, exit_on_signals, free_ports  # noqa: E402
import connections  # noqa: E402

WRITE_KEY = "demo-write-key"
AUTH = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
ALL_FAULTS = ["kill-tracker", "kill-enricher", "kill-consumers", "kill-pusher", "redis", "kafka", "mongo",
              "bad-input", "udp-burst", "slow-clients", "webhook-endpoint"]
SHORT_FAULTS = ["kill-enricher", "bad-input"]
PUSH_PHASES = {"kill-consumers", "kill-pusher", "kafka", "mongo"}
IPS = ["81.2.69.160", "216.160.83.56", "89.160.20.112", "2.125.160.216", "67.43.156.1", "175.16.199.1"]
UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Safari/605.1.15",
    "curl/8.4.0",
]
PUSH_CAP = 10  # rules.demo.yaml: cap {max: 10, per: 1h} per user
# Beacon's consumer groups and what they read: each must catch up once the load stops.
GROUPS = {"beacon-registry": ["beacon.events"], "beacon-rules": ["beacon.events"],
          "beacon-counters": ["beacon.events"], "beacon-pusher": ["beacon.push.apns", "beacon.push.fcm"]}


def now() -> float:
    return time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the Kafka collector ----------------------------------------------------------


class Collector(threading.Thread):
    """Reads the topics from the beginning and records, per messageId, the
    first arrival time and the distinct Kafka records that carried it."""

    TOPICS = ["beacon.events", "beacon.events.invalid", "beacon.events.failed", "beacon.push.apns",
              "beacon.push.fcm", "beacon.push.feedback"]

    def __init__(self, brokers: str, run_id: str):
        super().__init__(name="collector", daemon=True)
        self.brokers, self.run_id = brokers, run_id
        self.lock = threading.Lock()
        self.events: dict[str, list] = {}        # messageId -> [first seen, records]
        self.invalid: dict[str, str] = {}        # messageId -> reason
        self.failed: dict[str, set] = collections.defaultdict(set)  # messageId -> consumers
        self.feedback: dict[str, collections.Counter] = {}  # sourceMessageId -> statuses
        self.push_requests = collections.Counter()  # sourceMessageId -> push requests
        self.push_records: dict[tuple, dict] = collections.defaultdict(dict)  # (topic, p) -> offset -> (requestId, t)
        self.feedback_requests: set[str] = set()  # requestIds with an outcome
        self.ends: dict[tuple, int] = {}         # (topic, partition) -> last offset read + 1
        self.records = collections.Counter()     # topic -> records read
        self.errors = collections.Counter()
        self.undecodable = 0
        self._seen_offsets: set = set()
        self._halt = threading.Event()
        self.ready = threading.Event()
        self.failure: str | None = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the harness
            self.failure = f"{type(e).__name__}: {e}"
            self.ready.set()

    def _run(self):
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        parts = dict(TOPICS)

        def on_error(err):
            self.errors[err.name()] += 1

        consumer = Consumer({
            "bootstrap.servers": self.brokers, "group.id": f"chaos-collector-{self.run_id}",
            "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 50,
            "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500, "socket.timeout.ms": 5000,
            "error_cb": on_error, "logger": QuietKafkaLogger(), "log_level": 0,
        })
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in self.TOPICS for p in range(parts[t])])
        self.ready.set()
        try:
            while not self._halt.is_set():
                msgs = consumer.consume(1000, 0.1)
                if not msgs:
                    continue
                t = now()
                with self.lock:
                    for m in msgs:
                        if m.error() is not None:
                            self.errors[m.error().name()] += 1
                            continue
                        key = (m.topic(), m.partition(), m.offset())
                        if key in self._seen_offsets:
                            continue
                        self._seen_offsets.add(key)
                        tp = (m.topic(), m.partition())
                        self.ends[tp] = max(self.ends.get(tp, 0), m.offset() + 1)
                        self.records[m.topic()] += 1
                        self._record(m.topic(), m.value(), t, m.partition(), m.offset())
        finally:
            consumer.close()

    def _record(self, topic, value, t, partition=None, offset=None):
        try:
            doc = json.loads(value)
        except (ValueError, TypeError):
            self.undecodable += 1
            return
        if not isinstance(doc, dict):
            self.undecodable += 1
            return
        if topic == "beacon.events":
            mid = doc.get("messageId")
            if isinstance(mid, str):
                entry = self.events.get(mid)
                if entry is None:
                    self.events[mid] = [t, 1]
                else:
                    entry[1] += 1
        elif topic == "beacon.events.invalid":
            mid = doc.get("messageId") or (doc.get("payload") or {}).get("messageId")
            if isinstance(mid, str):
                self.invalid[mid] = str(doc.get("reason"))
        elif topic == "beacon.events.failed":
            mid = (doc.get("event") or {}).get("messageId")
            if isinstance(mid, str):
                self.failed[mid].add(str(doc.get("consumer")))
        elif topic in ("beacon.push.apns", "beacon.push.fcm"):
            mid = doc.get("sourceMessageId")
            if isinstance(mid, str):
                self.push_requests[mid] += 1
            self.push_records[(topic, partition)][offset] = (doc.get("requestId"), t)
        elif topic == "beacon.push.feedback":
            if isinstance(doc.get("requestId"), str):
                self.feedback_requests.add(doc["requestId"])
            mid = doc.get("sourceMessageId")
            if isinstance(mid, str):
                self.feedback.setdefault(mid, collections.Counter())[str(doc.get("status"))] += 1

    def stop(self):
        self._halt.set()
        self.join(10)


# ---- what was sent -------------------------------------------------------------------


class PhaseRecord:
    def __init__(self, name: str):
        self.name = name
        self.lock = threading.Lock()
        self.requests = 0
        self.sent = 0
        self.acked: dict[str, float] = {}       # messageId -> 2xx time
        self.hello_sent = 0
        self.hello_acked: set[str] = set()
        self.results = collections.Counter()    # good requests: status or error kind
        self.error_codes = collections.Counter()  # error.code of every JSON error reply
        self.rejected_members = 0               # members refused inside a 200 batch (counted as invalid_event)
        self.good_refused: list[str] = []       # good requests answered 4xx (must not happen)
        self.good_refused_count = 0
        self.max_request_s = 0.0                # slowest answered good request
        self.max_by_status: dict[str, float] = {}
        self.bad_requests = 0
        self.bad_by_category: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.bad_failures: list[str] = []       # not 4xx + JSON error
        self.bad_unexpected: list[str] = []     # 4xx + JSON, but not the status expected
        self.bad_ids: set[str] = set()
        self.fault_start: float | None = None
        self.fault_end: float | None = None
        self.fault_detail: dict = {}
        self.load_start = self.load_end = None
        self.lags: dict | None = None
        self.lag_detail: dict = {}
        # udp-burst
        self.udp_good: set[str] = set()           # messageIds of good datagrams' events
        self.udp_good_datagrams: list[list[str]] = []  # each good datagram's messageIds
        self.udp_bad_ids: set[str] = set()        # messageIds inside bad datagrams (none may arrive)
        self.udp_expected = collections.Counter()  # outcome -> datagrams sent that should get it
        self.udp_by_category = collections.Counter()
        self.udp_before: dict | None = None       # tracker metrics before the phase
        # webhook-endpoint: (WebhookEndpoint, PostbackLoad)
        self.webhooks = None


class HelloPool:
    """Pool users (each with one registered device) and how many Hello events
    each may still get under the demo rule's cap."""

    def __init__(self, users: list[dict]):
        self.users = users
        self.left = {u["userId"]: PUSH_CAP for u in users}
        self.lock = threading.Lock()
        self.i = 0

    def take(self) -> str | None:
        with self.lock:
            for _ in range(len(self.users)):
                u = self.users[self.i % len(self.users)]["userId"]
                self.i += 1
                if self.left[u] > 0:
                    self.left[u] -= 1
                    return u
            return None

    def remaining(self) -> int:
        with self.lock:
            return sum(self.left.values())


def random_token(rng: random.Random, platform: str) -> str:
    if platform == "ios":
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    alphabet = string.ascii_letters + string.digits + "_-"
    return "".join(rng.choice(alphabet) for _ in range(22)) + ":APA91b" + \
        "".join(rng.choice(alphabet) for _ in range(134))


# ---- HTTP -----------------------------------------------------------------------------


def raw_request(port: int, method: str, path: str, headers: dict, body: bytes, timeout: float = 15.0):
    """One request on a fresh connection; reads the answer even when the
    server answered early and closed before taking the whole body.
    Returns (status or None, body bytes, error text or None)."""
    head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}",
            "Connection: close"] + [f"{k}: {v}" for k, v in headers.items()]
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    send_error = None
    try:
        s = socket.create_connection((HOST, port), timeout=timeout)
    except OSError as e:
        return None, b"", f"connect: {e}"
    buf = b""
    try:
        s.settimeout(timeout)
        try:
            s.sendall(data)
        except OSError as e:
            send_error = e
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
                done = _complete_response(buf)
                if done:
                    break
        except OSError as e:
            if not buf:
                return None, b"", f"send: {send_error}; recv: {e}" if send_error else f"recv: {e}"
    finally:
        s.close()
    status, body_out = _parse_response(buf)
    if status is None:
        return None, buf, f"no HTTP answer (send error: {send_error})"
    return status, body_out, None


def _complete_response(buf: bytes) -> bool:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    headers = buf[:end].decode("latin-1").lower().split("\r\n")
    for h in headers[1:]:
        if h.startswith("content-length:"):
            return len(buf) - end - 4 >= int(h.split(":", 1)[1])
        if h.startswith("transfer-encoding:") and "chunked" in h:
            return buf.endswith(b"0\r\n\r\n")
    return False


def _parse_response(buf: bytes):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, b""
    lines = buf[:end].decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return None, b""
    body = buf[end + 4:]
    if any(h.lower().startswith("transfer-encoding:") and "chunked" in h.lower() for h in lines[1:]):
        out, rest = b"", body
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            try:
                size = int(size_line.split(b";")[0], 16)
            except ValueError:
                break
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return status, body


def json_error_code(body: bytes):
    """The error code of {"success":false,"error":{"code":...}}, else None."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and doc.get("success") is False and isinstance(doc.get("error"), dict):
        code = doc["error"].get("code")
        return code if isinstance(code, str) else None
    return None


# ---- the load --------------------------------------------------------------------------


class Load:
    """--threads threads sending rate events/s in all to the tracker, with
    bad_ratio of the requests corrupted."""

    def __init__(self, ctx, rec: PhaseRecord, rate: float, hello_fraction: float, bad_ratio: float, seed: int):
        self.ctx, self.rec = ctx, rec
        self.rate, self.hello_fraction, self.bad_ratio = rate, hello_fraction, bad_ratio
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(random.Random(seed * 1000 + i), i),
                                         name=f"load-{i}", daemon=True) for i in range(ctx.args.threads)]
        self.seq = self.bad_seq = 0
        self.seq_lock = threading.Lock()

    def start(self):
        self.rec.load_start = now()
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)
        self.rec.load_end = now()

    def _next_seq(self):
        with self.seq_lock:
            self.seq += 1
            return self.seq

    # events
    def _event(self, rng, kind):
        mid = str(uuid.uuid4())
        seq = self._next_seq()
        ctx = {"ip": rng.choice(IPS), "userAgent": rng.choice(UAS), "locale": "en-GB"}
        props = {"run": self.ctx.run_id, "phase": self.rec.name, "seq": seq}
        if kind == "hello":
            user = self.ctx.hello_pool.take()
            if user is not None:
                return mid, True, {"type": "track", "event": "Hello", "userId": user, "messageId": mid,
                                   "properties": {**props, "x": seq}, "context": ctx}
            kind = "track"
        if kind == "identify":
            u = rng.choice(self.ctx.users)
            return mid, False, {"type": "identify", "userId": u["userId"], "messageId": mid,
                                "traits": {"name": u["name"]},
                                "context": {**ctx, "device": {"token": u["token"], "type": u["platform"]}}}
        if kind == "page":
            return mid, False, {"type": "page", "name": rng.choice(["Home", "Pricing", "Docs"]),
                                "anonymousId": f"anon-{rng.randrange(1000)}", "messageId": mid,
                                "properties": props, "context": ctx}
        if kind == "screen":
            return mid, False, {"type": "screen", "name": "Main", "userId": f"lu-{rng.randrange(500)}",
                                "messageId": mid, "properties": props, "context": ctx}
        return mid, False, {"type": "track", "event": rng.choice(["Load Event", "Order Completed", "Signed In"]),
                            "userId": f"lu-{rng.randrange(500)}", "messageId": mid,
                            "properties": {**props, "total": rng.randrange(1, 200)}, "context": ctx}

    def _kind(self, rng):
        if rng.random() < self.hello_fraction:
            return "hello"
        r = rng.random()
        return "identify" if r < 0.05 else "page" if r < 0.12 else "screen" if r < 0.17 else "track"

    def _good_request(self, rng):
        r = rng.random()
        if r < 0.6:
            events = [self._event(rng, self._kind(rng)) for _ in range(rng.randint(5, 20))]
            body = {"batch": [e[2] for e in events], "sentAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            return "/v1/batch", body, events
        mid, hello, ev = self._event(rng, self._kind(rng))
        path = {"track": "/v1/track", "identify": "/v1/identify", "page": "/v1/page", "screen": "/v1/screen"}[ev["type"]]
        body = dict(ev)
        body.pop("type")
        return path, body, [(mid, hello, ev)]

    def _loop(self, rng: random.Random, index: int):
        per_thread = self.rate / len(self.threads)
        next_at = now() + rng.random() * 0.05
        conn = None
        port = self.ctx.stack.ports["tracker"]
        while not self.stop_event.is_set():
            delay = next_at - now()
            if delay > 0 and self.stop_event.wait(delay):  # pacing, not synchronisation
                break
            if now() - next_at > 1.0:  # far behind (a fault): do not burst afterwards
                next_at = now()
            if rng.random() < self.bad_ratio:
                self._send_bad(rng, port)
                next_at += 5 / per_thread  # a bad request stands for a batch-sized share of the rate
                continue
            path, body, events = self._good_request(rng)
            next_at += len(events) / per_thread
            data = json.dumps(body, separators=(",", ":")).encode()
            with self.rec.lock:
                self.rec.requests += 1
                self.rec.sent += len(events)
                self.rec.hello_sent += sum(1 for e in events if e[1])
            status, reply = None, b""
            started = now()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, port, timeout=15)
                conn.request("POST", path, data, {"Content-Type": "application/json", "Authorization": AUTH})
                resp = conn.getresponse()
                status, reply = resp.status, resp.read()
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                if conn is not None:
                    conn.close()
                conn = None
                with self.rec.lock:
                    self.rec.results[f"error:{type(e).__name__}"] += 1
                continue
            t = now()
            code = json_error_code(reply) if status >= 400 else None
            with self.rec.lock:
                self.rec.results[str(status)] += 1
                self.rec.max_request_s = max(self.rec.max_request_s, t - started)
                self.rec.max_by_status[str(status)] = max(self.rec.max_by_status.get(str(status), 0.0), t - started)
                if code:
                    self.rec.error_codes[code] += 1
                if 200 <= status < 300:
                    refused = set()
                    try:
                        doc = json.loads(reply)
                        for item in doc.get("rejected") or []:
                            refused.add(item.get("index"))
                    except (ValueError, AttributeError):
                        pass
                    if refused:
                        self.rec.rejected_members += len(refused)
                        self.rec.error_codes["invalid_event"] += len(refused)
                        self.rec.good_refused_count += 1
                        if len(self.rec.good_refused) < 20:
                            self.rec.good_refused.append(f"{status} {path}: members refused: {reply[:300]!r}")
                    for i, (mid, hello, _) in enumerate(events):
                        if i in refused:
                            continue
                        self.rec.acked[mid] = t
                        if hello:
                            self.rec.hello_acked.add(mid)
                elif 400 <= status < 500:
                    self.rec.good_refused_count += 1
                    if len(self.rec.good_refused) < 20:
                        self.rec.good_refused.append(f"{status} {path}: {reply[:300]!r}")

    # bad input
    def _send_bad(self, rng, port):
        with self.seq_lock:  # every category in turn, so that a short burst has them all
            category = BAD_CATEGORIES[self.bad_seq % len(BAD_CATEGORIES)]
            self.bad_seq += 1
        category, path, headers, body, expected, ids = bad_request(rng, self.ctx.run_id, category)
        with self.rec.lock:
            self.rec.bad_requests += 1
            self.rec.bad_ids.update(ids)
        status, reply, error = raw_request(port, "POST", path, headers, body)
        code = json_error_code(reply) if status is not None else None
        with self.rec.lock:
            counts = self.rec.bad_by_category[category]
            counts[str(status) if status is not None else "no answer"] += 1
            if code:
                self.rec.error_codes[code] += 1
            if status is None or not 400 <= status < 500 or code is None:
                self.rec.bad_failures.append(
                    f"{category}: {error or status} {reply[:200]!r}")
            elif status != expected and len(self.rec.bad_unexpected) < 50:
                self.rec.bad_unexpected.append(f"{category}: {status} (expected {expected}) {reply[:200]!r}")


BAD_CATEGORIES = ["random_bytes", "truncated_json", "deep_nesting", "event_too_large", "request_too_large",
                  "invalid_utf8", "wrong_write_key", "no_write_key", "not_an_object", "batch_not_array",
                  "wrong_content_type"]


def bad_request(rng: random.Random, run_id: str, category: str):
    """(category, path, headers, body, expected status, messageIds inside)."""
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    ids = [str(uuid.uuid4()) for _ in range(3)]
    events = [{"type": "track", "event": "Bad Event", "userId": "bad-user", "messageId": m,
               "properties": {"run": run_id, "bad": True}} for m in ids]
    good = json.dumps({"batch": events}).encode()
    path, expected = "/v1/batch", 400
    if category == "random_bytes":
        body = b"{" + bytes(rng.getrandbits(8) for _ in range(511))
    elif category == "truncated_json":
        body = good[:rng.randrange(1, len(good) - 1)]
    elif category == "deep_nesting":
        path = "/v1/track"
        body = (f'{{"event":"Deep","userId":"bad-user","messageId":"{ids[0]}","properties":{{"a":'.encode()
                + b"[" * 5000 + b"]" * 5000 + b"}}")
    elif category == "event_too_large":
        path, expected = "/v1/track", 413
        body = json.dumps({"event": "Huge", "userId": "bad-user", "messageId": ids[0],
                           "properties": {"s": "x" * 40_000}}).encode()
    elif category == "request_too_large":
        expected = 413
        body = json.dumps({"batch": [dict(events[0], properties={"s": "y" * 600_000})]}).encode()
    elif category == "invalid_utf8":
        body = (f'{{"batch":[{{"type":"track","messageId":"{ids[0]}","userId":"bad-user","event":"'.encode()
                + b"\xc3\x28\xff" + b'"}]}')
    elif category == "wrong_write_key":
        expected = 401
        headers["Authorization"] = "Basic " + base64.b64encode(b"stolen-key:").decode()
        body = good
    elif category == "no_write_key":
        expected = 401
        del headers["Authorization"]
        body = good
    elif category == "not_an_object":
        body = rng.choice([b"[1,2,3]", b'"hello"', b"42", b"null", b"true", json.dumps(events).encode()])
    elif category == "batch_not_array":
        body = json.dumps({"batch": events[0]}).encode()
    else:  # wrong_content_type
        expected = 415
        headers["Content-Type"] = "text/xml"
        body = good
    return category, path, headers, body, expected, ids


# ---- the harness --------------------------------------------------------------------------


# -- webhook-endpoint: a partner's endpoint down under load ----------------------------


class WebhookEndpoint:
    """A local partner endpoint for postbacks' webhooks: 204 to every call, or
    503 (no Retry-After) while `down`; records each webhook-id's calls and the
    time of its first 2xx."""

    def __init__(self):
        import http.server
        endpoint = self
        self.lock = threading.Lock()
        self.down = False
        self.first_ok: dict[str, float] = {}       # webhook-id -> first 2xx answered
        self.ok_calls = collections.Counter()        # webhook-id -> 2xx answered
        self.refused_calls = collections.Counter()   # webhook-id -> 503 answered
        self.without_id = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                wid = self.headers.get("webhook-id")
                with endpoint.lock:
                    down = endpoint.down
                    if wid is None:
                        endpoint.without_id += 1
                    elif down:
                        endpoint.refused_calls[wid] += 1
                    else:
                        endpoint.ok_calls[wid] += 1
                        endpoint.first_ok.setdefault(wid, now())
                if down:
                    body = b'{"error":"down for maintenance"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _answer

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-endpoint", daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class PostbackLoad:
    """POST /v1/postback jobs of `objects` objects at `rate` webhooks/s to the
    tracker, each object a webhook to the endpoint; records the request ids
    of every 202 (the job's requestIds, each a webhook-id)."""

    def __init__(self, port: int, endpoint_port: int, run_id: str, rate: float, objects: int):
        self.port, self.endpoint_port, self.run_id = port, endpoint_port, run_id
        self.interval = objects / rate
        self.objects = objects
        self.lock = threading.Lock()
        self.accepted: dict[str, float] = {}   # request id -> 202 time
        self.jobs = 0
        self.results = collections.Counter()   # status or error kind
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="postbacks", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(30)

    def _loop(self):
        conn = None
        n = 0
        next_at = now()
        while not self.stopping.is_set():
            delay = next_at - now()
            if delay > 0:
                self.stopping.wait(delay)
            next_at += self.interval
            job = {"endpoint": {"method": "POST", "url": f"http://{HOST}:{self.endpoint_port}/hooks/{{id}}"},
                   "data": [{"id": f"{self.run_id}-{n + i}", "order": n + i, "status": "shipped"} for i in range(self.objects)]}
            n += self.objects
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=15)
                conn.request("POST", "/v1/postback", json.dumps(job), {"Content-Type": "application/json", "Authorization": AUTH})
                resp = conn.getresponse()
                body = resp.read()
                with self.lock:
                    self.jobs += 1
                    self.results[str(resp.status)] += 1
                    if resp.status == 202:
                        t = now()
                        for rid in json.loads(body)["requestIds"]:
                            self.accepted[rid] = t
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                with self.lock:
                    self.results[type(e).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


def webhook_endpoint_fault(chaos, rec: PhaseRecord):
    """The `webhook-endpoint` fault: postbacks flow to a local endpoint with the
    event load; the endpoint answers 503 for --webhook-outage seconds, then
    recovers. Returns what check_webhooks needs."""
    a, st = chaos.args, chaos.stack
    endpoint = WebhookEndpoint()
    load = PostbackLoad(st.ports["tracker"], endpoint.port, f"{chaos.run_id}-wh", a.webhook_rate, a.webhook_job_objects)
    load.start()
    try:
        chaos.pause(a.pre)
        with endpoint.lock:
            endpoint.down = True
        rec.fault_start = now()
        log(f"{rec.name}: the endpoint answers 503 for {a.webhook_outage:g}s")
        chaos.pause(a.webhook_outage)
        with endpoint.lock:
            endpoint.down = False
        rec.fault_end = now()
        log(f"{rec.name}: the endpoint answers 204 again")
        chaos.pause(a.post)
    finally:
        load.stop()
    rec.fault_detail = {"action": f"postbacks at {a.webhook_rate:g} webhooks/s (jobs of {a.webhook_job_objects}) to a local "
                                  f"endpoint; it answered 503 for {a.webhook_outage:g}s, then 204 again",
                        "down_s": round(rec.fault_end - rec.fault_start, 2)}
    return endpoint, load


def check_webhooks(chaos, rec: PhaseRecord, endpoint: WebhookEndpoint, load: PostbackLoad, result: dict):
    """Every accepted (202) postback request must reach the endpoint with a 2xx
    once it is back (by distinct webhook-id), within --webhook-settle-timeout."""
    a = chaos.args
    t0 = now()
    with load.lock:
        accepted = dict(load.accepted)
    while True:
        with endpoint.lock:
            missing = [r for r in accepted if r not in endpoint.first_ok]
        if not missing or now() - t0 > a.webhook_settle_timeout:
            break
        time.sleep(0.2)
    settle_s = now() - t0
    with endpoint.lock:
        first_ok = dict(endpoint.first_ok)
        ok_calls, refused = dict(endpoint.ok_calls), dict(endpoint.refused_calls)
        without_id = endpoint.without_id
    delivered = [r for r in accepted if r in first_ok]
    after = [first_ok[r] for r in delivered if first_ok[r] >= rec.fault_end]
    hit = [r for r in accepted if r in refused]
    metrics = {}
    try:
        m = chaos.stack.metrics("consumers")
        for name in ("beacon_webhooks_delivered_total", "beacon_webhooks_retried_total", "beacon_webhooks_failed_total",
                     "beacon_webhooks_deferred_total", "beacon_webhooks_enqueued_total", "beacon_webhooks_duplicate_requests_total"):
            metrics[name] = int(sum(v for k, v in m.items() if k == name or k.startswith(name + "{")))
    except (StackError, OSError) as e:
        metrics["error"] = str(e)
    w = {"jobs": load.jobs, "job_results": dict(load.results), "accepted": len(accepted), "delivered": len(delivered),
         "lost": len(missing), "lost_sample": missing[:20], "refused_during_outage": len(hit),
         "calls_503": sum(refused.values()), "calls_2xx": sum(ok_calls.values()),
         "delivered_more_than_once": sum(1 for r in delivered if ok_calls.get(r, 0) > 1),
         "unexpected_ids": sum(1 for r in ok_calls if r not in accepted), "calls_without_webhook_id": without_id,
         # from the endpoint's recovery: the first 2xx, and the last request accepted before it delivered
         "recovery_s": round(min(after) - rec.fault_end, 2) if after else None,
         "drained_s": round(max([0.0] + [first_ok[r] - rec.fault_end for r in delivered if accepted[r] < rec.fault_end]), 2),
         "settle_s": round(settle_s, 2), "worker_metrics": metrics}
    result["webhooks"] = w
    if missing:
        result["problems"].append(f"{len(missing)} of {len(accepted)} accepted postback webhooks never delivered "
                                  f"(no 2xx by webhook-id {a.webhook_settle_timeout:g}s after the load stopped)")
    if not accepted:
        result["problems"].append("no postback job was accepted: the fault tested nothing")
    elif not hit:
        result["problems"].append("no webhook reached the endpoint while it was down: the fault tested nothing")
    refused_jobs = {k: v for k, v in load.results.items() if k != "202"}
    if refused_jobs:
        result["problems"].append(f"postback jobs not accepted: {refused_jobs}")
    result["ok"] = not result["problems"]


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.run_id = uuid.uuid4().hex[:10]
        self.stack: Stack | None = None
        self.collector: Collector | None = None
        self.users: list[dict] = []
        self.hello_pool: HelloPool | None = None
        self.problems: list[str] = []
        self.crashes: list[dict] = []
        self.phases: list[dict] = []
        self.setup: dict = {}
        self.admin = None
        self.lag_error = None
        self.lag_detail: dict = {}
        self.current: PhaseRecord | None = None
        self.stuck_since: dict[str, str] = {}  # consumer group -> first phase it did not catch up in
        self.restarted_for: set[str] = set()   # groups whose service was already restarted once

    # -- stack
    def start(self):
        a = self.args
        log(f"chaos: run {self.run_id}, seed {a.seed}, {a.rate:g} events/s on {a.threads} threads, "
            f"binaries {a.bin_dir}, work folder {a.work_dir}")
        log("chaos: Kafka outages are emulated by a TCP proxy in front of Tansu (memory-only): stopping "
            "'the broker' closes every client connection and refuses new ones; Tansu keeps its data, as a "
            "real Kafka keeps it on disk. Redis and MongoDB are really stopped and started.")
        t0 = now()
        self.stack = Stack(ROOT, a.work_dir, a.bin_dir, log_level=a.log_level, kafka_proxy=True)
        self.stack.start_servers()
        # UDP intake on, as in make run (restart_service keeps it), and short
        # request timeouts so that the slow-clients phase stays short.
        self.udp_port = free_ports(1)[0]
        head_ms, body_ms = a.slow_timeouts_ms
        self.stack.start_service("tracker", {"BEACON_TRACKER_UDP_PORT": self.udp_port,
                                             "BEACON_TRACKER_REQUEST_HEAD_TIMEOUT_MS": head_ms,
                                             "BEACON_TRACKER_REQUEST_BODY_TIMEOUT_MS": body_ms})
        self.stack.start_service("enricher", {"BEACON_REDIS_CLAIM_IDLE_MS": a.claim_idle_ms,
                                              "BEACON_REDIS_CLAIM_INTERVAL_MS": min(1000, a.claim_idle_ms)})
        # Webhooks to the harness' endpoint on 127.0.0.1, and retries and the
        # breaker's probe soon enough for webhook-endpoint to recover in the run.
        self.stack.start_service("consumers", {"BEACON_WEBHOOKS_ALLOW_PRIVATE": "true",
                                               "BEACON_WEBHOOKS_FIRST_RETRY_MS": a.webhook_first_retry_ms,
                                               "BEACON_WEBHOOKS_BREAKER_COOLDOWN_MS": a.webhook_breaker_cooldown_ms})
        self.stack.start_service("pusher")
        self.stack.start_service("liveview")
        self.setup["stack_start_s"] = round(now() - t0, 2)
        log(f"chaos: stack up in {now() - t0:.1f}s: ports {self.stack.ports}")
        self.collector = Collector(self.stack.kafka_brokers, self.run_id)
        self.collector.start()
        self.collector.ready.wait(30)
        if self.collector.failure:
            raise StackError(f"collector: {self.collector.failure}")

    def register_devices(self):
        """identify with a device token for each pool user; wait until MongoDB has them all."""
        import pymongo
        t0 = now()
        rng = self.rng
        for i in range(self.args.users):
            platform = "ios" if i % 2 == 0 else "android"
            self.users.append({"userId": f"pu-{self.run_id}-{i}", "name": f"User {i}", "platform": platform,
                               "token": random_token(rng, platform)})
        self.hello_pool = HelloPool(self.users)
        ids = []
        conn = http.client.HTTPConnection(HOST, self.stack.ports["tracker"], timeout=30)
        for start in range(0, len(self.users), 100):
            batch = []
            for u in self.users[start:start + 100]:
                mid = str(uuid.uuid4())
                ids.append(mid)
                batch.append({"type": "identify", "userId": u["userId"], "messageId": mid,
                              "traits": {"name": u["name"]},
                              "context": {"ip": rng.choice(IPS), "device": {"token": u["token"],
                                                                            "type": u["platform"]}}})
            conn.request("POST", "/v1/batch", json.dumps({"batch": batch}),
                         {"Content-Type": "application/json", "Authorization": AUTH})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or b"rejected" in body:
                raise StackError(f"registering devices: {resp.status} {body[:300]!r}")
        conn.close()
        client = pymongo.MongoClient(self.stack.mongo_url, serverSelectionTimeoutMS=5000)
        wanted = {u["userId"] for u in self.users}
        deadline = now() + self.args.settle_timeout
        count = 0
        try:
            while True:
                count = client.beacon.devices.count_documents({"app": "demo", "userId": {"$in": list(wanted)}})
                with self.collector.lock:
                    seen = sum(1 for m in ids if m in self.collector.events)
                if count >= len(wanted) and seen == len(ids):
                    break
                if now() > deadline:
                    raise StackError(f"registering devices: after {self.args.settle_timeout}s MongoDB has "
                                     f"{count}/{len(wanted)} devices, beacon.events {seen}/{len(ids)} identifies")
                time.sleep(0.2)
        finally:
            client.close()
        self.setup["devices_registered"] = count
        self.setup["register_s"] = round(now() - t0, 2)
        log(f"chaos: {count} push devices registered in {now() - t0:.1f}s")

    # -- phases
    def run_phase(self, name: str) -> dict:
        a, st = self.args, self.stack
        rec = PhaseRecord(name)
        self.current = rec
        hello = a.push_hello_fraction if name in PUSH_PHASES else a.hello_fraction
        bad_ratio = a.bad_ratio if name == "bad-input" else 0.0
        seed = self.rng.randrange(1 << 30)
        before_pids = {s: st.pid(s) for s in SERVICES}
        tracker_metrics = st.metrics("tracker") if name in ("bad-input", "udp-burst", "slow-clients") else None
        rec.udp_before = tracker_metrics if name == "udp-burst" else None
        load = Load(self, rec, a.rate, hello, bad_ratio, seed)
        log(f"{name}: load on")
        load.start()
        try:
            self.apply_fault(name, rec)
            self.pause(a.post)
        finally:
            load.stop()
        log(f"{name}: load off ({rec.sent} events sent, {len(rec.acked)} acknowledged, "
            f"{rec.bad_requests} bad requests); waiting for delivery")
        settle_s, settled = self.settle(rec)
        result = self.evaluate(rec, settle_s, settled)
        if name == "bad-input":
            self.check_rejections(rec, tracker_metrics, before_pids, result)
        if name == "udp-burst":
            self.check_udp(rec, before_pids, result)
        if name == "slow-clients":
            self.check_slow_clients(rec, tracker_metrics, before_pids, result)
        if name == "webhook-endpoint":
            check_webhooks(self, rec, *rec.webhooks, result)
        self.check_services(result)
        result["metrics"] = self.snapshot_metrics()
        self.phases.append(result)
        log(f"{name}: {'ok' if result['ok'] else 'FAILED: ' + '; '.join(result['problems'])}"
            + "".join(f"; WARNING: {w}" for w in result.get("warnings", []) if w not in result["problems"]))
        self.restart_stalled(result)
        self.write_json(partial=True)
        return result

    def restart_stalled(self, result):
        """A service whose consumer group did not catch up is restarted
        (SIGTERM, then started) after the phase was recorded as failed, so that
        the next phases measure their own fault rather than this one's."""
        owners = {"beacon-registry": "consumers", "beacon-rules": "consumers", "beacon-counters": "consumers",
                  "beacon-pusher": "pusher"}
        groups = [g for g, v in (result.get("consumer_group_lag") or {}).items() if v and g not in self.restarted_for]
        self.restarted_for.update(groups)
        stalled = sorted({owners[g] for g in groups})
        for service in stalled:
            log(f"{result['fault']}: restarting {service} (SIGTERM + start) so that the next phases start from a "
                f"working stack; the finding above stays recorded")
            t0 = now()
            self.stack.restart_service(service)
            result.setdefault("restarted_after_phase", []).append(
                {"service": service, "restart_s": round(now() - t0, 2)})

    def pause(self, seconds):
        """Keep the load running for a while: part of the fault's definition, not synchronisation."""
        time.sleep(seconds)

    def apply_fault(self, name, rec: PhaseRecord):
        a, st = self.args, self.stack
        if name.startswith("kill-"):
            service = name[5:]
            lo, hi = a.kill_window
            at = self.rng.uniform(lo, hi)
            self.pause(at)
            busy = self.wait_busy(service)
            pid = st.pid(service)
            rec.fault_start = now()
            st.kill_service(service)  # SIGKILL, waits until it is gone
            killed = now()
            st.restart_service(service)
            rec.fault_end = now()
            rec.fault_detail = {"action": f"kill -9 {service} (pid {pid}) {rec.fault_start - rec.load_start:.2f}s "
                                          f"into the load{busy[1]}, restarted at once",
                                "killed_pid": pid, "new_pid": st.pid(service), "busy_gauge": busy[0],
                                "restart_s": round(rec.fault_end - killed, 2)}
            log(f"{name}: killed pid {pid} at +{rec.fault_start - rec.load_start:.1f}s{busy[1]}, restarted as {st.pid(service)} "
                f"(healthy after {rec.fault_end - killed:.2f}s)")
        elif name in ("redis", "kafka", "mongo"):
            self.pause(a.pre)
            stop, start = {"redis": (st.stop_redis, st.start_redis), "kafka": (st.stop_kafka, st.start_kafka),
                           "mongo": (st.stop_mongo, st.start_mongo)}[name]
            rec.fault_start = now()
            stop()
            log(f"{name}: stopped for {a.outage:g}s" + (" (proxy closed)" if name == "kafka" else ""))
            self.pause(max(0.0, a.outage - (now() - rec.fault_start)))
            restart_at = now()
            start()
            rec.fault_end = now()
            how = ("all client connections closed at the proxy, new ones refused (Tansu kept running: emulates "
                   "a broker restart that keeps its data)") if name == "kafka" else "SIGTERM, then started again"
            rec.fault_detail = {"action": f"{name} stopped for {a.outage:g}s: {how}",
                                "down_s": round(restart_at - rec.fault_start, 2),
                                "start_s": round(rec.fault_end - restart_at, 2)}
            log(f"{name}: back after {rec.fault_end - rec.fault_start:.1f}s")
        elif name == "bad-input":
            rec.fault_start = now()
            self.pause(a.bad_duration)
            rec.fault_end = now()
            rec.fault_detail = {"action": f"{a.bad_ratio:.0%} of requests corrupted for {a.bad_duration:g}s"}
        elif name == "udp-burst":
            rec.fault_start = now()
            sent = self.udp_burst(rec, a.udp_rate, a.bad_duration, a.bad_ratio)
            rec.fault_end = now()
            rec.fault_detail = {"action": f"{sent} datagrams at {a.udp_rate:g}/s for {a.bad_duration:g}s to UDP port "
                                          f"{self.udp_port}, {a.bad_ratio:.0%} corrupted, HTTP load meanwhile"}
        elif name == "slow-clients":
            self.slow_client_flood(rec)
        elif name == "webhook-endpoint":
            rec.webhooks = webhook_endpoint_fault(self, rec)
        else:
            raise ValueError(name)

    # -- udp-burst
    UDP_CORRUPTIONS = {"truncated": "invalid_json", "flipped_brace": "invalid_json", "flipped_letter": "invalid_json",
                       "random_bytes": "invalid_json", "oversized": "too_large", "wrong_key": "unauthorized",
                       "missing_key": "unauthorized", "unknown_type": "invalid_body", "not_an_object": "invalid_body"}

    def udp_event(self, rng, rec):
        mid = str(uuid.uuid4())
        props = {"run": self.run_id, "phase": rec.name}
        kind = rng.choice(["track", "track", "page", "screen"])
        event = {"type": kind, "messageId": mid, "properties": props, "context": {"ip": rng.choice(IPS), "locale": "en-GB"}}
        if kind == "track":
            event.update(event=rng.choice(["Sensor Reading", "Button Pressed"]), userId=f"device-{rng.randrange(300)}")
        else:
            event.update(name=rng.choice(["Home", "Settings"]), anonymousId=f"dev-{rng.randrange(300)}")
        return mid, event

    def udp_datagram(self, rng, rec, corrupt: bool):
        """(bytes, category, expected outcome, messageIds it carries)."""
        if not corrupt:
            if rng.random() < 0.3:
                events = [self.udp_event(rng, rec) for _ in range(rng.randint(2, 5))]
                body = {"writeKey": WRITE_KEY, "batch": [e for _, e in events]}
                return json.dumps(body).encode(), "good_batch", "accepted", [m for m, _ in events]
            mid, event = self.udp_event(rng, rec)
            return json.dumps({**event, "writeKey": WRITE_KEY}).encode(), "good_event", "accepted", [mid]
        category = rng.choice(sorted(self.UDP_CORRUPTIONS))
        mid, event = self.udp_event(rng, rec)
        event["writeKey"] = WRITE_KEY
        good = json.dumps(event).encode()
        if category == "truncated":
            data = good[:rng.randint(1, len(good) - 1)]
        elif category == "flipped_brace":
            data = bytes([good[0] ^ 0x01]) + good[1:]
        elif category == "flipped_letter":  # a letter of the phase name gets its high bit: invalid UTF-8
            at = good.index(b'"phase": "') + len(b'"phase": "')
            data = good[:at] + bytes([good[at] ^ 0x80]) + good[at + 1:]
        elif category == "random_bytes":
            data = b"\xff" + rng.randbytes(rng.randint(10, 1000))
        elif category == "oversized":
            event["properties"]["blob"] = "x" * 40_000
            data = json.dumps(event).encode()
        elif category == "wrong_key":
            data = json.dumps({**event, "writeKey": "stolen"}).encode()
        elif category == "missing_key":
            data = json.dumps({k: v for k, v in event.items() if k != "writeKey"}).encode()
        elif category == "unknown_type":
            data = json.dumps({**event, "type": "purchase"}).encode()
        else:  # not_an_object
            data = json.dumps([event]).encode()
        return data, category, self.UDP_CORRUPTIONS[category], [mid]

    def udp_burst(self, rec, rate: float, seconds: float, bad_ratio: float) -> int:
        """Datagrams at `rate` for `seconds`, bad_ratio of them corrupted; returns how many were sent."""
        rng = random.Random(self.rng.randrange(1 << 30))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        start, sent = now(), 0
        try:
            while (t := now()) < start + seconds:
                if sent >= (t - start) * rate:
                    time.sleep(0.001)
                    continue
                data, category, outcome, ids = self.udp_datagram(rng, rec, rng.random() < bad_ratio)
                sock.sendto(data, (HOST, self.udp_port))
                sent += 1
                with rec.lock:
                    rec.udp_expected[outcome] += 1
                    rec.udp_by_category[category] += 1
                    (rec.udp_good if outcome == "accepted" else rec.udp_bad_ids).update(ids)
                    if outcome == "accepted":
                        rec.udp_good_datagrams.append(ids)
        finally:
            sock.close()
        log(f"udp-burst: {sent} datagrams sent ({dict(rec.udp_by_category)})")
        return sent

    def udp_status(self, rec):
        """(good events missing from beacon.events, kernel drops and outcome counts since the phase began)."""
        after = self.stack.metrics("tracker")
        before = rec.udp_before or {}
        drops = int(after.get("beacon_tracker_udp_socket_drops", 0) - before.get("beacon_tracker_udp_socket_drops", 0))
        prefix = 'beacon_tracker_udp_datagrams_total{outcome="'
        outcomes = {k[len(prefix):-2]: int(after.get(k, 0) - before.get(k, 0)) for k in after if k.startswith(prefix)}
        with self.collector.lock:
            missing = [m for m in rec.udp_good if m not in self.collector.events]
        return missing, drops, {k: v for k, v in outcomes.items() if v}

    def check_udp(self, rec, before_pids, result):
        problems = result["problems"]
        if self.stack.pid("tracker") != before_pids["tracker"]:
            problems.append("tracker restarted during the UDP burst: metric deltas not comparable")
        missing, drops, outcomes = self.udp_status(rec)
        expected = {k: v for k, v in rec.udp_expected.items() if v}
        with self.collector.lock:
            leaked = sorted(m for m in rec.udp_bad_ids if m in self.collector.events or m in self.collector.invalid)
            arrived = [sum(1 for m in ids if m in self.collector.events) for ids in rec.udp_good_datagrams]
        lost_datagrams = sum(1 for n in arrived if n == 0)
        partial = sum(1 for n, ids in zip(arrived, rec.udp_good_datagrams) if 0 < n < len(ids))
        # Each datagram the kernel dropped is missing from exactly one outcome's count.
        shortfall = {k: expected.get(k, 0) - outcomes.get(k, 0) for k in set(expected) | set(outcomes)}
        result["udp"] = {"datagrams": sum(expected.values()), "by_category": dict(rec.udp_by_category),
                         "good_events": len(rec.udp_good), "delivered": len(rec.udp_good) - len(missing),
                         "missing": len(missing), "missing_sample": missing[:20], "socket_drops": drops,
                         "expected_outcomes": expected, "outcome_deltas": outcomes, "leaked_ids": leaked[:20]}
        result["udp"].update(good_datagrams_missing=lost_datagrams, good_datagrams_partial=partial)
        # What the kernel dropped is missing as a whole; anything else missing is loss.
        if lost_datagrams != shortfall.get("accepted", 0) or partial:
            problems.append(f"{lost_datagrams} good datagrams missing from beacon.events ({partial} in part), but "
                            f"{shortfall.get('accepted', 0)} not counted accepted ({drops} kernel drops in all)")
        if any(v < 0 for v in shortfall.values()) or sum(shortfall.values()) != drops:
            problems.append(f"udp outcome deltas {outcomes} != datagrams sent {expected} less {drops} kernel drops")
        if leaked:
            problems.append(f"{len(leaked)} events of bad datagrams reached Kafka")
        result["ok"] = not problems

    def slow_client_flood(self, rec: PhaseRecord):
        """--slow-clients connections that stall, half in the head and half in
        the body; polls (bounded by the timeouts plus a margin) until the
        tracker has closed each of them, while the load goes on."""
        a, port = self.args, self.stack.ports["tracker"]
        head_ms, body_ms = a.slow_timeouts_ms
        self.pause(a.pre)
        connections.raise_fd_limit(a.slow_clients + 4096)
        half_head = f"POST /v1/batch HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Ty".encode()
        half_body = (f"POST /v1/batch HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                     f"Authorization: {AUTH}\r\nContent-Length: 4000\r\n\r\n{{\"batch\":[").encode()
        rec.fault_start = now()
        heads = connections.connect_many(port, a.slow_clients // 2, half_head)
        heads_open = now()
        bodies = connections.connect_many(port, a.slow_clients - len(heads), half_body)
        bodies_open = now()
        log(f"slow-clients: {len(heads)} connections stalled in the head, {len(bodies)} in the body "
            f"(opened in {bodies_open - rec.fault_start:.1f}s)")
        closed_at: dict[str, float] = {}
        counts = {"head": 0, "body": 0}
        received: dict = {}
        deadline = bodies_open + (max(head_ms, body_ms) / 1000) + 20
        try:
            while now() < deadline and len(closed_at) < 2:
                for kind, socks in (("head", heads), ("body", bodies)):
                    if kind not in closed_at:
                        counts[kind] = connections.drain(socks, received)
                        if counts[kind] == len(socks):
                            closed_at[kind] = now()
                time.sleep(0.5)  # polling the sockets' state, not synchronisation
        finally:
            connections.close_all(heads + bodies)
        rec.fault_end = now()
        answers = collections.Counter(connections.status_of(received.get(s, b"")) or "none" for s in bodies)
        head_answers = collections.Counter(connections.status_of(received.get(s, b"")) or "none" for s in heads)
        rec.fault_detail = {
            "action": f"{len(heads)} connections stalled in the request head, {len(bodies)} in the body, "
                      f"while the load flowed (head timeout {head_ms} ms, body timeout {body_ms} ms)",
            "stalled_in_head": len(heads), "stalled_in_body": len(bodies),
            "closed_in_head": counts["head"], "closed_in_body": counts["body"],
            "head_closed_all_after_s": round(closed_at["head"] - heads_open, 2) if "head" in closed_at else None,
            "body_closed_all_after_s": round(closed_at["body"] - bodies_open, 2) if "body" in closed_at else None,
            "body_answers": dict(answers), "head_answers": dict(head_answers),
            "timeouts_ms": {"head": head_ms, "body": body_ms},
        }
        log(f"slow-clients: closed by the tracker: {counts['head']}/{len(heads)} head, {counts['body']}/{len(bodies)} "
            f"body (all after {rec.fault_detail['head_closed_all_after_s']}s / {rec.fault_detail['body_closed_all_after_s']}s); "
            f"body answers {dict(answers)}")

    def group_lag(self) -> dict[str, int | None]:
        """Per consumer group: records of its topics (as far as the collector
        has read them) not yet committed by the group; None when unknown."""
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import AdminClient
        # A fresh client each time: one created before a broker outage was seen
        # to time out for good after it (librdkafka admin client, via the proxy).
        self.admin = AdminClient({"bootstrap.servers": self.stack.kafka_brokers, "logger": QuietKafkaLogger(),
                                  "log_level": 0})
        parts = dict(TOPICS)
        with self.collector.lock:
            ends = dict(self.collector.ends)
        lags = {}
        self.lag_detail = {}
        for group, topics in GROUPS.items():
            request = ConsumerGroupTopicPartitions(group, [TopicPartition(t, p) for t in topics for p in range(parts[t])])
            try:
                answer = self.admin.list_consumer_group_offsets([request], request_timeout=5)[group].result()
                lags[group] = 0
                for tp in answer.topic_partitions:
                    end = ends.get((tp.topic, tp.partition), 0)
                    lag = max(0, end - max(0, tp.offset))
                    lags[group] += lag
                    if lag:
                        detail = {"committed": tp.offset, "end": end}
                        if tp.topic.startswith("beacon.push."):
                            detail.update(self.push_range(tp.topic, tp.partition, max(0, tp.offset), end))
                        self.lag_detail[f"{group} {tp.topic}[{tp.partition}]"] = detail
            except Exception as e:
                lags[group] = None
                self.lag_error = f"{type(e).__name__}: {e}"
        self.admin = None
        return lags

    BUSY_GAUGES = {"tracker": "beacon_tracker_buffered_events", "enricher": "beacon_enricher_in_flight_events",
                   "pusher": "beacon_pusher_in_flight"}

    def wait_busy(self, service, bound=3.0):
        """After the random moment, poll (bounded) until the service reports
        work in hand (events in flight), so that the kill hits work under way.
        Returns (gauge value seen or None, text for the report)."""
        gauge = self.BUSY_GAUGES.get(service)
        if gauge is None:
            return None, ""
        deadline = now() + bound
        while now() < deadline:
            try:
                value = self.stack.metrics(service).get(gauge, 0.0)
            except (StackError, OSError):
                value = 0.0
            if value > 0:
                return value, f" with {gauge}={value:g}"
            time.sleep(0.005)
        return 0.0, f" ({gauge} stayed 0 for {bound:g}s)"

    def push_range(self, topic, partition, start, end):
        """What the uncommitted push requests of one partition are: how many
        have an outcome on beacon.push.feedback, and when they arrived
        (seconds relative to the current phase's fault start)."""
        c = self.collector
        ref = self.current.fault_start if self.current and self.current.fault_start else now()
        with c.lock:
            records = c.push_records.get((topic, partition), {})
            rows = [records[o] for o in range(start, end) if o in records]
            with_feedback = sum(1 for rid, _ in rows if rid in c.feedback_requests)
            times = [t - ref for _, t in rows]
            before_fault = sum(1 for o, (_, t) in records.items() if t < ref)
        return {"uncommitted_with_feedback": with_feedback, "uncommitted_records_read": len(rows),
                "uncommitted_arrived_s_from_fault": [round(min(times), 2), round(max(times), 2)] if times else None,
                "records_before_fault": before_fault}

    def settle(self, rec: PhaseRecord):
        """Poll until every acknowledged event is in beacon.events, every
        acknowledged Hello has feedback or a failed-topic entry, and every
        consumer group has committed everything."""
        t0 = now()
        deadline = t0 + self.args.settle_timeout
        c = self.collector
        lags, lag_checked = None, 0.0
        while True:
            with c.lock:
                missing = sum(1 for m in rec.acked if m not in c.events)
                push_missing = sum(1 for m in rec.hello_acked if m not in c.feedback and "rules" not in c.failed.get(m, ()))
            if rec.udp_before is not None and missing == 0:
                # Good datagrams have no acknowledgement: wait for all their events,
                # unless the kernel says it dropped datagrams (then check_udp does the sums).
                udp_missing, drops, _ = self.udp_status(rec)
                if udp_missing and not drops:
                    missing = len(udp_missing)
            if missing == 0 and push_missing == 0 and now() - lag_checked >= 1.0:
                lags, lag_checked = self.group_lag(), now()
                if all(v == 0 for v in lags.values()):
                    rec.lags, rec.lag_detail = lags, {}
                    return now() - t0, True
            if now() > deadline:
                rec.lags = self.group_lag()
                rec.lag_detail = dict(self.lag_detail)
                log(f"{rec.name}: after {self.args.settle_timeout:g}s still {missing} events and {push_missing} "
                    f"pushes missing; consumer group lag {rec.lags}")
                return now() - t0, False
            if c.failure:
                raise StackError(f"collector: {c.failure}")
            time.sleep(0.2)

    def evaluate(self, rec: PhaseRecord, settle_s: float, settled: bool) -> dict:
        c = self.collector
        problems = []
        with c.lock, rec.lock:
            acked = rec.acked
            delivered = [m for m in acked if m in c.events]
            lost = [m for m in acked if m not in c.events]
            dups = sum(c.events[m][1] - 1 for m in delivered)
            dup_ids = sum(1 for m in delivered if c.events[m][1] > 1)
            lost_invalid = {m: c.invalid[m] for m in lost if m in c.invalid}
            good_invalid = sum(1 for m in acked if m in c.invalid)
            unacked_delivered = None
            recovery = drained = None
            if rec.fault_end is not None and rec.name != "bad-input":
                after = [c.events[m][0] for m, t in acked.items() if t >= rec.fault_end and m in c.events]
                recovery = round(min(after) - rec.fault_end, 2) if after else None
                before = [c.events[m][0] for m, t in acked.items() if t < rec.fault_end and m in c.events]
                drained = round(max(0.0, max(before) - rec.fault_end), 2) if before else 0.0
            times = sorted(acked.values())
            edges = [rec.load_start] + times + [rec.load_end]
            gap = max((b - a for a, b in zip(edges, edges[1:])), default=0.0)
            hello_requested = sum(1 for m in rec.hello_acked if m in c.push_requests)
            hello_fb = [m for m in rec.hello_acked if m in c.feedback]
            hello_failed = [m for m in rec.hello_acked if m not in c.feedback and "rules" in c.failed.get(m, ())]
            hello_missing = [m for m in rec.hello_acked if m not in c.feedback and "rules" not in c.failed.get(m, ())]
            statuses = collections.Counter()
            extra_fb = 0
            for m in hello_fb:
                statuses.update(c.feedback[m])
                extra_fb += sum(c.feedback[m].values()) - 1
            failed_by_consumer = collections.Counter(x for m in acked for x in c.failed.get(m, ()))
            bad_leaked = sorted(m for m in rec.bad_ids if m in c.events or m in c.invalid)
        if lost:
            problems.append(f"{len(lost)} acknowledged events lost (not in beacon.events)")
        if hello_missing:
            problems.append(f"{len(hello_missing)} acknowledged Hello events without push feedback or failed entry")
        stalled = {g: v for g, v in (rec.lags or {}).items() if v}
        unknown = [g for g, v in (rec.lags or {}).items() if v is None]
        warnings = []
        done = self.work_done_but_uncommitted(rec)
        if done:
            warnings.append(
                f"{', '.join(done)}: committed offsets stuck behind records whose outcome is already on "
                f"beacon.push.feedback ({'; '.join(f'{k}: {v}' for k, v in rec.lag_detail.items())}): the work "
                f"is done but the commit does not advance; nothing lost, but they would be pushed again after "
                f"the next restart (--strict makes this a failure)")
            stalled = {g: v for g, v in stalled.items() if g not in done}
        if stalled:
            since = {g: self.stuck_since[g] for g in stalled if g in self.stuck_since}
            problems.append(f"consumer groups not caught up after the load stopped (uncommitted records): {stalled}"
                            + (f"; still stuck since phase {since} although the service was restarted after it"
                               if since else ""))
            for g in stalled:
                self.stuck_since.setdefault(g, rec.name)
        if unknown:
            problems.append(f"could not read the committed offsets of {unknown}: {self.lag_error}")
        if rec.good_refused_count:
            problems.append(f"{rec.good_refused_count} good requests refused (4xx or members rejected)")
        if rec.bad_failures:
            problems.append(f"{len(rec.bad_failures)} bad requests not answered 4xx + JSON error")
        if bad_leaked:
            problems.append(f"{len(bad_leaked)} events of refused requests reached Kafka")
        result = {
            "fault": rec.name, "action": rec.fault_detail.get("action"), "detail": rec.fault_detail,
            "load_s": round((rec.load_end or 0) - (rec.load_start or 0), 2),
            "requests": rec.requests, "sent": rec.sent, "acked": len(acked), "delivered": len(delivered),
            "duplicates": dups, "duplicated_ids": dup_ids, "lost": len(lost),
            "lost_sample": lost[:20], "lost_in_invalid_topic": lost_invalid,
            "acked_in_invalid_topic": good_invalid,
            "recovery_s": recovery, "drained_s": drained, "intake_gap_s": round(gap, 2),
            "settle_s": round(settle_s, 2), "settled": settled, "max_request_s": round(rec.max_request_s, 3),
            "max_request_s_by_status": {k: round(v, 3) for k, v in rec.max_by_status.items()},
            "request_results": dict(rec.results), "error_codes": dict(rec.error_codes),
            "failed_topic_by_consumer": dict(failed_by_consumer),
            "consumer_group_lag": rec.lags, "consumer_group_lag_detail": rec.lag_detail,
            "pushes": {"hello_sent": rec.hello_sent, "hello_acked": len(rec.hello_acked),
                       "with_push_request": hello_requested, "feedback": len(hello_fb), "in_failed_topic": len(hello_failed),
                       "missing": len(hello_missing), "missing_sample": hello_missing[:20],
                       "feedback_statuses": dict(statuses), "extra_feedback": extra_fb},
            "good_refused": rec.good_refused[:20],
        }
        if rec.bad_requests:
            result["bad_input"] = {
                "requests": rec.bad_requests,
                "by_category": {k: dict(v) for k, v in sorted(rec.bad_by_category.items())},
                "failures": rec.bad_failures[:50], "unexpected_status": rec.bad_unexpected[:50],
                "leaked_ids": bad_leaked[:20],
            }
        result["problems"] = problems
        result["warnings"] = warnings
        if self.args.strict:
            result["problems"] = problems = problems + warnings
        result["ok"] = not problems
        return result

    def work_done_but_uncommitted(self, rec) -> list[str]:
        """Groups whose every uncommitted record provably had its work done
        (today: beacon-pusher records that have feedback)."""
        out = []
        for group, lag in (rec.lags or {}).items():
            if not lag or group != "beacon-pusher":
                continue
            parts = [d for k, d in rec.lag_detail.items() if k.startswith(group + " ")]
            if parts and all(d.get("uncommitted_with_feedback") == d["end"] - max(0, d["committed"])
                             for d in parts) and sum(d["end"] - max(0, d["committed"]) for d in parts) == lag:
                out.append(group)
        return out

    def check_rejections(self, rec, before, before_pids, result):
        st = self.stack
        if st.pid("tracker") != before_pids["tracker"]:
            result["problems"].append("tracker restarted during bad input: metric deltas not comparable")
            result["ok"] = False
            return
        after = st.metrics("tracker")
        prefix = "beacon_tracker_requests_rejected_total{reason=\""
        deltas = {}
        for k in set(before) | set(after):
            if k.startswith(prefix):
                d = after.get(k, 0) - before.get(k, 0)
                if d:
                    deltas[k[len(prefix):-2]] = int(d)
        observed = {k: v for k, v in rec.error_codes.items() if v}
        result["bad_input"]["rejected_metric_delta"] = deltas
        result["bad_input"]["error_codes_received"] = observed
        if deltas != observed:
            result["problems"].append(f"rejected_total deltas {deltas} != error codes received {observed}")
            result["ok"] = False

    def check_slow_clients(self, rec, before, before_pids, result):
        """Every stalled connection closed within its timeout (plus polling and
        a loaded machine's margin), the stalled bodies answered 408, the
        closed-connection metric counting them, and no good request failing."""
        st, d = self.stack, rec.fault_detail
        problems = result["problems"]
        margin = 10.0
        for kind in ("head", "body"):
            took, limit = d[f"{kind}_closed_all_after_s"], d["timeouts_ms"][kind] / 1000 + margin
            if took is None:
                problems.append(f"{d[f'stalled_in_{kind}'] - d[f'closed_in_{kind}']} connections stalled in the {kind} "
                                f"still open at the end")
            elif took > limit:
                problems.append(f"connections stalled in the {kind} closed only after {took}s (timeout "
                                f"{d['timeouts_ms'][kind]} ms)")
        if d["body_answers"].get("408", 0) != d["stalled_in_body"]:
            problems.append(f"stalled bodies answered {d['body_answers']}, not 408 each")
        if st.pid("tracker") != before_pids["tracker"]:
            problems.append("tracker restarted during the slow-client flood")
        else:
            after = st.metrics("tracker")
            deltas = {}
            for reason in ("head_timeout", "body_timeout", "idle_timeout"):
                key = f'beacon_tracker_connections_closed_total{{reason="{reason}"}}'
                deltas[reason] = int(after.get(key, 0) - before.get(key, 0))
            d["closed_metric_delta"] = deltas
            if deltas["head_timeout"] < d["stalled_in_head"] or deltas["body_timeout"] < d["stalled_in_body"]:
                problems.append(f"connections_closed_total deltas {deltas} do not count the stalled connections")
        failed = {k: v for k, v in rec.results.items() if not k.startswith("2")}
        if failed:
            problems.append(f"good requests failed during the slow-client flood: {failed}")
        result["ok"] = not problems

    def check_services(self, result):
        st = self.stack
        exits = st.unexpected_exits()
        for e in exits:
            e["phase"] = result["fault"]
            self.crashes.append(e)
            result["problems"].append(f"{e['name']} exited unexpectedly (status {e['status']}, {e['log']})")
            log(f"{result['fault']}: {e['name']} EXITED UNEXPECTEDLY (status {e['status']}), see {e['log']}")
        health = {}
        for s in SERVICES:
            if s in [e["name"] for e in exits]:
                if s in ("tracker", "enricher", "consumers", "pusher", "liveview"):
                    try:
                        st.restart_service(s)  # so that the next phases can run
                    except StackError as err:
                        result["problems"].append(f"{s} could not be restarted: {err}")
            try:
                health[s] = st.http_get(s, "/healthz", 5)[0]
            except OSError as e:
                health[s] = str(e)
            if health[s] != 200:
                result["problems"].append(f"{s} /healthz: {health[s]}")
        result["healthz"] = health
        ready = {}
        for s in SERVICES:
            try:
                ready[s] = st.http_get(s, "/readyz", 5)
            except OSError as e:
                ready[s] = str(e)
        result["readyz"] = ready
        result["ok"] = not result["problems"]

    def snapshot_metrics(self):
        out = {}
        for s in SERVICES:
            try:
                out[s] = {k: v for k, v in self.stack.metrics(s).items()
                          if "_bucket{" not in k and not k.endswith(("_sum", "_count")) and "_sum{" not in k
                          and "_count{" not in k}
            except (StackError, OSError) as e:
                out[s] = {"error": str(e)}
        return out

    # -- output
    def summary(self) -> dict:
        ok = all(p["ok"] for p in self.phases) and not self.problems
        return {
            "warnings": [f"{p['fault']}: {w}" for p in self.phases for w in p.get("warnings", [])],
            "tool": "bench/chaos.py", "run_id": self.run_id, "mode": "short" if self.args.short else "full",
            "started_at": self.started_at, "duration_s": round(now() - self.t0, 1),
            "seed": self.args.seed, "rate": self.args.rate, "threads": self.args.threads,
            "bin_dir": self.args.bin_dir,
            "git_commit": git_commit(), "work_dir": self.args.work_dir,
            "logs": {n: os.path.join(self.args.work_dir, f"{n}.log")
                     for n in list(SERVICES) + ["redis", "kafka", "mongo"]},
            "kafka_outage_emulation": "TCP proxy in front of Tansu (memory-only broker): stop closes every "
                                      "client connection and refuses new ones; the broker keeps its data",
            "settings": {k: v for k, v in vars(self.args).items() if k not in ("faults",)},
            "setup": self.setup, "faults": [p["fault"] for p in self.phases],
            "phases": self.phases, "crashes": self.crashes, "problems": self.problems,
            "collector": self.collector_stats(), "ok": ok,
        }

    def collector_stats(self):
        c = self.collector
        if c is None:
            return {}
        with c.lock:
            return {"records": dict(c.records), "errors": dict(c.errors), "undecodable": c.undecodable,
                    "distinct_event_ids": len(c.events)}

    def write_json(self, partial=False):
        data = self.summary()
        data["complete"] = not partial
        path = self.args.json
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)

    def print_table(self):
        head = ["fault", "sent", "acked", "delivered", "dup", "lost", "recovery", "drained", "gap",
                "pushes fb/failed/miss", "result"]
        rows = []
        for p in self.phases:
            pu = p["pushes"]
            fmt = lambda v: "-" if v is None else f"{v:.2f}s"  # noqa: E731
            rows.append([p["fault"], p["sent"], p["acked"], p["delivered"], p["duplicates"], p["lost"],
                         fmt(p["recovery_s"]), fmt(p["drained_s"]), fmt(p["intake_gap_s"]),
                         f"{pu['feedback']}/{pu['in_failed_topic']}/{pu['missing']} of {pu['hello_acked']}",
                         ("ok" if not p.get("warnings") else "ok, warn") if p["ok"] else "FAILED"])
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        line = lambda r: "  ".join(str(x).rjust(w) if i not in (0, 10) else str(x).ljust(w)  # noqa: E731
                                   for i, (x, w) in enumerate(zip(r, widths)))
        print()
        print(line(head))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
        print()
        for p in self.phases:
            extra = []
            if p["fault"] == "bad-input" and "bad_input" in p:
                b = p["bad_input"]
                extra.append(f"bad requests: {b['requests']} ({', '.join(f'{k} {dict(v)}' for k, v in b['by_category'].items())})")
                extra.append(f"rejected_total deltas {b.get('rejected_metric_delta')} vs codes received "
                             f"{b.get('error_codes_received')}")
                if b["unexpected_status"]:
                    extra.append(f"4xx+JSON but not the expected status: {len(b['unexpected_status'])}, e.g. "
                                 f"{b['unexpected_status'][0]}")
            if p["fault"] == "udp-burst" and "udp" in p:
                u = p["udp"]
                extra.append(f"udp: {u['datagrams']} datagrams ({u['by_category']}); good events {u['good_events']}, "
                             f"in beacon.events {u['delivered']}, missing {u['missing']}, kernel drops {u['socket_drops']}")
                extra.append(f"udp outcome deltas {u['outcome_deltas']} vs sent {u['expected_outcomes']}")
            if p["fault"] == "kill-enricher":
                claimed = p["metrics"].get("enricher", {}).get("beacon_enricher_entries_claimed_total")
                extra.append(f"the restarted enricher claimed {int(claimed) if claimed is not None else '?'} entries "
                             f"the killed one left pending")
            if p["fault"] == "webhook-endpoint" and "webhooks" in p:
                w = p["webhooks"]
                fmt_s = lambda v: "-" if v is None else f"{v:.2f}s"  # noqa: E731
                extra.append(f"webhooks: {w['accepted']} accepted in {w['jobs']} jobs, {w['delivered']} delivered (2xx by "
                             f"webhook-id), {w['lost']} lost; {w['refused_during_outage']} got a 503 while it was down "
                             f"({w['calls_503']} calls); {w['delivered_more_than_once']} delivered more than once")
                extra.append(f"webhooks: first 2xx {fmt_s(w['recovery_s'])} after the endpoint was back, all delivered "
                             f"after {fmt_s(w['drained_s'])}; worker {w['worker_metrics']}")
            if p["failed_topic_by_consumer"]:
                extra.append(f"acknowledged events in beacon.events.failed by consumer: {p['failed_topic_by_consumer']}")
            if p["pushes"]["feedback_statuses"]:
                extra.append(f"push outcomes: {p['pushes']['feedback_statuses']}")
            non2xx = {k: v for k, v in p["request_results"].items() if k != "200"}
            if non2xx:
                extra.append(f"good requests not 2xx: {non2xx}")
            if p["max_request_s"] >= 1.0:
                extra.append("slowest answered request: " + ", ".join(
                    f"{k}: {v:.2f}s" for k, v in sorted(p["max_request_s_by_status"].items())))
            for prob in p["problems"]:
                extra.append(f"PROBLEM: {prob}")
            for w in p.get("warnings", []):
                if w not in p["problems"]:
                    extra.append(f"WARNING: {w}")
            for r in p.get("restarted_after_phase", []):
                extra.append(f"afterwards {r['service']} was restarted (SIGTERM + start) so that the next phases "
                             f"start from a working stack")
            print(f"{p['fault']}: {p['action']}")
            for e in extra:
                print(f"    {e}")
        print()
        print("recovery: from the fault's end (service healthy again / server answering) until the first event "
              "acknowledged after it is seen in beacon.events; drained: until the last event acknowledged before "
              "it is seen; gap: longest time without a 2xx at the tracker; pushes: acknowledged Hello events "
              "with feedback / in beacon.events.failed / missing.")
        print("kafka: the broker outage is emulated by a TCP proxy in front of Tansu (connections closed, new ones "
              "refused); Tansu keeps its data as a real Kafka keeps it on disk.")


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--bin-dir", default=".build/debug", help="where beacon-* are (default .build/debug)")
    p.add_argument("--work-dir", default=".chaos", help="logs and data (default .chaos)")
    p.add_argument("--short", action="store_true",
                   help="CI: only kill -9 of the enricher and a bad-input burst, small volumes")
    p.add_argument("--faults", help=f"comma-separated, in order, from {','.join(ALL_FAULTS)}")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--rate", type=float, default=None, help="events/s in all (default 300, short 100)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--users", type=int, default=None, help="users with a push device (default 400, short 40)")
    p.add_argument("--json", default=None,
                   help="result file (default bench/results/chaos-latest.json, short: chaos-short-latest.json)")
    p.add_argument("--settle-timeout", type=float, default=None, help="seconds to wait for delivery (default 90)")
    p.add_argument("--claim-idle-ms", type=int, default=5000)
    p.add_argument("--outage", type=float, default=10.0, help="seconds a server stays down (default 10)")
    p.add_argument("--udp-rate", type=float, default=1000.0, help="datagrams/s of the udp-burst fault (default 1000)")
    p.add_argument("--strict", action="store_true",
                   help="warnings (e.g. a consumer group whose commit is stuck although its work is done) fail the run")
    p.add_argument("--log-level", default="info")
    p.add_argument("--slow-clients", type=int, default=None, help="stalled connections of slow-clients (default 3000, short 300)")
    p.add_argument("--slow-timeouts-ms", default="5000,10000",
                   help="the tracker's request head and body timeouts, for slow-clients to wait less (default 5000,10000)")
    p.add_argument("--webhook-outage", type=float, default=30.0,
                   help="seconds webhook-endpoint's endpoint answers 503 (default 30)")
    p.add_argument("--webhook-rate", type=float, default=100.0, help="postback webhooks/s in webhook-endpoint (default 100)")
    p.add_argument("--webhook-job-objects", type=int, default=10, help="objects of each postback job (default 10)")
    p.add_argument("--webhook-first-retry-ms", type=int, default=1000,
                   help="the consumers' webhooks.firstRetryMs (default 1000)")
    p.add_argument("--webhook-breaker-cooldown-ms", type=int, default=1000,
                   help="the consumers' webhooks.breakerCooldownMs (default 1000; it doubles while probes fail)")
    p.add_argument("--webhook-settle-timeout", type=float, default=150.0,
                   help="seconds after the load stops for every accepted webhook to be delivered (default 150)")
    a = p.parse_args(argv)
    a.partial = bool(a.faults)
    a.faults = [f.strip() for f in a.faults.split(",") if f.strip()] if a.faults else \
        (SHORT_FAULTS if a.short else ALL_FAULTS)
    unknown = [f for f in a.faults if f not in ALL_FAULTS]
    if unknown:
        p.error(f"unknown faults {unknown}; choose from {ALL_FAULTS}")
    a.bin_dir, a.work_dir = os.path.abspath(a.bin_dir), os.path.abspath(a.work_dir)
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    a.rate = a.rate or (100.0 if a.short else 300.0)
    a.users = a.users or (40 if a.short else 400)
    a.slow_clients = a.slow_clients or (300 if a.short else 3000)
    a.slow_timeouts_ms = [int(x) for x in a.slow_timeouts_ms.split(",")]
    a.settle_timeout = a.settle_timeout or (40.0 if a.short else 90.0)
    # A run of some faults only does not replace the committed full or short result.
    default_json = "chaos-partial-latest.json" if a.partial else "chaos-short-latest.json" if a.short else "chaos-latest.json"
    a.json = os.path.abspath(a.json or os.path.join(HERE, "results", default_json))
    # timings (seconds)
    a.kill_window = (1.0, 3.0) if a.short else (2.0, 8.0)  # kill -9 at a random moment in here
    a.pre, a.post = (2.0, 2.0) if a.short else (3.0, 5.0)
    a.bad_duration = 4.0 if a.short else 15.0
    a.bad_ratio = 0.3
    a.hello_fraction, a.push_hello_fraction = 0.03, 0.1
    return a


def main(argv):
    args = parse_args(argv)
    exit_on_signals()
    chaos = Chaos(args)
    chaos.t0 = now()
    chaos.started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    status = 0
    try:
        chaos.start()
        chaos.register_devices()
        for name in args.faults:
            chaos.run_phase(name)
        left = chaos.hello_pool.remaining()
        log(f"chaos: Hello budget left {left} of {len(chaos.users) * PUSH_CAP}")
    except StackError as e:
        chaos.problems.append(f"harness: {e}")
        log(f"chaos: {e}")
        status = 2
    except KeyboardInterrupt:
        chaos.problems.append("interrupted")
        status = 130
    except Exception as e:  # a harness bug or an unexpected answer: report it, stop everything
        import traceback
        traceback.print_exc()
        chaos.problems.append(f"harness error: {type(e).__name__}: {e}")
        status = 2
    finally:
        if chaos.collector is not None:
            chaos.collector.stop()
        if chaos.stack is not None:
            log("chaos: stopping the stack")
            chaos.stack.close()
            late = chaos.stack.unexpected_exits()
            chaos.crashes += late
        if chaos.phases or chaos.problems:
            chaos.write_json()
    chaos.print_table()
    summary = chaos.summary()
    print(f"chaos: {'PASSED' if summary['ok'] else 'FAILED'} in {summary['duration_s']:.1f}s "
          f"({summary['mode']}, seed {args.seed}); results in {os.path.relpath(args.json, os.getcwd())}, "
          f"logs in {os.path.relpath(summary['work_dir'], os.getcwd())}/")
    if status:
        return status
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
