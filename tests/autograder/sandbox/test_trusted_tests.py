"""The wire between the trusted grader and the guest in the learner's kernel, in one process.

The guest (:mod:`autograder.sandbox.notebook_guest`) answers from a namespace that
stands for the learner's notebook; the trusted side (:mod:`autograder.sandbox.trusted_tests`)
must accept plain data of exact types only, keep everything else a handle that
refuses to be compared or converted, and use its own copy of library modules.
End to end through nbgrader and real kernels: tests/autograder/qa/test_forgery.py.
"""

import sys
import types

import numpy as np
import pytest

from autograder.sandbox import notebook_guest, trusted_tests
from autograder.sandbox.trusted_tests import NotPlainData, Remote


@pytest.fixture
def learner(monkeypatch):
    """``(namespace, link)``: the learner's notebook namespace and a link whose requests reach it."""
    namespace = {}
    monkeypatch.setattr(notebook_guest, "_namespace", lambda: namespace)

    def run_code(code, timeout):
        raise AssertionError("every request goes through the channel here")

    def send(data, timeout):
        reply = notebook_guest.answer(data["request"], data["nonce"])
        return [{"output_type": "display_data", "data": {notebook_guest.REPLY_MIME: reply}}]

    link = trusted_tests.KernelLink(run_code, budget=30, channel=types.SimpleNamespace(open=None, send=send))
    link.installed = link.channel_open = True   # the guest is this process's module: nothing to install
    link.start_cell()
    return namespace, link


def _fetch(link, namespace, name, value):
    namespace[name] = value
    found, got = link.get_name(name)
    assert found
    return got


@pytest.mark.parametrize("value", [None, True, 3, -2.5, "text", (1, 2.0), [1, [2, "x"]], {"a": (1, None), 2: 3.5},
                                   np.float32(1.5), np.int64(7)], ids=repr)
def test_plain_values_arrive_with_their_exact_types(learner, value):
    """Does plain data arrive equal and of exactly the same types, containers included?"""
    namespace, link = learner
    got = _fetch(link, namespace, "answer", value)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.complex128])
def test_arrays_arrive_as_copies_of_the_same_dtype_and_shape(learner, dtype):
    """Does a numeric array (non-contiguous too) arrive as a plain ndarray with the same values?"""
    namespace, link = learner
    array = np.arange(24, dtype=dtype).reshape(2, 3, 4)[:, ::2, 1:]
    got = _fetch(link, namespace, "x", array)
    assert type(got) is np.ndarray and got.dtype == array.dtype and np.array_equal(got, array)


@pytest.mark.parametrize("value", [np.float64, np.dtype("float32"), np.int32], ids=str)
def test_numeric_dtypes_travel_both_ways(learner, value):
    """Do ``dtype=`` arguments (a numpy scalar type or a dtype) arrive and leave as themselves?"""
    namespace, link = learner
    assert _fetch(link, namespace, "dtype", value) == value
    namespace["echo"] = lambda dtype: (dtype, isinstance(dtype, type))
    echo = _fetch(link, namespace, "echo", namespace["echo"])
    assert echo(value) == (value, isinstance(value, type))


class _AlwaysEqualInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class _LyingFloat(float):
    __class__ = property(lambda self: int)

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class _AlwaysEqualArray(np.ndarray):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value, refused", [
    (_AlwaysEqualInt(0), "a subclass of int"),
    (_LyingFloat(0.0), "a subclass of float"),
    ((1, _AlwaysEqualInt(2)), "a subclass of int"),
    ({"k": [_AlwaysEqualInt(1)]}, "a subclass of int"),
    (np.zeros(3).view(_AlwaysEqualArray), "a subclass of ndarray"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.array([object()], dtype=object), "dtype object"),
], ids=["int subclass", "float claiming int", "in a tuple", "in a dict", "ndarray subclass", "str array",
        "object array"])
def test_subclasses_and_non_numeric_arrays_are_refused(learner, value, refused):
    """Is a lying subclass (or an array that is not numeric) refused with a message naming it?"""
    namespace, link = learner
    namespace["answer"] = value
    with pytest.raises(NotPlainData, match=refused):
        link.get_name("answer")


