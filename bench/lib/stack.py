"""Run Beacon's local stack from Python: the servers and the five services on
free ports on 127.0.0.1, with logs and data in one work folder.

Used by bench/chaos.py (`make chaos`) and bench/bench.py. Run it with the
project venv's python (.deps/venv/bin/python): the Kafka and MongoDB probes use
confluent_kafka and pymongo from there; everything else is the standard library.

    import sys; sys.path.insert(0, "bench/lib")
    from stack import Stack
    stack = Stack(root=".", work_dir=".chaos", bin_dir=".build/debug", kafka_proxy=True)
    try:
        stack.start_servers()
        for name in ("tracker", "enricher", "consumers", "pusher", "liveview"):
            stack.start_service(name)
        ...
        stack.kill_service("enricher")          # kill -9
        stack.restart_service("enricher")       # same env and args, waits for /healthz
        stack.stop_kafka(); ...; stack.start_kafka()
    finally:
        stack.close()

What it starts, and how (the same commands, environment and topics as
scripts/stack.sh and scripts/run.sh):

- Redis: `redis-server --appendonly yes --save ''` with its data in
  WORK/redis/. stop_redis() is a real stop (SIGTERM, so Redis writes its
  append-only file) and start_redis() a real start on the same port and folder:
  what Redis had survives, as in production.
- Kafka: the Tansu broker, memory-only storage. A real Tansu restart loses every
  topic and message, which a real Kafka (data on disk) never does. So with
  kafka_proxy=True a small TCP proxy (asyncio, in this module, on its own thread)
  sits between every client and Tansu: Tansu listens on an internal port
  (ports["tansu"]) and *advertises* the proxy's port (ports["kafka"]), and the
  services get the proxy's port as their broker. stop_kafka() then aborts every
  proxied connection and stops listening, so clients see their connections
  reset and then "connection refused", exactly as with a stopped broker;
  start_kafka() listens again and the broker is back with everything it had,
  as a restarted real Kafka would be. Without the proxy, stop_kafka() and
  start_kafka() stop and start the Tansu process itself (everything is lost,
  topics are created again).
- MongoDB: SecantusDB (`secantusd-py`), with --storage-path WORK/mongo/data (a
  real WiredTiger folder, "reopened intact across restarts"), not :memory: as
  stack.sh uses, so that stop_mongo() / start_mongo() are a real stop (SIGTERM)
  and a real start that keeps the device registry.
- The services: BIN_DIR/beacon-NAME --config services/NAME/NAME.yaml
  with LD_LIBRARY_PATH=.deps/lib (the wheel's librdkafka), BEACON_HTTP_PORT and
  the BEACON_* settings run.sh gives each (consumers with
  services/consumers/rules.demo.yaml, the pusher in dry run, the live view
  with token dev-token), plus the caller's overrides. BEACON_* variables of
  the calling environment are not passed on, so runs do not depend on it.

Every process runs in a session of its own (start_new_session), so that a
Ctrl-C in the terminal reaches only the Python harness, which then stops
services first and servers after (close()). Each pid is recorded with its
start time in WORK/pids/NAME.pid; a later Stack in the same folder stops what a
run killed with SIGKILL left behind (only processes whose pid and start time
both match), and refuses to use a folder another live run owns. close() is
registered with atexit; exit_on_signals() turns SIGTERM and SIGHUP into a
normal exit so that it runs then too.

Logs: WORK/NAME.log (appended to across restarts, each start marked with a
"==== stack: start" line). With clean=True (the default) a new Stack first
removes WORK/redis, WORK/mongo and WORK/*.log, so every run starts empty.

Relative root, work_dir and bin_dir: work_dir and bin_dir are taken relative
to root. Ports: free ports are picked when the Stack is created (ports dict);
with kafka_proxy, ports["kafka"] is the proxy (what clients use) and
ports["tansu"] the broker's own listener.
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

# name, partitions: as STACK_TOPICS in scripts/stack.sh
TOPICS = [
    ("beacon.events", 3),
    ("beacon.events.invalid", 1),
    ("beacon.events.failed", 1),
    ("beacon.push.apns", 3),
    ("beacon.push.fcm", 3),
    ("beacon.push.feedback", 1),
    ("beacon.webhooks", 6),
    ("beacon.webhooks.failed", 1),
]
SERVICES = ("tracker", "enricher", "consumers", "pusher", "liveview")
SERVERS = ("redis", "kafka", "mongo")
HOST = "127.0.0.1"


class StackError(RuntimeError):
    pass


# ---- processes ------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def process_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def process_starttime(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def tcp_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


class QuietKafkaLogger:
    """A librdkafka logger that swallows the connection-refused chatter."""

    def log(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return self.log


class _Proc:
    def __init__(self, name, tier, cmd, env, log_path, cwd, popen):
        self.name, self.tier, self.cmd, self.env = name, tier, cmd, env
        self.log_path, self.cwd, self.popen = log_path, cwd, popen
        self.started_at = time.time()
        self.stopping = False  # set when the Stack stops or kills it on purpose

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None


# ---- the Kafka proxy --------------------------------------------------------------


class KafkaProxy:
    """A TCP proxy 127.0.0.1:listen_port -> 127.0.0.1:target_port on an asyncio
    loop in a daemon thread. pause() aborts every connection and stops
    listening (clients get resets, then connection refused); resume() listens
    again on the same port."""

    def __init__(self, listen_port: int, target_port: int):
        self.listen_port, self.target_port = listen_port, target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="kafka-proxy", daemon=True)
        self._server = None
        self._transports: set = set()
        self.connections_total = 0
        self.aborted_total = 0
        self._thread.start()

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def listening(self) -> bool:
        return self._server is not None

    def resume(self):
        self._call(self._listen())

    def pause(self):
        self._call(self._pause())

    def close(self):
        if not self._loop.is_closed() and self._thread.is_alive():
            try:
                self._call(self._pause())
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _listen(self):
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, HOST, self.listen_port, reuse_address=True, backlog=256)

    async def _pause(self):
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            self.aborted_total += 1
            transport.abort()
        self._transports.clear()
        if server is not None:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass

    async def _handle(self, client_reader, client_writer):
        self.connections_total += 1
        self._transports.add(client_writer.transport)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            self._transports.discard(client_writer.transport)
            client_writer.transport.abort()
            return
        if self._server is None:  # paused while connecting
            upstream_writer.transport.abort()
            client_writer.transport.abort()
            return
        self._transports.add(upstream_writer.transport)
        transports = (client_writer.transport, upstream_writer.transport)
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer, transports),
                                 self._pipe(upstream_reader, client_writer, transports))
        finally:
            for t in transports:
                self._transports.discard(t)
                t.abort()

    @staticmethod
    async def _pipe(reader, writer, transports):
        try:
            while True:
                data = await reader.read(262144)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            # Kafka clients never half-close: one side gone ends both.
            for t in transports:
                t.abort()


# ---- the stack ----------------------------------------------------------------------


class Stack:
    """See the module docstring."""

    def __init__(self, root: str, work_dir: str, bin_dir: str, log_level: str = "info",
                 kafka_proxy: bool = False, clean: bool = True, log_format: str = "text",
                 start_timeout: float = 60.0, stop_timeout: float = 30.0):
        self.root = os.path.abspath(root)
        self.work_dir = os.path.abspath(os.path.join(self.root, work_dir))
        self.bin_dir = os.path.abspath(os.path.join(self.root, bin_dir))
        self.log_level, self.log_format = log_level, log_format
        self.kafka_proxy = kafka_proxy
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.deps = os.path.join(self.root, ".deps")
        self.python = os.path.join(self.deps, "venv", "bin", "python")

        names = ["redis", "kafka", "mongo", *SERVICES] + (["tansu"] if kafka_proxy else [])
        self.ports: dict[str, int] = dict(zip(names, free_ports(len(names))))
        self.pids_dir = os.path.join(self.work_dir, "pids")
        self.redis_dir = os.path.join(self.work_dir, "redis")
        self.mongo_dir = os.path.join(self.work_dir, "mongo")
        self._procs: dict[str, _Proc] = {}
        self._service_spec: dict[str, tuple[dict, list]] = {}
        self._exits: list[dict] = []  # unexpected exits seen so far
        self._lock = threading.RLock()
        self._closed = False
        self._proxy: KafkaProxy | None = None

        for name in SERVICES:
            exe = os.path.join(self.bin_dir, f"beacon-{name}")
            if not os.access(exe, os.X_OK):
                raise StackError(f"{exe} is missing (build first)")
        for exe in (os.path.join(self.deps, "bin", "tansu"), os.path.join(self.deps, "bin", "secantusd-py")):
            if not os.access(exe, os.X_OK):
                raise StackError(f"{exe} is missing: run scripts/install-deps.sh (make deps)")
        if shutil.which("redis-server") is None:
            raise StackError("redis-server is not installed: run scripts/install-deps.sh (make deps)")

        os.makedirs(self.pids_dir, exist_ok=True)
        self._claim_folder()
        if clean:
            for d in (self.redis_dir, self.mongo_dir):
                shutil.rmtree(d, ignore_errors=True)
            for f in os.listdir(self.work_dir):
                if f.endswith(".log"):
                    os.unlink(os.path.join(self.work_dir, f))
        os.makedirs(self.redis_dir, exist_ok=True)
        os.makedirs(self.mongo_dir, exist_ok=True)
        atexit.register(self.close)

    # ---- folder ownership and leftovers -------------------------------------------------

    def _read_pidfile(self, path):
        try:
            with open(path) as f:
                pid, start = f.read().split()[:2]
            return int(pid), start
        except (OSError, ValueError):
            return None, None

    def _claim_folder(self):
        owner = os.path.join(self.pids_dir, "owner")
        pid, start = self._read_pidfile(owner)
        if pid and pid != os.getpid() and process_starttime(pid) == start:
            raise StackError(f"{self.work_dir} is in use by another run (pid {pid}): stop that one first")
        stale = []
        for f in sorted(os.listdir(self.pids_dir)):
            path = os.path.join(self.pids_dir, f)
            if f.endswith(".pid"):
                pid, start = self._read_pidfile(path)
                if pid and process_starttime(pid) == start:
                    stale.append((f[:-4], pid))
            if f != "owner":
                os.unlink(path)
        # services (and anything else) first, servers after
        stale.sort(key=lambda item: item[0] in SERVERS)
        for name, pid in stale:
            print(f"stack: stopping {name} (pid {pid}) left over from an earlier run", flush=True)
            self._terminate_pid(pid, 10)
        with open(owner, "w") as f:
            f.write(f"{os.getpid()} {process_starttime(os.getpid())}\n")

    @staticmethod
    def _terminate_pid(pid, timeout):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # ---- spawning -------------------------------------------------------------------

    def _spawn(self, name, tier, cmd, env=None):
        log_path = os.path.join(self.work_dir, f"{name}.log")
        with open(log_path, "ab") as log:
            log.write(f"==== stack: start {name} at {time.strftime('%Y-%m-%dT%H:%M:%S')}: "
                      f"{' '.join(cmd)}\n".encode())
            log.flush()
            popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=self.root, env=env, start_new_session=True, close_fds=True)
        proc = _Proc(name, tier, cmd, env, log_path, self.root, popen)
        with self._lock:
            self._procs[name] = proc
        with open(os.path.join(self.pids_dir, f"{name}.pid"), "w") as f:
            f.write(f"{popen.pid} {process_starttime(popen.pid) or 0}\n")
        return proc

    def _forget(self, name):
        try:
            os.unlink(os.path.join(self.pids_dir, f"{name}.pid"))
        except OSError:
            pass

    def _stop_proc(self, name, sig=signal.SIGTERM, timeout=None):
        """Send sig and wait for the exit; SIGKILL when it outlives timeout. Returns the exit status."""
        with self._lock:
            proc = self._procs.get(name)
        if proc is None:
            return None
        proc.stopping = True
        if proc.running():
            try:
                os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.popen.send_signal(sig)
            except (ProcessLookupError, PermissionError):
                pass
        timeout = self.stop_timeout if timeout is None else timeout
        try:
            status = proc.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"stack: {name} (pid {proc.pid}) still running {timeout:g}s after signal {int(sig)}, killing it",
                  flush=True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            status = proc.popen.wait()
        self._forget(name)
        return status

    def log_tail(self, name, lines=40) -> str:
        path = os.path.join(self.work_dir, f"{name}.log")
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait(self, name, what, check, timeout=None):
        timeout = self.start_timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            proc = self._procs.get(name)
            if proc is not None and not proc.running():
                raise StackError(f"{name} exited (status {proc.popen.returncode}) before {what} answered; "
                                 f"{proc.log_path}:\n{self.log_tail(name)}")
            try:
                if check():
                    return
                last = "not ready"
            except Exception as e:  # refused, timeouts, driver errors
                last = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                raise StackError(f"{name}: {what} not ready after {timeout:g}s ({last}); "
                                 f"{os.path.join(self.work_dir, name + '.log')}:\n{self.log_tail(name)}")
            time.sleep(0.1)

    # ---- servers --------------------------------------------------------------------

    def start_servers(self) -> None:
        """Redis, Tansu (behind the proxy when kafka_proxy) and SecantusDB, in
        parallel; wait for each; create the topics."""
        self._spawn_redis()
        self._spawn_kafka()
        self._spawn_mongo()
        self._wait_redis()
        self._wait_kafka()
        self._wait_mongo()
        self.create_topics()

    def _server_env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
        env.update(extra)
        return env

    # Redis
    def _spawn_redis(self):
        self._spawn("redis", "server", [
            "redis-server", "--port", str(self.ports["redis"]), "--bind", HOST, "--dir", self.redis_dir,
            "--appendonly", "yes", "--save", "", "--daemonize", "no", "--logfile", ""])

    def _redis_ping(self):
        with socket.create_connection((HOST, self.ports["redis"]), timeout=1) as s:
            s.settimeout(1)
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            # -LOADING while the append-only file is replayed: not ready yet.
            return s.recv(64).startswith(b"+PONG")

    def _wait_redis(self):
        self._wait("redis", f"redis 127.0.0.1:{self.ports['redis']}", self._redis_ping)

    def stop_redis(self) -> None:
        """A real stop: SIGTERM (Redis writes its append-only file and exits)."""
        self._stop_proc("redis", signal.SIGTERM)

    def start_redis(self) -> None:
        """A real start on the same port and data folder; waits for PING."""
        self._spawn_redis()
        self._wait_redis()

    # Kafka
    @property
    def kafka_brokers(self) -> str:
        return f"{HOST}:{self.ports['kafka']}"

    def _spawn_kafka(self):
        listen = self.ports["tansu"] if self.kafka_proxy else self.ports["kafka"]
        if self.kafka_proxy and self._proxy is None:
            self._proxy = KafkaProxy(self.ports["kafka"], self.ports["tansu"])
            self._proxy.resume()
        env = self._server_env()
        for k in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "SCHEMA_REGISTRY",
                  "OTEL_EXPORTER_OTLP_ENDPOINT", "CLUSTER_ID"):
            env.pop(k, None)
        self._spawn("kafka", "server", [
            os.path.join(self.deps, "bin", "tansu"), "broker",
            "--listener-url", f"tcp://{HOST}:{listen}",
            "--advertised-listener-url", f"tcp://{HOST}:{self.ports['kafka']}",
            "--storage-engine", "memory://tansu/"], env)

    def _kafka_metadata(self, timeout=2.0):
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": self.kafka_brokers, "socket.timeout.ms": 2000,
                             "log_level": 0, "logger": QuietKafkaLogger()})
        return admin.list_topics(timeout=timeout)

    def _wait_kafka(self):
        internal = self.ports["tansu"] if self.kafka_proxy else self.ports["kafka"]
        self._wait("kafka", f"kafka 127.0.0.1:{internal}", lambda: tcp_open(internal))
        self._wait("kafka", f"kafka metadata at {self.kafka_brokers}", lambda: self._kafka_metadata() is not None)

    def create_topics(self) -> None:
        tansu = os.path.join(self.deps, "bin", "tansu")
        for name, parts in TOPICS:
            r = subprocess.run([tansu, "topic", "create", "--broker", f"tcp://{self.kafka_brokers}",
                                "--partitions", str(parts), name], capture_output=True, text=True,
                               env=self._server_env(), timeout=60)
            out = (r.stdout + r.stderr).strip()
            if r.returncode != 0 and "already exists" not in out:
                raise StackError(f"creating topic {name} failed: {out}")
        deadline = time.monotonic() + self.start_timeout
        while True:
            md = self._kafka_metadata(timeout=5)
            wrong = [f"{n} ({len(md.topics[n].partitions) if n in md.topics else 'missing'})"
                     for n, p in TOPICS if n not in md.topics or md.topics[n].error is not None
                     or len(md.topics[n].partitions) != p]
            if not wrong:
                return
            if time.monotonic() > deadline:
                raise StackError(f"topics not as expected: {', '.join(wrong)}")
            time.sleep(0.2)

    def stop_kafka(self) -> None:
        """With the proxy: abort every client connection and stop listening
        (Tansu keeps running with its data). Without: SIGTERM Tansu (its data is lost)."""
        if self._proxy is not None:
            self._proxy.pause()
        else:
            self._stop_proc("kafka", signal.SIGTERM)

    def start_kafka(self) -> None:
        """With the proxy: listen again. Without: start Tansu and create the topics again."""
        if self._proxy is not None:
            self._proxy.resume()
            self._wait("kafka", f"kafka metadata at {self.kafka_brokers}",
                       lambda: self._kafka_metadata() is not None)
        else:
            self._spawn_kafka()
            self._wait_kafka()
            self.create_topics()

    @property
    def kafka_up(self) -> bool:
        if self._proxy is not None:
            return self._proxy.listening
        proc = self._procs.get("kafka")
        return proc is not None and proc.running()

    # MongoDB
    @property
    def mongo_url(self) -> str:
        return f"mongodb://{HOST}:{self.ports['mongo']}"

    def _spawn_mongo(self):
        config = os.path.join(self.mongo_dir, "secantusd.toml")
        data = os.path.join(self.mongo_dir, "data")
        tmp = os.path.join(self.mongo_dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        # An empty --config stops it from reading a secantusd.toml from the
        # working folder, ~ or /etc; TMPDIR keeps its temporary files in ours.
        open(config, "a").close()
        self._spawn("mongo", "server", [
            os.path.join(self.deps, "bin", "secantusd-py"), "--config", config,
            "--host", HOST, "--port", str(self.ports["mongo"]), "--storage-path", data, "--standalone"],
            self._server_env(TMPDIR=tmp))

    def _mongo_ping(self):
        import pymongo
        client = pymongo.MongoClient(self.mongo_url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000)
        try:
            return client.admin.command("ping").get("ok") == 1
        finally:
            client.close()

    def _wait_mongo(self):
        self._wait("mongo", self.mongo_url, self._mongo_ping)

    def stop_mongo(self) -> None:
        """A real stop (SIGTERM); the data stays in WORK/mongo/data."""
        self._stop_proc("mongo", signal.SIGTERM)

    def start_mongo(self) -> None:
        """A real start on the same port and data folder; waits for ping."""
        self._spawn_mongo()
        self._wait_mongo()

    # ---- services -------------------------------------------------------------------

    def service_env(self, name: str) -> dict:
        """What scripts/run.sh gives NAME (without the caller's overrides)."""
        redis = f"redis://{HOST}:{self.ports['redis']}"
        base = {
            "tracker": {"BEACON_REDIS_URL": redis},
            "enricher": {"BEACON_REDIS_URLS": redis, "BEACON_KAFKA_BROKERS": self.kafka_brokers,
                         "BEACON_GEOIP_DATABASE": os.path.join(self.deps, "geoip", "GeoLite2-City.mmdb")},
            "consumers": {"BEACON_KAFKA_BROKERS": self.kafka_brokers, "BEACON_MONGO_URL": self.mongo_url,
                          "BEACON_REDIS_URL": redis,
                          "BEACON_RULES_FILE": os.path.join(self.root, "services/consumers/rules.demo.yaml")},
            "pusher": {"BEACON_KAFKA_BROKERS": self.kafka_brokers, "BEACON_MONGO_URL": self.mongo_url,
                       "BEACON_PUSHER_DRY_RUN": "true"},
            "liveview": {"BEACON_KAFKA_BROKERS": self.kafka_brokers, "BEACON_LIVEVIEW_TOKEN": "dev-token"},
        }[name]
        lib = os.path.join(self.deps, "lib")
        ld = os.environ.get("LD_LIBRARY_PATH")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_")}
        env.update(base)
        # For A/B runs of one build: BENCH_SERVICE_ENV="tracker:BEACON_REDIS_EVENTS_PER_ENTRY=1 enricher:KEY=VALUE".
        for item in os.environ.get("BENCH_SERVICE_ENV", "").split():
            service, _, pair = item.partition(":")
            key, _, value = pair.partition("=")
            if service == name and key:
                env[key] = value
        env["LD_LIBRARY_PATH"] = f"{lib}:{ld}" if ld else lib
        env["BEACON_HTTP_PORT"] = str(self.ports[name])
        env["BEACON_HTTP_HOST"] = HOST
        return env

    def url(self, name: str, path: str = "") -> str:
        return f"http://{HOST}:{self.ports[name]}{path}"

    def start_service(self, name: str, env: dict | None = None, args: list | None = None) -> None:
        """Start beacon-NAME (log: WORK/NAME.log) and wait for /healthz."""
        if name not in SERVICES:
            raise StackError(f"unknown service {name}")
        with self._lock:
            proc = self._procs.get(name)
            if proc is not None and proc.running():
                raise StackError(f"{name} is already running (pid {proc.pid})")
            self._service_spec[name] = (dict(env or {}), list(args or []))
        full_env = self.service_env(name)
        full_env.update({k: str(v) for k, v in (env or {}).items()})
        cmd = [os.path.join(self.bin_dir, f"beacon-{name}"), "--config",
               os.path.join(self.root, f"services/{name}/{name}.yaml"),
               "--log-level", self.log_level, "--log-format", self.log_format, *(args or [])]
        self._spawn(name, "service", cmd, full_env)
        self.wait_healthy(name)

    def wait_healthy(self, name: str, timeout: float | None = None) -> None:
        self._wait(name, self.url(name, "/healthz"), lambda: self.http_get(name, "/healthz", 2)[0] == 200, timeout)

    def kill_service(self, name: str, sig=signal.SIGKILL) -> None:
        """Send sig (kill -9 by default) and wait until the process is gone."""
        self._stop_proc(name, sig)

    def restart_service(self, name: str) -> None:
        """Start NAME again with the env and args of its last start (stopping it
        first with SIGTERM if it still runs); waits for /healthz."""
        if name not in self._service_spec:
            raise StackError(f"{name} was never started")
        proc = self._procs.get(name)
        if proc is not None and proc.running():
            self._stop_proc(name, signal.SIGTERM)
        env, args = self._service_spec[name]
        self.start_service(name, env, args)

    def pid(self, name: str) -> int | None:
        proc = self._procs.get(name)
        return proc.pid if proc is not None and proc.running() else None

    def running(self, name: str) -> bool:
        return self.pid(name) is not None

    def unexpected_exits(self) -> list[dict]:
        """Processes that exited without the Stack stopping or killing them
        (each reported once): [{name, pid, status, log}]."""
        found = []
        with self._lock:
            for name, proc in self._procs.items():
                if not proc.stopping and proc.popen.poll() is not None:
                    proc.stopping = True  # report once
                    status = proc.popen.returncode
                    found.append({"name": name, "pid": proc.pid, "status": status,
                                  "signal": signal.Signals(-status).name if status < 0 else None,
                                  "log": proc.log_path})
                    self._forget(name)
        self._exits += found
        return found

    # ---- HTTP ---------------------------------------------------------------------

    def http_get(self, name: str, path: str, timeout: float = 5.0) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url(name, path), timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def metrics(self, name: str) -> dict[str, float]:
        """GET /metrics, parsed: {'name{labels}': value}."""
        status, text = self.http_get(name, "/metrics")
        if status != 200:
            raise StackError(f"{name} /metrics answered {status}")
        return parse_prometheus(text)

    # ---- shutdown ---------------------------------------------------------------------

    def close(self) -> None:
        """Stop services (SIGTERM, SIGKILL after stop_timeout), then servers and
        the proxy. Idempotent; safe from atexit and signal handlers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            procs = dict(self._procs)
        for tier, timeout in (("service", self.stop_timeout), ("server", 10.0)):
            names = [n for n, p in procs.items() if p.tier == tier and p.running()]
            for n in names:
                procs[n].stopping = True
                try:
                    procs[n].popen.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout
            for n in names:
                p = procs[n]
                try:
                    p.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    print(f"stack: {n} (pid {p.pid}) still running {timeout:g}s after SIGTERM, killing it", flush=True)
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    p.popen.wait()
            for n in procs:
                if procs[n].tier == tier:
                    self._forget(n)
            if tier == "service" and self._proxy is not None:
                pass  # keep the proxy until the broker is stopped
        if self._proxy is not None:
            self._proxy.close()
        try:
            os.unlink(os.path.join(self.pids_dir, "owner"))
        except OSError:
            pass


def parse_prometheus(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        # name{labels} value [timestamp]; label values may hold spaces
        end = line.rfind("}")
        if end >= 0:
            head, rest = line[:end + 1], line[end + 1:]
        else:
            head, _, rest = line.partition(" ")
        fields = rest.split()
        if not fields:
            continue
        try:
            values[head] = float(fields[0])
        except ValueError:
            continue
    return values


def metric_sum(metrics: dict[str, float], name: str) -> float:
    """Sum of every series of a metric (any labels)."""
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


def exit_on_signals() -> None:
    """SIGTERM and SIGHUP raise SystemExit (128+n), so that finally blocks and
    atexit (Stack.close) run; SIGINT already raises KeyboardInterrupt."""
    def handler(signum, frame):
        signal.signal(signum, signal.SIG_IGN)
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)
