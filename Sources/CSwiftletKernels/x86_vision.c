// x86-64 image pre-processing micro-kernels: the resize's two passes and the colour conversions,
// bit for bit equal to SwiftletVision's scalar Swift (Resize.swift, Frame.swift). Each function has
// its own target attribute; Swift calls them only on CPUs that report the feature.
#if defined(__x86_64__)
#include "CSwiftletKernels.h"

#include <immintrin.h>
#include <string.h>

#define SWK_AVX2 __attribute__((target("avx2")))
#define SWK_SSSE3 __attribute__((target("ssse3")))
#define SWK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vnni")))

#include <cpuid.h>

int swk_vision_avx512(void) {
    static int cached = -1;
    if (cached >= 0) return cached;
    unsigned a, b, c, d;
    int ok = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27))) {  // OSXSAVE
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        if ((lo & 0xE6) == 0xE6 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            ok = (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) && (c & (1u << 1)) && (c & (1u << 11));
        }
    }
    cached = ok;
    return ok;
}

static inline uint8_t swk_clip22(int32_t v) {
    if (v <= 0) return 0;
    if (v >= (int32_t)255 << 22) return 255;
    return (uint8_t)(v >> 22);
}

/// Σ p·w of one output as 8 int32 lanes (their sum), with the 2^11 · hi + lo recombination done per lane.
SWK_AVX2 static inline __attribute__((always_inline)) __m256i swk_h16(const uint8_t *p, const int16_t *w, size_t chunks) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t c = 0; c < chunks; c++) {
        const __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + c * 16)));
        const __m256i hi = _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i *)(w + c * 32)));
        const __m256i lo = _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i *)(w + c * 32 + 16)));
        acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_slli_epi32(hi, 11), lo));
    }
    return acc;
}

/// Two outputs of at most 8 taps: the low 4 lanes sum to the first's Σ p·w, the high 4 to the second's.
SWK_AVX2 static inline __attribute__((always_inline)) __m256i swk_h8x2(const uint8_t *p0, const uint8_t *p1, const int16_t *w) {
    const __m128i a = _mm_loadl_epi64((const __m128i *)p0), b = _mm_loadl_epi64((const __m128i *)p1);
    const __m256i x = _mm256_cvtepu8_epi16(_mm_unpacklo_epi64(a, b));
    const __m256i hi = _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i *)w));
    const __m256i lo = _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i *)(w + 16)));
    return _mm256_add_epi32(_mm256_slli_epi32(hi, 11), lo);
}

