// Swiftlet's SIMD micro-kernels: the innermost loops only, in C with intrinsics, because Swift
// cannot emit these instructions per function (no per-function target attribute). Packing, tiling,
// variant choice and threading are Swift (SwiftletKernels). Every function here carries its own
// `target` attribute, so the unit builds at the baseline of its architecture and one binary holds
// every path; Swift calls a function only after checking the CPU has its features.
//
// Packed weight layouts (written by SwiftletKernels' packers, read here):
//
//   f32 GEMM, blocks of SWK_F32_NR = 16 outputs: [16 × bias][K × 16 weights]; a partial last block
//     is zero-padded. Block stride: 16 · (K + 1) floats.
//   qs8 GEMM, blocks of SWK_QS8_NR = 8 outputs, 4-deep: [8 × int32 bias][8 × int32 multiplier]
//     [8 × int32 shift][ceil(K/4) × 8 outputs × 4 int8 weights] (k = 4q … 4q+3 of output o at
//     byte 96 + 32q + 4o); the bias has the input zero point folded in (bias − zp · Σk w), so the
//     kernel multiplies raw int8 inputs. Block stride: 96 + 32 · ceil(K/4) bytes.
//   f32 depthwise, blocks of SWK_DW_CB = 16 channels: [16 × bias][taps × 16 weights], taps in
//     (ky, kx) order. Block stride: 16 · (taps + 1) floats.
//   qs8 depthwise, blocks of 16 channels: [16 × int32 bias][16 × int32 multiplier][16 × int32 shift]
//     then the taps (ky, kx order) in pairs, ceil(taps/2) × [16 channels × 2 int8 weights]: pair q
//     holds channel c's weights of taps 2q and 2q + 1 at bytes 192 + 32q + 2c and + 1 (an odd tap
//     count's last pair has weight 0 second). Block stride: 192 + 32 · ceil(taps/2) bytes. The bias
//     has the input zero point folded in (bias − zp · Σ taps w) and taps outside the image read the
//     zero point, so the kernels multiply raw int8 inputs. When C is not a multiple of 16, the last
//     block holds channels C − 16 … C − 1 (C > 16: it overlaps the block before, whose channels are
//     computed twice, identically) or channels 0 … C − 1 zero-padded (C < 16).
//
// Requantization is TensorFlow Lite's (SwiftletCore's FixedPoint.multiply): x · 2^max(shift,0),
// SaturatingRoundingDoublingHighMul by the multiplier, RoundingDivideByPOT by max(−shift,0), then
// + output zero point and the clamp. The kernels reproduce it bit for bit (tests hold them to the
// scalar reference).
#ifndef CSWIFTLETKERNELS_H
#define CSWIFTLETKERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SWK_F32_NR 16
#define SWK_QS8_NR 8
#define SWK_DW_CB 16
/// The most rows of A a qs8 GEMM converts at once (AVX2: 4; NEON reads A in place); its scratch is
/// SWK_QS8_MR · round_up(K, 4) int16 and SWK_QS8_SLACK bytes more (a row's tail is converted as a
/// whole vector).
#define SWK_QS8_MR 4
/// Output rows (pixels) of the GEMMs' micro-tiles: float AVX2 6 and NEON 4, int8 SWK_QS8_MR on both
/// and SWK_VNNI_MR with AVX-512 VNNI.
/// A partial tile costs a full one (its rows past the end repeat the last), so threads split pixel
/// ranges in multiples of these.
#define SWK_F32_MR_AVX2 6
#define SWK_F32_MR_NEON 4
#define SWK_VNNI_MR 8
#define SWK_QS8_SLACK 32

/// The geometry of one output row of a depthwise convolution (NHWC, channel multiplier 1).
/// Input row iy (for iy = iy0 + ky · dh in 0..<in_h) is read at row `ring ? iy % ring : iy` of `x`,
/// rows `in_w · channels` elements apart; pixel ox reads columns ox · sw − pad_left + kx · dw.
typedef struct {
    size_t channels, out_w, in_h, in_w, ring;
    ptrdiff_t iy0, pad_left;
    size_t kh, kw, sw, dh, dw;
    /// Output pixels `y_stride` elements apart.
    size_t y_stride;
} swk_dw_geometry;

