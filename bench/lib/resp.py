"""Just enough of the Redis protocol for the benchmark: one command at a time,
and a bulk load of XADDs through `redis-cli --pipe`."""

from __future__ import annotations

import socket
import subprocess


def _encode(*args) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def command(port: int, *args):
    """Send one command to 127.0.0.1:port and return its reply (int, str, list, None)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_encode(*args))
        reader = sock.makefile("rb")
        return _read(reader)


def _read(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(f"redis: {rest.decode()}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read(reader) for _ in range(n)]
    raise RuntimeError(f"redis: unexpected reply {line[:80]!r}")


def bulk_xadd(port: int, stream: str, field: str, values) -> int:
    """XADD every value (bytes) to `stream` through `redis-cli --pipe`; returns the replies counted."""
    proc = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    count = 0
    for value in values:
        proc.stdin.write(_encode("XADD", stream, "*", field, value))
        count += 1
    proc.stdin.close()
    out = proc.stdout.read().decode()
    if proc.wait() != 0 or "errors: 0" not in out:
        raise RuntimeError(f"redis-cli --pipe: {out.strip()}")
    return count
