// JPEG decoding through libjpeg (libjpeg-turbo), wrapped so that Swift never sees a longjmp.
//
// libjpeg reports fatal errors by calling `error_exit`, which must not return; we longjmp back to
// the entry point, format libjpeg's text into `swl_jpeg_info.message` and return `ok = 0`.
// libjpeg reports damaged data (a truncated file, a corrupt entropy-coded segment) only as
// *warnings* and then fills the rest of the image with grey; `emit_message` records the first
// such warning and the entry points turn it into an error, so a truncated frame is never
// mistaken for a good one. Decoding settings are libjpeg's defaults (JDCT_ISLOW, fancy
// upsampling), the same ones Pillow uses, so both give the same pixels for the same file.
#include "CSwiftletSys.h" // stdio.h first: jpeglib.h needs FILE and size_t
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

/// Decoded images larger than this in either dimension are refused before any allocation.
#define SWL_JPEG_MAX_SIDE 16384

/// Limit on libjpeg's own working memory (a progressive 16384x16384 4:2:0 image needs ~800 MB).
#define SWL_JPEG_MAX_MEMORY (1024L * 1024L * 1024L)

// ---- libjpeg's system-dependent memory interface (jmemsys.h), in place of its jmemnobs.c ----
//
// libjpeg takes all its memory through these eight functions, which a system may supply itself (the
// point of jmemsys.h). jmemnobs.c calls malloc and free for every block, so each decode allocated
// and freed 16-18 blocks for a 160x120 frame. Here a freed block is kept, by its exact size, and the
// next request of that size gets it back: a stream of frames of one size allocates in its first
// frame only (the frame loop's allocation check requires none after). At most 64 blocks and 8 MiB
// are kept; a larger block, or one past that, is freed. On the boards (static links) these
// definitions replace jmemnobs.o; on the host the executable's definitions interpose libjpeg.so's
// (its calls to them go through the PLT).
#define SWL_JPEG_CACHE_BLOCKS 64
#define SWL_JPEG_CACHE_BYTES ((size_t)8 << 20)
static struct { void *p; size_t n; } swl_jpeg_cache[SWL_JPEG_CACHE_BLOCKS];
static int swl_jpeg_cached;
static size_t swl_jpeg_cached_bytes;
static pthread_mutex_t swl_jpeg_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static void *swl_jpeg_get(size_t n) {
    void *p = NULL;
    pthread_mutex_lock(&swl_jpeg_cache_lock);
    for (int i = swl_jpeg_cached - 1; i >= 0; i--) {
        if (swl_jpeg_cache[i].n == n) {
            p = swl_jpeg_cache[i].p;
            swl_jpeg_cache[i] = swl_jpeg_cache[--swl_jpeg_cached];
            swl_jpeg_cached_bytes -= n;
            break;
        }
    }
    pthread_mutex_unlock(&swl_jpeg_cache_lock);
    return p ? p : malloc(n);
}

static void swl_jpeg_put(void *p, size_t n) {
    if (!p) return;
    pthread_mutex_lock(&swl_jpeg_cache_lock);
    if (swl_jpeg_cached < SWL_JPEG_CACHE_BLOCKS && swl_jpeg_cached_bytes + n <= SWL_JPEG_CACHE_BYTES) {
        swl_jpeg_cache[swl_jpeg_cached].p = p;
        swl_jpeg_cache[swl_jpeg_cached].n = n;
        swl_jpeg_cached++;
        swl_jpeg_cached_bytes += n;
        p = NULL;
    }
    pthread_mutex_unlock(&swl_jpeg_cache_lock);
    free(p);
}

