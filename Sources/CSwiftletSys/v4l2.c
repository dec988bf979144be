// V4L2 capture through raw ioctls: the few structures of linux/videodev2.h the camera needs, copied
// into the fixed-width structs of CSwiftletSys.h, so Swift never imports the kernel header (its
// unions and macros do not import in Embedded Swift, and the musl board build has no kernel headers
// on the Swift side). Every call returns 0 (or a count) on success, -1 with errno set on failure,
// and retries EINTR.
#include "CSwiftletSys.h"

#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>

_Static_assert(swl_fourcc_yuyv == V4L2_PIX_FMT_YUYV && swl_fourcc_nv12 == V4L2_PIX_FMT_NV12 &&
                   swl_fourcc_mjpeg == V4L2_PIX_FMT_MJPEG && swl_fourcc_jpeg == V4L2_PIX_FMT_JPEG &&
                   swl_fourcc_grey == V4L2_PIX_FMT_GREY && swl_fourcc_rgb24 == V4L2_PIX_FMT_RGB24,
               "the fourcc literals in CSwiftletSys.h differ from linux/videodev2.h");

static int xioctl(int fd, unsigned long request, void *arg) {
    int r;
    do { r = ioctl(fd, request, arg); } while (r == -1 && errno == EINTR);
    return r;
}

static void copy_text(char *dst, size_t n, const unsigned char *src, size_t m) {
    size_t i = 0;
    for (; i + 1 < n && i < m && src[i] != 0; i++) dst[i] = (char)src[i];
    dst[i] = 0;
}

int swl_v4l2_querycap(int fd, swl_v4l2_caps *out) {
    struct v4l2_capability c;
    memset(&c, 0, sizeof c);
    if (xioctl(fd, VIDIOC_QUERYCAP, &c) != 0) return -1;
    copy_text(out->driver, sizeof out->driver, c.driver, sizeof c.driver);
    copy_text(out->card, sizeof out->card, c.card, sizeof c.card);
    copy_text(out->bus, sizeof out->bus, c.bus_info, sizeof c.bus_info);
    uint32_t caps = (c.capabilities & V4L2_CAP_DEVICE_CAPS) ? c.device_caps : c.capabilities;
    out->capture = (caps & V4L2_CAP_VIDEO_CAPTURE) ? 1 : 0;
    out->capture_mplane = (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE) ? 1 : 0;
    out->streaming = (caps & V4L2_CAP_STREAMING) ? 1 : 0;
    return 0;
}

int swl_v4l2_enum_format(int fd, uint32_t index, uint32_t *fourcc, uint32_t *compressed) {
    struct v4l2_fmtdesc d;
    memset(&d, 0, sizeof d);
    d.index = index;
    d.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_ENUM_FMT, &d) != 0) return -1;
    *fourcc = d.pixelformat;
    *compressed = (d.flags & V4L2_FMT_FLAG_COMPRESSED) ? 1 : 0;
    return 0;
}

int swl_v4l2_enum_size(int fd, uint32_t fourcc, uint32_t index, swl_v4l2_size *out) {
    struct v4l2_frmsizeenum s;
    memset(&s, 0, sizeof s);
    s.index = index;
    s.pixel_format = fourcc;
    if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &s) != 0) return -1;
    if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
        out->stepwise = 0;
        out->min_width = out->max_width = s.discrete.width;
        out->min_height = out->max_height = s.discrete.height;
        out->step_width = out->step_height = 1;
    } else {
        out->stepwise = 1;
        out->min_width = s.stepwise.min_width;
        out->max_width = s.stepwise.max_width;
        out->min_height = s.stepwise.min_height;
        out->max_height = s.stepwise.max_height;
        out->step_width = s.stepwise.step_width ? s.stepwise.step_width : 1;
        out->step_height = s.stepwise.step_height ? s.stepwise.step_height : 1;
    }
    return 0;
}

int swl_v4l2_enum_interval(int fd, uint32_t fourcc, uint32_t width, uint32_t height, uint32_t index, uint32_t *num,
                           uint32_t *den, uint32_t *stepwise) {
    struct v4l2_frmivalenum v;
    memset(&v, 0, sizeof v);
    v.index = index;
    v.pixel_format = fourcc;
    v.width = width;
    v.height = height;
    if (xioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, &v) != 0) return -1;
    if (v.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
        *num = v.discrete.numerator;
        *den = v.discrete.denominator;
        *stepwise = 0;
    } else {  // the shortest interval: the highest rate
        *num = v.stepwise.min.numerator;
        *den = v.stepwise.min.denominator;
        *stepwise = 1;
    }
    return 0;
}

