"""Starts nas-controller and nas-worker exactly as deploy/k8s starts them,
and checks that they come up and that every probe the manifests declare
answers (run with /usr/bin/python3; ctest: deploy_run_manifests).

For each container of our images in deploy/k8s/{controller,worker}.yaml the
command line is what the container runtime would run: the image's
ENTRYPOINT and CMD (deploy/docker/<image>.Dockerfile, runtime stage) with
the manifest's `command`/`args` replacing them as Kubernetes does. The
environment is the image's ENV, HOME of the image's user, and the
container's `env`. The only substitutions, each printed:
  - files the Dockerfile COPYs into the image are installed under a
    temporary root (binaries from BUILD_DIR, migrations from the
    repository) and image paths in arguments point there;
  - volumeMounts (and the image's VOLUMEs) are temporary directories;
  - Secret values are random test values (one per key, shared as the
    Secret is);
  - Service names become 127.0.0.1: `postgres` (port 5432) is a throw-away
    PostgreSQL (scripts/pg-temp.sh) on a free port; `controller` keeps the
    ports the manifest gives it;
  - --device=cuda becomes --device=cpu when this machine has no GPU.
As root the binaries run as the image's USER (setpriv), as in the image.
The controller's and worker's fixed ports (50051, 9100, 9101) must be free.

Checks: the controller serves (grpc.health.v1 SERVING on its port), the
worker registers with the manifests' tokens (a row in `workers`: a token
given under a name the worker does not read fails with UNAUTHENTICATED),
every readiness/liveness/startup probe of both containers passes as the
kubelet would run it (httpGet: a 2xx/3xx answer; grpc: SERVING), and each
binary's /metrics carries its <binary>_build_info and the process_*
metrics.

Usage: run_manifests.py BUILD_DIR
Exit 0 when everything came up; 1 with the reason and the logs' tails.
"""
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import grpc
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class Failure(Exception):
    pass


def note(msg):
    print(f"run_manifests: {msg}", flush=True)


# --- manifests and images ----------------------------------------------------

