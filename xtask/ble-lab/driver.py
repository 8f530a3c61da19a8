#!/usr/bin/env python3
"""The BLE lab's driver, inside the VM: two Portico instances on the two virtual controllers.

1. Both speak both generations: they find each other, the lower q8id connects as central, and
   test messages of 1 B, 500 B and 60 KiB go each way; every one must be acknowledged
   ("delivered") and arrive intact.
2. One stops: the other must report it unavailable.
3. B comes back speaking only the legacy generation: the same three sizes each way over the
   `$$` framing, reported "sent" (legacy has no acknowledgements) and received intact.
4. B stops again: A reports it unavailable once BlueZ forgets it.

Every step waits for a condition with a generous deadline and prints how long it took.
Exit status 0 only if every step passed.
"""

import http.cookiejar
import json
import os
import subprocess
import sys
import time
import urllib.request

OUT, BIN = sys.argv[1], sys.argv[2]
HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "qaul-lab-Passw0rd!x"
# A's q8id is the lower: A is central towards B (spec §5.3).
NODES = {
    "a": {"adapter": sys.argv[3], "port": 8001, "id": "4e1a7702c390115b"},
    "b": {"adapter": sys.argv[4], "port": 8002, "id": "9c3e017a55d208f4"},
}
SIZES = [1, 500, 61440]
failures = []


def log(text):
    print(text, flush=True)


class Node:
    def __init__(self, name, generations):
        spec = NODES[name]
        self.name, self.id, self.port = name, spec["id"], spec["port"]
        self.root = f"/tmp/ble-lab/{name}"
        # The admin password first (this also fills the fresh root), then our settings.
        os.makedirs(self.root, exist_ok=True)
        with open(f"{self.root}/answers.json", "w") as f:
            json.dump({"password": PASSWORD}, f)
        subprocess.run(
            [BIN, "--root", self.root, "wizard", "apply", "--answers", f"{self.root}/answers.json", "--unchecked"],
            check=True, stdout=subprocess.DEVNULL,
        )
        with open(f"{self.root}/etc/config/portico", "w") as f:
            f.write(
                "config portico 'main'\n"
                f"\toption listen '127.0.0.1:{self.port}'\n"
                "\toption lan_device ''\n\n"
                "config ble 'ble'\n"
                f"\toption adapter '{spec['adapter']}'\n"
                f"\toption generations '{generations}'\n"
                f"\toption qaul_id '{self.id}'\n"
            )
        logfile = open(f"{OUT}/portico-{name}-{generations}.log", "w")
        self.proc = subprocess.Popen(
            [BIN, "--root", self.root, "serve"], stdout=logfile, stderr=subprocess.STDOUT,
            env={**os.environ, "PORTICO_LOG": "info,portico_server::ble=debug"},
        )
        self.base = f"http://127.0.0.1:{self.port}"
        jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        wait(f"{name} serving", lambda: self.get("/healthz", raw=True), 60)
        self.post_form("/login", f"user=root&password={PASSWORD}")

    def request(self, path, data=None, content_type=None):
        req = urllib.request.Request(self.base + path, data=data)
        req.add_header("Origin", self.base)
        if content_type:
            req.add_header("Content-Type", content_type)
        return self.http.open(req, timeout=120)

    def get(self, path, raw=False):
        with self.request(path) as r:
            body = r.read()
            return body if raw else json.loads(body)

    def post_form(self, path, body):
        with self.request(path, body.encode(), "application/x-www-form-urlencoded") as r:
            r.read()

    def link(self):
        return self.get("/api/v1/ble/peers")

    def peer(self, q8id):
        return next((p for p in self.link()["peers"] if p["q8id"] == q8id), None)

    def send(self, to, size):
        body = json.dumps({"peer": to.id, "size": size}).encode()
        with self.request("/api/v1/ble/send", body, "application/json") as r:
            assert r.status == 202, r.status

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def wait(what, probe, deadline):
    start = time.monotonic()
    last_error = None
    while time.monotonic() - start < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - a probe may fail until the thing is up
            last_error = e
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {deadline} s waiting for {what} (last error: {last_error})")


def step(name, fn):
    start = time.monotonic()
    try:
        detail = fn()
        log(f"PASS {name} ({time.monotonic() - start:.1f} s){': ' + detail if detail else ''}")
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        failures.append(name)
        log(f"FAIL {name} ({time.monotonic() - start:.1f} s): {e}")


def run_node(script, *args):
    done = subprocess.run(["node", os.path.join(HERE, script), *args], capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        raise AssertionError(f"{script} failed: {(done.stdout + done.stderr).strip()[-3000:]}")
    return done.stdout.strip()


def exchange(sender, receiver, size, word):
    before = receiver.peer(sender.id)["messages_in"]
    sender.send(receiver, size)
    sent = wait(f"{sender.name}'s send to be reported",
                lambda: (p := sender.peer(receiver.id)) and p["last_sent"].startswith(f"{size} B") and p["last_sent"],
                900)
    if word not in sent or "failed" in sent:
        raise AssertionError(f"sender says {sent!r}, expected {word!r}")
    got = wait(f"{receiver.name} to receive it",
               lambda: (p := receiver.peer(sender.id)) and p["messages_in"] > before and p["last_received"], 900)
    expected = "1 B" if size == 1 else f"{size} B intact"
    if expected not in got:
        raise AssertionError(f"receiver says {got!r}, expected {expected!r}")
    return f"sender: {sent}; receiver: {got}"


def generation_round(a, b, generation, word):
    step(f"{generation}: A and B see each other",
         lambda: wait("both peers", lambda: (pa := a.peer(b.id)) and (pb := b.peer(a.id))
                      and pa["generation"] == generation and pb["generation"] == generation
                      and (generation == "legacy" or (pa["connected"] and pb["connected"]))
                      and f"A: {pa['generation']} {pa['role'] or 'seen'}, B: {pb['generation']} {pb['role'] or 'seen'}",
                      120))
    for size in SIZES:
        step(f"{generation}: {size} B A→B", lambda: exchange(a, b, size, word))
        step(f"{generation}: {size} B B→A", lambda: exchange(b, a, size, word))


def unavailable(a, b, deadline):
    start = time.monotonic()
    b.stop()
    wait("A to report B unavailable", lambda: a.peer(b.id) is None, deadline)
    return f"A dropped B {time.monotonic() - start:.1f} s after B stopped"


def main():
    a = Node("a", "both")
    b = Node("b", "both")
    step("both links running", lambda: wait("running", lambda: a.link()["running"] and b.link()["running"]
                                              and f"A {a.link()['address']}, B {b.link()['address']}", 60))
    generation_round(a, b, "current", "delivered")
    with open(f"{OUT}/peers-a-current.json", "w") as f:
        json.dump(a.link(), f, indent=1)
    step("current: the peer view in Chromium shows B live and sends it a test message",
         lambda: run_node("peer-view.mjs", a.base, PASSWORD, b.id, OUT))
    step("current: B stops, A reports it unavailable", lambda: unavailable(a, b, 120))
    b = Node("b", "legacy")
    generation_round(a, b, "legacy", "sent (legacy")
    with open(f"{OUT}/peers-a-legacy.json", "w") as f:
        json.dump(a.link(), f, indent=1)
    step("legacy: B stops, A reports it unavailable", lambda: unavailable(a, b, 240))
    a.stop()
    log(f"{len(failures)} step(s) failed" if failures else "every step passed")
    sys.exit(1 if failures else 0)


main()
