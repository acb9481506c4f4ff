# The sum of one plane of values, vectorizable and accurate; shared by batchnorm_relu_cython.pyx and
# conv_cython.pyx (both ``include`` it after cimporting ``floating`` from cython).


DEF LANES = 8    # independent partial sums per reduction, so the compiler can vectorize it
DEF BLOCK = 256  # values per lane sum before it is added into the double total (a multiple of LANES)


cdef double _plane_sum(const floating* p, Py_ssize_t plane) noexcept nogil:
    """sum(p[i]) over one plane, in double.

    Each block of BLOCK values is summed in LANES partial sums of the input's type (32 values
    each, so float32 keeps its error near float32's rounding of one block), then added into a
    double total: vectorized like a plain float loop, accurate like a double one on any plane size.
    """
    cdef floating lanes[LANES]
    cdef Py_ssize_t start, i, j, stop, whole = plane - plane % LANES
    cdef double total = 0.0
    for start in range(0, whole, BLOCK):
        stop = min(start + BLOCK, whole)
        for j in range(LANES):
            lanes[j] = 0
        for i in range(start, stop, LANES):
            for j in range(LANES):
                lanes[j] = lanes[j] + p[i + j]
        for j in range(LANES):
            total = total + lanes[j]
    for i in range(whole, plane):
        total = total + p[i]
    return total
