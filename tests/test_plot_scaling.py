"""benchmarks/plot_scaling.py: the README's scaling plot is drawn from the benchmark's table."""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import plot_scaling  # noqa: E402

TABLE = """machine: x
| neurons | synapses | steps | a | b | Spark steps/s | c | d | e | Brian2 steps/s | f | g | ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
| 1,000 | 100,000 | 20,000 | 0.1 | 0.4 | 500,000 | 10 | 256 | 14 | 400,000 | 9 | 14 | 1.25 |
| 10,000 | 1,000,000 | 20,000 | 0.1 | 0.4 | 60,000 | 9 | 282 | 13 | - | - | - | - |
| 100,000 | 10,000,000 | 10,000 | 1.4 | 0.5 | 7,000 | 9 | 493 | 18 | 3,500 | 9 | 329 | 2.00 |
"""


def test_rows_with_both_systems_are_read_and_drawn(tmp_path):
    rows = plot_scaling.parse(TABLE)
    assert rows == [(1000, 500000.0, 400000.0), (100000, 7000.0, 3500.0)]  # "-" row skipped
    root = ET.fromstring(plot_scaling.svg(rows))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}circle")) == 4
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "1.25\u00d7" in texts and "2.00\u00d7" in texts
    assert {"1k", "100k", "1M"} <= set(texts)                  # axis labels


def test_the_command_refuses_a_file_without_rows(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("no table here\n")
    assert plot_scaling.main([str(empty), str(tmp_path / "out.svg")]) == 1
    assert not (tmp_path / "out.svg").exists()
    assert plot_scaling.main([str(ROOT / "benchmarks" / "results_scaling_2026-12-03.txt"),
                              str(tmp_path / "out.svg")]) == 0
    assert (tmp_path / "out.svg").read_text().count("<circle") == 8
