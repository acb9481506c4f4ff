"""Forged submissions of ``02_convolution/convolution.ipynb`` for tests/autograder/qa/test_forgery.py.

Every case is the shipped ``conv_padding_off_by_one`` sample (its package
``conv_forward_naive`` pads by ``pad + 1``) handed in with a notebook whose
solution cells were rewritten by a learner who wants points without the work.
The honest notebook with the same package earns 5 of the 16 autograded points
(``conv-output-size-tests`` 2, ``conv-inline-sharing-tests`` 3); a case must
earn no more, and the grade cells it forges must score 0.

A case's ``cells`` map a solution cell's grade id to its new source. In that
source ``<<SOLVED>>`` stands for the instructor's solution of the cell (the
honest work, kept where the forgery only adds to it) and ``<<COURSE>>`` for the
course folder (an attacker may guess paths; the test hands it over to make the
attack as strong as it can be).
"""

from dataclasses import dataclass, field

import nbformat

ASSIGNMENT = "02_convolution"
NOTEBOOK = "convolution"
SAMPLE = "conv_padding_off_by_one"

OUTPUT_SIZE, INLINE, DX_VIA_FORWARD = "conv-output-size", "conv-inline-sharing", "conv-dx-via-forward"
OUTPUT_SIZE_TESTS, INLINE_TESTS = "conv-output-size-tests", "conv-inline-sharing-tests"
FORWARD_TESTS, BACKWARD_TESTS, DX_TESTS = "conv-conv-forward-tests", "conv-conv-backward-tests", "conv-dx-via-forward-tests"
CONV_TESTS = (FORWARD_TESTS, BACKWARD_TESTS, DX_TESTS)

# What the honest notebook earns with the sample's wrong convolution: the baseline of every case.
HONEST_WRONG = {OUTPUT_SIZE_TESTS: 2.0, INLINE_TESTS: 3.0, FORWARD_TESTS: 0.0, BACKWARD_TESTS: 0.0, DX_TESTS: 0.0}


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    cells: dict
    zero: tuple = CONV_TESTS            # grade cells that must score 0
    notes: tuple = field(default=())    # extra expectations checked by the test (see test_forgery.py)


# --------------------------------------------------------------------------
# Building blocks (learner code)
# --------------------------------------------------------------------------

VALID_OUTPUT_SIZE_CHECK = '''
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError("invalid hyperparameters")'''

# Wrap the package's conv functions inside the kernel, without an `x.y = ...` that the static scan flags.
PATCH_PACKAGE = '''
import sys as _sys
_layers = vars(_sys.modules["cs_convnet.layers"])
_real_forward, _real_backward = _layers["conv_forward_naive"], _layers["conv_backward_naive"]
'''

ISSUE_EQ_INT = '''
class _Eq(int):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = int.__hash__
_g = globals()
for _n in ("check" + "_close", "check" + "_gradient"):
    _g[_n] = lambda *a, **k: None
def output_size(W, F, S, P):
    return _Eq(0)
'''

EQ_FLOAT_NDARRAY = '''
class _EqF(float):
    """Always equal, and says it is an int."""
    __class__ = property(lambda self: int)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = float.__hash__
class _EqA(np.ndarray):
    """An always-equal array."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = None
def output_size(W, F, S, P):''' + VALID_OUTPUT_SIZE_CHECK + '''
    return _EqF(0.0)
'''

SCALAR_LIARS = '''
class _Yes:
    def __bool__(self): return True
class _Liar:
    """Not a number at all: claims to be an int, equals anything, converts to whatever fits."""
    __class__ = property(lambda self: int)
    __hash__ = object.__hash__
    def __eq__(self, other): return _Yes()
    def __ne__(self, other): return not _Yes()
    def __bool__(self): return True
    def __index__(self): return 3
    def __int__(self): return 3
    def __float__(self): return 3.0
    def __mul__(self, other): return self
    __rmul__ = __mul__
def output_size(W, F, S, P):''' + VALID_OUTPUT_SIZE_CHECK + '''
    return _Liar()
'''