void *jpeg_get_small(j_common_ptr cinfo, size_t size) { (void)cinfo; return swl_jpeg_get(size); }
void jpeg_free_small(j_common_ptr cinfo, void *object, size_t size) { (void)cinfo; swl_jpeg_put(object, size); }
void *jpeg_get_large(j_common_ptr cinfo, size_t size) { (void)cinfo; return swl_jpeg_get(size); }
void jpeg_free_large(j_common_ptr cinfo, void *object, size_t size) { (void)cinfo; swl_jpeg_put(object, size); }
/// As jmemnobs.c: all that is asked for, within `max_memory_to_use` when it is set.
size_t jpeg_mem_available(j_common_ptr cinfo, size_t min_bytes_needed, size_t max_bytes_needed, size_t already_allocated) {
    (void)min_bytes_needed;
    if (cinfo->mem->max_memory_to_use) {
        return (size_t)cinfo->mem->max_memory_to_use > already_allocated ? (size_t)cinfo->mem->max_memory_to_use - already_allocated : 0;
    }
    return max_bytes_needed;
}
/// No backing store (as jmemnobs.c): an image that needs more than `max_memory_to_use` is an error.
void jpeg_open_backing_store(j_common_ptr cinfo, void *info, long total_bytes_needed) {
    (void)info;
    (void)total_bytes_needed;
    ERREXIT(cinfo, JERR_NO_BACKING_STORE);
}
long jpeg_mem_init(j_common_ptr cinfo) { (void)cinfo; return 0; }
void jpeg_mem_term(j_common_ptr cinfo) { (void)cinfo; }

typedef struct {
    struct jpeg_error_mgr pub; // must be first: libjpeg passes &pub as cinfo->err
    jmp_buf jump;
    int warned;                // a data-loss warning was emitted
    int warning_code;          // its msg_code
    int error_code;            // msg_code of the fatal error
    char warning[JMSG_LENGTH_MAX];
    char error[JMSG_LENGTH_MAX];
} swl_jpeg_error;

static void swl_error_exit(j_common_ptr cinfo) {
    swl_jpeg_error *err = (swl_jpeg_error *)cinfo->err;
    err->error[0] = 0;
    err->error_code = cinfo->err->msg_code;
    (*cinfo->err->format_message)(cinfo, err->error);
    longjmp(err->jump, 1);
}

/// Warnings that do not lose image data: they are ignored like libjpeg does by default.
static int swl_warning_is_benign(int code) {
    switch (code) {
    case JWRN_ADOBE_XFORM:     // unknown Adobe colour transform code; libjpeg guesses from components
    case JWRN_JFIF_MAJOR:      // unknown JFIF revision number
    case JWRN_EXTRANEOUS_DATA: // padding bytes before a marker (common in camera MJPEG frames)
    case JWRN_BOGUS_ICC:       // a broken ICC profile marker; the profile is not used here
        return 1;
    default:
        return 0;
    }
}

static void swl_emit_message(j_common_ptr cinfo, int msg_level) {
    swl_jpeg_error *err = (swl_jpeg_error *)cinfo->err;
    if (msg_level >= 0) return; // trace messages
    cinfo->err->num_warnings++;
    if (err->warned) return;
    if (swl_warning_is_benign(cinfo->err->msg_code)) return;
    err->warned = 1;
    err->warning_code = cinfo->err->msg_code;
    err->warning[0] = 0;
    (*cinfo->err->format_message)(cinfo, err->warning);
}

static void swl_output_message(j_common_ptr cinfo) {
    (void)cinfo; // never print to stderr
}

static void swl_init_error(struct jpeg_decompress_struct *cinfo, swl_jpeg_error *err) {
    memset(err, 0, sizeof(*err));
    cinfo->err = jpeg_std_error(&err->pub);
    err->pub.error_exit = swl_error_exit;
    err->pub.emit_message = swl_emit_message;
    err->pub.output_message = swl_output_message;
}

/// Fills `info->message` from the recorded warning (if any) or error. A warning recorded before
/// the error explains it better (a truncated file makes libjpeg fake an EOI marker, after which
/// the real error is "JPEG datastream contains no image" or similar).
static void swl_fail(swl_jpeg_info *info, const swl_jpeg_error *err, int had_error) {
    info->ok = 0;
    if (err->warned) {
        const char *text = err->warning;
        static const char corrupt[] = "Corrupt JPEG data: ";
        if (strncmp(text, corrupt, sizeof(corrupt) - 1) == 0) text += sizeof(corrupt) - 1;
        if (err->warning_code == JWRN_JPEG_EOF) {
            snprintf(info->message, sizeof(info->message),
                     "truncated JPEG data: the file ends before the image does (libjpeg: %.120s)", text);
        } else {
            snprintf(info->message, sizeof(info->message), "corrupt JPEG data (libjpeg: %.120s)", text);
        }
    } else if (had_error && err->error_code == JERR_NO_BACKING_STORE) {
        snprintf(info->message, sizeof(info->message),
                 "the image needs more than %ld MB of decoder memory (libjpeg: %.120s)",
                 SWL_JPEG_MAX_MEMORY / (1024L * 1024L), err->error);
    } else if (had_error) {
        snprintf(info->message, sizeof(info->message), "invalid JPEG (libjpeg: %.120s)", err->error);
    } else {
        snprintf(info->message, sizeof(info->message), "decoding failed");
    }
}

