# The sum of one plane of values, vectorizable; shared by batchnorm_relu_cython.pyx and conv_cython.pyx
# (both ``include`` it after cimporting ``floating`` from cython).


DEF LANES = 8  # independent partial sums per reduction, so the compiler can vectorize it


cdef double _plane_sum(const floating* p, Py_ssize_t plane) noexcept nogil:
    """sum(p[i]) over one plane: LANES partial sums in floating point, then double."""
    cdef floating lanes[LANES]
    cdef Py_ssize_t i, j, whole = plane - plane % LANES
    cdef double total = 0.0
    for j in range(LANES):
        lanes[j] = 0
    for i in range(0, whole, LANES):
        for j in range(LANES):
            lanes[j] = lanes[j] + p[i + j]
    for i in range(whole, plane):
        total = total + p[i]
    for j in range(LANES):
        total = total + lanes[j]
    return total
