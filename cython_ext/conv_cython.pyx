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

The second half of this module (``winograd_*``) computes the 3x3, stride-1, pad-1
convolutions by Winograd's F(2x2, 3x3) in the same batch-sharded way: 16 small GEMMs
per image on transformed tiles instead of one on im2col's columns; its formulas are
given where it starts.
"""

from cython.parallel cimport prange, parallel, threadid
from cython cimport floating
from libc.string cimport memset
from scipy.linalg.cython_blas cimport sgemm, dgemm


include "_conv_planes.pxi"
include "_plane_sum.pxi"


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
                 floating[:, :, ::1] out, floating[:, ::1] cols,
                 Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t pad, Py_ssize_t stride,
                 Py_ssize_t H_out, Py_ssize_t W_out, int num_threads=1):
    """out (N, F, P) = the convolution of x (N, C, H, W) with w_rows (F, C*HH*WW), plus b (F,).

    cols: the columns' work space, (num_threads, K*P), a row per thread.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w_rows.shape[0], K = w_rows.shape[1], P = H_out * W_out
    cdef Py_ssize_t n, c, f, p
    _check(K == C * HH * WW, f"w_rows must have C*HH*WW = {C * HH * WW} columns, got {K}")
    _check(out.shape[0] == N and out.shape[1] == F and out.shape[2] == P and b.shape[0] == F,
           f"out must have shape {(N, F, P)} and b {(F,)}")
    _check(stride >= 1 and pad >= 0 and (H + 2 * pad - HH) // stride + 1 == H_out
           and (W + 2 * pad - WW) // stride + 1 == W_out, "inconsistent convolution geometry")
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(cols.shape[1] == K * P and cols.shape[0] >= num_threads,
           f"cols must have shape ({num_threads}, {K * P}), got {(cols.shape[0], cols.shape[1])}")
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
            col = cols_ptr + threadid() * K * P
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
                  floating[:, ::1] cols, floating[:, ::1] dcols,
                  floating[:, ::1] dw_parts, double[:, ::1] db_parts,
                  Py_ssize_t HH, Py_ssize_t WW, Py_ssize_t pad, Py_ssize_t stride, int num_threads=1):
    """Gradients of :func:`conv_forward`: dx (N, C, H, W) (skipped when None), dw_rows (F, K), db (F,).

    cols: (num_threads, K*P) work space for rebuilding each image's columns. dcols: (num_threads, K*P)
    work space (unused when dx is None). dw_parts (num_threads, F*K) and db_parts
    (num_threads, F): each thread's partial sums (dw_parts[t] holds dw^T, (K, F) row-major), added
    into dw_rows and db at the end.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t F = w_rows.shape[0], K = w_rows.shape[1], P = dout.shape[2]
    cdef Py_ssize_t H_out = (H + 2 * pad - HH) // stride + 1, W_out = (W + 2 * pad - WW) // stride + 1
    cdef Py_ssize_t n, c, f, i, t
    cdef bint need_dx = dx is not None
    _check(stride >= 1 and pad >= 0, f"stride must be >= 1 and pad >= 0, got {stride} and {pad}")
    _check(K == C * HH * WW, f"w_rows must have C*HH*WW = {C * HH * WW} columns, got {K}")
    _check(dout.shape[0] == N and dout.shape[1] == F and P == H_out * W_out,
           f"dout must have shape {(N, F, H_out * W_out)}, got {(dout.shape[0], dout.shape[1], P)}")
    _check(dw_rows.shape[0] == F and dw_rows.shape[1] == K and db.shape[0] == F, "dw_rows must be (F, K), db (F,)")
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(cols.shape[1] == K * P and cols.shape[0] >= num_threads, "cols has the wrong shape")
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
    with nogil, parallel(num_threads=num_threads):
        for n in prange(N, schedule="static"):
            tid = threadid()
            col = cols_ptr + tid * K * P
            for c in range(C):
                _im2col_plane(x_ptr + (n * C + c) * H * W, col + c * HH * WW * P, P,
                              H, W, HH, WW, pad, stride, H_out, W_out)
            d = dout_ptr + n * F * P
            for f in range(F):
                db_parts_ptr[tid * F + f] += _plane_sum(d + f * P, P)
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


# --------------------------------------------------------------------------
# Winograd F(2x2, 3x3): 3x3 filters, stride 1, pad 1 (Lavin and Gray, 2015)
# --------------------------------------------------------------------------
# Each 2x2 block of outputs comes from a 4x4 tile of the zero-padded input d (tiles overlap by 2):
#
#     y (2x2) = A^T [ U (.) V ] A,    V = B^T d B,    U = G g G^T   (precomputed: winograd_weights)
#
# with (.) the elementwise product over the 16 positions, summed over the input channels. For each of
# the 16 positions k that sum is a matrix product, M_k (F, T) = U_k (F, C) @ V_k (C, T) over the T
# tiles of an image: 16 GEMMs of 2*F*C*T flops, 2.25x fewer than im2col's 2*F*(9C)*(4T).


cdef void _winograd_input(const floating* plane, floating* v, Py_ssize_t stride_k,
                          Py_ssize_t H, Py_ssize_t W, Py_ssize_t th, Py_ssize_t tw) noexcept nogil:
    """v[k*stride_k + ti*tw + tj] = (B^T d B)[k // 4, k % 4], d the 4x4 tile at (2ti - 1, 2tj - 1) of the
    plane (H, W) zero-padded by 1, for the th x tw tiles."""
    cdef floating d[16]
    cdef floating t[16]
    cdef Py_ssize_t ti, tj, r, s, y, x
    cdef const floating* src
    cdef floating* o
    for ti in range(th):
        for tj in range(tw):
            if ti > 0 and tj > 0 and 2 * ti + 2 < H and 2 * tj + 2 < W:  # inside the plane
                src = plane + (2 * ti - 1) * W + 2 * tj - 1
                for r in range(4):
                    for s in range(4):
                        d[r * 4 + s] = src[r * W + s]
            else:
                for r in range(4):
                    y = 2 * ti - 1 + r
                    for s in range(4):
                        x = 2 * tj - 1 + s
                        d[r * 4 + s] = plane[y * W + x] if 0 <= y < H and 0 <= x < W else 0
            for s in range(4):  # B^T d
                t[s] = d[s] - d[8 + s]
                t[4 + s] = d[4 + s] + d[8 + s]
                t[8 + s] = d[8 + s] - d[4 + s]
                t[12 + s] = d[4 + s] - d[12 + s]
            o = v + ti * tw + tj
            for r in range(4):  # (B^T d) B
                o[(r * 4) * stride_k] = t[r * 4] - t[r * 4 + 2]
                o[(r * 4 + 1) * stride_k] = t[r * 4 + 1] + t[r * 4 + 2]
                o[(r * 4 + 2) * stride_k] = t[r * 4 + 2] - t[r * 4 + 1]
                o[(r * 4 + 3) * stride_k] = t[r * 4 + 1] - t[r * 4 + 3]


cdef void _winograd_output(const floating* m, Py_ssize_t stride_k, floating bias, floating* plane,
                           Py_ssize_t H, Py_ssize_t W, Py_ssize_t th, Py_ssize_t tw) noexcept nogil:
    """plane[2ti + i, 2tj + j] = (A^T M A)[i, j] + bias, M[k // 4, k % 4] = m[k*stride_k + ti*tw + tj],
    for the outputs inside the plane (H, W)."""
    cdef floating a[16]
    cdef floating s[8]
    cdef Py_ssize_t ti, tj, i, j, k, y
    cdef const floating* src
    for ti in range(th):
        for tj in range(tw):
            src = m + ti * tw + tj
            for k in range(16):
                a[k] = src[k * stride_k]
            for j in range(4):  # A^T M
                s[j] = a[j] + a[4 + j] + a[8 + j]
                s[4 + j] = a[4 + j] - a[8 + j] - a[12 + j]
            for i in range(2):  # (A^T M) A
                y = 2 * ti + i
                if y < H:
                    plane[y * W + 2 * tj] = s[i * 4] + s[i * 4 + 1] + s[i * 4 + 2] + bias
                    if 2 * tj + 1 < W:
                        plane[y * W + 2 * tj + 1] = s[i * 4 + 1] - s[i * 4 + 2] - s[i * 4 + 3] + bias


# Values between the 16 matrices of a work buffer: without them, the transforms' 16 stores (or loads)
# per tile, C*T apart, hit one L1 cache set when C*T*itemsize is a multiple of 4 KiB, and ran 10x slower.
cdef Py_ssize_t _WINOGRAD_GAP = 16


def winograd_workspace(Py_ssize_t C, Py_ssize_t F, Py_ssize_t H, Py_ssize_t W):
    """Lengths of one thread's V and M work buffers for :func:`winograd_forward`."""
    cdef Py_ssize_t T = ((H + 1) // 2) * ((W + 1) // 2)
    return 16 * (C * T + _WINOGRAD_GAP), 16 * (F * T + _WINOGRAD_GAP)


def _check_winograd_work(Py_ssize_t v_rows, Py_ssize_t v_length, Py_ssize_t m_rows, Py_ssize_t m_length,
                         Py_ssize_t C, Py_ssize_t T, Py_ssize_t F, int num_threads):
    """The checks both Winograd kernels make: thread count, the V and M work buffers, BLAS's 32-bit sizes."""
    cdef Py_ssize_t vs = C * T + _WINOGRAD_GAP, ms = F * T + _WINOGRAD_GAP
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(v_rows >= num_threads and v_length == 16 * vs and m_rows >= num_threads and m_length == 16 * ms,
           f"V and M must have shape ({num_threads}, {16 * vs}) and ({num_threads}, {16 * ms})")
    for name, value in (("C", C), ("T", T), ("F", F)):
        _check_int(value, name)
    _check(C > 0, "x has no channels")


def winograd_forward(const floating[:, :, :, ::1] x, const floating[:, :, ::1] U, const floating[::1] b,
                     floating[:, :, :, ::1] out, floating[:, ::1] V, floating[:, ::1] M, int num_threads=1):
    """out (N, F, H, W) = the convolution of x (N, C, H, W) with 3x3 filters, stride 1, pad 1, plus b (F,),
    by Winograd's F(2x2, 3x3).

    U: the filters transformed, (16, F, C) (:func:`winograd_weights`). V and M:
    work space, a row per thread, of the lengths :func:`winograd_workspace` gives.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], F = out.shape[1]
    cdef Py_ssize_t th = (H + 1) // 2, tw = (W + 1) // 2
    cdef Py_ssize_t T = th * tw, n, c, f, k
    cdef Py_ssize_t vs = C * T + _WINOGRAD_GAP, ms = F * T + _WINOGRAD_GAP  # strides of the 16 matrices
    _check(U.shape[0] == 16 and U.shape[1] == F and U.shape[2] == C,
           f"U must have shape {(16, F, C)}, got {(U.shape[0], U.shape[1], U.shape[2])}")
    _check(out.shape[0] == N and out.shape[2] == H and out.shape[3] == W and b.shape[0] == F,
           f"out must have shape {(N, F, H, W)} and b {(F,)}")
    _check_winograd_work(V.shape[0], V.shape[1], M.shape[0], M.shape[1], C, T, F, num_threads)
    if N * F * H * W == 0:
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* u_ptr = &U[0, 0, 0]
    cdef const floating* b_ptr = &b[0]
    cdef floating* out_ptr = &out[0, 0, 0, 0]
    cdef floating* v_ptr = &V[0, 0]
    cdef floating* m_ptr = &M[0, 0]
    cdef floating* v
    cdef floating* mk
    with nogil, parallel(num_threads=num_threads):
        for n in prange(N, schedule="static"):
            v = v_ptr + threadid() * 16 * vs
            mk = m_ptr + threadid() * 16 * ms
            for c in range(C):
                _winograd_input(x_ptr + (n * C + c) * H * W, v + c * T, vs, H, W, th, tw)
            for k in range(16):
                # M_k (F, T) row-major = column-major (T, F) = V_k^T (T, C) @ U_k^T (C, F)
                _gemm(c'N', c'N', <int>T, <int>F, <int>C, v + k * vs, <int>T, u_ptr + k * F * C, <int>C,
                      0, mk + k * ms, <int>T)
            for f in range(F):
                _winograd_output(mk + f * T, ms, b_ptr[f], out_ptr + (n * F + f) * H * W, H, W, th, tw)


cdef void _winograd_gradient(const floating* plane, floating* z, Py_ssize_t stride_k,
                             Py_ssize_t H, Py_ssize_t W, Py_ssize_t th, Py_ssize_t tw) noexcept nogil:
    """z[k*stride_k + ti*tw + tj] = (A dY A^T)[k // 4, k % 4], dY the 2x2 block at (2ti, 2tj) of the output
    gradient plane (H, W) (0 outside): the gradient that reaches the 16 products of that tile."""
    cdef floating g[4]
    cdef floating p[8]
    cdef Py_ssize_t ti, tj, i, j, y, x
    cdef floating* o
    for ti in range(th):
        for tj in range(tw):
            for i in range(2):
                y = 2 * ti + i
                for j in range(2):
                    x = 2 * tj + j
                    g[i * 2 + j] = plane[y * W + x] if y < H and x < W else 0
            for j in range(2):  # A dY, A = [[1, 0], [1, 1], [1, -1], [0, -1]]
                p[j] = g[j]
                p[2 + j] = g[j] + g[2 + j]
                p[4 + j] = g[j] - g[2 + j]
                p[6 + j] = -g[2 + j]
            o = z + ti * tw + tj
            for i in range(4):  # (A dY) A^T
                o[(i * 4) * stride_k] = p[i * 2]
                o[(i * 4 + 1) * stride_k] = p[i * 2] + p[i * 2 + 1]
                o[(i * 4 + 2) * stride_k] = p[i * 2] - p[i * 2 + 1]
                o[(i * 4 + 3) * stride_k] = -p[i * 2 + 1]


def winograd_backward_weights(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] dout,
                              floating[:, ::1] dU_parts, double[:, ::1] db_parts,
                              floating[:, ::1] V, floating[:, ::1] M, int num_threads=1):
    """The gradients of :func:`winograd_forward` with respect to U and b, each thread's share apart:
    dU_parts[t] (16*F*C, i.e. (16, F, C)) and db_parts[t] (F,), overwritten; their sums over the threads
    are dU and db (the filters' gradient is G^T dU G: :func:`winograd_filter_gradient`).

    x (N, C, H, W) as in the forward pass, dout (N, F, H, W); V and M: work space as for
    :func:`winograd_forward` (M receives the transformed output gradient).
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], F = dout.shape[1]
    cdef Py_ssize_t th = (H + 1) // 2, tw = (W + 1) // 2
    cdef Py_ssize_t T = th * tw, n, c, f, k
    cdef Py_ssize_t vs = C * T + _WINOGRAD_GAP, ms = F * T + _WINOGRAD_GAP
    _check(dout.shape[0] == N and dout.shape[2] == H and dout.shape[3] == W,
           f"dout must have shape {(N, F, H, W)}, got {(dout.shape[0], F, dout.shape[2], dout.shape[3])}")
    _check_winograd_work(V.shape[0], V.shape[1], M.shape[0], M.shape[1], C, T, F, num_threads)
    _check(dU_parts.shape[0] >= num_threads and dU_parts.shape[1] == 16 * F * C
           and db_parts.shape[0] >= num_threads and db_parts.shape[1] == F,
           f"dU_parts and db_parts must have shape ({num_threads}, {16 * F * C}) and ({num_threads}, {F})")
    dU_parts[:, :] = 0
    db_parts[:, :] = 0
    if N * F * H * W == 0:
        return
    cdef const floating* x_ptr = &x[0, 0, 0, 0]
    cdef const floating* dout_ptr = &dout[0, 0, 0, 0]
    cdef floating* du_ptr = &dU_parts[0, 0]
    cdef double* db_ptr = &db_parts[0, 0]
    cdef floating* v_ptr = &V[0, 0]
    cdef floating* m_ptr = &M[0, 0]
    cdef floating* v
    cdef floating* z
    cdef const floating* d
    cdef int tid
    with nogil, parallel(num_threads=num_threads):
        for n in prange(N, schedule="static"):
            tid = threadid()
            v = v_ptr + tid * 16 * vs
            z = m_ptr + tid * 16 * ms
            for c in range(C):
                _winograd_input(x_ptr + (n * C + c) * H * W, v + c * T, vs, H, W, th, tw)
            for f in range(F):
                d = dout_ptr + (n * F + f) * H * W
                _winograd_gradient(d, z + f * T, ms, H, W, th, tw)
                db_ptr[tid * F + f] += _plane_sum(d, H * W)
            for k in range(16):
                # dU_k (F, C) row-major = column-major (C, F) += V_k (as column-major (T, C))^T @ Z_k (T, F)
                _gemm(c'T', c'N', <int>C, <int>F, <int>T, v + k * vs, <int>T, z + k * ms, <int>T,
                      1, du_ptr + tid * 16 * F * C + k * F * C, <int>C)



cdef void _filter_transform(const floating* w, bint turned, floating* u, Py_ssize_t plane) noexcept nogil:
    """u[(4i + j)*plane] = (G g G^T)[i, j], g the 3x3 filter at w (turned 180 degrees if ``turned``)."""
    cdef floating g[9]
    cdef floating q[12]
    cdef Py_ssize_t r, s
    for r in range(9):
        g[r] = w[8 - r] if turned else w[r]
    for s in range(3):  # G g
        q[s] = g[s]
        q[3 + s] = (g[s] + g[3 + s] + g[6 + s]) / 2
        q[6 + s] = (g[s] - g[3 + s] + g[6 + s]) / 2
        q[9 + s] = g[6 + s]
    for r in range(4):  # (G g) G^T
        u[(r * 4) * plane] = q[r * 3]
        u[(r * 4 + 1) * plane] = (q[r * 3] + q[r * 3 + 1] + q[r * 3 + 2]) / 2
        u[(r * 4 + 2) * plane] = (q[r * 3] - q[r * 3 + 1] + q[r * 3 + 2]) / 2
        u[(r * 4 + 3) * plane] = q[r * 3 + 2]


cdef void _filter_gradient(const floating* parts, Py_ssize_t part_length, int num_parts, Py_ssize_t plane,
                           floating* dw) noexcept nogil:
    """dw (3x3) = G^T dU G, dU[k] = the sum over the parts of parts[t*part_length + k*plane]."""
    cdef floating a[16]
    cdef floating s[12]
    cdef floating total
    cdef Py_ssize_t k, r
    cdef int t
    for k in range(16):
        total = 0
        for t in range(num_parts):
            total = total + parts[t * part_length + k * plane]
        a[k] = total
    for k in range(4):  # G^T dU, G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]]
        s[k] = a[k] + (a[4 + k] + a[8 + k]) / 2
        s[4 + k] = (a[4 + k] - a[8 + k]) / 2
        s[8 + k] = (a[4 + k] + a[8 + k]) / 2 + a[12 + k]
    for r in range(3):  # (G^T dU) G
        dw[r * 3] = s[r * 4] + (s[r * 4 + 1] + s[r * 4 + 2]) / 2
        dw[r * 3 + 1] = (s[r * 4 + 1] - s[r * 4 + 2]) / 2
        dw[r * 3 + 2] = (s[r * 4 + 1] + s[r * 4 + 2]) / 2 + s[r * 4 + 3]


def winograd_weights(const floating[:, :, :, ::1] w, floating[:, :, ::1] U, bint turned, int num_threads=1):
    """U[4i + j, f, c] = (G g G^T)[i, j] for g = w[f, c] (3x3): the filters of :func:`winograd_forward`.

    With ``turned``, the filters of the convolution that gives dx instead: U[4i + j, c, f] for
    g = w[f, c] turned 180 degrees (U then has shape (16, C, F)).
    """
    cdef Py_ssize_t F = w.shape[0], C = w.shape[1], plane = F * C, i
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(w.shape[2] == 3 and w.shape[3] == 3, "w must hold 3x3 filters")
    _check(U.shape[0] == 16 and U.shape[1] == (C if turned else F) and U.shape[2] == (F if turned else C),
           f"U must have shape {(16, C, F) if turned else (16, F, C)}")
    if plane == 0:
        return
    cdef const floating* w_ptr = &w[0, 0, 0, 0]
    cdef floating* u = &U[0, 0, 0]
    for i in prange(plane, nogil=True, num_threads=num_threads, schedule="static"):  # i = f*C + c
        _filter_transform(w_ptr + i * 9, turned, u + ((i % C) * F + i // C if turned else i), plane)


def winograd_filter_gradient(const floating[:, ::1] dU_parts, floating[:, :, :, ::1] dw, int num_threads=1):
    """dw[f, c] = G^T dU[:, f, c] G (3x3), dU (16, F, C) the sum of the first ``num_threads`` rows of
    dU_parts (from :func:`winograd_backward_weights`), added in thread order."""
    cdef Py_ssize_t F = dw.shape[0], C = dw.shape[1], plane = F * C, i
    _check(num_threads >= 1, f"num_threads must be >= 1, got {num_threads}")
    _check(dw.shape[2] == 3 and dw.shape[3] == 3 and dU_parts.shape[1] == 16 * plane
           and dU_parts.shape[0] >= num_threads, "dw must be (F, C, 3, 3) and dU_parts (threads, 16*F*C)")
    if plane == 0:
        return
    cdef const floating* parts = &dU_parts[0, 0]
    cdef floating* out = &dw[0, 0, 0, 0]
    cdef Py_ssize_t part_length = dU_parts.shape[1]
    for i in prange(plane, nogil=True, num_threads=num_threads, schedule="static"):
        _filter_gradient(parts + i, part_length, num_threads, plane, out + i * 9)
