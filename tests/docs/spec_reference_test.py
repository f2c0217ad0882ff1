#!/usr/bin/python3
"""Checks that docs/SPEC.md documents every field of ExperimentSpec.

Walks the ExperimentSpec message (from the stubs generated into
<build>/python) and requires each field path, e.g.
`evaluation.tabular.cost_scale`, to appear in SPEC.md's reference table
(written in backquotes, alone or as the table's "a, b" shorthand for
sibling fields). Usage: spec_reference_test.py BUILD_DIR SOURCE_DIR"""

import os
import re
import sys


def paths(descriptor, prefix=""):
    for field in descriptor.fields:
        path = prefix + field.name
        if field.message_type is not None and not field.message_type.GetOptions().map_entry:
            yield from paths(field.message_type, path + ".")
        else:
            yield path


def main(build_dir, source_dir):
    sys.path.insert(0, os.path.join(build_dir, "python"))
    from nas.v1 import experiment_pb2

    with open(os.path.join(source_dir, "docs", "SPEC.md"), encoding="utf-8") as f:
        doc = f.read()
    documented = set()
    for cell in re.findall(r"^\| `([^|]*)` \|", doc, re.M):
        names = [n.strip(" `") for n in cell.split(",")]
        parent = names[0].rsplit(".", 1)[0] + "." if "." in names[0] else ""
        documented.add(names[0])
        for n in names[1:]:
            documented.add(n if "." in n else parent + n)
    missing = [p for p in paths(experiment_pb2.ExperimentSpec.DESCRIPTOR)
               if p not in documented]
    if missing:
        print("docs/SPEC.md does not document:", ", ".join(missing))
        return 1
    print(f"docs/SPEC.md documents all "
          f"{len(list(paths(experiment_pb2.ExperimentSpec.DESCRIPTOR)))} "
          f"spec fields")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
