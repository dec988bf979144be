// vivid-stable DEVICE: turns off the text vivid draws over its test pattern (the "OSD Text Mode"
// control set to "None"), so that every frame is the same picture and results can be compared frame
// to frame and run to run. Controls persist on the device after this program exits. Guest-side
// helper of tools/camera/vm-test (built statically there); not part of Swiftlet.
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *dev = argc > 1 ? argv[1] : "/dev/video0";
    int fd = open(dev, O_RDWR);
    if (fd < 0) { perror(dev); return 1; }
    struct v4l2_queryctrl q;
    memset(&q, 0, sizeof q);
    q.id = V4L2_CTRL_FLAG_NEXT_CTRL;
    while (ioctl(fd, VIDIOC_QUERYCTRL, &q) == 0) {
        if (strcmp((const char *)q.name, "OSD Text Mode") == 0) {
            struct v4l2_control c = {.id = q.id, .value = 2};  // 0 all, 1 counters only, 2 none
            if (ioctl(fd, VIDIOC_S_CTRL, &c) != 0) { perror("VIDIOC_S_CTRL"); return 1; }
            printf("%s: OSD text off\n", dev);
            return 0;
        }
        q.id |= V4L2_CTRL_FLAG_NEXT_CTRL;
    }
    fprintf(stderr, "%s: no 'OSD Text Mode' control (not vivid?)\n", dev);
    return 1;
}