static void swl_info_init(swl_jpeg_info *info) {
    memset(info, 0, sizeof(*info));
}

/// Runs the libjpeg calls under setjmp. Returns 0 if libjpeg raised an error (the caller reports
/// it); otherwise `info` holds the outcome. All state lives in the caller's frame and is reached
/// through pointers, so nothing this function changes after setjmp is read after a longjmp.
static int swl_guarded(struct jpeg_decompress_struct *cinfo, swl_jpeg_error *err, swl_jpeg_info *info,
                       const unsigned char *data, size_t size, int header_only, int denom, unsigned char *out, size_t out_size) {
    if (setjmp(err->jump)) return 0;
    jpeg_create_decompress(cinfo);
    cinfo->mem->max_memory_to_use = SWL_JPEG_MAX_MEMORY;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    (void)jpeg_read_header(cinfo, TRUE);
    info->width = (int)cinfo->image_width;
    info->height = (int)cinfo->image_height;
    info->components = cinfo->num_components;
    if (header_only) {
        if (err->warned) swl_fail(info, err, 0); else info->ok = 1;
        return 1;
    }
    if (cinfo->image_width == 0 || cinfo->image_height == 0 ||
        cinfo->image_width > SWL_JPEG_MAX_SIDE || cinfo->image_height > SWL_JPEG_MAX_SIDE) {
        snprintf(info->message, sizeof(info->message), "image is %ux%u, larger than the %dx%d limit",
                 (unsigned)cinfo->image_width, (unsigned)cinfo->image_height, SWL_JPEG_MAX_SIDE, SWL_JPEG_MAX_SIDE);
        return 1;
    }
    cinfo->out_color_space = JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = (unsigned)(denom == 2 || denom == 4 || denom == 8 ? denom : 1);
    jpeg_calc_output_dimensions(cinfo);
    unsigned want_w = cinfo->output_width, want_h = cinfo->output_height;
    info->width = (int)want_w;
    info->height = (int)want_h;
    size_t need = (size_t)want_w * (size_t)want_h * 3u;
    if (out == NULL || out_size < need) {
        snprintf(info->message, sizeof(info->message),
                 "output buffer has %zu bytes, the %ux%u RGB image needs %zu",
                 out == NULL ? (size_t)0 : out_size, want_w, want_h, need);
        return 1;
    }
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 3 || cinfo->output_width != want_w || cinfo->output_height != want_h) {
        snprintf(info->message, sizeof(info->message),
                 "libjpeg produced %ux%u with %d components, expected %ux%u RGB",
                 (unsigned)cinfo->output_width, (unsigned)cinfo->output_height, cinfo->output_components,
                 want_w, want_h);
        return 1;
    }
    size_t stride = (size_t)cinfo->output_width * 3u;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            // Only suspending data sources return 0 lines; the memory source never suspends.
            snprintf(info->message, sizeof(info->message), "libjpeg returned no scanline at row %u",
                     (unsigned)cinfo->output_scanline);
            return 1;
        }
    }
    (void)jpeg_finish_decompress(cinfo);
    if (err->warned) swl_fail(info, err, 0); else info->ok = 1;
    return 1;
}

