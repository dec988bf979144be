import CSwiftletSys

/// Stops a thread that waits on `monitor`: `request` (under the monitor) sets the flag it checks,
/// the broadcast wakes it, and the join waits for it to end.
func stopThread(_ thread: swl_thread, monitor: UnsafeMutablePointer<swl_monitor>, request: () -> Void) {
    swl_monitor_lock(monitor)
    request()
    swl_monitor_broadcast(monitor)
    swl_monitor_unlock(monitor)
    _ = swl_thread_join(thread)
}
