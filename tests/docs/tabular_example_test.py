"""The TABULAR example's table lies outside the repository, so the example
and docs/USER_GUIDE.md ("TABULAR tables") must say where it comes from and
which columns it needs (issue 23). Checks: every column the example's spec
names (key_column, default `arch`, and each *_column) is listed in the
example's comment and in the guide's paragraph, both say the table is not
in the repository; when the table is present (workers started in the
repository root read `path` relative to it), its header has every column.

Usage: tabular_example_test.py SOURCE_DIR
"""
import csv
import os
import sys

import yaml


def main():
    src = sys.argv[1]
    example = os.path.join(src, "examples/nb201_tabular_evolution.yaml")
    with open(example, encoding="utf-8") as f:
        text = f.read()
    tabular = yaml.safe_load(text)["evaluation"]["tabular"]
    columns = [tabular.get("key_column", "arch")] + [
        v for k, v in tabular.items() if k.endswith("_column") and
        k != "key_column"]
    comment = "\n".join(line for line in text.splitlines()
                        if line.startswith("#"))
    with open(os.path.join(src, "docs/USER_GUIDE.md"), encoding="utf-8") as f:
        guide = f.read()
    start = guide.find("**TABULAR tables.**")
    paragraph = guide[start:guide.find("\n\n", start)] if start >= 0 else ""
    problems = []
    if not paragraph:
        problems.append("docs/USER_GUIDE.md has no '**TABULAR tables.**'")
    for where, body in (("the example's comment", comment),
                        ("USER_GUIDE's TABULAR tables", paragraph)):
        if "not part of this repository" not in body and \
                "No table ships with the repository" not in body:
            problems.append(f"{where} does not say the table is outside "
                            "the repository")
        if tabular["path"] not in body:
            problems.append(f"{where} does not name {tabular['path']}")
        for c in columns:
            if c not in body:
                problems.append(f"{where} does not list column {c}")
    table = os.path.join(src, tabular["path"])
    if os.path.exists(table):
        with open(table, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        for c in columns:
            if c not in header:
                problems.append(f"{table} has no column {c}")
        print(f"{table}: header has all {len(columns)} columns")
    else:
        print(f"{table} absent: its header is not checked")
    for p in problems:
        print(f"tabular_example_test: {p}", file=sys.stderr)
    print(f"{len(columns)} columns, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
