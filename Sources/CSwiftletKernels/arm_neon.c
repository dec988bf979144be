// ARM64 micro-kernels: NEON (every ARMv8-A core) and the ARMv8.2 dot product (`sdot`), the latter
// under its own target attribute so the unit builds for the ARMv8.0 baseline and Swift calls it only
// where HWCAP reports asimddp.
#if defined(__aarch64__)
#include "CSwiftletKernels.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#if defined(__clang__)
#define SWK_DOTPROD __attribute__((target("dotprod")))
#define SWK_UNROLL _Pragma("unroll")
#else
#define SWK_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define SWK_UNROLL _Pragma("GCC unroll 16")
#endif

// ---- float32 ----

#define F32_MR SWK_F32_MR_NEON

/// One row of A (a fully connected layer at batch 1): two blocks of 16 outputs at once, eight
/// independent sums; each output is still bias, then k in order.
static void swk_gemv_f32_neon(size_t n, size_t k, const float *a, const float *w, float *c, float32x4_t vlo, float32x4_t vhi) {
    const size_t block = SWK_F32_NR * (k + 1);
    for (size_t n0 = 0; n0 < n; n0 += 2 * SWK_F32_NR) {
        const size_t blocks = n - n0 > SWK_F32_NR ? 2 : 1;
        const float *wb0 = w + (n0 / SWK_F32_NR) * block, *wb1 = blocks == 2 ? wb0 + block : wb0;
        float32x4_t acc[8];
        SWK_UNROLL for (size_t j = 0; j < 4; j++) {
            acc[j] = vld1q_f32(wb0 + 4 * j);
            acc[4 + j] = vld1q_f32(wb1 + 4 * j);
        }
        for (size_t kk = 0; kk < k; kk++) {
            const float32x4_t av = vld1q_dup_f32(a + kk);
            const float *p0 = wb0 + SWK_F32_NR * (kk + 1), *p1 = wb1 + SWK_F32_NR * (kk + 1);
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                acc[j] = vfmaq_f32(acc[j], av, vld1q_f32(p0 + 4 * j));
                acc[4 + j] = vfmaq_f32(acc[4 + j], av, vld1q_f32(p1 + 4 * j));
            }
        }
        float tmp[2 * SWK_F32_NR];
        SWK_UNROLL for (size_t j = 0; j < 8; j++) vst1q_f32(tmp + 4 * j, vminq_f32(vmaxq_f32(acc[j], vlo), vhi));
        const size_t nr = n - n0 < 2 * SWK_F32_NR ? n - n0 : 2 * SWK_F32_NR;
        memcpy(c + n0, tmp, nr * sizeof(float));
    }
}

void swk_gemm_f32_neon(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w,
                       float *c, size_t c_stride, float lo, float hi) {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    const size_t block = SWK_F32_NR * (k + 1);
    for (size_t m0 = 0; m0 < m; m0 += F32_MR) {
        const size_t mr = m - m0 < F32_MR ? m - m0 : F32_MR;
        if (mr == 1) {
            swk_gemv_f32_neon(n, k, a + m0 * a_stride, w, c + m0 * c_stride, vlo, vhi);
            continue;
        }
        const float *ap[F32_MR];
        float *cp[F32_MR];
        SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
            size_t rr = r < mr ? r : mr - 1;
            ap[r] = a + (m0 + rr) * a_stride;
            cp[r] = c + (m0 + rr) * c_stride;
        }
        const float *wb = w;
        for (size_t n0 = 0; n0 < n; n0 += SWK_F32_NR, wb += block) {
            float32x4_t acc[F32_MR][4];
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                SWK_UNROLL for (size_t j = 0; j < 4; j++) acc[r][j] = vld1q_f32(wb + 4 * j);
            }
            const float *wp = wb + SWK_F32_NR;
            for (size_t kk = 0; kk < k; kk++, wp += SWK_F32_NR) {
                const float32x4_t w0 = vld1q_f32(wp), w1 = vld1q_f32(wp + 4), w2 = vld1q_f32(wp + 8), w3 = vld1q_f32(wp + 12);
                SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) {
                    const float32x4_t av = vld1q_dup_f32(ap[r] + kk);
                    acc[r][0] = vfmaq_f32(acc[r][0], av, w0);
                    acc[r][1] = vfmaq_f32(acc[r][1], av, w1);
                    acc[r][2] = vfmaq_f32(acc[r][2], av, w2);
                    acc[r][3] = vfmaq_f32(acc[r][3], av, w3);
                }
            }
            const size_t nr = n - n0 < SWK_F32_NR ? n - n0 : SWK_F32_NR;
            SWK_UNROLL for (size_t r = 0; r < F32_MR; r++) if (r < mr) {
                float tmp[SWK_F32_NR];
                float *out = nr == SWK_F32_NR ? cp[r] + n0 : tmp;
                SWK_UNROLL for (size_t j = 0; j < 4; j++) vst1q_f32(out + 4 * j, vminq_f32(vmaxq_f32(acc[r][j], vlo), vhi));
                if (nr != SWK_F32_NR) memcpy(cp[r] + n0, tmp, nr * sizeof(float));
            }
        }
    }
}

void swk_dwconv_f32_neon(const swk_dw_geometry *g, const float *x, const float *w, float *y, float lo, float hi) {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    const size_t C = g->channels, taps = g->kh * g->kw;
    const size_t block = SWK_DW_CB * (taps + 1);
    const void *rows[16];
    swk_dw_rows(g, x, sizeof(float), rows);
    for (size_t ox = 0; ox < g->out_w; ox++) {
        const ptrdiff_t ix0 = (ptrdiff_t)(ox * g->sw) - g->pad_left;
        float *yp = y + ox * g->y_stride;
        const float *wb = w;
        for (size_t c0 = 0; c0 < C; c0 += SWK_DW_CB, wb += block) {
            const size_t cr = C - c0 < SWK_DW_CB ? C - c0 : SWK_DW_CB;
            float32x4_t acc[4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) acc[j] = vld1q_f32(wb + 4 * j);
            const float *wp = wb + SWK_DW_CB;
            for (size_t ky = 0; ky < g->kh; ky++) {
                const float *row = (const float *)rows[ky];
                if (!row) {
                    wp += g->kw * SWK_DW_CB;
                    continue;
                }
                for (size_t kx = 0; kx < g->kw; kx++, wp += SWK_DW_CB) {
                    ptrdiff_t ix = ix0 + (ptrdiff_t)(kx * g->dw);
                    if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
                    const float *xp = row + (size_t)ix * C + c0;
                    float tmp[SWK_DW_CB];
                    if (cr != SWK_DW_CB) {
                        memset(tmp, 0, sizeof tmp);
                        memcpy(tmp, xp, cr * sizeof(float));
                        xp = tmp;
                    }
                    SWK_UNROLL for (size_t j = 0; j < 4; j++) acc[j] = vfmaq_f32(acc[j], vld1q_f32(xp + 4 * j), vld1q_f32(wp + 4 * j));
                }
            }
            float tmp[SWK_DW_CB];
            float *out = cr == SWK_DW_CB ? yp + c0 : tmp;
            SWK_UNROLL for (size_t j = 0; j < 4; j++) vst1q_f32(out + 4 * j, vminq_f32(vmaxq_f32(acc[j], vlo), vhi));
            if (cr != SWK_DW_CB) memcpy(yp + c0, tmp, cr * sizeof(float));
        }
    }
}

