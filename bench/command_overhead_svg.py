"""Draws bench/command_overhead's results as an SVG bar chart.

Usage: command_overhead_svg.py DIR   (reads DIR/command_overhead.csv,
writes DIR/command_overhead.svg). Plain SVG text, no plotting library;
ticks and labels from data_pipeline_svg.py.

One horizontal bar per run (median seconds, min-max whisker): the built-in
trainer, the example PyTorch trainer through mode COMMAND, and the
COMMAND path's fixed costs without training.
"""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_pipeline_svg import fmt, nice_ticks, text  # noqa: E402

LABELS = {
    "builtin": ("built-in LibTorch trainer (FULL)", "#1f77b4"),
    "python": ("COMMAND: example PyTorch trainer", "#ff7f0e"),
    "null_py_data": ("COMMAND: python start + import torch + data, no training", "#ffbb78"),
    "null_py": ("COMMAND: python start + import torch + jit.load", "#ffbb78"),
    "null_sh": ("COMMAND: sh trainer, nb201 (export + latency), no training", "#98df8a"),
    "null_sh_custom": ("COMMAND: sh trainer, declared space, no training", "#98df8a"),
}


def main(out_dir):
    with open(os.path.join(out_dir, "command_overhead.csv")) as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    order = [k for k in LABELS if k in rows]
    relay = rows.get("relay_per_line_us", {}).get("seconds_median", "")
    w, x0, y0, bar, gap = 900, 360, 70, 26, 14
    h = y0 + len(order) * (bar + gap) + 70
    hi = max(float(rows[k]["seconds_max"]) for k in order)
    ticks = nice_ticks(hi)
    plot_w = w - x0 - 40
    sx = lambda v: x0 + plot_w * v / ticks[-1]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" '
           f'height="{h}" font-family="sans-serif">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           text(w / 2, 26, "Mode COMMAND against the built-in trainer: "
                "nb201 (C=8), 2 epochs, 5000 + 2000 Fashion-MNIST images",
                size=14, weight="bold"),
           text(w / 2, 46, "seconds per trial, median of 3 (whisker: min to "
                f"max); report relay {float(relay):.1f} us per line"
                if relay else "seconds per trial", size=12)]
    bottom = y0 + len(order) * (bar + gap)
    for t in ticks:
        out.append(f'<line x1="{sx(t):.1f}" y1="{y0 - 6}" x2="{sx(t):.1f}" '
                   f'y2="{bottom}" stroke="#ddd"/>')
        out.append(text(sx(t), bottom + 16, fmt(t)))
    out.append(text(x0 + plot_w / 2, bottom + 38, "seconds"))
    for i, k in enumerate(order):
        r = rows[k]
        label, color = LABELS[k]
        y = y0 + i * (bar + gap)
        med, lo, top = (float(r[c]) for c in
                        ("seconds_median", "seconds_min", "seconds_max"))
        out.append(text(x0 - 8, y + bar / 2 + 4, label, anchor="end",
                        size=11))
        out.append(f'<rect x="{x0}" y="{y}" width="{sx(med) - x0:.1f}" '
                   f'height="{bar}" fill="{color}"/>')
        out.append(f'<line x1="{sx(lo):.1f}" y1="{y + bar / 2}" '
                   f'x2="{sx(top):.1f}" y2="{y + bar / 2}" stroke="#333"/>')
        ratio = float(r["ratio_to_builtin"])
        out.append(text(sx(top) + 6, y + bar / 2 + 4,
                        f"{med:.2f} s ({ratio:.2f}x)", anchor="start",
                        size=11))
    out.append(f'<line x1="{x0}" y1="{y0 - 6}" x2="{x0}" y2="{bottom}" '
               f'stroke="#333"/>')
    out.append("</svg>")
    with open(os.path.join(out_dir, "command_overhead.svg"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
