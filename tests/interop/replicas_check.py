"""Several replicas on one PostgreSQL behind the compose file's load balancer, without
containers: three idgate processes on loopback ports, HAProxy started with deploy/haproxy.cfg
(its bind address, servers and Docker resolver swapped for loopback ones), one database, one
keys folder.

Checks: sign in at A, refresh at B, verify at C; reuse detection and throttling hold across
replicas; `idgate keys rotate` reaches every replica's JWKS within the reload interval, signing
switches after the publish lead, and tokens signed before still verify everywhere; meanwhile
two verifiers checking a continuous stream of freshly issued tokens reject none: PyJWT
(PyJWKClient through the load balancer) and idgate-verifier (examples/downstream, a service of
its own whose issuer is the load balancer, answering /hello/).

Usage: python3 tests/interop/replicas_check.py target/debug/idgate [postgres://…/test]
       [target/debug/downstream]
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

import jwt

import idgate
from idgate import PASSWORD, free_port, get, post, within

HERE = os.path.dirname(os.path.abspath(__file__))
HAPROXY_CFG = os.path.join(HERE, "..", "..", "deploy", "haproxy.cfg")


def jwks_kids(base):
    status, body = get(base + "/.well-known/jwks.json")
    return sorted(key["kid"] for key in json.loads(body)["keys"]) if status == 200 else []


def load_balancer_config(port, replicas):
    """deploy/haproxy.cfg with loopback addresses in place of the compose network's."""
    with open(HAPROXY_CFG, encoding="utf-8") as file:
        config = file.read()
    config = config.replace("bind :8080", f"bind 127.0.0.1:{port}")
    config = re.sub(r"\nresolvers docker\n(    .*\n)+", "\n", config)
    config = config.replace(" resolvers docker", "")
    config = re.sub(r"    server idgate-\d .*\n", "", config)
    config += "".join(
        f"    server idgate-{n} 127.0.0.1:{replica_port} check\n"
        for n, replica_port in enumerate(replicas, start=1)
    )
    return config