// Winograd F(2×2, 3×3): the input and output transforms (the header gives the layouts).

void swk_wino23_input_f32_neon(const float *const *rows, size_t in_w, size_t channels, ptrdiff_t ix0, size_t tiles,
                               float *v, size_t v_stride, size_t cs) {
    const int allRows = rows[0] && rows[1] && rows[2] && rows[3];
    for (size_t t = 0; t < tiles; t++) {
        const ptrdiff_t x0 = ix0 + 2 * (ptrdiff_t)t;
        const int inside = allRows && x0 >= 0 && x0 + 4 <= (ptrdiff_t)in_w;
        float *o = v + t * cs;
        for (size_t c0 = 0; c0 < cs; c0 += 4) {
            float *oc = o + c0;
            if (c0 >= channels) {
                // The zero lanes up to cs (a multiple of 8).
                SWK_UNROLL for (size_t x = 0; x < 16; x++) vst1q_f32(oc + x * v_stride, vdupq_n_f32(0));
                continue;
            }
            const size_t cr = channels - c0 < 4 ? channels - c0 : 4;
            float32x4_t d[4][4];
            float win[64];
            const float *base[4];
            size_t step;
            if (inside && cr == 4) {
                for (size_t r = 0; r < 4; r++) base[r] = rows[r] + (size_t)x0 * channels + c0;
                step = channels;
            } else {
                swk_wino_gather(rows, x0, in_w, channels, c0, cr, 4, win);
                for (size_t r = 0; r < 4; r++) base[r] = win + 16 * r;
                step = 4;
            }
            SWK_UNROLL for (size_t r = 0; r < 4; r++) {
                SWK_UNROLL for (size_t j = 0; j < 4; j++) d[r][j] = vld1q_f32(base[r] + j * step);
            }
            float32x4_t s[4][4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                s[0][j] = vsubq_f32(d[0][j], d[2][j]);
                s[1][j] = vaddq_f32(d[1][j], d[2][j]);
                s[2][j] = vsubq_f32(d[2][j], d[1][j]);
                s[3][j] = vsubq_f32(d[1][j], d[3][j]);
            }
            SWK_UNROLL for (size_t i = 0; i < 4; i++) {
                vst1q_f32(oc + (4 * i + 0) * v_stride, vsubq_f32(s[i][0], s[i][2]));
                vst1q_f32(oc + (4 * i + 1) * v_stride, vaddq_f32(s[i][1], s[i][2]));
                vst1q_f32(oc + (4 * i + 2) * v_stride, vsubq_f32(s[i][2], s[i][1]));
                vst1q_f32(oc + (4 * i + 3) * v_stride, vsubq_f32(s[i][1], s[i][3]));
            }
        }
    }
}

/// Stores 4 outputs, the first `nr` of them.
static inline void swk_store4_f32(float *p, float32x4_t v, size_t nr) {
    if (nr >= 4) {
        vst1q_f32(p, v);
        return;
    }
    float tmp[4];
    vst1q_f32(tmp, v);
    for (size_t i = 0; i < nr; i++) p[i] = tmp[i];
}

void swk_wino23_output_f32_neon(const float *m, size_t m_stride, size_t m_row, size_t tiles, size_t n, const float *bias,
                                float *y0, float *y1, size_t cols, size_t y_stride, float lo, float hi) {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    for (size_t o0 = 0; o0 < n; o0 += 4) {
        const size_t nr = n - o0 < 4 ? n - o0 : 4;
        float bt[4] = {0, 0, 0, 0};
        for (size_t i = 0; i < nr; i++) bt[i] = bias[o0 + i];
        const float32x4_t b = vld1q_f32(bt);
        for (size_t t = 0; t < tiles; t++) {
            const float *mt = m + t * m_row + o0;
            float32x4_t a[16];
            SWK_UNROLL for (size_t x = 0; x < 16; x++) a[x] = vld1q_f32(mt + x * m_stride);
            float32x4_t s0[4], s1[4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                s0[j] = vaddq_f32(vaddq_f32(a[j], a[4 + j]), a[8 + j]);
                s1[j] = vsubq_f32(vsubq_f32(a[4 + j], a[8 + j]), a[12 + j]);
            }
            float32x4_t r00 = vaddq_f32(vaddq_f32(vaddq_f32(s0[0], s0[1]), s0[2]), b);
            float32x4_t r01 = vaddq_f32(vsubq_f32(vsubq_f32(s0[1], s0[2]), s0[3]), b);
            float32x4_t r10 = vaddq_f32(vaddq_f32(vaddq_f32(s1[0], s1[1]), s1[2]), b);
            float32x4_t r11 = vaddq_f32(vsubq_f32(vsubq_f32(s1[1], s1[2]), s1[3]), b);
            // max then min, as the AVX2 kernel and the GEMMs' clamp.
            r00 = vminq_f32(vmaxq_f32(r00, vlo), vhi);
            r01 = vminq_f32(vmaxq_f32(r01, vlo), vhi);
            r10 = vminq_f32(vmaxq_f32(r10, vlo), vhi);
            r11 = vminq_f32(vmaxq_f32(r11, vlo), vhi);
            const size_t c = 2 * t;
            const int second = c + 1 < cols;
            if (y0) {
                swk_store4_f32(y0 + c * y_stride + o0, r00, nr);
                if (second) swk_store4_f32(y0 + (c + 1) * y_stride + o0, r01, nr);
            }
            if (y1) {
                swk_store4_f32(y1 + c * y_stride + o0, r10, nr);
                if (second) swk_store4_f32(y1 + (c + 1) * y_stride + o0, r11, nr);
            }
        }
    }
}

// ---- int8 ----

