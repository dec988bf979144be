// x86-64 micro-kernels: AVX2 + FMA. Each function has its own target attribute; the unit builds at
// the x86-64 baseline and Swift calls these only on CPUs that report avx2 and fma.
#if defined(__x86_64__)
#include "CSwiftletKernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define SWK_AVX2 __attribute__((target("avx2,fma")))
#if defined(__clang__)
#define SWK_UNROLL _Pragma("unroll")
#else
#define SWK_UNROLL _Pragma("GCC unroll 16")
#endif

// ---- float32 ----

/// Lane mask for the first `r` of 8 lanes (r in 0...8).
SWK_AVX2 static inline __m256i swk_mask8(size_t r) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), idx);
}

#define F32_MR SWK_F32_MR_AVX2

/// HardSwish or HardSigmoid of 8 lanes; max(0, v) and min(k, v) return v when it is NaN, as the
/// reference's comparisons do. HardSwish multiplies by 1/6 where the reference divides by 6 (within
/// one rounding of it, inside a float variant's tolerance; a division costs ten multiplications here).
SWK_AVX2 static inline __attribute__((always_inline)) __m256 swk_act8(__m256 x, int kind, __m256 a, __m256 b) {
    const __m256 zero = _mm256_setzero_ps();
    if (kind == SWK_ACT_HARDSWISH) {
        const __m256 c = _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(zero, _mm256_add_ps(x, _mm256_set1_ps(3.0f))));
        return _mm256_mul_ps(_mm256_mul_ps(x, c), _mm256_set1_ps(1.0f / 6.0f));
    }
    return _mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_max_ps(zero, _mm256_add_ps(_mm256_mul_ps(a, x), b)));
}

/// Stores 16 clamped outputs, the first `nr` of them, with `ACT` (0, SWK_ACT_HARDSWISH or
/// SWK_ACT_HARDSIGMOID, a constant where inlined; `va`, `vb` its parameters) applied after the clamp.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_store16_f32(float *out, __m256 v0, __m256 v1, size_t nr, __m256 vlo,
                                                                          __m256 vhi, int ACT, __m256 va, __m256 vb) {
    v0 = _mm256_min_ps(_mm256_max_ps(v0, vlo), vhi);
    v1 = _mm256_min_ps(_mm256_max_ps(v1, vlo), vhi);
    if (ACT) {
        v0 = swk_act8(v0, ACT, va, vb);
        v1 = swk_act8(v1, ACT, va, vb);
    }
    if (nr >= SWK_F32_NR) {
        _mm256_storeu_ps(out, v0);
        _mm256_storeu_ps(out + 8, v1);
    } else if (nr > 8) {
        _mm256_storeu_ps(out, v0);
        _mm256_maskstore_ps(out + 8, swk_mask8(nr - 8), v1);
    } else if (nr == 8) {
        _mm256_storeu_ps(out, v0);  // not masked: a masked store costs several plain ones on AMD cores
    } else {
        _mm256_maskstore_ps(out, swk_mask8(nr), v0);
    }
}

/// One row of A (a fully connected layer at batch 1): four blocks of 16 outputs at once, so eight
/// independent sums hide the FMA latency where one block's two could not; each output is still
/// bias, then k in order, as in the tiled path.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_gemv_f32_avx2fma(size_t n, size_t k, const float *a, const float *w, float *c,
                                                                               __m256 vlo, __m256 vhi, int ACT, __m256 va, __m256 vb) {
    const size_t block = SWK_F32_NR * (k + 1);
    size_t n0 = 0;
    for (; n0 + 4 * SWK_F32_NR <= n; n0 += 4 * SWK_F32_NR) {
        const float *wb = w + (n0 / SWK_F32_NR) * block;
        __m256 acc[4][2];
        SWK_UNROLL for (size_t j = 0; j < 4; j++) {
            acc[j][0] = _mm256_load_ps(wb + j * block);
            acc[j][1] = _mm256_load_ps(wb + j * block + 8);
        }
        for (size_t kk = 0; kk < k; kk++) {
            const __m256 av = _mm256_broadcast_ss(a + kk);
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                const float *wp = wb + j * block + SWK_F32_NR * (kk + 1);
                acc[j][0] = _mm256_fmadd_ps(av, _mm256_load_ps(wp), acc[j][0]);
                acc[j][1] = _mm256_fmadd_ps(av, _mm256_load_ps(wp + 8), acc[j][1]);
            }
        }
        SWK_UNROLL for (size_t j = 0; j < 4; j++) swk_store16_f32(c + n0 + j * SWK_F32_NR, acc[j][0], acc[j][1], SWK_F32_NR, vlo, vhi, ACT, va, vb);
    }
    for (; n0 < n; n0 += SWK_F32_NR) {
        const float *wb = w + (n0 / SWK_F32_NR) * block;
        __m256 acc0 = _mm256_load_ps(wb), acc1 = _mm256_load_ps(wb + 8);
        for (size_t kk = 0; kk < k; kk++) {
            const __m256 av = _mm256_broadcast_ss(a + kk);
            acc0 = _mm256_fmadd_ps(av, _mm256_load_ps(wb + SWK_F32_NR * (kk + 1)), acc0);
            acc1 = _mm256_fmadd_ps(av, _mm256_load_ps(wb + SWK_F32_NR * (kk + 1) + 8), acc1);
        }
        swk_store16_f32(c + n0, acc0, acc1, n - n0, vlo, vhi, ACT, va, vb);
    }
}

SWK_AVX2 static inline __attribute__((always_inline)) void swk_gemm_f32_body(size_t m, size_t n, size_t k, const float *a, size_t a_stride,
                                                                            const float *w, float *c, size_t c_stride, float lo, float hi,
                                                                            int ACT, float act_a, float act_b) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m256 va = _mm256_set1_ps(act_a), vb = _mm256_set1_ps(act_b);
    const size_t block = SWK_F32_NR * (k + 1);
    for (size_t m0 = 0; m0 < m; m0 += F32_MR) {
        const size_t mr = m - m0 < F32_MR ? m - m0 : F32_MR;
        if (mr == 1) {
            swk_gemv_f32_avx2fma(n, k, a + m0 * a_stride, w, c + m0 * c_stride, vlo, vhi, ACT, va, vb);
            continue;
        }
        const float *ap[F32_MR];
        float *cp[F32_MR];
        SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
            // Rows past the end repeat the last one; their results are not stored.
            size_t rr = r < mr ? r : mr - 1;
            ap[r] = a + (m0 + rr) * a_stride;
            cp[r] = c + (m0 + rr) * c_stride;
        }
        const float *wb = w;
        for (size_t n0 = 0; n0 < n; n0 += SWK_F32_NR, wb += block) {
            if (n - n0 <= 8) {
                // A last block of at most 8 outputs: half the tile (the packed block's upper half is zeros).
                __m256 acc8[F32_MR];
                const __m256 b0 = _mm256_load_ps(wb);
                SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) acc8[r] = b0;
                const float *wp = wb + SWK_F32_NR;
                for (size_t kk = 0; kk < k; kk++, wp += SWK_F32_NR) {
                    const __m256 w0 = _mm256_load_ps(wp);
                    SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) acc8[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap[r] + kk), w0, acc8[r]);
                }
                SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) if (r < mr) swk_store16_f32(cp[r] + n0, acc8[r], acc8[r], n - n0, vlo, vhi, ACT, va, vb);
                continue;
            }
            __m256 acc[F32_MR][2];
            const __m256 b0 = _mm256_load_ps(wb), b1 = _mm256_load_ps(wb + 8);
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                acc[r][0] = b0;
                acc[r][1] = b1;
            }
            const float *wp = wb + SWK_F32_NR;
            for (size_t kk = 0; kk < k; kk++, wp += SWK_F32_NR) {
                const __m256 w0 = _mm256_load_ps(wp), w1 = _mm256_load_ps(wp + 8);
                SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                    const __m256 av = _mm256_broadcast_ss(ap[r] + kk);
                    acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
                }
            }
            const size_t nr = n - n0 < SWK_F32_NR ? n - n0 : SWK_F32_NR;
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) if (r < mr) swk_store16_f32(cp[r] + n0, acc[r][0], acc[r][1], nr, vlo, vhi, ACT, va, vb);
        }
    }
}

/// The GEMM's epilogue applies HardSwish or HardSigmoid itself (`act`), where a separate pass over
/// the output cost MobileNetV3-Small a twentieth of its time.
SWK_AVX2 void swk_gemm_f32_avx2fma(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w,
                                   float *c, size_t c_stride, float lo, float hi, int act, float act_a, float act_b) {
    if (act == SWK_ACT_HARDSWISH) {
        swk_gemm_f32_body(m, n, k, a, a_stride, w, c, c_stride, lo, hi, SWK_ACT_HARDSWISH, act_a, act_b);
    } else if (act == SWK_ACT_HARDSIGMOID) {
        swk_gemm_f32_body(m, n, k, a, a_stride, w, c, c_stride, lo, hi, SWK_ACT_HARDSIGMOID, act_a, act_b);
    } else {
        swk_gemm_f32_body(m, n, k, a, a_stride, w, c, c_stride, lo, hi, 0, act_a, act_b);
    }
}

/// The float GEMM with A read straight from the input rows (a convolution's interior pixels, dilation
/// 1 across: each kernel row's window is `seg` = kw · C contiguous floats): pixel i's depth values of
/// kernel row ky start at rows[ky] + i · pixel_step; a NULL row is outside the image and adds nothing
/// (float padding is zero), its weights skipped. The packed weights are the GEMM's (depth in ky, kx, c
/// order), so this computes what im2col + swk_gemm_f32_avx2fma computes, sum for sum in the same
/// order, without writing the im2col rows (a first layer's 27 or 75 floats a pixel).
SWK_AVX2 static inline __attribute__((always_inline)) void swk_conv_rows_f32_body(
    size_t m, size_t n, size_t kh, size_t seg, const float *const *rows, size_t pixel_step, const float *w, float *c,
    size_t c_stride, float lo, float hi, int ACT, float act_a, float act_b) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m256 va = _mm256_set1_ps(act_a), vb = _mm256_set1_ps(act_b);
    const size_t k = kh * seg, block = SWK_F32_NR * (k + 1);
    for (size_t m0 = 0; m0 < m; m0 += F32_MR) {
        const size_t mr = m - m0 < F32_MR ? m - m0 : F32_MR;
        float *cp[F32_MR];
        size_t off[F32_MR];
        SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
            const size_t rr = r < mr ? r : mr - 1;  // rows past the end repeat the last; not stored
            off[r] = (m0 + rr) * pixel_step;
            cp[r] = c + (m0 + rr) * c_stride;
        }
        const float *wb = w;
        for (size_t n0 = 0; n0 < n; n0 += SWK_F32_NR, wb += block) {
            const int half = n - n0 <= 8;
            __m256 acc[F32_MR][2];
            const __m256 b0 = _mm256_load_ps(wb), b1 = _mm256_load_ps(wb + 8);
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                acc[r][0] = b0;
                acc[r][1] = b1;
            }
            for (size_t ky = 0; ky < kh; ky++) {
                if (!rows[ky]) continue;
                const float *wp = wb + SWK_F32_NR * (1 + ky * seg);
                const float *ap[F32_MR];
                SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) ap[r] = rows[ky] + off[r];
                if (half) {
                    // A last block of at most 8 outputs (the packed block's upper half is zeros).
                    for (size_t j = 0; j < seg; j++, wp += SWK_F32_NR) {
                        const __m256 w0 = _mm256_load_ps(wp);
                        SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) acc[r][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap[r] + j), w0, acc[r][0]);
                    }
                } else {
                    for (size_t j = 0; j < seg; j++, wp += SWK_F32_NR) {
                        const __m256 w0 = _mm256_load_ps(wp), w1 = _mm256_load_ps(wp + 8);
                        SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                            const __m256 av = _mm256_broadcast_ss(ap[r] + j);
                            acc[r][0] = _mm256_fmadd_ps(av, w0, acc[r][0]);
                            acc[r][1] = _mm256_fmadd_ps(av, w1, acc[r][1]);
                        }
                    }
                }
            }
            const size_t nr = n - n0 < SWK_F32_NR ? n - n0 : SWK_F32_NR;
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) if (r < mr) swk_store16_f32(cp[r] + n0, acc[r][0], acc[r][1], nr, vlo, vhi, ACT, va, vb);
        }
    }
}

SWK_AVX2 void swk_conv_rows_f32_avx2fma(size_t m, size_t n, size_t kh, size_t seg, const float *const *rows, size_t pixel_step,
                                        const float *w, float *c, size_t c_stride, float lo, float hi, int act, float act_a,
                                        float act_b) {
    if (act == SWK_ACT_HARDSWISH) {
        swk_conv_rows_f32_body(m, n, kh, seg, rows, pixel_step, w, c, c_stride, lo, hi, SWK_ACT_HARDSWISH, act_a, act_b);
    } else if (act == SWK_ACT_HARDSIGMOID) {
        swk_conv_rows_f32_body(m, n, kh, seg, rows, pixel_step, w, c, c_stride, lo, hi, SWK_ACT_HARDSIGMOID, act_a, act_b);
    } else {
        swk_conv_rows_f32_body(m, n, kh, seg, rows, pixel_step, w, c, c_stride, lo, hi, 0, act_a, act_b);
    }
}

