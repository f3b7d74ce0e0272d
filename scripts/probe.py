#!/usr/bin/env python3
"""Small probes for the local stack, used by scripts/stack.sh.

Run it with the project venv's python (.deps/venv/bin/python): the mongo and
kafka probes use pymongo and confluent_kafka from there; the others need only
the standard library.

    probe.py free-ports N
        Print N distinct free TCP ports on 127.0.0.1, one a line.
    probe.py port-in-use PORT
        Exit 0 when something accepts connections on 127.0.0.1:PORT.
    probe.py wait [--pid PID] [--timeout SECONDS] KIND TARGET
        Wait until TARGET answers; give up (exit 1) after the timeout or as soon
        as PID is no longer running. KIND is one of:
          tcp    HOST:PORT                 a TCP connect succeeds
          redis  HOST:PORT                 PING answers +PONG
          kafka  HOST:PORT                 a metadata request succeeds
          mongo  mongodb://HOST:PORT       the ping command answers ok
          http   URL                       GET answers 200
    probe.py topics HOST:PORT NAME=PARTITIONS...
        Exit 0 when every topic exists with exactly that many partitions;
        print what differs otherwise.
"""

import os
import socket
import sys
import time
import urllib.error
import urllib.request


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def split_hostport(target):
    host, _, port = target.rpartition(":")
    return host or "127.0.0.1", int(port)


def port_in_use(port):
    try:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def pid_running(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def check_tcp(target):
    with socket.create_connection(split_hostport(target), timeout=1):
        return True


def check_redis(target):
    with socket.create_connection(split_hostport(target), timeout=1) as s:
        s.settimeout(1)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        reply = s.recv(64)
        # -LOADING while the append-only file is replayed: not ready yet.
        return reply.startswith(b"+PONG")


def check_kafka(target):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": target, "socket.timeout.ms": 1000,
                         "log_level": 0, "logger": _Quiet()})
    admin.list_topics(timeout=1)
    return True


def check_mongo(target):
    import pymongo

    client = pymongo.MongoClient(target, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
    try:
        return client.admin.command("ping").get("ok") == 1
    finally:
        client.close()


def check_http(target):
    try:
        with urllib.request.urlopen(target, timeout=2) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return False


class _Quiet:
    """A logger that swallows librdkafka's connection-refused chatter."""

    def log(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return self.log


CHECKS = {"tcp": check_tcp, "redis": check_redis, "kafka": check_kafka,
          "mongo": check_mongo, "http": check_http}


def wait(args):
    pid, timeout = None, 30.0
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--pid":
            pid = int(args.pop(0))
        elif opt == "--timeout":
            timeout = float(args.pop(0))
        else:
            raise SystemExit(f"probe.py: unknown option {opt}")
    kind, target = args
    check = CHECKS[kind]
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if pid is not None and not pid_running(pid):
            print(f"probe: process {pid} exited before {target} answered", file=sys.stderr)
            return 1
        try:
            if check(target):
                return 0
            last = "not ready"
        except Exception as e:  # connection refused, timeouts, driver errors
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            print(f"probe: {kind} {target} not ready after {timeout:g}s ({last})", file=sys.stderr)
            return 1
        time.sleep(0.2)


def topics(args):
    from confluent_kafka.admin import AdminClient

    broker, wanted = args[0], args[1:]
    admin = AdminClient({"bootstrap.servers": broker, "logger": _Quiet()})
    md = admin.list_topics(timeout=10)
    ok = True
    for spec in wanted:
        name, _, count = spec.partition("=")
        t = md.topics.get(name)
        if t is None or t.error is not None:
            print(f"topic {name}: missing ({t.error if t else 'not listed'})", file=sys.stderr)
            ok = False
        elif len(t.partitions) != int(count):
            print(f"topic {name}: {len(t.partitions)} partitions, expected {count}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "free-ports":
        print("\n".join(str(p) for p in free_ports(int(args[0]))))
        return 0
    if cmd == "port-in-use":
        return 0 if port_in_use(args[0]) else 1
    if cmd == "wait":
        return wait(list(args))
    if cmd == "topics":
        return topics(args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