/// Stores the low `count` (< 8) bytes of `v` with 4-, 2- and 1-byte moves (a memcpy of a variable
/// size would be a library call per tile edge).
static inline void swk_store_partial8(int8_t *dst, uint64_t v, size_t count) {
    if (count & 4) {
        const uint32_t w = (uint32_t)v;
        memcpy(dst, &w, 4);
        dst += 4;
        v >>= 32;
    }
    if (count & 2) {
        const uint16_t h = (uint16_t)v;
        memcpy(dst, &h, 2);
        dst += 2;
        v >>= 16;
    }
    if (count & 1) *dst = (int8_t)v;
}

/// Loads `count` (< 8) bytes into the low bytes of the result, zeros above, likewise.
static inline uint64_t swk_load_partial8(const int8_t *src, size_t count) {
    uint64_t v = 0;
    unsigned shift = 0;
    if (count & 4) {
        uint32_t w;
        memcpy(&w, src, 4);
        v = w;
        src += 4;
        shift = 32;
    }
    if (count & 2) {
        uint16_t h;
        memcpy(&h, src, 2);
        v |= (uint64_t)h << shift;
        src += 2;
        shift += 16;
    }
    if (count & 1) v |= (uint64_t)(uint8_t)*src << shift;
    return v;
}

/// The input rows a depthwise kernel's rows read (NULL outside the image), for elements of `elem` bytes.
static inline void swk_dw_rows(const swk_dw_geometry *g, const void *x, size_t elem, const void **rows) {
    const size_t rowBytes = g->in_w * g->channels * elem;
    for (size_t ky = 0; ky < g->kh; ky++) {
        ptrdiff_t iy = g->iy0 + (ptrdiff_t)(ky * g->dh);
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) {
            rows[ky] = NULL;
        } else {
            size_t r = g->ring ? (size_t)iy % g->ring : (size_t)iy;
            rows[ky] = (const char *)x + r * rowBytes;
        }
    }
}

/// Most taps (KH · KW) the int8 depthwise kernels take; larger windows run the reference.
#define SWK_DW_MAX_TAPS 64

/// Tap t = ky · kw + kx of output pixel `ox` in int8 channel block `cb`: the input bytes at column
/// ox · sw − pad_left + kx · dw of rows[ky], or `pad` (16 bytes of the input zero point) outside the
/// image. taps[kh · kw] repeats taps[0] (the zero-weight partner of an odd tap count).
static inline void swk_dw_taps(const swk_dw_geometry *g, const int8_t *const *rows, size_t ox, size_t cb,
                               const int8_t *pad, const int8_t **taps) {
    const ptrdiff_t ix0 = (ptrdiff_t)(ox * g->sw) - g->pad_left;
    size_t t = 0;
    for (size_t ky = 0; ky < g->kh; ky++) {
        for (size_t kx = 0; kx < g->kw; kx++, t++) {
            const ptrdiff_t ix = ix0 + (ptrdiff_t)(kx * g->dw);
            taps[t] = rows[ky] && ix >= 0 && ix < (ptrdiff_t)g->in_w ? rows[ky] + (size_t)ix * g->channels + cb : pad;
        }
    }
    taps[t] = taps[0];
}

/// Output pixel `ox`'s taps for channel block `cb` of an int8 depthwise row: inside the image
/// (`inner_lo` ≤ ox < `inner_hi`, every row present) `base` with the offset *d; else each tap's own
/// pointer in `border` (the zero point's `pad` outside the image), *d = 0, and with fewer than 16
/// channels each tap copied into `tail`, zero-padded, so 16-byte loads stay inside the tensor.
static inline const int8_t *const *swk_dw_pixel(const swk_dw_geometry *g, const int8_t *const *rows, const int8_t *const *base,
                                                 const int8_t **border, int8_t (*tail)[16], const int8_t *pad, size_t ox,
                                                 size_t cb, size_t inner_lo, size_t inner_hi, ptrdiff_t *d) {
    const size_t C = g->channels;
    if (ox >= inner_lo && ox < inner_hi) {
        *d = ((ptrdiff_t)(ox * g->sw) - g->pad_left) * (ptrdiff_t)C + (ptrdiff_t)cb;
        return base;
    }
    swk_dw_taps(g, rows, ox, cb, pad, border);
    if (C < 16) {
        for (size_t t = 0; t <= g->kh * g->kw; t++) {
            memset(tail[t], 0, 16);
            memcpy(tail[t], border[t], C);
            border[t] = tail[t];
        }
    }
    *d = 0;
    return border;
}

