"""Many TCP connections to one port at once, for the slow-client chaos fault
and the idle-connection memory row: each either stalls after part of a
request, or sends one good request, reads its answer and then stays idle."""

from __future__ import annotations

import resource
import selectors
import socket
import time

HOST = "127.0.0.1"


def raise_fd_limit(wanted: int) -> int:
    """Soft RLIMIT_NOFILE up to `wanted` (at most the hard limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect_many(port: int, count: int, first_bytes: bytes, batch: int = 200, timeout: float = 30.0) -> list[socket.socket]:
    """`count` connections, each sent `first_bytes` (blocking connect in
    batches, so that the listen backlog is not overrun)."""
    out: list[socket.socket] = []
    try:
        while len(out) < count:
            for _ in range(min(batch, count - len(out))):
                s = socket.create_connection((HOST, port), timeout=timeout)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if first_bytes:
                    s.sendall(first_bytes)
                out.append(s)
    except BaseException:
        close_all(out)
        raise
    return out


def read_one_response_each(sockets: list[socket.socket], timeout: float = 60.0) -> dict[str, int]:
    """Reads one whole response (headers + Content-Length body) on each
    socket, all at once; returns counts by status line ("200", "closed", ...)."""
    sel = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytes] = {}
    for s in sockets:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        buffers[s] = b""
    results: dict[str, int] = {}
    pending = len(sockets)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                status = "closed"
            else:
                buffers[s] += chunk
                status = _complete_status(buffers[s])
                if status is None:
                    continue
            sel.unregister(s)
            results[status] = results.get(status, 0) + 1
            pending -= 1
    sel.close()
    if pending:
        results["no answer"] = pending
    for s in sockets:
        s.setblocking(True)
    return results


def _complete_status(buf: bytes) -> str | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    length = 0
    for h in lines[1:]:
        if h.lower().startswith("content-length:"):
            length = int(h.split(":", 1)[1])
    if len(buf) - end - 4 < length:
        return None
    parts = lines[0].split()
    return parts[1] if len(parts) > 1 else "garbled"


def drain(sockets: list[socket.socket], received: dict) -> int:
    """Reads what has arrived on each socket without waiting (appended to
    received[sock]); returns how many the server has closed (end of stream
    or reset)."""
    closed = 0
    for s in sockets:
        s.setblocking(False)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    closed += 1
                    break
                received[s] = received.get(s, b"") + chunk
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        finally:
            s.setblocking(True)
    return closed


def status_of(data: bytes) -> str | None:
    """The status code of the response that data starts with, else None."""
    if not data.startswith(b"HTTP/1."):
        return None
    parts = data.split(b" ", 2)
    return parts[1].decode() if len(parts) > 1 else None


def close_all(sockets: list[socket.socket]) -> None:
    for s in sockets:
        try:
            s.close()
        except OSError:
            pass
