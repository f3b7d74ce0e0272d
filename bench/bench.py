#!/usr/bin/env python3
"""`make bench`: Beacon's release build on loopback, each figure measured in
the same run as the ceiling of this machine it is compared with.

    .deps/venv/bin/python bench/bench.py --bin-dir .build/release [--quick]

Rows (see the README's Performance section for what each means):
  tracker, single events   wrk against the tracker vs. nginx `return 204;`
                           (same script, connections and duration); every
                           accepted event is counted in Redis afterwards
  tracker, batches of 100  events/s vs. redis-benchmark XADD, pipeline 100
  tracker, UDP datagrams   one event a datagram, accepted into Redis, vs. a bare
                           recvmmsg sink on the same port fed by the same sender
                           (bench/udp/udpblast.c, flat out); then the loss at 80 %
                           of the tracker's own maximum (sent - stored, and what
                           the kernel says it dropped)
  enricher                 a pre-filled stream to Kafka on one core (taskset)
                           vs. librdkafka's own producer (beacon-bench
                           kafka-ceiling, same settings and messages, same core)
  end to end               beacon-bench latency at 1k, 10k events/s and rising
                           rates: tracker 2xx -> Kafka, and -> live view
  pusher                   notifications/s to the APNs stand-in vs. h2load
                           against the same server
  idle connection memory   RSS of a fresh tracker with 10,000 idle keep-alive
                           connections (each sent one good request, got its
                           200 and stays open) minus its RSS with none, per
                           connection (target: at most 8 KB)
  pinger                   one beacon-pinger with 10,000 mailbox registrations
                           against beacon-bench imap-load (an IDLE stand-in):
                           sessions idling and RSS, CPU over 30 s of idleness,
                           then new mail at 100/s for 30 s -> push request on
                           beacon.push.apns (p50/p99, exactly one push each)
  memory                   peak RSS (VmHWM) of each service

Writes bench/results/latest.json and bench/results/latest.png and prints a table.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "lib"))

import connections  # noqa: E402
import loadtools  # noqa: E402
import machine  # noqa: E402
import plot  # noqa: E402
import resp  # noqa: E402
from stack import Stack, exit_on_signals, free_ports, metric_sum, parse_prometheus  # noqa: E402

WRITE_KEY = "demo-write-key"
STREAM = "beacon:events"
CONNECTIONS = 32
TARGETS = {
    "tracker_vs_nginx": 0.5,
    "udp_vs_sink": 0.5,
    "enricher_events_per_second": 100_000,
    "e2e_p99_ms_at_10k": 50,
    "pusher_per_second": 10_000,
    "tracker_rss_mib": 64,
    "idle_connection_bytes": 8 * 1024,
    "pinger_sessions": 10_000,
    "pinger_rss_mib": 256,
    "pinger_idle_cpu_percent": 2,
    "pinger_push_p99_ms": 1000,
    "webhooks_vs_wrk": 0.5,
    "webhooks_backlog_rss_growth_mib": 16,
}
IDLE_CONNECTIONS = 10_000
PINGER_SESSIONS = 10_000
PINGER_MAIL_RATE = 100


def say(*parts):
    print("bench:", *parts, file=sys.stderr, flush=True)


def wait_for(what: str, condition, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ---- inputs ------------------------------------------------------------------------


def user_agents(count: int, rng: random.Random) -> list[str]:
    """Real user agents: uap-core's test corpus (browsers, phones, bots)."""
    agents = set()
    for path in ("/usr/share/uap-core/tests/test_device.yaml", "/usr/share/uap-core/test_resources/firefox_user_agent_strings.yaml"):
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if line.startswith("- user_agent_string:") or line.startswith("user_agent_string:"):
                        ua = line.split(":", 1)[1].strip().strip("'\"")
                        if ua:
                            agents.add(ua)
        except OSError:
            pass
    agents = sorted(agents)
    rng.shuffle(agents)
    return agents[:count] or ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"]