/// The per-row set-up of an int8 depthwise kernel: the input rows, `pad` filled with the input zero
/// point and, when every row is inside the image (the return value), `base`: tap t of a pixel whose
/// window starts at column ix0 is base[t] + ix0 · C + cb (base[kh · kw] repeats base[0]).
static inline int swk_dw_setup(const swk_dw_geometry *g, const int8_t *x, int8_t zero_point, const int8_t **rows,
                               const int8_t **base, int8_t *pad) {
    swk_dw_rows(g, x, 1, (const void **)rows);
    for (size_t i = 0; i < 16; i++) pad[i] = zero_point;
    size_t t = 0;
    for (size_t ky = 0; ky < g->kh; ky++) {
        if (!rows[ky]) return 0;
        for (size_t kx = 0; kx < g->kw; kx++, t++) base[t] = rows[ky] + kx * g->dw * g->channels;
    }
    base[t] = base[0];
    return 1;
}

/// The output pixels [*lo, *hi) of a row whose windows lie inside the image's columns.
static inline void swk_dw_interior(const swk_dw_geometry *g, size_t *lo, size_t *hi) {
    const ptrdiff_t sw = (ptrdiff_t)g->sw, end = (ptrdiff_t)g->in_w - (ptrdiff_t)((g->kw - 1) * g->dw) + g->pad_left;
    ptrdiff_t a = (g->pad_left + sw - 1) / sw, b = end > 0 ? (end + sw - 1) / sw : 0;
    if (b > (ptrdiff_t)g->out_w) b = (ptrdiff_t)g->out_w;
    if (a > b) a = b;
    *lo = (size_t)a;
    *hi = (size_t)b;
}

/// One output row of a max pooling (NHWC): output pixel ox takes the window rows iy0 … iy0 + kh − 1 and
/// columns ox · sw − pad_left … + kw − 1, clipped to the input (`x` is the batch item's first pixel).
typedef struct {
    size_t channels, in_h, in_w, out_w;
    ptrdiff_t iy0, pad_left;
    size_t kh, kw, sw;
} swk_pool_geometry;

/// The input rows [*y0, *y1) of a pooling row's windows, clipped to the input.
static inline void swk_pool_rows(const swk_pool_geometry *g, ptrdiff_t *y0, ptrdiff_t *y1) {
    const ptrdiff_t h = (ptrdiff_t)g->in_h, top = g->iy0 + (ptrdiff_t)g->kh;
    *y0 = g->iy0 < 0 ? 0 : g->iy0;
    *y1 = top > h ? h : top;
}

/// The output pixels [*a, *b) whose windows lie wholly inside the row: ox · sw ≥ pad_left and
/// ox · sw − pad_left + kw ≤ in_w (empty when there are none).
static inline void swk_pool_whole_cols(const swk_pool_geometry *g, size_t *a, size_t *b) {
    size_t lo = g->pad_left > 0 ? ((size_t)g->pad_left + g->sw - 1) / g->sw : 0;
    const ptrdiff_t last = (ptrdiff_t)g->in_w - (ptrdiff_t)g->kw + g->pad_left;  // the largest whole ox · sw
    size_t hi = last < 0 ? 0 : (size_t)last / g->sw + 1;
    if (hi > g->out_w) hi = g->out_w;
    if (lo > hi) lo = hi;
    *a = lo;
    *b = hi;
}

/// The input columns [*x0, *x1) of output pixel `ox`'s window, clipped to the input.
static inline void swk_pool_cols(const swk_pool_geometry *g, size_t ox, ptrdiff_t *x0, ptrdiff_t *x1) {
    const ptrdiff_t w = (ptrdiff_t)g->in_w, xs = (ptrdiff_t)(ox * g->sw) - g->pad_left, end = xs + (ptrdiff_t)g->kw;
    *x0 = xs < 0 ? 0 : xs;
    *x1 = end > w ? w : end;
}

/// The left shift both inputs of an int8 add get before rescaling (TFLite's 20 bits of headroom).
#define SWK_ADD_LEFT_SHIFT 20

/// An int8 add (SwiftletKernels' AddQS8Params): inputs rescaled to a common scale, added, rescaled
/// (fixed point); or, with `float32`, fma(b − zp2, scale2, (a − zp1) · scale1) rounded to nearest even.
typedef struct {
    int32_t zero_point1, zero_point2, output_zero_point;
    int32_t multiplier1, shift1, multiplier2, shift2, output_multiplier, output_shift;
    int32_t lo, hi;
    int32_t float32;
    float scale1, scale2;
} swk_add_qs8_params;

