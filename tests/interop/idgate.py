"""idgate for an interop check: a fresh SQLite database in a temporary folder, a free loopback
port, its command line, and a clean stop.

    with idgate.running("target/debug/idgate") as server:
        server.cli("users", "create", "alice", stdin=idgate.PASSWORD + "\\n")
        status, body = idgate.post(server.issuer + "/api/token/", {...})
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PASSWORD = "correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    """POSTs JSON; returns the status and the decoded answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


class Server:
    def __init__(self, binary, workdir):
        port = free_port()
        self.binary = binary
        self.workdir = workdir
        self.issuer = f"http://127.0.0.1:{port}"
        self.env = dict(
            os.environ,
            IDGATE__SERVER__PORT=str(port),
            IDGATE__ISSUER=self.issuer,
            IDGATE__DATABASE__URL="sqlite://idgate.db",
            IDGATE__PASSWORD__BCRYPT_COST="4",
            IDGATE__LOG__LEVEL="warn",
        )

    def cli(self, *args, stdin=""):
        """Runs `idgate ARGS…` on the server's database; returns its standard output."""
        return subprocess.run(
            [self.binary, *args], input=stdin, text=True, cwd=self.workdir, env=self.env,
            check=True, capture_output=True,
        ).stdout


@contextlib.contextmanager
def running(binary):
    """A served idgate, stopped on leaving the block."""
    with tempfile.TemporaryDirectory() as workdir:
        server = Server(os.path.abspath(binary), workdir)
        process = subprocess.Popen([server.binary, "serve"], cwd=workdir, env=server.env)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(server.issuer + "/readyz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                raise RuntimeError(f"idgate did not become ready at {server.issuer}")
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)


def get(url, headers=None):
    """GETs `url`; returns the status (0 when nothing answers) and the body."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def within(seconds, done):
    """True once `done()` is, polling for up to `seconds`; False if it never was."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.1)
    return False


def stop_all(processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        process.wait(timeout=15)


class Replicas:
    """Replicas of idgate on one fresh PostgreSQL database (made from `admin_url`'s server,
    dropped on leaving) and one keys folder, with `settings` as IDGATE__… variables:

        with idgate.Replicas(binary, admin_url, IDGATE__TOKENS__REUSE_GRACE="10s") as cluster:
            a, b = cluster.start(2)
    """

    def __init__(self, binary, admin_url, **settings):
        self.binary = os.path.abspath(binary)
        self.admin_url = admin_url
        self.database = f"idgate_replicas_{os.getpid()}"
        self.settings = settings
        self.processes = []

    def __enter__(self):
        self._workdir = tempfile.TemporaryDirectory()
        self.workdir = self._workdir.name
        database_url = re.sub(r"/[^/?]+(\?|$)", f"/{self.database}\\1", self.admin_url, count=1)
        self.env = dict(
            os.environ,
            IDGATE__DATABASE__URL=database_url,
            IDGATE__KEYS__DIR=os.path.join(self.workdir, "keys"),
            IDGATE__PASSWORD__BCRYPT_COST="4",
            IDGATE__LOG__LEVEL="warn",
        )
        self.env.update(self.settings)
        subprocess.run(["psql", self.admin_url, "-qc", f"CREATE DATABASE {self.database}"], check=True)
        try:
            self.cli("migrate")
            self.cli("keys", "generate")
        except BaseException:
            self.__exit__()
            raise
        return self

    def cli(self, *args, stdin=""):
        """Runs `idgate ARGS…` on the replicas' database and keys; returns standard output."""
        return subprocess.run(
            [self.binary, *args], input=stdin, text=True, cwd=self.workdir, env=self.env,
            check=True, capture_output=True,
        ).stdout

    def start(self, count, issuer=None):
        """Serves `count` replicas on free loopback ports (issuer: the first, unless given);
        returns their base URLs once every one is ready."""
        ports = [free_port() for _ in range(count)]
        issuer = issuer or f"http://127.0.0.1:{ports[0]}"
        for port in ports:
            env = dict(self.env, IDGATE__SERVER__PORT=str(port), IDGATE__ISSUER=issuer)
            self.processes.append(subprocess.Popen([self.binary, "serve"], cwd=self.workdir, env=env))
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            if not within(10, lambda: get(base + "/readyz")[0] == 200):
                raise RuntimeError(f"{base} did not become ready")
        return bases

    def __exit__(self, *_):
        stop_all(self.processes)
        self._workdir.cleanup()
        subprocess.run(["psql", self.admin_url, "-qc", f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"])
