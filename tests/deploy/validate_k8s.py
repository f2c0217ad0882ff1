"""Validates Kubernetes manifests against the API models of Debian's
python3-kubernetes (22.6, Kubernetes 1.22 API; run with /usr/bin/python3).

Every document must name a known apiVersion/kind; every field must exist in
its model (a typo such as `contianers` is an error), have the model's type,
and every required field must be present (the models' own client-side
validation). Each ConfigMap key ending in .yml/.yaml is written to OUT_DIR
so that the caller can run promtool on it. A variable NAS_* given to a
container of our own images (nas-worker*, nas-controller*) must be one the
binary reads, a string literal in its sources (a worker given
NAS_WORKER_TOKEN instead of NAS_TOKEN crash-looped UNAUTHENTICATED).
Nothing is downloaded.

Usage: validate_k8s.py OUT_DIR FILE.yaml...
Exit 0 when every document is valid; 1 with one line per problem.
"""
import os
import re
import sys

import kubernetes.client
import kubernetes.client.models as models
import yaml

# Fields typed `str` by the Python models that the API server also accepts
# as numbers: resource quantities (`nvidia.com/gpu: 1`).
_QUANTITY_PARENTS = {"limits", "requests", "capacity", "hard"}

# Fields newer than the 1.22 models, with their own field types: gRPC
# probes (Kubernetes 1.24+, GA in 1.27), which the controller's manifest
# uses against its grpc.health.v1 service.
_NEWER_FIELDS = {
    ("V1Probe", "grpc"): {"port": "int", "service": "str"},
}


def model_class(api_version, kind):
    version = api_version.split("/")[-1]
    name = version[0].upper() + version[1:] + kind
    return name if hasattr(models, name) else None


def check(value, type_name, path, problems, parent_key=""):
    """Appends a message to `problems` for every mismatch below `value`."""
    if value is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", problems)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map")
            return
        for k, v in value.items():
            check(v, m.group(1), f"{path}.{k}", problems, parent_key=path.rsplit(".", 1)[-1])
        return
    if type_name == "object":
        return
    if type_name == "str":
        ok = isinstance(value, str) or (
            parent_key in _QUANTITY_PARENTS and isinstance(value, (int, float))
            and not isinstance(value, bool))
        if not ok:
            problems.append(f"{path}: expected a string, got {value!r}")
        return
    if type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
        return
    if type_name == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(f"{path}: expected a number, got {value!r}")
        return
    if type_name == "bool":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected true or false, got {value!r}")
        return
    if type_name in ("datetime", "date"):
        return
    klass = getattr(models, type_name, None)
    if klass is None:
        problems.append(f"{path}: unknown model type {type_name}")
        return
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({type_name})")
        return
    by_json = {json: attr for attr, json in klass.attribute_map.items()}
    for key, sub in value.items():
        attr = by_json.get(key)
        newer = _NEWER_FIELDS.get((type_name, key))
        if attr is None and newer is not None:
            if not isinstance(sub, dict):
                problems.append(f"{path}.{key}: expected an object")
                continue
            for k, v in sub.items():
                if k not in newer:
                    problems.append(f"{path}.{key}.{k}: unknown field")
                else:
                    check(v, newer[k], f"{path}.{key}.{k}", problems)
            continue
        if attr is None:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        check(sub, klass.openapi_types[attr], f"{path}.{key}", problems,
              parent_key=key)


# The project's own images and the source folders of the binary each runs:
# an environment variable NAS_* that a manifest gives one of them must be
# one that binary reads (a name written as a C++ string literal there).
_IMAGE_SOURCES = {
    "nas-worker": ("worker", "common"),
    "nas-controller": ("controller", "common"),
}
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def names_read(folders):
    """The NAS_* names written as string literals under `folders`."""
    found = set()
    for folder in folders:
        for root, _, files in os.walk(os.path.join(_REPO, folder)):
            for name in files:
                if name.endswith((".cc", ".h")):
                    with open(os.path.join(root, name),
                              encoding="utf-8") as f:
                        found.update(re.findall(r'"(NAS_[A-Z0-9_]+)"',
                                                f.read()))
    return found


def check_environment(obj, where, problems):
    """A NAS_* variable given to one of our images must be read by it."""
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    for c in spec.get("containers") or []:
        image = (c.get("image") or "").split(":")[0].split("/")[-1]
        folders = next((v for k, v in _IMAGE_SOURCES.items()
                        if image.startswith(k)), None)
        if folders is None:
            continue
        known = names_read(folders)
        for e in c.get("env") or []:
            name = e.get("name", "")
            if name.startswith("NAS_") and name not in known:
                problems.append(
                    f"{where}: container {c.get('name')} ({image}) is given "
                    f"{name}, which it never reads (it reads: "
                    f"{', '.join(sorted(known))})")


def main():
    if len(sys.argv) < 3:
        print("usage: validate_k8s.py OUT_DIR FILE.yaml...", file=sys.stderr)
        return 2
    out_dir, files = sys.argv[1], sys.argv[2:]
    client = kubernetes.client.ApiClient()
    problems = []
    checked = 0
    for file in files:
        with open(file, encoding="utf-8") as f:
            try:
                docs = list(yaml.safe_load_all(f))
            except yaml.YAMLError as e:
                problems.append(f"{os.path.basename(file)}: YAML: {e}")
                continue
        for i, obj in enumerate(docs):
            where = f"{os.path.basename(file)} document {i + 1}"
            if obj is None:
                continue
            api_version, kind = obj.get("apiVersion"), obj.get("kind")
            if not api_version or not kind:
                problems.append(f"{where}: apiVersion and kind are required")
                continue
            name = model_class(api_version, kind)
            if name is None:
                problems.append(f"{where}: no model for {api_version} {kind}")
                continue
            before = len(problems)
            check(obj, name, f"{where} ({kind})", problems)
            check_environment(obj, f"{where} ({kind})", problems)
            try:
                # Required fields: the models refuse None for them.
                client._ApiClient__deserialize(obj, name)
            except (ValueError, TypeError) as e:
                problems.append(f"{where} ({kind}): {e}")
            if len(problems) > before:
                continue
            checked += 1
            if kind == "ConfigMap":
                for key, value in (obj.get("data") or {}).items():
                    if key.endswith((".yml", ".yaml")):
                        path = os.path.join(
                            out_dir, f"{obj['metadata']['name']}-{key}")
                        with open(path, "w", encoding="utf-8") as out:
                            out.write(value)
    for p in problems:
        print(p)
    print(f"{checked} object(s) valid, {len(problems)} problem(s)")
    return 0 if not problems and checked > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
