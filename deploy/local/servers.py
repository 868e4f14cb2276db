"""The local servers: where their binaries and data live, how each is configured, started and
probed. Kafka (KRaft), Elasticsearch, PostgreSQL and FerretDB, on 127.0.0.1 only. Standard library
only, so it runs before any virtualenv exists."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = Path(os.environ.get("NEWSFLOW_DATA_DIR", ROOT / ".data"))
RUN = DATA / "run"
LOGS = DATA / "logs"
ES_USER = "newsflow-es"
READY_TIMEOUT = float(os.environ.get("NEWSFLOW_STACK_TIMEOUT", "180"))
# A second, private stack (fault tests kill its servers) runs with every port shifted by this
# offset and its own NEWSFLOW_DATA_DIR.
OFFSET = int(os.environ.get("NEWSFLOW_STACK_PORT_OFFSET", "0"))


def versions() -> dict[str, str]:
    out = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def cache_dir() -> Path:
    default = "/var/cache/newsflow" if os.geteuid() == 0 else str(Path.home() / ".cache/newsflow")
    return Path(os.environ.get("NEWSFLOW_CACHE", default))


def log(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= resp.status < 300
    except OSError:
        return False


@dataclass
class Server:
    name: str
    port: int
    needs: tuple[str, ...] = ()  # servers that must be ready before this one starts

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Writes config and creates data dirs (idempotent)."""

    def ready(self) -> bool:
        raise NotImplementedError

    def hung(self) -> bool:
        """Up but not answering (a server that can deadlock overrides this)."""
        return False

    def post_mortem(self) -> None:
        """Keeps what explains a hang before the server is restarted (nothing by default)."""

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return LOGS / f"{self.name}.log"


def new_cluster_id() -> str:
    """A random KRaft cluster id, never starting with "-".

    Kafka's own ``Uuid.randomUuid`` rejects such ids too: a leading dash reads as an option on
    ``kafka-storage``'s command line (one id in 64 would start with one).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class Kafka(Server):
    def __init__(self) -> None:
        super().__init__("kafka", OFFSET + 9092)
        self.dir = DATA / "kafka"

    def prepare(self) -> None:
        v = versions()
        libs = cache_dir() / f"kafka-{v['KAFKA_VERSION']}" / "libs"
        if not libs.is_dir():
            fetch("kafka")
        self.dir.mkdir(parents=True, exist_ok=True)
        cluster_file = self.dir / "cluster.id"
        if not cluster_file.exists():
            cluster_file.write_text(new_cluster_id())
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{OFFSET + 9093}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{OFFSET + 9093}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.dir / "log"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
            "delete.topic.enable": "true",
            "log.cleaner.backoff.ms": "5000",
        }
        (self.dir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.dir / "log4j2.properties").write_text(
            "status = warn\n"
            "appender.console.type = Console\nappender.console.name = STDOUT\n"
            "appender.console.layout.type = PatternLayout\n"
            "appender.console.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = info\nrootLogger.appenderRefs = stdout\n"
            "rootLogger.appenderRef.stdout.ref = STDOUT\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = warn\n"
            "logger.apache.name = org.apache.kafka\nlogger.apache.level = warn\n"
            "logger.started.name = kafka.server.KafkaRaftServer\nlogger.started.level = info\n"
        )
        if not (self.dir / "log" / "meta.properties").exists():
            subprocess.run(
                [
                    "java",
                    "-cp",
                    f"{libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    f"--cluster-id={cluster_file.read_text().strip()}",
                    "-c",
                    str(self.dir / "server.properties"),
                    "--ignore-formatted",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )

    def command(self) -> tuple[list[str], dict[str, str]]:
        libs = cache_dir() / f"kafka-{versions()['KAFKA_VERSION']}" / "libs"
        heap = os.environ.get("NEWSFLOW_KAFKA_HEAP", "512m")
        return [
            "java",
            f"-Xms{heap}",
            f"-Xmx{heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={LOGS}",
            "-cp",
            f"{libs}/*",
            "kafka.Kafka",
            str(self.dir / "server.properties"),
        ], {}

    def ready(self) -> bool:
        # The broker logs "Kafka Server started" once it serves clients; the port alone opens earlier.
        if not port_open(self.port):
            return False
        try:
            return "Kafka Server started" in self.logfile.read_text(errors="replace")
        except OSError:
            return True  # started by someone else (not our log): the open port is all we can see


class Elasticsearch(Server):
    def __init__(self) -> None:
        super().__init__("elasticsearch", OFFSET + 9200)

    @property
    def home(self) -> Path:
        return cache_dir() / f"elasticsearch-{versions()['ES_VERSION']}"

    @property
    def dir(self) -> Path:
        return _unprivileged_dir("elasticsearch")

    def prepare(self) -> None:
        fetch("plugin")  # builds and installs the analysis plugin only when its sources changed
        d = self.dir
        for sub in ("data", "logs", "config"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        for name in ("jvm.options", "log4j2.properties"):
            shutil.copy(self.home / "config" / name, d / "config" / name)
        (d / "config" / "jvm.options.d").mkdir(exist_ok=True)
        (d / "config" / "elasticsearch.yml").write_text(
            "cluster.name: newsflow-local\n"
            "node.name: local\n"
            "discovery.type: single-node\n"
            "network.host: 127.0.0.1\n"
            f"http.port: {self.port}\n"
            f"transport.port: {OFFSET + 9300}\n"
            "xpack.security.enabled: false\n"
            "cluster.routing.allocation.disk.threshold_enabled: false\n"
            "action.destructive_requires_name: false\n"
            f"path.data: {d / 'data'}\n"
            f"path.logs: {d / 'logs'}\n"
        )
        if os.geteuid() == 0:
            _ensure_user(ES_USER)
            subprocess.run(["chown", "-R", f"{ES_USER}:", str(d)], check=True)
            if d != DATA / "elasticsearch":
                link = DATA / "elasticsearch"
                if not link.is_symlink():
                    shutil.rmtree(link, ignore_errors=True)
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(d)

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {
            "ES_JAVA_HOME": modern_java_home(),
            "ES_JAVA_OPTS": os.environ.get("NEWSFLOW_ES_JAVA_OPTS", "-Xms1g -Xmx1g"),
            "ES_PATH_CONF": str(self.dir / "config"),
        }
        cmd = [str(self.home / "bin" / "elasticsearch")]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", ES_USER, "--", "env", *(f"{k}={v}" for k, v in env.items()), *cmd]
        return cmd, env

    def ready(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port}/_cluster/health?wait_for_status=yellow&timeout=1s")


def _pg_bin() -> Path:
    """The newest PostgreSQL server binaries Debian installed (postgresql-15 on Debian 12)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    if not found:
        fetch("postgres")
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent


