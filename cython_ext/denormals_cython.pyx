"""Flush-to-zero and denormals-are-zero for the calling thread (x86 SSE control register).

Floats below the normal range (1.2e-38 in float32) take a slow path in the
CPU, often 50-100x slower per operation. ``set_flush_denormal(True)`` makes
the calling thread's arithmetic write zero instead of such a result (FTZ) and
read such an input as zero (DAZ), as ``torch.set_flush_denormal`` does. On
other processors it does nothing and returns False.
"""

from cython.parallel cimport parallel


cdef extern from *:
    """
    #if defined(__SSE2__) || defined(__x86_64__) || defined(_M_X64)
    #include <xmmintrin.h>
    #define CSN_FTZ_DAZ 0x8040u
    static int csn_set_flush_denormal(int on) {
        unsigned int csr = _mm_getcsr();
        _mm_setcsr(on ? (csr | CSN_FTZ_DAZ) : (csr & ~CSN_FTZ_DAZ));
        return 1;
    }
    static int csn_get_flush_denormal(void) { return (_mm_getcsr() & CSN_FTZ_DAZ) == CSN_FTZ_DAZ; }
    #else
    static int csn_set_flush_denormal(int on) { (void)on; return 0; }
    static int csn_get_flush_denormal(void) { return 0; }
    #endif
    """
    int csn_set_flush_denormal(int on) nogil
    int csn_get_flush_denormal() nogil


def set_flush_denormal(bint on):
    """Turn FTZ and DAZ on or off for the calling thread; return whether this processor supports it."""
    return bool(csn_set_flush_denormal(on))


def get_flush_denormal():
    """Whether FTZ and DAZ are both on for the calling thread."""
    return bool(csn_get_flush_denormal())


def set_flush_denormal_threads(bint on, int num_threads):
    """Set FTZ and DAZ in the calling thread and in the OpenMP threads of a num_threads region.

    The kernels' parallel regions reuse libgomp's pool of threads, which keep the
    flags they were given; this sets them in that pool.
    """
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    cdef int ok = csn_set_flush_denormal(on)
    with nogil, parallel(num_threads=num_threads):
        csn_set_flush_denormal(on)
    return bool(ok)
