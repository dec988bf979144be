import SwiftletCore

// Whole-image resizing, letterboxing and centre crops on top of `BilinearResizer`.

/// Resizes with Pillow's antialiased bilinear filter (`Image.resize(size, Image.BILINEAR)`).
public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    precondition(width > 0 && height > 0, "resize(_:width:height:): the output size must be positive")
    precondition(image.width > 0 && image.height > 0, "resize(_:width:height:): the image is empty")
    var resizer = BilinearResizer(inWidth: image.width, inHeight: image.height, outWidth: width, outHeight: height)
    var output = RGBImage(width: 0, height: 0)
    resizer.resize(image, into: &output)
    return output
}

/// Where a letterboxed image lands in a `width`×`height` input: scaled by one factor, min(width / w,
/// height / h), to `size` (each side rounded to the nearest pixel, at least 1 and at most the input's),
/// centred at (`left`, `top`) (the padding split with the odd pixel after); the rest is padding.
public func letterboxPlacement(imageWidth w: Int, imageHeight h: Int, width: Int, height: Int)
    -> (size: (width: Int, height: Int), left: Int, top: Int) {
    precondition(w > 0 && h > 0 && width > 0 && height > 0, "letterboxPlacement: sizes must be positive")
    // Integer comparison picks the binding side exactly; the other is rounded (halves up).
    let rw: Int, rh: Int
    if width * h <= height * w {
        rw = width
        rh = min(height, max(1, (2 * h * width + w) / (2 * w)))
    } else {
        rh = height
        rw = min(width, max(1, (2 * w * height + h) / (2 * h)))
    }
    return ((rw, rh), (width - rw) / 2, (height - rh) / 2)
}

/// The image scaled to fit inside `width`×`height` and centred, the padding black (zero pixels, which
/// the normalisation then maps to `−mean / std`), as MediaPipe's `ImageToTensorCalculator` with
/// `keep_aspect_ratio`. The scaled part is Pillow's bilinear resize (`resize`).
public func letterbox(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    let (size, left, top) = letterboxPlacement(imageWidth: image.width, imageHeight: image.height, width: width, height: height)
    let part = size.width == image.width && size.height == image.height ? image : resize(image, width: size.width, height: size.height)
    if size.width == width && size.height == height { return part }
    var output = RGBImage(width: width, height: height)
    part.pixels.withUnsafeBufferPointer { src in
        output.pixels.withUnsafeMutableBufferPointer { dst in
            for y in 0..<part.height {
                (dst.baseAddress! + ((y + top) * width + left) * 3).update(from: src.baseAddress! + y * part.width * 3, count: part.width * 3)
            }
        }
    }
    return output
}

/// The offset of a centred crop along one axis, as torchvision's `CenterCrop`: Python's
/// `int(round((size - crop) / 2))`, rounding halves to even; negative (zero padding) when the crop is larger.
public func centerCropOffset(size: Int, crop: Int) -> Int {
    if crop > size { return -((crop - size) / 2) }
    let diff = size - crop
    let half = diff / 2
    if diff % 2 == 0 { return half }
    return half % 2 == 0 ? half : half + 1  // x.5 rounds to the even neighbour
}

/// Crops the centre `width`×`height` region as torchvision's `CenterCrop`; areas outside the image are zero.
public func centerCrop(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
    var output = RGBImage(width: 0, height: 0)
    centerCrop(image, width: width, height: height, into: &output)
    return output
}

/// Crops the centre `width`×`height` region into `output`, reusing its storage.
public func centerCrop(_ image: RGBImage, width: Int, height: Int, into output: inout RGBImage) {
    precondition(width > 0 && height > 0, "centerCrop(_:width:height:): the crop size must be positive")
    output.reshape(width: width, height: height)
    let left = centerCropOffset(size: image.width, crop: width)
    let top = centerCropOffset(size: image.height, crop: height)
    // Output columns [x0, x1) and rows [y0, y1) come from the image; the rest is zero.
    let x0 = max(0, -left), x1 = min(width, image.width - left)
    let y0 = max(0, -top), y1 = min(height, image.height - top)
    image.pixels.withUnsafeBufferPointer { src in
        output.pixels.withUnsafeMutableBufferPointer { dst in
            if x0 > 0 || y0 > 0 || x1 < width || y1 < height {
                dst.update(repeating: 0)
            }
            if x1 <= x0 || y1 <= y0 { return }
            for y in y0..<y1 {
                let from = src.baseAddress! + ((y + top) * image.width + x0 + left) * 3
                let to = dst.baseAddress! + (y * width + x0) * 3
                to.update(from: from, count: (x1 - x0) * 3)
            }
        }
    }
}

/// The size torchvision's `Resize(shorter)` gives an image: the shorter side becomes `shorter`,
/// the longer one `int(shorter * longer / shorter_side)`.
public func shorterSideSize(width: Int, height: Int, shorter: Int) -> (width: Int, height: Int) {
    precondition(width > 0 && height > 0 && shorter > 0, "shorterSideSize(width:height:shorter:): sizes must be positive")
    if width <= height {
        return (shorter, shorter * height / width)
    }
    return (shorter * width / height, shorter)
}

/// torchvision's `Resize(shorter)` then `CenterCrop((height, width))`, e.g. 256 then 224×224 for ImageNet models.
/// Only the cropped region of the resize is computed (`BilinearResizer` with a window), so memory is
/// bounded by the crop and the input whatever the aspect ratio; the pixels equal resize-then-crop.
public func resizeShorterSideAndCenterCrop(_ image: RGBImage, shorter: Int, width: Int, height: Int) -> RGBImage {
    precondition(width > 0 && height > 0, "resizeShorterSideAndCenterCrop: the crop size must be positive")
    let size = shorterSideSize(width: image.width, height: image.height, shorter: shorter)
    let left = centerCropOffset(size: size.width, crop: width)
    let top = centerCropOffset(size: size.height, crop: height)
    // The crop's columns [x0, x1) and rows [y0, y1) inside the resized image; the rest is zero.
    let x0 = max(0, left), x1 = min(size.width, left + width)
    let y0 = max(0, top), y1 = min(size.height, top + height)
    var output = RGBImage(width: width, height: height)
    if x1 <= x0 || y1 <= y0 { return output }
    var resizer = BilinearResizer(inWidth: image.width, inHeight: image.height, outWidth: size.width, outHeight: size.height,
                                  x: x0..<x1, y: y0..<y1)
    var part = RGBImage(width: 0, height: 0)
    resizer.resize(image, into: &part)
    if part.width == width && part.height == height { return part }
    part.pixels.withUnsafeBufferPointer { src in
        output.pixels.withUnsafeMutableBufferPointer { dst in
            for y in 0..<part.height {
                let to = dst.baseAddress! + ((y + y0 - top) * width + (x0 - left)) * 3
                to.update(from: src.baseAddress! + y * part.width * 3, count: part.width * 3)
            }
        }
    }
    return output
}
