// The one C surface Swiftlet's core uses: libc file and memory calls, time, pthread, libjpeg.
// Core Swift imports this module instead of Glibc or Foundation so it builds in Embedded Swift.
#ifndef CSWIFTLETSYS_H
#define CSWIFTLETSYS_H

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/// errno of the calling thread (errno is a macro and does not import into Swift).
static inline int swl_errno(void) { return errno; }

/// MAP_FAILED as a plain pointer (the macro casts and does not import).
static inline void *swl_map_failed(void) { return MAP_FAILED; }

/// Drops this process's resident pages wholly inside [p, p + n) of a read-only file mapping
/// (madvise MADV_DONTNEED): the bytes stay readable and fault back in from the file if read again.
/// Never on anonymous memory, which it would zero.
static inline void swl_release_file_pages(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), b = ((uintptr_t)p + n) & ~(page - 1);
    if (b > a) (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/// open(2) with an explicit mode (the libc declaration is variadic and does not import).
static inline int swl_open(const char *path, int flags, unsigned mode) { return open(path, flags, (mode_t)mode); }

/// Size of a regular file, or -1 with errno set; -2 if the path is not a regular file.
static inline int64_t swl_file_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    if (!S_ISREG(st.st_mode)) return -2;
    return (int64_t)st.st_size;
}

// File kinds reported by swl_stat_path / swl_fstat_fd.
#define SWL_KIND_REGULAR 1
#define SWL_KIND_DIRECTORY 2
#define SWL_KIND_CHAR_DEVICE 3
#define SWL_KIND_BLOCK_DEVICE 4
#define SWL_KIND_FIFO 5
#define SWL_KIND_SOCKET 6
#define SWL_KIND_OTHER 7

/// What stat(2) says about a file, in fixed-width fields (struct stat's layout differs by libc and arch).
typedef struct {
    int kind;          // SWL_KIND_*
    unsigned mode;     // permission bits (st_mode & 07777)
    uint64_t device;   // st_dev
    uint64_t inode;    // st_ino
    int64_t size;      // st_size
} swl_file_status;

static inline void swl_fill_status(const struct stat *st, swl_file_status *out) {
    int k = SWL_KIND_OTHER;
    if (S_ISREG(st->st_mode)) k = SWL_KIND_REGULAR;
    else if (S_ISDIR(st->st_mode)) k = SWL_KIND_DIRECTORY;
    else if (S_ISCHR(st->st_mode)) k = SWL_KIND_CHAR_DEVICE;
    else if (S_ISBLK(st->st_mode)) k = SWL_KIND_BLOCK_DEVICE;
    else if (S_ISFIFO(st->st_mode)) k = SWL_KIND_FIFO;
    else if (S_ISSOCK(st->st_mode)) k = SWL_KIND_SOCKET;
    out->kind = k;
    out->mode = (unsigned)(st->st_mode & 07777);
    out->device = (uint64_t)st->st_dev;
    out->inode = (uint64_t)st->st_ino;
    out->size = (int64_t)st->st_size;
}

/// stat(2), following symlinks: 0, or -1 with errno set.
static inline int swl_stat_path(const char *path, swl_file_status *out) {
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    swl_fill_status(&st, out);
    return 0;
}

/// fstat(2): 0, or -1 with errno set.
static inline int swl_fstat_fd(int fd, swl_file_status *out) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    swl_fill_status(&st, out);
    return 0;
}

#include <dirent.h>
/// opendir(3) as an untyped handle (DIR is opaque and differs by libc): NULL with errno set on failure.
static inline void *swl_opendir(const char *path) { return opendir(path); }
/// The next entry's name, skipping "." and "..": NULL at the end (errno 0) or on an error (errno set).
/// The name is valid until the next call on the same handle.
static inline const char *swl_readdir_name(void *dir) {
    for (;;) {
        errno = 0;
        struct dirent *e = readdir((DIR *)dir);
        if (e == NULL) return NULL;
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) return e->d_name;
    }
}
static inline void swl_closedir(void *dir) { (void)closedir((DIR *)dir); }

