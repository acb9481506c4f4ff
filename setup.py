"""Build of cs_convnet: the pure-Python package plus the optional Cython fast paths.

The extensions in cython_ext/ are compiled when a C compiler is available.
Without one the build warns and still installs a working package, whose fast
layers then run on the vectorised numpy backend (see cs_convnet.fast_layers).
"""

import os
import sys
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
# Directives for every .pyx, set here once rather than in each file.
CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
}
# OpenMP runs each kernel's parallel region on cs_convnet.kernels.threads() threads
# (CS_CONVNET_THREADS, default: the cores available). It is only requested where
# GCC's libgomp can be assumed (Linux); elsewhere the loops compile to plain serial
# loops. CS_CONVNET_NO_OPENMP=1 turns it off.
OPENMP = sys.platform.startswith("linux") and not os.environ.get("CS_CONVNET_NO_OPENMP")
# -fno-math-errno: sqrt need not set errno, so loops calling it can be vectorized.
COMPILE_ARGS = ["-O3", "-fno-math-errno"] + (["-fopenmp"] if OPENMP else [])
LINK_ARGS = ["-fopenmp"] if OPENMP else []
# Extensions that call BLAS through scipy.linalg.cython_blas (scipy needed at build and run time).
NEEDS_SCIPY_BLAS = {"conv_cython"}


class OptionalBuildExt(build_ext):
    """Build the Cython extensions if possible; never fail the install because of them."""

    def run(self):
        try:
            super().run()
        except Exception as error:  # no compiler, missing headers, ...
            self._skip(error)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as error:
            self._skip(error, ext.name)

    @staticmethod
    def _skip(error, name="the Cython extensions"):
        sys.stderr.write(
            f"WARNING: could not build {name} ({error}); cs_convnet will use its numpy backend.\n"
        )


def cython_extensions():
    if os.environ.get("CS_CONVNET_NO_CYTHON"):
        return []
    sources = sorted((HERE / "cython_ext").glob("*.pyx"))
    if not sources:
        return []
    try:
        import numpy
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError as error:
        sys.stderr.write(f"WARNING: Cython or numpy missing at build time ({error}); numpy backend only.\n")
        return []
    built = []
    for source in sources:  # one by one: a module that cannot be generated costs only itself
        if source.stem in NEEDS_SCIPY_BLAS and not _has_scipy_blas():
            sys.stderr.write(f"WARNING: scipy missing at build time; {source.stem} not built "
                             "(the convolution then runs on the im2col kernels and numpy's GEMM).\n")
            continue
        extension = Extension(
            f"cs_convnet._compiled.{source.stem}",
            [str(source.relative_to(HERE))],
            include_dirs=[numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=COMPILE_ARGS,
            extra_link_args=LINK_ARGS,
        )
        try:
            built += cythonize([extension], compiler_directives=CYTHON_DIRECTIVES, quiet=True)
        except Exception as error:
            sys.stderr.write(f"WARNING: cythonize failed for {source.name} ({error}); numpy twin used.\n")
    return built


def _has_scipy_blas():
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (its .pxd is what conv_cython cimports)
    except ImportError:
        return False
    return True


def entry_points():
    scripts = ["cs-convnet = cs_convnet.cli:main"]
    if (HERE / "autograder").is_dir():  # the instructor tree; absent from the student edition
        scripts.append("cs-convnet-course = autograder.cli:main")
    return {"console_scripts": scripts}


setup(
    name="cs-convnet",
    version="0.1.0",
    description="Convolutional networks from scratch: a CS231n-style course package with an autograder",
    long_description=(HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["cs_convnet", "cs_convnet.*", "autograder", "autograder.*"]),
    include_package_data=True,
    package_data={"autograder.qa": ["samples/*.json", "mutants/*.json"],
                  "autograder.course": ["gradescope_template/*"]},
    ext_modules=cython_extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
    # scipy: the BLAS that the compiled convolution calls from its threads;
    # threadpoolctl: holds BLAS to one thread while the kernels' threads run.
    install_requires=["numpy>=2.0", "scipy>=1.11", "threadpoolctl>=3.1", "matplotlib>=3.7", "tqdm>=4.60"],
    extras_require={
        "course": ["jupyterlab>=4", "nbgrader>=0.9", "nbclient>=0.10", "nbconvert>=7", "ipykernel", "ipython>=9", "ipywidgets"],
        # Optional reference for `cs-convnet bench` (PyTorch CPU); never needed by the package.
        "bench": ["torch==2.13.0", "threadpoolctl"],
        # Grading on a Dask cluster: `autograde --scheduler ADDR` or `--dask-workers N`.
        "dask": ["dask[distributed]>=2024.1"],
        # Cython, setuptools and wheel: the tests build wheels offline, without build isolation.
        # dask[distributed]: the grading engine's fault tests run a real scheduler and workers.
        # hypothesis: the fuzz suite of collect (tests/autograder/course/test_collect_fuzz.py).
        # grimp: the import graph of cs_convnet, checked for cycles (tests/test_import_graph.py).
        # jsonschema: results.json checked against Gradescope's specification
        # (tests/autograder/course/test_gradescope.py).
        "test": ["pytest>=8", "Cython>=3.0", "setuptools>=68", "wheel", "jupyterlab>=4", "nbgrader>=0.9", "nbclient>=0.10", "nbconvert>=7",
                 "ipykernel", "ipython>=9", "ipywidgets", "playwright>=1.40", "threadpoolctl", "dask[distributed]>=2024.1",
                 "hypothesis>=6.100", "grimp>=3.5", "jsonschema>=4"],
    },
    entry_points=entry_points(),
)