/// Outputs x0 … x0 + 7 of one plane (indices past out_w repeat the last), rounded and clamped, as 8 int16.
SWK_AVX2 static inline __attribute__((always_inline)) __m128i swk_h_block(const uint8_t *src, const int32_t *first, const int16_t *w,
                                                                          size_t taps, size_t x0, size_t out_w) {
    const size_t last = out_w - 1;
    __m256i s;
    if (taps == 8) {
        const size_t pairs = (out_w + 1) / 2;
        __m256i v[4];
        for (size_t j = 0; j < 4; j++) {
            size_t q = x0 / 2 + j;
            if (q >= pairs) q = pairs - 1;
            v[j] = swk_h8x2(src + first[2 * q], src + first[2 * q + 1], w + q * 32);
        }
        const __m256i a = _mm256_hadd_epi32(v[0], v[1]), b = _mm256_hadd_epi32(v[2], v[3]);
        // [o0 o2 o4 o6 | o1 o3 o5 o7]
        s = _mm256_permutevar8x32_epi32(_mm256_hadd_epi32(a, b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    } else {
        const size_t chunks = taps / 16;
        __m256i v[8];
        if (chunks == 1 && x0 + 8 <= out_w) {
            for (size_t j = 0; j < 8; j++) v[j] = swk_h16(src + first[x0 + j], w + (x0 + j) * 32, 1);
        } else {
            for (size_t j = 0; j < 8; j++) {
                const size_t x = x0 + j < last ? x0 + j : last;
                v[j] = swk_h16(src + first[x], w + x * chunks * 32, chunks);
            }
        }
        const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
        const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
        const __m256i a = _mm256_hadd_epi32(h01, h23), b = _mm256_hadd_epi32(h45, h67);
        // a: sums 0-3 of the low lanes, then of the high lanes; b likewise for 4-7.
        s = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
    }
    s = _mm256_srai_epi32(_mm256_add_epi32(s, _mm256_set1_epi32(1 << 21)), 22);
    return _mm_packs_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

/// pshufb masks interleaving [r0…r7 g0…g7] and [b0…b7] into RGB bytes 16·half … 16·half + 15.
static inline void swk_rgb_interleave_masks(__m128i *rg, __m128i *bb, int half) {
    uint8_t m[16], n[16];
    for (int i = 0; i < 16; i++) {
        const int at = 16 * half + i, px = at / 3, ch = at % 3;
        m[i] = at < 24 && ch < 2 ? (uint8_t)(ch * 8 + px) : 0x80;
        n[i] = at < 24 && ch == 2 ? (uint8_t)px : 0x80;
    }
    memcpy(rg, m, 16);
    memcpy(bb, n, 16);
}

SWK_AVX2 void swk_resize_h3_u8_avx2(const uint8_t *src, size_t plane_stride, const int32_t *first, const int16_t *w, size_t taps,
                                    size_t out_w, uint8_t *dst) {
    __m128i m0, n0, m1, n1;
    swk_rgb_interleave_masks(&m0, &n0, 0);
    swk_rgb_interleave_masks(&m1, &n1, 1);
    for (size_t x0 = 0; x0 < out_w; x0 += 8) {
        const __m128i r = swk_h_block(src, first, w, taps, x0, out_w);
        const __m128i g = swk_h_block(src + plane_stride, first, w, taps, x0, out_w);
        const __m128i b = swk_h_block(src + 2 * plane_stride, first, w, taps, x0, out_w);
        const __m128i rg = _mm_packus_epi16(r, g), bb = _mm_packus_epi16(b, b);
        const __m128i lo = _mm_or_si128(_mm_shuffle_epi8(rg, m0), _mm_shuffle_epi8(bb, n0));
        const __m128i hi = _mm_or_si128(_mm_shuffle_epi8(rg, m1), _mm_shuffle_epi8(bb, n1));
        uint8_t *o = dst + 3 * x0;
        if (out_w - x0 >= 8) {
            _mm_storeu_si128((__m128i *)o, lo);
            _mm_storel_epi64((__m128i *)(o + 16), hi);
        } else {
            uint8_t t[32];
            _mm_storeu_si128((__m128i *)t, lo);
            _mm_storeu_si128((__m128i *)(t + 16), hi);
            memcpy(o, t, 3 * (out_w - x0));
        }
    }
}

SWK_AVX2 void swk_resize_v_u8_avx2(const uint8_t *src, size_t stride, const int32_t *k, size_t taps, uint8_t *dst, size_t n) {
    const __m256i half = _mm256_set1_epi32(1 << 21);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i s0 = half, s1 = half, s2 = half, s3 = half;
        const uint8_t *p = src + i;
        for (size_t t = 0; t < taps; t++, p += stride) {
            const __m256i kt = _mm256_set1_epi32(k[t]);
            const __m256i x = _mm256_loadu_si256((const __m256i *)p);
            const __m128i xl = _mm256_castsi256_si128(x), xh = _mm256_extracti128_si256(x, 1);
            s0 = _mm256_add_epi32(s0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(xl), kt));
            s1 = _mm256_add_epi32(s1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(xl, 8)), kt));
            s2 = _mm256_add_epi32(s2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(xh), kt));
            s3 = _mm256_add_epi32(s3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(xh, 8)), kt));
        }
        // packs/packus work within 128-bit lanes: pack (s0, s1) and (s2, s3), then fix the lane order.
        const __m256i a = _mm256_packs_epi32(_mm256_srai_epi32(s0, 22), _mm256_srai_epi32(s1, 22));
        const __m256i b = _mm256_packs_epi32(_mm256_srai_epi32(s2, 22), _mm256_srai_epi32(s3, 22));
        const __m256i u = _mm256_packus_epi16(a, b);
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    }
    for (; i + 8 <= n; i += 8) {
        __m256i s = half;
        const uint8_t *p = src + i;
        for (size_t t = 0; t < taps; t++, p += stride) {
            s = _mm256_add_epi32(s, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)),
                                                       _mm256_set1_epi32(k[t])));
        }
        s = _mm256_srai_epi32(s, 22);
        const __m128i s16 = _mm_packs_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        _mm_storel_epi64((__m128i *)(dst + i), _mm_packus_epi16(s16, s16));
    }
    for (; i < n; i++) {
        uint32_t s = 1u << 21;
        for (size_t t = 0; t < taps; t++) s += (uint32_t)src[t * stride + i] * (uint32_t)k[t];
        dst[i] = swk_clip22((int32_t)s);
    }
}