/// FixedPoint.multiply of 4 lanes: x · 2^max(shift,0), then `sqrdmulh` — gemmlowp's
/// SaturatingRoundingDoublingHighMul exactly (both round half toward +∞ in the doubled product) —
/// then RoundingDivideByPOT by max(−shift,0) with FixedPoint's formula.
///
/// With `fp` (float32 requantization: `mult` holds the scales' bits), round-to-nearest-even of
/// acc · scale instead (scvtf, fmul, fcvtns), kept within ±SWK_RQ_FLOAT_MAX as on x86.
static inline int32x4_t swk_mulfp4(int32x4_t acc, int32x4_t mult, int32x4_t shift, int fp) {
    if (fp) {
        const float32x4_t f = vmulq_f32(vcvtq_f32_s32(acc), vreinterpretq_f32_s32(mult));
        const float32x4_t b = vdupq_n_f32(SWK_RQ_FLOAT_MAX);
        return vcvtnq_s32_f32(vmaxq_f32(vminq_f32(f, b), vnegq_f32(b)));
    }
    const int32x4_t zero = vdupq_n_s32(0), one = vdupq_n_s32(1);
    const int32x4_t left = vmaxq_s32(shift, zero);
    const int32x4_t right = vmaxq_s32(vnegq_s32(shift), zero);
    int32x4_t r = vqrdmulhq_s32(vshlq_s32(acc, left), mult);
    const int32x4_t mask = vsubq_s32(vshlq_s32(one, right), one);
    const int32x4_t rem = vandq_s32(r, mask);
    const int32x4_t threshold = vsubq_s32(vshrq_n_s32(mask, 1), vreinterpretq_s32_u32(vcltq_s32(r, zero)));
    return vsubq_s32(vshlq_s32(r, vnegq_s32(right)), vreinterpretq_s32_u32(vcgtq_s32(rem, threshold)));
}

/// `swk_mulfp4`, then + zero point and the clamp.
static inline int32x4_t swk_requant4(int32x4_t acc, int32x4_t mult, int32x4_t shift, int fp, int32x4_t zp, int32x4_t lo, int32x4_t hi) {
    const int32x4_t r = vaddq_s32(swk_mulfp4(acc, mult, shift, fp), zp);
    return vminq_s32(vmaxq_s32(r, lo), hi);
}

static inline void swk_store_bytes8(int8_t *dst, int8x8_t v, size_t count) {
    if (count >= 8) {
        vst1_s8(dst, v);
    } else {
        swk_store_partial8(dst, vget_lane_u64(vreinterpret_u64_s8(v), 0), count);
    }
}

void swk_requant_neon(size_t count, const int32_t *acc, const int32_t *multiplier, const int32_t *shift, int8_t *y,
                      const swk_qs8_output *out) {
    const int32x4_t zp = vdupq_n_s32(out->zero_point), lo = vdupq_n_s32(out->lo), hi = vdupq_n_s32(out->hi);
    for (size_t i = 0; i < count; i += 8) {
        size_t r = count - i < 8 ? count - i : 8;
        int32_t a[8] = {0}, m[8] = {0}, s[8] = {0};
        memcpy(a, acc + i, r * 4);
        memcpy(m, multiplier + i, r * 4);
        memcpy(s, shift + i, r * 4);
        int32x4_t v0 = swk_requant4(vld1q_s32(a), vld1q_s32(m), vld1q_s32(s), out->float32, zp, lo, hi);
        int32x4_t v1 = swk_requant4(vld1q_s32(a + 4), vld1q_s32(m + 4), vld1q_s32(s + 4), out->float32, zp, lo, hi);
        swk_store_bytes8(y + i, vqmovn_s16(vcombine_s16(vqmovn_s32(v0), vqmovn_s32(v1))), r);
    }
}

/// Four bytes of a row of A at `p` (fewer at the end of the row: zero-filled), replicated to 16.
static inline int8x16_t swk_quad(const int8_t *p, size_t avail) {
    int32_t v;
    if (avail >= 4) {
        memcpy(&v, p, 4);
    } else {
        v = (int32_t)swk_load_partial8(p, avail);
    }
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/// `count` (≤ 8) bytes, zeros above: one 8-byte load when all 8 are there, else the tail's bytes.
static inline int8x8_t swk_load_bytes8(const int8_t *src, size_t count) {
    return count >= 8 ? vld1_s8(src) : vreinterpret_s8_u64(vcreate_u64(swk_load_partial8(src, count)));
}

#define QS8_STORE(r, s0, s1)                                                                                         \
    do {                                                                                                             \
        int32x4_t q0 = swk_requant4(vaddq_s32(s0, b0), m0v, s0v, fp, zp, lo, hi);                                    \
        int32x4_t q1 = swk_requant4(vaddq_s32(s1, b1), m1v, s1v, fp, zp, lo, hi);                                    \
        swk_store_bytes8(c + (m0 + (r)) * c_stride + n0, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))), nr); \
    } while (0)

#define QS8_BLOCK_PARAMS                                                                                   \
    const int32_t *bp = (const int32_t *)wb;                                                               \
    const int32x4_t b0 = vld1q_s32(bp), b1 = vld1q_s32(bp + 4);                                            \
    const int32x4_t m0v = vld1q_s32(bp + 8), m1v = vld1q_s32(bp + 12);                                     \
    const int32x4_t s0v = vld1q_s32(bp + 16), s1v = vld1q_s32(bp + 20);                                    \
    const size_t nr = n - n0 < SWK_QS8_NR ? n - n0 : SWK_QS8_NR

/// Rows of A the NEON int8 GEMMs take at once.
#define NEON_QS8_MR SWK_QS8_MR

