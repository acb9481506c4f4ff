"""The compiled kernels' backend choice and thread count, in one place (see :mod:`.backend`)."""

from .backend import (
    AVAILABLE_BACKENDS,
    COMPILED_MODULES,
    current_backend,
    blas_info,
    compiled,
    resolve,
    set_threads,
    threads,
    use_backend,
    using_threads,
)

__all__ = ["AVAILABLE_BACKENDS", "COMPILED_MODULES", "blas_info", "current_backend", "compiled", "resolve",
           "set_threads", "threads", "use_backend", "using_threads"]