def containers_of_ours():
    """(manifest file, container) for every container of a nas-* image."""
    out = []
    for name in ("controller.yaml", "worker.yaml"):
        with open(os.path.join(REPO, "deploy/k8s", name),
                  encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") != "Deployment":
                    continue
                pod = doc["spec"]["template"]["spec"]
                for c in pod["containers"]:
                    if image_name(c["image"]).startswith("nas-"):
                        out.append((name, doc, c))
    return out


def image_name(image):
    """`REGISTRY/nas-worker-cuda:0.23.0` -> `nas-worker-cuda`."""
    last = image.split("/")[-1]
    return last.split("@")[0].split(":")[0]


class Image:
    """The runtime stage of deploy/docker/<name minus nas->.Dockerfile."""

    def __init__(self, name):
        self.path = os.path.join(
            REPO, "deploy/docker", name[len("nas-"):] + ".Dockerfile")
        if not os.path.exists(self.path):
            raise Failure(f"image {name}: no {self.path}")
        with open(self.path, encoding="utf-8") as f:
            text = f.read().replace("\\\n", " ")
        stages = re.split(r"^FROM\s", text, flags=re.M)
        stage = stages[-1]
        self.entrypoint, self.cmd, self.user = [], [], "root"
        self.env, self.copies, self.volumes = {}, [], []
        for line in stage.splitlines():
            line = line.strip()
            word, _, rest = line.partition(" ")
            rest = rest.strip()
            if word == "ENTRYPOINT":
                self.entrypoint = json.loads(rest)
            elif word == "CMD":
                self.cmd = json.loads(rest)
            elif word == "USER":
                self.user = rest
            elif word == "ENV":
                for item in shlex.split(rest):
                    key, _, value = item.partition("=")
                    self.env[key] = value
            elif word == "VOLUME":
                self.volumes += (json.loads(rest) if rest.startswith("[")
                                 else rest.split())
            elif word == "COPY":
                parts = rest.split()
                from_build = parts[0].startswith("--from=")
                if from_build:
                    parts = parts[1:]
                *sources, dest = parts
                self.copies += [(from_build, s, dest) for s in sources]


def install(image, build_dir, root):
    """Copies what the image's COPY lines name under `root`; returns the
    image's paths (longest first) so that arguments can be mapped."""
    for from_build, source, dest in image.copies:
        if from_build:
            if not source.startswith("/build/"):
                raise Failure(f"{image.path}: COPY from {source}, not /build")
            local = os.path.join(build_dir, source[len("/build/"):])
        else:
            local = os.path.join(REPO, source)
        if not os.path.exists(local):
            if os.path.basename(source) != image.entrypoint[0]:
                note(f"{local} (COPY {source} {dest}) is not built; not "
                     "needed to start the container")
                continue
            raise Failure(f"{local} (COPY {source} {dest} in {image.path}) "
                          "is not built")
        target = root + dest
        if dest.endswith("/"):
            target = os.path.join(target, os.path.basename(source))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.isdir(local):
            shutil.copytree(local, target)
        else:
            shutil.copy2(local, target)
    return root


# --- the environment's stand-ins --------------------------------------------

def port_free(port):
    with socket.socket() as s:
        # As the servers bind: connections of an earlier run in TIME_WAIT
        # do not make the port busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def has_gpu():
    return shutil.which("nvidia-smi") is not None and subprocess.run(
        ["nvidia-smi", "-L"], capture_output=True).returncode == 0


def map_services(value, services):
    """Service names -> 127.0.0.1 (with their local ports), in a flag value
    or a libpq connection string."""
    for name, (port, local_port) in services.items():
        value = value.replace(f"{name}:{port}", f"127.0.0.1:{local_port}")
        if re.search(rf"\bhost={name}\b", value):
            value = re.sub(rf"\bhost={name}\b", "host=127.0.0.1", value)
            value = re.sub(rf"\bport={port}\b", f"port={local_port}", value)
    return value


def command_line(image, container, root, services):
    """argv as the runtime runs it, with image paths under `root`."""
    entry = container.get("command") or image.entrypoint
    args = container.get("args")
    if args is None and not container.get("command"):
        args = image.cmd
    argv = list(entry) + list(args or [])
    out = []
    for a in argv:
        a = map_services(a, services)
        for _, _, dest in image.copies:
            d = dest.rstrip("/")
            if d and d in a:
                a = a.replace(d, root + d)
        if a == "--device=cuda" and not has_gpu():
            note("no GPU here: --device=cuda runs as --device=cpu")
            a = "--device=cpu"
        out.append(a)
    binary = root + "/usr/local/bin/" + out[0]
    if not os.path.exists(binary):
        raise Failure(f"{out[0]}: not installed by {image.path}")
    return [binary] + out[1:]


def environment(image, container, secret, mounts, services):
    user = image.user.split(":")[0]
    home = "/nonexistent" if user in ("nobody", "65534") else "/root"
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                   "/sbin:/bin", "HOME": home}
    env.update(image.env)
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = map_services(str(e["value"]), services)
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secret.setdefault(
                (ref["name"], ref["key"]), "test-" + secrets.token_hex(8))
    for key, value in list(env.items()):
        for path, local in mounts.items():
            if value == path or value.startswith(path + "/"):
                env[key] = local + value[len(path):]
    return env


# --- probes ------------------------------------------------------------------

def container_port(container, port):
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p["containerPort"]
    raise Failure(f"container {container['name']}: no port named {port}")


def http_get(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                timeout=5) as r:
        return r.status, r.read().decode("utf-8", "replace")