/// Four interior output pixels (from `ox`) of the channel block at `c0`: every weight load serves four
/// FMAs, no bounds checks. `MODE` (a constant where inlined) says which of the block's 16 channels
/// exist: 0 all; 1 more than 8 (the second vector masked by `m1`); 2 exactly 8 (the second vector not
/// touched); 3 fewer than 8 (the first masked by `m0`, the second not touched). The last block of a C
/// that is not a multiple of 16 (BlazeFace's 24, 28, 36… channels) takes 1–3: masked loads and stores
/// only where a vector is partial, since on this core a masked store costs several plain ones even
/// when its mask is empty.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_dw4_f32(int MODE, const swk_dw_geometry *g, const float *const *rows,
                                                                      const float *wb, size_t c0, size_t ox, __m256i m0, __m256i m1,
                                                                      float *y, __m256 vlo, __m256 vhi) {
    const size_t C = g->channels, kh = g->kh, kw = g->kw;
    const ptrdiff_t ix0 = (ptrdiff_t)(ox * g->sw) - g->pad_left;
    const int two = MODE <= 1;
    const __m256 b0 = _mm256_load_ps(wb), b1 = _mm256_load_ps(wb + 8);
    __m256 a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
    const float *wp = wb + SWK_DW_CB;
    const size_t ps = g->sw * C;
#define SWK_DW4_LOAD0(p) (MODE == 3 ? _mm256_maskload_ps(p, m0) : _mm256_loadu_ps(p))
#define SWK_DW4_LOAD1(p) (MODE == 0 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m1))
    for (size_t ky = 0; ky < kh; ky++) {
        const float *row = rows[ky];
        if (!row) {
            wp += kw * SWK_DW_CB;
            continue;
        }
        const float *xp = row + (size_t)ix0 * C + c0;
        for (size_t kx = 0; kx < kw; kx++, wp += SWK_DW_CB, xp += g->dw * C) {
            const __m256 w0 = _mm256_load_ps(wp);
            a00 = _mm256_fmadd_ps(SWK_DW4_LOAD0(xp), w0, a00);
            a10 = _mm256_fmadd_ps(SWK_DW4_LOAD0(xp + ps), w0, a10);
            a20 = _mm256_fmadd_ps(SWK_DW4_LOAD0(xp + 2 * ps), w0, a20);
            a30 = _mm256_fmadd_ps(SWK_DW4_LOAD0(xp + 3 * ps), w0, a30);
            if (two) {
                const __m256 w1 = _mm256_load_ps(wp + 8);
                a01 = _mm256_fmadd_ps(SWK_DW4_LOAD1(xp + 8), w1, a01);
                a11 = _mm256_fmadd_ps(SWK_DW4_LOAD1(xp + ps + 8), w1, a11);
                a21 = _mm256_fmadd_ps(SWK_DW4_LOAD1(xp + 2 * ps + 8), w1, a21);
                a31 = _mm256_fmadd_ps(SWK_DW4_LOAD1(xp + 3 * ps + 8), w1, a31);
            }
        }
    }
#undef SWK_DW4_LOAD0
#undef SWK_DW4_LOAD1
    const __m256 r[8] = {a00, a01, a10, a11, a20, a21, a30, a31};
    float *yp = y + ox * g->y_stride + c0;
    SWK_UNROLL for (size_t i = 0; i < 4; i++, yp += g->y_stride) {
        const __m256 v0 = _mm256_min_ps(_mm256_max_ps(r[2 * i], vlo), vhi);
        if (MODE == 3) {
            _mm256_maskstore_ps(yp, m0, v0);
        } else {
            _mm256_storeu_ps(yp, v0);
        }
        if (two) {
            const __m256 v1 = _mm256_min_ps(_mm256_max_ps(r[2 * i + 1], vlo), vhi);
            if (MODE == 0) {
                _mm256_storeu_ps(yp + 8, v1);
            } else {
                _mm256_maskstore_ps(yp + 8, m1, v1);
            }
        }
    }
}

SWK_AVX2 void swk_dwconv_f32_avx2fma(const swk_dw_geometry *g, const float *x, const float *w, float *y, float lo, float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const size_t C = g->channels, taps = g->kh * g->kw;
    const size_t block = SWK_DW_CB * (taps + 1);
    const float *rows[16];
    swk_dw_rows(g, x, sizeof(float), (const void **)rows);
    const size_t kh = g->kh, kw = g->kw;
    // Output pixels whose every column tap is inside the image: [oxLo, oxHi).
    const ptrdiff_t pl = g->pad_left, sw = (ptrdiff_t)g->sw, span = (ptrdiff_t)((kw - 1) * g->dw);
    ptrdiff_t oxLo = (pl + sw - 1) / sw;
    ptrdiff_t oxHi = (ptrdiff_t)g->in_w - span + pl <= 0 ? 0 : ((ptrdiff_t)g->in_w - 1 - span + pl) / sw + 1;
    if (oxHi > (ptrdiff_t)g->out_w) oxHi = (ptrdiff_t)g->out_w;
    if (oxLo > oxHi) oxLo = oxHi;
    const float *wb = w;
    for (size_t c0 = 0; c0 < C; c0 += SWK_DW_CB, wb += block) {
        const size_t cr = C - c0 < SWK_DW_CB ? C - c0 : SWK_DW_CB;
        const __m256i m0 = swk_mask8(cr < 8 ? cr : 8), m1 = swk_mask8(cr > 8 ? cr - 8 : 0);
        const __m256 b0 = _mm256_load_ps(wb), b1 = _mm256_load_ps(wb + 8);
        size_t ox = 0;
        while (ox < g->out_w) {
            const ptrdiff_t ix0 = (ptrdiff_t)(ox * g->sw) - pl;
            if ((ptrdiff_t)ox >= oxLo && (ptrdiff_t)ox + 4 <= oxHi) {
                if (cr == SWK_DW_CB) {
                    swk_dw4_f32(0, g, rows, wb, c0, ox, m0, m1, y, vlo, vhi);
                } else if (cr > 8) {
                    swk_dw4_f32(1, g, rows, wb, c0, ox, m0, m1, y, vlo, vhi);
                } else if (cr == 8) {
                    swk_dw4_f32(2, g, rows, wb, c0, ox, m0, m1, y, vlo, vhi);
                } else {
                    swk_dw4_f32(3, g, rows, wb, c0, ox, m0, m1, y, vlo, vhi);
                }
                ox += 4;
                continue;
            }
            __m256 acc0 = b0, acc1 = b1;
            const float *wp = wb + SWK_DW_CB;
            for (size_t ky = 0; ky < kh; ky++) {
                const float *row = rows[ky];
                if (!row) {
                    wp += kw * SWK_DW_CB;
                    continue;
                }
                for (size_t kx = 0; kx < kw; kx++, wp += SWK_DW_CB) {
                    ptrdiff_t ix = ix0 + (ptrdiff_t)(kx * g->dw);
                    if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
                    const float *xp = row + (size_t)ix * C + c0;
                    if (cr == SWK_DW_CB) {
                        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(xp), _mm256_load_ps(wp), acc0);
                        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(xp + 8), _mm256_load_ps(wp + 8), acc1);
                    } else {
                        acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(xp, m0), _mm256_load_ps(wp), acc0);
                        acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(xp + 8, m1), _mm256_load_ps(wp + 8), acc1);
                    }
                }
            }
            acc0 = _mm256_min_ps(_mm256_max_ps(acc0, vlo), vhi);
            acc1 = _mm256_min_ps(_mm256_max_ps(acc1, vlo), vhi);
            float *yp = y + ox * g->y_stride + c0;
            // Masked stores only for a partial vector (as in swk_dw4_f32).
            if (cr >= 8) {
                _mm256_storeu_ps(yp, acc0);
            } else {
                _mm256_maskstore_ps(yp, m0, acc0);
            }
            if (cr == SWK_DW_CB) {
                _mm256_storeu_ps(yp + 8, acc1);
            } else if (cr > 8) {
                _mm256_maskstore_ps(yp + 8, m1, acc1);
            }
            ox++;
        }
    }
}

// Winograd F(2×2, 3×3): the input and output transforms (the header gives the layouts).

SWK_AVX2 void swk_wino23_input_f32_avx2(const float *const *rows, size_t in_w, size_t channels, ptrdiff_t ix0, size_t tiles,
                                        float *v, size_t v_stride, size_t cs) {
    const int allRows = rows[0] && rows[1] && rows[2] && rows[3];
    for (size_t t = 0; t < tiles; t++) {
        const ptrdiff_t x0 = ix0 + 2 * (ptrdiff_t)t;
        const int inside = allRows && x0 >= 0 && x0 + 4 <= (ptrdiff_t)in_w;
        float *o = v + t * cs;
        for (size_t c0 = 0; c0 < channels; c0 += 8) {
            const size_t cr = channels - c0 < 8 ? channels - c0 : 8;
            __m256 d[4][4];
            float win[128];
            const float *base[4];
            size_t step;
            if (inside && cr == 8) {
                for (size_t r = 0; r < 4; r++) base[r] = rows[r] + (size_t)x0 * channels + c0;
                step = channels;
            } else {
                swk_wino_gather(rows, x0, in_w, channels, c0, cr, 8, win);
                for (size_t r = 0; r < 4; r++) base[r] = win + 32 * r;
                step = 8;
            }
            SWK_UNROLL for (size_t r = 0; r < 4; r++) {
                SWK_UNROLL for (size_t j = 0; j < 4; j++) d[r][j] = _mm256_loadu_ps(base[r] + j * step);
            }
            // Bᵀ d, then (Bᵀ d) B.
            __m256 s[4][4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                s[0][j] = _mm256_sub_ps(d[0][j], d[2][j]);
                s[1][j] = _mm256_add_ps(d[1][j], d[2][j]);
                s[2][j] = _mm256_sub_ps(d[2][j], d[1][j]);
                s[3][j] = _mm256_sub_ps(d[1][j], d[3][j]);
            }
            float *oc = o + c0;
            SWK_UNROLL for (size_t i = 0; i < 4; i++) {
                _mm256_storeu_ps(oc + (4 * i + 0) * v_stride, _mm256_sub_ps(s[i][0], s[i][2]));
                _mm256_storeu_ps(oc + (4 * i + 1) * v_stride, _mm256_add_ps(s[i][1], s[i][2]));
                _mm256_storeu_ps(oc + (4 * i + 2) * v_stride, _mm256_sub_ps(s[i][2], s[i][1]));
                _mm256_storeu_ps(oc + (4 * i + 3) * v_stride, _mm256_sub_ps(s[i][1], s[i][3]));
            }
        }
    }
}

/// Stores 8 outputs, the first `nr` of them.
SWK_AVX2 static inline void swk_store8_f32(float *p, __m256 v, size_t nr, __m256i m) {
    if (nr >= 8) _mm256_storeu_ps(p, v);
    else _mm256_maskstore_ps(p, m, v);
}

SWK_AVX2 void swk_wino23_output_f32_avx2(const float *m, size_t m_stride, size_t m_row, size_t tiles, size_t n, const float *bias,
                                         float *y0, float *y1, size_t cols, size_t y_stride, float lo, float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (size_t o0 = 0; o0 < n; o0 += 8) {
        const size_t nr = n - o0 < 8 ? n - o0 : 8;
        const __m256i mask = swk_mask8(nr);
        const __m256 b = nr == 8 ? _mm256_loadu_ps(bias + o0) : _mm256_maskload_ps(bias + o0, mask);
        for (size_t t = 0; t < tiles; t++) {
            const float *mt = m + t * m_row + o0;
            __m256 a[16];
            SWK_UNROLL for (size_t x = 0; x < 16; x++) a[x] = _mm256_loadu_ps(mt + x * m_stride);
            // Aᵀ M: two rows of four.
            __m256 s0[4], s1[4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                s0[j] = _mm256_add_ps(_mm256_add_ps(a[j], a[4 + j]), a[8 + j]);
                s1[j] = _mm256_sub_ps(_mm256_sub_ps(a[4 + j], a[8 + j]), a[12 + j]);
            }
            // (Aᵀ M) A, + bias, clamped.
            __m256 r00 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]), b);
            __m256 r01 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]), b);
            __m256 r10 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]), b);
            __m256 r11 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]), b);
            r00 = _mm256_min_ps(_mm256_max_ps(r00, vlo), vhi);
            r01 = _mm256_min_ps(_mm256_max_ps(r01, vlo), vhi);
            r10 = _mm256_min_ps(_mm256_max_ps(r10, vlo), vhi);
            r11 = _mm256_min_ps(_mm256_max_ps(r11, vlo), vhi);
            const size_t c = 2 * t;
            const int second = c + 1 < cols;
            if (y0) {
                swk_store8_f32(y0 + c * y_stride + o0, r00, nr, mask);
                if (second) swk_store8_f32(y0 + (c + 1) * y_stride + o0, r01, nr, mask);
            }
            if (y1) {
                swk_store8_f32(y1 + c * y_stride + o0, r10, nr, mask);
                if (second) swk_store8_f32(y1 + (c + 1) * y_stride + o0, r11, nr, mask);
            }
        }
    }
}

// ---- int8 ----

/// The per-lane constants of `swk_mulfp8`, derived from a multiplier and a shift vector once per
/// channel block: the odd lanes' multipliers moved to the even positions `_mm256_mul_epi32` reads,
/// the left and right shifts, and RoundingDivideByPOT's mask and half mask; or, for float32
/// requantization (`fp`), the scales (the multiplier words hold their bits).
typedef struct {
    __m256i m, m_odd, left, right, mask, half;
    __m256 scale;
    int fp;
} swk_rq8;

SWK_AVX2 static inline swk_rq8 swk_rq8_make(__m256i mult, __m256i shift, int fp) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    swk_rq8 q;
    q.fp = fp;
    q.scale = _mm256_castsi256_ps(mult);
    if (fp) {
        q.m = q.m_odd = q.left = q.right = q.mask = q.half = zero;
        return q;
    }
    q.m = mult;
    q.m_odd = _mm256_shuffle_epi32(mult, 0xF5);
    q.left = _mm256_max_epi32(shift, zero);
    q.right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    q.mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, q.right), one);
    q.half = _mm256_srli_epi32(q.mask, 1);
    return q;
}

/// Calls `body(…, 1)` or `body(…, 0)` by `out->float32`: the int8 GEMM and depthwise kernels are
/// always-inline bodies compiled once per requantization mode, with the mode a constant in each copy
/// (a test per vector cost the fixed-point path a fifth of its time: MobileNetV2 3.84 → 4.60 ms).
#define SWK_PER_REQUANT_MODE(body, ...) \
    do { if (out->float32) body(__VA_ARGS__, 1); else body(__VA_ARGS__, 0); } while (0)

/// Float32 requantization of 8 lanes before the zero point: round-to-nearest-even of acc · scale,
/// kept within ±SWK_RQ_FLOAT_MAX (so the conversion is exact and adding a zero point cannot wrap).
SWK_AVX2 static inline __m256i swk_mulf8(__m256i acc, __m256 scale) {
    const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), scale);
    const __m256 b = _mm256_set1_ps(SWK_RQ_FLOAT_MAX);
    return _mm256_cvtps_epi32(_mm256_max_ps(_mm256_min_ps(f, b), _mm256_sub_ps(_mm256_setzero_ps(), b)));
}

/// FixedPoint.multiply of 8 int32 lanes, each with its own multiplier (in [0, 2^31)) and shift, or,
/// with `q->fp`, `swk_mulf8`.
/// SaturatingRoundingDoublingHighMul(x, m) is gemmlowp's (x·m + nudge) / 2^31 with C's truncating
/// division, nudge = 2^30 for x·m ≥ 0 and 1 − 2^30 below; for x·m < 0 that truncation equals the floor
/// of (x·m + 2^30) / 2^31 (−⌊(−p − 1 + 2^30) / 2^31⌋ = ⌊(p + 2^30) / 2^31⌋), so both signs are
/// (x·m + 2^30) >> 31: signed 32 × 32 → 64-bit products, one add, one shift. Its bits 31–62 are the
/// result (|x·m| < 2^62), so a logical 64-bit shift serves. The saturating case needs m = −2^31,
/// which a multiplier never is. RoundingDivideByPOT follows FixedPoint's formula.
SWK_AVX2 static inline __m256i swk_mulfp8q(__m256i acc, const swk_rq8 *q) {
    if (q->fp) return swk_mulf8(acc, q->scale);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i x = _mm256_sllv_epi32(acc, q->left);
    const __m256i nudge = _mm256_set1_epi64x(1LL << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, q->m), nudge);
    // The odd lanes copied down by a shuffle, not a 64-bit shift: after a shift the compiler knows
    // the high halves are zero and rewrites the signed multiply as vpmuludq plus a sign fix-up.
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_shuffle_epi32(x, 0xF5), q->m_odd), nudge);
    // Even lanes: bits 31–62 shifted down; odd lanes: shifted up into the high half.
    const __m256i r = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    // RoundingDivideByPOT(r, right): (r >> e) + (remainder > (mask >> 1) + (r < 0)).
    const __m256i rem = _mm256_and_si256(r, q->mask);
    const __m256i threshold = _mm256_sub_epi32(q->half, _mm256_cmpgt_epi32(zero, r));
    return _mm256_sub_epi32(_mm256_srav_epi32(r, q->right), _mm256_cmpgt_epi32(rem, threshold));
}

