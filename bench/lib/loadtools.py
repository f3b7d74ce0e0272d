"""The load generators and ceilings of `make bench`: wrk against the tracker
and nginx, redis-benchmark, h2load. Each returns plain numbers parsed from the
tool's own output."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import time


class ToolError(RuntimeError):
    pass


def _run(cmd: list[str], timeout: float) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise ToolError(f"{' '.join(cmd[:3])}... exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


# ---- wrk --------------------------------------------------------------------------


def wrk_script(path: str, body: str, write_key: str | None) -> str:
    """A wrk Lua script that POSTs `body` as JSON (with HTTP Basic write key)."""
    level = "=" * 8
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    if write_key is not None:
        token = base64.b64encode(f"{write_key}:".encode()).decode()
        lines.append(f'wrk.headers["Authorization"] = "Basic {token}"')
    lines.append(f"wrk.body = [{level}[{body}]{level}]")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def _wrk_time_ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, script: str, connections: int, seconds: int, threads: int = 1) -> dict:
    out = _run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
               timeout=seconds + 60)
    total = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    if not total:
        raise ToolError(f"wrk output not understood:\n{out}")
    requests = int(total.group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _wrk_time_ms(v) for p, v in re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M)}
    return {"requests": requests, "non_2xx": non2xx, "socket_errors": errors, "requests_per_second": rps,
            "accepted": requests - non2xx, "p50_ms": lat.get("50"), "p99_ms": lat.get("99")}


# ---- nginx ------------------------------------------------------------------------


class Nginx:
    """nginx answering `return 204;` on PORT: the HTTP ceiling of the machine."""

    def __init__(self, work_dir: str, port: int):
        self.dir = os.path.join(work_dir, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes auto;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    client_body_buffer_size 1m;
    client_body_temp_path {self.dir}/body;
    proxy_temp_path {self.dir}/proxy;
    fastcgi_temp_path {self.dir}/fastcgi;
    uwsgi_temp_path {self.dir}/uwsgi;
    scgi_temp_path {self.dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 204; }}
    }}
}}
""")
        nginx = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
        self.proc = subprocess.Popen([nginx, "-p", self.dir, "-c", conf, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "w"),
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ToolError(f"nginx exited {self.proc.returncode}; see {self.dir}/stderr.log")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise ToolError("nginx did not start listening in 10 s")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# ---- redis-benchmark ------------------------------------------------------------


def redis_benchmark_xadd(port: int, key: str, payload: str, clients: int, pipeline: int, requests: int) -> dict:
    out = _run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(clients), "-P", str(pipeline),
                "-n", str(requests), "-q", "XADD", key, "*", "e", payload], timeout=600)
    # -q ends with "<command>: N requests per second, p50=..." (the payload has commas, so no --csv).
    found = re.findall(r"([\d.]+) requests per second", out.replace("\r", "\n"))
    if not found:
        raise ToolError(f"redis-benchmark output not understood:\n{out[-500:]}")
    return {"requests": requests, "clients": clients, "pipeline": pipeline, "xadds_per_second": float(found[-1])}


# ---- h2load -----------------------------------------------------------------------


def h2load(url: str, requests: int, clients: int, streams: int, headers: dict[str, str], body_file: str) -> dict:
    cmd = ["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams), "-d", body_file]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = _run(cmd + [url], timeout=600)
    m = re.search(r"finished in ([\d.]+)(s|ms), ([\d.]+) req/s", out)
    status = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not m or not status:
        raise ToolError(f"h2load output not understood:\n{out}")
    return {"requests": requests, "clients": clients, "streams": streams, "requests_per_second": float(m.group(3)),
            "status_2xx": int(status.group(1)), "status_4xx": int(status.group(3)), "status_5xx": int(status.group(4))}
