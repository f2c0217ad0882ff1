"""The SVGs nasctl draws, parsed as XML (issue 23): every axis has round
ticks (a 1-2-5 step, 4 to 10 of them, exact labels; whole numbers on
integer axes, none below 0 on non-negative ones, decades on log axes), a
plot with two series has a legend and one with a single series none, a front over three objectives is one
panel per pair of objectives without a staircase, and the learning curves
have one line per trial and an X per trial early stopping cut.

Run: python3 this_file.py <build>/tests/client/nasctl_plot_samples
(the program writes the SVGs with real nasctl commands against a fake
controller, and expected.json with what they must show).
"""
import json
import math
import re
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
SAMPLES = None  # the nasctl_plot_samples binary, from argv
OUT = None      # its output folder
EXPECTED = None


def classes(el):
    return el.get("class", "").split()


def find_class(root, tag, cls):
    return [e for e in root.iter(NS + tag) if cls in classes(e)]


def label_value(label):
    """'0.55' -> 0.55, '200k' -> 2e5, '2.5M', '1G', '1.5e-7', '1e6'."""
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(label[-1:], 1)
    if scale != 1:
        label = label[:-1]
    return float(label) * scale


def is_125(step):
    e = math.floor(math.log10(step) + 1e-9)
    m = step / 10 ** e
    return any(abs(m - k) < 1e-6 for k in (1, 2, 5))