/// `swk_mulfp8q` for results that are narrowed with saturation (vpackssdw, then the zero point added
/// with vpaddsw and vpacksswb): in float32 mode only the upper bound is applied before the
/// conversion. A product below −SWK_RQ_FLOAT_MAX converts to a value at or below it (INT32_MIN when
/// out of range), which saturates to −32768 and then to the clamp's low end, as the reference's
/// −SWK_RQ_FLOAT_MAX does; a product above it must be bounded, since an out-of-range conversion gives
/// INT32_MIN, not a large positive value. One operation fewer a vector (XNNPACK bounds the same side).
SWK_AVX2 static inline __m256i swk_mulfp8q_sat(__m256i acc, const swk_rq8 *q) {
    if (!q->fp) return swk_mulfp8q(acc, q);
    const __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), q->scale);
    // Mode 2 (SWK_RQ_FLOAT_BOUNDED): the layer's weights, bias and scales keep every product below
    // 2^30 whatever the inputs (swk_gemm_qs8_float_bounded), so the bound cannot bite.
    if (q->fp == SWK_RQ_FLOAT_BOUNDED) return _mm256_cvtps_epi32(f);
    return _mm256_cvtps_epi32(_mm256_min_ps(f, _mm256_set1_ps(SWK_RQ_FLOAT_MAX)));
}

/// `swk_mulfp8q` with the constants derived in place.
SWK_AVX2 static inline __m256i swk_mulfp8(__m256i acc, __m256i mult, __m256i shift, int fp) {
    const swk_rq8 q = swk_rq8_make(mult, shift, fp);
    return swk_mulfp8q(acc, &q);
}

/// `swk_mulfp8q`, then + zero point and the clamp.
SWK_AVX2 static inline __m256i swk_requant8q(__m256i acc, const swk_rq8 *q, __m256i zp, __m256i lo, __m256i hi) {
    const __m256i r = _mm256_add_epi32(swk_mulfp8q(acc, q), zp);
    return _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
}

/// `swk_mulfp8`, then + zero point and the clamp.
SWK_AVX2 static inline __m256i swk_requant8(__m256i acc, __m256i mult, __m256i shift, int fp, __m256i zp, __m256i lo, __m256i hi) {
    const __m256i r = _mm256_add_epi32(swk_mulfp8(acc, mult, shift, fp), zp);
    return _mm256_min_epi32(_mm256_max_epi32(r, lo), hi);
}

/// The low byte of each of 8 int32 lanes (already clamped to int8) as 8 bytes.
SWK_AVX2 static inline __m128i swk_narrow8(__m256i v) {
    __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    return _mm_packs_epi16(p16, p16);
}

SWK_AVX2 static inline void swk_store_bytes(int8_t *dst, __m128i v, size_t count) {
    if (count >= 8) {
        _mm_storel_epi64((__m128i *)dst, v);
    } else {
        swk_store_partial8(dst, (uint64_t)_mm_cvtsi128_si64(v), count);
    }
}

/// `count` (≤ 8) bytes into the low 8 bytes of a vector, zeros above: one 8-byte load when all 8 are
/// there (the usual case), else the tail's bytes in 4-, 2- and 1-byte loads.
SWK_AVX2 static inline __m128i swk_load_bytes(const int8_t *src, size_t count) {
    if (count >= 8) return _mm_loadl_epi64((const __m128i *)src);
    return _mm_cvtsi64_si128((int64_t)swk_load_partial8(src, count));
}

SWK_AVX2 void swk_requant_avx2(size_t count, const int32_t *acc, const int32_t *multiplier, const int32_t *shift, int8_t *y,
                               const swk_qs8_output *out) {
    const __m256i zp = _mm256_set1_epi32(out->zero_point), lo = _mm256_set1_epi32(out->lo), hi = _mm256_set1_epi32(out->hi);
    for (size_t i = 0; i < count; i += 8) {
        size_t r = count - i < 8 ? count - i : 8;
        int32_t a[8] = {0}, m[8] = {0}, s[8] = {0};
        memcpy(a, acc + i, r * 4);
        memcpy(m, multiplier + i, r * 4);
        memcpy(s, shift + i, r * 4);
        __m256i v = swk_requant8(_mm256_loadu_si256((const __m256i *)a), _mm256_loadu_si256((const __m256i *)m),
                                 _mm256_loadu_si256((const __m256i *)s), out->float32, zp, lo, hi);
        swk_store_bytes(y + i, swk_narrow8(v), r);
    }
}

/// vpshufb controls: 16 bytes from offset 16 − r move bytes 16 − r … 15 of a vector to 0 … r − 1 and
/// zero the rest (0x80 selects zero).
static const int8_t swk_tail_shuffle[32] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128, -128,
};

/// Rows of A the AVX2 int8 GEMM takes at once (8 accumulators). Six rows (12 accumulators, the two
/// weight vectors and a broadcast: all 16 registers) measured 3–8 % slower on MobileNetV2 and
/// SqueezeNet here (Zen 3).
#define X86_QS8_MR SWK_QS8_MR
_Static_assert(X86_QS8_MR <= SWK_QS8_MR, "the scratch is sized by SWK_QS8_MR");

/// Stores the first `count` (1–4) of four rows of 8 outputs each, `swk_mulfp8q` results in the GEMM's
/// [0 1 4 5 | 2 3 6 7] order (`natural`: in order, as the VNNI GEMM leaves them), adding the zero point
/// and clamping on the way: packed to int16 with saturation, + zero point with saturation, packed to
/// int8 with saturation, clamped to [lo, hi] ⊆ int8 — the same bytes as clamping r + zp in int32, since
/// every saturation lands beyond [lo, hi] on the side r + zp is. Bytes [row r outputs 0 1 4 5] land in
/// dword r of the low lane and [2 3 6 7] in dword r of the high lane; each row's two dwords are
/// gathered, then (unless `natural`) its bytes.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_store_rows4(const __m256i *rv, size_t count, int8_t *cp, size_t c_stride,
                                                                          __m256i zp16, __m256i lo8, __m256i hi8, int natural) {
    const __m256i a16 = _mm256_adds_epi16(_mm256_packs_epi32(rv[0], rv[1]), zp16);
    const __m256i b16 = _mm256_adds_epi16(_mm256_packs_epi32(rv[2], rv[3]), zp16);
    const __m256i b8 = _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(a16, b16), lo8), hi8);
    __m256i rowsq = _mm256_permutevar8x32_epi32(b8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    if (!natural) {
        rowsq = _mm256_shuffle_epi8(rowsq, _mm256_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15,
                                                            0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15));
    }
    const __m128i r01 = _mm256_castsi256_si128(rowsq), r23 = _mm256_extracti128_si256(rowsq, 1);
    _mm_storel_epi64((__m128i *)cp, r01);
    if (count > 1) _mm_storeh_pd((double *)(cp + c_stride), _mm_castsi128_pd(r01));
    if (count > 2) _mm_storel_epi64((__m128i *)(cp + 2 * c_stride), r23);
    if (count > 3) _mm_storeh_pd((double *)(cp + 3 * c_stride), _mm_castsi128_pd(r23));
}

/// A row of `k` int8 as int16 at `dst`, zero-padded to `kp` (a multiple of 4). The tail is the row's
/// last 16 bytes shifted down to the tail's start with zeros above it, as one vector: its 16 int16 may
/// run past kp (the scratch has SWK_QS8_SLACK bytes of room, and a tile's later rows are written after).
SWK_AVX2 static inline void swk_widen_row(const int8_t *src, size_t k, size_t kp, int16_t *dst) {
    size_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
        _mm256_storeu_si256((__m256i *)(dst + kk), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(src + kk))));
    }
    if (kk < k && k >= 16) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(src + k - 16));
        const __m128i shuffle = _mm_loadu_si128((const __m128i *)(swk_tail_shuffle + 16 - (k - kk)));
        _mm256_storeu_si256((__m256i *)(dst + kk), _mm256_cvtepi8_epi16(_mm_shuffle_epi8(v, shuffle)));
        kk = kp;
    }
    for (; kk < k; kk++) dst[kk] = src[kk];
    for (; kk < kp; kk++) dst[kk] = 0;
}

/// One requantized row of 8 outputs from a block's two accumulators (the tiled path's epilogue for one row).
SWK_AVX2 static inline void swk_gemv_qs8_store(const uint8_t *wb, __m256i accL, __m256i accH, int8_t *cp, size_t nr,
                                               __m256i zp, __m256i lo, __m256i hi, int fp) {
    const __m256i bias = _mm256_load_si256((const __m256i *)wb);
    const swk_rq8 rq = swk_rq8_make(_mm256_load_si256((const __m256i *)(wb + 32)), _mm256_load_si256((const __m256i *)(wb + 64)), fp);
    const __m256i s = _mm256_add_epi32(_mm256_permute4x64_epi64(_mm256_hadd_epi32(accL, accH), 0xD8), bias);
    swk_store_bytes(cp, swk_narrow8(swk_requant8q(s, &rq, zp, lo, hi)), nr);
}

/// One row of A (a fully connected layer at batch 1), already int16 in `x`: four blocks of 8 outputs
/// at once, eight independent sums (the tiled path would compute four rows for one).
SWK_AVX2 static inline __attribute__((always_inline)) void swk_gemv_qs8_avx2(size_t n, size_t kq, const int16_t *x, const void *w, int8_t *c,
                                       __m256i zp, __m256i lo, __m256i hi, int fp) {
    const size_t block = 96 + 32 * kq;
    size_t n0 = 0;
    for (; n0 + 4 * SWK_QS8_NR <= n; n0 += 4 * SWK_QS8_NR) {
        const uint8_t *wb = (const uint8_t *)w + (n0 / SWK_QS8_NR) * block;
        __m256i accL[4], accH[4];
        SWK_UNROLL for (size_t j = 0; j < 4; j++) accL[j] = accH[j] = _mm256_setzero_si256();
        for (size_t q = 0; q < kq; q++) {
            int64_t four;
            memcpy(&four, x + 4 * q, 8);
            const __m256i xv = _mm256_set1_epi64x(four);
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                const uint8_t *wp = wb + j * block + 96 + 32 * q;
                accL[j] = _mm256_add_epi32(accL[j], _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wp)), xv));
                accH[j] = _mm256_add_epi32(accH[j], _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 16))), xv));
            }
        }
        SWK_UNROLL for (size_t j = 0; j < 4; j++) swk_gemv_qs8_store(wb + j * block, accL[j], accH[j], c + n0 + j * SWK_QS8_NR, SWK_QS8_NR, zp, lo, hi, fp);
    }
    for (; n0 < n; n0 += SWK_QS8_NR) {
        const uint8_t *wb = (const uint8_t *)w + (n0 / SWK_QS8_NR) * block;
        __m256i accL = _mm256_setzero_si256(), accH = _mm256_setzero_si256();
        for (size_t q = 0; q < kq; q++) {
            int64_t four;
            memcpy(&four, x + 4 * q, 8);
            const __m256i xv = _mm256_set1_epi64x(four);
            const uint8_t *wp = wb + 96 + 32 * q;
            accL = _mm256_add_epi32(accL, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wp)), xv));
            accH = _mm256_add_epi32(accH, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 16))), xv));
        }
        swk_gemv_qs8_store(wb, accL, accH, c + n0, n - n0 < SWK_QS8_NR ? n - n0 : SWK_QS8_NR, zp, lo, hi, fp);
    }
}

/// One tile of `R` rows of A (R a constant where inlined: 2 or 4; rows past the end repeat the last)
/// against every block of 8 outputs.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_qs8_tile_avx2(
    size_t R, const int8_t *a, size_t a_stride, size_t m0, size_t mr, size_t n, size_t k, size_t kq, size_t kp, size_t block,
    const void *w, int8_t *c, size_t c_stride, int16_t *scratch, __m256i zp, __m256i lo, __m256i hi, int fp, __m256i zp16,
    __m256i lo8, __m256i hi8) {
    // The tile's rows of A as int16, zero-padded to a multiple of 4 (rows past the end repeat the last).
    SWK_UNROLL for (size_t r = 0; r < R; r++) swk_widen_row(a + (m0 + (r < mr ? r : mr - 1)) * a_stride, k, kp, scratch + r * kp);
    const uint8_t *wb = (const uint8_t *)w;
    for (size_t n0 = 0; n0 < n; n0 += SWK_QS8_NR, wb += block) {
        // The bias starts the sums: output o's in the first of its two lanes of accL (o < 4) or
        // accH, zero in the second, so the pairwise sums below add it once.
        const __m256i biasL = _mm256_cvtepu32_epi64(_mm_load_si128((const __m128i *)wb));
        const __m256i biasH = _mm256_cvtepu32_epi64(_mm_load_si128((const __m128i *)(wb + 16)));
        __m256i accL[X86_QS8_MR], accH[X86_QS8_MR];
        SWK_UNROLL for (size_t r = 0; r < R; r++) {
            accL[r] = biasL;
            accH[r] = biasH;
        }
        const uint8_t *wp = wb + 96;
        const int16_t *xp = scratch;
        for (size_t q = 0; q < kq; q++, wp += 32, xp += 4) {
            const __m256i w8 = _mm256_loadu_si256((const __m256i *)wp);
            const __m256i wl = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(w8));
            const __m256i wh = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(w8, 1));
            SWK_UNROLL for (size_t r = 0; r < R; r++) {
                int64_t four;
                memcpy(&four, xp + r * kp, 8);
                const __m256i xv = _mm256_set1_epi64x(four);
                accL[r] = _mm256_add_epi32(accL[r], _mm256_madd_epi16(wl, xv));
                accH[r] = _mm256_add_epi32(accH[r], _mm256_madd_epi16(wh, xv));
            }
        }
        // Summing each accumulator pair leaves a row's outputs in the order [0 1 4 5 | 2 3 6 7]
        // (vphaddd); the requantization constants are put in that order once per block (vpermq
        // 0xD8 swaps the middle quadwords, and is its own inverse) and the bytes put back in order
        // at the end.
        const swk_rq8 rq = swk_rq8_make(_mm256_permute4x64_epi64(_mm256_load_si256((const __m256i *)(wb + 32)), 0xD8),
                                        _mm256_permute4x64_epi64(_mm256_load_si256((const __m256i *)(wb + 64)), 0xD8), fp);
        const size_t nr = n - n0 < SWK_QS8_NR ? n - n0 : SWK_QS8_NR;
        __m256i rv[X86_QS8_MR];
        SWK_UNROLL for (size_t r = 0; r < R; r++) rv[r] = swk_mulfp8q(_mm256_hadd_epi32(accL[r], accH[r]), &rq);
        int8_t *cp = c + m0 * c_stride + n0;
        if (nr == SWK_QS8_NR) {
            size_t r = 0;
            for (; r + 4 <= mr; r += 4) swk_store_rows4(rv + r, 4, cp + r * c_stride, c_stride, zp16, lo8, hi8, 0);
            if (r < mr) {
                const __m256i last = rv[mr - 1];
                const __m256i four[4] = {rv[r], r + 1 < mr ? rv[r + 1] : last, r + 2 < mr ? rv[r + 2] : last, last};
                swk_store_rows4(four, mr - r, cp + r * c_stride, c_stride, zp16, lo8, hi8, 0);
            }
        } else {
            for (size_t r = 0; r < mr; r++) {
                const __m256i v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(rv[r], zp), lo), hi);
                swk_store_bytes(cp + r * c_stride, swk_narrow8(_mm256_permute4x64_epi64(v, 0xD8)), nr);
            }
        }
    }
}