/// open(2) flags Swift cannot always see through the libc headers' macro chains.
static const int swl_o_nonblock = O_NONBLOCK;
static const int swl_o_cloexec = O_CLOEXEC;
static const int swl_o_excl = O_EXCL;

/// Monotonic clock in nanoseconds.
static inline uint64_t swl_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Wall-clock time (CLOCK_REALTIME) in nanoseconds since the Unix epoch: the bench window's edges as
/// an external power meter's log timestamps them.
static inline uint64_t swl_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// Runs `command` through /bin/sh (popen) and reads its standard output into `buf` (at most `cap`
/// bytes; the rest is read and dropped). Returns the bytes kept, with `*status` set to the wait
/// status from pclose (0: exited with 0); -1 with errno set when the command could not be started.
static inline long swl_run_capture(const char *command, char *buf, size_t cap, int *status) {
    FILE *f = popen(command, "r");
    if (f == NULL) return -1;
    size_t kept = 0;
    char scratch[512];
    for (;;) {
        size_t n = fread(scratch, 1, sizeof scratch, f);
        if (n == 0) break;
        size_t k = n < cap - kept ? n : cap - kept;
        memcpy(buf + kept, scratch, k);
        kept += k;
    }
    *status = pclose(f);
    return (long)kept;
}

/// Sleeps `ms` milliseconds (the camera's reconnect back-off); a signal ends it early.
static inline void swl_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/// Writes `len` bytes to stdout / stderr (Embedded Swift's print takes one String only).
static inline void swl_write_stdout(const char *s, size_t len) { fwrite(s, 1, len, stdout); }
static inline void swl_write_stderr(const char *s, size_t len) { fwrite(s, 1, len, stderr); fflush(stderr); }
static inline void swl_flush_stdout(void) { fflush(stdout); }

// ---- CPU features and system facts (for `swiftlet info` and the start-up feature check) ----

#if defined(__aarch64__)
#include <sys/auxv.h>
/// AT_HWCAP / AT_HWCAP2 of the running process (0 where unavailable).
static inline unsigned long swl_hwcap(void) { return getauxval(AT_HWCAP); }
static inline unsigned long swl_hwcap2(void) { return getauxval(AT_HWCAP2); }
#else
static inline unsigned long swl_hwcap(void) { return 0; }
static inline unsigned long swl_hwcap2(void) { return 0; }
#endif

#if defined(__x86_64__)
#include <cpuid.h>
/// CPUID leaf/subleaf registers; returns 0 when the leaf is not supported.
static inline int swl_cpuid(unsigned leaf, unsigned sub, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    if (__get_cpuid_max(leaf & 0x80000000u, 0) < leaf) return 0;
    __cpuid_count(leaf, sub, *a, *b, *c, *d);
    return 1;
}
/// XCR0: the register state the OS saves (bit 1 SSE, 2 AVX, 5–7 AVX-512). Call only when cpuid
/// leaf 1 reports OSXSAVE.
static inline unsigned long long swl_xgetbv0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#else
static inline int swl_cpuid(unsigned leaf, unsigned sub, unsigned *a, unsigned *b, unsigned *c, unsigned *d) {
    (void)leaf; (void)sub; *a = *b = *c = *d = 0; return 0;
}
static inline unsigned long long swl_xgetbv0(void) { return 0; }
#endif

#include <sys/resource.h>
/// Bytes the allocator gave block `p` (at least what was asked for). The corresponding C call is
/// `malloc_usable_size`.
static inline size_t swl_usable_size(void *p) { return malloc_usable_size(p); }

/// The soft RLIMIT_AS (address-space limit, `ulimit -v`) in bytes, or -1 when unlimited or unknown.
static inline long long swl_address_space_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return -1;
    return (long long)r.rlim_cur;
}

/// Online CPU count and physical memory in bytes (sysconf).
static inline long swl_cpu_count(void) { return sysconf(_SC_NPROCESSORS_ONLN); }
static inline long long swl_physical_memory(void) {
    return (long long)sysconf(_SC_PHYS_PAGES) * (long long)sysconf(_SC_PAGESIZE);
}

// ---- Threads: the few atomics, futex calls and affinity the core's ThreadPool needs ----