def public_ips(count: int, rng: random.Random) -> list[str]:
    """Random addresses outside private, reserved and multicast ranges."""
    out = []
    while len(out) < count:
        a = rng.randint(1, 223)
        if a in (10, 100, 127, 169, 172, 192, 198, 203):
            continue
        out.append(f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    return out


def track_event(seq: int, agents: list[str], ips: list[str], message_id: str | None = None) -> dict:
    event = {"type": "track", "event": "Order Completed", "userId": f"user-{seq % 5000}",
             "properties": {"sequence": seq, "plan": "pro", "amount": 12.5},
             "context": {"ip": ips[seq % len(ips)], "userAgent": agents[seq % len(agents)],
                         "library": {"name": "beacon-bench", "version": "1"}}}
    if message_id:
        event["messageId"] = message_id
    return event


# ---- rows ----------------------------------------------------------------------------


def row(name: str, value: float, unit: str, ceiling: float | None = None, ceiling_name: str = "", **extra) -> dict:
    r = {"row": name, "value": round(value, 1), "unit": unit}
    if ceiling:
        r.update(ceiling=round(ceiling, 1), ceiling_name=ceiling_name, ratio=round(value / ceiling, 3))
    r.update(extra)
    return r


# Events in the stream, not entries: the tracker packs many events into one
# entry (a field each). Counted in Redis, a page of entries at a time.
# Events in the entries after ARGV[1] (an exclusive start id), at most
# ARGV[2] entries a call so that no call holds Redis (or our socket timeout)
# for long: returns {events, last id read, entries read}.
COUNT_EVENTS = """
local n, start, seen, limit = 0, ARGV[1], 0, tonumber(ARGV[2])
while seen < limit do
  local page = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', 5000)
  if #page == 0 then break end
  for i = 1, #page do n = n + #page[i][2] / 2 end
  seen = seen + #page
  start = '(' .. page[#page][1]
end
return {n, start, seen}
"""


class StreamEvents:
    """Counts the events appended to the stream since it was made (a lone
    event is one field pair, a packed entry one pair per event), reading
    only the entries it has not read yet."""

    PER_CALL = 5_000

    def __init__(self, stack: Stack):
        self.port = stack.ports["redis"]
        last = resp.command(self.port, "XREVRANGE", STREAM, "+", "-", "COUNT", "1")
        self.cursor = "(" + last[0][0] if last else "-"
        self.count = 0

    def read(self) -> int:
        while True:
            n, self.cursor, seen = resp.command(self.port, "EVAL", COUNT_EVENTS, "1", STREAM, self.cursor, str(self.PER_CALL))
            self.count += int(n)
            if int(seen) < self.PER_CALL:
                return self.count

    @classmethod
    def from_now(cls, stack: Stack) -> "StreamEvents":
        """A counter that starts once an earlier run's writes have settled."""
        counter = cls(stack)
        counter.settled()
        counter.count = 0
        return counter

    def settled(self) -> int:
        """The count once the tracker's writer has nothing left to write (two equal reads 200 ms apart)."""
        last = -1
        while True:
            now = self.read()
            if now == last:
                return now
            last = now
            time.sleep(0.2)


def bench_tracker(stack: Stack, work: str, seconds: int, agents, ips, results: dict):
    stack.start_service("tracker")
    single = json.dumps(track_event(1, agents, ips))
    single_lua = loadtools.wrk_script(os.path.join(work, "single.lua"), single, WRITE_KEY)
    batch = json.dumps({"batch": [track_event(i, agents, ips) for i in range(100)]})
    batch_lua = loadtools.wrk_script(os.path.join(work, "batch.lua"), batch, WRITE_KEY)

    nginx = loadtools.Nginx(work, free_ports(1)[0])
    try:
        say(f"nginx return 204, wrk -c{CONNECTIONS} {seconds}s")
        ceiling = loadtools.wrk(f"http://127.0.0.1:{nginx.port}/v1/track", single_lua, CONNECTIONS, seconds)
    finally:
        nginx.stop()

    stream = StreamEvents.from_now(stack)
    say(f"tracker single events, wrk -c{CONNECTIONS} {seconds}s")
    tracker = loadtools.wrk(stack.url("tracker", "/v1/track"), single_lua, CONNECTIONS, seconds)
    counted = stream.settled()
    results["rows"].append(row(
        "tracker, single events", tracker["requests_per_second"], "req/s", ceiling["requests_per_second"], "nginx return 204",
        accepted=tracker["accepted"], non_2xx=tracker["non_2xx"], counted_in_redis=counted,
        all_counted=counted >= tracker["accepted"], p50_ms=tracker["p50_ms"], p99_ms=tracker["p99_ms"],
        ceiling_p99_ms=ceiling["p99_ms"]))

    say(f"tracker batches of 100, wrk -c{CONNECTIONS} {seconds}s")
    stream = StreamEvents.from_now(stack)
    batches = loadtools.wrk(stack.url("tracker", "/v1/batch"), batch_lua, CONNECTIONS, seconds)
    counted = stream.settled()
    events_per_second = batches["accepted"] * 100 / seconds
    # The ceiling: what Redis takes of the same entries with the same pipeline depth.
    entry = resp.command(stack.ports["redis"], "XRANGE", STREAM, "-", "+", "COUNT", "1")[0][1][1]
    say("redis-benchmark XADD -P 100")
    redis_ceiling = loadtools.redis_benchmark_xadd(stack.ports["redis"], "bench:ceiling", entry, CONNECTIONS, 100,
                                                   max(200_000, int(events_per_second * seconds / 2)))
    resp.command(stack.ports["redis"], "DEL", "bench:ceiling")
    results["rows"].append(row(
        "tracker, batches of 100", events_per_second, "events/s", redis_ceiling["xadds_per_second"],
        "redis-benchmark XADD -P 100", requests_per_second=batches["requests_per_second"],
        accepted_events=batches["accepted"] * 100, counted_in_redis=counted,
        all_counted=counted >= batches["accepted"] * 100, p99_ms=batches["p99_ms"], entry_bytes=len(entry)))
    resp.command(stack.ports["redis"], "DEL", STREAM)


def udp_tool(work: str) -> str:
    """bench/udp/udpblast.c, compiled here: Python has no sendmmsg/recvmmsg."""
    out = os.path.join(work, "udpblast")
    subprocess.run(["cc", "-O2", "-o", out, os.path.join(HERE, "udp", "udpblast.c")], check=True)
    return out


def udp_send(tool: str, port: int, datagrams: str, rate: float, seconds: int) -> subprocess.Popen:
    return subprocess.Popen([tool, "send", str(port), datagrams, str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)


def udp_sink_ceiling(tool: str, port: int, datagrams: str, seconds: int) -> dict:
    """What a bare socket reading with recvmmsg takes from the sender, flat out."""
    sink = subprocess.Popen([tool, "sink", str(port), str(4 << 20)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if sink.stderr.readline().strip() != "ready":
            raise RuntimeError(f"udpblast sink did not start: {sink.stderr.read()[-500:]}")
        sender = udp_send(tool, port, datagrams, 0, seconds)
        sent = json.loads(sender.communicate(timeout=seconds + 30)[0])
        out = json.loads(sink.communicate(timeout=30)[0])
    finally:
        if sink.poll() is None:
            sink.kill()
    out["sent"] = sent["sent"]
    return out


def udp_tracker_run(stack: Stack, tool: str, port: int, datagrams: str, rate: float, seconds: int) -> dict:
    """One sender run against the tracker's UDP port: what it sent, what the
    tracker stored (its accepted counter and the events in the stream, once both stopped moving),
    the kernel's drops for the socket, and the stored rate from the first
    datagram sent to the last one stored."""
    accepted_metric = 'beacon_tracker_udp_datagrams_total{outcome="accepted"}'
    before = stack.metrics("tracker")
    stream = StreamEvents.from_now(stack)
    start = time.monotonic()
    sender = udp_send(tool, port, datagrams, rate, seconds)
    last_value, last_change = before.get(accepted_metric, 0), start
    while True:
        time.sleep(0.1)
        metrics = stack.metrics("tracker")
        value = metrics.get(accepted_metric, 0)
        t = time.monotonic()
        if value != last_value:
            last_value, last_change = value, t
        # Done once the sender finished and nothing was stored for 1.5 s
        # (longer than the drop gauge's 1 s refresh).
        if sender.poll() is not None and t - last_change > 1.5:
            break
    sent = json.loads(sender.communicate()[0])
    after = stack.metrics("tracker")

    def delta(name):
        return int(after.get(name, 0) - before.get(name, 0))
    accepted = delta(accepted_metric)
    other = {k.split('"')[1]: delta(k) for k in after if k.startswith("beacon_tracker_udp_datagrams_total{") and k != accepted_metric
             and delta(k)}
    drops = delta("beacon_tracker_udp_socket_drops")
    stored = stream.settled()
    return {"rate": rate, "sent": sent["sent"], "send_seconds": sent["seconds"], "accepted": accepted, "stored_in_redis": stored,
            "other_outcomes": other, "socket_drops": drops, "lost": sent["sent"] - accepted,
            "unexplained": sent["sent"] - accepted - drops - sum(other.values()),
            "per_second": accepted / (last_change - start) if last_change > start else 0.0}


def bench_udp(stack: Stack, work: str, seconds: int, agents, ips, results: dict):
    """UDP datagrams/s into Redis vs. a bare recvmmsg sink on the same port and
    the same sender; then 80 % of the tracker's own maximum, where nothing may
    be lost."""
    tool = udp_tool(work)
    datagrams = os.path.join(work, "udp-datagrams.txt")
    with open(datagrams, "w") as f:
        for i in range(1_000):
            event = track_event(i, agents, ips)
            event["writeKey"] = WRITE_KEY
            f.write(json.dumps(event, separators=(",", ":")) + "\n")
    port = free_ports(1)[0]
    say(f"udp: bare recvmmsg sink, sender flat out {seconds}s")
    ceiling = udp_sink_ceiling(tool, port, datagrams, seconds)

    if stack.running("tracker"):
        stack.kill_service("tracker", signal.SIGTERM)
    stack.start_service("tracker", env={"BEACON_TRACKER_UDP_PORT": port})
    wait_for("the tracker's UDP socket (/readyz)", lambda: stack.http_get("tracker", "/readyz", 2)[0] == 200, 30)
    say(f"udp: tracker, sender flat out {seconds}s")
    flat = udp_tracker_run(stack, tool, port, datagrams, 0, seconds)
    at80_rate = round(0.8 * flat["per_second"])
    say(f"udp: tracker, sender at {at80_rate:,}/s (80 % of its maximum) {seconds}s")
    at80 = udp_tracker_run(stack, tool, port, datagrams, at80_rate, seconds)
    results["rows"].append(row(
        "tracker, UDP datagrams", flat["per_second"], "datagrams/s", ceiling["per_second"], "recvmmsg sink, same sender",
        accepted_events=flat["accepted"], counted_in_redis=flat["stored_in_redis"],
        all_counted=flat["stored_in_redis"] >= flat["accepted"] and at80["stored_in_redis"] >= at80["accepted"],
        sent=flat["sent"], socket_drops=flat["socket_drops"], unexplained_loss=flat["unexplained"],
        sink_sent=ceiling["sent"], sink_drops=ceiling["drops"], at_80_percent=at80,
        datagram_bytes=os.path.getsize(datagrams) // 1_000, udp_rss_mib=machine.peak_rss_mib(stack.pid("tracker"))))
    resp.command(stack.ports["redis"], "DEL", STREAM)
def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def bench_idle_connections(stack: Stack, count: int, results: dict):
    """A fresh tracker's RSS with `count` idle keep-alive connections, each
    after one good request, minus its RSS with none (after a warm-up of a
    few hundred such connections opened and closed), per connection."""
    fd_limit = connections.raise_fd_limit(count + 1_024)  # the tracker inherits it
    if fd_limit < count + 256:
        raise RuntimeError(f"RLIMIT_NOFILE {fd_limit} is too low for {count} connections")
    if stack.running("tracker"):
        stack.kill_service("tracker", signal.SIGTERM)
    # Idle for the whole measurement, and room for all of them.
    stack.start_service("tracker", env={"BEACON_TRACKER_IDLE_TIMEOUT_MS": 600_000,
                                        "BEACON_TRACKER_MAX_CONNECTIONS": count + 100})
    port, pid = stack.ports["tracker"], stack.pid("tracker")
    body = json.dumps({"userId": "idle-user", "event": "Idle Connection", "properties": {"n": 1}}).encode()
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    request = (f"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
               f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    open_metric = "beacon_tracker_open_connections"

    warm = connections.connect_many(port, 300, request)
    connections.read_one_response_each(warm)
    connections.close_all(warm)
    wait_for("the warm-up connections to close", lambda: stack.metrics("tracker").get(open_metric, 0) <= 1, 30)
    time.sleep(1)  # let the loops settle before the baseline: not synchronisation
    before = rss_kib(pid)
    say(f"idle connections: {count} keep-alive connections, one request each")
    started = time.monotonic()
    socks = connections.connect_many(port, count, request)
    try:
        answers = connections.read_one_response_each(socks)
        opened_s = time.monotonic() - started
        open_now = wait_for(f"{count} open connections in {open_metric}",
                            lambda: (v := stack.metrics("tracker").get(open_metric, 0)) >= count and v, 30)
        time.sleep(2)  # idle, as the row says
        after = rss_kib(pid)
        still_open = stack.metrics("tracker").get(open_metric, 0)
    finally:
        connections.close_all(socks)
    per_connection = (after - before) * 1024 / count
    results["rows"].append(row(
        "tracker, idle connection memory", per_connection, "bytes/connection", None, "",
        connections=count, answers=answers, rss_before_mib=round(before / 1024, 1), rss_after_mib=round(after / 1024, 1),
        open_connections_metric=still_open, seen_open=open_now, opened_and_answered_s=round(opened_s, 1),
        target_bytes=TARGETS["idle_connection_bytes"], fd_limit=fd_limit))


def start_pinned(stack: Stack, name: str, cpu: int, **kwargs):
    """Start a service with every thread on one CPU (children inherit the
    affinity of the thread that forks them)."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        stack.start_service(name, **kwargs)
    finally:
        os.sched_setaffinity(0, before)


def bench_enricher(stack: Stack, tool: str, work: str, count: int, agents, ips, results: dict):
    cpu = max(os.sched_getaffinity(0))
    resp.command(stack.ports["redis"], "DEL", STREAM)
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def entries():
        for i in range(count):
            event = track_event(i, agents, ips, message_id=f"bench-enricher-{i}")
            event.update(receivedAt=now, timestamp=now, app="demo", writeKey=WRITE_KEY)
            yield json.dumps(event, separators=(",", ":")).encode()

    say(f"pre-filling {count} events into {STREAM}")
    resp.bulk_xadd(stack.ports["redis"], STREAM, "e", entries())
    say(f"enricher on CPU {cpu} until the stream is drained")
    start_pinned(stack, "enricher", cpu)
    samples = []
    acked = "beacon_enricher_entries_acknowledged_total"
    started = None

    def drained():
        nonlocal started
        value = metric_sum(stack.metrics("enricher"), acked)
        t = time.monotonic()
        if started is None and value > 0:
            started = (t, value)
        samples.append((t, value))
        return value >= count
    wait_for("the enricher to drain the stream", drained, timeout=600)
    t0, v0 = started
    t1, v1 = samples[-1]
    rate = (v1 - v0) / (t1 - t0) if t1 > t0 else float("nan")
    # The enricher's own entries hold one event each: XLEN is their count.
    left = resp.command(stack.ports["redis"], "XLEN", STREAM)
    rss = machine.peak_rss_mib(stack.pid("enricher"))
    stack.kill_service("enricher", signal.SIGTERM)

    # librdkafka alone, on the same core, with the messages the enricher wrote.
    sample_file = os.path.join(work, "enriched-samples.jsonl")
    take_samples(stack.kafka_brokers, "beacon.events", 2_000, sample_file)
    subprocess.run([os.path.join(ROOT, ".deps/bin/tansu"), "topic", "create", "--broker",
                    f"tcp://127.0.0.1:{stack.ports['kafka']}", "--partitions", "3", "beacon.bench"],
                   capture_output=True, check=False)
    say(f"kafka-ceiling: {count} messages on CPU {cpu}")
    out = subprocess.run(["taskset", "-c", str(cpu), tool, "kafka-ceiling", "--brokers", stack.kafka_brokers,
                          "--topic", "beacon.bench", "--count", str(count), "--samples", sample_file],
                         capture_output=True, text=True, env=tool_env(), timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"kafka-ceiling failed: {out.stderr[-1000:]}")
    ceiling = json.loads(out.stdout)
    results["rows"].append(row(
        "enricher, one core", rate, "events/s", ceiling["messages_per_second"], "librdkafka producer, same core",
        events=count, left_in_stream=left, distinct_user_agents=len(agents), mean_message_bytes=ceiling["mean_message_bytes"]))
    results["memory"]["enricher"] = rss


def take_samples(brokers: str, topic: str, count: int, path: str):
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-samples-{os.getpid()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    meta = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in meta.topics[topic].partitions])
    values = []
    deadline = time.monotonic() + 30
    while len(values) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            values.append(message.value())
    consumer.close()
    if not values:
        raise RuntimeError(f"no messages to sample on {topic}")
    with open(path, "wb") as f:
        f.write(b"\n".join(values) + b"\n")


def tool_env() -> dict:
    env = dict(os.environ)
    lib = os.path.join(ROOT, ".deps/lib")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def latency_run(stack: Stack, tool: str, work: str, rate: int, batch: int, seconds: float) -> dict:
    cmd = [tool, "latency", "--tracker", stack.url("tracker"), "--write-key", WRITE_KEY,
           "--brokers", stack.kafka_brokers, "--liveview", f"ws://127.0.0.1:{stack.ports['liveview']}/ws?token=dev-token",
           "--rate", str(rate), "--batch", str(batch), "--duration", str(seconds), "--connections", str(CONNECTIONS),
           "--user-agents", os.path.join(work, "user-agents.txt"), "--ips", os.path.join(work, "ips.txt")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), timeout=seconds + 180)
    if out.returncode != 0:
        raise RuntimeError(f"beacon-bench latency failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def sustained(result: dict) -> bool:
    """The rate held: at least 95 % of it accepted, nothing missing in Kafka,
    Kafka p99 under a second (a growing backlog shows there first)."""
    kafka = result["kafka"]
    return (result["accepted_per_second"] >= 0.95 * result["rate"] and kafka["missing"] == 0
            and kafka["p99_ms"] is not None and kafka["p99_ms"] < 1000)


def e2e_row(name: str, r: dict) -> dict:
    return row(
        name, r["accepted_per_second"], "events/s", None, "",
        rate=r["rate"], batch=r["batch"], kafka_p50_ms=r["kafka"]["p50_ms"], kafka_p99_ms=r["kafka"]["p99_ms"],
        kafka_p999_ms=r["kafka"]["p999_ms"], kafka_missing=r["kafka"]["missing"],
        live_p50_ms=r["liveview"]["p50_ms"], live_p99_ms=r["liveview"]["p99_ms"], live_p999_ms=r["liveview"]["p999_ms"],
        live_missing=r["liveview"]["missing"], live_dropped=r["liveview"]["dropped_reported"])


def highest_sustained(runs: list[dict]) -> dict | None:
    held = [r for r in runs if sustained(r)]
    return max(held, key=lambda r: r["rate"]) if held else None


def bench_end_to_end(stack: Stack, tool: str, work: str, quick: bool, results: dict):
    """First the intake path alone (tracker, enricher, live view) at 1k, 10k
    and rising rates; then the same 1k and 10k with the consumers running
    too, which on two cores share the CPU and the broker with the path."""
    stack.start_service("enricher")
    stack.start_service("liveview")
    short = 5 if quick else 15
    runs = []

    def run(label, rate, batch, seconds):
        say(f"end to end, {label} (batches of {batch}) for {seconds}s")
        result = latency_run(stack, tool, work, rate, batch, seconds)
        result["label"] = label
        runs.append(result)
        return result

    results["rows"].append(e2e_row("end to end, 1k events/s", run("1k events/s", 1_000, 1, short)))
    results["rows"].append(e2e_row("end to end, 10k events/s", run("10k events/s", 10_000, 10, short)))
    ramp = [20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 150_000]
    for rate in ramp[:2] if quick else ramp:
        if not sustained(run(f"{rate // 1000}k events/s", rate, 100, 5 if quick else 10)):
            break
    if best := highest_sustained(runs):
        results["rows"].append(e2e_row(f"end to end, highest sustained ({best['label']})", best))

    # From the end of the topic: the runs above left a million events behind.
    stack.start_service("consumers", env={"BEACON_KAFKA_AUTO_OFFSET_RESET": "latest"})
    results["rows"].append(e2e_row("+ consumers, 1k events/s", run("1k + consumers", 1_000, 1, short)))
    results["rows"].append(e2e_row("+ consumers, 10k events/s", run("10k + consumers", 10_000, 10, short)))
    results["end_to_end_runs"] = runs
    for name in ("tracker", "enricher", "consumers", "liveview"):
        rss = machine.peak_rss_mib(stack.pid(name))
        results["memory"][name] = max(rss or 0, results["memory"].get(name) or 0)


def bench_pusher(stack: Stack, tool: str, work: str, count: int, results: dict):
    from confluent_kafka import Producer
    apns_dir = os.path.join(work, "apns")
    for f in ("port", "jwt", "ca.pem", "key.p8"):
        if os.path.exists(os.path.join(apns_dir, f)):
            os.remove(os.path.join(apns_dir, f))
    standin = subprocess.Popen([tool, "apns-standin", "--dir", apns_dir, "--topic", "com.example.bench"],
                               stdout=subprocess.PIPE, stderr=open(os.path.join(work, "apns-standin.log"), "w"),
                               text=True, env=tool_env(), start_new_session=True)
    try:
        wait_for("the APNs stand-in", lambda: os.path.exists(os.path.join(apns_dir, "port")) or standin.poll() is not None, 60)
        if standin.poll() is not None:
            raise RuntimeError(f"the APNs stand-in exited; see {work}/apns-standin.log")
        port = int(open(os.path.join(apns_dir, "port")).read())
        rng = random.Random(5)
        tokens = ["".join(rng.choice("0123456789abcdef") for _ in range(64)) for _ in range(5_000)]
        topic = f"beacon.bench.apns.{os.getpid()}"
        subprocess.run([os.path.join(ROOT, ".deps/bin/tansu"), "topic", "create", "--broker",
                        f"tcp://127.0.0.1:{stack.ports['kafka']}", "--partitions", "3", topic], capture_output=True, check=True)
        say(f"pre-filling {count} push requests")
        producer = Producer({"bootstrap.servers": stack.kafka_brokers, "linger.ms": 20, "compression.codec": "lz4"})
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        for i in range(count):
            token = tokens[i % len(tokens)]
            request = {"requestId": f"bench-push-{i}", "app": "bench", "platform": "ios", "token": token,
                       "userId": f"user-{i % 5000}", "title": "Your order shipped", "body": f"Order {i} is on its way",
                       "data": {"order": str(i)}, "sound": "default", "priority": "high", "createdAt": now}
            while True:
                try:
                    producer.produce(topic, key=token, value=json.dumps(request))
                    break
                except BufferError:
                    producer.poll(0.05)
        if producer.flush(60) != 0:
            raise RuntimeError("could not pre-fill the push requests")

        def pusher_rate(dry_run: bool) -> float:
            """Notifications/s of a pusher with a group of its own over all `count` requests."""
            mode = "dry-run" if dry_run else "send"
            env = {"BEACON_PUSHER_DRY_RUN": "true" if dry_run else "false", "BEACON_APPS": "bench",
                   "BEACON_KAFKA_APNS_TOPIC": topic, "BEACON_KAFKA_GROUP": f"bench-pusher-{mode}-{os.getpid()}",
                   "BEACON_APNS_BENCH_TEAM_ID": "TEAM123456", "BEACON_APNS_BENCH_KEY_ID": "KEY1234567",
                   "BEACON_APNS_BENCH_KEY_FILE": os.path.join(apns_dir, "key.p8"), "BEACON_APNS_BENCH_TOPIC": "com.example.bench",
                   "BEACON_APNS_BENCH_ENVIRONMENT": "sandbox", "BEACON_APNS_BENCH_ENDPOINT": f"https://127.0.0.1:{port}",
                   "BEACON_APNS_BENCH_CA_FILE": os.path.join(apns_dir, "ca.pem")}
            say(f"pusher ({mode}) until {count} requests are done")
            stack.start_service("pusher", env=env)
            outcome = "dry_run" if dry_run else "delivered"
            done_metric = f'beacon_pusher_{outcome}_total{{app="bench",platform="ios"}}'
            samples = []

            def done():
                value = stack.metrics("pusher").get(done_metric, 0)
                samples.append((time.monotonic(), value))
                failed = metric_sum(stack.metrics("pusher"), "beacon_pusher_failed_total")
                if failed:
                    raise RuntimeError(f"the pusher reports {failed} failed pushes; see {work}/pusher/pusher.log")
                return value >= count
            wait_for(f"the pusher ({mode}) to finish", done, timeout=600)
            first = next((t, v) for t, v in samples if v > 0)
            rss = machine.peak_rss_mib(stack.pid("pusher"))
            results["memory"]["pusher"] = max(rss or 0, results["memory"].get("pusher") or 0)
            stack.kill_service("pusher", signal.SIGTERM)
            return (samples[-1][1] - first[1]) / (samples[-1][0] - first[0])

        # Without APNs: consuming, recording outcomes on the feedback topic,
        # committing. What is left of the real run's time is the sending.
        dry_rate = pusher_rate(dry_run=True)
        rate = pusher_rate(dry_run=False)

        body = os.path.join(work, "apns-payload.json")
        with open(body, "w") as f:
            json.dump({"aps": {"alert": {"title": "Your order shipped", "body": "Order 1 is on its way"}, "sound": "default"},
                       "order": "1"}, f)
        jwt = open(os.path.join(apns_dir, "jwt")).read().strip()
        # The pusher's own settings: apnsConnections (2) and concurrency (200) spread over them.
        say(f"h2load -n {count} -c 2 -m 100")
        ceiling = loadtools.h2load(f"https://127.0.0.1:{port}/3/device/{tokens[0]}", count, 2, 100,
                                   {"authorization": f"bearer {jwt}", "apns-topic": "com.example.bench",
                                    "apns-push-type": "alert", "apns-priority": "10"}, body)
        results["rows"].append(row("pusher, APNs", rate, "notifications/s", ceiling["requests_per_second"],
                                   "h2load, same server", notifications=count, h2load_2xx=ceiling["status_2xx"],
                                   dry_run_per_second=round(dry_rate, 1)))
    finally:
        if standin.poll() is None:
            standin.send_signal(signal.SIGTERM)
            try:
                out, _ = standin.communicate(timeout=20)
                results["apns_standin"] = json.loads(out) if out.strip() else None
            except (subprocess.TimeoutExpired, json.JSONDecodeError):
                standin.kill()


# ---- pinger ---------------------------------------------------------------------------


MAIL_APP = "bench"
MAIL_INFO = b"beacon mail credentials v1"


def pinger_keys(folder: str) -> tuple[str, bytes]:
    """A P-256 key pair as an operator makes one: the private PEM file (for
    the pinger) and the public key's uncompressed point (to seal to)."""
    from cryptography.hazmat.primitives import serialization
    os.makedirs(folder, exist_ok=True)
    private, public = os.path.join(folder, "pinger-key.pem"), os.path.join(folder, "pinger-key.pub.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", private],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", private, "-pubout", "-out", public], check=True, capture_output=True)
    with open(public, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    return private, key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


class MailSealer:
    """MailSealingPublicKey.seal (shared/Sources/BeaconSealing/MailSealing.swift)
    in Python: HPKE base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256,
    AES-256-GCM, the app's name as associated data;
    v1.<keyId>.<b64url(enc)>.<b64url(ct)>, keyId the first 8 bytes of the
    SHA-256 of the uncompressed point, in hex."""

    def __init__(self, point: bytes):
        import hashlib
        from pyhpke import AEADId, CipherSuite, KDFId, KEMId
        self.suite = CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)
        self.key = self.suite.kem.deserialize_public_key(point)
        self.key_id = hashlib.sha256(point).digest()[:8].hex()

    def seal(self, plaintext: bytes, app: str) -> str:
        enc, context = self.suite.create_sender_context(self.key, info=MAIL_INFO)
        ciphertext = context.seal(plaintext, aad=app.encode())

        def b64url(b):
            return base64.urlsafe_b64encode(b).decode().rstrip("=")
        return f"v1.{self.key_id}.{b64url(enc)}.{b64url(ciphertext)}"


def mail_registration(i: int, sealer: MailSealer, imap_port: int, expires_at: str, received_at: str) -> tuple[str, str, dict]:
    """User u<i> (password pw-u<i>, as imap-load wants), and the register
    message exactly as MailRegistration.json writes it."""
    import hashlib
    username = f"u{i:05d}"
    account = {"host": "127.0.0.1", "port": imap_port, "tls": "none", "username": username,
               "password": f"pw-{username}", "mailbox": "INBOX"}
    registration_id = f"bench-mail-{username}"
    message = {"type": "register", "registrationId": registration_id, "app": MAIL_APP,
               "device": {"token": hashlib.sha256(f"bench-mail-token-{i}".encode()).hexdigest(), "type": "ios"},
               "account": {"sealed": sealer.seal(json.dumps(account, separators=(",", ":")).encode(), MAIL_APP)},
               "notification": {"silent": False, "count": False, "alert": "New mail"},
               "expiresAt": expires_at, "receivedAt": received_at}
    return registration_id, username, message


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class PushTail(threading.Thread):
    """Reads a topic from its current end (the high watermarks, fixed before
    anything is delivered) and keeps (value, Kafka timestamp ms, consumed at ns)."""

    def __init__(self, brokers: str, topic: str):
        super().__init__(name="push-tail", daemon=True)
        from confluent_kafka import Consumer, TopicPartition
        self.consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-pinger-tail-{os.getpid()}",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        start = [TopicPartition(topic, p, self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
                 for p in partitions]
        self.consumer.assign(start)
        self.messages: list[tuple[bytes, int, int]] = []
        self.stopping = False

    def run(self):
        from confluent_kafka import TIMESTAMP_NOT_AVAILABLE
        while not self.stopping:
            for m in self.consumer.consume(1000, 0.1):
                if not m.error():
                    kind, timestamp_ms = m.timestamp()
                    self.messages.append((m.value(), None if kind == TIMESTAMP_NOT_AVAILABLE else timestamp_ms, time.time_ns()))

    def stop(self):
        self.stopping = True
        self.join(10)
        self.consumer.close()


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest rank; None when that rank is a missing one (inf)."""
    if not sorted_values:
        return None
    value = sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]
    return None if value == float("inf") else round(value, 1)


def match_pushes(deliveries: list[tuple[str, int, int, int]], pushes: list[tuple[bytes, int, int]],
                 user_of: dict[str, str]) -> dict:
    """Each new-mail push to the earliest delivery of its mailbox not yet
    pushed; a push with nothing left to match is a duplicate, a delivery with
    no push is missing. Latencies from the delivery to the push's Kafka
    timestamp, and to when this harness consumed it."""
    pending: dict[str, list[int]] = {}
    for index, (user, _, _, _) in enumerate(deliveries):
        pending.setdefault(user, []).append(index)
    kafka_ms: list[float] = [float("inf")] * len(deliveries)
    consumed_ms: list[float] = [float("inf")] * len(deliveries)
    duplicates = foreign = other_kinds = 0
    duplicated_users = set()
    request_ids = set()
    repeated_ids = 0
    without_timestamp = 0
    for value, timestamp_ms, consumed_ns in sorted(pushes, key=lambda p: p[2]):
        request = json.loads(value)
        data = request.get("data") or {}
        if request.get("rule") != "mail" or data.get("beacon") != "mail":
            other_kinds += 1  # e.g. mail.reregister after a refused login
            continue
        if request.get("requestId") in request_ids:
            repeated_ids += 1
        request_ids.add(request.get("requestId"))
        user = user_of.get(data.get("registrationId"))
        if user is None:
            foreign += 1
            continue
        if not pending.get(user):
            duplicates += 1
            duplicated_users.add(user)
            continue
        index = pending[user].pop(0)
        delivered_ns = deliveries[index][3]
        if timestamp_ms is None:
            without_timestamp += 1  # then the consume time stands in for it
            timestamp_ms = consumed_ns / 1e6
        kafka_ms[index] = timestamp_ms - delivered_ns / 1e6
        consumed_ms[index] = (consumed_ns - delivered_ns) / 1e6
    missing = sum(1 for v in kafka_ms if v == float("inf"))
    arrived = sorted(v for v in kafka_ms if v != float("inf"))
    exactly_one = sum(1 for i, (user, _, _, _) in enumerate(deliveries)
                      if kafka_ms[i] != float("inf") and user not in duplicated_users)
    kafka_ms.sort()
    consumed_ms.sort()
    return {"deliveries": len(deliveries), "pushes": len(pushes), "exactly_one": exactly_one,
            "missing": missing, "duplicates": duplicates, "repeated_request_ids": repeated_ids,
            "unknown_registrations": foreign, "other_pushes": other_kinds, "without_kafka_timestamp": without_timestamp,
            "push_p50_ms": percentile(kafka_ms, 0.5), "push_p99_ms": percentile(kafka_ms, 0.99),
            "push_max_ms": percentile(kafka_ms, 1.0),
            "arrived_p50_ms": percentile(arrived, 0.5), "arrived_p99_ms": percentile(arrived, 0.99),
            "consumed_p50_ms": percentile(consumed_ms, 0.5), "consumed_p99_ms": percentile(consumed_ms, 0.99)}


def bench_pinger(stack: Stack, tool: str, work: str, quick: bool, results: dict):
    """One pinger with PINGER_SESSIONS registrations against imap-load: the
    sessions it holds idling and its RSS, its CPU while they idle, then new
    mail at PINGER_MAIL_RATE/s and the time from each delivery to its push
    request on beacon.push.apns."""
    from confluent_kafka import Producer
    sessions = 1_000 if quick else PINGER_SESSIONS
    idle_seconds = 10 if quick else 30
    mail_seconds = 10 if quick else 30
    folder = os.path.join(work, "pinger")
    os.makedirs(folder, exist_ok=True)
    # Both processes inherit it: a descriptor per session on each side.
    fd_limit = connections.raise_fd_limit(sessions + 4_096)
    if fd_limit < sessions + 512:
        raise RuntimeError(f"RLIMIT_NOFILE {fd_limit} is too low for {sessions} sessions")
    key_file, point = pinger_keys(folder)
    sealer = MailSealer(point)

    status_file, deliveries_file = os.path.join(folder, "imap-load.status"), os.path.join(folder, "deliveries.txt")
    for f in (status_file, deliveries_file):
        if os.path.exists(f):
            os.remove(f)
    imap_log = open(os.path.join(folder, "imap-load.log"), "w")
    pinger_log = open(os.path.join(folder, "pinger.log"), "w")
    imap = subprocess.Popen([tool, "imap-load", "--status", status_file, "--deliveries", deliveries_file,
                             "--rate", str(PINGER_MAIL_RATE)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=imap_log, text=True,
                            env=tool_env(), start_new_session=True)
    pinger = None
    tail = None

    def imap_status() -> dict:
        if imap.poll() is not None:
            raise RuntimeError(f"imap-load exited ({imap.returncode}); see {folder}/imap-load.log")
        try:
            with open(status_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def pinger_alive():
        if pinger.poll() is not None:
            raise RuntimeError(f"the pinger exited ({pinger.returncode}); see {folder}/pinger.log:\n"
                               + open(os.path.join(folder, "pinger.log")).read()[-3000:])
        return True

    try:
        imap_port = wait_for("imap-load", lambda: imap_status().get("port"), 60)
        r = subprocess.run([os.path.join(ROOT, ".deps/bin/tansu"), "topic", "create", "--broker",
                            f"tcp://{stack.kafka_brokers}", "--partitions", "6", "beacon.mail.registrations"],
                           capture_output=True, text=True)
        if r.returncode != 0 and "already exists" not in r.stdout + r.stderr:
            raise RuntimeError(f"creating beacon.mail.registrations failed: {(r.stdout + r.stderr).strip()}")

        http_port = free_ports(1)[0]
        env = {k: v for k, v in tool_env().items() if not k.startswith("BEACON_")}
        env.update({"BEACON_HTTP_PORT": str(http_port), "BEACON_HTTP_HOST": "127.0.0.1",
                    "BEACON_KAFKA_BROKERS": stack.kafka_brokers, "BEACON_MONGO_URL": stack.mongo_url,
                    "BEACON_KAFKA_GROUP": f"bench-pinger-{os.getpid()}", "BEACON_KAFKA_SESSION_TIMEOUT_MS": "6000",
                    "BEACON_PINGER_PRIVATE_KEY_FILES": key_file, "BEACON_PINGER_ALLOW_PLAINTEXT": "true",
                    "BEACON_PINGER_ALLOW_PRIVATE_HOSTS": "true", "BEACON_LOG_LEVEL": "warning"})
        say(f"pinger: starting, then {sessions:,} registrations")
        pinger = subprocess.Popen([os.path.join(stack.bin_dir, "beacon-pinger"), "--config",
                                   os.path.join(ROOT, "services/pinger/pinger.yaml"), "--log-level", "warning"],
                                  stdin=subprocess.DEVNULL, stdout=pinger_log, stderr=subprocess.STDOUT, env=env,
                                  cwd=ROOT, start_new_session=True)

        # Ready, not only up: its groups have their partitions and MongoDB
        # answers, so the registrations are taken at once.
        def ready():
            pinger_alive()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=2) as answer:
                    return answer.status == 200
            except OSError:
                return False
        wait_for("the pinger's /readyz", ready, 90, 0.1)

        now = datetime.datetime.now(datetime.timezone.utc)
        expires_at = (now + datetime.timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
        received_at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        user_of = {}
        producer = Producer({"bootstrap.servers": stack.kafka_brokers, "linger.ms": 20})
        registered_at = time.monotonic()
        for i in range(1, sessions + 1):
            registration_id, username, message = mail_registration(i, sealer, imap_port, expires_at, received_at)
            user_of[registration_id] = username
            while True:
                try:
                    producer.produce("beacon.mail.registrations", key=registration_id,
                                     value=json.dumps(message, separators=(",", ":")))
                    break
                except BufferError:
                    producer.poll(0.05)
        if producer.flush(60) != 0:
            raise RuntimeError("could not produce the mail registrations")
        produced_s = time.monotonic() - registered_at
        say(f"pinger: {sessions:,} registrations on Kafka after {produced_s:.1f}s; waiting for them to idle")

        progress = []

        def all_idling():
            pinger_alive()
            s = imap_status()
            progress.append((round(time.monotonic() - registered_at, 1), s.get("idling", 0)))
            return s.get("idling", 0) >= sessions
        try:
            wait_for(f"{sessions:,} sessions idling in imap-load", all_idling, 120 if quick else 180, 0.5)
            idle_after_s = time.monotonic() - registered_at
        except RuntimeError as e:
            pinger_alive()  # a dead pinger ends the section; too few sessions do not
            # Measured all the same: the rows then say how many there were.
            say(f"pinger: {e}; got {imap_status().get('idling', 0):,}")
            idle_after_s = None
        pid = pinger.pid
        time.sleep(2)  # the last sessions' examine and watermark writes, before the baseline: not synchronisation
        rss_mib = proc_status_kib(pid, "VmRSS") / 1024
        status_before = imap_status()
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5) as answer:
            pinger_states = {k.split('"')[1]: v for k, v in parse_prometheus(answer.read().decode()).items()
                             if k.startswith("beacon_pinger_sessions{")}
        say(f"pinger: {status_before.get('idling', 0):,} idling, RSS {rss_mib:.1f} MiB; {idle_seconds}s of idle CPU")
        cpu0, t0 = proc_cpu_seconds(pid), time.monotonic()
        time.sleep(idle_seconds)
        cpu1, t1 = proc_cpu_seconds(pid), time.monotonic()
        pinger_alive()
        idle_cpu_percent = (cpu1 - cpu0) / (t1 - t0) * 100
        status_idle = imap_status()
        results["rows"].append(row(
            "pinger sessions", status_before.get("idling", 0), "sessions", None, "",
            rss_mib=round(rss_mib, 1), target="≤256 MB", registrations=sessions, connections=status_before.get("connections"),
            logged_in=status_before.get("loggedIn"), failed_logins=status_before.get("failedLogins"),
            pinger_session_states=pinger_states,
            all_idle_after_s=round(idle_after_s, 1) if idle_after_s is not None else None,
            registrations_produced_s=round(produced_s, 1), idle_progress=progress[::max(1, len(progress) // 30)]))
        results["rows"].append(row(
            "pinger idle CPU", idle_cpu_percent, "% of a core", None, "", cpu_percent=round(idle_cpu_percent, 3),
            seconds=round(t1 - t0, 1), sessions_idling=status_idle.get("idling"), target="<2 %"))

        tail = PushTail(stack.kafka_brokers, "beacon.push.apns")
        tail.start()
        say(f"pinger: new mail at {PINGER_MAIL_RATE}/s for {mail_seconds}s")
        imap.stdin.write(f"deliver {PINGER_MAIL_RATE} {mail_seconds}\n")
        imap.stdin.flush()
        time.sleep(mail_seconds)
        wait_for("imap-load to finish delivering", lambda: imap_status().get("delivering") is False, 30, 0.2)
        delivered = imap_status().get("delivered", 0)

        # Until every delivery has its push, or none came for 5 s.
        last = (len(tail.messages), time.monotonic())

        def settled():
            nonlocal last
            pinger_alive()
            n = len(tail.messages)
            if n != last[0]:
                last = (n, time.monotonic())
            return n >= delivered or time.monotonic() - last[1] > 5
        wait_for("the pushes of every delivery", settled, 120, 0.2)
        time.sleep(1)  # duplicates right behind the last push: not synchronisation
        tail.stop()
        imap.stdin.write("flush\n")
        imap.stdin.flush()
        time.sleep(0.5)
        with open(deliveries_file) as f:
            deliveries = [(u, int(v), int(n), int(t)) for u, v, n, t in (line.split() for line in f if line.strip())]
        m = match_pushes(deliveries, tail.messages, user_of)
        results["rows"].append(row(
            # Beyond 1 % missing the p99 is undefined: then the value is that of the pushes that came (see missing).
            "pinger new mail → push p99", next((v for v in (m["push_p99_ms"], m["arrived_p99_ms"]) if v is not None), 0.0),
            "ms", None, "",
            rate=PINGER_MAIL_RATE, seconds=mail_seconds,
            measured_by="Kafka message timestamp (CreateTime, set by the pinger's librdkafka) minus imap-load's delivery time "
                        "(both CLOCK_REALTIME, one machine); a missing push counts as infinitely late",
            target="<1000 ms", **m))
        results["memory"]["pinger"] = round(proc_status_kib(pid, "VmHWM") / 1024, 1)
    finally:
        if tail is not None and tail.is_alive():
            tail.stop()
        for name, p in (("pinger", pinger), ("imap-load", imap)):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    out = p.communicate(timeout=30)[0] if name == "imap-load" else p.wait(30)
                    if name == "imap-load" and out:
                        results["imap_load"] = json.loads(out.strip().splitlines()[-1])
                except (subprocess.TimeoutExpired, ValueError, IndexError):
                    p.kill()
                    p.wait()
        imap_log.close()
        pinger_log.close()


# ---- webhooks -------------------------------------------------------------------------


WEBHOOK_CONNECTIONS = 64  # the worker's per-host concurrency and wrk's -c, both
WEBHOOK_SCHEDULE = "beacon:webhooks"  # webhooks.scheduleKey
WEBHOOK_BACKLOG = 1_000_000
POSTBACK_OBJECTS = 100


def webhook_request(i: int, url: str, body: str, created_at: str, app: str = "demo") -> dict:
    """A WebhookRequest (shared/Sources/BeaconCore/Webhooks/WebhookRequest.swift, `json`) of postback job `bench`."""
    return {"id": f"bench-wh-{i}", "app": app, "source": "postback", "jobId": "bench", "index": i, "method": "POST",
            "url": url, "headers": [["Content-Type", "application/json"]], "body": body, "createdAt": created_at}


def resp_pipe(port: int, commands) -> int:
    """Every command (a tuple of args) through `redis-cli --pipe`; returns how many were sent."""
    proc = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    count, chunk = 0, []
    for args in commands:
        chunk.append(resp._encode(*args))
        count += 1
        if len(chunk) >= 10_000:
            proc.stdin.write(b"".join(chunk))
            chunk = []
    proc.stdin.write(b"".join(chunk))
    proc.stdin.close()
    out = proc.stdout.read().decode()
    if proc.wait() != 0 or "errors: 0" not in out:
        raise RuntimeError(f"redis-cli --pipe: {out.strip()[-500:]}")
    return count


def schedule_webhooks(port: int, count: int, due_ms: int, url: str, body: str, prefix: str = "bench-wh") -> int:
    """`count` ScheduledWebhooks straight into the retry schedule (RetrySchedule.swift): HSET <key>:pending
    id -> {"request": ..., "attempts": []} and ZADD <key>:due due_ms id, pipelined."""
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def commands():
        for i in range(count):
            request = webhook_request(i, url, body, created)
            request["id"] = f"{prefix}-{i}"
            yield ("HSET", f"{WEBHOOK_SCHEDULE}:pending", request["id"],
                   json.dumps({"request": request, "attempts": []}, separators=(",", ":")))
            yield ("ZADD", f"{WEBHOOK_SCHEDULE}:due", due_ms, request["id"])
    return resp_pipe(port, commands()) // 2


def redis_used_memory(port: int) -> int:
    info = resp.command(port, "INFO", "memory")
    return int(next(line.split(":")[1] for line in info.splitlines() if line.startswith("used_memory:")))


def webhook_env(**extra) -> dict:
    """The worker as the bench runs it: calls to 127.0.0.1 allowed, per-host limits out of the way."""
    env = {"BEACON_WEBHOOKS_ALLOW_PRIVATE": "true", "BEACON_WEBHOOKS_HOST_CONCURRENCY": WEBHOOK_CONNECTIONS,
           "BEACON_WEBHOOKS_HOST_RATE_PER_SECOND": 0, "BEACON_WEBHOOKS_MAX_IN_FLIGHT": 512}
    env.update(extra)
    return env


def bench_webhook_deliveries(stack: Stack, work: str, count: int, seconds: int, results: dict):
    """Deliveries/s of the webhooks consumer to nginx (`return 204;`) vs. wrk against that nginx with the
    worker's per-host concurrency as its connections and the same body; `count` requests pre-loaded
    into the retry schedule, due now, the rate from the worker's delivered counter."""
    nginx = loadtools.Nginx(os.path.join(work, "webhooks"), free_ports(1)[0])
    try:
        url = f"http://127.0.0.1:{nginx.port}/hooks/order"
        body = json.dumps({"event": "Order Completed", "userId": "user-1", "properties": {"orderId": "o-1", "amount": 12.5}},
                          separators=(",", ":"))
        lua = loadtools.wrk_script(os.path.join(work, "webhook-body.lua"), body, None)
        say(f"webhooks: wrk -c{WEBHOOK_CONNECTIONS} {seconds}s against nginx")
        ceiling = loadtools.wrk(url, lua, WEBHOOK_CONNECTIONS, seconds)

        say(f"webhooks: {count:,} requests into the schedule, due now")
        t0 = time.monotonic()
        schedule_webhooks(stack.ports["redis"], count, int(time.time() * 1000), url, body)
        load_s = time.monotonic() - t0
        say(f"webhooks: loaded in {load_s:.1f}s; the webhooks consumer until they are delivered")
        stack.start_service("consumers", env=webhook_env(), args=["--only", "webhooks"])
        delivered_metric = "beacon_webhooks_delivered_total"
        samples = []

        def done():
            m = stack.metrics("consumers")
            value = metric_sum(m, delivered_metric)
            samples.append((time.monotonic(), value))
            failed = metric_sum(m, "beacon_webhooks_failed_total") + metric_sum(m, "beacon_webhooks_retried_total")
            if failed:
                raise RuntimeError(f"the worker reports {failed} failed or retried calls; see {stack.work_dir}/consumers.log")
            return value >= count
        wait_for("the webhooks consumer to deliver them all", done, timeout=900, interval=0.1)
        first = next((t, v) for t, v in samples if v > 0)
        rate = (samples[-1][1] - first[1]) / (samples[-1][0] - first[0])
        time.sleep(0.5)
        left = resp.command(stack.ports["redis"], "ZCARD", f"{WEBHOOK_SCHEDULE}:due")
        m = stack.metrics("consumers")
        latency_count = metric_sum(m, "beacon_webhooks_latency_seconds_count")
        latency_sum = metric_sum(m, "beacon_webhooks_latency_seconds_sum")
        results["rows"].append(row(
            "webhooks, deliveries", rate, "deliveries/s", ceiling["requests_per_second"],
            f"wrk -c{WEBHOOK_CONNECTIONS}, same nginx", requests=count, delivered=int(samples[-1][1]), left_in_schedule=left,
            host_concurrency=WEBHOOK_CONNECTIONS, schedule_load_s=round(load_s, 1),
            mean_call_ms=round(latency_sum / latency_count * 1000, 2) if latency_count else None,
            log_write_failures=int(metric_sum(m, "beacon_webhooks_log_write_failures_total")),
            wrk_non_2xx=ceiling["non_2xx"], wrk_p99_ms=ceiling["p99_ms"], target_ratio=TARGETS["webhooks_vs_wrk"],
            rss_mib=round(rss_kib(stack.pid("consumers")) / 1024, 1)))
        results["memory"]["consumers (webhooks)"] = machine.peak_rss_mib(stack.pid("consumers"))
    finally:
        nginx.stop()


def bench_webhook_backlog(stack: Stack, work: str, count: int, results: dict):
    """A fresh webhooks consumer's RSS with nothing scheduled, then with `count` retries pending an hour
    ahead (straight into Redis): it keeps none of them in memory. Also Redis' memory for them, and the
    worker's CPU while they wait."""
    port = stack.ports["redis"]
    if stack.running("consumers"):
        stack.kill_service("consumers", signal.SIGTERM)
    for key in ("due", "pending"):
        resp.command(port, "DEL", f"{WEBHOOK_SCHEDULE}:{key}")
    stack.start_service("consumers", env=webhook_env(), args=["--only", "webhooks"])
    pid = stack.pid("consumers")
    time.sleep(6)  # a backlog gauge refresh (every 5 s) and the loops settled: not synchronisation
    rss_before = rss_kib(pid)
    redis_before = redis_used_memory(port)
    url = "http://127.0.0.1:9/never"  # never called: due in an hour
    body = json.dumps({"event": "Order Completed", "userId": "user-1", "properties": {"orderId": "o-1", "amount": 12.5}},
                      separators=(",", ":"))
    say(f"webhooks: {count:,} pending retries into the schedule, due in an hour")
    t0 = time.monotonic()
    schedule_webhooks(port, count, int(time.time() * 1000) + 3_600_000, url, body, prefix="bench-backlog")
    load_s = time.monotonic() - t0
    redis_after = redis_used_memory(port)
    gauge = wait_for("beacon_webhooks_scheduled to show the backlog",
                     lambda: (v := stack.metrics("consumers").get("beacon_webhooks_scheduled", 0)) >= count and v, 30, 0.5)
    time.sleep(6)  # another refresh with the backlog in place
    cpu0, t1 = proc_cpu_seconds(pid), time.monotonic()
    time.sleep(10)
    cpu_percent = (proc_cpu_seconds(pid) - cpu0) / (time.monotonic() - t1) * 100
    rss_after = rss_kib(pid)
    m = stack.metrics("consumers")
    results["rows"].append(row(
        "webhooks, 1M pending retries", (rss_after - rss_before) / 1024, "MiB RSS growth", None, "",
        pending=count, scheduled_gauge=int(gauge), due_gauge=int(m.get("beacon_webhooks_due", 0)),
        worker_rss_before_mib=round(rss_before / 1024, 1), worker_rss_after_mib=round(rss_after / 1024, 1),
        redis_mib=round((redis_after - redis_before) / 2**20, 1),
        redis_bytes_per_retry=round((redis_after - redis_before) / count), idle_cpu_percent=round(cpu_percent, 2),
        load_s=round(load_s, 1), target_rss_growth_mib=TARGETS["webhooks_backlog_rss_growth_mib"]))
    stack.kill_service("consumers", signal.SIGTERM)
    for key in ("due", "pending"):
        resp.command(port, "DEL", f"{WEBHOOK_SCHEDULE}:{key}")


def bench_postback_intake(stack: Stack, work: str, seconds: int, agents, ips, results: dict):
    """POST /v1/postback jobs of POSTBACK_OBJECTS objects (202 once Redis has every request) vs. the
    tracker's /v1/batch of as many events, both with wrk -cCONNECTIONS for `seconds`, in this run."""
    port = stack.ports["redis"]
    if not stack.running("tracker"):
        stack.start_service("tracker")
    job = {"endpoint": {"method": "POST", "url": "http://127.0.0.1:9/x/{id}"},
           "data": [{"id": f"o-{i}", "orderId": f"order-{i}", "amount": 12.5, "status": "shipped"} for i in range(POSTBACK_OBJECTS)]}
    job_lua = loadtools.wrk_script(os.path.join(work, "postback.lua"), json.dumps(job), WRITE_KEY)
    batch = json.dumps({"batch": [track_event(i, agents, ips) for i in range(POSTBACK_OBJECTS)]})
    batch_lua = loadtools.wrk_script(os.path.join(work, "webhooks-batch.lua"), batch, WRITE_KEY)

    say(f"postback: tracker batches of {POSTBACK_OBJECTS}, wrk -c{CONNECTIONS} {seconds}s (the comparison)")
    batches = loadtools.wrk(stack.url("tracker", "/v1/batch"), batch_lua, CONNECTIONS, seconds)
    resp.command(port, "DEL", STREAM)
    before = resp.command(port, "XLEN", WEBHOOK_SCHEDULE)
    say(f"postback: jobs of {POSTBACK_OBJECTS} objects, wrk -c{CONNECTIONS} {seconds}s")
    jobs = loadtools.wrk(stack.url("tracker", "/v1/postback"), job_lua, CONNECTIONS, seconds)
    # The webhook stream (redis.webhookStream) has the same name as the schedule's prefix; nothing reads it here.
    last = -1
    while (stored := resp.command(port, "XLEN", WEBHOOK_SCHEDULE)) != last:
        last = stored
        time.sleep(0.2)
    stored -= before
    m = stack.metrics("tracker")
    results["rows"].append(row(
        f"postback jobs of {POSTBACK_OBJECTS}", jobs["requests_per_second"], "jobs/s", batches["requests_per_second"],
        f"/v1/batch of {POSTBACK_OBJECTS}, same run", accepted_jobs=jobs["accepted"], non_2xx=jobs["non_2xx"],
        requests_per_second_objects=round(jobs["accepted"] * POSTBACK_OBJECTS / seconds),
        counted_in_redis=stored, all_counted=stored >= jobs["accepted"] * POSTBACK_OBJECTS, accepted_events=jobs["accepted"] * POSTBACK_OBJECTS,
        p50_ms=jobs["p50_ms"], p99_ms=jobs["p99_ms"], batch_p99_ms=batches["p99_ms"], batch_non_2xx=batches["non_2xx"],
        job_bytes=len(json.dumps(job)), accepted_metric=m.get('beacon_tracker_postback_requests_total{outcome="accepted"}')))
    resp.command(port, "DEL", WEBHOOK_SCHEDULE)
    results["memory"]["tracker (postbacks)"] = machine.peak_rss_mib(stack.pid("tracker"))


def bench_webhooks(stack: Stack, work: str, quick: bool, seconds: int, agents, ips, results: dict):
    bench_webhook_deliveries(stack, work, 20_000 if quick else 100_000, seconds, results)
    bench_webhook_backlog(stack, work, 100_000 if quick else WEBHOOK_BACKLOG, results)
    bench_postback_intake(stack, work, seconds, agents, ips, results)


# ---- report --------------------------------------------------------------------------


def verdicts(results: dict) -> dict:
    rows = {r["row"]: r for r in results["rows"]}
    out = {}
    if (r := rows.get("tracker, single events")) and r.get("ratio") is not None:
        out["tracker at least half of nginx"] = r["ratio"] >= TARGETS["tracker_vs_nginx"]
    if (r := rows.get("tracker, UDP datagrams")) and r.get("ratio") is not None:
        out["UDP at least half of a bare recvmmsg sink"] = r["ratio"] >= TARGETS["udp_vs_sink"]
        out["UDP: nothing lost at 80 % of the tracker's maximum"] = r["at_80_percent"]["lost"] == 0
    if r := rows.get("enricher, one core"):
        out["enricher at least 100,000 events/s on one core"] = r["value"] >= TARGETS["enricher_events_per_second"]
    if (r := rows.get("end to end, 10k events/s")) and r.get("kafka_p99_ms") is not None:
        out["end-to-end p99 under 50 ms at 10,000 events/s"] = r["kafka_p99_ms"] < TARGETS["e2e_p99_ms_at_10k"]
    if r := rows.get("pusher, APNs"):
        out["pusher at least 10,000 notifications/s"] = r["value"] >= TARGETS["pusher_per_second"]
    if (rss := results["memory"].get("tracker")) is not None:
        out["tracker under 64 MB RSS"] = rss < TARGETS["tracker_rss_mib"]
    if r := rows.get("tracker, idle connection memory"):
        out["an idle connection costs at most 8 KB"] = r["value"] <= TARGETS["idle_connection_bytes"]
    if r := rows.get("pinger sessions"):
        out["pinger holds 10,000 IDLE sessions in under 256 MB RSS"] = (
            r["value"] >= TARGETS["pinger_sessions"] and r["rss_mib"] < TARGETS["pinger_rss_mib"])
    if r := rows.get("pinger idle CPU"):
        out["pinger idle CPU at 10,000 sessions under 2 % of a core"] = (
            (r["sessions_idling"] or 0) >= TARGETS["pinger_sessions"] and r["cpu_percent"] < TARGETS["pinger_idle_cpu_percent"])
    if r := rows.get("pinger new mail → push p99"):
        out["pinger new mail to push on Kafka p99 under 1 s at 100 mails/s"] = (
            r["push_p99_ms"] is not None and r["push_p99_ms"] < TARGETS["pinger_push_p99_ms"])
    if (r := rows.get("webhooks, deliveries")) and r.get("ratio") is not None:
        out["webhook deliveries at least half of wrk against the same endpoint"] = r["ratio"] >= TARGETS["webhooks_vs_wrk"]
    if r := rows.get("webhooks, 1M pending retries"):
        out["the webhook worker's RSS flat (< 16 MiB growth) with 1M pending retries"] = (
            r["value"] < TARGETS["webhooks_backlog_rss_growth_mib"] and r["scheduled_gauge"] >= r["pending"])
    return out


def fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def print_table(results: dict):
    lines = [f"{'row':34} {'measured':>16} {'ceiling':>16} {'ratio':>6}  notes"]
    for r in results["rows"]:
        notes = []
        if "all_counted" in r:
            notes.append(f"counted in Redis {r['counted_in_redis']:,} of {r.get('accepted', r.get('accepted_events')):,} accepted")
        if "kafka_p99_ms" in r:
            notes.append(f"Kafka p50/p99/p999 {fmt(r['kafka_p50_ms'])}/{fmt(r['kafka_p99_ms'])}/{fmt(r['kafka_p999_ms'])} ms, "
                         f"live view {fmt(r['live_p50_ms'])}/{fmt(r['live_p99_ms'])}/{fmt(r['live_p999_ms'])} ms")
        if "at_80_percent" in r:
            a = r["at_80_percent"]
            notes.append(f"flat out: {r['sent']:,} sent, {r['socket_drops']:,} dropped by the kernel; "
                         f"at {a['rate']:,.0f}/s (80 %): {a['sent']:,} sent, {a['lost']:,} lost, {a['socket_drops']:,} kernel drops")
        if "rss_before_mib" in r:
            notes.append(f"{r['connections']:,} connections: RSS {r['rss_before_mib']} -> {r['rss_after_mib']} MiB, "
                         f"answers {r['answers']}")
        if r["row"] == "pinger sessions":
            notes.append(f"RSS {fmt(r['rss_mib'])} MiB (target {r['target']}) with {r['registrations']:,} registered; "
                         f"all idling after {fmt(r['all_idle_after_s'])} s; {fmt(r['failed_logins'])} failed logins")
        if r["row"] == "pinger idle CPU":
            notes.append(f"{fmt(r['cpu_percent'], 2)} % of a core over {fmt(r['seconds'])} s, "
                         f"{fmt(r['sessions_idling'])} sessions idling (target {r['target']})")
        if r["row"] == "pinger new mail → push p99":
            notes.append(f"{r['rate']}/s for {r['seconds']} s, Kafka timestamp p50/p99/max {fmt(r['push_p50_ms'])}/"
                         f"{fmt(r['push_p99_ms'])}/{fmt(r['push_max_ms'])} ms (consumed p99 {fmt(r['consumed_p99_ms'])} ms); "
                         f"{r['exactly_one']:,} of {r['deliveries']:,} deliveries got exactly one push, "
                         f"{r['missing']:,} missing, {r['duplicates']:,} duplicates"
                         + ("" if r["push_p99_ms"] is not None or not r["deliveries"] else
                            f"; p99 undefined (missing > 1 %), of those that came {fmt(r['arrived_p99_ms'])} ms"))
        if r["row"] == "webhooks, deliveries":
            notes.append(f"{r['delivered']:,} of {r['requests']:,} delivered, {r['left_in_schedule']:,} left; mean call "
                         f"{fmt(r['mean_call_ms'], 2)} ms; host concurrency {r['host_concurrency']}; "
                         f"{r['log_write_failures']:,} log write failures")
        if r["row"] == "webhooks, 1M pending retries":
            notes.append(f"RSS {r['worker_rss_before_mib']} -> {r['worker_rss_after_mib']} MiB with {r['scheduled_gauge']:,} scheduled "
                         f"(gauge), {r['due_gauge']:,} due; Redis {fmt(r['redis_mib'])} MiB ({r['redis_bytes_per_retry']} B "
                         f"a retry); worker CPU {fmt(r['idle_cpu_percent'], 2)} % of a core while they wait")
        if r["row"].startswith("postback jobs of"):
            notes.append(f"p50/p99 {fmt(r['p50_ms'])}/{fmt(r['p99_ms'])} ms (batch p99 {fmt(r['batch_p99_ms'])} ms); "
                         f"{r['requests_per_second_objects']:,} objects/s; {r['non_2xx']:,} non-2xx")
        if "dry_run_per_second" in r:
            notes.append(f"dry run (no APNs) {fmt(r['dry_run_per_second'], 0)}/s")
        measured = f"{fmt(r['value'], 0)} {r['unit'].split('/')[0][:5]}/s" if "/s" in r["unit"] else fmt(r["value"])
        ceiling = fmt(r.get("ceiling"), 0)
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else ""
        lines.append(f"{r['row']:34} {measured:>16} {ceiling:>16} {ratio:>6}  {'; '.join(notes)}")
    lines.append("peak RSS (MiB): " + ", ".join(f"{k} {fmt(v)}" for k, v in results["memory"].items()))
    for target, held in results["targets_held"].items():
        lines.append(f"target {'held  ' if held else 'MISSED'}: {target}")
    print("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, ".build/release"))
    parser.add_argument("--work-dir", default=os.path.join(ROOT, ".bench"))
    parser.add_argument("--results", default=os.path.join(HERE, "results"))
    parser.add_argument("--quick", action="store_true", help="short runs, to try the harness (figures not comparable)")
    parser.add_argument("--only", default="tracker,enricher,e2e,pusher,pinger,webhooks",
                        help="comma-separated sections: tracker, enricher, e2e, pusher, pinger, webhooks")
    args = parser.parse_args()
    only = set(args.only.split(","))
    seconds = 3 if args.quick else 10
    tool = os.path.join(args.bin_dir, "beacon-bench")
    os.makedirs(args.results, exist_ok=True)
    os.makedirs(args.work_dir, exist_ok=True)

    rng = random.Random(1)
    agents, ips = user_agents(2_000, rng), public_ips(1_000, rng)
    for name, lines in (("user-agents.txt", agents), ("ips.txt", ips)):
        with open(os.path.join(args.work_dir, name), "w") as f:
            f.write("\n".join(lines) + "\n")

    results = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine.describe(), "build": os.path.basename(os.path.normpath(args.bin_dir)),
               "quick": args.quick, "rows": [], "memory": {}, "targets": TARGETS}
    exit_on_signals()

    def section(name, run):
        """Each section on a stack of its own: no backlog of one (300,000
        events in Kafka after the enricher's) loads the next."""
        if name not in only:
            return
        stack = Stack(root=ROOT, work_dir=os.path.join(args.work_dir, name), bin_dir=args.bin_dir, log_level="warning")
        try:
            stack.start_servers()
            run(stack)
        finally:
            stack.close()

    def tracker(stack):
        bench_tracker(stack, args.work_dir, seconds, agents, ips, results)
        results["memory"]["tracker"] = machine.peak_rss_mib(stack.pid("tracker"))
        bench_udp(stack, args.work_dir, seconds, agents, ips, results)
        bench_idle_connections(stack, 1_000 if args.quick else IDLE_CONNECTIONS, results)

    def end_to_end(stack):
        stack.start_service("tracker")
        bench_end_to_end(stack, tool, args.work_dir, args.quick, results)

    section("tracker", tracker)
    section("enricher", lambda stack: bench_enricher(stack, tool, args.work_dir, 50_000 if args.quick else 300_000, agents, ips, results))
    section("e2e", end_to_end)
    section("pusher", lambda stack: bench_pusher(stack, tool, args.work_dir, 10_000 if args.quick else 100_000, results))
    section("pinger", lambda stack: bench_pinger(stack, tool, args.work_dir, args.quick, results))
    section("webhooks", lambda stack: bench_webhooks(stack, args.work_dir, args.quick, seconds, agents, ips, results))
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    results["targets_held"] = verdicts(results)
    # Only a full run replaces the committed latest.json and latest.png; a
    # partial or quick one goes next to them, as partial-latest.* (not kept in git).
    full = not args.quick and set(args.only.split(",")) >= {"tracker", "enricher", "e2e", "pusher", "pinger", "webhooks"}
    stem = "latest" if full else "partial-latest"
    json_path, png_path = os.path.join(args.results, f"{stem}.json"), os.path.join(args.results, f"{stem}.png")
    with open(json_path, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    if results.get("end_to_end_runs"):
        plot.render(results["end_to_end_runs"], png_path, args.work_dir)
    print_table(results)
    print(f"\nresults: {os.path.relpath(json_path, ROOT)}"
          + (f", plot: {os.path.relpath(png_path, ROOT)}" if results.get("end_to_end_runs") else ""))
    bad = [r["row"] for r in results["rows"] if r.get("all_counted") is False]
    if bad:
        print(f"bench: accepted events missing from Redis in: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