SWK_AVX2 static inline __attribute__((always_inline)) void swk_gemm_qs8_avx2_body(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                                int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch, int FP) {
    const size_t kq = (k + 3) / 4, kp = kq * 4;
    const size_t block = 96 + 32 * kq;
    const __m256i zp = _mm256_set1_epi32(out->zero_point), lo = _mm256_set1_epi32(out->lo), hi = _mm256_set1_epi32(out->hi);
    const int fp = FP;
    const __m256i zp16 = _mm256_set1_epi16((int16_t)out->zero_point);
    const __m256i lo8 = _mm256_set1_epi8((int8_t)out->lo), hi8 = _mm256_set1_epi8((int8_t)out->hi);
    for (size_t m0 = 0; m0 < m; m0 += X86_QS8_MR) {
        const size_t mr = m - m0 < X86_QS8_MR ? m - m0 : X86_QS8_MR;
        if (mr == 1) {
            swk_widen_row(a + m0 * a_stride, k, kp, scratch);
            swk_gemv_qs8_avx2(n, kq, scratch, w, c + m0 * c_stride, zp, lo, hi, fp);
            continue;
        }
        // Two rows where two are left (a row of 14 or 7 pixels ends in one): a four-row tile would
        // compute them twice.
        if (mr == 2) {
            swk_qs8_tile_avx2(2, a, a_stride, m0, mr, n, k, kq, kp, block, w, c, c_stride, scratch, zp, lo, hi, fp, zp16, lo8, hi8);
        } else {
            swk_qs8_tile_avx2(X86_QS8_MR, a, a_stride, m0, mr, n, k, kq, kp, block, w, c, c_stride, scratch, zp, lo, hi, fp, zp16, lo8, hi8);
        }
    }
}

SWK_AVX2 void swk_gemm_qs8_avx2(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                                int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch) {
    SWK_PER_REQUANT_MODE(swk_gemm_qs8_avx2_body, m, n, k, a, a_stride, w, c, c_stride, out, scratch);
}

// ---- int8 GEMM with AVX-512 VNNI (vpdpbusd on 256-bit registers) ----

#define SWK_AVX512VNNI __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512vnni")))
/// Output blocks whose compensation the VNNI GEMM computes once per call (2,048 outputs).
#define SWK_VNNI_COMP_BLOCKS 256
// SWK_VNNI_MR (8) rows a tile: 8 × 16 outputs keep 16 sums in flight (32 vector registers with
// AVX-512 VL), where 4 × 16 left vpdpbusd's latency showing. Its 8 rows of bytes fit the scratch sized
// for SWK_QS8_MR rows of int16.
_Static_assert(SWK_VNNI_MR <= 2 * SWK_QS8_MR, "the VNNI GEMM's byte rows fit the int16 scratch");

/// A row of `k` int8 as uint8 (128 added: the top bit flipped) at `dst`, padded to `kp` with 0x80.
SWK_AVX512VNNI static inline void swk_flip_row(const int8_t *src, size_t k, size_t kp, uint8_t *dst) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    size_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
        _mm256_storeu_si256((__m256i *)(dst + kk), _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + kk)), flip));
    }
    // The tail (k − kk < 32) and the padding to kp (kp − kk ≤ 32): a masked load (the bytes past k
    // load as 0 and leave as 0x80) and a whole 32-byte store. The store runs up to 32 − (kp − kk)
    // bytes into the next row, which is written after this one, or into the scratch's slack after
    // the last row (SWK_QS8_SLACK); a masked store here would keep the tile's 4-byte loads from
    // being forwarded from it (they wait for it to reach the cache: tools/bench/gemm-shape measured
    // the 16 → 96 expansion at 112² and the first layer's 27 → 32, all of whose rows end this way,
    // 5 % slower with the masked store).
    if (kk < kp) {
        const __m256i v = _mm256_xor_si256(_mm256_maskz_loadu_epi8((__mmask32)((1ull << (k - kk)) - 1), src + kk), flip);
        _mm256_storeu_si256((__m256i *)(dst + kk), v);
    }
}

/// `NB` (1 or 2) blocks of 8 outputs from block `wb` on, for the `R` flipped rows in `scratch`
/// (`swk_qs8_tile_vnni` says how), requantized and stored.
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_qs8_blocks_vnni(
    size_t R, size_t NB, int HC, const uint8_t *scratch, size_t kp, size_t kq, const uint8_t *wb, size_t block, const __m256i *comps,
    size_t n0, size_t n, size_t m0, size_t mr, int8_t *c, size_t c_stride, __m256i zp, __m256i lo, __m256i hi, int fp,
    __m256i zp16, __m256i lo8, __m256i hi8) {
    // Each broadcast input serves every block. With `comps` (HC, a constant where inlined), the
    // compensation comes off the bias before the sums; without, it is summed from the same weight
    // vectors and comes off after.
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256i acc[2][SWK_VNNI_MR], comp[2];
    SWK_UNROLL for (size_t j = 0; j < NB; j++) {
        __m256i bias = _mm256_load_si256((const __m256i *)(wb + j * block));
        if (HC) bias = _mm256_sub_epi32(bias, comps[n0 / SWK_QS8_NR + j]);
        SWK_UNROLL for (size_t r = 0; r < R; r++) acc[j][r] = bias;
        comp[j] = _mm256_setzero_si256();
    }
    const uint8_t *wp = wb + 96;
    const uint8_t *xp = scratch;
    for (size_t q = 0; q < kq; q++, wp += 32, xp += 4) {
        __m256i w8[2];
        SWK_UNROLL for (size_t j = 0; j < NB; j++) {
            w8[j] = _mm256_loadu_si256((const __m256i *)(wp + j * block));
            if (!HC) comp[j] = _mm256_dpbusd_epi32(comp[j], flip, w8[j]);
        }
        SWK_UNROLL for (size_t r = 0; r < R; r++) {
            uint32_t v;
            memcpy(&v, xp + r * kp, 4);
            const __m256i xv = _mm256_set1_epi32((int)v);
            SWK_UNROLL for (size_t j = 0; j < NB; j++) acc[j][r] = _mm256_dpbusd_epi32(acc[j][r], xv, w8[j]);
        }
    }
    if (NB == 2 && R >= 2 && n0 + 2 * SWK_QS8_NR <= n) {
        // Two full blocks: each row's 16 outputs packed together and stored as one 16-byte row, two
        // rows a vector (the packs interleave the blocks' dwords; vpermd puts them back in order).
        const swk_rq8 rq0 = swk_rq8_make(_mm256_load_si256((const __m256i *)(wb + 32)), _mm256_load_si256((const __m256i *)(wb + 64)), fp);
        const swk_rq8 rq1 = swk_rq8_make(_mm256_load_si256((const __m256i *)(wb + block + 32)),
                                         _mm256_load_si256((const __m256i *)(wb + block + 64)), fp);
        const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        SWK_UNROLL for (size_t r = 0; r < R; r += 2) {
            if (r < mr) {
                __m256i p[2];
                SWK_UNROLL for (size_t h = 0; h < 2; h++) {
                    const __m256i a0 = HC ? acc[0][r + h] : _mm256_sub_epi32(acc[0][r + h], comp[0]);
                    const __m256i a1 = HC ? acc[1][r + h] : _mm256_sub_epi32(acc[1][r + h], comp[1]);
                    p[h] = _mm256_adds_epi16(_mm256_packs_epi32(swk_mulfp8q_sat(a0, &rq0), swk_mulfp8q_sat(a1, &rq1)), zp16);
                }
                const __m256i b8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p[0], p[1]), order);
                const __m256i v = _mm256_min_epi8(_mm256_max_epi8(b8, lo8), hi8);
                int8_t *cp = c + (m0 + r) * c_stride + n0;
                _mm_storeu_si128((__m128i *)cp, _mm256_castsi256_si128(v));
                if (r + 1 < mr) _mm_storeu_si128((__m128i *)(cp + c_stride), _mm256_extracti128_si256(v, 1));
            }
        }
        return;
    }
    SWK_UNROLL for (size_t j = 0; j < NB; j++) {
        const uint8_t *bj = wb + j * block;
        const swk_rq8 rq = swk_rq8_make(_mm256_load_si256((const __m256i *)(bj + 32)), _mm256_load_si256((const __m256i *)(bj + 64)), fp);
        const size_t o = n0 + j * SWK_QS8_NR;
        const size_t nr = n - o < SWK_QS8_NR ? n - o : SWK_QS8_NR;
        if (R >= 4 && nr == SWK_QS8_NR) {
            // A full block, four rows at a time: packed and clamped together (rows past mr are not stored).
            SWK_UNROLL for (size_t r0 = 0; r0 < R; r0 += 4) {
                if (r0 < mr) {
                    __m256i rv[4];
                    SWK_UNROLL for (size_t r = 0; r < 4; r++) rv[r] = swk_mulfp8q_sat(HC ? acc[j][r0 + r] : _mm256_sub_epi32(acc[j][r0 + r], comp[j]), &rq);
                    swk_store_rows4(rv, mr - r0 < 4 ? mr - r0 : 4, c + (m0 + r0) * c_stride + o, c_stride, zp16, lo8, hi8, 1);
                }
            }
            continue;
        }
        SWK_UNROLL for (size_t r = 0; r < R; r++) {
            if (r < mr) {
                const __m256i v = swk_requant8q(HC ? acc[j][r] : _mm256_sub_epi32(acc[j][r], comp[j]), &rq, zp, lo, hi);
                swk_store_bytes(c + (m0 + r) * c_stride + o, swk_narrow8(v), nr);
            }
        }
    }
}

/// One tile of `R` rows of A (R a constant where inlined: 1, 2, 4 or 8; rows past the end repeat the
/// last) against every block of 8 outputs, two blocks at a time. The packed block is vpdpbusd's
/// layout already (output o's four weights of group q in dword o of the group's 32 bytes). vpdpbusd
/// takes unsigned × signed bytes, so the tile's rows go to `scratch` with 128 added to each input
/// (`swk_flip_row`), and 128 · Σ w per output (from `comps`, or computed from the same weight vectors)
/// comes off the sums: Σ (x + 128) w − 128 Σ w = Σ x w, exact in int32 arithmetic modulo 2^32, so the
/// requantized bytes equal the AVX2 path's and the reference's. The padding of a depth that is not a
/// multiple of 4 meets zero weights.
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_qs8_tile_vnni(
    size_t R, int HC, const int8_t *a, size_t a_stride, size_t m0, size_t mr, size_t n, size_t k, size_t kq, size_t block,
    const void *w, int8_t *c, size_t c_stride, uint8_t *scratch, const __m256i *comps, __m256i zp, __m256i lo, __m256i hi, int fp,
    __m256i zp16, __m256i lo8, __m256i hi8) {
    const size_t kp = 4 * kq;
    SWK_UNROLL for (size_t r = 0; r < R; r++) swk_flip_row(a + (m0 + (r < mr ? r : mr - 1)) * a_stride, k, kp, scratch + r * kp);
    const uint8_t *wb = (const uint8_t *)w;
    size_t n0 = 0;
    for (; n0 + SWK_QS8_NR < n; n0 += 2 * SWK_QS8_NR, wb += 2 * block) {
        swk_qs8_blocks_vnni(R, 2, HC, scratch, kp, kq, wb, block, comps, n0, n, m0, mr, c, c_stride, zp, lo, hi, fp, zp16, lo8, hi8);
    }
    if (n0 < n) swk_qs8_blocks_vnni(R, 1, HC, scratch, kp, kq, wb, block, comps, n0, n, m0, mr, c, c_stride, zp, lo, hi, fp, zp16, lo8, hi8);
}

/// 128 · Σ w per output of the packed blocks `w` (n outputs, depth k), as `blocks` vectors of 8 at
/// `comps`: four independent sums a block so the dependent vpdpbusd do not queue behind each other.
SWK_AVX512VNNI static void swk_vnni_comps(size_t blocks, size_t kq, const void *w, __m256i *comps) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const size_t block = 96 + 32 * kq;
    for (size_t b = 0; b < blocks; b++) {
        const uint8_t *wp = (const uint8_t *)w + b * block + 96;
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        size_t q = 0;
        for (; q + 4 <= kq; q += 4, wp += 128) {
            s0 = _mm256_dpbusd_epi32(s0, flip, _mm256_loadu_si256((const __m256i *)wp));
            s1 = _mm256_dpbusd_epi32(s1, flip, _mm256_loadu_si256((const __m256i *)(wp + 32)));
            s2 = _mm256_dpbusd_epi32(s2, flip, _mm256_loadu_si256((const __m256i *)(wp + 64)));
            s3 = _mm256_dpbusd_epi32(s3, flip, _mm256_loadu_si256((const __m256i *)(wp + 96)));
        }
        for (; q < kq; q++, wp += 32) s0 = _mm256_dpbusd_epi32(s0, flip, _mm256_loadu_si256((const __m256i *)wp));
        comps[b] = _mm256_add_epi32(_mm256_add_epi32(s0, s1), _mm256_add_epi32(s2, s3));
    }
}

SWK_AVX512VNNI void swk_gemm_qs8_vnni_compensation(size_t n, size_t k, const void *w, int32_t *comps) {
    swk_vnni_comps((n + SWK_QS8_NR - 1) / SWK_QS8_NR, (k + 3) / 4, w, (__m256i *)comps);
}

/// Whether one output's products stay below 2^30: its sum is bias + Σ x·w with x in [−128, 127], so
/// |sum| ≤ |bias| + 128 · Σ |w| (`abs_w`), in double, exact for any layer a file can hold. Below 2^30
/// the float32 product (two roundings of 2^−24 each) stays far from 2^31, and the sum cannot wrap.
/// `bias_at` and `scale_at` point at the output's int32 bias and float32 scale in a packed block.
static int swk_output_bounded(const uint8_t *bias_at, const uint8_t *scale_at, double abs_w) {
    int32_t bias;
    float scale;
    memcpy(&bias, bias_at, 4);
    memcpy(&scale, scale_at, 4);
    return (fabs((double)bias) + 128.0 * abs_w) * fabs((double)scale) < 1073741824.0;  // 0 for NaN too
}

