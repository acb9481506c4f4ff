"""Assignment 2: the convolutional layer."""

import numpy as np

from cellkit import CHECKS, SETUP, Cells, fill, literal
from cs_convnet.layers import conv_forward_naive

# Hidden tests compare with this loop-free reference (never shipped to learners).
REFERENCE_CONV = '''
def _reference_conv(x, w, b, stride, pad):
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, w.shape[2:], axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
'''


def _visible_conv_case():
    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    return out


def _visible_conv_case_rect():
    x = np.linspace(-1.0, 1.0, num=1 * 2 * 5 * 7).reshape(1, 2, 5, 7)
    w = np.linspace(0.5, -0.5, num=2 * 2 * 3 * 2).reshape(2, 2, 3, 2)
    b = np.array([0.1, -0.3])
    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})
    return out


def cells():
    c = Cells("conv")
    c.md(r"""
    # Assignment 2 — The convolutional layer

    A fully-connected layer connects every neuron to every input number. For a
    200×200 colour image that is 120,000 weights *per neuron*: far too many to
    learn, and blind to the fact that an image is a grid where nearby pixels
    belong together. A **convolutional layer** builds that knowledge in with two
    ideas — *local connectivity* and *parameter sharing* — and this notebook
    walks through both, then has you implement the layer.

    **What you write:** `conv_forward_naive` and `conv_backward_naive` in
    `cs_convnet/layers.py` (each raises `NotImplementedError` until you write it),
    plus a few small functions and answers in this notebook. Cells marked *YOUR CODE
    HERE* are yours; the cells after them check your work at once and say what
    is wrong when something is. A check cell that finishes without an error has
    passed. Your edits to `cs_convnet` are picked up automatically (autoreload).
    """)
    c.code(SETUP, trusted=True)
    c.code(CHECKS, trusted=True)

    c.md(r"""
    ## 1. Local connectivity and depth columns

    A conv layer takes an input **volume** of size $W_1 \times H_1 \times D_1$
    (width, height, depth; the depth of an RGB image is 3). Each neuron looks
    only at a small **receptive field** — an $F \times F$ window in width and
    height — but always through the **full depth** of the input. A 5×5 filter
    on an RGB image therefore has $5 \cdot 5 \cdot 3 = 75$ weights plus a bias.

    The layer has $K$ such filters. The $K$ neurons that look at the *same*
    window form a **depth column** (also called a *fibre*): they all see the
    same pixels, and each responds to a different pattern in them (an edge at
    some angle, a blob of colour…). Sliding the window across the image by
    steps of $S$ pixels (the **stride**), after surrounding the input with $P$
    rows/columns of zeros (the **zero padding**), gives one depth column per
    position. The output is again a volume, of depth $K$.
    """)

    c.md(r"""
    ## 2. How big is the output? $(W - F + 2P)/S + 1$

    Along one axis, an input of size $W$ padded to $W + 2P$ fits windows of size
    $F$ starting at $0, S, 2S, \dots$ as long as the window ends inside the
    padded input. The number of positions is

    $$W_2 = \frac{W - F + 2P}{S} + 1 .$$

    The picture below shows one axis with $W = 5$, $F = 3$, $P = 1$: with
    $S = 1$ there are $(5 - 3 + 2)/1 + 1 = 5$ positions, with $S = 2$ there are
    $(5 - 3 + 2)/2 + 1 = 3$. With $P = 1$ and $S = 1$ the output has the same
    size as the input: in general $P = (F - 1)/2$ with $S = 1$ preserves the size,
    which is why 3×3 filters usually come with padding 1.

    When $(W - F + 2P)$ is **not divisible** by $S$, the windows do not tile the
    input: with $W = 10$, $F = 3$, $P = 0$, $S = 2$ we get $(10 - 3)/2 + 1 = 4.5$.
    Such hyperparameters are *invalid*; `cs_convnet` raises a `ValueError` rather
    than silently dropping the last column.
    """)
    c.code(r'''
    def draw_axis(ax, W, F, P, S):
        """Draw one axis of the input (grey: zero padding) and every window position."""
        cells = W + 2 * P
        for i in range(cells):
            padding = i < P or i >= P + W
            ax.add_patch(plt.Rectangle((i, 0), 1, 1, facecolor="0.85" if padding else "white", edgecolor="black"))
            ax.text(i + 0.5, 0.5, "0" if padding else f"x{i - P}", ha="center", va="center", fontsize=9)
        starts = list(range(0, cells - F + 1, S))
        for k, start in enumerate(starts):
            y = -0.35 - 0.3 * k
            ax.plot([start + 0.1, start + F - 0.1], [y, y], lw=4, color=plt.cm.tab10(k % 10))
            ax.text(start + F + 0.1, y, f"output {k}", va="center", fontsize=8)
        ax.set_xlim(-0.2, cells + 2.5)
        ax.set_ylim(-0.5 - 0.3 * len(starts), 1.2)
        ax.set_title(f"W={W}, F={F}, P={P}, S={S}: ({W} - {F} + 2*{P})/{S} + 1 = {len(starts)} outputs")
        ax.axis("off")

    fig, axes = plt.subplots(1, 2, figsize=(12, 3))
    draw_axis(axes[0], W=5, F=3, P=1, S=1)
    draw_axis(axes[1], W=5, F=3, P=1, S=2)
    plt.show()
    ''')

    c.md(r"""
    ### Your turn: the output-size formula

    Write `output_size(W, F, S, P)`, returning the output length as an `int`
    and raising `ValueError` when the hyperparameters are invalid (the window
    does not fit, or the windows do not tile the padded input). The checks use
    the examples of the CS231n notes:

    * the **demo** volume: input 5×5×3, $K = 2$ filters with $F = 3$, $S = 2$, $P = 1$ → output 3×3×2;
    * **AlexNet's** first layer: input 227×227×3, $F = 11$, $S = 4$, $P = 0$ → $(227 - 11)/4 + 1 = 55$;
    * the **invalid** $W = 10$, $F = 3$, $S = 2$, $P = 0$.
    """)
    c.solution("output-size", r'''
    def output_size(W, F, S, P):
        """Number of window positions along an axis of length W (filter F, stride S, padding P)."""
        ### BEGIN SOLUTION
        span = W - F + 2 * P
        if span < 0 or span % S:
            raise ValueError(f"invalid hyperparameters: ({W} - {F} + 2*{P})/{S} + 1 is not a positive whole number")
        return span // S + 1
        ### END SOLUTION
    ''', hint="write output_size(W, F, S, P) = (W - F + 2P)/S + 1, raising ValueError when it is not a whole number")
    c.tests("output-size-tests", 2, r'''
    assert output_size(5, 3, 2, 1) == 3, f"demo volume: output_size(5, 3, 2, 1) should be (5 - 3 + 2)/2 + 1 = 3, got {output_size(5, 3, 2, 1)}"
    assert output_size(227, 11, 4, 0) == 55, f"AlexNet: (227 - 11)/4 + 1 = 55, got {output_size(227, 11, 4, 0)}"
    assert isinstance(output_size(227, 11, 4, 0), int), "return an int (use // once you know the division is exact)"
    try:
        output_size(10, 3, 2, 0)
    except ValueError:
        pass
    else:
        raise AssertionError("output_size(10, 3, 2, 0) must raise ValueError: (10 - 3)/2 + 1 = 4.5 is not a whole number")
    ### BEGIN HIDDEN TESTS
    for case, args, expected in [("padding that keeps the size", (32, 5, 1, 2), 32), ("a filter as large as the input", (7, 7, 1, 0), 1),
                                 ("3x3 filters with padding 1", (224, 3, 1, 1), 224), ("a stride of 3 with padding", (13, 3, 3, 1), 5)]:
        got = output_size(*args)
        assert got == expected, f"hidden check: output_size is wrong for {case} (got {got!r}); apply (W - F + 2P)/S + 1 as it is"
    for case, args in [("a filter larger than the input", (4, 5, 1, 0)), ("windows that do not tile the padded input", (12, 4, 3, 1))]:
        try:
            output_size(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(f"hidden check: output_size must raise ValueError for {case}")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ### The demo volume, computed

    Here is the notes' demo with your `conv_forward_naive` (implemented in section 4 —
    come back to this cell once it passes): a 5×5×3 input padded to 7×7×3, $K = 2$
    filters of 3×3×3, stride 2. Each output number is the sum over all three
    depth slices of the elementwise product of a filter with the highlighted
    window, plus the filter's bias; the first output of each depth slice uses
    the window in the top-left corner.
    """)
    c.code(r'''
    from cs_convnet.layers import conv_forward_naive

    rng = np.random.default_rng(231)
    x = rng.integers(0, 3, size=(1, 3, 5, 5)).astype(float)          # 5x5x3 input, depth first
    w = rng.integers(-1, 2, size=(2, 3, 3, 3)).astype(float)          # K = 2 filters of 3x3x3
    b = np.array([1.0, 0.0])
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    assert out.shape == (1, 2, 3, 3), f"the demo output should be 3x3x2, got {out.shape}"
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))

    fig, axes = plt.subplots(2, 6, figsize=(14, 5))
    def grid(ax, values, title, cmap="Blues", box=None):
        span = max(4.0, float(np.abs(values).max()))
        ax.imshow(values, cmap=cmap, vmin=-1.5 * span, vmax=1.5 * span)  # pale colours keep the numbers legible
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=9)
        if box is not None:
            ax.add_patch(plt.Rectangle((box[1] - 0.5, box[0] - 0.5), 3, 3, fill=False, lw=2.5, color="tab:red"))
        ax.set_title(title, fontsize=9); ax.set_xticks([]); ax.set_yticks([])
    for c_ in range(3):
        grid(axes[0, c_], padded[0, c_], f"input x[:, :, {c_}] (padded)", box=(0, 0))
    for f in range(2):
        grid(axes[0, 3 + f], out[0, f], f"output o[:, :, {f}]", cmap="Greens")
    axes[0, 5].axis("off")
    for f in range(2):
        for c_ in range(3):
            grid(axes[1, 3 * f + c_], w[f, c_], f"filter w{f}[:, :, {c_}]" + (f", b{f} = {b[f]:g}" if c_ == 2 else ""),
                 cmap="Oranges")
    plt.tight_layout(); plt.show()
    first = sum(np.sum(padded[0, c_, 0:3, 0:3] * w[0, c_]) for c_ in range(3)) + b[0]
    print(f"o[0, 0, 0] = sum over the 3 depth slices of window * filter + b0 = {first:g}")
    ''')

    c.md(r"""
    ## 3. Parameter sharing

    AlexNet's first conv layer turns a 227×227×3 image into a 55×55×96 volume:
    $55 \cdot 55 \cdot 96 = 290{,}400$ neurons, each with $11 \cdot 11 \cdot 3 = 363$
    weights and 1 bias, i.e. **364** parameters. If every neuron had its own,
    that single layer would need $290{,}400 \times 364 \approx 105$ million parameters.

    The fix is an assumption about images: *if a feature (say, a vertical edge)
    is worth detecting at one position, it is worth detecting at every
    position*. So all neurons of one **depth slice** (the 55×55 neurons with the
    same filter) share the same weights. The layer then has just
    $96 \times 364 = 34{,}944$ parameters. Because each depth slice applies one
    filter at every position, computing it *is* a convolution of the input with
    the filter — hence the name — and the weights are called **filters** or
    **kernels**.

    **Inline question 1 (numeric, autograded).** Fill in the numbers as Python
    integers (you may write them as expressions such as `55 * 55 * 96`).

    * `alexnet_neurons`: neurons in AlexNet's first conv layer output;
    * `params_per_neuron`: parameters of one neuron, its weights *and* its bias;
    * `params_without_sharing`, `params_with_sharing`: parameters of the layer without and with sharing;
    * `layer_output_shape`: the output (height, width, depth) of a conv layer with 10 filters of size 5×5, stride 1 and padding 2 on a 32×32×3 input;
    * `layer_params`: that layer's number of parameters (weights and biases).
    """)
    c.solution("inline-sharing", r'''
    ### BEGIN SOLUTION
    alexnet_neurons = 55 * 55 * 96
    params_per_neuron = 11 * 11 * 3 + 1
    params_without_sharing = alexnet_neurons * params_per_neuron
    params_with_sharing = 96 * params_per_neuron
    layer_output_shape = (32, 32, 10)
    layer_params = 10 * (5 * 5 * 3 + 1)
    ### END SOLUTION
    ''', hint="assign the six numbers of inline question 1 (alexnet_neurons, params_per_neuron, ...)")
    c.tests("inline-sharing-tests", 3, r'''
    answered("alexnet_neurons", "params_per_neuron", "params_without_sharing", "params_with_sharing",
             "layer_output_shape", "layer_params")
    for name in ["alexnet_neurons", "params_per_neuron", "params_without_sharing", "params_with_sharing", "layer_params"]:
        assert isinstance(globals()[name], (int, np.integer)), f"{name} should be an integer, got {globals()[name]!r}"
    assert params_without_sharing == alexnet_neurons * params_per_neuron, \
        "without sharing, every neuron has its own params_per_neuron parameters"
    assert len(layer_output_shape) == 3, "layer_output_shape is (height, width, depth)"
    ### BEGIN HIDDEN TESTS
    assert alexnet_neurons == 290400, f"alexnet_neurons = {alexnet_neurons} is wrong: count every number of the 55x55x96 output"
    assert params_per_neuron == 364, f"params_per_neuron = {params_per_neuron} is wrong: one neuron's 11x11x3 weights, plus its bias"
    assert params_without_sharing == 105705600, f"params_without_sharing = {params_without_sharing} is wrong: every neuron has its own parameters"
    assert params_with_sharing == 34944, f"params_with_sharing = {params_with_sharing} is wrong: one set of parameters per filter (depth slice)"
    assert tuple(layer_output_shape) == (32, 32, 10), \
        f"layer_output_shape = {layer_output_shape} is wrong: apply (W - F + 2P)/S + 1 to height and width; the depth is the number of filters"
    assert layer_params == 760, f"layer_params = {layer_params} is wrong: each of the 10 filters has 5x5x3 weights and one bias"
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 4. The forward pass, with loops

    Open `cs_convnet/layers.py` and implement `conv_forward_naive(x, w, b, conv_param)`.
    The input `x` has shape `(N, C, H, W)` — N images of C channels — and the
    filters `w` have shape `(F, C, HH, WW)`. The shapes are already checked for
    you (including the output-size formula) before your code runs.

    1. pad `x` with `pad` zeros on each side of H and W (`np.pad`);
    2. for each image `n`, filter `f` and output position `(i, j)`, take the window
       `x_pad[n, :, i*stride : i*stride + HH, j*stride : j*stride + WW]`
       and compute `np.sum(window * w[f]) + b[f]`.

    Efficiency does not matter here — clarity does; the fast version comes in
    assignment 4. The first check uses a square input with stride 2 and padding 1;
    the second a non-square input and kernel with stride 1 and no padding, which
    catches height and width swapped somewhere.
    """)
    c.tests("conv-forward-tests", 4, fill(r'''
    from cs_convnet.layers import conv_forward_naive

    x = np.linspace(-0.1, 0.5, num=2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    w = np.linspace(-0.2, 0.3, num=3 * 3 * 4 * 4).reshape(3, 3, 4, 4)
    b = np.linspace(-0.1, 0.2, num=3)
    with calling("conv_forward_naive", x=x, w=w, b=b):
        out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    check_close("conv_forward_naive output (stride 2, pad 1)", out, <<EXPECTED_SQUARE>>,
                hint="pad with zeros on both sides, then step the window by the stride")

    x = np.linspace(-1.0, 1.0, num=1 * 2 * 5 * 7).reshape(1, 2, 5, 7)
    w = np.linspace(0.5, -0.5, num=2 * 2 * 3 * 2).reshape(2, 2, 3, 2)
    with calling("conv_forward_naive", x=x, w=w):
        out, _ = conv_forward_naive(x, w, np.array([0.1, -0.3]), {"stride": 1, "pad": 0})
    check_close("conv_forward_naive output (5x7 input, 3x2 filters)", out, <<EXPECTED_RECT>>,
                hint="H and W, HH and WW are different here: check which is which")
    print("conv_forward_naive: both checks passed")
    ### BEGIN HIDDEN TESTS
    <<REFERENCE>>
    rng = np.random.default_rng(1234)
    for shape, wshape, stride, pad in [((3, 2, 7, 9), (4, 2, 3, 5), 2, 1), ((1, 3, 7, 4), (2, 3, 2, 2), 3, 2),
                                       ((2, 1, 8, 8), (3, 1, 4, 4), 2, 3)]:
        x, w, b = rng.standard_normal(shape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
        out, _ = conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
        check_close(f"hidden check: conv_forward_naive output for a {x.shape} input and {w.shape} filters", out,
                    _reference_conv(x, w, b, stride, pad),
                    hint="the hidden tests use non-square inputs and filters, strides above 1 and padding up to 3")
    ### END HIDDEN TESTS
    ''', EXPECTED_SQUARE=literal(_visible_conv_case()), EXPECTED_RECT=literal(_visible_conv_case_rect()),
        REFERENCE=REFERENCE_CONV))

    c.md(r"""
    ## 5. Filtering a real image

    Filters are just small arrays of weights, so we can write some by hand and
    watch what a conv layer does. Below, the image of Grace Hopper that ships
    with matplotlib goes through your `conv_forward_naive` with two 3×3 filters:

    * a **grayscale** filter: only its centre is non-zero, holding the luminance
      weights $(0.3, 0.6, 0.1)$ for R, G, B — the weighted sum *across depth* at
      each pixel;
    * a **horizontal edge** detector (a Sobel filter) applied to the blue channel:
      rows of $+1, +2, +1$ above and $-1, -2, -1$ below. Where the image is flat
      the two rows cancel; where brightness changes from top to bottom they do not.

    The bias of the grayscale filter adds 128 to bring its output to the usual
    0–255 range. Filters learned by a network's first layer end up looking much
    like these: edges at various orientations and colour blobs (you will see
    that in assignment 5).
    """)
    c.code(r'''
    from matplotlib.cbook import get_sample_data
    from cs_convnet.layers import conv_forward_naive

    with get_sample_data("grace_hopper.jpg") as file:
        photo = plt.imread(file).astype(np.float64)      # (H, W, 3), values 0..255
    step = 8 if QUICK else 4
    photo = photo[::step, ::step]
    x = photo.transpose(2, 0, 1)[None]                    # (1, 3, H, W)

    w = np.zeros((2, 3, 3, 3))
    w[0, :, 1, 1] = [0.3, 0.6, 0.1]                       # grayscale: weighted sum across depth
    w[1, 2] = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]        # horizontal edges in the blue channel
    b = np.array([0.0, 128.0])

    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})

    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    axes[0].imshow(photo.astype(np.uint8)); axes[0].set_title("original")
    axes[1].imshow(out[0, 0]); axes[1].set_title("grayscale filter")
    axes[2].imshow(out[0, 1]); axes[2].set_title("horizontal edges (blue channel)")
    for ax in axes:
        ax.axis("off")
    plt.show()
    ''')

    c.md(r"""
    ## 6. The backward pass

    The forward pass computes, for each output entry,

    $$\text{out}[n,f,i,j] = b_f + \sum_{c,k,l} w[f,c,k,l]\; x_\text{pad}[n,c,\; iS + k,\; jS + l].$$

    Differentiating one term at a time gives the three gradients, each a sum over
    every output position the quantity contributed to:

    * $\partial L/\partial b_f = \sum_{n,i,j} \text{dout}[n,f,i,j]$;
    * $\partial L/\partial w[f] \mathrel{+}= \text{dout}[n,f,i,j] \cdot x_\text{pad}[n, :, \text{window}(i,j)]$;
    * $\partial L/\partial x_\text{pad}[n, :, \text{window}(i,j)] \mathrel{+}= \text{dout}[n,f,i,j] \cdot w[f]$,
      then crop the padding away.

    The `+=` matters: a weight is used at every position, and an input pixel
    lies in several (overlapping) windows, so their gradients accumulate.
    Implement `conv_backward_naive` in `cs_convnet/layers.py`. The check compares
    your gradients with numerical gradients (centred differences in float64):
    the relative error should be around 1e-8 or smaller.
    """)
    c.tests("conv-backward-tests", 4, r'''
    from cs_convnet.layers import conv_backward_naive, conv_forward_naive

    rng = np.random.default_rng(231)
    x = rng.standard_normal((2, 3, 5, 6))
    w = rng.standard_normal((2, 3, 3, 3))
    b = rng.standard_normal(2)
    conv_param = {"stride": 1, "pad": 1}
    dout = rng.standard_normal((2, 2, 5, 6))

    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, conv_param)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: conv_forward_naive(x, w, b, conv_param)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: conv_forward_naive(x, w, b, conv_param)[0], b, dout)
    _, cache = conv_forward_naive(x, w, b, conv_param)
    with calling("conv_backward_naive", dout=dout, x=x, w=w):
        dx, dw, db = conv_backward_naive(dout, cache)
    check_gradient("db", db, db_num, hint="db[f] is the sum of dout[:, f] over images and positions")
    check_gradient("dw", dw, dw_num, hint="accumulate dout[n, f, i, j] * window into dw[f] (+=, not =)")
    check_gradient("dx", dx, dx_num, hint="accumulate into a padded dx, then crop the padding away")
    print("conv_backward_naive: dx, dw and db agree with the numerical gradient")
    ### BEGIN HIDDEN TESTS
    for shape, wshape, stride, pad in [((1, 2, 7, 5), (3, 2, 3, 1), 2, 0), ((2, 1, 6, 6), (2, 1, 2, 4), 2, 2)]:
        x, w, b = rng.standard_normal(shape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
        conv_param = {"stride": stride, "pad": pad}
        out, cache = conv_forward_naive(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape)
        dx, dw, db = conv_backward_naive(dout, cache)
        where = f"for a {x.shape} input and {w.shape} filters with a stride above 1"
        check_gradient(f"hidden check: conv_backward_naive db {where}", db, eval_numerical_gradient_array(lambda b: conv_forward_naive(x, w, b, conv_param)[0], b, dout),
                       hint="db[f] is the sum of dout[:, f] over images and positions")
        check_gradient(f"hidden check: conv_backward_naive dw {where}", dw, eval_numerical_gradient_array(lambda w: conv_forward_naive(x, w, b, conv_param)[0], w, dout),
                       hint="windows start at i*stride and j*stride, in the backward pass too")
        check_gradient(f"hidden check: conv_backward_naive dx {where}", dx, eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, conv_param)[0], x, dout),
                       hint="windows start at i*stride and j*stride; crop the padding (which may be 0) at the end")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 7. The backward pass is a convolution too — with flipped filters

    Look at $\partial L/\partial x$ from the point of view of one input pixel
    (stride 1). Pixel $x[c, p, q]$ is multiplied by $w[f, c, k, l]$ in the output
    at $(p - k, q - l)$, for every filter offset $(k, l)$. So

    $$\frac{\partial L}{\partial x[c,p,q]} = \sum_{f,k,l} \text{dout}[f,\, p-k,\, q-l]\; w[f,c,k,l],$$

    a sum over a window of `dout` whose offsets run *backwards*: it is a
    convolution (in the sense of this layer, i.e. a correlation) of `dout`,
    padded by $HH - 1 - P$ rows and $WW - 1 - P$ columns, with the filters
    **flipped** left-right and up-down and with the roles of input and output
    channels **swapped** — $w$ transposed to shape `(C, F, HH, WW)`.
    This is why deep-learning libraries need only one fast convolution routine,
    and why a "transposed convolution" layer is the backward pass of a convolution.

    Write `conv_dx_via_forward(dout, w, pad)` that computes $\partial L/\partial x$ for a
    **stride-1** convolution by calling `conv_forward_naive` once. The filters
    need not be square: pad the rows of `dout` by $HH - 1 - P$ and its columns
    by $WW - 1 - P$ (the second check and the hidden tests use non-square
    filters). You may assume $P \le HH - 1$ and $P \le WW - 1$.
    """)
    c.solution("dx-via-forward", r'''
    from cs_convnet.layers import conv_forward_naive

    def conv_dx_via_forward(dout, w, pad):
        """dx of a stride-1 convolution with filters w (F, C, HH, WW), from dout (N, F, H', W')."""
        ### BEGIN SOLUTION
        F, C, HH, WW = w.shape
        flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)          # (C, F, HH, WW)
        padded = np.pad(dout, ((0, 0), (0, 0), (HH - 1 - pad, HH - 1 - pad), (WW - 1 - pad, WW - 1 - pad)))
        dx, _ = conv_forward_naive(padded, np.ascontiguousarray(flipped), np.zeros(C), {"stride": 1, "pad": 0})
        return dx
        ### END SOLUTION
    ''', hint="write conv_dx_via_forward: pad dout by HH-1-pad rows and WW-1-pad columns, flip w in both spatial axes, swap its first two axes, call conv_forward_naive")
    c.tests("dx-via-forward-tests", 3, r'''
    from cs_convnet.layers import conv_forward_naive

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 6, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    dout = rng.standard_normal((2, 4, 6, 7))
    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})[0], x, dout)
    with calling("conv_dx_via_forward", dout=dout, w=w):
        dx = conv_dx_via_forward(dout, w, 1)
    check_gradient("conv_dx_via_forward(dout, w, pad=1)", dx, dx_num,
                   hint="flip both spatial axes (w[:, :, ::-1, ::-1]) and swap the filter and channel axes")

    x, w, b = rng.standard_normal((1, 2, 5, 8)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    dout = rng.standard_normal((1, 3, 3, 7))
    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})[0], x, dout)
    with calling("conv_dx_via_forward", dout=dout, w=w):
        dx = conv_dx_via_forward(dout, w, 0)
    check_gradient("conv_dx_via_forward(dout, w, pad=0) with 3x2 filters", dx, dx_num,
                   hint="pad the rows of dout by HH-1-pad and its columns by WW-1-pad")
    print("conv_dx_via_forward: the backward pass really is a convolution")
    ### BEGIN HIDDEN TESTS
    x, w, b = rng.standard_normal((2, 2, 6, 5)), rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda x: conv_forward_naive(x, w, b, {"stride": 1, "pad": 1})[0], x, dout)
    check_gradient("hidden check: conv_dx_via_forward(dout, w, pad=1) with 2x3 filters", conv_dx_via_forward(dout, w, 1), dx_num,
                   hint="pad the rows of dout by HH-1-pad and its columns by WW-1-pad")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    **Inline question 2 (written, graded by hand).** Parameter sharing assumes
    that a feature useful at one position is useful everywhere. Give an example
    of inputs where this assumption is weaker, and say how the layer could be
    changed for them. What does the network lose, in number of parameters and in
    what it can learn, if you make that change?
    """)
    c.written("inline-sharing-written", 2, r"""
    When inputs are centred and aligned — for example face images where eyes are
    always near the top and the mouth near the bottom — different positions need
    different features. One can then drop sharing for some layers and use a
    *locally-connected* layer: every position has its own filter. Each depth
    slice then has (H' W') times as many parameters (for AlexNet's first layer,
    105.7 million instead of 34,944), so it needs much more data to learn and
    overfits more easily, and it loses translation equivariance: a pattern
    learned at one position is not recognised at another.
    """)
    return c.cells