def test_objects_stay_handles_that_refuse_comparison_and_conversion(learner):
    """Can a handle be called and looked into, but never compared, tested for truth or converted?"""
    namespace, link = learner

    class Liar:
        def __eq__(self, other):
            return True

        def __bool__(self):
            return True

        def __float__(self):
            return 1.0

        def __array__(self, dtype=None, copy=None):
            return np.ones(1)

        size = 3

    liar = _fetch(link, namespace, "liar", Liar())
    assert isinstance(liar, Remote) and liar.size == 3
    for use in (lambda: liar == 1, lambda: bool(liar), lambda: float(liar), lambda: np.asarray(liar),
                lambda: np.allclose(liar, 1.0), lambda: liar < 1):
        with pytest.raises(NotPlainData, match="cannot be compared or converted"):
            use()


def test_learner_functions_run_in_the_kernel_on_plain_data(learner):
    """Does a call send plain inputs, return plain outputs and show what the function wrote into its input?"""
    namespace, link = learner

    def scale(x, factor=2.0):
        x *= factor   # in place
        return x.sum(), {"shape": x.shape}

    namespace["scale"] = scale
    scale_remote = _fetch(link, namespace, "scale", scale)
    x = np.ones((2, 2))
    total, info = scale_remote(x, factor=3.0)
    assert (total, info) == (12.0, {"shape": (2, 2)}) and np.array_equal(x, np.full((2, 2), 3.0))


@pytest.mark.parametrize("raised, seen", [(ValueError("bad pad"), ValueError), (SystemExit(0), trusted_tests.LearnerError),
                                          (KeyboardInterrupt(), trusted_tests.LearnerError)])
def test_learner_exceptions_come_back_as_exceptions_that_cannot_stop_the_grader(learner, raised, seen):
    """Is a builtin ``Exception`` rebuilt, and anything else (SystemExit too) a plain LearnerError?"""
    namespace, link = learner

    def fails():
        raise raised

    remote = _fetch(link, namespace, "fails", fails)
    with pytest.raises(seen) as caught:
        remote()
    assert type(caught.value) is seen


def test_library_modules_are_the_graders_own(learner, monkeypatch):
    """Is ``np`` from the learner's namespace the grader's numpy, even if the learner replaced it,
    while a module outside the libraries (cs_convnet, autograder) stays a handle?"""
    namespace, link = learner
    fake_numpy = types.ModuleType("numpy")
    fake_numpy.allclose = lambda *a, **k: True
    assert _fetch(link, namespace, "np", fake_numpy) is np
    assert _fetch(link, namespace, "linalg", types.ModuleType("numpy.linalg")) is np.linalg
    reference = types.ModuleType("autograder.checks.oracle")   # a learner naming a module after the grader's
    assert isinstance(_fetch(link, namespace, "layers", reference), Remote)
    assert "autograder.checks.oracle" not in sys.modules or sys.modules["autograder.checks.oracle"] is not reference


def test_a_test_cell_is_scored_here_whatever_the_kernel_rebinds(learner):
    """Does a test cell fail on wrong work although the kernel rebound numpy's and the test's helpers?"""
    namespace, link = learner
    space = trusted_tests.TrustedNamespace(link)
    trusted_tests.run_trusted(space, "import numpy as np\n"
                                     "def check_close(got, expected):\n"
                                     "    assert np.allclose(got, expected), f'{got} != {expected}'\n", "helpers")
    namespace.update(check_close=lambda *a, **k: None, np=types.SimpleNamespace(allclose=lambda *a, **k: True),
                     square=lambda x: _AlwaysEqualInt(0), cube=lambda x: x ** 2)
    link.start_cell()
    refused = trusted_tests.evaluate_cell(space, "check_close(square(3), 9)", "square-tests")
    assert not refused.passed and refused.ename == "NotPlainData" and "a subclass of int" in refused.evalue
    wrong = trusted_tests.evaluate_cell(space, "check_close(cube(2.0), 8.0)", "cube-tests")
    assert not wrong.passed and wrong.ename == "AssertionError" and "4.0 != 8.0" in wrong.evalue
    namespace["cube"] = lambda x: x ** 3
    assert trusted_tests.evaluate_cell(space, "check_close(cube(2.0), 8.0)", "cube-tests").passed