/// An int8 multiply (SwiftletKernels' MulQS8Params): y = clamp(zp_y + M · (a − zp_a)(b − zp_b)).
typedef struct {
    int32_t zero_point1, zero_point2, output_zero_point, multiplier, shift, lo, hi;
} swk_mul_qs8_params;

/// Float activations the GEMM and depthwise kernels cannot fold into their clamp, applied in place.
enum { SWK_ACT_HARDSWISH = 1, SWK_ACT_HARDSIGMOID = 2 };

/// Winograd's edge tiles (both ISAs): the 4 × 4 window of tile columns x0 … x0 + 3, channels
/// c0 … c0 + cr − 1 (cr ≤ lanes), zeros outside the image and past cr, into `win` (16 groups of
/// `lanes` floats), out of line so the transforms' interior path stays small.
static __attribute__((noinline, unused)) void swk_wino_gather(const float *const *rows, ptrdiff_t x0, size_t in_w,
                                                              size_t channels, size_t c0, size_t cr, size_t lanes, float *win) {
    memset(win, 0, 16 * lanes * sizeof(float));
    for (size_t r = 0; r < 4; r++) {
        if (rows[r] == NULL) continue;
        for (size_t j = 0; j < 4; j++) {
            const ptrdiff_t ix = x0 + (ptrdiff_t)j;
            if (ix < 0 || ix >= (ptrdiff_t)in_w) continue;
            const float *p = rows[r] + (size_t)ix * channels + c0;
            for (size_t i = 0; i < cr; i++) win[(4 * r + j) * lanes + i] = p[i];
        }
    }
}

/// The int8 output stage: zero point and the fused activation's clamp, and how the accumulators are
/// requantized (`float32` 0: TFLite's fixed point, the blocks' words are Q31 multipliers and shifts;
/// 1: float32, the first word is the scale's bits: SwiftletCore's `RequantizationMode`).
typedef struct {
    int32_t zero_point, lo, hi, input_zero_point, float32;
} swk_qs8_output;

/// The largest float32 below 2^31: float32 requantization clamps to ± it before converting to int32
/// (x86's conversion gives INT32_MIN beyond 2^31, and adding a zero point must not wrap). The outputs
/// then saturate and clamp to [lo, hi] exactly as the reference's clamp before rounding does, since
/// lo − zp and hi − zp are integers and rounding is monotonic.
#define SWK_RQ_FLOAT_MAX 2147483520.0f
/// `swk_qs8_output.float32` for float32 requantization whose products are known to stay below 2^30
/// (`swk_gemm_qs8_float_bounded`): the x86 VNNI GEMM then skips the bound before the conversion.
/// Every other kernel treats it as 1.
#define SWK_RQ_FLOAT_BOUNDED 2

/// Winograd F(2×2, 3×3) for float 3×3 convolutions of stride 1 (SwiftletKernels' Conv2D+Winograd.swift
/// tiles, packs and runs the GEMMs; these are its two transforms).
///
/// Input transform: for `tiles` tiles whose 4 × 4 input windows start at column `ix0` + 2t of the four
/// input rows `rows` (NULL: a row outside the image; columns outside 0 ..< in_w read as zeros too),
/// V = Bᵀ d B per channel, B = [[1,0,0,0],[0,1,−1,1],[−1,1,1,0],[0,0,0,−1]]: element ξ = 4i + j of
/// tile t goes to row t of matrix ξ, at `v + ξ · v_stride + t · cs`; rows are `cs` floats apart
/// (`channels` rounded up to 8), the lanes past `channels` get zeros.
///
/// Output transform: Y = Aᵀ M A + bias, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], clamped to [lo, hi], for
/// `tiles` tiles of `n` outputs: element ξ of tile t's output o at `m[ξ · m_stride + t · m_row + o]`
/// (m_row ≥ n, a multiple of 8: whole vectors are read). The tile's two output rows go to `y0` and
/// `y1` (NULL: not stored), tile t's columns 2t and 2t + 1 at pixels `y_stride` floats apart, a
/// column only when it is below `cols`.
#if defined(__x86_64__)
/// C[m][n] = act(clamp(bias[n] + Σk A[m][k] · W[n][k])), m < M, n < N; rows of A `a_stride` and of C
/// `c_stride` elements apart; `act` 0 (none), SWK_ACT_HARDSWISH or SWK_ACT_HARDSIGMOID (alpha `act_a`,
/// beta `act_b`). AVX2 + FMA, 6 × 16 register tile.
void swk_gemm_f32_avx2fma(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w,
                          float *c, size_t c_stride, float lo, float hi, int act, float act_a, float act_b);
