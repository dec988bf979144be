import CSwiftletSys

/// A small fork-join pool: `threads − 1` persistent workers beside the calling thread, as
/// pthreadpool does for XNNPACK. `run` splits a task into parts that the threads claim one at a time
/// (the caller too) and returns when all parts are done, so a thread the system is not running (a
/// busy core) holds up at most the part it has claimed, not a fixed share. Workers spin briefly
/// between tasks (a network's steps come microseconds apart) and then sleep on a futex (frames come
/// milliseconds apart), so an idle pool costs nothing. Nothing is allocated after `init`; tasks are C
/// function pointers with a context pointer, so a run passes no closure.
///
/// Which part does which work is the task's business: Swiftlet's steps split their output rows (or
/// channel blocks, or elements) into `parts` fixed bands, so every output is computed by the same
/// code whatever the thread count or whichever thread claims it, and results are bit-identical at
/// every count.
public final class ThreadPool {
    /// Threads taking part in a run, the caller included (1: no workers, `run` calls the task inline).
    public let threads: Int
    /// Runs after which the caller waited for a worker far longer than a part takes (a worker the
    /// system had descheduled mid-part, on a busy machine); each makes the next runs inline.
    public private(set) var stalls = 0
    /// Runs the caller does alone before trying the workers again, and how many that will be after
    /// the next stall (four times as many each stall, at most `maxBackoff`; back to `minBackoff` after
    /// `calmRuns` runs with the workers and no stall).
    private var inlineRuns = 0
    private var backoff = ThreadPool.minBackoff
    /// Runs with the workers since the last stall.
    private var cleanRuns = 0
    public static let minBackoff = 64, maxBackoff = 4096, calmRuns = 1024
    private let state: UnsafeMutablePointer<swl_pool_state>
    private var workers: [swl_thread] = []
    private let slots: UnsafeMutablePointer<WorkerSlot>

    struct WorkerSlot {
        var state: UnsafeMutablePointer<swl_pool_state>
        var index: Int
        var cpu: Int32
    }

    /// `threads` ≥ 1. `affinity`: CPUs to pin to, thread i to `affinity[i % count]` (the caller too);
    /// empty: no pinning. A CPU outside the process's current mask (a `taskset` the user chose, a
    /// board with fewer cores) is skipped, and pinning the system refuses is ignored.
    /// `spin`: pause loops a worker spins before sleeping.
    public init(threads: Int, affinity: [Int] = [], spin: Int = 20_000) throws(SwiftletError) {
        precondition(threads >= 1, "ThreadPool: threads must be at least 1")
        self.threads = threads
        state = UnsafeMutablePointer<swl_pool_state>.allocate(capacity: 1)
        state.initialize(to: swl_pool_state())
        state.pointee.spin = UInt32(clamping: spin)
        slots = UnsafeMutablePointer<WorkerSlot>.allocate(capacity: max(threads, 1))
        for i in 1..<max(threads, 1) {
            let cpu = affinity.isEmpty ? -1 : Int32(truncatingIfNeeded: affinity[i % affinity.count])
            (slots + i).initialize(to: WorkerSlot(state: state, index: i, cpu: cpu))
            var t = swl_thread()
            let err = swl_thread_start(&t, { arg in
                ThreadPool.work(arg!.assumingMemoryBound(to: WorkerSlot.self))
                return nil
            }, UnsafeMutableRawPointer(slots + i))
            if err != 0 {
                stopWorkers()
                state.deallocate()
                slots.deallocate()
                throw .system(call: "pthread_create", path: "thread \(i) of \(threads)", errno: err)
            }
            workers.append(t)
        }
        // The caller last: workers inherit the mask of the thread that creates them.
        if !affinity.isEmpty { _ = swl_pin_self(Int32(truncatingIfNeeded: affinity[0])) }
    }

    deinit {
        stopWorkers()
        state.deallocate()
        slots.deallocate()
    }

    private func stopWorkers() {
        swl_atomic_store(&state.pointee.stop, 1)
        _ = swl_atomic_add(&state.pointee.generation, 1)
        swl_futex_wake_all(&state.pointee.generation)
        for t in workers { _ = swl_thread_join(t) }
        workers.removeAll()
    }

