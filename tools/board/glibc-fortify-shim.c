// Linked only into musl static board builds (tools/build-board): Debian's libjpeg.a was compiled
// against glibc with _FORTIFY_SOURCE, so it calls glibc's checked printf entry points, which musl
// does not have. These forward to the plain functions (the checks only guard against overflow of
// buffers whose sizes libjpeg already passes to snprintf).
#include <stdarg.h>
#include <stdio.h>

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...) {
    (void)flag;
    (void)slen;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(s, maxlen, fmt, ap);
    va_end(ap);
    return r;
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}
