"""Convolution sharded over the batch: the 'cython' backend's conv in cs_convnet.fast_layers.

One OpenMP parallel region per call. The images are split over the threads;
each thread, image by image, builds the image's columns (K = C*HH*WW rows,
P = H'*W' columns) in its own work buffer and calls a single-threaded GEMM
from scipy's BLAS (``scipy.linalg.cython_blas``) on them::

    forward:   out[n] (F, P)  = w_rows (F, K) @ cols_n (K, P) + b      (written in place: no layout copy)
    backward:  dw_t  (K, F)  += cols_n (K, P) @ dout[n].T     (dw transposed, each thread its own, summed at the end)
               db_t  (F,)    += row sums of dout[n]
               dcols (K, P)   = w_rows.T @ dout[n]        then dx[n] = col2im(dcols)

An image's (F, P) block of an (N, F, H', W') array is contiguous, so the GEMMs
read dout and write out directly, without the (F, N*P) <-> (N, F, P) copies of
the whole-batch formulation. The caller holds BLAS to one thread during the
call (cs_convnet.kernels.backend.blas_single_threaded): BLAS threads and
kernel threads never run at the same time.

The images are split statically (thread t always gets the same block of
images for a given batch and thread count), so dw and db are summed in the
same order on every call: results are reproducible for a given thread count.

Row-major matrices are passed to the column-major BLAS as their transposes:
a row-major (R, S) matrix is a column-major (S, R) one with leading dimension S.
"""

from cython.parallel cimport prange, parallel, threadid
from cython cimport floating
from libc.string cimport memset
from scipy.linalg.cython_blas cimport sgemm, dgemm


include "_conv_planes.pxi"


cdef inline void _gemm(char transa, char transb, int m, int n, int k, const floating* a, int lda,
                       const floating* b, int ldb, floating beta, floating* c, int ldc) noexcept nogil:
    """Column-major c (m, n) = op(a) @ op(b) + beta * c, with op = transpose where trans is 'T'."""
    cdef floating one = 1
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &one, <float*>a, &lda, <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &one, <double*>a, &lda, <double*>b, &ldb, &beta, c, &ldc)


def _check(bint ok, str message):
    if not ok:
        raise ValueError(message)


def _check_int(Py_ssize_t value, str name):
    _check(value < 2 ** 31, f"{name} = {value} exceeds BLAS's 32-bit dimensions")