class SvgPlotsTest(unittest.TestCase):
    def load(self, name):
        return ET.parse(f"{OUT}/{name}").getroot()

    def check_axes(self, root, name):
        axes = find_class(root, "g", "x-axis") + find_class(root, "g", "y-axis")
        self.assertTrue(axes, f"{name}: no axes")
        for axis in axes:
            labels = [t.text for t in axis.iter(NS + "text")
                      if "tick" in classes(t)]
            where = f"{name} {axis.get('class')} {labels}"
            values = [label_value(s) for s in labels]
            for s in labels:  # no float noise
                self.assertLessEqual(len(s), 8, where)
                self.assertNotRegex(s, r"0000001|99999", where)
            if axis.get("data-log") == "true":
                for v in values:
                    self.assertTrue(is_125(v), where)
                continue
            self.assertGreaterEqual(len(values), 4, where)
            self.assertLessEqual(len(values), 10, where)
            step = values[1] - values[0]
            self.assertGreater(step, 0, where)
            self.assertTrue(is_125(step), f"{where}: step {step}")
            for i, v in enumerate(values):
                k = v / step
                self.assertAlmostEqual(k, round(k), delta=1e-6, msg=where)
                self.assertAlmostEqual(v, values[0] + i * step,
                                       delta=step * 1e-6, msg=where)
            if axis.get("data-integer") == "true":
                self.assertTrue(all(v == int(v) for v in values), where)
            if axis.get("data-non-negative") == "true":
                self.assertTrue(all(v >= 0 for v in values), where)

    def check_inside_frames(self, root, name):
        """The axes cover the data: every point and line vertex lies in
        its panel's frame."""
        panels = find_class(root, "g", "panel") or [root]
        for panel in panels:
            frame = find_class(panel, "rect", "frame")[0]
            x0, y0 = float(frame.get("x")), float(frame.get("y"))
            x1 = x0 + float(frame.get("width"))
            y1 = y0 + float(frame.get("height"))
            marks = [(float(c.get("cx")), float(c.get("cy")))
                     for c in panel.iter(NS + "circle")]
            for line in find_class(panel, "polyline", "curve"):
                marks += [tuple(map(float, p.split(",")))
                          for p in line.get("points").split()]
            self.assertTrue(marks, name)
            for x, y in marks:
                self.assertTrue(x0 <= x <= x1 and y0 <= y <= y1,
                                f"{name}: ({x}, {y}) outside the frame")

    def legend_names(self, el):
        return [" ".join(t.text or "" for t in e.iter(NS + "text"))
                for e in find_class(el, "g", "legend-entry")]

    def test_two_objective_front_keeps_its_staircase_and_legend(self):
        root = self.load("pareto_2d.svg")
        self.check_axes(root, "pareto_2d")
        self.check_inside_frames(root, "pareto_2d")
        panels = find_class(root, "g", "panel")
        self.assertEqual(len(panels), 1)
        self.assertEqual(len(find_class(root, "path", "staircase")), 1)
        front = find_class(root, "g", "highlight")[0]
        self.assertEqual(len(front.findall(NS + "circle")),
                         EXPECTED["front_2d"])
        points = find_class(root, "g", "points")[0]
        self.assertEqual(len(points.findall(NS + "circle")),
                         EXPECTED["evaluated"])
        self.assertEqual(self.legend_names(root),
                         ["evaluated candidates", "Pareto front"])

    def test_three_objective_front_is_one_panel_per_pair(self):
        root = self.load("pareto_3d.svg")
        self.check_axes(root, "pareto_3d")
        self.check_inside_frames(root, "pareto_3d")
        self.assertEqual(find_class(root, "path", "staircase"), [])
        panels = find_class(root, "g", "panel")
        self.assertEqual(len(panels), 3)  # 3 objectives: 3 pairs
        pairs = set()
        for panel in panels:
            x = find_class(panel, "g", "x-axis")[0]
            y = find_class(panel, "g", "y-axis")[0]
            # The axis title is the axis group's one text that is no tick.
            name = lambda g: [t.text for t in g.iter(NS + "text")
                              if "tick" not in classes(t)][0]
            pairs.add(frozenset((name(x), name(y))))
            front = find_class(panel, "g", "highlight")[0]
            self.assertEqual(len(front.findall(NS + "circle")),
                             EXPECTED["front_3d"])
            self.assertEqual(len(self.legend_names(panel)), 2)
        self.assertEqual(len(pairs), 3, pairs)
        self.assertEqual(
            set().union(*pairs),
            {"validation accuracy", "macs", "latency (ms, batch 1)"})

    def test_best_so_far_curve_has_integer_trials_and_a_legend(self):
        root = self.load("curve.svg")
        self.check_axes(root, "curve")
        self.check_inside_frames(root, "curve")
        panels = find_class(root, "g", "panel")
        self.assertEqual(len(panels), 2)  # by trial, by time
        trials = find_class(panels[0], "g", "x-axis")[0]
        self.assertEqual(trials.get("data-integer"), "true")
        for panel in panels:
            self.assertEqual(self.legend_names(panel),
                             ["trial's validation accuracy", "best so far"])

    def test_learning_curves_one_line_per_trial_and_stop_markers(self):
        root = self.load("curves.svg")
        self.check_axes(root, "curves")
        self.check_inside_frames(root, "curves")
        lines = find_class(root, "polyline", "curve")
        self.assertEqual(len(lines), EXPECTED["curves_with_points"])
        markers = find_class(root, "g", "stop-marker")
        self.assertEqual(len(markers), EXPECTED["stopped"])
        for m in markers:
            self.assertRegex(m.find(NS + "title").text,
                             r"stopped at epoch \d+: ")
        x = find_class(root, "g", "x-axis")[0]
        self.assertEqual(x.get("data-integer"), "true")
        ticks = [label_value(t.text) for t in x.iter(NS + "text")
                 if "tick" in classes(t)]
        self.assertGreaterEqual(max(ticks), 12)  # the planned epochs
        names = self.legend_names(root)
        self.assertIn("stopped early", names)
        self.assertIn("early stopping cut the trial here", names)
        self.assertTrue(any(n.startswith("best trial (candidate ")
                            for n in names), names)
        # The best trial is drawn last, on top, and thickest.
        widths = [float(l.get("stroke-width")) for l in lines]
        self.assertEqual(widths[-1], max(widths))

    def test_proxy_scatter_has_a_log_axis_of_decades_and_no_legend(self):
        root = self.load("proxies.svg")
        self.check_axes(root, "proxies")
        self.check_inside_frames(root, "proxies")
        x = find_class(root, "g", "x-axis")[0]
        self.assertEqual(x.get("data-log"), "true")
        ticks = [t.text for t in x.iter(NS + "text") if "tick" in classes(t)]
        self.assertIn("1000", ticks)
        self.assertIn("1e5", ticks)
        # One series: no legend, the title says what the dots are.
        self.assertEqual(find_class(root, "g", "legend"), [])
        title = find_class(root, "text", "title")[0].text
        self.assertIn("(12 genotypes", title)
        points = find_class(root, "g", "points")[0]
        self.assertEqual(len(points.findall(NS + "circle")), 12)


if __name__ == "__main__":
    SAMPLES = sys.argv.pop(1)
    with tempfile.TemporaryDirectory() as OUT:
        subprocess.run([SAMPLES, OUT], check=True)
        with open(f"{OUT}/expected.json") as f:
            EXPECTED = json.load(f)
        unittest.main()