def grpc_health(port, service=""):
    """grpc.health.v1.Health/Check; the status name, e.g. SERVING."""
    request = b"" if not service else (
        b"\x0a" + bytes([len(service)]) + service.encode())
    # A subchannel pool of its own: gRPC shares connections (and their
    # reconnect backoff after a refused connection) between channels.
    with grpc.insecure_channel(
            f"127.0.0.1:{port}",
            options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check",
                               request_serializer=lambda b: b,
                               response_deserializer=lambda b: b)
        try:
            reply = check(request, timeout=5)
        except grpc.RpcError as e:
            return f"{e.code().name}: {e.details()}"
    status = reply[1] if len(reply) >= 2 and reply[0] == 0x08 else 0
    return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING"}.get(status, "?")


def probe_passes(container, probe):
    if "httpGet" in probe:
        h = probe["httpGet"]
        try:
            status, _ = http_get(container_port(container, h["port"]),
                                 h.get("path", "/"))
        except OSError as e:
            return False, str(e)
        return 200 <= status < 400, f"HTTP {status}"
    if "grpc" in probe:
        g = probe["grpc"]
        got = grpc_health(container_port(container, g["port"]),
                          g.get("service", ""))
        return got == "SERVING", got
    raise Failure(f"container {container['name']}: probe kind of {probe} "
                  "is not checked by this test")


def wait_for(what, cond, timeout, procs):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        for name, p in procs.items():
            if p.poll() is not None:
                raise Failure(f"{name} exited with status {p.returncode} "
                              f"while waiting for {what}")
        ok, last = cond()
        if ok:
            note(f"{what}: OK ({last})")
            return
        time.sleep(0.5)
    raise Failure(f"{what}: not within {timeout} s (last: {last})")


# --- the test ----------------------------------------------------------------

