// mjpeg-feed DEVICE FILE WIDTH HEIGHT FPS: plays a concatenated MJPEG recording into a v4l2loopback
// device, frame after frame in a loop at FPS, so that its capture side is an MJPEG camera (vivid
// has no MJPEG). Prints READY once the format is set. Guest-side helper of tools/camera/vm-test
// (built statically there); not part of Swiftlet.
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s DEVICE FILE WIDTH HEIGHT FPS\n", argv[0]); return 64; }
    FILE *in = fopen(argv[2], "rb");
    if (!in) { perror(argv[2]); return 1; }
    static unsigned char data[1 << 22];
    size_t n = fread(data, 1, sizeof data, in);
    fclose(in);
    // frame starts: every SOI (FF D8) right after an EOI (FF D9) or at 0 (enough for recordings without thumbnails)
    size_t starts[1024], count = 0;
    for (size_t i = 0; i + 1 < n && count < 1023; i++)
        if (data[i] == 0xFF && data[i + 1] == 0xD8 && (i == 0 || (i >= 2 && data[i - 2] == 0xFF && data[i - 1] == 0xD9))) starts[count++] = i;
    starts[count] = n;
    if (count == 0) { fprintf(stderr, "%s: no JPEG frames\n", argv[2]); return 1; }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    size_t largest = 0;
    for (size_t i = 0; i < count; i++) if (starts[i + 1] - starts[i] > largest) largest = starts[i + 1] - starts[i];
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
    f.fmt.pix.width = (unsigned)atoi(argv[3]);
    f.fmt.pix.height = (unsigned)atoi(argv[4]);
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    f.fmt.pix.sizeimage = (unsigned)(largest + 4096);
    if (ioctl(fd, VIDIOC_S_FMT, &f) != 0) { perror("VIDIOC_S_FMT"); return 1; }
    printf("READY %zu frames, %ux%u\n", count, f.fmt.pix.width, f.fmt.pix.height);
    fflush(stdout);
    const long period = 1000000000L / atoi(argv[5]);
    for (size_t k = 0;; k++) {
        size_t i = k % count;
        if (write(fd, data + starts[i], starts[i + 1] - starts[i]) < 0) { perror("write"); return 1; }
        struct timespec t = {period / 1000000000L, period % 1000000000L};
        nanosleep(&t, NULL);
    }
}
