// A correct swift_bridgeObjectRetain for the Embedded Swift runtime of Swift 6.3.
//
// The compiler assumes swift_bridgeObjectRetain(_n) returns its argument unchanged and may use the
// returned value in place of the argument. The Embedded runtime of 6.3 returns the argument with
// its tag bits masked off instead, which turns a small (inline) String such as "/tmp/o.npy" into a
// garbage pointer. Seen on the aarch64 board binary with SwiftletApp built -Osize:
// `run --input x.npy --output o.npy` passed a mangled path to stat(2) and trapped. Fixed upstream by
// swiftlang/swift#91151 (2026-07-31, "[Embedded] Don't corrupt the pointer returned from
// swift_bridgeObjectRetain_n"); until the toolchain carries it, these strong definitions replace the
// runtime's weak ones in every board binary. Board builds only: the host links the full runtime,
// whose functions are right.
//
// The masks are the Embedded runtime's for 64-bit targets (x86-64 and aarch64 alike): bit 63 marks
// an immortal or tagged value (nothing to retain), and the object pointer is the value with the
// String discriminator (bits 60–62) and the low three tag bits cleared.
#include <stdint.h>

void *swift_retain_n(void *object, uint32_t n);

void *swift_bridgeObjectRetain_n(void *object, uint32_t n) {
    uintptr_t bits = (uintptr_t)object;
    if (bits & ((uintptr_t)1 << 63)) return object;
    void *plain = (void *)(bits & (uintptr_t)0x8ffffffffffffff8ull);
    if (plain) swift_retain_n(plain, n);
    return object;
}

void *swift_bridgeObjectRetain(void *object) {
    return swift_bridgeObjectRetain_n(object, 1);
}