/// One output row of a float depthwise convolution. AVX2 + FMA, 16 channels at a time.
void swk_dwconv_f32_avx2fma(const swk_dw_geometry *g, const float *x, const float *w, float *y, float lo, float hi);
void swk_wino23_input_f32_avx2(const float *const *rows, size_t in_w, size_t channels, ptrdiff_t ix0, size_t tiles,
                               float *v, size_t v_stride, size_t cs);
void swk_wino23_output_f32_avx2(const float *m, size_t m_stride, size_t m_row, size_t tiles, size_t n, const float *bias,
                                float *y0, float *y1, size_t cols, size_t y_stride, float lo, float hi);
/// swk_gemm_f32_avx2fma with A read from `kh` input rows instead of im2col rows (a convolution's
/// interior pixels, dilation 1 across): pixel i's values of kernel row ky are the `seg` (kernel width ·
/// channels) floats at rows[ky] + i · pixel_step; a NULL row adds nothing. Same sums, same order.
void swk_conv_rows_f32_avx2fma(size_t m, size_t n, size_t kh, size_t seg, const float *const *rows, size_t pixel_step,
                               const float *w, float *c, size_t c_stride, float lo, float hi, int act, float act_a, float act_b);
/// int8 GEMM with requantization (the qs8 GEMM layout), 4 × 8 tile of 16-bit multiply-adds.
/// `scratch`: SWK_QS8_MR · round_up(k, 4) int16 + SWK_QS8_SLACK bytes, 32-byte aligned.
void swk_gemm_qs8_avx2(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                       int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch);
/// The same GEMM with AVX-512 VNNI: vpdpbusd on 256-bit registers, 4 × 8 tile, 4 multiply-adds of
/// bytes per lane and instruction (the inputs flipped to unsigned and compensated: see the kernel).
/// `scratch` as for swk_gemm_qs8_avx2 (it holds the tile's rows as bytes). `comps`: NULL, or what
/// swk_gemm_qs8_vnni_compensation wrote for these weights (for callers that run many small GEMMs on
/// the same weights, such as a convolution row by row).
void swk_gemm_qs8_avx512vnni(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                             int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch, const int32_t *comps);
/// 1 when float32 requantization of the packed int8 GEMM weights `w` (n outputs, depth k) keeps
/// |sum · scale| below 2^30 for every output and any int8 input (|bias| + 128 · Σ |w|, times the
/// scale): the GEMM may then run with `float32` = SWK_RQ_FLOAT_BOUNDED. 0 otherwise.
int swk_gemm_qs8_float_bounded(size_t n, size_t k, const void *w);
/// The VNNI GEMM's compensation for the packed weights `w` (n outputs, depth k): 128 · Σ w per
/// output, round_up(n, 8) int32 at `comps` (32-byte aligned).
void swk_gemm_qs8_vnni_compensation(size_t n, size_t k, const void *w, int32_t *comps);
/// One output row of an int8 depthwise convolution (the qs8 depthwise layout, at most SWK_DW_MAX_TAPS
/// taps). AVX2, 16 channels at a time, two taps per vpmaddwd.
void swk_dwconv_qs8_avx2(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out);
/// The same row with AVX-512 VNNI: vpdpbusd over quads of kernel rows, each input column gathered once
/// per row and used by every pixel that reads it (see the kernel); windows it does not take run the
/// AVX2 kernel.
void swk_dwconv_qs8_avx512vnni(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out);
/// swk_gemm_qs8_float_bounded for packed int8 depthwise weights (`channels`, `taps` per channel).
int swk_dwconv_qs8_float_bounded(size_t channels, size_t taps, const void *w);
/// Requantizes `count` int32 accumulators of one channel block layout (testing aid for the vector
/// requantization): y[i] = requant(acc[i]) with multiplier[i], shift[i].
void swk_requant_avx2(size_t count, const int32_t *acc, const int32_t *multiplier, const int32_t *shift, int8_t *y,
                      const swk_qs8_output *out);