/// pshufb masks picking channel `ch` of 16 pixels from the 16-byte block `blk` of 48 bytes.
static inline __m128i swk_rgb_mask(int ch, int blk) {
    uint8_t m[16];
    for (int i = 0; i < 16; i++) {
        const int at = 3 * i + ch - 16 * blk;
        m[i] = at >= 0 && at < 16 ? (uint8_t)at : 0x80;
    }
    __m128i v;
    memcpy(&v, m, 16);
    return v;
}

SWK_SSSE3 void swk_rgb_to_planes_ssse3(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    __m128i m[3][3];
    for (int ch = 0; ch < 3; ch++)
        for (int blk = 0; blk < 3; blk++) m[ch][blk] = swk_rgb_mask(ch, blk);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i x0 = _mm_loadu_si128((const __m128i *)(src + 3 * i));
        const __m128i x1 = _mm_loadu_si128((const __m128i *)(src + 3 * i + 16));
        const __m128i x2 = _mm_loadu_si128((const __m128i *)(src + 3 * i + 32));
        uint8_t *out[3] = {r, g, b};
        for (int ch = 0; ch < 3; ch++) {
            const __m128i v = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(x0, m[ch][0]), _mm_shuffle_epi8(x1, m[ch][1])),
                                           _mm_shuffle_epi8(x2, m[ch][2]));
            _mm_storeu_si128((__m128i *)(out[ch] + i), v);
        }
    }
    for (; i < n; i++) {
        r[i] = src[3 * i];
        g[i] = src[3 * i + 1];
        b[i] = src[3 * i + 2];
    }
}

static inline uint8_t swk_clamp_byte(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/// Even and odd pixels' values of one channel (8 int32 each, before the >> 8) as 16 clamped bytes in
/// pixel order.
SWK_AVX2 static inline __attribute__((always_inline)) void swk_store16_eo(uint8_t *dst, __m256i even, __m256i odd) {
    // packs: [e0-3 o0-3 | e4-7 o4-7] int16; packus: the same as bytes, twice per lane.
    const __m256i w = _mm256_packs_epi32(_mm256_srai_epi32(even, 8), _mm256_srai_epi32(odd, 8));
    const __m256i b = _mm256_packus_epi16(w, w);
    const __m128i x = _mm256_castsi256_si128(_mm256_permute4x64_epi64(b, 0x08));  // [e0-3 o0-3 e4-7 o4-7]
    _mm_storeu_si128((__m128i *)dst, _mm_shuffle_epi8(x, _mm_setr_epi8(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15)));
}

SWK_AVX2 void swk_yuyv_to_planes_avx2(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    // Per 128-bit lane (8 pixels): Y of even pixels, Y of odd pixels, U, V, 4 bytes each.
    const __m256i split = _mm256_setr_epi8(0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15,
                                           0, 4, 8, 12, 2, 6, 10, 14, 1, 5, 9, 13, 3, 7, 11, 15);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i k298 = _mm256_set1_epi32(298), k409 = _mm256_set1_epi32(409), k100 = _mm256_set1_epi32(-100);
    const __m256i k208 = _mm256_set1_epi32(208), k516 = _mm256_set1_epi32(516);
    const __m256i c0 = _mm256_set1_epi32(128 - 298 * 16), k128 = _mm256_set1_epi32(128);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        // [Y even 0-7][Y odd 0-7][U 0-7][V 0-7]
        const __m256i x = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)(src + 2 * i)), split), order);
        const __m128i ys = _mm256_castsi256_si128(x), uv = _mm256_extracti128_si256(x, 1);
        const __m256i ce = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvtepu8_epi32(ys), k298), c0);
        const __m256i co = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(ys, 8)), k298), c0);
        const __m256i d = _mm256_sub_epi32(_mm256_cvtepu8_epi32(uv), k128);
        const __m256i e = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(uv, 8)), k128);
        const __m256i rt = _mm256_mullo_epi32(e, k409);
        const __m256i gt = _mm256_sub_epi32(_mm256_mullo_epi32(d, k100), _mm256_mullo_epi32(e, k208));
        const __m256i bt = _mm256_mullo_epi32(d, k516);
        swk_store16_eo(r + i, _mm256_add_epi32(ce, rt), _mm256_add_epi32(co, rt));
        swk_store16_eo(g + i, _mm256_add_epi32(ce, gt), _mm256_add_epi32(co, gt));
        swk_store16_eo(b + i, _mm256_add_epi32(ce, bt), _mm256_add_epi32(co, bt));
    }
    for (; i < n; i++) {
        const uint8_t *p = src + 2 * (i & ~(size_t)1);
        const int32_t c = 298 * ((int32_t)src[2 * i] - 16) + 128;
        const int32_t d = (int32_t)p[1] - 128, e = (int32_t)p[3] - 128;
        r[i] = swk_clamp_byte((c + 409 * e) >> 8);
        g[i] = swk_clamp_byte((c - 100 * d - 208 * e) >> 8);
        b[i] = swk_clamp_byte((c + 516 * d) >> 8);
    }
}

