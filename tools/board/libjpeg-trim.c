// Board builds only (static aarch64, musl): definitions that keep parts of Debian's libjpeg.a that a
// board never runs out of the binary (about 100 KB of 197). A static archive's member is linked only
// to define a symbol nothing else defines; these objects come first on the link line, so the members
// below are never pulled in. If a libjpeg update moved one of these symbols into a member the board
// needs, the link fails with a duplicate definition: loud, never a silent change.
//
// What a board loses, and why nothing it does reaches it (libjpeg-turbo 2.1.5, Debian 12):
// - jquant1.c, jquant2.c (colour quantization): only with `quantize_colors`, which the shim never sets.
// - jdmerge.c, jdmerge-neon.c (merged upsampling): only without `do_fancy_upsampling`; the shim sets it.
// - jidctint.c (the C integer IDCT at 8×8 and the scaled 3×3, 5×5–7×7, 9×9–16×16 ones): the shim
//   decodes at 1/1, 1/2, 1/4 or 1/8, which use 8×8, 4×4, 2×2 and 1×1 IDCTs (chroma scaled up by
//   doubling stays in that set), and on ARM64 the 8×8 one is NEON's (jsimd_idct_islow); only an
//   environment with JSIMD_FORCENONE set would ask for the C one, and gets the error below.
// - jdarith.c, jaricom.c (arithmetic-coded JPEG, which cameras and encoders do not produce): the
//   board says so, as a libjpeg built without it does ("Sorry, arithmetic code decoding is not
//   supported"); the host CLI decodes them.
// - the compression side's NEON code (colour conversion, DCT, Huffman encoding, downsampling), which
//   jsimd.c refers to but the board never calls: it decodes only. Their stand-ins stop the process
//   with a message, so a future board encoder could not run them silently.
#include <stdio.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

static void swl_not_in_board(j_decompress_ptr cinfo, int code) {
    cinfo->err->msg_code = code;
    (*cinfo->err->error_exit)((j_common_ptr)cinfo);  // longjmps to the shim: a clean error
}

void jinit_1pass_quantizer(j_decompress_ptr cinfo) { swl_not_in_board(cinfo, JERR_NOT_COMPILED); }
void jinit_2pass_quantizer(j_decompress_ptr cinfo) { swl_not_in_board(cinfo, JERR_NOT_COMPILED); }
void jinit_merged_upsampler(j_decompress_ptr cinfo) { swl_not_in_board(cinfo, JERR_NOT_COMPILED); }
void jinit_arith_decoder(j_decompress_ptr cinfo) { swl_not_in_board(cinfo, JERR_ARITH_NOTIMPL); }

#define SWL_IDCT(name)                                                                                              \
    void name(j_decompress_ptr cinfo, jpeg_component_info *compptr, JCOEFPTR coef_block, JSAMPARRAY output_buf,   \
              JDIMENSION output_col) {                                                                            \
        (void)compptr, (void)coef_block, (void)output_buf, (void)output_col;                                      \
        swl_not_in_board(cinfo, JERR_NOT_COMPILED);                                                               \
    }
SWL_IDCT(jpeg_idct_islow)
SWL_IDCT(jpeg_idct_3x3)
SWL_IDCT(jpeg_idct_5x5)
SWL_IDCT(jpeg_idct_6x6)
SWL_IDCT(jpeg_idct_7x7)
SWL_IDCT(jpeg_idct_9x9)
SWL_IDCT(jpeg_idct_10x10)
SWL_IDCT(jpeg_idct_11x11)
SWL_IDCT(jpeg_idct_12x12)
SWL_IDCT(jpeg_idct_13x13)
SWL_IDCT(jpeg_idct_14x14)
SWL_IDCT(jpeg_idct_15x15)
SWL_IDCT(jpeg_idct_16x16)

static void swl_not_in_board_stop(const char *name) {
    static const char head[] = "swiftlet: libjpeg's ";
    static const char tail[] = " is not in this board binary (tools/board/libjpeg-trim.c)\n";
    size_t n = 0;
    while (name[n]) n++;
    (void)!write(2, head, sizeof head - 1);
    (void)!write(2, name, n);
    (void)!write(2, tail, sizeof tail - 1);
    _exit(70);
}

#define SWL_STOP(name) \
    void name(void) { swl_not_in_board_stop(#name); }
// Merged upsampling (NEON), referred to by jsimd.c.
SWL_STOP(jsimd_h2v1_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extrgb_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extrgbx_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extbgr_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extbgrx_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extxbgr_merged_upsample_neon)
SWL_STOP(jsimd_h2v1_extxrgb_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extrgb_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extrgbx_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extbgr_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extbgrx_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extxbgr_merged_upsample_neon)
SWL_STOP(jsimd_h2v2_extxrgb_merged_upsample_neon)
// The compression side (NEON), referred to by jsimd.c.
SWL_STOP(jsimd_rgb_ycc_convert_neon)
SWL_STOP(jsimd_extrgb_ycc_convert_neon)
SWL_STOP(jsimd_extrgbx_ycc_convert_neon)
SWL_STOP(jsimd_extbgr_ycc_convert_neon)
SWL_STOP(jsimd_extbgrx_ycc_convert_neon)
SWL_STOP(jsimd_extxbgr_ycc_convert_neon)
SWL_STOP(jsimd_extxrgb_ycc_convert_neon)
SWL_STOP(jsimd_rgb_gray_convert_neon)
SWL_STOP(jsimd_extrgb_gray_convert_neon)
SWL_STOP(jsimd_extrgbx_gray_convert_neon)
SWL_STOP(jsimd_extbgr_gray_convert_neon)
SWL_STOP(jsimd_extbgrx_gray_convert_neon)
SWL_STOP(jsimd_extxbgr_gray_convert_neon)
SWL_STOP(jsimd_extxrgb_gray_convert_neon)
SWL_STOP(jsimd_huff_encode_one_block_neon)
SWL_STOP(jsimd_encode_mcu_AC_first_prepare_neon)
SWL_STOP(jsimd_encode_mcu_AC_refine_prepare_neon)
SWL_STOP(jsimd_fdct_islow_neon)
SWL_STOP(jsimd_fdct_ifast_neon)
SWL_STOP(jsimd_h2v1_downsample_neon)
SWL_STOP(jsimd_h2v2_downsample_neon)
SWL_STOP(jsimd_convsamp_neon)
SWL_STOP(jsimd_quantize_neon)
