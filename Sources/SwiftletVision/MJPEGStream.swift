// Splitting a concatenated MJPEG recording (JPEG after JPEG, as `cat *.jpg` or a camera's MJPEG
// stream saved raw) into frames by walking the JPEG markers: segments by their lengths, the
// entropy-coded data after SOS up to the next marker that is not a stuffed 0xFF00 or a restart
// marker, and the frame ends at EOI. Bytes between frames are skipped; a frame cut off by the end
// of the data is returned as it is and left to the decoder to report.

/// The next JPEG frame at or after `offset` in `data`: its byte range, or nil when no SOI follows.
public func nextJPEGFrame(_ data: UnsafeRawBufferPointer, from offset: Int) -> Range<Int>? {
    let n = data.count
    var start = offset
    while start + 1 < n && !(data[start] == 0xFF && data[start + 1] == 0xD8) { start += 1 }
    if start + 1 >= n { return nil }
    var i = start + 2
    while i + 1 < n {
        if data[i] != 0xFF {  // not at a marker: a damaged frame; resynchronise on the next SOI
            var j = i
            while j + 1 < n && !(data[j] == 0xFF && data[j + 1] == 0xD8) { j += 1 }
            return start..<(j + 1 < n ? j : n)
        }
        let m = data[i + 1]
        if m == 0xFF { i += 1; continue }  // fill byte
        if m == 0xD9 { return start..<(i + 2) }
        if m == 0xD8 { return start..<i }  // the next frame starts before this one ended: it was cut short
        if m == 0x01 || (m >= 0xD0 && m <= 0xD7) { i += 2; continue }  // TEM, RSTn: no length
        if i + 3 >= n { break }
        let length = Int(data[i + 2]) << 8 | Int(data[i + 3])
        i += 2 + length
        if m == 0xDA {  // entropy-coded data follows the scan header
            while i + 1 < n {
                if data[i] == 0xFF {
                    let next = data[i + 1]
                    if next != 0x00 && !(next >= 0xD0 && next <= 0xD7) && next != 0xFF { break }
                    i += next == 0xFF ? 1 : 2
                } else {
                    i += 1
                }
            }
        }
    }
    return start..<n
}