/// Testing aid for the add's rescale without 64-bit multiplies: y[i] = FixedPoint.multiply((x[i] − zp) ·
/// 2^20, m, shift) when that path takes (m, shift) (returns 1), else nothing (returns 0).
int swk_add_rescale_avx2(size_t count, const int8_t *x, int32_t zp, int32_t m, int32_t shift, int32_t *y);
/// int8 add of two same-shape tensors (y may alias a or b). AVX2.
void swk_add_qs8_avx2(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p);
/// One output row of float max pooling: the reference's `v > acc ? v : acc` from −infinity (a NaN
/// input never wins; an empty window gives −infinity). AVX2.
void swk_maxpool_f32_avx2(const swk_pool_geometry *g, const float *x, float *y);
/// One output row of int8 max pooling (from −128). AVX2.
void swk_maxpool_s8_avx2(const swk_pool_geometry *g, const int8_t *x, int8_t *y);
/// Float add (op 0), sub (1) or mul (2) of `rows` rows of `cols` (b as in swk_mul_qs8_avx2: b_stride
/// `cols` same shape, 0 one row for all), then min(max(v, lo), hi) (±infinity: no clamp). AVX2.
void swk_binary_f32_avx2(size_t rows, size_t cols, const float *a, const float *b, size_t b_stride, float *y, int op, float lo, float hi);
/// In place, `pixels` runs of `channels` floats `stride` apart: HardSwish x·min(max(x + 3, 0), 6)/6, or
/// HardSigmoid min(max(a·x + b, 0), 1), with Activation.apply's operations in its order. AVX2.
void swk_activation_f32_avx2(size_t pixels, size_t channels, size_t stride, float *y, int kind, float a, float b);
/// int8 multiply of `rows` rows of `cols` elements: y[r][c] = a[r][c] · b[r · b_stride + c] (b_stride
/// `cols`: same shape; 0: one row of b for every row, a per-channel factor as in squeeze-excite).
/// y may alias a. AVX2.
void swk_mul_qs8_avx2(size_t rows, size_t cols, const int8_t *a, const int8_t *b, size_t b_stride, int8_t *y,
                      const swk_mul_qs8_params *p);
/// Peak probe (benchmarks only): `iterations` × 12 independent vpmaddwd + vpaddd pairs, the int8
/// GEMM's instructions (16 multiply-adds each); the result depends on every one of them.
/// `iterations` × 12 dependent-in-chain `vfmadd231ps` ymm (8 float multiply-adds each), the float GEMM's.
int32_t swk_peak_fma_avx2(size_t iterations);
int32_t swk_peak_madd_avx2(size_t iterations);
/// Peak probe for comparison only (no Swiftlet kernel uses it): `iterations` × 12 independent
/// vpmaddubsw + vpmaddwd (by ones) + vpaddd triples, the unsigned × signed int8 path of ONNX
/// Runtime's U8S8 GEMM (32 multiply-adds each, but vpmaddubsw saturates its int16 pair sums).
int32_t swk_peak_maddubs_avx2(size_t iterations);
/// Peak probe: `iterations` × 12 independent vpdpbusd on 256-bit registers, the VNNI int8 GEMM's
/// instruction (32 multiply-adds each). AVX-512 VNNI + VL.
int32_t swk_peak_dpbusd_avx512vnni(size_t iterations);
/// The same on 512-bit registers (64 each), for comparison: no Swiftlet kernel uses them yet.
int32_t swk_peak_dpbusd512_avx512vnni(size_t iterations);
/// y[i] = table[x[i] + 128] (an int8 activation's 256-entry table; y may alias x). AVX2.
void swk_lookup_s8_avx2(size_t count, const int8_t *x, const int8_t *table, int8_t *y);
/// int8 global average pooling of `pixels` rows of `channels` (NHWC): per channel, Σ x − `zero_sum`
/// (int32, wrapping), FixedPoint.multiply by `multiplier` and `shift`, + `output_zero_point`, clamped to
/// int8 (meanQS8_reference's arithmetic). AVX2.
void swk_mean_s8_avx2(size_t pixels, size_t channels, const int8_t *x, int8_t *y, int32_t zero_sum, int32_t multiplier, int32_t shift,
                      int32_t output_zero_point);
/// float32 → int8: round(x / scale) half away from zero + zero point, clamped; NaN gives the zero point. AVX2.
void swk_quantize_f32_avx2(size_t count, const float *x, int8_t *y, float scale, int32_t zero_point);
/// int8 → float32: scale · (x − zero point). AVX2.
void swk_dequantize_s8_avx2(size_t count, const int8_t *x, float *y, float scale, int32_t zero_point);
#endif

