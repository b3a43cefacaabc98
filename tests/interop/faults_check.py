"""Faults on the replicas' topology.

1. A replica killed with SIGKILL in the middle of a refresh burst loses no family and leaves
   none half-rotated: every refresh whose answer was lost either completed (then the same
   token, retried at another replica within tokens.reuse_grace, gets the family's current
   token) or did not (then the retry rotates), and the family goes on refreshing.
2. PostgreSQL stopped under load, then started again: every request meanwhile fails cleanly
   (503, never a 500, and within a bounded time, never a hang), and the replica recovers
   without a restart. This stops and starts the machine's PostgreSQL cluster (pg_ctlcluster):
   run it only where nothing else uses that server at the time, as in CI.

Usage: python3 tests/interop/faults_check.py target/debug/idgate [postgres://…/test]
"""

import collections
import signal
import subprocess
import sys
import threading
import time

import idgate
from idgate import PASSWORD, get, post, within

FAMILIES = 40
THREADS = 8


def postgres_cluster():
    """The (version, name) of the local PostgreSQL cluster, for pg_ctlcluster."""
    line = subprocess.run(["pg_lsclusters", "-h"], check=True, capture_output=True, text=True).stdout.split("\n")[0]
    version, name = line.split()[:2]
    return version, name


def main(binary, admin_url):
    results = []

    def check(name, condition, detail=""):
        results.append(bool(condition))
        print(("ok     " if condition else "FAILED ") + name + ("" if condition else f": {detail}"))

    with idgate.Replicas(binary, admin_url, IDGATE__TOKENS__REUSE_GRACE="10s",
                         IDGATE__LOG__LEVEL="error") as cluster:
        cluster.cli("users", "create", "alice", stdin=PASSWORD + "\n")
        a, b = cluster.start(2)

        families = []
        for _ in range(FAMILIES):
            status, pair = post(a + "/api/token/", {"username": "alice", "password": PASSWORD})
            assert status == 200, pair
            families.append({"token": pair["refresh"], "refreshes": 0})

        # The burst at A: each thread rotates its families in turn, remembering the token
        # of the request in flight, whose answer may never come.
        stop = threading.Event()

        def burst(mine):
            while not stop.is_set():
                for family in mine:
                    try:
                        status, answer = post(a + "/api/token/refresh/", {"refresh": family["token"]})
                    except OSError:
                        return
                    if status != 200:
                        family["error"] = (status, answer)
                        return
                    family["token"] = answer["refresh"]
                    family["refreshes"] += 1

        threads = [threading.Thread(target=burst, args=(families[n::THREADS],)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        cluster.processes[0].send_signal(signal.SIGKILL)
        cluster.processes[0].wait()
        stop.set()
        for thread in threads:
            thread.join()
        done = sum(family["refreshes"] for family in families)
        errors = [family["error"] for family in families if "error" in family]
        check(f"{done} refreshes at A before its SIGKILL, none refused", done > 0 and not errors, errors[:3])

        # Every family's last token, retried at B: the refresh either completed at A (B
        # answers the family's current token, within the grace) or it did not (B rotates).
        lost = []
        for family in families:
            status, answer = post(b + "/api/token/refresh/", {"refresh": family["token"]})
            if status != 200:
                lost.append((status, answer))
                continue
            status, again = post(b + "/api/token/refresh/", {"refresh": answer["refresh"]})
            if status != 200:
                lost.append(("next", status, again))
        check(f"all {FAMILIES} families refresh at B after the kill, none lost or half-rotated",
              not lost, lost[:3])

        # PostgreSQL goes away under load at B, then comes back.
        outcomes = []
        stop = threading.Event()

        def sign_ins():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status, _ = post(b + "/api/token/", {"username": "alice", "password": PASSWORD})
                except OSError as error:
                    status = repr(error)
                outcomes.append((status, time.monotonic() - started))
                if status != 200:
                    time.sleep(0.05)

        threads = [threading.Thread(target=sign_ins) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        postgres = postgres_cluster()
        try:
            subprocess.run(["pg_ctlcluster", *postgres, "stop"], check=True)
            # Longer than the pool's wait for a connection (5 s), so that requests fail.
            time.sleep(6)
        finally:
            subprocess.run(["pg_ctlcluster", *postgres, "start"], check=True)
        recovered = within(30, lambda: get(b + "/readyz")[0] == 200)
        stop.set()
        for thread in threads:
            thread.join()
        statuses = collections.Counter(status for status, _ in outcomes)
        longest = max(seconds for _, seconds in outcomes)
        check(f"while PostgreSQL was down, answers were 200 or 503 only: {dict(statuses)}",
              set(statuses) <= {200, 503} and statuses[503] > 0, statuses)
        check(f"no request hung (the longest took {longest:.1f} s)", longest < 15)
        status, _ = post(b + "/api/token/", {"username": "alice", "password": PASSWORD})
        check("the replica serves again without a restart", recovered and status == 200)

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "postgres://postgres@127.0.0.1:5432/test"))
