#!/usr/bin/python3
"""Parses an SVG file written by nasctl as XML and prints a JSON summary:
{"panels": [{"points": N, "highlight": M, "texts": [...]}, ...]}.
A panel is a <g class="panel">; points/highlight count the <circle>s in its
<g class="points"> and <g class="highlight">. Exit 1 if it is not XML."""

import json
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        print(f"{path}: not XML: {e}", file=sys.stderr)
        return 1
    if root.tag != NS + "svg":
        print(f"{path}: root element is {root.tag}, not svg", file=sys.stderr)
        return 1
    panels = []
    for panel in root.iter(NS + "g"):
        if panel.get("class") != "panel":
            continue
        summary = {"points": 0, "highlight": 0,
                   "texts": [t.text or "" for t in panel.iter(NS + "text")]}
        for group in panel.iter(NS + "g"):
            kind = group.get("class")
            if kind in ("points", "highlight"):
                summary[kind] += len(group.findall(NS + "circle"))
        panels.append(summary)
    print(json.dumps({"panels": panels}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