#if defined(__aarch64__)
void swk_gemm_f32_neon(size_t m, size_t n, size_t k, const float *a, size_t a_stride, const float *w,
                       float *c, size_t c_stride, float lo, float hi);
void swk_dwconv_f32_neon(const swk_dw_geometry *g, const float *x, const float *w, float *y, float lo, float hi);
void swk_wino23_input_f32_neon(const float *const *rows, size_t in_w, size_t channels, ptrdiff_t ix0, size_t tiles,
                               float *v, size_t v_stride, size_t cs);
void swk_wino23_output_f32_neon(const float *m, size_t m_stride, size_t m_row, size_t tiles, size_t n, const float *bias,
                                float *y0, float *y1, size_t cols, size_t y_stride, float lo, float hi);
/// int8 GEMM without dot-product instructions (smull / sadalp), for Cortex-A53 and A72.
void swk_gemm_qs8_neon(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                       int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch);
/// int8 GEMM with `sdot` (ARMv8.2 dot product: Cortex-A55, A76, A78).
void swk_gemm_qs8_neondot(size_t m, size_t n, size_t k, const int8_t *a, size_t a_stride, const void *w,
                          int8_t *c, size_t c_stride, const swk_qs8_output *out, int16_t *scratch);
void swk_dwconv_qs8_neon(const swk_dw_geometry *g, const int8_t *x, const void *w, int8_t *y, const swk_qs8_output *out);
void swk_requant_neon(size_t count, const int32_t *acc, const int32_t *multiplier, const int32_t *shift, int8_t *y,
                      const swk_qs8_output *out);
void swk_add_qs8_neon(size_t count, const int8_t *a, const int8_t *b, int8_t *y, const swk_add_qs8_params *p);
void swk_maxpool_f32_neon(const swk_pool_geometry *g, const float *x, float *y);
void swk_maxpool_s8_neon(const swk_pool_geometry *g, const int8_t *x, int8_t *y);
void swk_binary_f32_neon(size_t rows, size_t cols, const float *a, const float *b, size_t b_stride, float *y, int op, float lo, float hi);
void swk_activation_f32_neon(size_t pixels, size_t channels, size_t stride, float *y, int kind, float a, float b);
void swk_mul_qs8_neon(size_t rows, size_t cols, const int8_t *a, const int8_t *b, size_t b_stride, int8_t *y,
                      const swk_mul_qs8_params *p);
void swk_lookup_s8_neon(size_t count, const int8_t *x, const int8_t *table, int8_t *y);
/// Peak probes (benchmarks only): `iterations` × 12 independent smull + sadalp pairs (8 multiply-adds
/// each), or sdot (16 each), the int8 GEMMs' instructions.
int32_t swk_peak_smull_neon(size_t iterations);
int32_t swk_peak_sdot_neon(size_t iterations);
void swk_quantize_f32_neon(size_t count, const float *x, int8_t *y, float scale, int32_t zero_point);
/// swk_mean_s8_avx2 with NEON.
void swk_mean_s8_neon(size_t pixels, size_t channels, const int8_t *x, int8_t *y, int32_t zero_sum, int32_t multiplier, int32_t shift,
                      int32_t output_zero_point);
void swk_dequantize_s8_neon(size_t count, const int8_t *x, float *y, float scale, int32_t zero_point);
#endif

// ---- Image pre-processing (SwiftletVision's BilinearResizer and frame conversion) ----
//
// Pillow's antialiased bilinear resize in 22-bit fixed point, bit for bit (Resize.swift has the
// algorithm): out = clamp((2^21 + Σ w·p) >> 22, 0, 255), int32 sums wrapping as the Swift reference's.
// Horizontal taps packed for 16-bit multiply-adds (pmaddwd): each weight split into w >> 11
// (arithmetic) and w & 2047, both int16, so Σ p·w = 2^11 · Σ p·hi + Σ p·lo exactly. With `taps` = 8
// (kernels of at most 8 taps) outputs go in pairs, 32 int16 a pair: [8 hi of output 2q][8 hi of 2q + 1]
// [8 lo of 2q][8 lo of 2q + 1] (an odd count's last pair padded with zero weights, `first` with one more
// entry); otherwise `taps` = 16 · chunks and each output has `chunks` × [16 hi][16 lo]. Zero past an
// output's taps.
#if defined(__x86_64__)
/// One input row, three planes `plane_stride` bytes apart, resized horizontally: output x (x < out_w)
/// of plane c = the packed taps of `w` over src[c · plane_stride + first[x] ...], stored interleaved at
/// dst[3x + c]. Reads `taps` bytes from each plane + first[x] (the caller pads the planes). AVX2.
void swk_resize_h3_u8_avx2(const uint8_t *src, size_t plane_stride, const int32_t *first, const int16_t *w, size_t taps,
                           size_t out_w, uint8_t *dst);
