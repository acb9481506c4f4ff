# Per-plane im2col / col2im, shared by im2col_cython.pyx and conv_cython.pyx (both ``include`` it).
# The including module cimports ``floating`` (from cython) and ``memset`` (from libc.string).


cdef inline Py_ssize_t _first_valid(Py_ssize_t k, Py_ssize_t pad, Py_ssize_t stride) noexcept nogil:
    """First output position o >= 0 with k - pad + stride*o >= 0: max(0, ceil((pad - k) / stride))."""
    if k >= pad:
        return 0
    return (pad - k + stride - 1) // stride  # callers clip it to the output size


cdef inline Py_ssize_t _stop_valid(Py_ssize_t k, Py_ssize_t pad, Py_ssize_t stride,
                                   Py_ssize_t out_size, Py_ssize_t in_size) noexcept nogil:
    """One past the last output position o < out_size with k - pad + stride*o < in_size."""
    cdef Py_ssize_t last = in_size - 1 + pad - k
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < out_size else out_size


cdef void _im2col_plane(const floating* plane, floating* cols, Py_ssize_t row_stride,
                        Py_ssize_t H, Py_ssize_t W, Py_ssize_t HH, Py_ssize_t WW,
                        Py_ssize_t pad, Py_ssize_t stride, Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """cols[(ki*WW + kj)*row_stride + i*W' + j] = plane[ki - pad + stride*i, kj - pad + stride*j] (0 outside)."""
    cdef Py_ssize_t ki, kj, i, j, i0, i1, j0, j1
    cdef const floating* src
    cdef floating* dst
    cdef floating* row
    for ki in range(HH):
        i0 = _first_valid(ki, pad, stride)
        i0 = min(i0, H_out)
        i1 = max(_stop_valid(ki, pad, stride, H_out, H), i0)
        for kj in range(WW):
            j0 = _first_valid(kj, pad, stride)
            j0 = min(j0, W_out)
            j1 = max(_stop_valid(kj, pad, stride, W_out, W), j0)
            dst = cols + (ki * WW + kj) * row_stride
            if i0 > 0:
                memset(dst, 0, i0 * W_out * sizeof(floating))
            for i in range(i0, i1):
                row = dst + i * W_out
                src = plane + (ki - pad + stride * i) * W + (kj - pad)
                for j in range(j0):
                    row[j] = 0
                if stride == 1:
                    for j in range(j0, j1):
                        row[j] = src[j]
                else:
                    for j in range(j0, j1):
                        row[j] = src[stride * j]
                for j in range(j1, W_out):
                    row[j] = 0
            if i1 < H_out:
                memset(dst + i1 * W_out, 0, (H_out - i1) * W_out * sizeof(floating))


cdef void _col2im_plane(const floating* cols, floating* plane, Py_ssize_t row_stride,
                        Py_ssize_t H, Py_ssize_t W, Py_ssize_t HH, Py_ssize_t WW,
                        Py_ssize_t pad, Py_ssize_t stride, Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """plane[ki - pad + stride*i, kj - pad + stride*j] += cols[(ki*WW + kj)*row_stride + i*W' + j], plane zeroed first."""
    cdef Py_ssize_t ki, kj, i, j, i0, i1, j0, j1
    cdef const floating* src
    cdef floating* dst
    memset(plane, 0, H * W * sizeof(floating))
    for ki in range(HH):
        i0 = _first_valid(ki, pad, stride)
        i1 = _stop_valid(ki, pad, stride, H_out, H)
        for kj in range(WW):
            j0 = _first_valid(kj, pad, stride)
            j1 = _stop_valid(kj, pad, stride, W_out, W)
            for i in range(i0, i1):
                src = cols + (ki * WW + kj) * row_stride + i * W_out
                dst = plane + (ki - pad + stride * i) * W + (kj - pad)
                if stride == 1:
                    for j in range(j0, j1):
                        dst[j] += src[j]
                else:
                    for j in range(j0, j1):
                        dst[stride * j] += src[j]