/// `swk_gemm_qs8_neon` for one tile of R rows of A (R a constant where inlined: {1, 4}; one row, a fully
/// connected layer at batch 1, would otherwise be computed four times).
static inline __attribute__((always_inline)) void swk_qs8_tile_neon(size_t R, const int8_t *const *ap, size_t mr, size_t m0, size_t n,
        size_t k, size_t kq, size_t block, const void *w, int8_t *c, size_t c_stride, int32x4_t zp, int32x4_t lo, int32x4_t hi, int fp) {
    const uint8_t *wb = (const uint8_t *)w;
    for (size_t n0 = 0; n0 < n; n0 += SWK_QS8_NR, wb += block) {
        int32x4_t acc[NEON_QS8_MR][4];
        SWK_UNROLL for (size_t r = 0; r < R; r++) {
            SWK_UNROLL for (size_t j = 0; j < 4; j++) acc[r][j] = vdupq_n_s32(0);
        }
        const int8_t *wp = (const int8_t *)(wb + 96);
        for (size_t q = 0; q < kq; q++, wp += 32) {
            const int8x16_t w0 = vld1q_s8(wp), w1 = vld1q_s8(wp + 16);
            SWK_UNROLL for (size_t r = 0; r < R; r++) {
                // |x| ≤ 128, |w| ≤ 127: products fit int16; sadalp adds pairs into int32.
                const int8x16_t xv = swk_quad(ap[r] + 4 * q, k - 4 * q);
                acc[r][0] = vpadalq_s16(acc[r][0], vmull_s8(vget_low_s8(w0), vget_low_s8(xv)));
                acc[r][1] = vpadalq_s16(acc[r][1], vmull_high_s8(w0, xv));
                acc[r][2] = vpadalq_s16(acc[r][2], vmull_s8(vget_low_s8(w1), vget_low_s8(xv)));
                acc[r][3] = vpadalq_s16(acc[r][3], vmull_high_s8(w1, xv));
            }
        }
        QS8_BLOCK_PARAMS;
        SWK_UNROLL for (size_t r = 0; r < R; r++) if (r < mr) {
            QS8_STORE(r, vpaddq_s32(acc[r][0], acc[r][1]), vpaddq_s32(acc[r][2], acc[r][3]));
        }
    }
}

/* The int8 GEMM driver, one for each tile: rows in tiles of NEON_QS8_MR (a partial tile's missing
   rows repeat its last row), a single row by the one-row form of the tile. ATTR is the driver's
   target attribute, which must be its tile's: an always_inline function with a target attribute
   is not inlined into a function without it. */
#define SWK_GEMM_QS8_DRIVER(ATTR, NAME, TILE)                                                                    \
    ATTR void NAME(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w, int8_t *c,     \
                   size_t c_stride, const swk_qs8_output *out, int16_t *scratch) {                               \
        (void)scratch;                                                                                          \
        const size_t kq = (k + 3) / 4;                                                                          \
        const size_t block = 96 + 32 * kq;                                                                      \
        const int32x4_t zp = vdupq_n_s32(out->zero_point), lo = vdupq_n_s32(out->lo), hi = vdupq_n_s32(out->hi); \
        for (size_t m0 = 0; m0 < m; m0 += NEON_QS8_MR) {                                                        \
            const size_t mr = m - m0 < NEON_QS8_MR ? m - m0 : NEON_QS8_MR;                                      \
            const int8_t *ap[NEON_QS8_MR];                                                                      \
            SWK_UNROLL for (size_t r = 0; r < NEON_QS8_MR; r++) ap[r] = a + (m0 + (r < mr ? r : mr - 1)) * a_stride; \
            if (mr == 1) {                                                                                      \
                TILE(1, ap, mr, m0, n, k, kq, block, w, c, c_stride, zp, lo, hi, out->float32);                 \
            } else {                                                                                            \
                TILE(NEON_QS8_MR, ap, mr, m0, n, k, kq, block, w, c, c_stride, zp, lo, hi, out->float32);       \
            }                                                                                                   \
        }                                                                                                       \
    }

SWK_GEMM_QS8_DRIVER(, swk_gemm_qs8_neon, swk_qs8_tile_neon)

/// `swk_gemm_qs8_neondot` for one tile of R rows of A (R a constant where inlined: {1, 4}; one row, a fully
/// connected layer at batch 1, would otherwise be computed four times).
SWK_DOTPROD static inline __attribute__((always_inline)) void swk_qs8_tile_neondot(size_t R, const int8_t *const *ap, size_t mr, size_t m0, size_t n,
        size_t k, size_t kq, size_t block, const void *w, int8_t *c, size_t c_stride, int32x4_t zp, int32x4_t lo, int32x4_t hi, int fp) {
    const uint8_t *wb = (const uint8_t *)w;
    for (size_t n0 = 0; n0 < n; n0 += SWK_QS8_NR, wb += block) {
        int32x4_t acc[NEON_QS8_MR][2];
        SWK_UNROLL for (size_t r = 0; r < R; r++) {
            acc[r][0] = vdupq_n_s32(0);
            acc[r][1] = vdupq_n_s32(0);
        }
        const int8_t *wp = (const int8_t *)(wb + 96);
        for (size_t q = 0; q < kq; q++, wp += 32) {
            const int8x16_t w0 = vld1q_s8(wp), w1 = vld1q_s8(wp + 16);
            SWK_UNROLL for (size_t r = 0; r < R; r++) {
                const int8x16_t xv = swk_quad(ap[r] + 4 * q, k - 4 * q);
                acc[r][0] = vdotq_s32(acc[r][0], w0, xv);
                acc[r][1] = vdotq_s32(acc[r][1], w1, xv);
            }
        }
        QS8_BLOCK_PARAMS;
        SWK_UNROLL for (size_t r = 0; r < R; r++) if (r < mr) QS8_STORE(r, acc[r][0], acc[r][1]);
    }
}

SWK_GEMM_QS8_DRIVER(SWK_DOTPROD, swk_gemm_qs8_neondot, swk_qs8_tile_neondot)