#include <sched.h>
#include <sys/syscall.h>
// futex(2) operations (linux/futex.h's values; that header is not in every libc's include path).
#define SWL_FUTEX_WAIT_PRIVATE 128
#define SWL_FUTEX_WAKE_PRIVATE 129

/// A parallel task: called once per part, `part` in 0..<parts, by whichever thread claims it;
/// `thread` (0: the caller) says whose scratch to use.
typedef void (*swl_task_fn)(void *context, size_t part, size_t parts, size_t thread);

/// The state a ThreadPool's threads share. The words the workers wait on sit on their own cache lines.
typedef struct {
    uint32_t generation;     // bumped (release) by the caller to start a task
    uint32_t sleepers;       // workers inside futex_wait on `generation`
    uint32_t stop;           // 1: workers return
    uint32_t spin;           // relax loops a worker spins before it sleeps
    char pad0[48];
    uint64_t next;           // the run's generation (bits 32–63), its part count (16–31), the next unclaimed part (0–15)
    char pad1[56];
    uint32_t done;           // parts of the current run finished
    char pad2[60];
    swl_task_fn task;
    void *context;
} swl_pool_state;

/// Claims the next part of run `generation`: returns 1 with *part and *parts set, or 0 when that run
/// has no unclaimed part left or is over. The run's generation and part count travel in the same
/// word as the counter, so a thread that woke for an earlier run can never take a part of a later one.
static inline int swl_pool_claim(swl_pool_state *s, uint32_t generation, size_t *part, size_t *parts) {
    uint64_t v = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE);
    for (;;) {
        const uint64_t index = v & 0xffffu, count = (v >> 16) & 0xffffu;
        if ((uint32_t)(v >> 32) != generation || index >= count) return 0;
        if (__atomic_compare_exchange_n(&s->next, &v, v + 1, 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *part = (size_t)index;
            *parts = (size_t)count;
            return 1;
        }
    }
}

static inline void swl_pool_open(swl_pool_state *s, uint32_t generation, size_t parts) {
    __atomic_store_n(&s->done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->next, ((uint64_t)generation << 32) | ((uint64_t)parts << 16), __ATOMIC_RELEASE);
}

