"""Tests of cs_convnet.summary: the per-layer table, VGG-16 against the CS231n notes, and the command line."""

import tracemalloc

import numpy as np
import pytest

from cs_convnet.classifiers import ConvNet, FullyConnectedNet, ThreeLayerConvNet
from cs_convnet.summary import VGG16_INPUT_DIM, VGG16_SPEC, Summary, format_table, main, summarize

# The "VGGNet in detail" table of the CS231n notes, row by row:
# (layer, [H x W x C] output, memory = activations, weights), written as the notes write them.
NOTES_VGG16 = [
    ("INPUT", (224, 224, 3), 224 * 224 * 3, 0),
    ("CONV3-64", (224, 224, 64), 224 * 224 * 64, (3 * 3 * 3) * 64),
    ("CONV3-64", (224, 224, 64), 224 * 224 * 64, (3 * 3 * 64) * 64),
    ("POOL2", (112, 112, 64), 112 * 112 * 64, 0),
    ("CONV3-128", (112, 112, 128), 112 * 112 * 128, (3 * 3 * 64) * 128),
    ("CONV3-128", (112, 112, 128), 112 * 112 * 128, (3 * 3 * 128) * 128),
    ("POOL2", (56, 56, 128), 56 * 56 * 128, 0),
    ("CONV3-256", (56, 56, 256), 56 * 56 * 256, (3 * 3 * 128) * 256),
    ("CONV3-256", (56, 56, 256), 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("CONV3-256", (56, 56, 256), 56 * 56 * 256, (3 * 3 * 256) * 256),
    ("POOL2", (28, 28, 256), 28 * 28 * 256, 0),
    ("CONV3-512", (28, 28, 512), 28 * 28 * 512, (3 * 3 * 256) * 512),
    ("CONV3-512", (28, 28, 512), 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", (28, 28, 512), 28 * 28 * 512, (3 * 3 * 512) * 512),
    ("POOL2", (14, 14, 512), 14 * 14 * 512, 0),
    ("CONV3-512", (14, 14, 512), 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", (14, 14, 512), 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("CONV3-512", (14, 14, 512), 14 * 14 * 512, (3 * 3 * 512) * 512),
    ("POOL2", (7, 7, 512), 7 * 7 * 512, 0),
    ("FC-4096", (1, 1, 4096), 4096, 7 * 7 * 512 * 4096),
    ("FC-4096", (1, 1, 4096), 4096, 4096 * 4096),
    ("FC-1000", (1, 1, 1000), 1000, 4096 * 1000),
]


@pytest.fixture(scope="module")
def vgg16():
    return summarize(VGG16_SPEC, VGG16_INPUT_DIM)


def test_vgg16_rows_match_the_notes(vgg16):
    """Does every VGG-16 row have the notes' layer, output volume, activation count and weight count?"""
    assert len(vgg16.rows) == len(NOTES_VGG16)
    for row, (name, (H, W, C), activations, weights) in zip(vgg16.rows, NOTES_VGG16):
        assert row.name.split()[0] == name
        assert row.output_shape == ((C, H, W) if H > 1 else (C,))
        assert row.activations == activations
        assert row.memory == 4 * activations  # float32
        assert row.weights == weights
    # The numbers the notes print in full:
    assert vgg16.rows[1].weights == 1_728
    assert vgg16.rows[1].activations == 3_211_264  # "224*224*64=3.2M"
    assert vgg16.rows[-3].weights == 102_760_448


def test_vgg16_totals(vgg16):
    """Are VGG-16's totals the sums of the notes' rows: 138M parameters, 15.2M activations (61 MB) per image?"""
    notes_weights = sum(row[3] for row in NOTES_VGG16)
    notes_activations = sum(row[2] for row in NOTES_VGG16)
    assert vgg16.total_weights == notes_weights == 138_344_128
    biases = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512 + 2 * 4096 + 1000
    assert vgg16.total_params == notes_weights + biases == 138_357_544  # "TOTAL params: 138M parameters"
    assert round(vgg16.total_params / 1e6) == 138
    # The notes print "24M * 4 bytes ~= 93MB", but their own rows add up to 15.2M
    # (cs231n.github.io issue #88); we report the sum, input included as in the notes.
    assert vgg16.total_activations == notes_activations == 15_237_608
    assert vgg16.total_memory == 4 * 15_237_608


def test_summary_of_a_spec_allocates_no_weights():
    """Is VGG-16 summarized without allocating its 138M weights (a 553 MB float32 array)?"""
    tracemalloc.start()
    summarize(VGG16_SPEC, VGG16_INPUT_DIM)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000


def test_elementwise_layers_fold_into_the_row_above():
    """Are relu, bn and dropout folded into the row they follow, bn's gamma and beta added to its params?"""
    summary = summarize("conv3-16 bn relu pool2 dropout0.5 fc10", (3, 8, 6), dtype=np.float64)
    assert [row.name for row in summary.rows] == ["INPUT", "CONV3-16 BN RELU", "POOL2 DROPOUT0.5", "FC-10"]
    conv = summary.rows[1]
    assert conv.output_shape == (16, 8, 6) and conv.activations == 16 * 8 * 6 and conv.memory == 8 * 16 * 8 * 6
    assert conv.weights == 3 * 3 * 3 * 16 and conv.params == 3 * 3 * 3 * 16 + 16 + 2 * 16
    assert summary.rows[3].weights == 16 * 4 * 3 * 10
    assert summary.as_dicts()[3] == {"name": "FC-10", "output_shape": (10,), "activations": 10, "memory": 80,
                                     "weights": 192 * 10, "params": 192 * 10 + 10}


@pytest.mark.parametrize("build", [
    lambda: ConvNet("[conv3-8 relu]x2 pool2 fc32 relu fc10", input_dim=(3, 8, 6), normalization="batchnorm",
                    dropout_keep_ratio=0.5),
    lambda: ThreeLayerConvNet(input_dim=(3, 8, 6), num_filters=4, filter_size=5, hidden_dim=7, dtype=np.float64),
    lambda: FullyConnectedNet([20, 30], input_dim=3 * 8 * 6, normalization="batchnorm", dropout_keep_ratio=0.5),
], ids=["ConvNet", "ThreeLayerConvNet", "FullyConnectedNet"])
def test_summary_of_a_built_model_counts_its_parameters(build):
    """Does the summary of a built model count exactly the numbers in its params, in its dtype?"""
    model = build()
    summary = summarize(model)
    assert summary.total_params == sum(param.size for param in model.params.values())
    assert summary.total_weights == sum(model.params[k].size for k in model.params if k.startswith("W"))
    assert summary.rows[-1].output_shape == (10,)
    assert summary.rows[1].memory == summary.rows[1].activations * np.dtype(model.dtype).itemsize


def test_summary_rejects_bad_input():
    """Do a spec without input size, a layer that does not fit, or a model unlike its spec raise ValueErrors?"""
    with pytest.raises(ValueError, match=r"needs input_dim"):
        summarize("conv3-8 fc10")
    with pytest.raises(ValueError, match=r"layer 2 'pool2' on input 8 x 7 x 7"):
        summarize("conv3-8 pool2 fc10", (3, 7, 7))
    model = ConvNet("conv3-8 relu fc10", input_dim=(3, 4, 4))
    model.params["W1"] = np.zeros((8, 3, 5, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"params hold .* numbers but its spec"):
        summarize(model)
    with pytest.raises(ValueError, match=r"spec string or a model"):
        summarize(object())


def test_text_table_has_every_row_and_the_totals(vgg16):
    """Does the text table list every layer with its volume and end with the totals?"""
    table = format_table(vgg16)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["layer", "output"]
    assert lines[2].split()[:4] == ["INPUT", "3", "x", "224"]
    assert any(line.startswith("CONV3-64 RELU") and "64 x 224 x 224" in line and "1,728" in line for line in lines)
    total = next(line for line in lines if line.startswith("TOTAL"))
    assert total.split() == ["TOTAL", "15,237,608", "58.1", "MiB", "138,344,128", "138,357,544"]
    assert str(vgg16) == table and isinstance(vgg16, Summary)


def test_main_prints_vgg16_by_default(capsys):
    """Does `python -m cs_convnet.summary` print the VGG-16 table and exit 0?"""
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "FC-4096 RELU" in out and "138,357,544" in out


def test_main_with_a_spec(capsys):
    """Does --spec with --input-dim and --dtype summarize that spec?"""
    assert main(["--spec", "[conv3-8 relu]x2 pool2 fc10", "--input-dim", "3x8x6", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert "POOL2" in out and "8 x 4 x 3" in out and "x 8 bytes (float64)" in out


def test_main_reports_a_bad_spec(capsys):
    """Does a bad spec print the error to stderr and exit with status 2?"""
    assert main(["--spec", "conv3-8 poool2 fc10"]) == 2
    captured = capsys.readouterr()
    assert "unknown layer 'poool2'" in captured.err and captured.out == ""
    with pytest.raises(SystemExit):
        main(["--spec", "fc10", "--input-dim", "three"])


def test_main_after_surgery_on_a_larger_image(capsys):
    """Does --image-dim summarize VGG-16 with its fcs as convs on 384x384: a 6x6 grid of 1000 scores?"""
    assert main(["--vgg16", "--image-dim", "3x384x384"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("CONV7-4096-P0 RELU") and "4096 x 6 x 6" in line for line in lines)
    assert any(line.startswith("CONV1-1000-P0") and "1000 x 6 x 6" in line for line in lines)
