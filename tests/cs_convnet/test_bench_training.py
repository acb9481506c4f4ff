"""The training-step benchmark runs end to end, each variant in fresh processes (speed is never asserted)."""

import json

from cs_convnet import bench_training


def test_reports_every_case_with_positive_times(tmp_path, capsys):
    """Does one round time each case's variants in processes of their own, print them and write them as JSON?"""
    out = tmp_path / "bench.json"
    assert bench_training.main(["--rounds", "1", "--repeat", "1", "--threads", "1", "--no-torch",
                                "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert set(results["cases"]) == {"bn+relu fwd+bwd, 128x32x32x32 float32", "adam update, 4.2M float32 weights",
                                     "deep ConvNet step, batch 128", "ThreeLayerConvNet step, batch 50"}
    for case, variants in results["cases"].items():
        assert set(variants) == {"learner", "fast"}, case
        assert all(figures["runs"] == 1 and figures["min_ms"] > 0 for figures in variants.values()), case
    assert {info["kernel_threads"] for info in results["processes"].values()} == {1}
    printed = capsys.readouterr().out
    assert printed.count("faster than the learner's") == 4 and "1 thread(s) per process" in printed