def run(build_dir, tmp, procs, logs):
    pg_dir = os.path.join(tmp, "pg")
    os.makedirs(pg_dir)
    conninfo = subprocess.run(
        ["bash", os.path.join(REPO, "scripts/pg-temp.sh"), "start", pg_dir],
        check=True, capture_output=True, text=True).stdout.strip()
    pg_port = int(re.search(r"port=(\d+)", conninfo).group(1))
    note(f"postgres (Service port 5432) is a throw-away server on {pg_port}")
    services = {"postgres": (5432, pg_port)}
    ours = containers_of_ours()
    kinds = sorted(image_name(c["image"]).split("-")[1] for _, _, c in ours)
    if kinds != ["controller", "worker"]:
        raise Failure(f"expected one controller and one worker container in "
                      f"deploy/k8s, found {kinds}")
    for _, _, c in ours:
        for p in c.get("ports") or []:
            if not port_free(p["containerPort"]):
                raise Failure(f"port {p['containerPort']} ({c['name']}) is "
                              "in use on this machine; the test runs the "
                              "manifests' ports as they are")
            if (image_name(c["image"]) == "nas-controller" and
                    p.get("name") == "grpc"):
                # Service `controller` (50051 -> targetPort grpc).
                services["controller"] = (p["containerPort"],
                                          p["containerPort"])
    secret = {}
    started = []
    # The controller first, as the worker's --controller names it.
    ours.sort(key=lambda t: "controller" not in image_name(t[2]["image"]))
    for manifest, deployment, c in ours:
        name = image_name(c["image"])
        image = Image(name)
        root = os.path.join(tmp, "root-" + c["name"])
        install(image, build_dir, root)
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        mounts = {}
        for m in c.get("volumeMounts") or []:
            v = volumes.get(m["name"], {})
            if "emptyDir" not in v:
                raise Failure(f"{manifest}: volume {m['name']} is not an "
                              "emptyDir; this test only stands in for those")
            mounts[m["mountPath"]] = os.path.join(tmp, c["name"] + "-" +
                                                  m["name"])
        for path in image.volumes:
            mounts.setdefault(path, os.path.join(
                tmp, c["name"] + "-image-volume" + path.replace("/", "-")))
        security = dict(pod.get("securityContext") or {})
        security.update(c.get("securityContext") or {})
        user = str(security.get("runAsUser", image.user.split(":")[0]))
        group = str(security.get("runAsGroup", image.user.split(":")[-1]
                                 if ":" in image.user else user))
        for local in mounts.values():
            os.makedirs(local, exist_ok=True)
            os.chmod(local, 0o777)  # an emptyDir is world-writable
        argv = command_line(image, c, root, services)
        env = environment(image, c, secret, mounts, services)
        if os.getuid() == 0:
            for d in (tmp, root):
                os.chmod(d, 0o755)
            argv = ["setpriv", f"--reuid={user}", f"--regid={group}",
                    "--clear-groups", "--"] + argv
        else:
            note(f"not root: {c['name']} runs as this user, not as {user}")
        note(f"{manifest} {c['name']}: " + " ".join(
            shlex.quote(a) for a in argv))
        note("  env: " + " ".join(
            f"{k}={'<secret>' if k in ('PGPASSWORD',) or 'TOKEN' in k else v}"
            for k, v in sorted(env.items())))
        log = os.path.join(tmp, c["name"] + ".log")
        logs[c["name"]] = log
        with open(log, "wb") as out:
            procs[c["name"]] = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                cwd="/")
        started.append((name, c))
        if name == "nas-controller":
            port = services["controller"][0]
            wait_for("controller serves (grpc.health.v1 SERVING)",
                     lambda: (grpc_health(port) == "SERVING",
                              grpc_health(port)), 60, procs)

    def registered():
        out = subprocess.run(
            ["psql", conninfo, "-tAc", "SELECT count(*) FROM workers"],
            capture_output=True, text=True)
        n = out.stdout.strip()
        return n == "1", f"{n or out.stderr.strip()} worker(s) registered"
    wait_for("worker registers with the manifests' token", registered, 60,
             procs)

    for name, c in started:
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(kind)
            if probe is None and kind == "startupProbe":
                continue  # optional
            if probe is None:
                raise Failure(f"{c['name']}: no {kind}")
            wait_for(f"{c['name']} {kind}",
                     lambda c=c, probe=probe: probe_passes(c, probe), 30,
                     procs)
        metrics_port = container_port(c, "metrics")
        _, text = http_get(metrics_port, "/metrics")
        want = [name.replace("-", "_").replace("_cuda", "").replace(
            "_cpu", "") + "_build_info{"] + [
                f"\n{m} " for m in (
                    "process_cpu_seconds_total",
                    "process_resident_memory_bytes",
                    "process_virtual_memory_bytes",
                    "process_start_time_seconds", "process_open_fds",
                    "process_max_fds")]
        missing = [w.strip() for w in want if w not in text]
        if missing:
            raise Failure(f"{c['name']} /metrics lacks {missing}")
        note(f"{c['name']} /metrics: build_info and process_* present")


def main():
    if len(sys.argv) != 2:
        print("usage: run_manifests.py BUILD_DIR", file=sys.stderr)
        return 2
    build_dir = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="nas-manifests-")
    os.chmod(tmp, 0o755)  # PostgreSQL and the image's user reach below it
    procs, logs = {}, {}
    failed = False
    try:
        run(build_dir, tmp, procs, logs)
    except (Failure, subprocess.CalledProcessError) as e:
        failed = True
        detail = getattr(e, "stderr", None)
        print(f"run_manifests: FAIL: {e}" + (f"\n{detail}" if detail else ""),
              file=sys.stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.path.exists(os.path.join(tmp, "pg", "port")):
            subprocess.run(["bash", os.path.join(REPO, "scripts/pg-temp.sh"),
                            "stop", os.path.join(tmp, "pg")],
                           capture_output=True)
        if failed:
            for name, log in logs.items():
                with open(log, encoding="utf-8", errors="replace") as f:
                    tail = f.read().splitlines()[-30:]
                print(f"--- last lines of {name}'s log ---", file=sys.stderr)
                print("\n".join(tail), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    if not failed:
        note("PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