void swk_dwconv_qs8_neon(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out) {
    const int32x4_t zp = vdupq_n_s32(out->zero_point), lo = vdupq_n_s32(out->lo), hi = vdupq_n_s32(out->hi);
    const int fp = out->float32;
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
    int8_t tail[SWK_DW_MAX_TAPS + 1][16];
    const uint8_t *wb = (const uint8_t *)w;
    for (size_t c0 = 0; c0 < C; c0 += SWK_DW_CB, wb += block) {
        const size_t cb = C - c0 >= SWK_DW_CB ? c0 : (C > SWK_DW_CB ? C - SWK_DW_CB : 0);
        const int narrow = C < SWK_DW_CB;
        const int32_t *bp = (const int32_t *)wb;
        const int8_t *wq = (const int8_t *)(wb + 192);
        for (size_t ox = 0; ox < out_w; ox++) {
            ptrdiff_t d;
            const int8_t *const *tp = swk_dw_pixel(g, rows, base, border, tail, pad, ox, cb, inner_lo, inner_hi, &d);
            int32x4_t acc[4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) acc[j] = vld1q_s32(bp + 4 * j);
            // The two taps' bytes interleaved like the weight pairs; smull gives int16 products
            // (|x · w| ≤ 2^14) and sadalp adds each channel's pair into its int32 lane.
            for (size_t q = 0; q < pairs; q++) {
                const int8x16_t xa = vld1q_s8(tp[2 * q] + d), xb = vld1q_s8(tp[2 * q + 1] + d);
                const int8x16_t x0 = vzip1q_s8(xa, xb), x1 = vzip2q_s8(xa, xb);
                const int8x16_t w0 = vld1q_s8(wq + 32 * q), w1 = vld1q_s8(wq + 32 * q + 16);
                acc[0] = vpadalq_s16(acc[0], vmull_s8(vget_low_s8(x0), vget_low_s8(w0)));
                acc[1] = vpadalq_s16(acc[1], vmull_high_s8(x0, w0));
                acc[2] = vpadalq_s16(acc[2], vmull_s8(vget_low_s8(x1), vget_low_s8(w1)));
                acc[3] = vpadalq_s16(acc[3], vmull_high_s8(x1, w1));
            }
            int16x4_t h[4];
            SWK_UNROLL for (size_t j = 0; j < 4; j++) {
                h[j] = vqmovn_s32(swk_requant4(acc[j], vld1q_s32(bp + 16 + 4 * j), vld1q_s32(bp + 32 + 4 * j), fp, zp, lo, hi));
            }
            const int8x16_t b16 = vcombine_s8(vqmovn_s16(vcombine_s16(h[0], h[1])), vqmovn_s16(vcombine_s16(h[2], h[3])));
            int8_t *yp = y + ox * y_stride + cb;
            if (!narrow) {
                vst1q_s8(yp, b16);
            } else {
                int8_t tmp[16];
                vst1q_s8(tmp, b16);
                memcpy(yp, tmp, C);
            }
        }
    }
}

// ---- element-wise int8 and conversions ----

/// The float32 add (`AddQS8Params.apply`), 8 outputs: fmla's one rounding is the reference's fma.
static void swk_add_qs8_f32_neon(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p) {
    const int32x4_t zp1 = vdupq_n_s32(p->zero_point1), zp2 = vdupq_n_s32(p->zero_point2), zpo = vdupq_n_s32(p->output_zero_point);
    const float32x4_t s1 = vdupq_n_f32(p->scale1), s2 = vdupq_n_f32(p->scale2);
    const float32x4_t flo = vdupq_n_f32((float)(p->lo - p->output_zero_point)), fhi = vdupq_n_f32((float)(p->hi - p->output_zero_point));
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        const int16x8_t a16 = vmovl_s8(swk_load_bytes8(a + i, r)), b16 = vmovl_s8(swk_load_bytes8(b + i, r));
        int16x4_t h[2];
        for (int half = 0; half < 2; half++) {
            const int32x4_t xa = vsubq_s32(vmovl_s16(half ? vget_high_s16(a16) : vget_low_s16(a16)), zp1);
            const int32x4_t xb = vsubq_s32(vmovl_s16(half ? vget_high_s16(b16) : vget_low_s16(b16)), zp2);
            const float32x4_t f = vfmaq_f32(vmulq_f32(vcvtq_f32_s32(xa), s1), vcvtq_f32_s32(xb), s2);
            h[half] = vqmovn_s32(vaddq_s32(vcvtnq_s32_f32(vminq_f32(vmaxq_f32(f, flo), fhi)), zpo));
        }
        swk_store_bytes8(y + i, vqmovn_s16(vcombine_s16(h[0], h[1])), r);
    }
}

void swk_add_qs8_neon(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p) {
    if (p->float32) {
        swk_add_qs8_f32_neon(count, a, b, y, p);
        return;
    }
    const int32x4_t zp1 = vdupq_n_s32(p->zero_point1), zp2 = vdupq_n_s32(p->zero_point2);
    const int32x4_t m1 = vdupq_n_s32(p->multiplier1), s1 = vdupq_n_s32(p->shift1);
    const int32x4_t m2 = vdupq_n_s32(p->multiplier2), s2 = vdupq_n_s32(p->shift2);
    const int32x4_t mo = vdupq_n_s32(p->output_multiplier), so = vdupq_n_s32(p->output_shift);
    const int32x4_t zpo = vdupq_n_s32(p->output_zero_point), lo = vdupq_n_s32(p->lo), hi = vdupq_n_s32(p->hi);
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        const int16x8_t a16 = vmovl_s8(swk_load_bytes8(a + i, r)), b16 = vmovl_s8(swk_load_bytes8(b + i, r));
        int16x4_t h[2];
        for (int half = 0; half < 2; half++) {
            int32x4_t xa = vmovl_s16(half ? vget_high_s16(a16) : vget_low_s16(a16));
            int32x4_t xb = vmovl_s16(half ? vget_high_s16(b16) : vget_low_s16(b16));
            xa = vshlq_n_s32(vsubq_s32(xa, zp1), SWK_ADD_LEFT_SHIFT);
            xb = vshlq_n_s32(vsubq_s32(xb, zp2), SWK_ADD_LEFT_SHIFT);
            int32x4_t sum = vaddq_s32(swk_mulfp4(xa, m1, s1, 0), swk_mulfp4(xb, m2, s2, 0));
            int32x4_t v = vaddq_s32(swk_mulfp4(sum, mo, so, 0), zpo);
            h[half] = vqmovn_s32(vminq_s32(vmaxq_s32(v, lo), hi));
        }
        swk_store_bytes8(y + i, vqmovn_s16(vcombine_s16(h[0], h[1])), r);
    }
}

// ---- max pooling ----

/// The reference's `v > acc ? v : acc` (vmaxq_f32 would let a NaN through).
static inline float32x4_t swk_max_ref(float32x4_t v, float32x4_t acc) { return vbslq_f32(vcgtq_f32(v, acc), v, acc); }

