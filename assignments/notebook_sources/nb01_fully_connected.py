"""Assignment 1: fully-connected networks, gradient checking, the Solver and update rules."""

import numpy as np

from cellkit import CHECKS, SETUP, Cells, fill, literal
from cs_convnet import optim
from cs_convnet.layers import affine_forward, relu_forward, softmax_loss, svm_loss


def _affine_case():
    x = np.linspace(-0.1, 0.5, num=2 * 4 * 5 * 6).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, num=120 * 3).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    return affine_forward(x, w, b)[0]


def _scores():
    return np.linspace(-2.0, 3.0, num=5 * 4).reshape(5, 4) ** 2 / 3, np.array([0, 3, 1, 2, 3])


def _optim_case(rule, config):
    N, D = 4, 5
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    config = dict(config)
    for _ in range(3):
        w, config = getattr(optim, rule)(w, dw * (1 + w), config)
    return w


OPTIM_CASES = {
    "sgd_momentum": {"learning_rate": 1e-1, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99},
    "adam": {"learning_rate": 1e-2},
}


def cells():
    c = Cells("fc")
    c.md(r"""
    # Assignment 1 — Fully-connected networks, gradient checking and optimization

    A neural network is a chain of simple functions — *layers*. If every layer
    knows how to compute its output from its input (the **forward** pass) and
    how to turn the gradient of the loss with respect to its output into
    gradients with respect to its input and its parameters (the **backward**
    pass), then the chain rule lets us train any stack of them. This
    assignment builds that machinery for fully-connected networks; the next
    ones add convolution and pooling to it.

    In `cs_convnet` a layer is a pair of functions:

    ```python
    out, cache = layer_forward(x, w, ...)   # cache: what the backward pass needs
    dx, dw, ... = layer_backward(dout, cache)
    ```

    **What you write:** in `cs_convnet/layers.py` the affine and ReLU layers and
    the SVM and softmax losses; in `cs_convnet/optim.py` the update rules; in
    `cs_convnet/classifiers/fc_net.py` the network's loss. Each function raises
    `NotImplementedError` with a one-line description until you write it; its
    docstring gives every shape. The check cell after each step passes silently
    (apart from a short "passed" line) or fails with an explanation.
    """)
    c.code(SETUP, trusted=True)
    c.code(CHECKS, trusted=True)

    c.md(r"""
    ## 1. The affine layer

    A fully-connected (affine) layer computes $\text{out} = x W + b$, where each
    row of $x$ is one example. Images arrive as arrays of shape
    `(N, d_1, ..., d_k)`: the layer first views each one as a row of
    $D = d_1 \cdots d_k$ numbers (`x.reshape(N, D)`).

    For the backward pass, with upstream gradient `dout` of shape `(N, M)`:
    $\partial L/\partial x = \text{dout}\, W^T$ (reshaped back to the shape of `x`),
    $\partial L/\partial W = x^T \text{dout}$, and $\partial L/\partial b$ is the sum of
    `dout` over the examples. A quick way to get such formulas right is to
    check shapes: `dW` must have the shape of `W`, `(D, M)`, and the only product
    of `x` `(N, D)` and `dout` `(N, M)` with that shape is $x^T \text{dout}$.

    Implement `affine_forward` and `affine_backward`.
    """)
    c.tests("affine-tests", 3, fill(r'''
    from cs_convnet.layers import affine_backward, affine_forward

    x = np.linspace(-0.1, 0.5, num=2 * 4 * 5 * 6).reshape(2, 4, 5, 6)
    w = np.linspace(-0.2, 0.3, num=120 * 3).reshape(120, 3)
    b = np.linspace(-0.3, 0.1, num=3)
    with calling("affine_forward", x=x, w=w, b=b):
        out, _ = affine_forward(x, w, b)
    check_close("affine_forward output", out, <<EXPECTED>>,
                hint="reshape x to (N, D) with D = 4*5*6 before multiplying by w")

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((6, 4)), rng.standard_normal(4)
    dout = rng.standard_normal((5, 4))
    _, cache = affine_forward(x, w, b)
    with calling("affine_backward", dout=dout, x=x, w=w):
        dx, dw, db = affine_backward(dout, cache)
    check_gradient("dx", dx, eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout),
                   hint="dx = dout @ w.T, reshaped to x.shape")
    check_gradient("dw", dw, eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout),
                   hint="dw = x.reshape(N, D).T @ dout")
    check_gradient("db", db, eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout),
                   hint="db sums dout over the N examples")
    print("affine layer: forward and backward checks passed")
    ### BEGIN HIDDEN TESTS
    for xshape, M in [((1, 7), 2), ((3, 2, 2, 2), 5)]:
        D = int(np.prod(xshape[1:]))
        x, w, b = rng.standard_normal(xshape), rng.standard_normal((D, M)), rng.standard_normal(M)
        out, cache = affine_forward(x, w, b)
        check_close(f"hidden check: affine_forward output for a {x.shape} input", out, x.reshape(xshape[0], D) @ w + b,
                    hint="reshape x to (N, D) whatever its number of dimensions")
        dout = rng.standard_normal(out.shape)
        dx, dw, db = affine_backward(dout, cache)
        check_close(f"hidden check: affine_backward dx for a {x.shape} input", dx, (dout @ w.T).reshape(xshape),
                    hint="dx = dout @ w.T, reshaped to x.shape")
        check_close(f"hidden check: affine_backward dw for a {x.shape} input", dw, x.reshape(xshape[0], D).T @ dout,
                    hint="dw = x.reshape(N, D).T @ dout")
        check_close(f"hidden check: affine_backward db for a {x.shape} input", db, dout.sum(axis=0),
                    hint="db sums dout over the N examples")
    ### END HIDDEN TESTS
    ''', EXPECTED=literal(_affine_case())))

    c.md(r"""
    ## 2. ReLU

    The rectified linear unit $\max(0, x)$ is the non-linearity between affine
    layers; without one, a stack of affine layers would collapse into a single
    affine map. Its gradient is 1 where the **input** was positive and 0
    elsewhere, so the backward pass lets `dout` through where `x > 0` — a mask
    on the cached input, not on `dout`. Implement `relu_forward` and `relu_backward`.
    """)
    c.tests("relu-tests", 2, r'''
    from cs_convnet.layers import relu_backward, relu_forward

    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    with calling("relu_forward", x=x):
        out, _ = relu_forward(x)
    check_close("relu_forward output", out, np.where(x > 0, x, 0.0), hint="max(0, x) elementwise")

    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    dout = rng.standard_normal((4, 6))
    _, cache = relu_forward(x)
    dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
    with calling("relu_backward", dout=dout, x=x):
        dx = relu_backward(dout, cache)
    check_gradient("relu_backward dx", dx, dx_num,
                   hint="mask dout with x > 0, where x is the cached *input* (not dout > 0)")
    print("ReLU: forward and backward checks passed")
    ### BEGIN HIDDEN TESTS
    x = rng.standard_normal((2, 3, 4, 5))
    dout = rng.standard_normal(x.shape)
    out, cache = relu_forward(x)
    check_close(f"hidden check: relu_forward output for a {x.shape} input", out, np.maximum(x, 0),
                hint="max(0, x) elementwise, for inputs of any number of dimensions")
    check_close(f"hidden check: relu_backward dx for a {x.shape} input", relu_backward(dout, cache), dout * (x > 0),
                hint="mask dout with x > 0, for inputs of any number of dimensions")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 3. Loss functions: SVM and softmax

    Given class scores $s$ (one row per example) and the correct labels $y$:

    * the **multiclass SVM** loss wants the correct score to beat every other by a
      margin of 1: $L_i = \sum_{j \ne y_i} \max(0, s_j - s_{y_i} + 1)$;
    * the **softmax** (cross-entropy) loss reads the scores as unnormalized log
      probabilities: $L_i = -\log\big(e^{s_{y_i}} / \sum_j e^{s_j}\big)$.

    Both are averaged over the minibatch. Two sanity checks follow from the
    formulas: with small random scores, the SVM loss is close to $C - 1$ (every
    margin is about 1) and the softmax loss close to $\log C$ (every class has
    probability about $1/C$). Computing the softmax naively overflows for large
    scores — `np.exp(1000)` is `inf` — so subtract each row's maximum first: it
    cancels between numerator and denominator and changes nothing else.

    Implement `svm_loss` and `softmax_loss` (each returns the loss and its gradient).
    """)
    x_scores, y_scores = _scores()
    c.tests("loss-tests", 3, fill(r'''
    from cs_convnet.layers import softmax_loss, svm_loss

    x = np.linspace(-2.0, 3.0, num=5 * 4).reshape(5, 4) ** 2 / 3
    y = np.array([0, 3, 1, 2, 3])
    for name, loss_fn, expected in [("svm_loss", svm_loss, <<SVM>>), ("softmax_loss", softmax_loss, <<SOFTMAX>>)]:
        with calling(name, x=x, y=y):
            loss, dx = loss_fn(x, y)
        check_close(f"{name} value", loss, expected, hint="average over the N examples")
        dx_num = eval_numerical_gradient(lambda x: loss_fn(x, y)[0], x, verbose=False)
        check_gradient(f"{name} dx", dx, dx_num)

    rng = np.random.default_rng(2)
    small = 0.001 * rng.standard_normal((50, 10))
    labels = rng.integers(10, size=50)
    with calling("svm_loss", x=small, y=labels):
        small_svm = svm_loss(small, labels)[0]
    with calling("softmax_loss", x=small, y=labels):
        small_softmax = softmax_loss(small, labels)[0]
    assert abs(small_svm - 9) < 0.05, "svm_loss of tiny scores should be close to C - 1 = 9"
    assert abs(small_softmax - np.log(10)) < 0.05, "softmax_loss of tiny scores should be close to log(10)"
    big_loss, big_dx = softmax_loss(1000 * x, y)
    assert np.isfinite(big_loss) and np.all(np.isfinite(big_dx)), \
        "softmax_loss overflows on large scores: subtract each row's maximum before np.exp"
    print("losses: values, gradients and sanity checks passed")
    ### BEGIN HIDDEN TESTS
    x = rng.standard_normal((7, 3)) * 3
    y = rng.integers(3, size=7)
    for loss_fn in (svm_loss, softmax_loss):
        loss, dx = loss_fn(x, y)
        check_gradient(f"hidden check: {loss_fn.__name__} dx", dx,
                       eval_numerical_gradient(lambda x: loss_fn(x, y)[0], x, verbose=False))
    p = np.exp(x - x.max(axis=1, keepdims=True)); p /= p.sum(axis=1, keepdims=True)
    check_close("hidden check: softmax_loss value", softmax_loss(x, y)[0], -np.log(p[np.arange(7), y]).mean())
    m = np.maximum(0, x - x[np.arange(7), y][:, None] + 1); m[np.arange(7), y] = 0
    check_close("hidden check: svm_loss value", svm_loss(x, y)[0], m.sum() / 7)
    ### END HIDDEN TESTS
    ''', SVM=repr(svm_loss(x_scores, y_scores)[0]), SOFTMAX=repr(softmax_loss(x_scores, y_scores)[0])))

    c.md(r"""
    ## 4. Numerical gradient checking, and why *relative* error

    Every check above compares your analytic gradient with a **numerical** one,
    computed from the definition of the derivative with the *centred* difference

    $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h} .$$

    Its error shrinks like $h^2$, whereas the one-sided $(f(x + h) - f(x))/h$ is
    only accurate to order $h$. But $h$ cannot be made arbitrarily small:
    below about $10^{-5}$ the subtraction of two nearly equal floating-point
    numbers loses digits (round-off error grows like $\epsilon / h$). The plot
    shows both effects for $f = \sin$ at $x = 1$ in float64. It is also why
    gradient checks run in **float64**: in float32, $\epsilon \approx 10^{-7}$ and no
    $h$ gives more than a few correct digits.

    How to compare the two gradients? An absolute difference of $10^{-4}$ is
    negligible if the gradient is about $10^3$, and means everything is wrong if
    it is about $10^{-5}$. The **relative error**
    $|a - n| / \max(|a| + |n|, \cdot)$ is scale-free: with a correct
    implementation it is around $10^{-7}$ or smaller in float64; $10^{-2}$ or more
    means a bug. Kinks such as ReLU at 0 can produce an occasional larger error
    if $x \pm h$ straddles the kink.
    """)
    c.code(r'''
    hs = np.logspace(-14, -1, 60)
    exact = np.cos(1.0)
    one_sided = np.abs((np.sin(1.0 + hs) - np.sin(1.0)) / hs - exact)
    centred = np.abs((np.sin(1.0 + hs) - np.sin(1.0 - hs)) / (2 * hs) - exact)
    plt.loglog(hs, one_sided, label="one-sided (f(x+h) - f(x)) / h")
    plt.loglog(hs, centred, label="centred (f(x+h) - f(x-h)) / 2h")
    plt.axvline(1e-5, color="gray", ls=":", label="h = 1e-5, used by the checks")
    plt.xlabel("step h"); plt.ylabel("absolute error of the derivative of sin at 1")
    plt.legend(); plt.title("Truncation error (right) vs round-off error (left)")
    plt.show()
    ''')
    c.md(r"""
    **Inline question 1 (written, graded by hand).** Your gradient check of a
    layer reports a relative error of $3 \times 10^{-2}$ for one entry and below
    $10^{-8}$ for all the others. List two different explanations, and say how
    you would tell them apart.
    """)
    c.written("inline-gradcheck", 2, r"""
    (1) A kink: the entry's input sits within h of a non-differentiable point
    (ReLU at 0, the max of a pool or SVM margin at a tie), so the centred
    difference straddles the kink and the numerical gradient is wrong, not the
    code. (2) A real but localized bug, e.g. an off-by-one at the border
    (padding), an `=` instead of `+=` where windows overlap, or a wrong index
    for one class. To tell them apart: re-run with other random inputs or a
    smaller h (a kink moves or disappears, a bug stays at the same kind of
    position), and check whether the input at that entry is within h of a kink.
    """)

    c.md(r"""
    ## 5. Update rules

    Once we have gradients, training is repeated small steps against them. The
    `Solver` (provided, in `cs_convnet/solver.py`) runs the loop; the step itself is
    an **update rule** `next_w, config = rule(w, dw, config)` in `cs_convnet/optim.py`,
    where `config` carries the rule's state from one step to the next:

    * **SGD**: $w \leftarrow w - \eta\, dw$ (provided);
    * **momentum**: a velocity $v \leftarrow \mu v - \eta\, dw$, $w \leftarrow w + v$ —
      a ball rolling downhill, which keeps going along consistent directions and
      damps oscillations across a narrow valley;
    * **RMSProp**: divide each step by a running root mean square of that
      parameter's recent gradients, so steep and flat directions move at similar rates;
    * **Adam**: momentum plus RMSProp, with a bias correction because both running
      averages start at 0.

    Implement `sgd_momentum`, `rmsprop` and `adam`. Each check runs three steps
    and compares with the expected weights.
    """)
    expected = {rule: literal(_optim_case(rule, config)) for rule, config in OPTIM_CASES.items()}
    c.tests("optim-tests", 3, fill(r'''
    from cs_convnet import optim

    w0 = np.linspace(-0.4, 0.6, num=20).reshape(4, 5)
    dw0 = np.linspace(-0.6, 0.4, num=20).reshape(4, 5)
    cases = {"sgd_momentum": ({"learning_rate": 1e-1, "momentum": 0.9}, "v = momentum * v - learning_rate * dw; w = w + v"),
             "rmsprop": ({"learning_rate": 1e-2, "decay_rate": 0.99}, "keep cache in config and update it every step"),
             "adam": ({"learning_rate": 1e-2}, "increment t before the bias correction; the first step uses t = 1")}
    expected_w = {}
    expected_w["sgd_momentum"] = <<MOMENTUM>>
    expected_w["rmsprop"] = <<RMSPROP>>
    expected_w["adam"] = <<ADAM>>
    for rule, (config, hint) in cases.items():
        expected = expected_w[rule]
        w = w0.copy()
        for step in range(3):
            w, config = getattr(optim, rule)(w, dw0 * (1 + w), config)
        check_close(f"{rule}: w after 3 steps", w, expected, tol=1e-6, hint=hint)
    print("update rules: sgd_momentum, rmsprop and adam agree over three steps")
    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(11)
    w, dws = rng.standard_normal((3, 2)), rng.standard_normal((5, 3, 2))
    v, m, s, cache = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    wm, wr, wa = w.copy(), w.copy(), w.copy()
    cm, cr, ca = {"learning_rate": 0.05, "momentum": 0.5}, {"learning_rate": 0.01, "decay_rate": 0.9}, {"learning_rate": 0.02, "beta1": 0.8, "beta2": 0.95}
    for t, dw in enumerate(dws, start=1):
        wm_next, cm = optim.sgd_momentum(wm, dw, cm)
        v = 0.5 * v - 0.05 * dw; wm = wm + v
        check_close("hidden check: sgd_momentum after several steps", wm_next, wm,
                    hint="v = momentum * v - learning_rate * dw; w = w + v, with v kept in the config")
        wr_next, cr = optim.rmsprop(wr, dw, cr)
        cache = 0.9 * cache + 0.1 * dw ** 2; wr = wr - 0.01 * dw / (np.sqrt(cache) + 1e-8)
        check_close("hidden check: rmsprop after several steps", wr_next, wr,
                    hint="the running cache of squared gradients is kept in the config between steps")
        wa_next, ca = optim.adam(wa, dw, ca)
        m = 0.8 * m + 0.2 * dw; s = 0.95 * s + 0.05 * dw ** 2
        wa = wa - 0.02 * (m / (1 - 0.8 ** t)) / (np.sqrt(s / (1 - 0.95 ** t)) + 1e-8)
        check_close("hidden check: adam after several steps", wa_next, wa,
                    hint="m and v are kept in the config; bias-correct with 1 - beta**t, t counting from 1")
    ### END HIDDEN TESTS
    ''', MOMENTUM=expected["sgd_momentum"], RMSPROP=expected["rmsprop"], ADAM=expected["adam"]))

    c.md(r"""
    ## 6. A fully-connected network

    `FullyConnectedNet` in `cs_convnet/classifiers/fc_net.py` stacks
    `{affine - relu} x (L - 1) - affine - softmax`. Its `loss(X, y)` runs the
    forward pass, computes the softmax loss plus the L2 regularization
    $\tfrac{1}{2}\lambda \sum W^2$ over every weight matrix, and then the backward pass
    in reverse order, returning `loss, grads` (and only the scores when `y` is
    None). Implement its loss and check it here: with small random weights the
    initial loss is close to $\log 10 \approx 2.3$, and the gradients of every
    parameter agree with numerical ones, with and without regularization.
    """)
    c.tests("fcnet-tests", 4, r'''
    from cs_convnet.classifiers.fc_net import FullyConnectedNet

    rng = np.random.default_rng(3)
    N, D, C = 3, 7, 10
    X, y = rng.standard_normal((N, D)), rng.integers(C, size=N)
    model = FullyConnectedNet([8, 6], input_dim=D, num_classes=C, weight_scale=1e-3, dtype=np.float64, seed=0)
    with calling("FullyConnectedNet.loss", X=X, y=y):
        loss, _ = model.loss(X, y)
    assert abs(loss - np.log(C)) < 0.1, \
        f"initial loss {loss:.4f} is not close to log(10) = {np.log(C):.4f}: check the softmax and the forward pass"
    for reg in [0.0, 3.14]:
        model = FullyConnectedNet([8, 6], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
                                  dtype=np.float64, seed=1)
        loss, grads = model.loss(X, y)
        for name in sorted(model.params):
            numeric = numerical_param_gradient(model, name, X, y)
            # A whole network accumulates more round-off than one layer: tolerance 1e-5.
            check_gradient(f"grads[{name!r}] with reg={reg}", grads[name], numeric, tol=1e-5,
                           hint="with reg > 0, add reg * W to each weight gradient" if reg else "")
    print("FullyConnectedNet: initial loss and gradients check passed")
    ### BEGIN HIDDEN TESTS
    X, y = rng.standard_normal((2, 4, 1, 2)), rng.integers(4, size=2)
    model = FullyConnectedNet([5], input_dim=8, num_classes=4, reg=0.7, weight_scale=1e-1, dtype=np.float64, seed=2)
    loss, grads = model.loss(X, y)
    for name in sorted(model.params):
        numeric = numerical_param_gradient(model, name, X, y)
        check_gradient(f"hidden check: FullyConnectedNet gradient {name} (with regularisation)", grads[name], numeric,
                       tol=1e-5, hint="add reg * W to each weight's gradient (the loss adds 0.5 * reg * sum(W**2))")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 7. Overfit a small dataset: the first sanity check of any training setup

    Before spending hours on a real training run, make sure the network *can*
    learn: on a tiny training set — here 50 examples with random labels — a
    network with enough capacity should reach 100% training accuracy within a
    few dozen epochs. If it cannot, there is a bug (a wrong gradient, a
    learning rate far off, the data shuffled apart from the labels) and no
    amount of tuning on the full dataset will help.
    """)
    c.tests("overfit-tests", 2, r'''
    from cs_convnet.classifiers.fc_net import FullyConnectedNet
    from cs_convnet.solver import Solver

    rng = np.random.default_rng(4)
    small = {"X_train": rng.standard_normal((50, 3, 4, 4)), "y_train": rng.integers(10, size=50)}
    small["X_val"], small["y_val"] = small["X_train"][:10], small["y_train"][:10]
    model = FullyConnectedNet([100, 100], input_dim=48, num_classes=10, weight_scale=1e-1, seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 5e-3},
                    num_epochs=40, batch_size=25, verbose=False, progress=False, seed=0)
    solver.train()
    final = solver.train_acc_history[-1]
    assert final == 1.0, (f"training accuracy on 50 examples reached only {final:.0%} after 40 epochs; "
                          "check the backward pass of the network and the adam update")
    print("the network overfits 50 examples: training accuracy 100%")
    ### BEGIN HIDDEN TESTS
    model = FullyConnectedNet([60], input_dim=48, num_classes=10, weight_scale=1e-1, seed=1)
    solver = Solver(model, small, update_rule="sgd_momentum", optim_config={"learning_rate": 5e-2},
                    num_epochs=40, batch_size=10, verbose=False, progress=False, seed=1)
    solver.train()
    assert solver.train_acc_history[-1] >= 0.9, (
        f"hidden check: a second network (other width and seed) reached only {solver.train_acc_history[-1]:.0%} "
        f"training accuracy on the small set, expected at least 90%: check the updates with other learning rates "
        f"and weight scales")
    ### END HIDDEN TESTS
    ''')

    c.md(r"""
    ## 8. Comparing the update rules

    The same network, the same data, four update rules. With a sensible
    learning rate each, momentum, RMSProp and Adam usually bring the loss down
    much faster than plain SGD. (The data are synthetic — points in 3 clusters
    per class — so that this notebook runs without CIFAR-10.)
    """)
    c.code(r'''
    from cs_convnet.classifiers.fc_net import FullyConnectedNet
    from cs_convnet.solver import Solver

    rng = np.random.default_rng(5)
    centres = rng.standard_normal((30, 20)) * 2
    labels = rng.integers(30, size=2000)
    blobs = {"X_train": centres[labels] + rng.standard_normal((2000, 20)), "y_train": labels % 10}
    blobs["X_val"], blobs["y_val"] = blobs["X_train"][:200], blobs["y_train"][:200]
    epochs = 1 if QUICK else 5
    rates = {"sgd": 1e-1, "sgd_momentum": 2e-2, "rmsprop": 1e-3, "adam": 1e-3}
    for rule, rate in rates.items():
        model = FullyConnectedNet([50, 50], input_dim=20, weight_scale=5e-2, seed=0)
        solver = Solver(model, blobs, update_rule=rule, optim_config={"learning_rate": rate}, num_epochs=epochs,
                        batch_size=50, verbose=False, progress=False, seed=0)
        solver.train()
        plt.plot(solver.loss_history, label=f"{rule} (lr {rate:g})", alpha=0.8)
    plt.xlabel("iteration"); plt.ylabel("training loss"); plt.legend(); plt.title("Update rules compared")
    plt.show()
    ''')
    return c.cells