static swl_jpeg_info swl_run(const unsigned char *data, size_t size, int header_only, int denom, unsigned char *out,
                             size_t out_size) {
    swl_jpeg_info info;
    swl_info_init(&info);
    if (data == NULL || size == 0) {
        snprintf(info.message, sizeof(info.message), "empty JPEG data (0 bytes)");
        return info;
    }
    struct jpeg_decompress_struct cinfo;
    swl_jpeg_error err;
    memset(&cinfo, 0, sizeof(cinfo));
    swl_init_error(&cinfo, &err);
    if (!swl_guarded(&cinfo, &err, &info, data, size, header_only, denom, out, out_size)) swl_fail(&info, &err, 1);
    jpeg_destroy_decompress(&cinfo); // safe on a partly created or zeroed object
    return info;
}

swl_jpeg_info swl_jpeg_read_header(const unsigned char *data, size_t size) {
    return swl_run(data, size, 1, 1, NULL, 0);
}

swl_jpeg_info swl_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *out, size_t out_size) {
    return swl_run(data, size, 0, 1, out, out_size);
}

swl_jpeg_info swl_jpeg_decode_rgb_scaled(const unsigned char *data, size_t size, int denom, unsigned char *out,
                                         size_t out_size) {
    return swl_run(data, size, 0, denom, out, out_size);
}

// ---- Encoding: `run --overlay` on the host, and tests that need real JPEGs of any size ----
//
// libjpeg's defaults (baseline, JDCT_ISLOW, optimised Huffman tables off) at the given quality; with
// `full_chroma` the colour is not subsampled (4:4:4), so 2-pixel coloured lines stay crisp, at about
// a third more bytes than libjpeg's default 4:2:0. Errors longjmp back here as in decoding.

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char error[JMSG_LENGTH_MAX];
} swl_jpeg_encode_error;

static void swl_encode_error_exit(j_common_ptr cinfo) {
    swl_jpeg_encode_error *err = (swl_jpeg_encode_error *)cinfo->err;
    err->error[0] = 0;
    (*cinfo->err->format_message)(cinfo, err->error);
    longjmp(err->jump, 1);
}

static int swl_encode_guarded(struct jpeg_compress_struct *cinfo, swl_jpeg_encode_error *err, const unsigned char *rgb,
                              int width, int height, int quality, int full_chroma, unsigned char **out,
                              unsigned long *out_size) {
    if (setjmp(err->jump)) return 0;
    jpeg_create_compress(cinfo);
    jpeg_mem_dest(cinfo, out, out_size);
    cinfo->image_width = (JDIMENSION)width;
    cinfo->image_height = (JDIMENSION)height;
    cinfo->input_components = 3;
    cinfo->in_color_space = JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    if (full_chroma) {
        cinfo->comp_info[0].h_samp_factor = 1;
        cinfo->comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(cinfo, TRUE);
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo->next_scanline * (size_t)width * 3u);
        (void)jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    return 1;
}

unsigned char *swl_jpeg_encode(const unsigned char *rgb, int width, int height, int quality, int full_chroma, size_t *size,
                               swl_jpeg_info *info) {
    swl_info_init(info);
    *size = 0;
    if (rgb == NULL || width <= 0 || height <= 0 || width > 65500 || height > 65500) {
        snprintf(info->message, sizeof(info->message), "cannot encode a %dx%d image (JPEG holds 1x1 to 65500x65500)", width,
                 height);
        return NULL;
    }
    struct jpeg_compress_struct cinfo;
    swl_jpeg_encode_error err;
    unsigned char *out = NULL;
    unsigned long out_size = 0;
    memset(&cinfo, 0, sizeof(cinfo));
    memset(&err, 0, sizeof(err));
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = swl_encode_error_exit;
    err.pub.output_message = swl_output_message;
    int ok = swl_encode_guarded(&cinfo, &err, rgb, width, height, quality < 1 ? 1 : quality > 100 ? 100 : quality, full_chroma,
                                &out, &out_size);
    jpeg_destroy_compress(&cinfo);
    if (!ok) {
        free(out);
        snprintf(info->message, sizeof(info->message), "JPEG encoding failed (libjpeg: %.120s)", err.error);
        return NULL;
    }
    info->ok = 1;
    info->width = width;
    info->height = height;
    info->components = 3;
    *size = (size_t)out_size;
    return out;
}

unsigned char *swl_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, size_t *size) {
    swl_jpeg_info info;
    return swl_jpeg_encode(rgb, width, height, quality, 0, size, &info);
}
