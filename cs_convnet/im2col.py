"""Vectorised numpy kernels behind the fast layers: im2col/col2im and pooling.

Provided code. This is the backend :mod:`cs_convnet.fast_layers` runs when the
compiled Cython kernels (``cs_convnet._compiled``) are missing, and the
readable twin of ``cython_ext/*.pyx``: both define the same functions with the
same arguments, and fill preallocated output arrays in place.

im2col (as in chainer's ``utils/conv.py``) loops only over the HH*WW kernel
offsets ``(ki, kj)``. For one offset, the input pixels that offset touches in
every window form one strided slice of the whole batch, copied at once into
the column matrix::

    cols[c, ki, kj, n, i, j] = x_pad[n, c, ki + stride*i, kj + stride*j]

``cols`` has shape (C*HH*WW, N*H'*W'): one row per weight of a filter, one
column per output position, so that a convolution is one matrix product
``w.reshape(F, C*HH*WW) @ cols``. Zero padding is never materialised: the
rows and columns of each slice that fall into the padding are set to zero.
col2im reverses the copy with ``+=`` (overlapping windows add up), again one
slice per offset, never with ``np.add.at`` (30x slower).

``rows_to_nchw`` / ``nchw_to_rows`` move the GEMM's (F, N*H'*W') layout to
and from (N, F, H'*W'); the max-pool backward finds each window's first
maximum again by comparing the windows' entries in row-major order.
"""

import numpy as np