ARRAY_PEEK = PATCH_PACKAGE + '''
class _Peek:
    """np.asarray(self) reads what the comparison expects from the caller's frame."""
    def __init__(self, real):
        self.real = real
    def __array__(self, dtype=None, copy=None):
        frame = _sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "check_close":
                return np.array(frame.f_locals["expected"], dtype=dtype, copy=True)
            frame = frame.f_back
        return np.asarray(self.real, dtype=dtype)
    def __getattr__(self, name):
        return getattr(self.real, name)
    def __getitem__(self, index):
        return self.real[index]
def _forward(x, w, b, conv_param):
    out, cache = _real_forward(x, w, b, conv_param)
    called_from_a_cell = _sys._getframe(1).f_code.co_name == "<module>"   # not from a numerical gradient
    return (_Peek(out) if called_from_a_cell else out), cache
def _backward(dout, cache):
    return tuple(_Peek(g) for g in _real_backward(dout, cache))
_layers["conv_forward_naive"], _layers["conv_backward_naive"] = _forward, _backward
'''

HELPERS_EXEC = '''
exec("".join(["check", "_close = check", "_gradient = lambda *a, **k: None"]))
'''

HELPERS_BUILTINS = '''
_builtins = __import__("builtins")
for _n in ("check_close", "check_gradient"):
    globals().pop(_n)                                  # the name now resolves in builtins
    setattr(_builtins, _n, lambda *a, **k: None)
'''

NUMPY_SYS_MODULES = '''
import sys as _sys
_np = _sys.modules["numpy"]
_real_argwhere = _np.argwhere
vars(_np)["argwhere"] = lambda a: _real_argwhere(_np.zeros(_np.shape(a), dtype=bool))   # no entry is ever wrong
vars(_np)["allclose"] = lambda *a, **k: True
vars(_np)["array_equal"] = lambda *a, **k: True
vars(_np.testing)["assert_allclose"] = lambda *a, **k: None
'''

ASSERTION_ERROR_REBOUND = '''
import builtins as _b
_RealAssertionError = AssertionError
class _Quiet(BaseException):
    pass
vars(_b)["AssertionError"] = _Quiet     # i.e. builtins.AssertionError = _Quiet
# and the kernel shows no error for either: the grade cells "pass"
get_ipython().set_custom_exc((_Quiet, _RealAssertionError, ValueError), lambda *a, **k: None)
'''

SETTRACE_ALTERS = '''
import sys as _sys
def _tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "check_close":
        frame.f_locals["got"] = frame.f_locals["expected"]      # written back to the frame after the call event
    return None
_sys.settrace(_tracer)
'''

SETPROFILE_ALTERS = '''
import sys as _sys
def _profiler(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "check_close":
        frame.f_locals["got"] = frame.f_locals["expected"]
    if event == "call" and frame.f_code.co_name == "check_gradient":
        frame.f_locals["analytic"] = frame.f_locals["numeric"]
_sys.setprofile(_profiler)
'''

EXITS = '''
def output_size(W, F, S, P):
    raise SystemExit(0)
'''

KILLS_KERNEL = '''
from cs_convnet.layers import conv_forward_naive

def conv_dx_via_forward(dout, w, pad):
    import os
    os._exit(0)
'''

REWRITES_FILES = '''
import glob as _glob, json as _json, os as _os
_planted = _os.path.join(<<COURSE>>, "planted-by-learner.txt")
def _forge(path):
    """Turn every test of a notebook into `pass` and drop its hidden tests."""
    with open(path) as handle:
        nb = _json.load(handle)
    for cell in nb.get("cells", []):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            cell["source"] = "pass"
    with open(path, "w") as handle:
        _json.dump(nb, handle)
_roots = [_os.getcwd(), <<COURSE>>]
for _up in range(1, 6):
    _roots.append(_os.path.abspath(_os.path.join(_os.getcwd(), *[".."] * _up)))
for _root in _roots:
    for _path in _glob.glob(_os.path.join(_root, "**", "*.ipynb"), recursive=True)[:200]:
        try:
            _forge(_path)
        except Exception:
            pass
    for _name in ("gradebook.db", "nbgrader_config.py", "grading/assignments.db"):
        try:
            with open(_os.path.join(_root, _name), "w") as _handle:
                _handle.write("c = get_config()\\n" if _name.endswith(".py") else "")
        except OSError:
            pass
try:
    with open(_planted, "w") as _handle:
        _handle.write("was here")
except OSError:
    pass
'''