class Postgres(Server):
    """FerretDB's storage: a private PostgreSQL cluster, run as an unprivileged user.

    Sized for a small machine. `fsync=off` trades only an OS crash (not a process crash: the
    kernel keeps what was written) for speed, which suits a local and test stack; commits stay
    synchronous, so a SIGKILLed server loses nothing it acknowledged."""

    user = "postgres"
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": "''",
        "max_connections": "300",
        "shared_buffers": "256MB",
        "work_mem": "8MB",
        "maintenance_work_mem": "64MB",
        "effective_cache_size": "1GB",
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "on",
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "max_wal_size": "1GB",
        "checkpoint_timeout": "15min",
        "random_page_cost": "1.1",
        "jit": "off",
        # FerretDB names the field as a bind parameter (`_jsonb -> $1 @> $2`); a generic plan
        # cannot match that to an index expression, so each statement is planned with its values.
        "plan_cache_mode": "force_custom_plan",
        "autovacuum_naptime": "10s",
        "log_min_messages": "warning",
        "logging_collector": "off",
    }

    def __init__(self) -> None:
        super().__init__("postgres", OFFSET + 5442)

    @property
    def dir(self) -> Path:
        return _unprivileged_dir("postgres")

    def prepare(self) -> None:
        bin_dir = _pg_bin()
        d = self.dir
        d.parent.mkdir(parents=True, exist_ok=True)
        if not (d / "PG_VERSION").exists():
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            self._chown(d)
            self._as_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(d),
                    "-U",
                    "newsflow",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ]
            )
        conf = "".join(f"{k} = {v}\n" for k, v in self.settings.items()) + f"port = {self.port}\n"
        (d / "newsflow.conf").write_text(conf)
        auto = d / "postgresql.auto.conf"
        include = "include = 'newsflow.conf'\n"
        if include not in auto.read_text():
            auto.write_text(auto.read_text() + include)
        self._chown(d)
        (d / "postmaster.pid").unlink(missing_ok=True) if not port_open(self.port) else None

    def _chown(self, d: Path) -> None:
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", f"{self.user}:", str(d)], check=True)
            os.chmod(d, 0o700)

    def _as_user(self, cmd: list[str]) -> None:
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def command(self) -> tuple[list[str], dict[str, str]]:
        cmd = [str(_pg_bin() / "postgres"), "-D", str(self.dir)]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return cmd, {}

    def ready(self) -> bool:
        if not port_open(self.port):
            return False
        probe = subprocess.run(
            [
                str(_pg_bin() / "pg_isready"),
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "newsflow",
                "-d",
                "postgres",
            ],
            capture_output=True,
        )
        return probe.returncode == 0 and self._database_exists()

    def _database_exists(self) -> bool:
        psql = [
            str(_pg_bin() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "newsflow",
            "-d",
            "postgres",
            "-tAc",
        ]
        out = subprocess.run(
            [*psql, "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'"], capture_output=True, text=True
        )
        if out.returncode != 0:
            return False
        if out.stdout.strip() != "1":
            subprocess.run([*psql, "CREATE DATABASE ferretdb"], capture_output=True)
            return False
        return self._index_companions(psql)

    def _index_companions(self, psql: list[str]) -> bool:
        """Installs the GIN companions of FerretDB's indexes (see ferretdb-indexes.sql)."""
        sql = psql[:-3] + ["-d", "ferretdb", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(HERE / "ferretdb-indexes.sql")]
        done = subprocess.run(sql, capture_output=True, text=True)
        if done.returncode != 0:
            log(f"postgres: ferretdb-indexes.sql failed: {done.stderr.strip()}")
        return done.returncode == 0


class FerretDB(Server):
    """The MongoDB wire protocol in front of the PostgreSQL cluster above."""

    needs = ("postgres",)

    def __init__(self) -> None:
        super().__init__("ferretdb", OFFSET + 27017)

    def prepare(self) -> None:
        binary = cache_dir() / f"ferretdb-{versions()['FERRETDB_VERSION']}" / "ferretdb"
        if not binary.exists():
            fetch("ferretdb")
        (DATA / "ferretdb" / "state").mkdir(parents=True, exist_ok=True)

    def command(self) -> tuple[list[str], dict[str, str]]:
        binary = cache_dir() / f"ferretdb-{versions()['FERRETDB_VERSION']}" / "ferretdb"
        pg = SERVERS["postgres"].port
        return [
            str(binary),
            "--handler=postgresql",
            f"--postgresql-url=postgres://newsflow@127.0.0.1:{pg}/ferretdb?pool_max_conns=200",
            f"--state-dir={DATA / 'ferretdb' / 'state'}",
            f"--listen-addr=127.0.0.1:{self.port}",
            f"--debug-addr=127.0.0.1:{OFFSET + 8088}",
            "--telemetry=disable",
            "--log-level=warn",
        ], {}

    def ready(self) -> bool:
        return port_open(self.port) and mongo_ping(self.port, timeout=5)

    def hung(self) -> bool:
        # FerretDB 1.24 can deadlock (a metadata write lock waiting for a pool connection while the
        # pool's holders wait for that lock); its process and port stay up, but nothing answers.
        return port_open(self.port) and not mongo_ping(self.port, timeout=20)

    def post_mortem(self) -> None:
        """Saves the goroutine dump of a hung FerretDB under the logs (who holds which lock)."""
        url = f"http://127.0.0.1:{OFFSET + 8088}/debug/pprof/goroutine?debug=2"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=10) as response:
            (LOGS / f"ferretdb-hung-{int(time.time())}.txt").write_bytes(response.read())


