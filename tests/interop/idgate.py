"""idgate for an interop check: a fresh SQLite database in a temporary folder, a free loopback
port, its command line, and a clean stop.

    with idgate.running("target/debug/idgate") as server:
        server.cli("users", "create", "alice", stdin=idgate.PASSWORD + "\\n")
        status, body = idgate.post(server.issuer + "/api/token/", {...})
"""

import contextlib
import json
import os
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