def valid_range(k, pad, stride, out_size, in_size):
    """Output positions whose input, at kernel offset ``k``, lies inside the unpadded input.

    Output position ``o`` reads input index ``k - pad + stride*o``. Returns
    ``(start, stop, first)``: the positions ``start <= o < stop`` read inside
    ``[0, in_size)``, and ``first`` is the input index read by ``o = start``.
    """
    start = min(out_size, max(0, -((k - pad) // stride)))  # ceil((pad - k) / stride), clipped
    stop = min(out_size, (in_size - 1 + pad - k) // stride + 1)
    stop = max(stop, start)
    return start, stop, k - pad + stride * start


def _offset_slices(HH, WW, pad, stride, H, W, H_out, W_out):
    """Yield (ki, kj, output rows, output cols, input rows, input cols) per kernel offset."""
    for ki in range(HH):
        i0, i1, h0 = valid_range(ki, pad, stride, H_out, H)
        rows_in = slice(h0, h0 + stride * (i1 - i0 - 1) + 1 if i1 > i0 else h0, stride)
        for kj in range(WW):
            j0, j1, w0 = valid_range(kj, pad, stride, W_out, W)
            cols_in = slice(w0, w0 + stride * (j1 - j0 - 1) + 1 if j1 > j0 else w0, stride)
            yield ki, kj, slice(i0, i1), slice(j0, j1), rows_in, cols_in


def im2col(x, cols, HH, WW, pad, stride, H_out, W_out):
    """Fill ``cols`` with the input windows of a convolution.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
    cols : ndarray of shape (C*HH*WW, N*H'*W'), written in place
        Row ``(c*HH + ki)*WW + kj``, column ``(n*H' + i)*W' + j`` holds
        ``x[n, c, ki - pad + stride*i, kj - pad + stride*j]`` (0 in the padding).
    HH, WW, pad, stride, H_out, W_out : int
        Filter size, zero padding, stride and output size H', W'.
    """
    N, C, H, W = x.shape
    view = cols.reshape(C, HH, WW, N, H_out, W_out)
    x_cn = x.transpose(1, 0, 2, 3)  # (C, N, H, W): the axis order of cols
    for ki, kj, rows, cols_out, rows_in, cols_in in _offset_slices(HH, WW, pad, stride, H, W, H_out, W_out):
        dst = view[:, ki, kj]
        if rows != slice(0, H_out) or cols_out != slice(0, W_out):
            dst[:, :, :rows.start] = 0
            dst[:, :, rows.stop:] = 0
            dst[:, :, rows, :cols_out.start] = 0
            dst[:, :, rows, cols_out.stop:] = 0
        dst[:, :, rows, cols_out] = x_cn[:, :, rows_in, cols_in]


def col2im(cols, dx, HH, WW, pad, stride, H_out, W_out):
    """Overwrite ``dx`` with the sum of the columns back at their input positions (adjoint of im2col).

    Parameters
    ----------
    cols : ndarray of shape (C*HH*WW, N*H'*W'), laid out as in :func:`im2col`
    dx : ndarray of shape (N, C, H, W), overwritten; entries in the padding are dropped
    HH, WW, pad, stride, H_out, W_out : int
    """
    N, C, H, W = dx.shape
    view = cols.reshape(C, HH, WW, N, H_out, W_out)
    dx[...] = 0
    dx_cn = dx.transpose(1, 0, 2, 3)
    for ki, kj, rows, cols_out, rows_in, cols_in in _offset_slices(HH, WW, pad, stride, H, W, H_out, W_out):
        dx_cn[:, :, rows_in, cols_in] += view[:, ki, kj, :, rows, cols_out]


def rows_to_nchw(rows, b, out):
    """out[n, f, p] = rows[f, n*P + p] + b[f]: the GEMM's (F, N*P) result to (N, F, P), plus the bias."""
    N, F, P = out.shape
    np.add(rows.reshape(F, N, P).transpose(1, 0, 2), b.reshape(1, F, 1), out=out)


def nchw_to_rows(dout, rows, db):
    """rows[f, n*P + p] = dout[n, f, p] and db[f] = the sum of dout[:, f, :]."""
    N, F, P = dout.shape
    rows.reshape(F, N, P)[...] = dout.transpose(1, 0, 2)
    np.sum(rows, axis=1, dtype=db.dtype, out=db)


def _window(x, di, dj, stride, H_out, W_out):
    """The (N, C, H', W') slice of x read at offset (di, dj) of every pooling window."""
    return x[:, :, di:di + stride * (H_out - 1) + 1:stride, dj:dj + stride * (W_out - 1) + 1:stride]


def max_pool_forward(x, out, pool_height, pool_width, stride):
    """Fill ``out`` (N, C, H', W') with the maximum of each window of ``x`` (N, C, H, W)."""
    H_out, W_out = out.shape[2:]
    out[...] = _window(x, 0, 0, stride, H_out, W_out)
    for di in range(pool_height):
        for dj in range(pool_width):
            if di or dj:
                np.maximum(out, _window(x, di, dj, stride, H_out, W_out), out=out)


def max_pool_backward(x, dout, dx, pool_height, pool_width, stride):
    """Overwrite ``dx`` (N, C, H, W): each window's ``dout`` goes to its first maximum in row-major order."""
    H_out, W_out = dout.shape[2:]
    best = np.empty(dout.shape, dtype=x.dtype)
    max_pool_forward(x, best, pool_height, pool_width, stride)
    dx[...] = 0
    unclaimed = np.ones(dout.shape, dtype=bool)  # windows whose maximum is not found yet
    hit = np.empty(dout.shape, dtype=bool)
    for di in range(pool_height):
        for dj in range(pool_width):
            np.equal(_window(x, di, dj, stride, H_out, W_out), best, out=hit)
            hit &= unclaimed
            unclaimed &= ~hit
            _window(dx, di, dj, stride, H_out, W_out)[...] += np.where(hit, dout, 0)


def avg_pool_forward(x, out, pool_height, pool_width, stride):
    """Fill ``out`` (N, C, H', W') with the mean of each window of ``x`` (N, C, H, W)."""
    H_out, W_out = out.shape[2:]
    out[...] = 0
    for di in range(pool_height):
        for dj in range(pool_width):
            out += _window(x, di, dj, stride, H_out, W_out)
    out /= pool_height * pool_width


def avg_pool_backward(dout, dx, pool_height, pool_width, stride):
    """Overwrite ``dx`` (N, C, H, W): each window spreads ``dout / (pool_height*pool_width)`` evenly."""
    H_out, W_out = dout.shape[2:]
    share = dout / dx.dtype.type(pool_height * pool_width)
    dx[...] = 0
    for di in range(pool_height):
        for dj in range(pool_width):
            _window(dx, di, dj, stride, H_out, W_out)[...] += share
