"""Tests of cs_convnet.gradient_check: the numerical gradients and rel_error that every
other test relies on."""

import inspect
import re

import numpy as np
import pytest

from cs_convnet import gradient_check
from cs_convnet.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)
from support.api import public_functions, undocumented_shapes


def test_rel_error_values():
    """Is rel_error max |x - y| / max(1e-8, |x| + |y|), elementwise?"""
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 100.0]), np.array([1.0, 101.0])) == pytest.approx(1 / 201)
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.full(3, 1e-10)) == pytest.approx(1e-2)  # the 1e-8 floor
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0
    with pytest.raises(ValueError, match=r"rel_error needs arrays of one shape, got \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_quadratic(capsys):
    """Is the numerical gradient of sum(x**2 * c) equal to 2 c x, quietly, leaving x unchanged?"""
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x_before = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 2 * c), x, verbose=False)
    assert rel_error(grad, 2 * c * x) < 1e-8
    assert np.array_equal(x, x_before)
    assert capsys.readouterr().out == ""


def test_numerical_gradient_verbose_prints_each_entry(capsys):
    eval_numerical_gradient(lambda v: float(np.sum(v)), np.zeros(3))
    assert capsys.readouterr().out.count("\n") == 3


def test_numerical_gradient_of_an_array_function():
    """Is the gradient of sum(f(x) * df) for elementwise f = sin equal to cos(x) * df?"""
    rng = np.random.default_rng(1)
    x, df = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    grad = eval_numerical_gradient_array(np.sin, x, df)
    assert rel_error(grad, np.cos(x) * df) < 1e-8


def test_array_function_returning_its_input():
    """If f returns x itself (like test-mode dropout), is the gradient still df?

    The result must be copied before x is restored, or both differences read the
    restored x and the gradient comes out as zero."""
    df = np.arange(1.0, 7.0).reshape(2, 3)
    grad = eval_numerical_gradient_array(lambda v: v, np.ones((2, 3)), df)
    np.testing.assert_allclose(grad, df, rtol=1e-9)
    grad = eval_numerical_gradient_array(lambda v: v[:, ::-1], np.ones((2, 3)), df)  # a view
    np.testing.assert_allclose(grad, df[:, ::-1], rtol=1e-9)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"x must be a floating-point numpy array.*got int64"):
        eval_numerical_gradient(lambda v: 0.0, np.zeros(3, dtype=np.int64), verbose=False)
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writeable"):
        eval_numerical_gradient_array(lambda v: v, frozen, np.ones(3))
    with pytest.raises(ValueError, match=r"f must return a scalar, got an array of shape \(3,\)"):
        eval_numerical_gradient(lambda v: v * 2, np.zeros(3), verbose=False)
    with pytest.raises(ValueError, match=r"f\(x\) has shape \(3,\) but the upstream gradient df has shape \(2,\)"):
        eval_numerical_gradient_array(lambda v: v, np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match=r"analytic_grad has shape \(2,\) but x has shape \(3,\)"):
        grad_check_sparse(lambda v: 0.0, np.zeros(3), np.zeros(2), verbose=False)


@pytest.mark.parametrize("h", [0, -1e-5, float("nan"), "1e-5"], ids=["zero", "negative", "nan", "string"])
def test_a_step_that_is_not_a_positive_number_is_refused(h):
    """Is h = 0 (a division by zero), a negative or a non-numeric step refused, naming h?"""
    message = rf"h is the step of the centred difference and must be a finite number > 0, got {h!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        eval_numerical_gradient(lambda v: 0.0, np.zeros(3), verbose=False, h=h)
    with pytest.raises(ValueError, match=re.escape(message)):
        eval_numerical_gradient_array(lambda v: v, np.zeros(3), np.ones(3), h=h)
    with pytest.raises(ValueError, match=re.escape(message)):
        grad_check_sparse(lambda v: 0.0, np.zeros(3), np.zeros(3), h=h, verbose=False)


def test_grad_check_sparse_tells_right_from_wrong(capsys):
    """Does grad_check_sparse report tiny errors for a right gradient and large ones for a wrong one,
    reproducibly with a seed?"""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6))
    f = lambda v: float(np.sum(np.exp(v)))  # noqa: E731
    right = grad_check_sparse(f, x, np.exp(x), num_checks=8, seed=0, verbose=False)
    wrong = grad_check_sparse(f, x, 1.1 * np.exp(x), num_checks=8, seed=0, verbose=False)
    assert len(right) == 8 and max(right) < 1e-8
    assert min(wrong) > 1e-2
    assert grad_check_sparse(f, x, np.exp(x), num_checks=8, seed=0, verbose=False) == right
    assert capsys.readouterr().out == ""
    grad_check_sparse(f, x, np.exp(x), num_checks=2, seed=0)
    assert capsys.readouterr().out.count("relative error") == 2


def test_cs231n_signatures_and_documented_shapes():
    """Are the helpers CS231n's, with its defaults (h = 1e-5, verbose on), and are their shapes documented?"""
    expected = {
        "eval_numerical_gradient": "(f, x, verbose=True, h=1e-05)",
        "eval_numerical_gradient_array": "(f, x, df, h=1e-05)",
        "grad_check_sparse": "(f, x, analytic_grad, num_checks=10, h=1e-05, seed=None, verbose=True)",
        "rel_error": "(x, y)",
    }
    functions = public_functions(gradient_check)
    assert sorted(functions) == sorted(expected)
    for name, signature in expected.items():
        assert str(inspect.signature(functions[name])) == signature, name
        assert undocumented_shapes(functions[name]) == [], name