    /// Calls `task(context, part, parts, thread)` once for each part in 0..<parts (1…65,535), on the
    /// calling thread (thread 0) and the workers as each claims the next part, and returns when every
    /// part has returned. Not reentrant: one run at a time.
    ///
    /// On a busy machine a worker can be descheduled in the middle of a part, and the caller then waits
    /// for it a whole time slice (milliseconds, where a step takes microseconds): a two-thread frame
    /// became slower than a one-thread one. When the caller, done with the parts it claimed, waits
    /// longer than twice its own mean part and 50 µs more, the run counts as a stall and the next
    /// runs are done by the caller alone (the same parts, so the same results): 64 at first, four
    /// times as many after each further stall, at most 4,096 (about 60 MobileNetV2 frames); 1,024 runs
    /// with the workers and no stall bring that back to 64 (docs/kernels.md, "Threads").
    @inline(__always)
    public func run(_ task: swl_task_fn, context: UnsafeMutableRawPointer, parts: Int) {
        if threads == 1 || inlineRuns > 0 {
            if inlineRuns > 0 { inlineRuns -= 1 }
            for p in 0..<parts { task(context, p, parts, 0) }
            return
        }
        let s = state
        s.pointee.task = task
        s.pointee.context = context
        let g = swl_atomic_load(&s.pointee.generation) &+ 1
        let n = min(max(parts, 1), 0xffff)
        swl_pool_open(s, g, n)
        _ = swl_atomic_add(&s.pointee.generation, 1)
        if swl_atomic_load_seq(&s.pointee.sleepers) > 0 { swl_futex_wake_all(&s.pointee.generation) }
        var part = 0, count = 0, mine: UInt64 = 0
        let t0 = sys_monotonicNanoseconds()
        while swl_pool_claim(s, g, &part, &count) != 0 {
            task(context, part, count, 0)
            _ = swl_atomic_add(&s.pointee.done, 1)
            mine += 1
        }
        // Parts the workers claimed may still be running.
        if Int(swl_atomic_load(&s.pointee.done)) < n {
            let t1 = sys_monotonicNanoseconds()
            var spins = 0
            while Int(swl_atomic_load(&s.pointee.done)) < n {
                spins += 1
                if spins < 4096 { swl_cpu_relax() } else { swl_yield() }
            }
            let waited = sys_monotonicNanoseconds() &- t1
            if waited > 2 * ((t1 &- t0) / max(mine, 1)) + 50_000 {
                stalls += 1
                inlineRuns = backoff
                backoff = min(backoff * 4, ThreadPool.maxBackoff)
                cleanRuns = 0
                return
            }
        }
        cleanRuns += 1
        if cleanRuns >= ThreadPool.calmRuns { backoff = ThreadPool.minBackoff }
    }

    /// A worker's loop: wait for a new generation (spin, then sleep), run its part, report.
    /// Compiled for speed where the board build compiles this module for size.
    @_optimize(speed)
    private static func work(_ slot: UnsafeMutablePointer<WorkerSlot>) {
        let s = slot.pointee.state
        let index = slot.pointee.index
        if slot.pointee.cpu >= 0 { _ = swl_pin_self(slot.pointee.cpu) }
        let spinLimit = Int(s.pointee.spin)
        var seen: UInt32 = 0  // the generation at init, before any worker started
        while true {
            var g = swl_atomic_load(&s.pointee.generation)
            var spins = 0
            while g == seen {
                if spins < spinLimit {
                    swl_cpu_relax()
                    spins += 1
                } else {
                    _ = swl_atomic_add(&s.pointee.sleepers, 1)
                    swl_futex_wait(&s.pointee.generation, seen)
                    _ = swl_atomic_sub(&s.pointee.sleepers, 1)
                }
                g = swl_atomic_load(&s.pointee.generation)
            }
            seen = g
            if swl_atomic_load(&s.pointee.stop) != 0 { return }
            // Parts of run g while there are any; the task and context are read after each claim,
            // which orders them after the caller's writes for that run.
            var part = 0, parts = 0
            while swl_pool_claim(s, g, &part, &parts) != 0 {
                if let task = s.pointee.task { task(s.pointee.context, part, parts, index) }
                _ = swl_atomic_add(&s.pointee.done, 1)
            }
        }
    }
}

/// Part `part` of `parts` near-equal contiguous bands of `0..<count` (earlier bands one longer).
@inline(__always)
public func band(_ count: Int, part: Int, of parts: Int) -> Range<Int> {
    let q = count / parts, r = count % parts
    let lo = part * q + min(part, r)
    return lo..<(lo + q + (part < r ? 1 : 0))
}
