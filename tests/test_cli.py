"""The spark command line."""
import json
import os

import numpy as np

from spark_snn.engine.cli import main

EX = os.path.join(os.path.dirname(__file__), "..", "resources", "examples", "two_pools.json")


def test_validate_ok_and_problems(tmp_path, capsys):
    assert main(["validate", EX]) == 0
    assert "valid (8 nodes, 10 edges)" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    doc = json.load(open(EX))
    doc["nodes"][2]["params"]["tau_m"] = -3
    doc["nodes"][3]["type"] = "liff"
    bad.write_text(json.dumps(doc))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["validate", EX, str(bad), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "node 'exc', parameter 'tau_m'" in err
    assert "unknown node type 'liff'; did you mean 'lif'" in err
    assert "broken.json" in err and "line 1" in err


def test_run_json_summary_and_recording(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code = main(["run", EX, "--steps", "2000", "--chunk", "500", "--record", "exc.spikes",
                 "inh.v", "--out", str(out), "--json", "--seed", "4"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 2000 and summary["seed"] == 4
    assert summary["simulated_ms"] == 200.0
    data = np.load(out)
    assert data["exc__spikes"].shape == (2000, 400) and data["inh__v"].shape == (2000, 100)
    rate = data["exc__spikes"].sum() / 400 / 0.2
    assert summary["rates_hz"]["exc"] == round(rate, 3)
    assert summary["spikes"]["exc"] == int(data["exc__spikes"].sum())


def test_run_text_summary_and_bad_arguments(tmp_path, capsys):
    assert main(["run", EX, "--steps", "100", "--chunk", "50"]) == 0
    text = capsys.readouterr().out
    assert "steps/s" in text and "exc" in text and "Hz" in text
    assert main(["run", EX, "--steps", "100", "--chunk", "0"]) == 2
    assert main(["run", EX, "--steps", "10", "--record", "exc.nope"]) == 1
    assert "no output port 'nope'" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "none.json"), "--steps", "10"]) == 1