/// dst[i] = clamp((2^21 + Σ_t src[t · stride + i] · k[t]) >> 22), i < n, t < taps. AVX2.
void swk_resize_v_u8_avx2(const uint8_t *src, size_t stride, const int32_t *k, size_t taps, uint8_t *dst, size_t n);
/// `n` interleaved RGB pixels to three planes. SSSE3 (pshufb).
void swk_rgb_to_planes_ssse3(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);
/// `n` YUYV pixels (n odd: the last pixel reads the pair's V at src[2n + 1]) to three RGB planes,
/// BT.601 limited range with Frame.swift's integer formulas, exactly. AVX2.
void swk_yuyv_to_planes_avx2(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);

/// 1 when the CPU and OS run the AVX-512 kernels below (F, BW, VL, VBMI, VNNI and zmm state), else 0.
int swk_vision_avx512(void);
/// Horizontal pass over three planes `plane_stride` bytes apart, in blocks of up to 16 outputs whose
/// taps all lie in the 128 bytes from the block's first input. `blocks`: per block 4 int32 — first
/// input byte `base`, tap quads `quads`, first output `x0`, outputs `m` (1…16). `prog`, per block in
/// order: 64 index bytes (lane i's bytes 4i…4i+3: first[x0 + i] − base + 0…3), then per quad 3 × 64
/// bytes of int8 weight digits d0, d1, d2 (w = d2·2^16 + d1·2^8 + d0, each digit in [−128, 127]; zero
/// past an output's taps and for lanes ≥ m). Quad q's index is the block's + 4q (only its low 7 bits
/// count). Reads 128 bytes of each plane from base (the caller pads); stores outputs x0 … x0 + m − 1
/// interleaved at dst[3x + c]. AVX-512 VBMI (vpermi2b) + VNNI (vpdpbusd: u8 pixels × s8 digits).
void swk_resize_h3_u8_avx512(const uint8_t *src, size_t plane_stride, const int32_t *blocks, size_t nblocks,
                             const int8_t *prog, uint8_t *dst);
/// swk_yuyv_to_planes_avx2 in 16-bit lanes (the same bytes). AVX-512 BW.
void swk_yuyv_to_planes_avx512(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);
/// swk_rgb_to_planes_ssse3 with vpermb. AVX-512 VBMI.
void swk_rgb_to_planes_avx512(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);
/// `pixels` interleaved RGB pixels to floats (p − mean[c]) / std[c] (c: the output channel; `bgr`:
/// output channel c reads byte 2 − c), one subtraction and one IEEE division each, as Normalize.swift
/// (or the reciprocal with a fused Newton step where that gives the same floats for all 256 values of
/// every channel, checked at each call).
void swk_normalize_rgb_f32_avx512(const uint8_t *src, size_t pixels, const float *mean, const float *std, int bgr, float *out);
#endif
#if defined(__aarch64__)
/// swk_yuyv_to_planes_avx2 with NEON (the same bytes; arm_vision.c).
void swk_yuyv_to_planes_neon(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);
/// `n` interleaved RGB pixels to three planes (vld3).
void swk_rgb_to_planes_neon(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b);
/// swk_resize_h3_u8_avx2's job with NEON, on its layout for `taps` = 16 · chunks: output x of plane c =
/// Σ src[c · plane_stride + first[x] + t] · w_t, the weights at w + 32 · chunks · x as `chunks` ×
/// [16 × (w >> 11)][16 × (w & 2047)] (non-negative weights; zero past the output's taps). Reads
/// 16 · chunks bytes of each plane from first[x] (the caller pads).
void swk_resize_h3_u8_neon(const uint8_t *src, size_t plane_stride, const int32_t *first, const uint16_t *w, size_t chunks,
                           size_t out_w, uint8_t *dst);
/// swk_resize_v_u8_avx2 with NEON.
void swk_resize_v_u8_neon(const uint8_t *src, size_t stride, const int32_t *k, size_t taps, uint8_t *dst, size_t n);
#endif

#endif