int swk_gemm_qs8_float_bounded(size_t n, size_t k, const void *w) {
    const size_t kq = (k + 3) / 4, block = 96 + 32 * kq;
    for (size_t o = 0; o < n; o++) {
        const uint8_t *b = (const uint8_t *)w + (o / SWK_QS8_NR) * block;
        const size_t lane = o % SWK_QS8_NR;
        double sum = 0;
        for (size_t q = 0; q < kq; q++) {
            const int8_t *wq = (const int8_t *)(b + 96 + 32 * q + 4 * lane);
            for (int i = 0; i < 4; i++) sum += fabs((double)wq[i]);
        }
        if (!swk_output_bounded(b + 4 * lane, b + 32 + 4 * lane, sum)) return 0;
    }
    return 1;
}

SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_gemm_qs8_avx512vnni_body(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                                           int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch,
                                           const int32_t *given, int FP) {
    const size_t kq = (k + 3) / 4;
    const size_t block = 96 + 32 * kq;
    const __m256i zp = _mm256_set1_epi32(out->zero_point), lo = _mm256_set1_epi32(out->lo), hi = _mm256_set1_epi32(out->hi);
    const int fp = FP;
    const __m256i zp16 = _mm256_set1_epi16((int16_t)out->zero_point);
    const __m256i lo8 = _mm256_set1_epi8((int8_t)out->lo), hi8 = _mm256_set1_epi8((int8_t)out->hi);
    uint8_t *rows = (uint8_t *)scratch;
    // 128 · Σ w per output: the caller's (`given`, computed once for many calls by
    // swk_gemm_qs8_vnni_compensation), or once per call here when there are several tiles and the
    // blocks fit (8 KB of stack); otherwise each tile computes it beside its sums.
    __m256i comps[SWK_VNNI_COMP_BLOCKS];
    const size_t blocks = (n + SWK_QS8_NR - 1) / SWK_QS8_NR;
    const __m256i *cp = (const __m256i *)given;
    if (!cp && m > SWK_VNNI_MR && blocks <= SWK_VNNI_COMP_BLOCKS) {
        swk_vnni_comps(blocks, kq, w, comps);
        cp = comps;
    }
    for (size_t m0 = 0; m0 < m; m0 += SWK_VNNI_MR) {
        const size_t mr = m - m0 < SWK_VNNI_MR ? m - m0 : SWK_VNNI_MR;
        // The full tiles, and the smaller ones when the compensation was given, take it from `cp`;
        // the others compute theirs.
        if (mr == 1) {
            if (given) swk_qs8_tile_vnni(1, 1, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, cp, zp, lo, hi, fp, zp16, lo8, hi8);
            else swk_qs8_tile_vnni(1, 0, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, NULL, zp, lo, hi, fp, zp16, lo8, hi8);
        } else if (mr == 2) {
            if (given) swk_qs8_tile_vnni(2, 1, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, cp, zp, lo, hi, fp, zp16, lo8, hi8);
            else swk_qs8_tile_vnni(2, 0, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, NULL, zp, lo, hi, fp, zp16, lo8, hi8);
        } else if (mr <= 4) {
            if (given) swk_qs8_tile_vnni(4, 1, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, cp, zp, lo, hi, fp, zp16, lo8, hi8);
            else swk_qs8_tile_vnni(4, 0, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, NULL, zp, lo, hi, fp, zp16, lo8, hi8);
        } else if (cp) {
            swk_qs8_tile_vnni(SWK_VNNI_MR, 1, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, cp, zp, lo, hi, fp, zp16, lo8, hi8);
        } else {
            swk_qs8_tile_vnni(SWK_VNNI_MR, 0, a, a_stride, m0, mr, n, k, kq, block, w, c, c_stride, rows, NULL, zp, lo, hi, fp, zp16, lo8, hi8);
        }
    }
}

SWK_AVX512VNNI void swk_gemm_qs8_avx512vnni(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                                           int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch,
                                           const int32_t *comps) {
    if (out->float32 == SWK_RQ_FLOAT_BOUNDED) {
        swk_gemm_qs8_avx512vnni_body(m, n, k, a, a_stride, w, c, c_stride, out, scratch, comps, SWK_RQ_FLOAT_BOUNDED);
        return;
    }
    SWK_PER_REQUANT_MODE(swk_gemm_qs8_avx512vnni_body, m, n, k, a, a_stride, w, c, c_stride, out, scratch, comps);
}

/// Σ (x_a · w_a + x_b · w_b) per channel over `pairs` tap pairs: the two taps widened, interleaved,
/// and multiplied against the weight pairs by vpmaddwd (no int16 saturation: |x · w| ≤ 2^14).
SWK_AVX2 static inline __attribute__((always_inline)) void swk_dw_pairs_avx2(size_t pairs, const int8_t *const *tp, ptrdiff_t d,
                                                                            const __m256i *wv, __m256i *acc0, __m256i *acc1) {
    __m256i a0 = *acc0, a1 = *acc1;
    for (size_t q = 0; q < pairs; q++) {  // unrolled where `pairs` is a constant
        const __m256i xa = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(tp[2 * q] + d)));
        const __m256i xb = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(tp[2 * q + 1] + d)));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi16(xa, xb), wv[2 * q]));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi16(xa, xb), wv[2 * q + 1]));
    }
    *acc0 = a0;
    *acc1 = a1;
}

SWK_AVX2 static inline __attribute__((always_inline)) void swk_dwconv_qs8_avx2_body(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out, int FP) {
    const __m256i zp16 = _mm256_set1_epi16((int16_t)out->zero_point);
    const __m128i lo8 = _mm_set1_epi8((int8_t)out->lo), hi8 = _mm_set1_epi8((int8_t)out->hi);
    const size_t C = g->channels, taps = g->kh * g->kw, pairs = (taps + 1) / 2;
    const size_t block = 192 + 32 * pairs;
    const int8_t *rows[16], *base[SWK_DW_MAX_TAPS + 1], *border[SWK_DW_MAX_TAPS + 1];
    int8_t pad[16];
    const int rowsInside = swk_dw_setup(g, x, (int8_t)out->input_zero_point, rows, base, pad);
    // Locals, not g's fields: int8 stores may alias anything, so the compiler would reload those.
    const size_t out_w = g->out_w, y_stride = g->y_stride;
    size_t inner_lo, inner_hi;
    swk_dw_interior(g, &inner_lo, &inner_hi);
    if (!rowsInside || C < SWK_DW_CB) inner_lo = inner_hi = 0;
    // Channels past the last full block: the last block holds channels C − 16 … C − 1 (C ≥ 16), or
    // channels 0 … C − 1 zero-padded (C < 16), whose taps are read through `tail`.
    int8_t tail[SWK_DW_MAX_TAPS + 1][16];
    __m256i wv[SWK_DW_MAX_TAPS + 1];
    const uint8_t *wb = (const uint8_t *)w;
    for (size_t c0 = 0; c0 < C; c0 += SWK_DW_CB, wb += block) {
        const size_t cb = C - c0 >= SWK_DW_CB ? c0 : (C > SWK_DW_CB ? C - SWK_DW_CB : 0);
        const int narrow = C < SWK_DW_CB;
        // The kernel works in the lane order vpunpck{l,h}wd leaves: accumulator 0 holds channels 0–3
        // and 8–11, accumulator 1 channels 4–7 and 12–15. This block's weights as int16 tap pairs in
        // that order, and its bias and requantization constants likewise, once for the whole row.
        for (size_t q = 0; q < pairs; q++) {
            const __m128i w0 = _mm_loadu_si128((const __m128i *)(wb + 192 + 32 * q));
            const __m128i w1 = _mm_loadu_si128((const __m128i *)(wb + 208 + 32 * q));
            wv[2 * q] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi64(w0, w1));
            wv[2 * q + 1] = _mm256_cvtepi8_epi16(_mm_unpackhi_epi64(w0, w1));
        }
        __m256i lanes[6];
        for (size_t i = 0; i < 3; i++) {
            const __m256i a = _mm256_load_si256((const __m256i *)(wb + 64 * i)), b = _mm256_load_si256((const __m256i *)(wb + 64 * i + 32));
            lanes[2 * i] = _mm256_permute2x128_si256(a, b, 0x20);
            lanes[2 * i + 1] = _mm256_permute2x128_si256(a, b, 0x31);
        }
        const __m256i bias0 = lanes[0], bias1 = lanes[1];
        const swk_rq8 q0 = swk_rq8_make(lanes[2], lanes[4], FP), q1 = swk_rq8_make(lanes[3], lanes[5], FP);
        for (size_t ox = 0; ox < out_w; ox++) {
            ptrdiff_t d;
            const int8_t *const *tp = swk_dw_pixel(g, rows, base, border, tail, pad, ox, cb, inner_lo, inner_hi, &d);
            __m256i acc0 = bias0, acc1 = bias1;
            if (pairs == 5) {
                swk_dw_pairs_avx2(5, tp, d, wv, &acc0, &acc1);  // 3 × 3, unrolled
            } else {
                swk_dw_pairs_avx2(pairs, tp, d, wv, &acc0, &acc1);
            }
            // Packing the two accumulators lane by lane puts the channels back in order; the zero
            // point and the clamp as in swk_store_rows4 (saturating int16 add, int8 clamp).
            const __m256i p16 = _mm256_adds_epi16(_mm256_packs_epi32(swk_mulfp8q(acc0, &q0), swk_mulfp8q(acc1, &q1)), zp16);
            const __m128i b16 = _mm_min_epi8(_mm_max_epi8(_mm_packs_epi16(_mm256_castsi256_si128(p16), _mm256_extracti128_si256(p16, 1)), lo8), hi8);
            int8_t *yp = y + ox * y_stride + cb;
            if (!narrow) {
                _mm_storeu_si128((__m128i *)yp, b16);
            } else {
                int8_t tmp[16];
                _mm_storeu_si128((__m128i *)tmp, b16);
                memcpy(yp, tmp, C);
            }
        }
    }
}

SWK_AVX2 void swk_dwconv_qs8_avx2(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out) {
    SWK_PER_REQUANT_MODE(swk_dwconv_qs8_avx2_body, g, x, w, y, out);
}

// ---- int8 depthwise with AVX-512 VNNI (vpdpbusd on 256-bit registers) ----

/// Input columns a VNNI depthwise row segment gathers at most (12 KB of stack with two row groups).
#define SWK_DWV_COLS 48

/// Four 32-byte rows (channels c … c + 31 of kernel rows 4g … 4g + 3) as vpdpbusd quads: q[k] holds
/// channels 4k … 4k + 3 in its low lane and 16 + 4k … 19 + 4k in its high lane, four bytes each (one
/// per row). Used for the inputs and, the same way, for the weights, so their lanes line up.
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_dwv_quads(__m256i r0, __m256i r1, __m256i r2, __m256i r3,
                                                                              __m256i *q) {
    const __m256i a = _mm256_unpacklo_epi8(r0, r1), b = _mm256_unpackhi_epi8(r0, r1);
    const __m256i c = _mm256_unpacklo_epi8(r2, r3), d = _mm256_unpackhi_epi8(r2, r3);
    q[0] = _mm256_unpacklo_epi16(a, c);
    q[1] = _mm256_unpackhi_epi16(a, c);
    q[2] = _mm256_unpacklo_epi16(b, d);
    q[3] = _mm256_unpackhi_epi16(b, d);
}

/// Int32 lanes 4k … 4k + 3 of two 16-channel blocks' header arrays (`off` bytes into each block) as one
/// vector in the quads' lane order.
SWK_AVX512VNNI static inline __m256i swk_dwv_lanes(const uint8_t *b0, const uint8_t *b1, size_t off, size_t k) {
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + off + 16 * k))),
                                   _mm_loadu_si128((const __m128i *)(b1 + off + 16 * k)), 1);
}

/// The four sums of one pixel requantized (as the AVX2 kernel: int16 packs, the zero point by
/// saturating add, int8 packs, the clamp) and stored: 32 channels (`pair` 1), the low 16 of a lone
/// block (0), or two blocks `d1` channels apart (2).
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_dwv_store(const __m256i *acc, const swk_rq8 *rq, __m256i zp16,
                                                                              __m256i lo8, __m256i hi8, int8_t *yp, int pair, size_t d1) {
    const __m256i p01 = _mm256_adds_epi16(_mm256_packs_epi32(swk_mulfp8q_sat(acc[0], &rq[0]), swk_mulfp8q_sat(acc[1], &rq[1])), zp16);
    const __m256i p23 = _mm256_adds_epi16(_mm256_packs_epi32(swk_mulfp8q_sat(acc[2], &rq[2]), swk_mulfp8q_sat(acc[3], &rq[3])), zp16);
    const __m256i v = _mm256_min_epi8(_mm256_max_epi8(_mm256_packs_epi16(p01, p23), lo8), hi8);
    if (pair == 1) {
        _mm256_storeu_si256((__m256i *)yp, v);
    } else {
        _mm_storeu_si128((__m128i *)yp, _mm256_castsi256_si128(v));
        if (pair == 2) _mm_storeu_si128((__m128i *)(yp + d1), _mm256_extracti128_si256(v, 1));
    }
}

/// Where a VNNI depthwise row's kernel rows come from: row k of group g is read at p[g][k] + ix · step[g][k]
/// (p NULL: the input zero point).
typedef struct {
    const int8_t *p[2][4];
    size_t step[2][4];
} swk_dwv_src;