void swk_maxpool_f32_neon(const swk_pool_geometry *g, const float *x, float *y) {
    const size_t C = g->channels;
    ptrdiff_t y0, y1, x0, x1;
    swk_pool_rows(g, &y0, &y1);
    for (size_t ox = 0; ox < g->out_w; ox++) {
        swk_pool_cols(g, ox, &x0, &x1);
        float *yp = y + ox * C;
        size_t c = 0;
        for (; c + 16 <= C; c += 16) {
            float32x4_t a0 = vdupq_n_f32(-INFINITY), a1 = a0, a2 = a0, a3 = a0;
            for (ptrdiff_t iy = y0; iy < y1; iy++) {
                for (ptrdiff_t ix = x0; ix < x1; ix++) {
                    const float *p = x + ((size_t)iy * g->in_w + (size_t)ix) * C + c;
                    a0 = swk_max_ref(vld1q_f32(p), a0);
                    a1 = swk_max_ref(vld1q_f32(p + 4), a1);
                    a2 = swk_max_ref(vld1q_f32(p + 8), a2);
                    a3 = swk_max_ref(vld1q_f32(p + 12), a3);
                }
            }
            vst1q_f32(yp + c, a0);
            vst1q_f32(yp + c + 4, a1);
            vst1q_f32(yp + c + 8, a2);
            vst1q_f32(yp + c + 12, a3);
        }
        for (; c < C; c += 4) {
            const size_t r = C - c < 4 ? C - c : 4;
            float32x4_t a = vdupq_n_f32(-INFINITY);
            for (ptrdiff_t iy = y0; iy < y1; iy++) {
                for (ptrdiff_t ix = x0; ix < x1; ix++) {
                    float t[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
                    memcpy(t, x + ((size_t)iy * g->in_w + (size_t)ix) * C + c, r * sizeof(float));
                    a = swk_max_ref(vld1q_f32(t), a);
                }
            }
            float t[4];
            vst1q_f32(t, a);
            memcpy(yp + c, t, r * sizeof(float));
        }
    }
}

/// As the x86 kernel: a last partial chunk of 16 (or, below 16 channels, two of 8) ends at the last
/// channel and overlaps the one before, so no tail goes through a copy.
/// Output pixels [a, b) of a row whose windows are whole `K` × `K` squares (K a constant where inlined:
/// 2 or 3), C ≥ 16: the window's loads unrolled, 16 channels at a time, the last 16 ending at the last
/// channel (as x86_avx2.c's swk_maxpool_s8_whole).
static inline __attribute__((always_inline)) void swk_maxpool_s8_whole(size_t K, const swk_pool_geometry *g, const int8_t *x, int8_t *y,
                                                                     ptrdiff_t y0, size_t a, size_t b) {
    const size_t C = g->channels, rs = g->in_w * C;
    const int8_t *row = x + (size_t)y0 * rs;
    for (size_t ox = a; ox < b; ox++) {
        const int8_t *p = row + (size_t)((ptrdiff_t)(ox * g->sw) - g->pad_left) * C;
        for (size_t c0 = 0; c0 < C; c0 += 16) {
            const size_t c = c0 + 16 <= C ? c0 : C - 16;
            int8x16_t m = vdupq_n_s8(-128);
            SWK_UNROLL for (size_t i = 0; i < K; i++) {
                SWK_UNROLL for (size_t j = 0; j < K; j++) m = vmaxq_s8(vld1q_s8(p + i * rs + j * C + c), m);
            }
            vst1q_s8(y + ox * C + c, m);
        }
    }
}

void swk_maxpool_s8_neon(const swk_pool_geometry *g, const int8_t *x, int8_t *y) {
    const size_t C = g->channels;
    ptrdiff_t y0, y1, x0, x1;
    swk_pool_rows(g, &y0, &y1);
    // Square 2 × 2 and 3 × 3 windows: the whole ones unrolled, the clipped ones at either end below.
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
        if (C >= 16) {
            for (size_t c0 = 0; c0 < C; c0 += 16) {
                const size_t c = c0 + 16 <= C ? c0 : C - 16;
                int8x16_t a = vdupq_n_s8(-128);
                for (ptrdiff_t iy = y0; iy < y1; iy++) {
                    for (ptrdiff_t ix = x0; ix < x1; ix++) a = vmaxq_s8(vld1q_s8(x + ((size_t)iy * g->in_w + (size_t)ix) * C + c), a);
                }
                vst1q_s8(yp + c, a);
            }
        } else if (C >= 8) {
            for (size_t h = 0; h < 2; h++) {
                const size_t c = h ? C - 8 : 0;
                int8x8_t a = vdup_n_s8(-128);
                for (ptrdiff_t iy = y0; iy < y1; iy++) {
                    for (ptrdiff_t ix = x0; ix < x1; ix++) a = vmax_s8(vld1_s8(x + ((size_t)iy * g->in_w + (size_t)ix) * C + c), a);
                }
                vst1_s8(yp + c, a);
            }
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

static inline float32x4_t swk_binop4(float32x4_t a, float32x4_t b, int op, float32x4_t lo, float32x4_t hi) {
    const float32x4_t v = op == 0 ? vaddq_f32(a, b) : op == 1 ? vsubq_f32(a, b) : vmulq_f32(a, b);
    return vminq_f32(hi, vmaxq_f32(lo, v));
}

void swk_binary_f32_neon(size_t rows, size_t cols, const float *a, const float *b, size_t b_stride, float *y, int op, float lo, float hi) {
    const float32x4_t vlo = vdupq_n_f32(lo), vhi = vdupq_n_f32(hi);
    for (size_t r = 0; r < rows; r++) {
        const float *ar = a + r * cols, *br = b + r * b_stride;
        float *yr = y + r * cols;
        size_t c = 0;
        for (; c + 4 <= cols; c += 4) vst1q_f32(yr + c, swk_binop4(vld1q_f32(ar + c), vld1q_f32(br + c), op, vlo, vhi));
        if (c < cols) {
            float ta[4] = {0}, tb[4] = {0}, ty[4];
            memcpy(ta, ar + c, (cols - c) * sizeof(float));
            memcpy(tb, br + c, (cols - c) * sizeof(float));
            vst1q_f32(ty, swk_binop4(vld1q_f32(ta), vld1q_f32(tb), op, vlo, vhi));
            memcpy(yr + c, ty, (cols - c) * sizeof(float));
        }
    }
}

/// HardSwish or HardSigmoid of 4 lanes (vmaxq/vminq propagate NaN, as the reference's comparisons do).
static inline float32x4_t swk_act4(float32x4_t x, int kind, float32x4_t a, float32x4_t b) {
    const float32x4_t zero = vdupq_n_f32(0.0f);
    if (kind == SWK_ACT_HARDSWISH) {
        const float32x4_t c = vminq_f32(vdupq_n_f32(6.0f), vmaxq_f32(zero, vaddq_f32(x, vdupq_n_f32(3.0f))));
        return vmulq_f32(vmulq_f32(x, c), vdupq_n_f32(1.0f / 6.0f));  // within one rounding of / 6, as on x86
    }
    return vminq_f32(vdupq_n_f32(1.0f), vmaxq_f32(zero, vaddq_f32(vmulq_f32(a, x), b)));
}

void swk_activation_f32_neon(size_t pixels, size_t channels, size_t stride, float *y, int kind, float a, float b) {
    const float32x4_t va = vdupq_n_f32(a), vb = vdupq_n_f32(b);
    for (size_t p = 0; p < pixels; p++) {
        float *row = y + p * stride;
        size_t c = 0;
        for (; c + 4 <= channels; c += 4) vst1q_f32(row + c, swk_act4(vld1q_f32(row + c), kind, va, vb));
        if (c < channels) {
            float t[4] = {0};
            memcpy(t, row + c, (channels - c) * sizeof(float));
            vst1q_f32(t, swk_act4(vld1q_f32(t), kind, va, vb));
            memcpy(row + c, t, (channels - c) * sizeof(float));
        }
    }
}

void swk_mul_qs8_neon(size_t rows, size_t cols, const int8_t *a, const int8_t *b, size_t b_stride, int8_t *y,
                      const swk_mul_qs8_params *p) {
    const int16x8_t zp1 = vdupq_n_s16((int16_t)p->zero_point1), zp2 = vdupq_n_s16((int16_t)p->zero_point2);
    const int32x4_t m = vdupq_n_s32(p->multiplier), s = vdupq_n_s32(p->shift);
    const int32x4_t zpo = vdupq_n_s32(p->output_zero_point), lo = vdupq_n_s32(p->lo), hi = vdupq_n_s32(p->hi);
    for (size_t row = 0; row < rows; row++) {
        const int8_t *ar = a + row * cols, *br = b + row * b_stride;
        int8_t *yr = y + row * cols;
        for (size_t i = 0; i < cols; i += 8) {
            const size_t r = cols - i < 8 ? cols - i : 8;
            // |a − zp| and |b − zp| ≤ 255 fit int16; their product int32.
            const int16x8_t xa = vsubq_s16(vmovl_s8(swk_load_bytes8(ar + i, r)), zp1);
            const int16x8_t xb = vsubq_s16(vmovl_s8(swk_load_bytes8(br + i, r)), zp2);
            const int32x4_t p0 = vmull_s16(vget_low_s16(xa), vget_low_s16(xb)), p1 = vmull_s16(vget_high_s16(xa), vget_high_s16(xb));
            const int16x4_t h0 = vqmovn_s32(swk_requant4(p0, m, s, 0, zpo, lo, hi)), h1 = vqmovn_s32(swk_requant4(p1, m, s, 0, zpo, lo, hi));
            swk_store_bytes8(yr + i, vqmovn_s16(vcombine_s16(h0, h1)), r);
        }
    }
}

int32_t swk_peak_smull_neon(size_t iterations) {
    int32x4_t acc[12];
    const int8x8_t b = vdup_n_s8(3);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = vdupq_n_s32(j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = vpadalq_s16(acc[j], vmull_s8(vreinterpret_s8_s32(vget_low_s32(acc[j])), b));
    }
    int32x4_t s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = veorq_s32(s, acc[j]);
    return vgetq_lane_s32(s, 0) ^ vgetq_lane_s32(s, 3);
}

SWK_DOTPROD int32_t swk_peak_sdot_neon(size_t iterations) {
    int32x4_t acc[12];
    const int8x16_t b = vdupq_n_s8(3);
    SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = vdupq_n_s32(j);
    for (size_t i = 0; i < iterations; i++) {
        SWK_UNROLL for (int j = 0; j < 12; j++) acc[j] = vdotq_s32(acc[j], vreinterpretq_s8_s32(acc[j]), b);
    }
    int32x4_t s = acc[0];
    SWK_UNROLL for (int j = 1; j < 12; j++) s = veorq_s32(s, acc[j]);
    return vgetq_lane_s32(s, 0) ^ vgetq_lane_s32(s, 3);
}

/// y[i] = table[x[i] + 128], 16 bytes at a time: tbl over the first 64 entries, then tbx over each
/// next 64 (an index past a table's end leaves the byte as it was).
void swk_lookup_s8_neon(size_t count, const int8_t *x, const int8_t *table, int8_t *y) {
    const int8x16x4_t t0 = vld1q_s8_x4(table), t1 = vld1q_s8_x4(table + 64), t2 = vld1q_s8_x4(table + 128), t3 = vld1q_s8_x4(table + 192);
    const uint8x16_t flip = vdupq_n_u8(0x80), step = vdupq_n_u8(64);
    for (size_t i = 0; i < count; i += 16) {
        const size_t r = count - i < 16 ? count - i : 16;
        int8_t tmp[16] = {0};
        const int8_t *src = x + i;
        if (r < 16) {
            memcpy(tmp, src, r);
            src = tmp;
        }
        uint8x16_t idx = veorq_u8(vreinterpretq_u8_s8(vld1q_s8(src)), flip);
        int8x16_t out = vqtbl4q_s8(t0, idx);
        idx = vsubq_u8(idx, step);
        out = vqtbx4q_s8(out, t1, idx);
        idx = vsubq_u8(idx, step);
        out = vqtbx4q_s8(out, t2, idx);
        idx = vsubq_u8(idx, step);
        out = vqtbx4q_s8(out, t3, idx);
        if (r == 16) {
            vst1q_s8(y + i, out);
        } else {
            vst1q_s8(tmp, out);
            memcpy(y + i, tmp, r);
        }
    }
}

/// Four lanes by the reference's division: round half away from zero (truncate, then step away where
/// |fraction| ≥ 0.5), + zero point, clamped; NaN gives the zero point.
static inline int32x4_t swk_quantize4_divide(float32x4_t v, float32x4_t vs, float32x4_t zp) {
    v = vdivq_f32(v, vs);
    const float32x4_t t = vrndq_f32(v);
    const uint32x4_t away = vcgeq_f32(vabsq_f32(vsubq_f32(v, t)), vdupq_n_f32(0.5f));
    const float32x4_t step = vbslq_f32(vdupq_n_u32(0x80000000u), v, vdupq_n_f32(1.0f));  // ±1 with v's sign
    float32x4_t q = vaddq_f32(vbslq_f32(away, vaddq_f32(t, step), t), zp);
    const uint32x4_t ok = vceqq_f32(q, q);  // false for NaN
    q = vminq_f32(vmaxq_f32(q, vdupq_n_f32(-128.0f)), vdupq_n_f32(127.0f));
    return vcvtq_s32_f32(vbslq_f32(ok, q, zp));
}

/// Four lanes by multiplication (see x86_avx2.c's swk_quantize_f32_avx2 for why the result is the
/// division's wherever `*unsure` is not set): m = x · RN(1 / scale), its nearest integer unless m is
/// within 2^−10 of a half-integer, or NaN or infinite.
static inline int32x4_t swk_quantize4_multiply(float32x4_t v, float32x4_t vinv, float32x4_t zp, uint32x4_t *unsure) {
    const float32x4_t m = vmulq_f32(v, vinv);
    const float32x4_t t = vrndnq_f32(m);
    const uint32x4_t sure = vcltq_f32(vabsq_f32(vsubq_f32(m, t)), vdupq_n_f32(0.5f - 1.0f / 1024));  // false for NaN
    *unsure = vorrq_u32(*unsure, vmvnq_u32(sure));
    return vcvtq_s32_f32(vminq_f32(vmaxq_f32(vaddq_f32(t, zp), vdupq_n_f32(-128.0f)), vdupq_n_f32(127.0f)));
}

/// 16 lanes at a time by multiplication where that gives the division's result (as on x86), else,
/// and for the tail, by division.
void swk_quantize_f32_neon(size_t count, const float *x, int8_t *y, float scale, int32_t zero_point) {
    const float32x4_t vs = vdupq_n_f32(scale), zp = vdupq_n_f32((float)zero_point);
    const float inv = 1.0f / scale;
    const int by_multiply = isnormal(scale) && isnormal(inv) && zero_point >= -1024 && zero_point <= 1024;
    const float32x4_t vinv = vdupq_n_f32(inv);
    size_t i = 0;
    if (by_multiply) {
        for (; i + 16 <= count; i += 16) {
            uint32x4_t unsure = vdupq_n_u32(0);
            int32x4_t q[4];
            for (int k = 0; k < 4; k++) q[k] = swk_quantize4_multiply(vld1q_f32(x + i + 4 * k), vinv, zp, &unsure);
            if (vmaxvq_u32(unsure)) {
                for (int k = 0; k < 4; k++) q[k] = swk_quantize4_divide(vld1q_f32(x + i + 4 * k), vs, zp);
            }
            const int16x8_t h0 = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1])), h1 = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
            vst1q_s8(y + i, vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)));
        }
    }
    for (; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        float xt[8] = {0};
        const float *src = x + i;
        if (r < 8) {
            memcpy(xt, src, r * sizeof(float));
            src = xt;
        }
        const int32x4_t q0 = swk_quantize4_divide(vld1q_f32(src), vs, zp), q1 = swk_quantize4_divide(vld1q_f32(src + 4), vs, zp);
        swk_store_bytes8(y + i, vqmovn_s16(vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1))), r);
    }
}

