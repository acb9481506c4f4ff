"""The training-step benchmark runs end to end and reports every comparison (speed is never asserted)."""

import json

from cs_convnet import bench_training


def test_reports_every_case_with_positive_times(tmp_path, capsys):
    """Does one round time each case's two variants, print them and write them as JSON?"""
    out = tmp_path / "bench.json"
    assert bench_training.main(["--repeat", "1", "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results) == {"bn+relu fwd+bwd, 128x32x32x32 float32", "adam update, 4.2M float32 weights",
                            "deep ConvNet step, batch 128", "ThreeLayerConvNet step, batch 50"}
    for case, variants in results.items():
        assert len(variants) == 2 and all(ms > 0 for ms in variants.values()), case
    printed = capsys.readouterr().out
    assert printed.count("x faster") == 4
