"""Compiled Cython kernels (built from cython_ext/ by setup.py); may be absent."""