/// One segment of a VNNI depthwise row, output pixels [ox0, ox1) of the channels at `yp`: the input
/// columns they read gathered into quads (`cols`), then the sums two pixels at a time (twice the
/// independent sums in flight, each weight used twice), requantized and stored. KW, GROUPS and PAIR
/// are constants where inlined; PAIR 1: two adjacent blocks, 0: one block in both lanes, 2: two blocks
/// `d1` channels apart (the last two when C is not a multiple of 16: the second overlaps the first).
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_dwv_segment(
    size_t KW, size_t GROUPS, int PAIR, const swk_dw_geometry *g, const swk_dwv_src *src, ptrdiff_t ix0, size_t ox0, size_t ox1,
    __m256i (*cols)[2][4], __m256i (*wq)[8][4], const __m256i *bias, const swk_rq8 *rq, __m256i pad, int8_t *yp,
    __m256i zp16, __m256i lo8, __m256i hi8, size_t d1) {
    const size_t sw = g->sw, dw = g->dw, y_stride = g->y_stride;
    const size_t ncols = (ox1 - ox0 - 1) * sw + (KW - 1) * dw + 1;
    const ptrdiff_t in_w = (ptrdiff_t)g->in_w;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    // Columns [jlo, jhi) are inside the image; those before and after are the input zero point.
    const size_t jlo = ix0 < 0 ? ((size_t)-ix0 < ncols ? (size_t)-ix0 : ncols) : 0;
    const ptrdiff_t right = in_w - ix0;
    const size_t jhi = right <= (ptrdiff_t)jlo ? jlo : ((size_t)right < ncols ? (size_t)right : ncols);
    __m256i padq[4];
    swk_dwv_quads(pad, pad, pad, pad, padq);
    for (size_t j = 0; j < jlo; j++) {
        for (size_t gi = 0; gi < GROUPS; gi++) SWK_UNROLL for (size_t k = 0; k < 4; k++) cols[j][gi][k] = padq[k];
    }
    for (size_t j = jhi; j < ncols; j++) {
        for (size_t gi = 0; gi < GROUPS; gi++) SWK_UNROLL for (size_t k = 0; k < 4; k++) cols[j][gi][k] = padq[k];
    }
    for (size_t gi = 0; gi < GROUPS; gi++) {
        // A row with no pointer (outside the image, or past the kernel, where the weights are zero)
        // is the input zero point without a load; the others walk their row a column at a time.
        const int8_t *p[4];
        size_t step[4];
        SWK_UNROLL for (size_t k = 0; k < 4; k++) {
            step[k] = src->step[gi][k];
            p[k] = src->p[gi][k] ? src->p[gi][k] + (size_t)(ix0 + (ptrdiff_t)jlo) * step[k] : NULL;
        }
        for (size_t j = jlo; j < jhi; j++) {
            __m256i r[4];
            SWK_UNROLL for (size_t k = 0; k < 4; k++) {
                if (p[k]) {
                    const __m256i v = PAIR == 1 ? _mm256_loadu_si256((const __m256i *)p[k])
                                      : PAIR == 2 ? _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p[k])),
                                                                            _mm_loadu_si128((const __m128i *)(p[k] + d1)), 1)
                                                  : _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p[k]));
                    r[k] = _mm256_xor_si256(v, flip);
                    p[k] += step[k];
                } else {
                    r[k] = pad;
                }
            }
            swk_dwv_quads(r[0], r[1], r[2], r[3], cols[j][gi]);
        }
    }
    size_t ox = ox0;
    for (; ox + 2 <= ox1; ox += 2) {
        __m256i acc[2][4];
        SWK_UNROLL for (size_t k = 0; k < 4; k++) acc[0][k] = acc[1][k] = bias[k];
        const size_t j0 = (ox - ox0) * sw;
        for (size_t gi = 0; gi < GROUPS; gi++) {
            for (size_t kx = 0; kx < KW; kx++) {
                const __m256i *c0q = cols[j0 + kx * dw][gi], *c1q = cols[j0 + sw + kx * dw][gi];
                SWK_UNROLL for (size_t k = 0; k < 4; k++) {
                    const __m256i wk = wq[gi][kx][k];
                    acc[0][k] = _mm256_dpbusd_epi32(acc[0][k], c0q[k], wk);
                    acc[1][k] = _mm256_dpbusd_epi32(acc[1][k], c1q[k], wk);
                }
            }
        }
        swk_dwv_store(acc[0], rq, zp16, lo8, hi8, yp + ox * y_stride, PAIR, d1);
        swk_dwv_store(acc[1], rq, zp16, lo8, hi8, yp + (ox + 1) * y_stride, PAIR, d1);
    }
    if (ox < ox1) {
        __m256i acc[4] = {bias[0], bias[1], bias[2], bias[3]};
        const size_t j0 = (ox - ox0) * sw;
        for (size_t gi = 0; gi < GROUPS; gi++) {
            for (size_t kx = 0; kx < KW; kx++) {
                const __m256i *cq = cols[j0 + kx * dw][gi];
                SWK_UNROLL for (size_t k = 0; k < 4; k++) acc[k] = _mm256_dpbusd_epi32(acc[k], cq[k], wq[gi][kx][k]);
            }
        }
        swk_dwv_store(acc, rq, zp16, lo8, hi8, yp + ox * y_stride, PAIR, d1);
    }
}

/// `swk_dwv_segment` for the row's block mode (the same arguments in every call).
#define SWK_DWV_PAIRS(KW, GROUPS)                                                                                        \
    do {                                                                                                             \
        if (pair == 1) swk_dwv_segment(KW, GROUPS, 1, g, &src, ix0, ox0, ox1, cols, wq, bias, rq, pad, yp, zp16, lo8, hi8, d1); \
        else if (pair == 2) swk_dwv_segment(KW, GROUPS, 2, g, &src, ix0, ox0, ox1, cols, wq, bias, rq, pad, yp, zp16, lo8, hi8, d1); \
        else swk_dwv_segment(KW, GROUPS, 0, g, &src, ix0, ox0, ox1, cols, wq, bias, rq, pad, yp, zp16, lo8, hi8, d1); \
    } while (0)

/// One output row of an int8 depthwise convolution with vpdpbusd: 32 channels at a time (two packed
/// blocks; the last two of a C that is not a multiple of 16 together, the second overlapping; a last
/// lone block of 16 in both lanes, stored once). The kernel rows go in groups of
/// four, so a quad holds one input column's four rows of a channel: each input column of the row is
/// turned into quads once (flipped to unsigned, as in the VNNI GEMM) and serves every output pixel and
/// kernel column that reads it, where the AVX2 kernel widens and interleaves each tap of each pixel.
/// Σ (x + 128) w − 128 Σ w = Σ x w: the compensation comes off the bias once per row, so the sums and
/// the requantized bytes are the AVX2 kernel's. Windows of more than 8 × 8 taps, wider than the column
/// buffer, or fewer than 16 channels go to the AVX2 kernel.
SWK_AVX512VNNI static inline __attribute__((always_inline)) void swk_dwconv_qs8_avx512vnni_body(
    const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out, int FP) {
    const size_t C = g->channels, kh = g->kh, kw = g->kw, sw = g->sw, dw = g->dw;
    const size_t span = (kw - 1) * dw + 1;
    if (C < SWK_DW_CB || kh > 8 || kw > 8 || span > SWK_DWV_COLS) {
        swk_dwconv_qs8_avx2(g, x, w, y, out);
        return;
    }
    const size_t taps = kh * kw, pairs = (taps + 1) / 2, block = 192 + 32 * pairs;
    const size_t groups = (kh + 3) / 4, blocks = (C + SWK_DW_CB - 1) / SWK_DW_CB;
    const size_t seg = (SWK_DWV_COLS - span) / sw + 1;
    const int8_t *rows[16];
    swk_dw_rows(g, x, 1, (const void **)rows);
    const size_t out_w = g->out_w;
    const __m256i flip = _mm256_set1_epi8((char)0x80), zero = _mm256_setzero_si256();
    const __m256i pad = _mm256_xor_si256(_mm256_set1_epi8((char)out->input_zero_point), flip);
    const __m256i zp16 = _mm256_set1_epi16((int16_t)out->zero_point);
    const __m256i lo8 = _mm256_set1_epi8((int8_t)out->lo), hi8 = _mm256_set1_epi8((int8_t)out->hi);
    // Even bytes of each lane to its low half, odd to its high half: a tap pair's two taps apart.
    const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15,
                                           0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m256i tapv[64 + 1];
    __m256i wq[2][8][4];
    __m256i cols[SWK_DWV_COLS][2][4];
    const uint8_t *wbase = (const uint8_t *)w;
    for (size_t b = 0; b < blocks;) {
        // Two adjacent blocks (pair 1); the last two, the second overlapping (2: C − 16 is not 16
        // past the first); or a last block alone (0).
        const int pair = (b + 2) * SWK_DW_CB <= C ? 1 : b + 2 == blocks ? 2 : 0;
        const size_t c0 = pair || (b + 1) * SWK_DW_CB <= C ? b * SWK_DW_CB : C - SWK_DW_CB;
        const size_t d1 = pair == 2 ? C - SWK_DW_CB - c0 : SWK_DW_CB;
        const uint8_t *b0 = wbase + b * block, *b1 = pair ? b0 + block : b0;
        // Each tap's 32 weights (block b0's 16 in the low lane, b1's in the high lane).
        for (size_t q = 0; q < pairs; q++) {
            const __m256i s0 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(b0 + 192 + 32 * q)), split);
            const __m256i s1 = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(b1 + 192 + 32 * q)), split);
            tapv[2 * q] = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(s0, s1), 0xD8);
            tapv[2 * q + 1] = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(s0, s1), 0xD8);
        }
        __m256i comp[4] = {zero, zero, zero, zero};
        for (size_t gi = 0; gi < groups; gi++) {
            for (size_t kx = 0; kx < kw; kx++) {
                __m256i r[4];
                for (size_t k = 0; k < 4; k++) {
                    const size_t ky = 4 * gi + k;
                    r[k] = ky < kh ? tapv[ky * kw + kx] : zero;
                }
                swk_dwv_quads(r[0], r[1], r[2], r[3], wq[gi][kx]);
                for (size_t k = 0; k < 4; k++) comp[k] = _mm256_dpbusd_epi32(comp[k], flip, wq[gi][kx][k]);
            }
        }
        __m256i bias[4];
        swk_rq8 rq[4];
        for (size_t k = 0; k < 4; k++) {
            bias[k] = _mm256_sub_epi32(swk_dwv_lanes(b0, b1, 0, k), comp[k]);
            rq[k] = swk_rq8_make(swk_dwv_lanes(b0, b1, 64, k), swk_dwv_lanes(b0, b1, 128, k), FP);
        }
        // Each row of each group as a pointer and a step per column; NULL for a row outside the image
        // or past the kernel (the gather puts the input zero point there).
        swk_dwv_src src;
        for (size_t gi = 0; gi < groups; gi++) {
            for (size_t k = 0; k < 4; k++) {
                const size_t ky = 4 * gi + k;
                const int real = ky < kh && rows[ky];
                src.p[gi][k] = real ? rows[ky] + c0 : NULL;
                src.step[gi][k] = real ? C : 0;
            }
        }
        for (size_t ox0 = 0; ox0 < out_w; ox0 += seg) {
            const size_t ox1 = ox0 + seg < out_w ? ox0 + seg : out_w;
            const ptrdiff_t ix0 = (ptrdiff_t)(ox0 * sw) - g->pad_left;
            int8_t *yp = y + c0;
            // Constant window shapes unroll: MobileNet's 3 × 3 (one row group) and 5 × 5 (two).
            if (kw == 3 && groups == 1) {
                SWK_DWV_PAIRS(3, 1);
            } else if (kw == 5 && groups == 2) {
                SWK_DWV_PAIRS(5, 2);
            } else {
                SWK_DWV_PAIRS(kw, groups);
            }
        }
        b += pair ? 2 : 1;
    }
}

SWK_AVX512VNNI void swk_dwconv_qs8_avx512vnni(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y,
                                             const swk_qs8_output *out) {
    if (out->float32 == SWK_RQ_FLOAT_BOUNDED) {
        swk_dwconv_qs8_avx512vnni_body(g, x, w, y, out, SWK_RQ_FLOAT_BOUNDED);
        return;
    }
    SWK_PER_REQUANT_MODE(swk_dwconv_qs8_avx512vnni_body, g, x, w, y, out);
}

int swk_dwconv_qs8_float_bounded(size_t channels, size_t taps, const void *w) {
    // As swk_gemm_qs8_float_bounded, over the depthwise layout's blocks of 16 channels.
    const size_t pairs = (taps + 1) / 2, block = 192 + 32 * pairs, blocks = (channels + 15) / 16;
    for (size_t bi = 0; bi < blocks; bi++) {
        const uint8_t *b = (const uint8_t *)w + bi * block;
        for (size_t lane = 0; lane < 16; lane++) {
            double sum = 0;
            for (size_t q = 0; q < pairs; q++) {
                const int8_t *wq = (const int8_t *)(b + 192 + 32 * q + 2 * lane);
                sum += fabs((double)wq[0]) + fabs((double)wq[1]);
            }
            if (!swk_output_bounded(b + 4 * lane, b + 64 + 4 * lane, sum)) return 0;
        }
    }
    return 1;
}

// ---- element-wise int8 and conversions ----

/// One input's rescale of an int8 add without the 64-bit multiplies, where it is exact. The
/// reference computes f(d) = RDBPOT(SRDHM(d · 2^20, m), e) for d = x − zp ∈ [−255, 255]. SRDHM(d · 2^20, m)
/// = ⌊(d·m + 2^10) / 2^11⌋ = s; for e ≥ 1, RDBPOT(s, e) = ⌊(s + 2^(e−1) − [s < 0]) / 2^e⌋, and ⌊(⌊a⌋ + j) / 2^e⌋
/// = ⌊(a + j) / 2^e⌋ for integer j, so f = ⌊(d·m + K − [s < 0]·N) / 2^T⌋ with T = 11 + e, K = 2^10 + 2^(10+e),
/// N = 2^11 (e = 0: K = 2^10, N = 0). With m > 2^10, s < 0 exactly when d < 0. Writing m = q·2^T + r:
/// f = d·q + ⌊(d·r + K − [d < 0]·N) / 2^T⌋, where for T ≤ 22 every term fits in int32 (|d·r| < 2^30,
/// |d·q| < 2^28). `fast` says whether those conditions hold (no left shift, e ≤ 11, m > 2^10); where
/// they do not, `rq` rescales d · 2^20 the general way.
typedef struct {
    __m256i zp, q, r, k, n;
    __m128i t;
    int fast;
    swk_rq8 rq;
} swk_add_rescale;

SWK_AVX2 static inline swk_add_rescale swk_add_rescale_make(int32_t zp, int32_t m, int32_t shift) {
    swk_add_rescale a;
    const int32_t e = -shift, t = 11 + e;
    a.fast = shift <= 0 && e <= 11 && m > (1 << 10);
    a.zp = _mm256_set1_epi32(zp);
    a.q = _mm256_set1_epi32(a.fast ? m >> t : 0);
    a.r = _mm256_set1_epi32(a.fast ? m & ((1 << t) - 1) : 0);
    a.k = _mm256_set1_epi32(a.fast ? (1 << 10) + (e >= 1 ? 1 << (10 + e) : 0) : 0);
    a.n = _mm256_set1_epi32(e >= 1 ? 1 << 11 : 0);
    a.t = _mm_cvtsi32_si128(a.fast ? t : 0);
    a.rq = swk_rq8_make(_mm256_set1_epi32(m), _mm256_set1_epi32(shift), 0);
    return a;
}

SWK_AVX2 static inline __m256i swk_add_rescale8(__m256i x, const swk_add_rescale *a) {
    const __m256i d = _mm256_sub_epi32(x, a->zp);
    const __m256i low = _mm256_sub_epi32(_mm256_add_epi32(_mm256_mullo_epi32(d, a->r), a->k), _mm256_and_si256(_mm256_srai_epi32(d, 31), a->n));
    return _mm256_add_epi32(_mm256_mullo_epi32(d, a->q), _mm256_sra_epi32(low, a->t));
}

/// One input of an int8 add (8 int8 values widened to int32) at the common scale: the path above
/// (`fast`, a constant where inlined), else TFLite's d · 2^20 rescaled by the multiplier (the same
/// values either way).
SWK_AVX2 static inline __attribute__((always_inline)) __m256i swk_add_input8(__m256i x, const swk_add_rescale *a, int fast) {
    if (fast) return swk_add_rescale8(x, a);
    return swk_mulfp8q(_mm256_slli_epi32(_mm256_sub_epi32(x, a->zp), SWK_ADD_LEFT_SHIFT), &a->rq);
}