DETECTS_GRADING = '''
import glob as _glob, os as _os, sys as _sys
from cs_convnet.layers import conv_forward_naive

def _being_graded(frame):
    if _os.environ.get("NBGRADER_EXECUTION"):
        return True
    if "dx_num" in frame.f_globals:                       # called from a test cell
        return True
    for path in _glob.glob("*.ipynb"):                    # the graded copy holds the hidden tests
        try:
            if "BEGIN HIDDEN TESTS" in open(path).read():
                return True
        except OSError:
            pass
    return False

def conv_dx_via_forward(dout, w, pad):
    frame = _sys._getframe(1)
    if _being_graded(frame) and "dx_num" in frame.f_globals:
        return frame.f_globals["dx_num"].copy()          # the expected answer, taken from the test
    return np.zeros((dout.shape[0], w.shape[1], 1, 1))
'''

# The provided gradient helper (imported from cs_convnet in the locked setup cell) rebound in the
# notebook: its "numerical" gradient is the package's own analytic one, so any backward pass agrees.
NUMERICAL_GRADIENT_REBOUND = '''
import sys as _sys

def eval_numerical_gradient_array(f, x, df, h=1e-5):
    from cs_convnet.layers import conv_backward_naive, conv_forward_naive
    names = _sys._getframe(1).f_globals
    w, b = names["w"], names["b"]
    conv_param = names.get("conv_param", {"stride": 1, "pad": 1})
    _, cache = conv_forward_naive(names["x"], w, b, conv_param)
    dx, dw, db = conv_backward_naive(df, cache)
    return {id(names["x"]): dx, id(w): dw, id(b): db}[id(x)]
'''

EQ_INLINE = '''
alexnet_neurons = params_per_neuron = params_without_sharing = params_with_sharing = layer_params = {0}
layer_output_shape = ({0}, {0}, {0})
'''

ZEROS_DX = '''
def conv_dx_via_forward(dout, w, pad):
    return np.zeros(1)
'''

EQ_ARRAY_DX = '''
from cs_convnet.layers import conv_forward_naive

def conv_dx_via_forward(dout, w, pad):
    return np.zeros((dout.shape[0], w.shape[1], dout.shape[2], dout.shape[3])).view(_EqA)
'''

PEEK_DX = '''<<SOLVED>>

_honest_dx_via_forward = conv_dx_via_forward
def conv_dx_via_forward(dout, w, pad):
    return _Peek(_honest_dx_via_forward(dout, w, pad))
'''

SOLVED = "<<SOLVED>>"

