"""The compiled kernels' backend choice and thread count, in one place (see :mod:`.backend`)."""

from .backend import (
    AVAILABLE_BACKENDS,
    COMPILED_MODULES,
    CONV_STRATEGIES,
    conv_strategy,
    current_backend,
    blas_info,
    compiled,
    resolve,
    set_threads,
    threads,
    use_backend,
    using_conv_strategy,
    using_threads,
)

__all__ = ["AVAILABLE_BACKENDS", "COMPILED_MODULES", "CONV_STRATEGIES", "blas_info", "conv_strategy",
           "current_backend", "compiled", "resolve", "set_threads", "threads", "use_backend",
           "using_conv_strategy", "using_threads"]
