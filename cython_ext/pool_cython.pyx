"""Compiled max and average pooling: the kernels of cs_convnet.fast_layers' 'cython' backend.

Same functions, arguments and results as the numpy twins in
``cs_convnet/im2col.py``; float32 and float64 through the fused type
``floating``; any window and stride, overlapping windows included. The
common 2x2 stride-2 max pool has its own branch-free kernel.

Max-pool ties: the gradient of a window goes to its FIRST maximum in
row-major order (strict ``>`` while scanning), as in the naive layer and
PyTorch. The backward pass finds the maximum again from x rather than
storing switches, which costs less than writing and reading them back.
"""

from cython.parallel cimport prange
from cython cimport floating
from libc.string cimport memset


cdef inline floating _max2(floating a, floating b) noexcept nogil:
    return b if b > a else a


cdef void _max_pool_plane(const floating* x, floating* out, Py_ssize_t W,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                          Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """out[i, j] = max over the window of x at (stride*i, stride*j)."""
    cdef Py_ssize_t i, j, di, dj
    cdef const floating* window
    cdef floating best
    for i in range(H_out):
        for j in range(W_out):
            window = x + stride * i * W + stride * j
            best = window[0]
            for di in range(ph):
                for dj in range(pw):
                    best = _max2(best, window[di * W + dj])
            out[i * W_out + j] = best


cdef void _max_pool_2x2_plane(const floating* x, floating* out, Py_ssize_t W,
                              Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """out[i, j] = max(x[2i, 2j], x[2i, 2j+1], x[2i+1, 2j], x[2i+1, 2j+1])."""
    cdef Py_ssize_t i, j
    cdef const floating* top
    cdef const floating* bottom
    for i in range(H_out):
        top = x + 2 * i * W
        bottom = top + W
        for j in range(W_out):
            out[i * W_out + j] = _max2(_max2(top[2 * j], top[2 * j + 1]),
                                       _max2(bottom[2 * j], bottom[2 * j + 1]))


cdef void _max_pool_backward_plane(const floating* x, const floating* dout, floating* dx,
                                   Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph, Py_ssize_t pw,
                                   Py_ssize_t stride, Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """dx[argmax of window (i, j)] += dout[i, j], first maximum in row-major order; dx zeroed first."""
    cdef Py_ssize_t i, j, di, dj, top, arg
    cdef floating best
    memset(dx, 0, H * W * sizeof(floating))
    for i in range(H_out):
        for j in range(W_out):
            top = stride * i * W + stride * j
            best = x[top]
            arg = top
            for di in range(ph):
                for dj in range(pw):
                    if x[top + di * W + dj] > best:
                        best = x[top + di * W + dj]
                        arg = top + di * W + dj
            dx[arg] += dout[i * W_out + j]


cdef void _max_pool_2x2_backward_plane(const floating* x, const floating* dout, floating* dx,
                                       Py_ssize_t H, Py_ssize_t W,
                                       Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """Branch-free 2x2 stride-2 backward: each window's dout goes to its first maximum, zeros elsewhere.

    The windows tile the plane, so every covered entry is written exactly once
    (no zero fill first); rows and columns a floored pool leaves out are zeroed.
    """
    cdef Py_ssize_t i, j
    cdef const floating* top
    cdef const floating* bottom
    cdef floating* dtop
    cdef floating* dbottom
    cdef floating a, b, c, d, m, g
    cdef bint ta, tb, tc
    for i in range(H_out):
        top = x + 2 * i * W
        bottom = top + W
        dtop = dx + 2 * i * W
        dbottom = dtop + W
        for j in range(W_out):
            a = top[2 * j]
            b = top[2 * j + 1]
            c = bottom[2 * j]
            d = bottom[2 * j + 1]
            m = _max2(_max2(a, b), _max2(c, d))
            g = dout[i * W_out + j]
            ta = a == m
            tb = (b == m) & (not ta)
            tc = (c == m) & (not ta) & (not tb)
            dtop[2 * j] = g if ta else 0
            dtop[2 * j + 1] = g if tb else 0
            dbottom[2 * j] = g if tc else 0
            dbottom[2 * j + 1] = g if not (ta | tb | tc) else 0
        for j in range(2 * W_out, W):
            dtop[j] = 0
            dbottom[j] = 0
    if 2 * H_out < H:
        memset(dx + 2 * H_out * W, 0, (H - 2 * H_out) * W * sizeof(floating))


cdef void _avg_pool_plane(const floating* x, floating* out, Py_ssize_t W,
                          Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                          Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """out[i, j] = mean of the window of x at (stride*i, stride*j)."""
    cdef Py_ssize_t i, j, di, dj
    cdef const floating* window
    cdef floating total
    cdef floating scale = 1.0 / (ph * pw)
    for i in range(H_out):
        for j in range(W_out):
            window = x + stride * i * W + stride * j
            total = 0
            for di in range(ph):
                for dj in range(pw):
                    total = total + window[di * W + dj]
            out[i * W_out + j] = total * scale


cdef void _avg_pool_backward_plane(const floating* dout, floating* dx,
                                   Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph, Py_ssize_t pw,
                                   Py_ssize_t stride, Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """dx[window (i, j)] += dout[i, j] / (ph*pw) for every window; dx zeroed first."""
    cdef Py_ssize_t i, j, di, dj
    cdef floating* window
    cdef floating share
    cdef floating scale = 1.0 / (ph * pw)
    memset(dx, 0, H * W * sizeof(floating))
    for i in range(H_out):
        for j in range(W_out):
            window = dx + stride * i * W + stride * j
            share = dout[i * W_out + j] * scale
            for di in range(ph):
                for dj in range(pw):
                    window[di * W + dj] += share


def _check_geometry(Py_ssize_t H, Py_ssize_t W, Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                    Py_ssize_t H_out, Py_ssize_t W_out):
    if (ph < 1 or pw < 1 or stride < 1 or H_out < 0 or W_out < 0
            or (H_out > 0 and stride * (H_out - 1) + ph > H) or (W_out > 0 and stride * (W_out - 1) + pw > W)):
        raise ValueError(f"inconsistent pooling geometry: {ph}x{pw} windows, stride {stride}, "
                         f"input {H}x{W}, output {H_out}x{W_out}")


def max_pool_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                     Py_ssize_t pool_height, Py_ssize_t pool_width, Py_ssize_t stride, int num_threads=1):
    """Fill out (N, C, H', W') with the maximum of each window of x (N, C, H, W)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = out.shape[2], W_out = out.shape[3], p
    if out.shape[0] != N or out.shape[1] != C:
        raise ValueError("out must have the N and C of x")
    _check_geometry(H, W, pool_height, pool_width, stride, H_out, W_out)
    if N * C * H_out * W_out == 0:
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef floating* out_ptr = &out[0, 0, 0, 0]
    cdef bint two_by_two = pool_height == 2 and pool_width == 2 and stride == 2
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        if two_by_two:
            _max_pool_2x2_plane(x_ptr + p * H * W, out_ptr + p * H_out * W_out, W, H_out, W_out)
        else:
            _max_pool_plane(x_ptr + p * H * W, out_ptr + p * H_out * W_out, W,
                            pool_height, pool_width, stride, H_out, W_out)


def max_pool_backward(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout,
                      floating[:, :, :, ::1] dx, Py_ssize_t pool_height, Py_ssize_t pool_width,
                      Py_ssize_t stride, int num_threads=1):
    """Overwrite dx (N, C, H, W): each window's dout goes to its first maximum in row-major order."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = dout.shape[2], W_out = dout.shape[3], p
    if (dout.shape[0] != N or dout.shape[1] != C or dx.shape[0] != N or dx.shape[1] != C
            or dx.shape[2] != H or dx.shape[3] != W):
        raise ValueError("x, dout and dx must agree in N and C, and dx must have the shape of x")
    _check_geometry(H, W, pool_height, pool_width, stride, H_out, W_out)
    if N * C * H * W == 0:
        return
    cdef floating* dx_ptr = &dx[0, 0, 0, 0]
    if H_out * W_out == 0:
        memset(dx_ptr, 0, N * C * H * W * sizeof(floating))
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* dout_ptr = &dout[0, 0, 0, 0]
    cdef bint two_by_two = pool_height == 2 and pool_width == 2 and stride == 2
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        if two_by_two:
            _max_pool_2x2_backward_plane(x_ptr + p * H * W, dout_ptr + p * H_out * W_out,
                                         dx_ptr + p * H * W, H, W, H_out, W_out)
        else:
            _max_pool_backward_plane(x_ptr + p * H * W, dout_ptr + p * H_out * W_out, dx_ptr + p * H * W,
                                     H, W, pool_height, pool_width, stride, H_out, W_out)


def avg_pool_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out,
                     Py_ssize_t pool_height, Py_ssize_t pool_width, Py_ssize_t stride, int num_threads=1):
    """Fill out (N, C, H', W') with the mean of each window of x (N, C, H, W)."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = out.shape[2], W_out = out.shape[3], p
    if out.shape[0] != N or out.shape[1] != C:
        raise ValueError("out must have the N and C of x")
    _check_geometry(H, W, pool_height, pool_width, stride, H_out, W_out)
    if N * C * H_out * W_out == 0:
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef floating* out_ptr = &out[0, 0, 0, 0]
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        _avg_pool_plane(x_ptr + p * H * W, out_ptr + p * H_out * W_out, W,
                        pool_height, pool_width, stride, H_out, W_out)


def avg_pool_backward(const floating[:, :, :, ::1] dout, floating[:, :, :, ::1] dx,
                      Py_ssize_t pool_height, Py_ssize_t pool_width, Py_ssize_t stride, int num_threads=1):
    """Overwrite dx (N, C, H, W): each window spreads dout / (pool_height*pool_width) over its inputs."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t H_out = dout.shape[2], W_out = dout.shape[3], p
    if dout.shape[0] != N or dout.shape[1] != C:
        raise ValueError("dout and dx must agree in N and C")
    _check_geometry(H, W, pool_height, pool_width, stride, H_out, W_out)
    if N * C * H * W == 0:
        return
    cdef floating* dx_ptr = &dx[0, 0, 0, 0]
    if H_out * W_out == 0:
        memset(dx_ptr, 0, N * C * H * W * sizeof(floating))
        return
    cdef const floating* dout_ptr = &dout[0, 0, 0, 0]
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        _avg_pool_backward_plane(dout_ptr + p * H_out * W_out, dx_ptr + p * H * W,
                                 H, W, pool_height, pool_width, stride, H_out, W_out)


cdef void _max_pool_switches_plane(const floating* x, floating* out, int* switches, Py_ssize_t W,
                                   Py_ssize_t ph, Py_ssize_t pw, Py_ssize_t stride,
                                   Py_ssize_t H_out, Py_ssize_t W_out) noexcept nogil:
    """out[i, j] = max of window (i, j); switches[i, j] = plane offset of its first maximum."""
    cdef Py_ssize_t i, j, di, dj, top, arg
    cdef floating best
    for i in range(H_out):
        for j in range(W_out):
            top = stride * i * W + stride * j
            best = x[top]
            arg = top
            for di in range(ph):
                for dj in range(pw):
                    if x[top + di * W + dj] > best:
                        best = x[top + di * W + dj]
                        arg = top + di * W + dj
            out[i * W_out + j] = best
            switches[i * W_out + j] = <int>arg


def max_pool_forward_switches(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] out, int[:, :, :, ::1] switches,
                              Py_ssize_t pool_height, Py_ssize_t pool_width, Py_ssize_t stride, int num_threads=1):
    """As max_pool_forward, also recording in switches (N, C, H', W') the offset within its
    (H, W) plane of each window's first maximum, for max_pool_backward_switches."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t H_out = out.shape[2], W_out = out.shape[3], p
    if (out.shape[0] != N or out.shape[1] != C or switches.shape[0] != N or switches.shape[1] != C
            or switches.shape[2] != H_out or switches.shape[3] != W_out):
        raise ValueError("out and switches must have the shape (N, C, H', W')")
    if H * W >= 2 ** 31:
        raise ValueError(f"planes of {H}x{W} do not fit 32-bit switches")
    _check_geometry(H, W, pool_height, pool_width, stride, H_out, W_out)
    if N * C * H_out * W_out == 0:
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef floating* out_ptr = &out[0, 0, 0, 0]
    cdef int* switch_ptr = &switches[0, 0, 0, 0]
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        _max_pool_switches_plane(x_ptr + p * H * W, out_ptr + p * H_out * W_out, switch_ptr + p * H_out * W_out,
                                 W, pool_height, pool_width, stride, H_out, W_out)


def max_pool_backward_switches(const floating[:, :, :, ::1] dout, const int[:, :, :, ::1] switches,
                               floating[:, :, :, ::1] dx, int num_threads=1):
    """Overwrite dx (N, C, H, W): dx[n, c].flat[switches[n, c, i, j]] += dout[n, c, i, j]."""
    cdef Py_ssize_t N = dx.shape[0], C = dx.shape[1], H = dx.shape[2], W = dx.shape[3]
    cdef Py_ssize_t H_out = dout.shape[2], W_out = dout.shape[3], p, q, plane = H * W, cells = H_out * W_out
    if (dout.shape[0] != N or dout.shape[1] != C or switches.shape[0] != N or switches.shape[1] != C
            or switches.shape[2] != H_out or switches.shape[3] != W_out):
        raise ValueError("dout and switches must have the shape (N, C, H', W') of the forward output")
    if N * C * plane == 0:
        return
    cdef floating* dx_ptr = &dx[0, 0, 0, 0]
    memset(dx_ptr, 0, N * C * plane * sizeof(floating))
    if cells == 0:
        return
    cdef const floating* dout_ptr = &dout[0, 0, 0, 0]
    cdef const int* switch_ptr = &switches[0, 0, 0, 0]
    cdef int index
    for p in prange(N * C, nogil=True, num_threads=num_threads, schedule="static"):
        for q in range(cells):
            index = switch_ptr[p * cells + q]
            if 0 <= index < plane:  # written by max_pool_forward_switches; never trust memory blindly
                dx_ptr[p * plane + index] += dout_ptr[p * cells + q]