// ---- AVX-512 (BW, VL, VBMI, VNNI) ----

SWK_AVX512 void swk_resize_h3_u8_avx512(const uint8_t *src, size_t plane_stride, const int32_t *blocks, size_t nblocks,
                                      const int8_t *prog, uint8_t *dst) {
    const __m512i four = _mm512_set1_epi8(4), half = _mm512_set1_epi32(1 << 21), zero = _mm512_setzero_si512();
    uint8_t ilv_bytes[64];
    for (int k = 0; k < 64; k++) ilv_bytes[k] = k < 48 ? (uint8_t)(k % 3 * 16 + k / 3) : 0;
    const __m512i ilv = _mm512_loadu_si512(ilv_bytes);
    for (size_t blk = 0; blk < nblocks; blk++) {
        const int32_t *h = blocks + 4 * blk;
        const uint8_t *p = src + h[0];
        const __m512i r0 = _mm512_loadu_si512(p), r1 = _mm512_loadu_si512(p + 64);
        const __m512i g0 = _mm512_loadu_si512(p + plane_stride), g1 = _mm512_loadu_si512(p + plane_stride + 64);
        const __m512i b0 = _mm512_loadu_si512(p + 2 * plane_stride), b1 = _mm512_loadu_si512(p + 2 * plane_stride + 64);
        __m512i idx = _mm512_loadu_si512(prog);
        prog += 64;
        __m512i ar0 = zero, ar1 = zero, ar2 = zero, ag0 = zero, ag1 = zero, ag2 = zero, ab0 = zero, ab1 = zero, ab2 = zero;
        for (int32_t q = 0; q < h[1]; q++) {
            const __m512i w0 = _mm512_loadu_si512(prog), w1 = _mm512_loadu_si512(prog + 64), w2 = _mm512_loadu_si512(prog + 128);
            prog += 192;
            const __m512i xr = _mm512_permutex2var_epi8(r0, idx, r1);
            const __m512i xg = _mm512_permutex2var_epi8(g0, idx, g1);
            const __m512i xb = _mm512_permutex2var_epi8(b0, idx, b1);
            ar0 = _mm512_dpbusd_epi32(ar0, xr, w0);
            ag0 = _mm512_dpbusd_epi32(ag0, xg, w0);
            ab0 = _mm512_dpbusd_epi32(ab0, xb, w0);
            ar1 = _mm512_dpbusd_epi32(ar1, xr, w1);
            ag1 = _mm512_dpbusd_epi32(ag1, xg, w1);
            ab1 = _mm512_dpbusd_epi32(ab1, xb, w1);
            ar2 = _mm512_dpbusd_epi32(ar2, xr, w2);
            ag2 = _mm512_dpbusd_epi32(ag2, xg, w2);
            ab2 = _mm512_dpbusd_epi32(ab2, xb, w2);
            idx = _mm512_add_epi8(idx, four);
        }
#define SWK_H_FINISH(a0, a1, a2)                                                                                              \
    _mm512_cvtusepi32_epi8(_mm512_max_epi32(                                                                                   \
        _mm512_srai_epi32(_mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(a2, 16), _mm512_slli_epi32(a1, 8)),            \
                                           _mm512_add_epi32(a0, half)),                                                        \
                          22),                                                                                                 \
        zero))
        __m512i all = _mm512_castsi128_si512(SWK_H_FINISH(ar0, ar1, ar2));
        all = _mm512_inserti32x4(all, SWK_H_FINISH(ag0, ag1, ag2), 1);
        all = _mm512_inserti32x4(all, SWK_H_FINISH(ab0, ab1, ab2), 2);
#undef SWK_H_FINISH
        _mm512_mask_storeu_epi8(dst + 3 * (size_t)h[2], (__mmask64)((1ull << (3 * h[3])) - 1), _mm512_permutexvar_epi8(ilv, all));
    }
}

