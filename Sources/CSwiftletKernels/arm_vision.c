// ARM64 image pre-processing micro-kernels (NEON, every ARMv8-A core): the YUYV conversion, the RGB
// split and the resize's two passes, bit for bit equal to SwiftletVision's scalar Swift (Resize.swift,
// Frame.swift), which stays the reference. The x86-64 ones are in x86_vision.c.
#if defined(__aarch64__)
#include "CSwiftletKernels.h"

#include <arm_neon.h>

// The scalar tails stay scalar (GCC's -O3 would vectorize them again, code the rpi4 binary's 1 MB budget
// does not need).
#if defined(__clang__)
#define SWK_TAILS_SCALAR
#else
#define SWK_TAILS_SCALAR __attribute__((optimize("no-tree-vectorize")))
#endif

static inline uint8_t swk_clamp_byte_neon(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/// One channel of 16 pixels: clamp(outer + (inner >> 8)), where inner and outer are the 16-bit sums
/// of swk_yuyv_to_planes_avx512 (within int16, so wrapping 16-bit arithmetic gives them exactly).
static inline uint8x8_t swk_yuv_channel(uint16x8_t inner, uint16x8_t outer) {
    return vqmovun_s16(vaddq_s16(vreinterpretq_s16_u16(outer), vshrq_n_s16(vreinterpretq_s16_u16(inner), 8)));
}

SWK_TAILS_SCALAR void swk_yuyv_to_planes_neon(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    // Frame.swift's formulas split as 256·a + t (298 = 256 + 42, 409 = 512 − 103, −208 = −256 + 48,
    // 516 = 512 + 4), with the constants folded for raw Y, U, V:
    //   R = Y + 2V − 272 + ((42Y − 103V + 12640) >> 8), G = Y − V + 112 + ((42Y − 100U + 48V + 6112) >> 8),
    //   B = Y + 2U − 272 + ((42Y + 4U − 1056) >> 8).
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const uint8x16x4_t q = vld4q_u8(src + 2 * i);  // Y of even pixels, U, Y of odd pixels, V
        for (int h = 0; h < 2; h++) {
            const uint8x8_t y0 = h ? vget_high_u8(q.val[0]) : vget_low_u8(q.val[0]);
            const uint8x8_t u = h ? vget_high_u8(q.val[1]) : vget_low_u8(q.val[1]);
            const uint8x8_t y1 = h ? vget_high_u8(q.val[2]) : vget_low_u8(q.val[2]);
            const uint8x8_t v = h ? vget_high_u8(q.val[3]) : vget_low_u8(q.val[3]);
            const uint16x8_t cr = vmlsl_u8(vdupq_n_u16(12640), v, vdup_n_u8(103));
            const uint16x8_t cg = vmlal_u8(vmlsl_u8(vdupq_n_u16(6112), u, vdup_n_u8(100)), v, vdup_n_u8(48));
            const uint16x8_t cb = vmlal_u8(vdupq_n_u16((uint16_t)-1056), u, vdup_n_u8(4));
            const uint16x8_t orr = vmlal_u8(vdupq_n_u16((uint16_t)-272), v, vdup_n_u8(2));
            const uint16x8_t og = vsubw_u8(vdupq_n_u16(112), v);
            const uint16x8_t ob = vmlal_u8(vdupq_n_u16((uint16_t)-272), u, vdup_n_u8(2));
            const uint16x8_t k0 = vmull_u8(y0, vdup_n_u8(42)), k1 = vmull_u8(y1, vdup_n_u8(42));
            uint8x8x2_t rr, gg, bb;
            rr.val[0] = swk_yuv_channel(vaddq_u16(k0, cr), vaddw_u8(orr, y0));
            rr.val[1] = swk_yuv_channel(vaddq_u16(k1, cr), vaddw_u8(orr, y1));
            gg.val[0] = swk_yuv_channel(vaddq_u16(k0, cg), vaddw_u8(og, y0));
            gg.val[1] = swk_yuv_channel(vaddq_u16(k1, cg), vaddw_u8(og, y1));
            bb.val[0] = swk_yuv_channel(vaddq_u16(k0, cb), vaddw_u8(ob, y0));
            bb.val[1] = swk_yuv_channel(vaddq_u16(k1, cb), vaddw_u8(ob, y1));
            vst2_u8(r + i + 16 * h, rr);
            vst2_u8(g + i + 16 * h, gg);
            vst2_u8(b + i + 16 * h, bb);
        }
    }
    for (; i < n; i++) {
        const uint8_t *p = src + 2 * (i & ~(size_t)1);
        const int32_t c = 298 * ((int32_t)src[2 * i] - 16) + 128;
        const int32_t d = (int32_t)p[1] - 128, e = (int32_t)p[3] - 128;
        r[i] = swk_clamp_byte_neon((c + 409 * e) >> 8);
        g[i] = swk_clamp_byte_neon((c - 100 * d - 208 * e) >> 8);
        b[i] = swk_clamp_byte_neon((c + 516 * d) >> 8);
    }
}

