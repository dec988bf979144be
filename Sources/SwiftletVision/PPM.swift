// Binary PPM (Netpbm P6): the uncompressed image format the board binaries write overlays in, since
// libjpeg's encoder would add more to them than it is worth (docs/detection.md). Every image viewer
// and converter reads it (`convert a.ppm a.jpg`, Pillow, GIMP, feh).

import SwiftletCore

/// `image` as a binary PPM: the header `P6\n<width> <height>\n255\n`, then the RGB bytes row by row.
public func encodePPM(_ image: RGBImage) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(image.pixels.count + 32)
    out.append(contentsOf: "P6\n\(image.width) \(image.height)\n255\n".utf8)
    out.append(contentsOf: image.pixels)
    return out
}