SWK_AVX2 int swk_add_rescale_avx2(size_t count, const int8_t *x, int32_t zp, int32_t m, int32_t shift, int32_t *y) {
    const swk_add_rescale a = swk_add_rescale_make(zp, m, shift);
    if (!a.fast) return 0;
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        int32_t v[8];
        _mm256_storeu_si256((__m256i *)v, swk_add_rescale8(_mm256_cvtepi8_epi32(swk_load_bytes(x + i, r)), &a));
        memcpy(y + i, v, r * 4);
    }
    return 1;
}

/// The add's loop, its inputs rescaled by the fast path or both by the general one (FAST, a constant
/// where inlined, so the loop has no branch on it).
SWK_AVX2 static inline __attribute__((always_inline)) void swk_add_loop(int FAST, size_t count, const int8_t *a, const int8_t *b,
                                                                       int8_t *y, const swk_add_rescale *r1, const swk_add_rescale *r2,
                                                                       const swk_rq8 *qo, __m256i zpo, __m256i lo, __m256i hi) {
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        const __m256i xa = swk_add_input8(_mm256_cvtepi8_epi32(swk_load_bytes(a + i, r)), r1, FAST);
        const __m256i xb = swk_add_input8(_mm256_cvtepi8_epi32(swk_load_bytes(b + i, r)), r2, FAST);
        __m256i v = _mm256_add_epi32(swk_mulfp8q(_mm256_add_epi32(xa, xb), qo), zpo);
        v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
        swk_store_bytes(y + i, swk_narrow8(v), r);
    }
}

/// The float32 add (`AddQS8Params.apply`): 8 outputs from two int8 vectors, 16 at a time.
SWK_AVX2 static inline __m256i swk_addf8(__m128i a8, __m128i b8, __m256i zp1, __m256i zp2, __m256 s1, __m256 s2, __m256 flo, __m256 fhi) {
    const __m256 fa = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(a8), zp1));
    const __m256 fb = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(b8), zp2));
    const __m256 f = _mm256_fmadd_ps(fb, s2, _mm256_mul_ps(fa, s1));
    return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(f, flo), fhi));
}

SWK_AVX2 static void swk_add_qs8_f32_avx2(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p) {
    const __m256i zp1 = _mm256_set1_epi32(p->zero_point1), zp2 = _mm256_set1_epi32(p->zero_point2);
    const __m256 s1 = _mm256_set1_ps(p->scale1), s2 = _mm256_set1_ps(p->scale2);
    const __m256 flo = _mm256_set1_ps((float)(p->lo - p->output_zero_point)), fhi = _mm256_set1_ps((float)(p->hi - p->output_zero_point));
    const __m256i zpo16 = _mm256_set1_epi16((int16_t)p->output_zero_point);
    size_t i = 0;
    // The results are within [lo − zp, hi − zp]: packing to int16 and adding the zero point neither
    // saturates nor wraps, and the sums are already in [lo, hi].
    for (; i + 16 <= count; i += 16) {
        const __m128i av = _mm_loadu_si128((const __m128i *)(a + i)), bv = _mm_loadu_si128((const __m128i *)(b + i));
        const __m256i r0 = swk_addf8(av, bv, zp1, zp2, s1, s2, flo, fhi);
        const __m256i r1 = swk_addf8(_mm_unpackhi_epi64(av, av), _mm_unpackhi_epi64(bv, bv), zp1, zp2, s1, s2, flo, fhi);
        const __m256i h = _mm256_add_epi16(_mm256_permute4x64_epi64(_mm256_packs_epi32(r0, r1), 0xD8), zpo16);
        _mm_storeu_si128((__m128i *)(y + i), _mm_packs_epi16(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
    }
    for (; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        const __m256i v = _mm256_add_epi32(swk_addf8(swk_load_bytes(a + i, r), swk_load_bytes(b + i, r), zp1, zp2, s1, s2, flo, fhi),
                                           _mm256_set1_epi32(p->output_zero_point));
        swk_store_bytes(y + i, swk_narrow8(v), r);
    }
}

SWK_AVX2 void swk_add_qs8_avx2(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p) {
    if (p->float32) {
        swk_add_qs8_f32_avx2(count, a, b, y, p);
        return;
    }
    const __m256i zpo = _mm256_set1_epi32(p->output_zero_point), lo = _mm256_set1_epi32(p->lo), hi = _mm256_set1_epi32(p->hi);
    const swk_add_rescale r1 = swk_add_rescale_make(p->zero_point1, p->multiplier1, p->shift1);
    const swk_add_rescale r2 = swk_add_rescale_make(p->zero_point2, p->multiplier2, p->shift2);
    const swk_rq8 qo = swk_rq8_make(_mm256_set1_epi32(p->output_multiplier), _mm256_set1_epi32(p->output_shift), 0);
    if (r1.fast && r2.fast) {
        swk_add_loop(1, count, a, b, y, &r1, &r2, &qo, zpo, lo, hi);
    } else {
        swk_add_loop(0, count, a, b, y, &r1, &r2, &qo, zpo, lo, hi);
    }
}

// ---- max pooling ----

/// `_mm256_max_ps(v, acc)` returns `acc` when either is NaN or both are equal: the reference's
/// `v > acc ? v : acc`, acc never being NaN.
SWK_AVX2 void swk_maxpool_f32_avx2(const swk_pool_geometry *g, const float *x, float *y) {
    const size_t C = g->channels;
    ptrdiff_t y0, y1, x0, x1;
    swk_pool_rows(g, &y0, &y1);
    for (size_t ox = 0; ox < g->out_w; ox++) {
        swk_pool_cols(g, ox, &x0, &x1);
        float *yp = y + ox * C;
        size_t c = 0;
        for (; c + 32 <= C; c += 32) {
            __m256 a0 = _mm256_set1_ps(-INFINITY), a1 = a0, a2 = a0, a3 = a0;
            for (ptrdiff_t iy = y0; iy < y1; iy++) {
                for (ptrdiff_t ix = x0; ix < x1; ix++) {
                    const float *p = x + ((size_t)iy * g->in_w + (size_t)ix) * C + c;
                    a0 = _mm256_max_ps(_mm256_loadu_ps(p), a0);
                    a1 = _mm256_max_ps(_mm256_loadu_ps(p + 8), a1);
                    a2 = _mm256_max_ps(_mm256_loadu_ps(p + 16), a2);
                    a3 = _mm256_max_ps(_mm256_loadu_ps(p + 24), a3);
                }
            }
            _mm256_storeu_ps(yp + c, a0);
            _mm256_storeu_ps(yp + c + 8, a1);
            _mm256_storeu_ps(yp + c + 16, a2);
            _mm256_storeu_ps(yp + c + 24, a3);
        }
        // The rest in 8s, the last 8 ending at the last channel (overlapping, as the int8 kernel does:
        // no masked load or store where C ≥ 8); below 8 channels, masked.
        for (; c < C; c += 8) {
            const size_t at = C >= 8 ? (c + 8 <= C ? c : C - 8) : c;
            const __m256i m = swk_mask8(C - at < 8 ? C - at : 8);
            __m256 a = _mm256_set1_ps(-INFINITY);
            for (ptrdiff_t iy = y0; iy < y1; iy++) {
                for (ptrdiff_t ix = x0; ix < x1; ix++) {
                    const float *p = x + ((size_t)iy * g->in_w + (size_t)ix) * C + at;
                    a = _mm256_max_ps(C >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m), a);
                }
            }
            if (C >= 8) {
                _mm256_storeu_ps(yp + at, a);
            } else {
                _mm256_maskstore_ps(yp + at, m, a);
            }
        }
    }
}

/// The max of the window's `W` (32, 16 or 8) channels from `c` on, stored at `yp + c`.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_maxpool_s8_chunk(size_t W, const swk_pool_geometry *g, const int8_t *x,
                                                                              int8_t *yp, size_t c, ptrdiff_t y0, ptrdiff_t y1,
                                                                              ptrdiff_t x0, ptrdiff_t x1) {
    const size_t C = g->channels;
    __m256i a = _mm256_set1_epi8(-128);
    for (ptrdiff_t iy = y0; iy < y1; iy++) {
        for (ptrdiff_t ix = x0; ix < x1; ix++) {
            const int8_t *p = x + ((size_t)iy * g->in_w + (size_t)ix) * C + c;
            const __m256i v = W == 32 ? _mm256_loadu_si256((const __m256i *)p)
                              : W == 16 ? _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p))
                                        : _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)p));
            a = _mm256_max_epi8(v, a);
        }
    }
    if (W == 32) _mm256_storeu_si256((__m256i *)(yp + c), a);
    else if (W == 16) _mm_storeu_si128((__m128i *)(yp + c), _mm256_castsi256_si128(a));
    else _mm_storel_epi64((__m128i *)(yp + c), _mm256_castsi256_si128(a));
}

/// Channels in chunks of 32; a last partial chunk is the 16 or 32 (or, below 32 channels, two chunks of
/// 16 or 8) ending at the last channel, overlapping the one before: the maximum is the same wherever it
/// is computed, so the overlapping bytes are written twice with the same value and no tail goes
/// through a copy (the copies per pixel cost BlazeFace's three poolings, 28 to 88 channels, a third
/// of their time).
/// The max of a whole `K` × `K` window (K a constant where inlined: 2 or 3) whose top-left pixel is
/// at `p`, row stride `rs` bytes, for the `W` (32 or 16) channels from `c` on, stored at `yp + c`: the
/// loads unrolled, where the generic loop's bounds and index arithmetic cost more than the loads.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_maxpool_s8_window(size_t K, size_t W, const int8_t *p, size_t rs,
                                                                               size_t C, int8_t *yp, size_t c) {
    __m256i a = _mm256_set1_epi8(-128);
    SWK_UNROLL for (size_t i = 0; i < K; i++) {
        SWK_UNROLL for (size_t j = 0; j < K; j++) {
            const int8_t *q = p + i * rs + j * C + c;
            a = _mm256_max_epi8(W == 32 ? _mm256_loadu_si256((const __m256i *)q) : _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)), a);
        }
    }
    if (W == 32) _mm256_storeu_si256((__m256i *)(yp + c), a);
    else _mm_storeu_si128((__m128i *)(yp + c), _mm256_castsi256_si128(a));
}

/// Output pixels [a, b) of a row whose windows are whole `K` × `K` squares (no clipping), C ≥ 16
/// channels: chunks of 32, the last partial one the 16 or 32 ending at the last channel (17 to 31
/// channels: two chunks of 16).
SWK_AVX2 static inline __attribute__((always_inline)) void swk_maxpool_s8_whole(size_t K, const swk_pool_geometry *g, const int8_t *x,
                                                                              int8_t *y, ptrdiff_t y0, size_t a, size_t b) {
    const size_t C = g->channels, rs = g->in_w * C;
    const int8_t *row = x + (size_t)y0 * rs;
    for (size_t ox = a; ox < b; ox++) {
        const int8_t *p = row + (size_t)((ptrdiff_t)(ox * g->sw) - g->pad_left) * C;
        int8_t *yp = y + ox * C;
        size_t c = 0;
        for (; c + 32 <= C; c += 32) swk_maxpool_s8_window(K, 32, p, rs, C, yp, c);
        if (c < C) {
            if (C - c <= 16) {
                swk_maxpool_s8_window(K, 16, p, rs, C, yp, C - 16);
            } else if (C >= 32) {
                swk_maxpool_s8_window(K, 32, p, rs, C, yp, C - 32);
            } else {  // 17 to 31 channels: two chunks of 16
                swk_maxpool_s8_window(K, 16, p, rs, C, yp, 0);
                swk_maxpool_s8_window(K, 16, p, rs, C, yp, C - 16);
            }
        }
    }
}

SWK_AVX2 void swk_maxpool_s8_avx2(const swk_pool_geometry *g, const int8_t *x, int8_t *y) {
    const size_t C = g->channels;
    ptrdiff_t y0, y1, x0, x1;
    swk_pool_rows(g, &y0, &y1);
    // Square 2 × 2 and 3 × 3 windows (every CNN max pooling here): the columns whose windows are whole
    // go through the unrolled loop; the clipped ones at either end, through the generic one below.
    size_t a = 0, b = 0;
    if (C >= 16 && g->kh == g->kw && (g->kh == 2 || g->kh == 3) && y1 - y0 == (ptrdiff_t)g->kh) {
        swk_pool_whole_cols(g, &a, &b);
        if (g->kh == 2) swk_maxpool_s8_whole(2, g, x, y, y0, a, b);
        else swk_maxpool_s8_whole(3, g, x, y, y0, a, b);
    }
    for (size_t ox = 0; ox < g->out_w; ox++) {
        if (ox == a && b > a) {
            ox = b - 1;
            continue;
        }
        swk_pool_cols(g, ox, &x0, &x1);
        int8_t *yp = y + ox * C;
        if (C >= 32) {
            size_t c = 0;
            for (; c + 32 <= C; c += 32) swk_maxpool_s8_chunk(32, g, x, yp, c, y0, y1, x0, x1);
            // A tail of up to 16 in one chunk of 16 (48 channels: two chunks' work, not four).
            if (c < C) {
                if (C - c <= 16) {
                    swk_maxpool_s8_chunk(16, g, x, yp, C - 16, y0, y1, x0, x1);
                } else {
                    swk_maxpool_s8_chunk(32, g, x, yp, C - 32, y0, y1, x0, x1);
                }
            }
        } else if (C >= 16) {
            swk_maxpool_s8_chunk(16, g, x, yp, 0, y0, y1, x0, x1);
            swk_maxpool_s8_chunk(16, g, x, yp, C - 16, y0, y1, x0, x1);
        } else if (C >= 8) {
            swk_maxpool_s8_chunk(8, g, x, yp, 0, y0, y1, x0, x1);
            swk_maxpool_s8_chunk(8, g, x, yp, C - 8, y0, y1, x0, x1);
        } else {
            for (size_t c = 0; c < C; c++) {
                int8_t m = -128;
                for (ptrdiff_t iy = y0; iy < y1; iy++) {
                    for (ptrdiff_t ix = x0; ix < x1; ix++) {
                        const int8_t v = x[((size_t)iy * g->in_w + (size_t)ix) * C + c];
                        m = v > m ? v : m;
                    }
                }
                yp[c] = m;
            }
        }
    }
}

SWK_AVX2 static inline __m256 swk_binop8(__m256 a, __m256 b, int op, __m256 lo, __m256 hi) {
    const __m256 v = op == 0 ? _mm256_add_ps(a, b) : op == 1 ? _mm256_sub_ps(a, b) : _mm256_mul_ps(a, b);
    return _mm256_min_ps(hi, _mm256_max_ps(lo, v));  // NaN and ties keep v, as the reference's comparisons
}

SWK_AVX2 void swk_binary_f32_avx2(size_t rows, size_t cols, const float *a, const float *b, size_t b_stride, float *y, int op, float lo,
                                  float hi) {
    const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols, *br = b + r * b_stride;
        float *yr = y + r * cols;
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(yr + c, swk_binop8(_mm256_loadu_ps(ar + c), _mm256_loadu_ps(br + c), op, vlo, vhi));
        if (c < cols) {
            const __m256i m = swk_mask8(cols - c);
            _mm256_maskstore_ps(yr + c, m, swk_binop8(_mm256_maskload_ps(ar + c, m), _mm256_maskload_ps(br + c, m), op, vlo, vhi));
        }
    }
}