SWK_AVX512 void swk_yuyv_to_planes_avx512(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    // Per 16-byte lane (8 pixels), one word per pixel: [Y, V of its pair] and [Y, U of its pair].
    const __m512i pv = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 3, 2, 3, 4, 7, 6, 7, 8, 11, 10, 11, 12, 15, 14, 15));
    const __m512i pu = _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 1, 4, 5, 6, 5, 8, 9, 10, 9, 12, 13, 14, 13));
    const __m512i kR = _mm512_set1_epi16((int16_t)(uint16_t)((uint8_t)-103 << 8 | 42));
    const __m512i kR1 = _mm512_set1_epi16(2 << 8 | 1);
    const __m512i kGu = _mm512_set1_epi16((int16_t)(uint16_t)((uint8_t)-100 << 8 | 42));
    const __m512i kGv = _mm512_set1_epi16(48 << 8);
    const __m512i kG1 = _mm512_set1_epi16((int16_t)(uint16_t)((uint8_t)-1 << 8 | 1));
    const __m512i kB = _mm512_set1_epi16(4 << 8 | 42);
    const __m512i kB1 = _mm512_set1_epi16(2 << 8 | 1);
    const __m512i cR = _mm512_set1_epi16(12640), cG = _mm512_set1_epi16(6112), cB = _mm512_set1_epi16(-1056);
    const __m512i oR = _mm512_set1_epi16(-272), oG = _mm512_set1_epi16(112), oB = _mm512_set1_epi16(-272);
    const __m512i order = _mm512_setr_epi64(0, 2, 4, 6, 1, 3, 5, 7);
    for (size_t i = 0; i < n; i += 32) {
        const size_t m = n - i < 32 ? n - i : 32;
        const size_t bytes = 2 * m + (m & 1) * 2;
        const __mmask64 in = bytes >= 64 ? ~(__mmask64)0 : (__mmask64)((1ull << bytes) - 1);
        const __m512i d = _mm512_maskz_loadu_epi8(in, src + 2 * i);
        const __m512i yv = _mm512_shuffle_epi8(d, pv), yu = _mm512_shuffle_epi8(d, pu);
        // Frame.swift's formulas with 298 = 256 + 42, 409 = 512 - 103, -208 = -256 + 48, 516 = 512 + 4:
        // (256·a + t) >> 8 = a + (t >> 8), every t and sum within int16.
        const __m512i R = _mm512_add_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(yv, kR1), oR),
                                           _mm512_srai_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(yv, kR), cR), 8));
        const __m512i G = _mm512_add_epi16(
            _mm512_add_epi16(_mm512_maddubs_epi16(yv, kG1), oG),
            _mm512_srai_epi16(_mm512_add_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(yu, kGu), _mm512_maddubs_epi16(yv, kGv)), cG), 8));
        const __m512i B = _mm512_add_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(yu, kB1), oB),
                                           _mm512_srai_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(yu, kB), cB), 8));
        const __m512i rg = _mm512_permutexvar_epi64(order, _mm512_packus_epi16(R, G));  // [R 0-31][G 0-31]
        const __m256i bb = _mm512_castsi512_si256(_mm512_permutexvar_epi64(order, _mm512_packus_epi16(B, B)));
        if (m == 32) {
            _mm256_storeu_si256((__m256i *)(r + i), _mm512_castsi512_si256(rg));
            _mm256_storeu_si256((__m256i *)(g + i), _mm512_extracti64x4_epi64(rg, 1));
            _mm256_storeu_si256((__m256i *)(b + i), bb);
        } else {
            const __mmask32 out = (__mmask32)((1u << m) - 1);
            _mm256_mask_storeu_epi8(r + i, out, _mm512_castsi512_si256(rg));
            _mm256_mask_storeu_epi8(g + i, out, _mm512_extracti64x4_epi64(rg, 1));
            _mm256_mask_storeu_epi8(b + i, out, bb);
        }
    }
}