def mongo_ping(port: int, *, timeout: float) -> bool:
    """`{ping: 1}` over the MongoDB wire protocol (OP_MSG), standard library only: True on any reply."""
    db = b"admin\x00"
    body = b"\x10ping\x00" + struct.pack("<i", 1) + b"\x02$db\x00" + struct.pack("<i", len(db)) + db + b"\x00"
    doc = struct.pack("<i", 4 + len(body)) + body
    payload = struct.pack("<I", 0) + b"\x00" + doc
    message = struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(message)
            header = sock.recv(16)
            return len(header) == 16 and struct.unpack("<iiii", header)[3] == 2013
    except OSError:
        return False


SERVERS: dict[str, Server] = {s.name: s for s in (Kafka(), Elasticsearch(), Postgres(), FerretDB())}


def _unprivileged_dir(name: str) -> Path:
    """Where a server run as an unprivileged user keeps its data: under .data when that user can
    reach it, else under /var/lib/newsflow (keyed by this checkout, so two checkouts never share)."""
    local = DATA / name
    if os.geteuid() != 0 or _world_traversable(DATA):
        return local
    tag = hashlib.sha256(str(DATA.resolve()).encode()).hexdigest()[:10]
    return Path("/var/lib/newsflow") / tag / name


def _world_traversable(path: Path) -> bool:
    path = path.resolve() if path.exists() else path.parent.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents] if p.exists())


def _ensure_user(name: str) -> None:
    if subprocess.run(["id", "-u", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)


def modern_java_home() -> str:
    """The newest JDK on the machine (Elasticsearch 9 needs Java 21+; it ignores JAVA_HOME)."""
    if home := os.environ.get("NEWSFLOW_ES_JAVA_HOME"):
        return home
    best, best_version = "", 0
    for d in sorted(Path("/usr/lib/jvm").glob("*")):
        release = d / "release"
        if d.is_symlink() or not release.exists():
            continue
        for line in release.read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                major = int(line.split("=", 1)[1].strip('"').split(".")[0])
                if major > best_version:
                    best, best_version = str(d), major
    if best_version < 21:
        raise SystemExit("Elasticsearch needs a JDK 21+ under /usr/lib/jvm (or NEWSFLOW_ES_JAVA_HOME)")
    return best


def fetch(what: str) -> None:
    subprocess.run([str(HERE / "fetch.sh"), what], check=True)


def service_env() -> dict[str, str]:
    """The settings that point a service (or a test run) at this stack."""
    return {
        "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{SERVERS['kafka'].port}",
        "NEWSFLOW_ELASTICSEARCH__URL": f"http://127.0.0.1:{SERVERS['elasticsearch'].port}",
        "NEWSFLOW_MONGO__URI": f"mongodb://127.0.0.1:{SERVERS['ferretdb'].port}/",
    }