static inline uint32_t swl_atomic_load(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void swl_atomic_store(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Sequentially consistent add (the wake-up handshake needs the total order); returns the new value.
static inline uint32_t swl_atomic_add(uint32_t *p, uint32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t swl_atomic_sub(uint32_t *p, uint32_t v) { return __atomic_sub_fetch(p, v, __ATOMIC_SEQ_CST); }
static inline uint32_t swl_atomic_load_seq(uint32_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

/// Sleeps while *p == expected (returns at once when it differs, or on a spurious wake-up).
static inline void swl_futex_wait(uint32_t *p, uint32_t expected) {
    syscall(SYS_futex, p, SWL_FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}
static inline void swl_futex_wake_all(uint32_t *p) { syscall(SYS_futex, p, SWL_FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0); }

/// One spin-loop pause.
static inline void swl_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
static inline void swl_yield(void) { sched_yield(); }

typedef void *(*swl_thread_fn)(void *);
/// A thread handle (pthread_t is an integer in glibc and a pointer in musl; Swift sees this struct).
typedef struct { pthread_t thread; } swl_thread;
/// Starts a thread; 0 on success, else the error number.
static inline int swl_thread_start(swl_thread *t, swl_thread_fn fn, void *arg) { return pthread_create(&t->thread, NULL, fn, arg); }
static inline int swl_thread_join(swl_thread t) { return pthread_join(t.thread, NULL); }
/// Pins the calling thread to one CPU (below 1024) if that CPU is in the thread's current mask (so a
/// `taskset` the user chose is kept); 0 on success, else the error number (EINVAL: not in the mask).
static inline int swl_pin_self(int cpu) {
    enum { words = 1024 / (8 * sizeof(unsigned long)), bits = 8 * sizeof(unsigned long) };
    unsigned long mask[words] = {0}, allowed[words] = {0};
    if (cpu < 0 || cpu >= 1024) return EINVAL;
    if (syscall(SYS_sched_getaffinity, 0, sizeof(allowed), allowed) < 0) return errno;
    if (!(allowed[cpu / bits] & (1UL << (cpu % bits)))) return EINVAL;
    mask[cpu / bits] |= 1UL << (cpu % bits);
    return syscall(SYS_sched_setaffinity, 0, sizeof(mask), mask) == 0 ? 0 : errno;
}

/// A mutex with one condition variable on CLOCK_MONOTONIC: the camera pipeline's hand-off between
/// its capture thread and the inference thread (frames come milliseconds apart, so a futex-free lock is fine).
typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t cond;
} swl_monitor;
static inline int swl_monitor_init(swl_monitor *m) {
    pthread_condattr_t a;
    int e = pthread_mutex_init(&m->mutex, NULL);
    if (e) return e;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    e = pthread_cond_init(&m->cond, &a);
    pthread_condattr_destroy(&a);
    if (e) pthread_mutex_destroy(&m->mutex);
    return e;
}
static inline void swl_monitor_destroy(swl_monitor *m) {
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->mutex);
}
static inline void swl_monitor_lock(swl_monitor *m) { pthread_mutex_lock(&m->mutex); }
static inline void swl_monitor_unlock(swl_monitor *m) { pthread_mutex_unlock(&m->mutex); }
static inline void swl_monitor_broadcast(swl_monitor *m) { pthread_cond_broadcast(&m->cond); }
/// Waits (the lock held) until woken, or until CLOCK_MONOTONIC reaches `deadline_ns` (0: no deadline).
static inline void swl_monitor_wait(swl_monitor *m, uint64_t deadline_ns) {
    if (deadline_ns == 0) { pthread_cond_wait(&m->cond, &m->mutex); return; }
    struct timespec t = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    pthread_cond_timedwait(&m->cond, &m->mutex, &t);
}

/// Pins the calling thread to one CPU (below 1024) whatever its current mask (a thread that inherited
/// a one-CPU mask from a pinned creator: the camera pipeline's capture thread); 0 or the error number.
static inline int swl_pin_self_any(int cpu) {
    enum { words = 1024 / (8 * sizeof(unsigned long)), bits = 8 * sizeof(unsigned long) };
    unsigned long mask[words] = {0};
    if (cpu < 0 || cpu >= 1024) return EINVAL;
    mask[cpu / bits] |= 1UL << (cpu % bits);
    return syscall(SYS_sched_setaffinity, 0, sizeof(mask), mask) == 0 ? 0 : errno;
}

// ---- JPEG (libjpeg through a setjmp shim: libjpeg reports errors by longjmp, which Swift cannot catch) ----

/// Result of a JPEG decode; `message` holds libjpeg's text when `ok` is 0.
typedef struct {
    int ok;
    int width;
    int height;
    int components; // as stored in the file (1 = grey, 3 = colour)
    char message[200];
} swl_jpeg_info;

/// Reads the header only: size and components.
swl_jpeg_info swl_jpeg_read_header(const unsigned char *data, size_t size);

/// Decodes to interleaved 8-bit RGB into `out` (width*height*3 bytes, from swl_jpeg_read_header).
/// Grey images are expanded to RGB. Truncated data is an error, not a grey tail.
swl_jpeg_info swl_jpeg_decode_rgb(const unsigned char *data, size_t size, unsigned char *out, size_t out_size);

/// Decodes at 1/`denom` scale (2, 4 or 8; libjpeg's DCT scaling, far less work and memory for large
/// images); `width`/`height` of the result are the scaled size, ceil(side / denom).
swl_jpeg_info swl_jpeg_decode_rgb_scaled(const unsigned char *data, size_t size, int denom, unsigned char *out,
                                         size_t out_size);

/// Encodes interleaved RGB as a baseline JPEG (libjpeg defaults, `quality` 1-100, colour not subsampled
/// when `full_chroma` is 1); returns a malloc'd buffer of `*size` bytes (release with `free`), or NULL with
/// `info->message` saying why.
unsigned char *swl_jpeg_encode(const unsigned char *rgb, int width, int height, int quality, int full_chroma, size_t *size,
                               swl_jpeg_info *info);

/// `swl_jpeg_encode` with libjpeg's default 4:2:0 colour; NULL on failure. For tests that need real JPEGs.
unsigned char *swl_jpeg_encode_rgb(const unsigned char *rgb, int width, int height, int quality, size_t *size);

// ---- V4L2 capture (v4l2.c; the kernel's videodev2.h stays in the C file) ----

/// V4L2 four-character codes (v4l2_fourcc('Y','U','Y','V') and so on; plain literals so that Swift
/// imports them as constants with no storage; v4l2.c checks them against videodev2.h).
#define swl_fourcc_yuyv 0x56595559u
#define swl_fourcc_nv12 0x3231564Eu
#define swl_fourcc_mjpeg 0x47504A4Du
#define swl_fourcc_jpeg 0x4745504Au
#define swl_fourcc_grey 0x59455247u
#define swl_fourcc_rgb24 0x33424752u

/// What VIDIOC_QUERYCAP says (the device's own capabilities when it reports them).
typedef struct {
    char driver[16];
    char card[32];
    char bus[32];
    int capture;         // single-planar video capture
    int capture_mplane;  // multi-planar video capture (not supported by Swiftlet yet)
    int streaming;       // memory-mapped streaming I/O
} swl_v4l2_caps;

/// One VIDIOC_ENUM_FRAMESIZES entry: a discrete size (min == max), or a stepwise/continuous range.
typedef struct {
    int stepwise;
    uint32_t min_width, max_width, step_width;
    uint32_t min_height, max_height, step_height;
} swl_v4l2_size;

/// The single-planar capture format (struct v4l2_pix_format's fields Swiftlet uses).
typedef struct {
    uint32_t fourcc, width, height, bytes_per_line, size_image;
} swl_v4l2_format;

/// A dequeued buffer (struct v4l2_buffer's fields Swiftlet uses); the timestamp in nanoseconds.
typedef struct {
    uint32_t index, bytes_used, sequence;
    int error;      // V4L2_BUF_FLAG_ERROR: the data may be corrupt
    int monotonic;  // the timestamp is from CLOCK_MONOTONIC
    int64_t timestamp_ns;
} swl_v4l2_frame;

int swl_v4l2_querycap(int fd, swl_v4l2_caps *out);
int swl_v4l2_enum_format(int fd, uint32_t index, uint32_t *fourcc, uint32_t *compressed);
int swl_v4l2_enum_size(int fd, uint32_t fourcc, uint32_t index, swl_v4l2_size *out);
/// A discrete interval, or for a stepwise range its shortest interval (`*stepwise` = 1).
int swl_v4l2_enum_interval(int fd, uint32_t fourcc, uint32_t width, uint32_t height, uint32_t index, uint32_t *num,
                           uint32_t *den, uint32_t *stepwise);
int swl_v4l2_get_format(int fd, swl_v4l2_format *f);
/// VIDIOC_S_FMT: `f` in, and the driver's choice out.
int swl_v4l2_set_format(int fd, swl_v4l2_format *f);
/// VIDIOC_S_PARM (`set` 1) or VIDIOC_G_PARM: the time per frame, the driver's value out.
int swl_v4l2_frame_interval(int fd, uint32_t *num, uint32_t *den, int set);
/// VIDIOC_REQBUFS with memory-mapped buffers: `*count` in, the driver's count out.
int swl_v4l2_request_buffers(int fd, uint32_t *count);
int swl_v4l2_query_buffer(int fd, uint32_t index, uint64_t *offset, uint32_t *length);
int swl_v4l2_queue_buffer(int fd, uint32_t index);
/// VIDIOC_DQBUF: -1 with errno EAGAIN when no buffer is ready (the device is opened non-blocking).
int swl_v4l2_dequeue_buffer(int fd, swl_v4l2_frame *f);
int swl_v4l2_stream(int fd, int on);
/// poll(POLLIN) for at most `timeout_ms`, EINTR retried against the same deadline: 1 readable,
/// 0 timed out, 2 POLLERR/POLLHUP/POLLNVAL without data, -1 with errno set.
int swl_poll_readable(int fd, int timeout_ms);

#endif
