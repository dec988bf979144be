/// An 8-bit RGB image: interleaved R, G, B bytes, row-major, no row padding.
///
/// `pixels.count == width * height * 3`; pixel (x, y) channel c is `pixels[(y * width + x) * 3 + c]`.
public struct RGBImage: Equatable {
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Interleaved RGB bytes, `width * height * 3` of them.
    public var pixels: [UInt8]

    /// Wraps existing pixels; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage(width:height:pixels:): pixels.count must be width * height * 3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A black image of the given size.
    public init(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "RGBImage(width:height:): sizes must be non-negative")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: 0, count: width * height * 3)
    }

    /// Sets the size, reusing the pixel storage when the byte count is unchanged (contents are unspecified after a change).
    public mutating func reshape(width: Int, height: Int) {
        precondition(width >= 0 && height >= 0, "RGBImage.reshape(width:height:): sizes must be non-negative")
        let count = width * height * 3
        resizeKeepingStorage(&pixels, count: count)
        self.width = width
        self.height = height
    }
}

/// Makes `array` `count` elements long, keeping its storage where it can: it shrinks in place and
/// grows in place within its capacity (new elements 0), else it is a new buffer of zeros.
func resizeKeepingStorage<T: ExpressibleByIntegerLiteral>(_ array: inout [T], count: Int) {
    if array.count > count {
        array.removeLast(array.count - count)
    } else if array.count < count {
        if array.capacity >= count {
            array.append(contentsOf: repeatElement(0, count: count - array.count))
        } else {
            array = [T](repeating: 0, count: count)  // a new buffer either way
        }
    }
}