static void from_pix(const struct v4l2_pix_format *p, swl_v4l2_format *f) {
    f->fourcc = p->pixelformat;
    f->width = p->width;
    f->height = p->height;
    f->bytes_per_line = p->bytesperline;
    f->size_image = p->sizeimage;
}

int swl_v4l2_get_format(int fd, swl_v4l2_format *f) {
    struct v4l2_format v;
    memset(&v, 0, sizeof v);
    v.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd, VIDIOC_G_FMT, &v) != 0) return -1;
    from_pix(&v.fmt.pix, f);
    return 0;
}

int swl_v4l2_set_format(int fd, swl_v4l2_format *f) {
    struct v4l2_format v;
    memset(&v, 0, sizeof v);
    v.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    v.fmt.pix.pixelformat = f->fourcc;
    v.fmt.pix.width = f->width;
    v.fmt.pix.height = f->height;
    v.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(fd, VIDIOC_S_FMT, &v) != 0) return -1;
    from_pix(&v.fmt.pix, f);
    return 0;
}

int swl_v4l2_frame_interval(int fd, uint32_t *num, uint32_t *den, int set) {
    struct v4l2_streamparm p;
    memset(&p, 0, sizeof p);
    p.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (set) {
        p.parm.capture.timeperframe.numerator = *num;
        p.parm.capture.timeperframe.denominator = *den;
    }
    if (xioctl(fd, set ? VIDIOC_S_PARM : VIDIOC_G_PARM, &p) != 0) return -1;
    *num = p.parm.capture.timeperframe.numerator;
    *den = p.parm.capture.timeperframe.denominator;
    return 0;
}

int swl_v4l2_request_buffers(int fd, uint32_t *count) {
    struct v4l2_requestbuffers r;
    memset(&r, 0, sizeof r);
    r.count = *count;
    r.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    r.memory = V4L2_MEMORY_MMAP;
    if (xioctl(fd, VIDIOC_REQBUFS, &r) != 0) return -1;
    *count = r.count;
    return 0;
}

/// A capture buffer descriptor for memory-mapped buffer `index`.
static struct v4l2_buffer mmap_buffer(uint32_t index) {
    struct v4l2_buffer b;
    memset(&b, 0, sizeof b);
    b.index = index;
    b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    b.memory = V4L2_MEMORY_MMAP;
    return b;
}

int swl_v4l2_query_buffer(int fd, uint32_t index, uint64_t *offset, uint32_t *length) {
    struct v4l2_buffer b = mmap_buffer(index);
    if (xioctl(fd, VIDIOC_QUERYBUF, &b) != 0) return -1;
    *offset = b.m.offset;
    *length = b.length;
    return 0;
}

int swl_v4l2_queue_buffer(int fd, uint32_t index) {
    struct v4l2_buffer b = mmap_buffer(index);
    return xioctl(fd, VIDIOC_QBUF, &b);
}

int swl_v4l2_dequeue_buffer(int fd, swl_v4l2_frame *f) {
    struct v4l2_buffer b = mmap_buffer(0);
    if (xioctl(fd, VIDIOC_DQBUF, &b) != 0) return -1;
    f->index = b.index;
    f->bytes_used = b.bytesused;
    f->sequence = b.sequence;
    f->error = (b.flags & V4L2_BUF_FLAG_ERROR) ? 1 : 0;
    f->monotonic = (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC ? 1 : 0;
    f->timestamp_ns = (int64_t)b.timestamp.tv_sec * 1000000000 + (int64_t)b.timestamp.tv_usec * 1000;
    return 0;
}

int swl_v4l2_stream(int fd, int on) {
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    return xioctl(fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &type);
}

int swl_poll_readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    const uint64_t deadline = swl_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r > 0) return (p.revents & (POLLERR | POLLHUP | POLLNVAL)) && !(p.revents & POLLIN) ? 2 : 1;
        if (r == 0) return 0;
        if (errno != EINTR) return -1;
        const uint64_t now = swl_monotonic_ns();
        if (now >= deadline) return 0;
        timeout_ms = (int)((deadline - now + 999999u) / 1000000u);
    }
}