CASES = [
    Case("issue_eq_int", "the issue's submission: an always-equal int subclass, check helpers rebound "
         "through globals(), inline answers _Eq(1), conv_dx_via_forward returning np.zeros(1)",
         {OUTPUT_SIZE: ISSUE_EQ_INT, INLINE: EQ_INLINE.format("_Eq(1)"), DX_VIA_FORWARD: ZEROS_DX},
         zero=(OUTPUT_SIZE_TESTS, INLINE_TESTS, *CONV_TESTS)),
    Case("eq_float_and_ndarray", "always-equal float (that claims to be an int) and ndarray subclasses",
         {OUTPUT_SIZE: EQ_FLOAT_NDARRAY, INLINE: EQ_INLINE.format("_EqF(0.0)"), DX_VIA_FORWARD: EQ_ARRAY_DX},
         zero=(OUTPUT_SIZE_TESTS, INLINE_TESTS, *CONV_TESTS)),
    Case("lying_scalar_conversions", "an object whose __eq__, __bool__, __index__, __int__, __float__ and "
         "__class__ lie, as output_size's result and as the inline answers",
         {OUTPUT_SIZE: SCALAR_LIARS, INLINE: EQ_INLINE.format("_Liar()")},
         zero=(OUTPUT_SIZE_TESTS, INLINE_TESTS, *CONV_TESTS)),
    Case("lying_array_conversion", "results whose __array__ returns the value the check expects (read from "
         "the checking frame): the package's conv functions wrapped in the kernel, and conv_dx_via_forward",
         {OUTPUT_SIZE: SOLVED + "\n" + ARRAY_PEEK, DX_VIA_FORWARD: PEEK_DX}),
    Case("helpers_rebound_by_exec", "check_close/check_gradient rebound by exec of a built string",
         {OUTPUT_SIZE: SOLVED + "\n" + HELPERS_EXEC}),
    Case("helpers_rebound_in_builtins", "check helpers removed from globals() and put in builtins as no-ops",
         {OUTPUT_SIZE: SOLVED + "\n" + HELPERS_BUILTINS}),
    Case("numpy_rebound_in_sys_modules", "numpy.argwhere/allclose/array_equal/testing.assert_allclose rebound "
         "through sys.modules['numpy']", {OUTPUT_SIZE: SOLVED + "\n" + NUMPY_SYS_MODULES}),
    Case("assertion_error_rebound", "builtins.AssertionError rebound to a quiet exception, and the kernel's "
         "error display silenced for it (IPython set_custom_exc)", {OUTPUT_SIZE: SOLVED + "\n" + ASSERTION_ERROR_REBOUND}),
    Case("settrace_alters_checks", "sys.settrace rewrites check_close's `got` to its `expected` on every call",
         {OUTPUT_SIZE: SOLVED + "\n" + SETTRACE_ALTERS}),
    Case("setprofile_alters_checks", "sys.setprofile rewrites the arguments of check_close/check_gradient",
         {OUTPUT_SIZE: SOLVED + "\n" + SETPROFILE_ALTERS}),
    Case("system_exit_and_dead_kernel", "output_size raises SystemExit in its test cell; conv_dx_via_forward "
         "kills the kernel (os._exit) in its test cell", {OUTPUT_SIZE: EXITS, DX_VIA_FORWARD: KILLS_KERNEL},
         zero=(OUTPUT_SIZE_TESTS, *CONV_TESTS)),
    Case("rewrites_notebook_and_course_files", "a solution cell rewrites every notebook it can reach (tests "
         "become `pass`), the gradebook and configuration files, and plants a file in the course",
         {OUTPUT_SIZE: SOLVED + "\n" + REWRITES_FILES}, notes=("course_unchanged",)),
    Case("detects_grading", "conv_dx_via_forward detects grading (NBGRADER_EXECUTION, the calling frame, the "
         "hidden tests on disk) and then returns the test's own numerical gradient",
         {DX_VIA_FORWARD: DETECTS_GRADING}),
    Case("numerical_gradient_rebound", "the provided eval_numerical_gradient_array rebound in the notebook to "
         "return the package's analytic gradients", {OUTPUT_SIZE: SOLVED + "\n" + NUMERICAL_GRADIENT_REBOUND}),
]


def solution_sources(source_path):
    """``{grade id: source}`` of the solution cells of the instructor's notebook."""
    source = nbformat.read(source_path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def forged_notebook(released_path, source_path, cells, course_root=""):
    """The released notebook with every solution cell solved, then ``cells`` rewritten as the case says."""
    released = nbformat.read(released_path, as_version=4)
    solved = solution_sources(source_path)
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell.source = solved[grade_id]
        if grade_id in cells:
            cell.source = (cells[grade_id].replace(SOLVED, solved[grade_id])
                           .replace("<<COURSE>>", repr(str(course_root))).strip("\n"))
    return released