def conv_forward(const floating[:, :, :, ::1] x, const floating[:, ::1] w_rows, const floating[::1] b,
                 floating[:, :, ::1] out, floating[:, ::1] cols, bint keep_columns,
                 Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t pad, Py_ssize_t stride,
                 Py_ssize_t H_out, Py_ssize_t W_out, int num_threads=1):
    """out (N, F, P) = the convolution of x (N, C, H, W) with w_rows (F, C*HH*WW), plus b (F,).

    cols: the columns' work space, (num_threads, K*P) rows, one per thread; or, with
    ``keep_columns``, (N, K*P): row n receives image n's columns, kept for the backward pass.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w_rows.shape[0], K = w_rows.shape[1], P = H_out * W_out
    cdef Py_ssize_t n, c, f, p, slot
    _check(K == C * HH * WW, f"w_rows must have C*HH*WW = {C * HH * WW} columns, got {K}")
    _check(out.shape[0] == N and out.shape[1] == F and out.shape[2] == P and b.shape[0] == F,
           f"out must have shape {(N, F, P)} and b {(F,)}")
    _check(stride >= 1 and pad >= 0 and (H + 2 * pad - HH) // stride + 1 == H_out
           and (W + 2 * pad - WW) // stride + 1 == W_out, "inconsistent convolution geometry")
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(cols.shape[1] == K * P and cols.shape[0] >= (N if keep_columns else num_threads),
           f"cols must have shape ({N if keep_columns else num_threads}, {K * P}), "
           f"got {(cols.shape[0], cols.shape[1])}")
    for name, value in (("K", K), ("P", P), ("F", F)):
        _check_int(value, name)
    if N * F * P == 0:
        return
    cdef floating* out_ptr = &out[0, 0, 0]
    cdef const floating* b_ptr = &b[0]
    cdef floating* o
    if K == 0:  # no input channels: the bias alone
        for n in range(N):
            for f in range(F):
                for p in range(P):
                    out[n, f, p] = b[f]
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* w_ptr = &w_rows[0, 0]
    cdef floating* cols_ptr = &cols[0, 0]
    cdef floating* col
    with nogil, parallel(num_threads=num_threads):
        for n in prange(N, schedule="static"):
            slot = n if keep_columns else threadid()
            col = cols_ptr + slot * K * P
            for c in range(C):
                _im2col_plane(x_ptr + (n * C + c) * H * W, col + c * HH * WW * P, P,
                              H, W, HH, WW, pad, stride, H_out, W_out)
            o = out_ptr + n * F * P
            for f in range(F):
                for p in range(P):
                    o[f * P + p] = b_ptr[f]
            # out_n (F, P) row-major = column-major (P, F): cols_n^T (P, K) @ w_rows^T (K, F) + out_n
            _gemm(c'N', c'N', <int>P, <int>F, <int>K, col, <int>P, w_ptr, <int>K, 1, o, <int>P)


def conv_backward(const floating[:, :, :, ::1] x, const floating[:, ::1] w_rows, const floating[:, :, ::1] dout,
                  floating[:, :, :, ::1] dx, floating[:, ::1] dw_rows, double[::1] db,
                  floating[:, ::1] cols, bint kept_columns, floating[:, ::1] dcols,
                  floating[:, ::1] dw_parts, double[:, ::1] db_parts,
                  Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t pad, Py_ssize_t stride, int num_threads=1):
    """Gradients of :func:`conv_forward`: dx (N, C, H, W) (skipped when None), dw_rows (F, K), db (F,).

    cols: (num_threads, K*P) work space for rebuilding each image's columns, or with
    ``kept_columns`` the (N, K*P) columns the forward pass kept. dcols: (num_threads, K*P)
    work space (unused when dx is None). dw_parts (num_threads, F*K) and db_parts
    (num_threads, F): each thread's partial sums (dw_parts[t] holds dw^T, (K, F) row-major), added
    into dw_rows and db at the end.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w_rows.shape[0], K = w_rows.shape[1], P = dout.shape[2]
    cdef Py_ssize_t H_out = (H + 2 * pad - HH) // stride + 1, W_out = (W + 2 * pad - WW) // stride + 1
    cdef Py_ssize_t n, c, f, i, t, slot
    cdef bint need_dx = dx is not None
    _check(stride >= 1 and pad >= 0, f"stride must be >= 1 and pad >= 0, got {stride} and {pad}")
    _check(K == C * HH * WW, f"w_rows must have C*HH*WW = {C * HH * WW} columns, got {K}")
    _check(dout.shape[0] == N and dout.shape[1] == F and P == H_out * W_out,
           f"dout must have shape {(N, F, H_out * W_out)}, got {(dout.shape[0], dout.shape[1], P)}")
    _check(dw_rows.shape[0] == F and dw_rows.shape[1] == K and db.shape[0] == F, "dw_rows must be (F, K), db (F,)")
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(cols.shape[1] == K * P and cols.shape[0] >= (N if kept_columns else num_threads),
           "cols has the wrong shape")
    _check(dw_parts.shape[0] >= num_threads and dw_parts.shape[1] == F * K
           and db_parts.shape[0] >= num_threads and db_parts.shape[1] == F, "dw_parts/db_parts have the wrong shape")
    if need_dx:
        _check(dx.shape[0] == N and dx.shape[1] == C and dx.shape[2] == H and dx.shape[3] == W,
               "dx must have the shape of x")
        _check(dcols.shape[0] >= num_threads and dcols.shape[1] == K * P, "dcols has the wrong shape")
    for name, value in (("K", K), ("P", P), ("F", F)):
        _check_int(value, name)
    dw_parts[:, :] = 0
    db_parts[:, :] = 0
    if N * F * P == 0 or K == 0:
        if need_dx:
            dx[:, :, :, :] = 0
        dw_rows[:, :] = 0
        db[:] = 0
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* w_ptr = &w_rows[0, 0]
    cdef const floating* dout_ptr = &dout[0, 0, 0]
    cdef floating* dx_ptr = &dx[0, 0, 0, 0] if need_dx else NULL
    cdef floating* cols_ptr = &cols[0, 0]
    cdef floating* dcols_ptr = &dcols[0, 0] if need_dx else NULL
    cdef floating* parts_ptr = &dw_parts[0, 0]
    cdef double* db_parts_ptr = &db_parts[0, 0]
    cdef floating* col
    cdef floating* dcol
    cdef const floating* d
    cdef double total
    cdef int tid
    cdef Py_ssize_t p
    with nogil, parallel(num_threads=num_threads):
        for n in prange(N, schedule="static"):
            tid = threadid()
            slot = n if kept_columns else tid
            col = cols_ptr + slot * K * P
            if not kept_columns:
                for c in range(C):
                    _im2col_plane(x_ptr + (n * C + c) * H * W, col + c * HH * WW * P, P,
                                  H, W, HH, WW, pad, stride, H_out, W_out)
            d = dout_ptr + n * F * P
            for f in range(F):
                total = 0
                for p in range(P):
                    total = total + d[f * P + p]
                db_parts_ptr[tid * F + f] += total
            # dw_t^T (K, F) row-major = column-major (F, K): dout_n (as column-major (P, F))^T @ cols_n (P, K).
            # The transpose of dw, because BLAS runs this orientation faster (1.1-1.6x here, most on F = 32).
            _gemm(c'T', c'N', <int>F, <int>K, <int>P, d, <int>P, col, <int>P, 1, parts_ptr + tid * F * K, <int>F)
            if need_dx:
                dcol = dcols_ptr + tid * K * P
                # dcols (K, P) row-major = column-major (P, K): dout_n (P, F) @ w_rows (as column-major (K, F))^T
                _gemm(c'N', c'T', <int>P, <int>K, <int>F, d, <int>P, w_ptr, <int>K, 0, dcol, <int>P)
                for c in range(C):
                    _col2im_plane(dcol + c * HH * WW * P, dx_ptr + (n * C + c) * H * W, P,
                                  H, W, HH, WW, pad, stride, H_out, W_out)
    cdef int T = num_threads
    cdef floating* dw_ptr = &dw_rows[0, 0]
    cdef floating acc
    for i in prange(F * K, nogil=True, num_threads=num_threads, schedule="static"):  # i = f * K + k
        acc = 0
        for t in range(T):
            acc = acc + parts_ptr[t * F * K + (i % K) * F + i // K]
        dw_ptr[i] = acc
    for f in range(F):
        total = 0
        for t in range(T):
            total = total + db_parts[t, f]
        db[f] = total