def main(binary, admin_url, downstream_binary):
    results = []
    if not os.path.exists(downstream_binary):
        raise SystemExit(f"{downstream_binary} is missing: run `cargo build -p downstream` first")

    def check(name, condition, detail=""):
        results.append(bool(condition))
        print(("ok     " if condition else "FAILED ") + name + ("" if condition else f": {detail}"))

    lb_port = free_port()
    issuer = f"http://127.0.0.1:{lb_port}"
    with idgate.Replicas(
        binary, admin_url,
        IDGATE__KEYS__PUBLISH_LEAD="3s",
        IDGATE__KEYS__RELOAD_INTERVAL="1s",
        IDGATE__TOKENS__REUSE_GRACE="1s",
        IDGATE__SERVER__TRUSTED_PROXIES="127.0.0.1",
    ) as cluster:
        for user in ["alice", "bob"]:
            cluster.cli("users", "create", user, stdin=PASSWORD + "\n")
        a, b, c = replicas = cluster.start(3, issuer=issuer)
        ports = [int(replica.rsplit(":", 1)[1]) for replica in replicas]
        config = os.path.join(cluster.workdir, "haproxy.cfg")
        with open(config, "w", encoding="utf-8") as file:
            file.write(load_balancer_config(lb_port, ports))
        cluster.processes.append(subprocess.Popen(["haproxy", "-db", "-f", config],
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not within(10, lambda: get(issuer + "/readyz")[0] == 200):
            raise RuntimeError("the load balancer did not become ready")

        # Sign in at A, refresh at B, verify at C.
        status, pair = post(a + "/api/token/", {"username": "alice", "password": PASSWORD})
        check("sign-in at A", status == 200, pair)
        status, rotated = post(b + "/api/token/refresh/", {"refresh": pair["refresh"]})
        check("refresh at B", status == 200, rotated)
        status, _ = post(c + "/api/token/verify/", {"token": rotated["access"]})
        check("verify at C", status == 200)
        status, _ = post(issuer + "/api/token/verify/", {"token": pair["access"]})
        check("verify through the load balancer", status == 200)

        # Reuse detection across replicas: the retired token after the grace (1 s, counted in
        # whole seconds), at C.
        time.sleep(2.2)
        status, _ = post(c + "/api/token/refresh/", {"refresh": pair["refresh"]})
        check("a retired refresh token replayed at C is refused", status == 401)
        status, _ = post(a + "/api/token/refresh/", {"refresh": rotated["refresh"]})
        check("the family's current token is revoked at A too", status == 401)
        check("its access token is refused at B within seconds", within(5, lambda: post(
            b + "/api/token/verify/", {"token": rotated["access"]})[0] == 401))

        # Throttling across replicas: five failures spread over A, B and C lock bob out.
        for replica in (a, b, c, a, b):
            post(replica + "/api/token/", {"username": "bob", "password": "wrong password"})
        status, body = post(c + "/api/token/", {"username": "bob", "password": PASSWORD})
        check("the sixth attempt, at C, is throttled", status == 429, body)

        # Rotation while PyJWT and idgate-verifier check freshly issued tokens without pause.
        verifier = jwt.PyJWKClient(issuer + "/.well-known/jwks.json", lifespan=1)
        downstream = f"http://127.0.0.1:{free_port()}"
        cluster.processes.append(subprocess.Popen(
            [os.path.abspath(downstream_binary)],
            env=dict(os.environ, IDGATE_ISSUER=issuer, RUST_LOG="warn",
                     DOWNSTREAM_LISTEN=downstream.removeprefix("http://"))))
        if not within(10, lambda: get(downstream + "/hello/")[0] == 401):
            raise RuntimeError("examples/downstream did not start")
        stream = {"verified": 0, "rejected": [], "kids": set(), "downstream": 0}
        stop = threading.Event()

        def verify_stream():
            while not stop.is_set():
                status, fresh = post(issuer + "/api/token/", {"username": "alice", "password": PASSWORD})
                if status != 200:
                    stream["rejected"].append(f"sign-in {status}")
                    continue
                try:
                    key = verifier.get_signing_key_from_jwt(fresh["access"])
                    jwt.decode(fresh["access"], key.key, algorithms=["RS256"],
                               audience=issuer, issuer=issuer)
                    stream["verified"] += 1
                    stream["kids"].add(jwt.get_unverified_header(fresh["access"])["kid"])
                except jwt.PyJWTError as error:
                    stream["rejected"].append(repr(error))
                status, body = get(downstream + "/hello/", {"authorization": "Bearer " + fresh["access"]})
                if status == 200:
                    stream["downstream"] += 1
                else:
                    stream["rejected"].append(f"idgate-verifier (downstream /hello/): {status} {body[:200]!r}")

        thread = threading.Thread(target=verify_stream)
        thread.start()
        before = jwks_kids(a)
        time.sleep(1)
        cluster.cli("keys", "rotate")
        started = time.monotonic()
        published = within(5, lambda: all(len(jwks_kids(r)) == 2 for r in (a, b, c)))
        published_after = time.monotonic() - started
        check(f"every replica publishes the new key within the reload interval ({published_after:.1f} s)",
              published and published_after < 3)
        new_kid = next(kid for kid in jwks_kids(a) if kid not in before)

        def signs_with_new_key(replica):
            status, fresh = post(replica + "/api/token/", {"username": "alice", "password": PASSWORD})
            return status == 200 and jwt.get_unverified_header(fresh["access"])["kid"] == new_kid

        status, early = post(a + "/api/token/", {"username": "alice", "password": PASSWORD})
        check("during the lead, the old key still signs",
              jwt.get_unverified_header(early["access"])["kid"] == before[0])
        check("after the lead, every replica signs with the new key",
              within(8, lambda: all(signs_with_new_key(r) for r in (a, b, c))))
        for replica in (a, b, c):
            status, _ = post(replica + "/api/token/verify/", {"token": early["access"]})
            check(f"a token of the old key still verifies at {replica}", status == 200)
        time.sleep(1.5)
        stop.set()
        thread.join()
        check(f"the verifier stream: {stream['verified']} verified by PyJWT and "
              f"{stream['downstream']} by idgate-verifier, both keys seen, none rejected",
              not stream["rejected"] and len(stream["kids"]) == 2 and stream["verified"] > 10
              and stream["downstream"] == stream["verified"],
              stream["rejected"][:3])

    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(
        sys.argv[1],
        sys.argv[2] if len(sys.argv) > 2 else "postgres://postgres@127.0.0.1:5432/test",
        sys.argv[3] if len(sys.argv) > 3 else "target/debug/downstream",
    ))
