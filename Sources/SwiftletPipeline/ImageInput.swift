import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletRuntime
import SwiftletVision

// A photo into a model's input as its pre-processing metadata says (ModelSpec.preprocess),
// and how the input's pixels map back to the photo's.

/// Decodes the JPEG at `path` and stores it as graph input 0, pre-processed as the model says (resize,
/// colour order, luma for a one-channel input, `(pixel − mean) / std`). The caller has checked that the
/// model has pre-processing metadata. Returns how input pixels map back to the file's pixels.
@discardableResult
public func loadImageInput(_ interpreter: Interpreter, path: String) throws(SwiftletError) -> ImageMapping {
    var image = RGBImage(width: 0, height: 0)
    return try loadImageInput(interpreter, path: path, keeping: &image)
}

/// `loadImageInput`, decoding into `image` (its storage reused when the size allows) and leaving the
/// decoded photo there: at the file's size, or at the reduced DCT scale a large JPEG was decoded at.
@discardableResult
public func loadImageInput(_ interpreter: Interpreter, path: String, keeping image: inout RGBImage) throws(SwiftletError) -> ImageMapping {
    let spec = interpreter.spec
    guard let pre = spec.preprocess else {
        throw .invalidModel(detail: "the model has no pre-processing metadata (mean, std, resize), so it cannot take an image",
                            hint: "re-import it with --mean R,G,B --std R,G,B")
    }
    let shape = spec.tensors[spec.inputs[0]].shape
    // A large photo may be decoded at a reduced DCT scale, never below what the resize needs.
    let need = pre.resizeMode == .shorterCrop ? max(pre.resizeShorter, shape[1], shape[2]) : 0
    let bytes = try sys_readFile(path, what: "a JPEG image")
    try decodeJPEG(bytes, path: path, atLeast: pre.resizeMode == .shorterCrop ? (need, need) : (shape[2], shape[1]), into: &image)
    // The file's own size (a large JPEG is decoded at a reduced scale): detections are reported in it.
    let header = try readJPEGHeader(bytes, path: path)
    let fitted = fitImage(image, pre, width: shape[2], height: shape[1])
    if shape[3] == 1 {
        normalizeLuma(fitted, mean: pre.mean[0], std: pre.std[0], into: interpreter.inputPointer(0))
    } else {
        normalize(fitted, mean: pre.mean, std: pre.std, bgr: pre.bgr, into: interpreter.inputPointer(0))
    }
    return inputMapping(pre, decoded: (image.width, image.height), source: (header.width, header.height), input: (shape[2], shape[1]))
}

/// The image resized as the model's pre-processing says: stretched to `width`×`height`, its shorter
/// side resized to `resizeShorter` (the larger input side when 0) and the centre cropped, or letterboxed.
func fitImage(_ image: RGBImage, _ pre: Preprocess, width: Int, height: Int) -> RGBImage {
    if pre.resizeMode == .letterbox { return letterbox(image, width: width, height: height) }
    if pre.resizeMode == .shorterCrop {
        let shorter = pre.resizeShorter > 0 ? pre.resizeShorter : max(width, height)
        return resizeShorterSideAndCenterCrop(image, shorter: shorter, width: width, height: height)
    }
    if image.width == width && image.height == height { return image }
    return resize(image, width: width, height: height)
}

/// How input pixels map back to the source image's pixels under `pre` (stretch, shorter side and
/// centre crop, or letterbox), for an image decoded at `decoded` size whose file is `source` size (they
/// differ when a large JPEG is decoded at a reduced DCT scale).
public func inputMapping(_ pre: Preprocess, decoded: (width: Int, height: Int), source: (width: Int, height: Int),
                         input: (width: Int, height: Int)) -> ImageMapping {
    var m: ImageMapping
    if pre.resizeMode == .letterbox {
        // The placement the resize used (rounded sizes, whole-pixel offsets): a crop whose offsets are
        // the negative padding.
        let (size, left, top) = letterboxPlacement(imageWidth: decoded.width, imageHeight: decoded.height, width: input.width, height: input.height)
        m = .crop(sourceWidth: decoded.width, sourceHeight: decoded.height, resizedWidth: size.width, resizedHeight: size.height,
                  cropLeft: -left, cropTop: -top, inputWidth: input.width, inputHeight: input.height)
    } else if pre.resizeMode == .shorterCrop {
        let shorter = pre.resizeShorter > 0 ? pre.resizeShorter : max(input.width, input.height)
        let size = shorterSideSize(width: decoded.width, height: decoded.height, shorter: shorter)
        m = .crop(sourceWidth: decoded.width, sourceHeight: decoded.height, resizedWidth: size.width, resizedHeight: size.height,
                  cropLeft: centerCropOffset(size: size.width, crop: input.width), cropTop: centerCropOffset(size: size.height, crop: input.height),
                  inputWidth: input.width, inputHeight: input.height)
    } else {
        m = .stretch(sourceWidth: decoded.width, sourceHeight: decoded.height, inputWidth: input.width, inputHeight: input.height)
    }
    return m.scaled(fromWidth: decoded.width, fromHeight: decoded.height, toWidth: source.width, toHeight: source.height)
}
