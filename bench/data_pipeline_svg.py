"""Draws bench/data_pipeline's results as one SVG with two panels.

Usage: data_pipeline_svg.py DIR   (reads DIR/decode.csv and DIR/memory.csv,
writes DIR/data_pipeline.svg). Plain SVG text, no plotting library.

Left: decode-and-cache images/s per core (1 decode thread) against
torchvision's ImageFolder/PIL loader in one process, per format and
resolution. Right: the worker's anonymous memory (peak over an epoch) and
the file-backed pages against the number of images on disk, with the
cache size.
"""
import csv
import math
import sys


def nice_ticks(hi, n=5):
    """Round tick values from 0 to at least hi (1, 2 or 5 times 10^k)."""
    if hi <= 0:
        return [0, 1]
    raw = hi / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    ticks = [0]
    while ticks[-1] < hi:
        ticks.append(ticks[-1] + step)
    return ticks


def fmt(v):
    if v >= 10000 and v % 1000 == 0:
        return f"{int(v / 1000)}k"
    return f"{v:g}"


def text(x, y, s, anchor="middle", size=12, weight="normal", rotate=None):
    tr = f' transform="rotate({rotate} {x} {y})"' if rotate else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" '
            f'text-anchor="{anchor}" font-weight="{weight}"{tr}>{s}</text>')


def decode_panel(rows, x0, y0, w, h):
    out = []
    groups = [r for r in rows if r["threads"] == "1"]
    hi = max(max(float(r["images_per_s_per_thread"]),
                  float(r["torchvision_pil_images_per_s_one_process"]))
             for r in groups)
    ticks = nice_ticks(hi)
    top = ticks[-1]
    sy = lambda v: y0 + h - h * v / top
    out.append(text(x0 + w / 2, y0 - 28,
                    "Decode + resize + cache, 1 core (320x240 sources)",
                    size=14, weight="bold"))
    for t in ticks:
        out.append(f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x0 + w}" '
                   f'y2="{sy(t):.1f}" stroke="#ddd"/>')
        out.append(text(x0 - 6, sy(t) + 4, fmt(t), anchor="end"))
    out.append(text(x0 - 48, y0 + h / 2, "images / s per core",
                    rotate=-90))
    gw = w / len(groups)
    bw = gw * 0.32
    for i, r in enumerate(groups):
        gx = x0 + i * gw + gw * 0.16
        ours = float(r["images_per_s_per_thread"])
        peer = float(r["torchvision_pil_images_per_s_one_process"])
        for j, (v, color) in enumerate(((ours, "#1f77b4"),
                                        (peer, "#ff7f0e"))):
            bx = gx + j * bw
            out.append(f'<rect x="{bx:.1f}" y="{sy(v):.1f}" width="{bw:.1f}" '
                       f'height="{y0 + h - sy(v):.1f}" fill="{color}"/>')
            out.append(text(bx + bw / 2, sy(v) - 4, f"{v:.0f}", size=10))
        out.append(text(gx + bw, y0 + h + 16,
                        f'{r["format"]} to {r["side"]}x{r["side"]}', size=11))
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" '
               f'stroke="#333"/>')
    for j, (label, color) in enumerate((
            ("nas-worker: list, hash, decode, resize, write the cache "
             "(OpenCV)", "#1f77b4"),
            ("torchvision ImageFolder + Resize (PIL), one process",
             "#ff7f0e"))):
        ly = y0 + h + 40 + 16 * j
        out.append(f'<rect x="{x0}" y="{ly - 10}" width="12" height="12" '
                   f'fill="{color}"/>')
        out.append(text(x0 + 16, ly, label, anchor="start", size=11))
    return out


def memory_panel(rows, x0, y0, w, h):
    out = []
    xs = [int(r["images_on_disk"]) for r in rows]
    series = [
        ("the dataset's cache file (MB)", "#2ca02c",
         [float(r["cache_mb"]) for r in rows], "4 3"),
        ("file-backed pages after an epoch (MB)", "#9467bd",
         [float(r["file_backed_mb"]) for r in rows], "none"),
        ("anonymous, peak: epoch + 10 training steps (MB)", "#d62728",
         [float(r["peak_anon_mb"]) for r in rows], "none"),
        ("anonymous, peak: streaming the epoch (MB)", "#ff7f0e",
         [float(r["data_peak_anon_mb"]) for r in rows], "none"),
    ]
    xt = nice_ticks(max(xs))
    yt = nice_ticks(max(max(s[2]) for s in series))
    sx = lambda v: x0 + w * v / xt[-1]
    sy = lambda v: y0 + h - h * v / yt[-1]
    out.append(text(x0 + w / 2, y0 - 28,
                    "Worker memory while the dataset grows (64x64x3)",
                    size=14, weight="bold"))
    for t in yt:
        out.append(f'<line x1="{x0}" y1="{sy(t):.1f}" x2="{x0 + w}" '
                   f'y2="{sy(t):.1f}" stroke="#ddd"/>')
        out.append(text(x0 - 6, sy(t) + 4, fmt(t), anchor="end"))
    for t in xt:
        out.append(text(sx(t), y0 + h + 16, fmt(t)))
    out.append(text(x0 + w / 2, y0 + h + 34, "images on disk"))
    out.append(text(x0 - 52, y0 + h / 2, "MB", rotate=-90))
    out.append(f'<line x1="{x0}" y1="{y0 + h}" x2="{x0 + w}" y2="{y0 + h}" '
               f'stroke="#333"/>')
    for k, (label, color, ys, dash) in enumerate(series):
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                   f'stroke-width="2" stroke-dasharray="{dash}"/>')
        for x, y in zip(xs, ys):
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" '
                       f'fill="{color}"/>')
        if label.startswith("anonymous"):
            last = ys[-1]
            out.append(text(sx(xs[-1]) - 6, sy(last) - 6, f"{last:.0f}",
                            anchor="end", size=10))
        ly = y0 + h + 52 + 16 * k
        out.append(f'<line x1="{x0}" y1="{ly - 4}" x2="{x0 + 24}" '
                   f'y2="{ly - 4}" stroke="{color}" stroke-width="2" '
                   f'stroke-dasharray="{dash}"/>')
        out.append(text(x0 + 30, ly, label, anchor="start", size=11))
    return out


def main():
    d = sys.argv[1]
    with open(f"{d}/decode.csv") as f:
        decode = list(csv.DictReader(f))
    with open(f"{d}/memory.csv") as f:
        memory = list(csv.DictReader(f))
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="1000" '
             'height="440" font-family="sans-serif">',
             '<rect width="1000" height="440" fill="white"/>']
    parts += decode_panel(decode, 80, 50, 380, 260)
    parts += memory_panel(memory, 590, 50, 380, 260)
    parts.append("</svg>")
    with open(f"{d}/data_pipeline.svg", "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