/// int8 global average pooling (as x86_avx2.c's swk_mean_s8_avx2): 16 channels a step summed in
/// int16 over batches of 256 pixels (exact), widened into int32, requantized by FixedPoint.multiply.
void swk_mean_s8_neon(size_t pixels, size_t channels, const int8_t *x, int8_t *y, int32_t zero_sum, int32_t multiplier, int32_t shift,
                      int32_t output_zero_point) {
    const size_t C = channels;
    const int32x4_t zs = vdupq_n_s32(zero_sum), zp = vdupq_n_s32(output_zero_point);
    const int32x4_t mult = vdupq_n_s32(multiplier), sh = vdupq_n_s32(shift), lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    int32_t tail[16] = {0};
    for (size_t c0 = 0; c0 < C; c0 += 16) {
        int32x4_t s[4];
        if (C < 16) {
            for (size_t p = 0; p < pixels; p++) {
                for (size_t c = 0; c < C; c++) tail[c] = (int32_t)((uint32_t)tail[c] + (uint32_t)(int32_t)x[p * C + c]);  // wraps as &+=
            }
            for (int k = 0; k < 4; k++) s[k] = vld1q_s32(tail + 4 * k);
        } else {
            const size_t c = c0 + 16 <= C ? c0 : C - 16;  // the last chunk ends at the last channel
            for (int k = 0; k < 4; k++) s[k] = vdupq_n_s32(0);
            for (size_t p0 = 0; p0 < pixels; p0 += 256) {
                const size_t pe = pixels - p0 < 256 ? pixels : p0 + 256;
                // Two pixels at a time into two pairs of sums, so the adds do not wait on each other.
                int16x8_t a0 = vdupq_n_s16(0), a1 = a0, b0 = a0, b1 = a0;
                size_t p = p0;
                for (; p + 2 <= pe; p += 2) {
                    const int8x16_t v = vld1q_s8(x + p * C + c), w = vld1q_s8(x + (p + 1) * C + c);
                    a0 = vaddw_s8(a0, vget_low_s8(v));
                    a1 = vaddw_high_s8(a1, v);
                    b0 = vaddw_s8(b0, vget_low_s8(w));
                    b1 = vaddw_high_s8(b1, w);
                }
                if (p < pe) {
                    const int8x16_t v = vld1q_s8(x + p * C + c);
                    a0 = vaddw_s8(a0, vget_low_s8(v));
                    a1 = vaddw_high_s8(a1, v);
                }
                a0 = vaddq_s16(a0, b0);  // at most 256 pixels in all: exact
                a1 = vaddq_s16(a1, b1);
                s[0] = vaddw_s16(s[0], vget_low_s16(a0));
                s[1] = vaddw_high_s16(s[1], a0);
                s[2] = vaddw_s16(s[2], vget_low_s16(a1));
                s[3] = vaddw_high_s16(s[3], a1);
            }
            c0 = c;
        }
        int16x4_t h[4];
        for (int k = 0; k < 4; k++) h[k] = vqmovn_s32(swk_requant4(vsubq_s32(s[k], zs), mult, sh, 0, zp, lo, hi));
        const int8x16_t out = vcombine_s8(vqmovn_s16(vcombine_s16(h[0], h[1])), vqmovn_s16(vcombine_s16(h[2], h[3])));
        if (C < 16) {
            int8_t b[16];
            vst1q_s8(b, out);
            memcpy(y, b, C);
            return;
        }
        vst1q_s8(y + c0, out);
    }
}

void swk_dequantize_s8_neon(size_t count, const int8_t *x, float *y, float scale, int32_t zero_point) {
    const float32x4_t vs = vdupq_n_f32(scale);
    const int32x4_t zp = vdupq_n_s32(zero_point);
    for (size_t i = 0; i < count; i += 8) {
        const size_t r = count - i < 8 ? count - i : 8;
        int8_t xt[8] = {0};
        memcpy(xt, x + i, r);
        const int16x8_t x16 = vmovl_s8(vld1_s8(xt));
        float out[8];
        vst1q_f32(out, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_low_s16(x16)), zp))));
        vst1q_f32(out + 4, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(vmovl_s16(vget_high_s16(x16)), zp))));
        memcpy(y + i, out, r * sizeof(float));
    }
}
#endif
