"""Assignment 3: pooling layers."""

import numpy as np

from cellkit import CHECKS, SETUP, Cells, fill, literal
from cs_convnet.layers import avg_pool_forward_naive, max_pool_forward_naive

REFERENCE_POOL = '''
def _reference_pool(x, ph, pw, stride, reduce):
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::stride, ::stride]
    return reduce(windows, axis=(4, 5))
'''


def _visible_x():
    return np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 6).reshape(2, 3, 4, 6) ** 3 - np.linspace(0, 0.1, 6)


def cells():
    c = Cells("pool")
    c.md(r"""
    # Assignment 3 — Pooling

    Between successive conv layers, ConvNets commonly insert a **pooling layer**.
    It shrinks each depth slice of its input spatially — independently per slice,
    so the depth stays the same — which reduces the number of activations, the
    computation of the layers that follow and the number of parameters of the
    fully-connected layers at the end, and so also the risk of overfitting. A
    pooling layer has **no parameters**: it computes a fixed function.

    **What you write:** `max_pool_forward_naive`, `max_pool_backward_naive`,
    `avg_pool_forward_naive` and `avg_pool_backward_naive` in `cs_convnet/layers.py`,
    and two answers here. As before, a check cell that finishes without an
    error has passed.
    """)
    c.code(SETUP, trusted=True)
    c.code(CHECKS, trusted=True)

    c.md(r"""
    ## 1. Max pooling

    The most common form uses 2×2 windows with stride 2: each window of four
    numbers is replaced by its maximum, so 75% of the activations are
    discarded, and a $W \times H \times D$ volume becomes
    $W/2 \times H/2 \times D$. In general, with window $F$ and stride $S$,

    $$W_2 = (W - F)/S + 1, \qquad H_2 = (H - F)/S + 1, \qquad D_2 = D .$$

    Padding is rarely used for pooling. Like for convolutions, `cs_convnet` raises a
    `ValueError` when the windows do not tile the input (unless you ask for
    `pool_param['floor'] = True`).

    The picture shows a single 4×4 depth slice pooled with 2×2 windows, stride 2;
    each colour is one window and its maximum.
    """)
    c.code(r'''
    slice_ = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]])
    colours = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    pooled = slice_.reshape(2, 2, 2, 2).max(axis=(1, 3))
    fig, (left, right) = plt.subplots(1, 2, figsize=(7, 3.2))
    left.imshow(colours, cmap="Pastel1", vmin=0, vmax=8)
    right.imshow(np.array([[0, 1], [2, 3]]), cmap="Pastel1", vmin=0, vmax=8)
    for (i, j), value in np.ndenumerate(slice_):
        left.text(j, i, value, ha="center", va="center", fontsize=14)
    for (i, j), value in np.ndenumerate(pooled):
        right.text(j, i, value, ha="center", va="center", fontsize=14)
    left.set_title("single depth slice (4x4)"); right.set_title("max pool 2x2, stride 2")
    for ax in (left, right):
        ax.set_xticks([]); ax.set_yticks([])
    plt.show()
    ''')
    c.md(r"""
    Implement `max_pool_forward_naive(x, pool_param)`, with `pool_param` holding
    `pool_height`, `pool_width` and `stride`. Loop over the output positions
    and take the maximum of each window over its two spatial axes (you can do
    all images and channels at once). The check uses a non-square input and a
    non-square window, which catches height and width swapped.
    """)
    c.tests("max-forward-tests", 3, fill(r'''
    from cs_convnet.layers import max_pool_forward_naive

    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 6).reshape(2, 3, 4, 6) ** 3 - np.linspace(0, 0.1, 6)
    with calling("max_pool_forward_naive", x=x):
        out, _ = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 3, "stride": 1})
    check_close("max_pool_forward_naive output (2x3 windows, stride 1)", out, <<EXPECTED>>,
                hint="each output is the max of x[:, :, i*stride:i*stride+pool_height, j*stride:j*stride+pool_width]")
    print("max_pool_forward_naive: check passed")
    ### BEGIN HIDDEN TESTS
    <<REFERENCE>>
    rng = np.random.default_rng(7)
    for shape, ph, pw, stride in [((1, 2, 7, 9), 3, 3, 2), ((3, 1, 6, 4), 2, 2, 2), ((2, 2, 9, 5), 3, 2, 3)]:
        x = rng.standard_normal(shape)
        out, _ = max_pool_forward_naive(x, {"pool_height": ph, "pool_width": pw, "stride": stride})
        check_close(f"hidden check: max_pool_forward_naive output for a {x.shape} input", out,
                    _reference_pool(x, ph, pw, stride, np.max),
                    hint="the hidden tests use square and non-square windows, with strides that differ from the window size")
    ### END HIDDEN TESTS
    ''', EXPECTED=literal(max_pool_forward_naive(_visible_x(), {"pool_height": 2, "pool_width": 3, "stride": 1})[0]),
        REFERENCE=REFERENCE_POOL))

    c.md(r"""
    ## 2. Backward: the switches

    $\max(x, y)$ has gradient 1 with respect to whichever input is larger and 0
    for the other. So in the backward pass, each window passes its upstream
    gradient *only to the position of its maximum* — the **switch** of that window —
    and the other positions get nothing. Implementations therefore often record
    the switches during the forward pass; recomputing them in the backward pass
    from the cached input, as the naive version does, gives the same result.

    Two details decide whether the gradient is exactly right:

    * **ties**: if several entries of a window share the maximum, one must
      receive the gradient; the course (like PyTorch) gives it to the *first* in
      row-major order, which is what `np.argmax` on the flattened window returns;
    * **overlap**: when windows overlap, one input can be the maximum of several
      windows, and its gradients **add up** (`+=`, not `=`).

    Implement `max_pool_backward_naive`. The first check compares with numerical
    gradients (random inputs have no ties), the second uses a tie on purpose.
    """)
    c.tests("max-backward-tests", 4, r'''
    from cs_convnet.layers import max_pool_backward_naive, max_pool_forward_naive

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 8))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal((2, 3, 3, 4))
    dx_num = eval_numerical_gradient_array(lambda x: max_pool_forward_naive(x, pool_param)[0], x, dout)
    _, cache = max_pool_forward_naive(x, pool_param)
    with calling("max_pool_backward_naive", dout=dout, x=x):
        dx = max_pool_backward_naive(dout, cache)
    check_gradient("max_pool_backward_naive dx", dx, dx_num,
                   hint="send dout[n, c, i, j] to the position of the window's maximum and nothing elsewhere")

    tie = np.zeros((1, 1, 2, 2))
    _, cache = max_pool_forward_naive(tie, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward_naive(np.ones((1, 1, 1, 1)), cache)
    check_close("dx of a window where all entries tie", dx, np.array([[[[1.0, 0.0], [0.0, 0.0]]]]),
                hint="with ties, only the first maximum in row-major order (np.argmax) gets the gradient")
    print("max_pool_backward_naive: both checks passed")
    ### BEGIN HIDDEN TESTS
    for shape, ph, pw, stride in [((1, 2, 7, 7), 3, 3, 2), ((2, 1, 5, 9), 3, 1, 2)]:
        x = rng.standard_normal(shape)
        param = {"pool_height": ph, "pool_width": pw, "stride": stride}
        out, cache = max_pool_forward_naive(x, param)
        dout = rng.standard_normal(out.shape)
        dx_num = eval_numerical_gradient_array(lambda x: max_pool_forward_naive(x, param)[0], x, dout)
        check_gradient(f"hidden check: max_pool_backward_naive dx for a {x.shape} input", max_pool_backward_naive(dout, cache),
                       dx_num, hint="windows may overlap and be non-square: add (+=) into dx at each window's maximum")
    x = np.ones((1, 1, 5, 5))
    _, cache = max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    expected = np.zeros((1, 1, 5, 5)); expected[0, 0, :4:2, :4:2] = 1.0
    check_close("hidden check: max_pool_backward_naive dx with ties in overlapping windows",
                max_pool_backward_naive(np.ones((1, 1, 2, 2)), cache), expected,
                hint="each window sends its gradient to its first maximum (np.argmax); overlapping windows add up")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 3. Overlapping pooling

    AlexNet pools with $F = 3$, $S = 2$: neighbouring windows share a row or a
    column. Krizhevsky et al. found that this overlap slightly reduces
    overfitting compared with $F = 2$, $S = 2$. With overlap, the same input can
    win several windows. Below, your backward pass on all-ones upstream
    gradients counts for every input how many windows it is the maximum of.
    """)
    c.code(r'''
    from cs_convnet.layers import max_pool_backward_naive, max_pool_forward_naive

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 11, 11))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    out, cache = max_pool_forward_naive(x, pool_param)
    wins = max_pool_backward_naive(np.ones_like(out), cache)[0, 0]

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.imshow(x[0, 0], cmap="viridis"); left.set_title("input 11x11")
    image = right.imshow(wins, cmap="magma"); right.set_title("windows won by each input (F=3, S=2)")
    fig.colorbar(image, ax=right)
    plt.show()
    ''')
    c.md(r"""
    **Inline question 1 (numeric, autograded).** AlexNet's first conv layer
    outputs a 55×55×96 volume, which is max-pooled with $F = 3$, $S = 2$. Set
    `pooled_shape` to the (height, width, depth) of the result, and
    `pool_params` to the number of parameters of the pooling layer.
    """)
    c.solution("inline-pool", r'''
    ### BEGIN SOLUTION
    pooled_shape = (27, 27, 96)
    pool_params = 0
    ### END SOLUTION
    ''', hint="assign pooled_shape and pool_params (inline question 1)")
    c.tests("inline-pool-tests", 2, r'''
    answered("pooled_shape", "pool_params")
    assert len(pooled_shape) == 3, "pooled_shape is (height, width, depth)"
    assert isinstance(pool_params, (int, np.integer)), "pool_params is a number of parameters (an int)"
    ### BEGIN HIDDEN TESTS
    assert tuple(pooled_shape) == (27, 27, 96), \
        f"pooled_shape = {pooled_shape} is wrong: apply (W - F)/S + 1 to height and width; pooling keeps the depth"
    assert pool_params == 0, f"pool_params = {pool_params} is wrong: what does a max over a window need to learn?"
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 4. Average pooling

    Average pooling replaces each window by its mean. It was common in early
    networks; today max pooling usually works better inside the network, while
    a *global* average pool (one window covering the whole slice) often
    replaces the big fully-connected layers at the end. In the backward pass
    each window spreads its gradient **evenly**: every one of its
    $F_H \cdot F_W$ inputs receives $1/(F_H F_W)$ of it, and overlaps add up.

    Implement `avg_pool_forward_naive` and `avg_pool_backward_naive`.
    """)
    c.tests("avg-tests", 3, fill(r'''
    from cs_convnet.layers import avg_pool_backward_naive, avg_pool_forward_naive

    x = np.linspace(-0.3, 0.4, num=2 * 3 * 4 * 6).reshape(2, 3, 4, 6) ** 3 - np.linspace(0, 0.1, 6)
    with calling("avg_pool_forward_naive", x=x):
        out, _ = avg_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    check_close("avg_pool_forward_naive output (2x2, stride 2)", out, <<EXPECTED>>,
                hint="the mean of each window over its two spatial axes")

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 2, 5, 7))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    dout = rng.standard_normal((2, 2, 2, 3))
    dx_num = eval_numerical_gradient_array(lambda x: avg_pool_forward_naive(x, pool_param)[0], x, dout)
    _, cache = avg_pool_forward_naive(x, pool_param)
    with calling("avg_pool_backward_naive", dout=dout, x=x):
        dx = avg_pool_backward_naive(dout, cache)
    check_gradient("avg_pool_backward_naive dx (overlapping 3x3, stride 2)", dx,
                   dx_num, hint="each input of a window gets dout / (pool_height * pool_width); overlaps add up")
    print("average pooling: both checks passed")
    ### BEGIN HIDDEN TESTS
    <<REFERENCE>>
    for shape, ph, pw, stride in [((1, 3, 6, 9), 2, 3, 2), ((2, 1, 7, 7), 3, 3, 2)]:
        x = rng.standard_normal(shape)
        param = {"pool_height": ph, "pool_width": pw, "stride": stride}
        out, cache = avg_pool_forward_naive(x, param)
        check_close(f"hidden check: avg_pool_forward_naive output for a {x.shape} input", out,
                    _reference_pool(x, ph, pw, stride, np.mean), hint="the hidden tests use non-square windows")
        dout = rng.standard_normal(out.shape)
        dx_num = eval_numerical_gradient_array(lambda x: avg_pool_forward_naive(x, param)[0], x, dout)
        check_gradient(f"hidden check: avg_pool_backward_naive dx for a {x.shape} input", avg_pool_backward_naive(dout, cache),
                       dx_num, hint="each input of a window gets dout / (pool_height * pool_width); overlaps add up")
    ### END HIDDEN TESTS
    ''', EXPECTED=literal(avg_pool_forward_naive(_visible_x(), {"pool_height": 2, "pool_width": 2, "stride": 2})[0]),
        REFERENCE=REFERENCE_POOL))

    c.md(r"""
    **Inline question 2 (written, graded by hand).** A 2×2, stride-2 max pool
    throws away 75% of its input. Why does that not destroy what the network
    needs to classify an image? Name one thing that *is* lost, and one way
    some architectures avoid pooling layers altogether.
    """)
    c.written("inline-pool-written", 2, r"""
    Neighbouring activations are strongly correlated, and for classification it
    matters *that* a feature occurs in a region, not at which exact pixel: the
    maximum keeps the strongest response of each feature in each region and
    makes the output a little invariant to small translations. What is lost is
    precise spatial position (where exactly the edge was), which matters for
    tasks such as segmentation or for generative models. Architectures such as
    the "all convolutional net" replace pooling by convolutions with stride 2,
    which also shrink the volume but learn how to do it.
    """)
    return c.cells
