# Sums over one plane of values, vectorizable and accurate; shared by batchnorm_relu_cython.pyx and
# conv_cython.pyx (both ``include`` it after cimporting ``floating`` from cython).


DEF LANES = 8    # independent partial sums per reduction, so the compiler can vectorize it
DEF BLOCK = 256  # values per lane sum before it is added into the double total (a multiple of LANES)

# What _plane_reduce sums, per value: p[i]; (p[i] - shift)**2; a[i] * (p[i] - shift).
DEF VALUES = 0
DEF SQUARES = 1
DEF PRODUCTS = 2


cdef inline floating _term(const floating* a, const floating* p, Py_ssize_t i, floating shift,
                           int kind) noexcept nogil:
    cdef floating d
    if kind == VALUES:
        return p[i]
    d = p[i] - shift
    if kind == SQUARES:
        return d * d
    return a[i] * d


cdef double _plane_reduce(const floating* a, const floating* p, Py_ssize_t plane, double shift,
                          int kind) noexcept nogil:
    """The sum over one plane of the ``kind`` of term (VALUES, SQUARES, PRODUCTS), in double.

    Each block of BLOCK values is summed in LANES partial sums of the input's type (32 values
    each, so float32 keeps its error near float32's rounding of one block), then added into a
    double total: vectorized like a plain float loop (the compiler makes one loop per kind),
    accurate like a double one on any plane size.
    """
    cdef floating lanes[LANES]
    cdef floating s = <floating>shift
    cdef Py_ssize_t start, i, j, stop, whole = plane - plane % LANES
    cdef double total = 0.0
    for start in range(0, whole, BLOCK):
        stop = min(start + BLOCK, whole)
        for j in range(LANES):
            lanes[j] = 0
        for i in range(start, stop, LANES):
            for j in range(LANES):
                lanes[j] = lanes[j] + _term(a, p, i + j, s, kind)
        for j in range(LANES):
            total = total + lanes[j]
    for i in range(whole, plane):
        total = total + _term(a, p, i, s, kind)
    return total


cdef inline double _plane_sum(const floating* p, Py_ssize_t plane) noexcept nogil:
    """sum(p[i]) over one plane."""
    return _plane_reduce(p, p, plane, 0.0, VALUES)


cdef inline double _plane_squares(const floating* p, Py_ssize_t plane, double shift) noexcept nogil:
    """sum((p[i] - shift)**2) over one plane."""
    return _plane_reduce(p, p, plane, shift, SQUARES)


cdef inline double _plane_dot(const floating* a, const floating* p, Py_ssize_t plane, double shift) noexcept nogil:
    """sum(a[i] * (p[i] - shift)) over one plane."""
    return _plane_reduce(a, p, plane, shift, PRODUCTS)
