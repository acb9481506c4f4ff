"""Tests of cs_convnet.surgery: fc layers turned into convs score every crop of a larger image at once."""

import numpy as np
import pytest

from cs_convnet.classifiers import ConvNet, ThreeLayerConvNet
from cs_convnet.summary import VGG16_INPUT_DIM, VGG16_SPEC, summarize
from cs_convnet.surgery import FullyConvNet, convert_fc_to_conv, convert_spec, output_stride
from support.tolerances import DTYPE_IDS, FLOAT_DTYPES, tolerance

# (spec with unpadded convs, crop size, larger image, expected stride S)
NETS = {
    "bn-dropout-nonsquare-S2": (
        "conv3-4-p0 bn relu pool2 conv3-6-p0 relu dropout0.5 fc8 bn relu fc5", (3, 10, 12), (3, 16, 18), 2),
    "conv-stride2-overlapping-pool-S4": ("conv3-4-s2-p0 relu pool3-s2 fc6 relu fc3", (2, 11, 15), (2, 19, 27), 4),
    "avgpool-floor-S6": ("conv2-3-p0 relu pool2 avgpool3-floor fc4", (1, 13, 7), (1, 19, 19), 6),
    "fc-only-S1": ("fc7 relu fc3", (2, 3, 4), (2, 5, 5), 1),
}


def trained_like(spec, input_dim, dtype, rng):
    """A ConvNet with random weights and batchnorm running statistics that are not trivial."""
    model = ConvNet(spec, input_dim=input_dim, dtype=dtype, seed=0)
    for key, value in model.params.items():
        model.params[key] = (value + 0.1 * rng.standard_normal(value.shape)).astype(dtype)
    for _ in range(2):
        model.loss(rng.standard_normal((6, *input_dim)), rng.integers(model.num_classes, size=6))
    return model


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("spec, crop, image, stride", NETS.values(), ids=NETS.keys())
def test_converted_net_scores_every_crop(rng, spec, crop, image, stride, dtype):
    """Does one pass of the converted net over a larger image equal the original net on every crop at stride S?"""
    model = trained_like(spec, crop, dtype, rng)
    net = convert_fc_to_conv(model)
    assert net.stride == stride == output_stride(spec, crop)
    X = rng.standard_normal((2, *image))
    grid = net.scores(X)
    H_grid, W_grid = (image[1] - crop[1]) // stride + 1, (image[2] - crop[2]) // stride + 1
    assert grid.shape == (2, model.num_classes, H_grid, W_grid) and grid.dtype == dtype
    expected = np.empty_like(grid)
    for i in range(H_grid):
        for j in range(W_grid):
            window = X[:, :, i * stride:i * stride + crop[1], j * stride:j * stride + crop[2]]
            expected[:, :, i, j] = model.loss(window)
    rtol, atol = tolerance(dtype)
    np.testing.assert_allclose(grid, expected, rtol=rtol, atol=atol)


def test_image_of_the_crop_size_gives_one_cell(rng):
    """Does the converted net on the original input size give a 1x1 grid equal to the original scores?"""
    model = trained_like("conv3-4 relu pool2 fc5 relu fc3", (3, 6, 8), np.float64, rng)
    X = rng.standard_normal((3, 3, 6, 8))
    grid = convert_fc_to_conv(model).scores(X)
    assert grid.shape == (3, 3, 1, 1)
    np.testing.assert_allclose(grid[:, :, 0, 0], model.loss(X), rtol=1e-12, atol=1e-12)


def test_weights_are_reshaped_not_retrained(rng):
    """Are the fc weights reshaped copies (first fc to H x W filters, later fcs to 1x1), the model untouched?"""
    model = trained_like("conv3-4-p0 relu pool2 fc8 relu fc5", (3, 10, 12), np.float64, rng)
    before = {key: value.copy() for key, value in model.params.items()}
    net = convert_fc_to_conv(model)
    assert net.spec == "conv3-4-p0 relu pool2 conv4x5-8-p0 relu conv1-5-p0"
    W2, W3 = model.params["W2"], model.params["W3"]
    assert net.params["W2"].shape == (8, 4, 4, 5)
    assert net.params["W2"][6, 1, 2, 3] == W2[1 * 20 + 2 * 5 + 3, 6]  # flattening order (C, H, W)
    np.testing.assert_array_equal(net.params["W3"][:, :, 0, 0], W3.T)
    np.testing.assert_array_equal(net.params["W1"], model.params["W1"])
    net.params["W1"] += 1
    assert all(np.array_equal(model.params[key], before[key]) for key in before)
    assert isinstance(net, FullyConvNet) and net.input_dim == (3, 10, 12)


def test_vgg16_on_384_gives_a_6x6_grid():
    """The notes' example: VGG-16 (stride 32) on a 384x384 image gives 12x12x512 before the fcs and 6x6 scores."""
    assert output_stride(VGG16_SPEC, VGG16_INPUT_DIM) == 32
    converted = convert_spec(VGG16_SPEC, VGG16_INPUT_DIM)
    assert converted.endswith("pool2 conv7-4096-p0 relu conv1-4096-p0 relu conv1-1000-p0")
    summary = summarize(converted, (3, 384, 384))
    shapes = [row.output_shape for row in summary.rows]
    assert shapes[-4:] == [(512, 12, 12), (4096, 6, 6), (4096, 6, 6), (1000, 6, 6)]
    # the same weights as the fc version: surgery adds no parameters
    assert summary.total_params == summarize(VGG16_SPEC, VGG16_INPUT_DIM).total_params


def test_image_that_crops_do_not_tile_is_rejected(rng):
    """Does an image whose size is not crop + k*S (or is too small) raise a ValueError that says so?"""
    net = convert_fc_to_conv(trained_like("conv3-4-p0 relu pool2 fc5", (3, 10, 12), np.float64, rng))
    with pytest.raises(ValueError, match=r"image height 15 does not fit .* crops of height 10 at stride S=2"):
        net.scores(rng.standard_normal((1, 3, 15, 12)))
    with pytest.raises(ValueError, match=r"image width 8 does not fit"):
        net.scores(rng.standard_normal((1, 3, 10, 8)))
    with pytest.raises(ValueError, match=r"image has C=2 channels, the network expects C=3"):
        net.scores(rng.standard_normal((1, 2, 10, 12)))


def test_surgery_needs_a_convnet_with_running_statistics(rng):
    """Do a model that is not a ConvNet, or one whose batchnorm never ran, raise ValueErrors?"""
    with pytest.raises(ValueError, match=r"needs a ConvNet"):
        convert_fc_to_conv(ThreeLayerConvNet(input_dim=(3, 8, 8)))
    with pytest.raises(ValueError, match=r"no running statistics yet"):
        convert_fc_to_conv(ConvNet("conv3-4 bn relu fc3", input_dim=(3, 4, 4)))
