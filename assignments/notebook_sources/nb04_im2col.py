"""Assignment 4: im2col, the fast layers, their speed and their memory cost."""

from cellkit import CHECKS, SETUP, Cells


def cells():
    c = Cells("im2col")
    c.md(r"""
    # Assignment 4 — im2col and the fast layers

    Your naive convolution loops over every image, filter and output position
    in Python: far too slow to train on 50,000 images. The standard trick is to
    turn the convolution into **one matrix multiplication**, which optimized
    BLAS libraries run at close to the machine's peak speed:

    1. **im2col**: copy every receptive field of the input — a $C \times HH \times WW$
       block — into one column of a matrix `cols` of shape
       $(C \cdot HH \cdot WW) \times (N \cdot H' \cdot W')$;
    2. reshape the filters to rows, `w.reshape(F, C*HH*WW)`;
    3. one product `w_rows @ cols` gives every output at once, of shape
       $F \times (N \cdot H' \cdot W')$, which is reshaped to `(N, F, H', W')`.

    The backward pass is two more products and **col2im**, which adds each column
    of the gradient back into the place it came from (adding, because
    overlapping windows copied the same input several times).

    **What you write:** `im2col_numpy` below, vectorised with numpy. You then verify
    it against the course's fast layers (`cs_convnet.fast_layers`, provided,
    with a numpy backend and a compiled Cython backend), time all versions,
    and work out what im2col costs in memory.
    """)
    c.code(SETUP, trusted=True)
    c.code(CHECKS, trusted=True)

    c.md(r"""
    ## 1. im2col in numpy

    Write `im2col_numpy(x, HH, WW, stride, pad)`. The row of `cols` for channel
    `c` and filter offset `(i, j)` is `c*HH*WW + i*WW + j` — the order of
    `w.reshape(F, C*HH*WW)` — and the column of image `n` at output position
    `(y, x')` is `n*H'*W' + y*W' + x'`.

    Loop only over the $HH \times WW$ filter offsets, never over images or
    positions: for a fixed offset `(i, j)`, the input values that meet that
    filter weight at every output position form **one strided slice** of the padded input,
    `x_pad[:, :, i : i + stride*H' : stride, j : j + stride*W' : stride]`,
    of shape `(N, C, H', W')`. Copy it into its rows of `cols` (a transpose and a
    reshape put the axes in the required order).
    """)
    c.solution("im2col", r'''
    def im2col_numpy(x, HH, WW, stride, pad):
        """Columns of all receptive fields: (C*HH*WW, N*H'*W') from x of shape (N, C, H, W)."""
        N, C, H, W = x.shape
        H_out = (H + 2 * pad - HH) // stride + 1
        W_out = (W + 2 * pad - WW) // stride + 1
        ### BEGIN SOLUTION
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        cols = np.empty((C, HH, WW, N, H_out, W_out), dtype=x.dtype)
        for i in range(HH):
            for j in range(WW):
                window = x_pad[:, :, i:i + stride * H_out:stride, j:j + stride * W_out:stride]
                cols[:, i, j] = window.transpose(1, 0, 2, 3)
        return cols.reshape(C * HH * WW, N * H_out * W_out)
        ### END SOLUTION
    ''', hint="write im2col_numpy: for each filter offset (i, j) copy one strided slice of the padded input into its rows")
    c.code(r'''
    def conv_forward_im2col(x, w, b, conv_param):
        """A convolution as one matrix product over the columns of your im2col_numpy."""
        N, _, H, W = x.shape
        F, _, HH, WW = w.shape
        stride, pad = conv_param["stride"], conv_param["pad"]
        H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
        cols = im2col_numpy(x, HH, WW, stride, pad)
        out = w.reshape(F, -1) @ cols + b[:, None]
        return out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)
    ''')
    c.md(r"""
    The check compares your columns, through `conv_forward_im2col`, with the
    provided fast layers on every backend available here (`BACKEND` says which one
    is used by default: `cython` once `pip install -e .` compiled it), on a
    non-square input with stride 2 and padding 1.
    """)
    c.tests("im2col-tests", 4, r'''
    from cs_convnet import fast_layers

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9))
    w = rng.standard_normal((4, 3, 3, 5))
    b = rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}
    with calling("im2col_numpy", x=x):
        cols = im2col_numpy(x, 3, 5, 2, 1)
    assert cols.shape == (3 * 3 * 5, 2 * 4 * 4), \
        f"cols has shape {cols.shape}, expected (C*HH*WW, N*H'*W') = (45, 32) for H' = (7 - 3 + 2)/2 + 1 = 4, W' = 4"
    for backend in fast_layers.AVAILABLE_BACKENDS:
        expected, _ = fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)
        with calling("conv_forward_im2col", x=x, w=w, b=b):
            out = conv_forward_im2col(x, w, b, conv_param)
        check_close(f"conv through im2col_numpy vs the {backend} fast layer", out, expected,
                    hint="rows ordered (c, i, j) like w.reshape(F, -1); columns ordered (n, y, x)")
    print(f"im2col_numpy agrees with the fast layers ({', '.join(fast_layers.AVAILABLE_BACKENDS)})")
    ### BEGIN HIDDEN TESTS
    for shape, wshape, stride, pad in [((1, 2, 9, 6), (3, 2, 2, 2), 3, 1), ((3, 1, 6, 6), (2, 1, 4, 4), 2, 3),
                                       ((2, 4, 5, 7), (5, 4, 1, 3), 1, 0)]:
        x, w, b = rng.standard_normal(shape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
        expected, _ = fast_layers.conv_forward_fast(x, w, b, {"stride": stride, "pad": pad}, backend="numpy")
        check_close(f"hidden check: conv_forward_im2col output for a {x.shape} input and {w.shape} filters",
                    conv_forward_im2col(x, w, b, {"stride": stride, "pad": pad}), expected,
                    hint="the hidden tests use non-square inputs and filters, 1x3 filters among them, strides 1 to 3 and padding up to 3")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 2. How much faster?

    The table times one forward pass of a conv layer four ways: your naive
    loops, your im2col + matrix product, and the provided fast layer with its
    numpy and (when compiled) Cython backends; the last column compares each
    with the naive version. It also checks that all of them agree. The exact
    times depend on your machine; the ratios are what to look at.
    """)
    c.code(r'''
    import time
    from cs_convnet import fast_layers
    from cs_convnet.layers import conv_forward_naive

    def best_time(fn, repeats):
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter(); fn(); best = min(best, time.perf_counter() - start)
        return best

    rng = np.random.default_rng(1)
    N = 2 if QUICK else 16
    x = rng.standard_normal((N, 3, 32, 32)); w = rng.standard_normal((16, 3, 3, 3)); b = rng.standard_normal(16)
    conv_param = {"stride": 1, "pad": 1}
    versions = {"naive loops (yours)": lambda: conv_forward_naive(x, w, b, conv_param)[0],
                "im2col_numpy + matmul (yours)": lambda: conv_forward_im2col(x, w, b, conv_param)}
    for backend in fast_layers.AVAILABLE_BACKENDS:
        versions[f"fast layer, {backend} backend"] = (lambda backend=backend:
                                                     fast_layers.conv_forward_fast(x, w, b, conv_param, backend=backend)[0])
    reference = versions["naive loops (yours)"]()
    times = {}
    for name, fn in versions.items():
        check_close(name, fn(), reference, tol=1e-6)
        times[name] = best_time(fn, repeats=1 if "naive" in name else 5)
    print(f"conv forward, x {x.shape}, w {w.shape}, stride 1, pad 1")
    print(f"{'version':<34}{'time (ms)':>12}{'speed-up':>12}")
    for name, seconds in times.items():
        print(f"{name:<34}{1000 * seconds:>12.2f}{times['naive loops (yours)'] / seconds:>11.0f}x")
    ''')

    c.md(r"""
    ## 3. The price: memory

    im2col copies each input value once for every window that contains it. With
    $F \times F$ filters and stride 1 that is about $F^2$ copies: a 3×3 convolution
    needs roughly nine times the memory of its input, just for `cols`. For
    AlexNet's first layer (227×227×3 input, 96 filters of 11×11×3, stride 4) the
    matrix holds one column of $11 \cdot 11 \cdot 3 = 363$ numbers for each of the
    $55 \cdot 55 = 3025$ positions, per image.

    **Inline question 1 (numeric, autograded).** For one AlexNet input image, set
    `alexnet_cols_shape` to the shape of `cols`, `alexnet_cols_bytes` to its size
    in bytes in float32, and `alexnet_blowup` to the ratio between the number of
    entries of `cols` and that of the input image.
    """)
    c.solution("inline-memory", r'''
    ### BEGIN SOLUTION
    alexnet_cols_shape = (11 * 11 * 3, 55 * 55)
    alexnet_cols_bytes = 11 * 11 * 3 * 55 * 55 * 4
    alexnet_blowup = (11 * 11 * 3 * 55 * 55) / (227 * 227 * 3)
    ### END SOLUTION
    ''', hint="assign alexnet_cols_shape, alexnet_cols_bytes and alexnet_blowup (inline question 1)")
    c.tests("inline-memory-tests", 2, r'''
    answered("alexnet_cols_shape", "alexnet_cols_bytes", "alexnet_blowup")
    assert len(alexnet_cols_shape) == 2, "cols is a matrix: (rows, columns)"
    assert alexnet_cols_bytes == 4 * alexnet_cols_shape[0] * alexnet_cols_shape[1], \
        "a float32 takes 4 bytes: bytes = 4 * rows * columns"
    ### BEGIN HIDDEN TESTS
    assert tuple(alexnet_cols_shape) == (363, 3025), \
        f"alexnet_cols_shape = {alexnet_cols_shape} is wrong: one row per weight of a filter, one column per output position"
    assert alexnet_cols_bytes == 4392300, f"alexnet_cols_bytes = {alexnet_cols_bytes} is wrong: 4 bytes per entry of cols"
    assert abs(alexnet_blowup - 1098075 / 154587) < 1e-3, \
        f"alexnet_blowup = {alexnet_blowup} is wrong: entries of cols divided by entries of the 227x227x3 image"
    ### END HIDDEN TESTS
    ''')
    c.code(r'''
    configs = [("3x3, stride 1", 3, 1, 1), ("5x5, stride 1", 5, 1, 2), ("3x3, stride 2", 3, 2, 1),
               ("11x11, stride 4", 11, 4, 0)]
    W_in, depth = 227, 3
    ratios = []
    for name, F, S, P in configs:
        out = (W_in - F + 2 * P) // S + 1
        ratios.append(F * F * depth * out * out / (W_in * W_in * depth))
    plt.bar([name for name, *_ in configs], ratios, color="tab:orange")
    plt.axhline(1, color="black", lw=1)
    plt.ylabel("entries of cols / entries of the input")
    plt.title("Memory blow-up of im2col on a 227x227 input")
    plt.show()
    ''')
    c.md(r"""
    **Inline question 2 (written, graded by hand).** When is im2col's memory
    cost a real problem, and what do libraries do about it? Think of the
    batch size, of which layers dominate, and of alternatives to a full `cols`
    matrix.
    """)
    c.written("inline-memory-written", 2, r"""
    It matters for large batches and for the early layers, where the spatial
    size is large and stride 1 with 3x3 filters multiplies the activations by
    about nine: `cols` can exceed the memory of all weights together and limit
    the batch size. Libraries process the batch in chunks (im2col per image or
    per group of images and reuse one buffer, as the course's fast layers do
    with a workspace), use implicit GEMM that forms the windows on the fly in
    fast memory without materialising `cols`, or use other algorithms (FFT or
    Winograd convolutions) for suitable filter sizes.
    """)
    return c.cells