SWK_TAILS_SCALAR void swk_rgb_to_planes_neon(const uint8_t *src, size_t n, uint8_t *r, uint8_t *g, uint8_t *b) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint8x16x3_t q = vld3q_u8(src + 3 * i);
        vst1q_u8(r + i, q.val[0]);
        vst1q_u8(g + i, q.val[1]);
        vst1q_u8(b + i, q.val[2]);
    }
    for (; i < n; i++) {
        r[i] = src[3 * i];
        g[i] = src[3 * i + 1];
        b[i] = src[3 * i + 2];
    }
}

SWK_TAILS_SCALAR void swk_resize_h3_u8_neon(const uint8_t *src, size_t plane_stride, const int32_t *first, const uint16_t *w,
                                             size_t chunks, size_t out_w, uint8_t *dst) {
    for (size_t x = 0; x < out_w; x++) {
        const uint8_t *p = src + first[x];
        const uint16_t *k = w + x * chunks * 32;
        uint32x4_t hi[3] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0)};
        uint32x4_t lo[3] = {vdupq_n_u32(0), vdupq_n_u32(0), vdupq_n_u32(0)};
        for (size_t c = 0; c < chunks; c++, p += 16, k += 32) {
            const uint16x8_t kh0 = vld1q_u16(k), kh1 = vld1q_u16(k + 8), kl0 = vld1q_u16(k + 16), kl1 = vld1q_u16(k + 24);
            for (int ch = 0; ch < 3; ch++) {
                const uint8x16_t xb = vld1q_u8(p + ch * plane_stride);
                const uint16x8_t x0 = vmovl_u8(vget_low_u8(xb)), x1 = vmovl_high_u8(xb);
                hi[ch] = vmlal_u16(hi[ch], vget_low_u16(x0), vget_low_u16(kh0));
                hi[ch] = vmlal_high_u16(hi[ch], x0, kh0);
                hi[ch] = vmlal_u16(hi[ch], vget_low_u16(x1), vget_low_u16(kh1));
                hi[ch] = vmlal_high_u16(hi[ch], x1, kh1);
                lo[ch] = vmlal_u16(lo[ch], vget_low_u16(x0), vget_low_u16(kl0));
                lo[ch] = vmlal_high_u16(lo[ch], x0, kl0);
                lo[ch] = vmlal_u16(lo[ch], vget_low_u16(x1), vget_low_u16(kl1));
                lo[ch] = vmlal_high_u16(lo[ch], x1, kl1);
            }
        }
        for (int ch = 0; ch < 3; ch++) {
            // Σ p·w = 2^11 · Σ p·hi + Σ p·lo (w = 2^11·hi + lo), wrapping as the Swift reference's Int32.
            const int32_t s = (int32_t)((vaddvq_u32(hi[ch]) << 11) + vaddvq_u32(lo[ch]) + (1u << 21));
            dst[3 * x + ch] = s <= 0 ? 0 : s >= (int32_t)255 << 22 ? 255 : (uint8_t)(s >> 22);
        }
    }
}

SWK_TAILS_SCALAR void swk_resize_v_u8_neon(const uint8_t *src, size_t stride, const int32_t *k, size_t taps, uint8_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int32x4_t s0 = vdupq_n_s32(1 << 21), s1 = s0, s2 = s0, s3 = s0;
        const uint8_t *p = src + i;
        for (size_t t = 0; t < taps; t++, p += stride) {
            const uint8x16_t x = vld1q_u8(p);
            const int16x8_t a = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(x))), b = vreinterpretq_s16_u16(vmovl_high_u8(x));
            const int32_t kt = k[t];
            s0 = vmlaq_n_s32(s0, vmovl_s16(vget_low_s16(a)), kt);
            s1 = vmlaq_n_s32(s1, vmovl_high_s16(a), kt);
            s2 = vmlaq_n_s32(s2, vmovl_s16(vget_low_s16(b)), kt);
            s3 = vmlaq_n_s32(s3, vmovl_high_s16(b), kt);
        }
        // >> 22, then saturate to [0, 255]: the scalar clip (v <= 0: 0, v >= 255 << 22: 255).
        const uint16x8_t lo16 = vcombine_u16(vqmovun_s32(vshrq_n_s32(s0, 22)), vqmovun_s32(vshrq_n_s32(s1, 22)));
        const uint16x8_t hi16 = vcombine_u16(vqmovun_s32(vshrq_n_s32(s2, 22)), vqmovun_s32(vshrq_n_s32(s3, 22)));
        vst1q_u8(dst + i, vcombine_u8(vqmovn_u16(lo16), vqmovn_u16(hi16)));
    }
    for (; i < n; i++) {
        uint32_t s = 1u << 21;
        for (size_t t = 0; t < taps; t++) s += (uint32_t)src[t * stride + i] * (uint32_t)k[t];
        const int32_t v = (int32_t)s;
        dst[i] = v <= 0 ? 0 : v >= (int32_t)255 << 22 ? 255 : (uint8_t)(v >> 22);
    }
}
#endif