SWK_AVX2 void swk_activation_f32_avx2(size_t pixels, size_t channels, size_t stride, float *y, int kind, float a, float b) {
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    for (size_t p = 0; p < pixels; p++) {
        float *row = y + p * stride;
        size_t c = 0;
        for (; c + 8 <= channels; c += 8) _mm256_storeu_ps(row + c, swk_act8(_mm256_loadu_ps(row + c), kind, va, vb));
        if (c < channels) {
            const __m256i m = swk_mask8(channels - c);
            _mm256_maskstore_ps(row + c, m, swk_act8(_mm256_maskload_ps(row + c, m), kind, va, vb));
        }
    }
}

SWK_AVX2 void swk_mul_qs8_avx2(size_t rows, size_t cols, const int8_t *a, const int8_t *b, size_t b_stride, int8_t *y,
                               const swk_mul_qs8_params *p) {
    const __m256i zp1 = _mm256_set1_epi32(p->zero_point1), zp2 = _mm256_set1_epi32(p->zero_point2);
    const __m256i m = _mm256_set1_epi32(p->multiplier), s = _mm256_set1_epi32(p->shift);
    const __m256i zpo = _mm256_set1_epi32(p->output_zero_point), lo = _mm256_set1_epi32(p->lo), hi = _mm256_set1_epi32(p->hi);
    for (size_t row = 0; row < rows; row++) {
        const int8_t *ar = a + row * cols, *br = b + row * b_stride;
        int8_t *yr = y + row * cols;
        for (size_t i = 0; i < cols; i += 8) {
            const size_t r = cols - i < 8 ? cols - i : 8;
            // |a − zp| and |b − zp| ≤ 255: the product fits int32 exactly.
            const __m256i xa = _mm256_sub_epi32(_mm256_cvtepi8_epi32(swk_load_bytes(ar + i, r)), zp1);
            const __m256i xb = _mm256_sub_epi32(_mm256_cvtepi8_epi32(swk_load_bytes(br + i, r)), zp2);
            swk_store_bytes(yr + i, swk_narrow8(swk_requant8(_mm256_mullo_epi32(xa, xb), m, s, 0, zpo, lo, hi)), r);
        }
    }
}

/// `vfmadd231ps` on ymm, the float GEMM's instruction (8 multiply-adds each), in twelve chains.
SWK_AVX2 int32_t swk_peak_fma_avx2(size_t iterations) {
    __m256 acc[12];
    const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_ps((float)j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_fmadd_ps(acc[j], b, c);
    }
    __m256 s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = _mm256_add_ps(s, acc[j]);
    return (int32_t)_mm256_cvtss_f32(s);
}

SWK_AVX2 int32_t swk_peak_madd_avx2(size_t iterations) {
    __m256i acc[12];
    const __m256i b = _mm256_set1_epi16(3);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_epi32(j);
    for (size_t i = 0; i < iterations; i++) {
        // Each sum feeds its next multiply: nothing to hoist, and twelve chains cover the latency.
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(acc[j], b));
    }
    __m256i s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = _mm256_xor_si256(s, acc[j]);
    return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}

SWK_AVX2 int32_t swk_peak_maddubs_avx2(size_t iterations) {
    __m256i acc[12];
    const __m256i b = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_epi32(j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) {
            acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(acc[j], b), ones));
        }
    }
    __m256i s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = _mm256_xor_si256(s, acc[j]);
    return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}

SWK_AVX512VNNI int32_t swk_peak_dpbusd_avx512vnni(size_t iterations) {
    __m256i acc[12];
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_set1_epi32(j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm256_dpbusd_epi32(acc[j], a, b);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
    }
    __m256i s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = _mm256_xor_si256(s, acc[j]);
    return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}

SWK_AVX512VNNI int32_t swk_peak_dpbusd512_avx512vnni(size_t iterations) {
    __m512i acc[12];
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm512_set1_epi32(j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]));
    }
    __m512i s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = _mm512_xor_si512(s, acc[j]);
    return _mm512_reduce_add_epi32(s);
}

/// y[i] = table[x[i] + 128], 32 bytes at a time: vpshufb looks up the low nibble in each of the 16
/// rows of 16 entries, and four rounds of vpblendvb on the high nibble's bits (each moved to a byte's
/// sign bit) keep the right row.
SWK_AVX2 void swk_lookup_s8_avx2(size_t count, const int8_t *x, const int8_t *table, int8_t *y) {
    __m256i t[16];
    for (size_t h = 0; h < 16; h++) t[h] = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(table + 16 * h)));
    const __m256i flip = _mm256_set1_epi8(-128), nibble = _mm256_set1_epi8(0x0F);
    for (size_t i = 0; i < count; i += 32) {
        const size_t r = count - i < 32 ? count - i : 32;
        __m256i v;
        int8_t tmp[32];
        if (r == 32) {
            v = _mm256_loadu_si256((const __m256i *)(x + i));
        } else {
            memset(tmp, 0, sizeof tmp);
            memcpy(tmp, x + i, r);
            v = _mm256_loadu_si256((const __m256i *)tmp);
        }
        const __m256i idx = _mm256_xor_si256(v, flip), lo = _mm256_and_si256(idx, nibble);
        // Bits 4, 5, 6 and 7 of each byte in its sign bit (16-bit shifts: a byte's bit 7 comes from its own bits).
        const __m256i b4 = _mm256_slli_epi16(idx, 3), b5 = _mm256_slli_epi16(idx, 2), b6 = _mm256_slli_epi16(idx, 1);
        __m256i l1[8], l2[4];
        SWK_UNROLL for (size_t j = 0; j < 8; j++) {
            l1[j] = _mm256_blendv_epi8(_mm256_shuffle_epi8(t[2 * j], lo), _mm256_shuffle_epi8(t[2 * j + 1], lo), b4);
        }
        SWK_UNROLL for (size_t j = 0; j < 4; j++) l2[j] = _mm256_blendv_epi8(l1[2 * j], l1[2 * j + 1], b5);
        const __m256i l3a = _mm256_blendv_epi8(l2[0], l2[1], b6), l3b = _mm256_blendv_epi8(l2[2], l2[3], b6);
        const __m256i out = _mm256_blendv_epi8(l3a, l3b, idx);
        if (r == 32) {
            _mm256_storeu_si256((__m256i *)(y + i), out);
        } else {
            _mm256_storeu_si256((__m256i *)tmp, out);
            memcpy(y + i, tmp, r);
        }
    }
}

/// FixedPoint.multiply(sums − zero_sum) + zero point, clamped to int8, for 8 channels' int32 sums.
SWK_AVX2 static inline __m128i swk_mean_requant8(__m256i sums, __m256i zero_sum, const swk_rq8 *q, __m256i zp) {
    const __m256i r = _mm256_add_epi32(swk_mulfp8q(_mm256_sub_epi32(sums, zero_sum), q), zp);
    return swk_narrow8(_mm256_min_epi32(_mm256_max_epi32(r, _mm256_set1_epi32(-128)), _mm256_set1_epi32(127)));
}

/// Sixteen channels from `c` on are summed over every pixel in int16 (|Σ| ≤ 128 · 256 over a batch of
/// 256 pixels: exact), each batch then added into int32, two pixels at a time into two sums so the adds
/// do not wait on each other. Below 16 channels the sums are taken one by one into a zero-padded row.
/// The int32 sums equal the reference's modulo 2^32, so the requantized bytes are the same.
SWK_AVX2 void swk_mean_s8_avx2(size_t pixels, size_t channels, const int8_t *x, int8_t *y, int32_t zero_sum, int32_t multiplier,
                               int32_t shift, int32_t output_zero_point) {
    const size_t C = channels;
    const swk_rq8 q = swk_rq8_make(_mm256_set1_epi32(multiplier), _mm256_set1_epi32(shift), 0);
    const __m256i zs = _mm256_set1_epi32(zero_sum), zp = _mm256_set1_epi32(output_zero_point);
    if (C < 16) {
        int32_t sums[16] = {0};
        for (size_t p = 0; p < pixels; p++) {
            for (size_t c = 0; c < C; c++) sums[c] = (int32_t)((uint32_t)sums[c] + (uint32_t)(int32_t)x[p * C + c]);  // wraps as the reference's &+=
        }
        int8_t out[16];
        _mm_storel_epi64((__m128i *)out, swk_mean_requant8(_mm256_loadu_si256((const __m256i *)sums), zs, &q, zp));
        _mm_storel_epi64((__m128i *)(out + 8), swk_mean_requant8(_mm256_loadu_si256((const __m256i *)(sums + 8)), zs, &q, zp));
        memcpy(y, out, C);
        return;
    }
    for (size_t c0 = 0; c0 < C; c0 += 16) {
        const size_t c = c0 + 16 <= C ? c0 : C - 16;  // the last chunk ends at the last channel
        __m256i lo = _mm256_setzero_si256(), hi = lo;
        for (size_t p0 = 0; p0 < pixels; p0 += 256) {
            const size_t pe = pixels - p0 < 256 ? pixels : p0 + 256;
            __m256i s0 = _mm256_setzero_si256(), s1 = s0;
            const int8_t *xp = x + p0 * C + c;
            size_t p = p0;
            for (; p + 2 <= pe; p += 2, xp += 2 * C) {
                s0 = _mm256_add_epi16(s0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)xp)));
                s1 = _mm256_add_epi16(s1, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(xp + C))));
            }
            if (p < pe) s0 = _mm256_add_epi16(s0, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)xp)));
            // Each of s0 and s1 holds at most 128 pixels; their sum is widened half by half.
            lo = _mm256_add_epi32(lo, _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s0)),
                                                       _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s1))));
            hi = _mm256_add_epi32(hi, _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(s0, 1)),
                                                       _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s1, 1))));
        }
        _mm_storel_epi64((__m128i *)(y + c), swk_mean_requant8(lo, zs, &q, zp));
        _mm_storel_epi64((__m128i *)(y + c + 8), swk_mean_requant8(hi, zs, &q, zp));
    }
}

/// Eight lanes by the reference's division: round half away from zero (truncate, then step away from
/// zero where |fraction| ≥ 0.5; v − trunc(v) is exact), + zero point, clamped; NaN gives the zero point.
SWK_AVX2 static inline __m256i swk_quantize8_divide(__m256 v, __m256 vs, __m256 zp) {
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    v = _mm256_div_ps(v, vs);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), one);  // ±1 with v's sign
    __m256 q = _mm256_add_ps(_mm256_blendv_ps(t, _mm256_add_ps(t, step), _mm256_cmp_ps(frac, half, _CMP_GE_OQ)), zp);
    const __m256 nan = _mm256_cmp_ps(q, q, _CMP_UNORD_Q);
    q = _mm256_min_ps(_mm256_max_ps(q, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
    return _mm256_cvttps_epi32(_mm256_blendv_ps(q, zp, nan));
}

/// Eight lanes by multiplication (see swk_quantize_f32_avx2): `*unsure` gets the lanes that must be
/// divided instead; the others' result is returned, clamped.
SWK_AVX2 static inline __m256i swk_quantize8_multiply(__m256 v, __m256 vinv, __m256 zp, __m256 *unsure) {
    const __m256 m = _mm256_mul_ps(v, vinv);
    const __m256 t = _mm256_round_ps(m, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256 e = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(m, t));
    *unsure = _mm256_or_ps(*unsure, _mm256_cmp_ps(e, _mm256_set1_ps(0.5f - 1.0f / 1024), _CMP_NLT_UQ));
    return _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(t, zp), _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f)));
}

/// The quotient x / scale is taken by multiplying with 1 / scale where that cannot change the result,
/// and by division (slower: SqueezeNet's input Quantize took 0.035 ms by division, 0.017 ms this way,
/// `swiftlet bench --profile`) where it might. m = x · RN(1 / scale) is
/// within |x / scale| · 1.5 · 2^−23 of the reference's correctly rounded quotient d. Where |m| ≤ 1,024
/// and m is more than 2^−10 from a half-integer, no half-integer lies between m and d (their distance
/// is below 1,025 · 1.5 · 2^−23 < 2^−12), so d rounds (half away from zero) to the integer nearest m,
/// which round-to-nearest-even also gives there. Where |m| > 1,024, d is beyond ±1,023 and both clamp
/// to the same end (zero points are within ±1,024, as checked). 32 lanes at a time; a block with any
/// lane near a half-integer, a NaN or an infinity (m − RN(m) is then NaN) is divided, as are the tail
/// and every lane when the scale's reciprocal is not a normal float.
SWK_AVX2 void swk_quantize_f32_avx2(size_t count, const float *x, int8_t *y, float scale, int32_t zero_point) {
    const __m256 vs = _mm256_set1_ps(scale), zp = _mm256_set1_ps((float)zero_point);
    const float inv = 1.0f / scale;
    const int by_multiply = isnormal(scale) && isnormal(inv) && zero_point >= -1024 && zero_point <= 1024;
    const __m256 vinv = _mm256_set1_ps(inv);
    size_t i = 0;
    if (by_multiply) {
        for (; i + 32 <= count; i += 32) {
            __m256 unsure = _mm256_setzero_ps();
            const __m256i q0 = swk_quantize8_multiply(_mm256_loadu_ps(x + i), vinv, zp, &unsure);
            const __m256i q1 = swk_quantize8_multiply(_mm256_loadu_ps(x + i + 8), vinv, zp, &unsure);
            const __m256i q2 = swk_quantize8_multiply(_mm256_loadu_ps(x + i + 16), vinv, zp, &unsure);
            const __m256i q3 = swk_quantize8_multiply(_mm256_loadu_ps(x + i + 24), vinv, zp, &unsure);
            if (_mm256_movemask_ps(unsure)) {
                for (size_t j = 0; j < 32; j += 8) {
                    _mm_storel_epi64((__m128i *)(y + i + j), swk_narrow8(swk_quantize8_divide(_mm256_loadu_ps(x + i + j), vs, zp)));
                }
                continue;
            }
            // int32 → int8 by two saturating packs (in range already), lanes back in order by vpermd.
            const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
            _mm256_storeu_si256((__m256i *)(y + i), _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
        }
    }
    for (; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        const __m256 v = r == 8 ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, swk_mask8(r));
        swk_store_bytes(y + i, swk_narrow8(swk_quantize8_divide(v, vs, zp)), r);
    }
}

SWK_AVX2 void swk_dequantize_s8_avx2(size_t count, const int8_t *x, float *y, float scale, int32_t zero_point) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i zp = _mm256_set1_epi32(zero_point);
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        int64_t xv = 0;
        memcpy(&xv, x + i, r);
        __m256 v = _mm256_mul_ps(vs, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(xv)), zp)));
        if (r == 8) {
            _mm256_storeu_ps(y + i, v);
        } else {
            _mm256_maskstore_ps(y + i, swk_mask8(r), v);
        }
    }
}
#endif