SWK_AVX512 void swk_rgb_to_planes_avx512(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    uint8_t split_bytes[64];
    for (int k = 0; k < 64; k++) split_bytes[k] = (uint8_t)(k < 48 ? 3 * (k % 16) + k / 16 : 0);
    const __m512i split = _mm512_loadu_si512(split_bytes);
    for (size_t i = 0; i < n; i += 16) {
        const size_t m = n - i < 16 ? n - i : 16;
        const __m512i x = _mm512_permutexvar_epi8(split, _mm512_maskz_loadu_epi8((__mmask64)((1ull << (3 * m)) - 1), src + 3 * i));
        const __mmask16 out = (__mmask16)((1u << m) - 1);
        _mm_mask_storeu_epi8(r + i, out, _mm512_castsi512_si128(x));
        _mm_mask_storeu_epi8(g + i, out, _mm512_extracti32x4_epi32(x, 1));
        _mm_mask_storeu_epi8(b + i, out, _mm512_extracti32x4_epi32(x, 2));
    }
}

SWK_AVX512 void swk_normalize_rgb_f32_avx512(const uint8_t *src, size_t pixels, const float *mean, const float *std, int bgr,
                                           float *out) {
    uint8_t perm_bytes[64];
    for (int k = 0; k < 64; k++) perm_bytes[k] = (uint8_t)(k < 48 && bgr ? k / 3 * 3 + 2 - k % 3 : k);
    const __m512i perm = _mm512_loadu_si512(perm_bytes);
    float mv[48], sv[48];
    for (int k = 0; k < 48; k++) {
        mv[k] = mean[k % 3];
        sv[k] = std[k % 3];
    }
    const __m512 m0 = _mm512_loadu_ps(mv), m1 = _mm512_loadu_ps(mv + 16), m2 = _mm512_loadu_ps(mv + 32);
    const __m512 s0 = _mm512_loadu_ps(sv), s1 = _mm512_loadu_ps(sv + 16), s2 = _mm512_loadu_ps(sv + 32);
    // The quotient by the reciprocal and one Newton step (q = a·r, q += (a − q·s)·r, fused) is the
    // correctly rounded a / s for most divisors; only 256 values a channel occur, so check them all
    // against the division and keep dividing if one differs.
    const __m512 r0 = _mm512_div_ps(_mm512_set1_ps(1), s0), r1 = _mm512_div_ps(_mm512_set1_ps(1), s1), r2 = _mm512_div_ps(_mm512_set1_ps(1), s2);
    int exact = 1;
    for (int c = 0; c < 3 && exact; c++) {
        const __m512 mc = _mm512_set1_ps(mean[c]), sc = _mm512_set1_ps(std[c]), rc = _mm512_div_ps(_mm512_set1_ps(1), sc);
        for (int v = 0; v < 256; v += 16) {
            const __m512 a = _mm512_sub_ps(_mm512_add_ps(_mm512_set1_ps((float)v), _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)), mc);
            const __m512 q = _mm512_mul_ps(a, rc);
            const __m512 f = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, sc, a), rc, q);
            if (_mm512_cmpneq_epi32_mask(_mm512_castps_si512(f), _mm512_castps_si512(_mm512_div_ps(a, sc)))) {
                exact = 0;
                break;
            }
        }
    }
#define SWK_QUOT(a, s, r) (exact ? _mm512_fmadd_ps(_mm512_fnmadd_ps(_mm512_mul_ps(a, r), s, a), r, _mm512_mul_ps(a, r)) : _mm512_div_ps(a, s))
    for (size_t i = 0; i < pixels; i += 16) {
        const size_t m = pixels - i < 16 ? pixels - i : 16, vals = 3 * m;
        const __m512i x = _mm512_permutexvar_epi8(perm, _mm512_maskz_loadu_epi8((__mmask64)((1ull << vals) - 1), src + 3 * i));
        const __m512 a0 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(x))), m0);
        const __m512 a1 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(x, 1))), m1);
        const __m512 a2 = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(x, 2))), m2);
        const __m512 f0 = SWK_QUOT(a0, s0, r0), f1 = SWK_QUOT(a1, s1, r1), f2 = SWK_QUOT(a2, s2, r2);
        float *o = out + 3 * i;
        if (m == 16) {
            _mm512_storeu_ps(o, f0);
            _mm512_storeu_ps(o + 16, f1);
            _mm512_storeu_ps(o + 32, f2);
        } else {
            const uint64_t all = (1ull << vals) - 1;
            _mm512_mask_storeu_ps(o, (__mmask16)(all & 0xFFFF), f0);
            _mm512_mask_storeu_ps(o + 16, (__mmask16)((all >> 16) & 0xFFFF), f1);
            _mm512_mask_storeu_ps(o + 32, (__mmask16)((all >> 32) & 0xFFFF), f2);
        }
    }
#undef SWK_QUOT
}
#endif
