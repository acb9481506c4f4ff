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


def test_profile_splits_the_fast_steps_by_kernel_per_thread_count(tmp_path, capsys):
    """Does --profile time every kernel of both fast steps on T = 1 and 2, in processes of their own?"""
    out = tmp_path / "profile.json"
    assert bench_training.main(["--profile", "--rounds", "1", "--repeat", "1", "--threads", "2",
                                "--json", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["settings"]["threads"] == [1, 2]
    assert {info["kernel_threads"] for info in results["processes"].values()} == {1, 2}
    assert set(results["steps"]) == set(bench_training.PROFILED_STEPS)
    for case, kernels in results["steps"].items():
        assert set(kernels) == {*bench_training.KERNELS, "rest", "step"}, case
        for label in ("conv forward", "conv backward", "max pool fwd+bwd", "adam (in place)", "step"):
            assert all(kernels[label][threads] > 0 for threads in ("1", "2")), (case, label)
        for threads in ("1", "2"):  # the kernels and the rest add up to the step
            parts = sum(kernels[label][threads] for label in [*bench_training.KERNELS, "rest"])
            assert parts >= 0.99 * kernels["step"][threads], (case, threads)
    deep = results["steps"]["deep ConvNet step, batch 128"]
    assert all(deep[label][threads] > 0 for label in ("bn+relu forward", "bn+relu backward") for threads in ("1", "2"))
    printed = capsys.readouterr().out
    assert "x T=2" in printed and printed.count("conv backward") == 2
