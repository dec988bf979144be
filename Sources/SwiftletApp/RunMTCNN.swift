import SwiftletCore
import SwiftletDetect
import SwiftletPipeline
import SwiftletVision

// Left out of the board binaries (tools/build-board defines SWIFTLET_NO_MTCNN); still embedded-clean.
#if !SWIFTLET_NO_MTCNN

/// `swiftlet run x.bundle --image …`: the MTCNN cascade on each image.
func runMTCNNImages(_ o: RunOptions) throws(SwiftletError) {
    if o.inputNPY != nil { throw .usage(detail: "--input feeds one tensor to a .swl model; a bundle takes --image or --images") }
    if o.nmsFlagsSet {
        throw .usage(detail: "--nms, --score-threshold, --iou-threshold, --max-detections, --top-k and the soft-NMS flags are for .swl detectors; an MTCNN bundle's thresholds are in the bundle file")
    }
    if o.profile { throw .usage(detail: "--profile times one .swl model's layers; a bundle prints each stage's time, run 'swiftlet run STAGE.swl --profile' for a stage's layers") }
    let (mtcnn, nets) = try loadMTCNN(path: o.modelPath, kernels: o.kernels, threads: o.threads)
    let overlays = try overlayFiles(o)
    var image = RGBImage(width: 0, height: 0)
    let labels = [Array("face".utf8)]
    try forEachImage(o) { (n, path) throws(SwiftletError) in
        let bytes = try sys_readFile(path, what: "a JPEG image")
        try decodeJPEG(bytes, path: path, into: &image)
        var total: UInt64 = 0, best = UInt64.max
        for _ in 0..<o.runs {
            let t0 = sys_monotonicNanoseconds()
            image.pixels.withUnsafeBufferPointer { px in
                _ = mtcnn.detect(pixels: px.baseAddress!, width: image.width, height: image.height, networks: nets)
            }
            let dt = sys_monotonicNanoseconds() &- t0
            total &+= dt
            best = min(best, dt)
        }
        let latency = Latency(meanMs: Double(total) / Double(o.runs) / 1e6, minMs: Double(best) / 1e6, runs: o.runs)
        let overlay: String? = overlays.isEmpty ? nil : overlays[n]
        if let overlay {
            let style = OverlayStyle.forImage(width: image.width, height: image.height)
            let (w, h) = (image.width, image.height)
            image.pixels.withUnsafeMutableBufferPointer { px in
                drawDetections(mtcnn, labels: labels, on: Canvas(pixels: px.baseAddress!, width: w, height: h), style: style)
            }
            try sys_writeFile(overlay, try encodeOverlay(image, path: overlay))
        }
        let st = mtcnn.stats
        let ms = { (ns: UInt64) in formatFixed(Double(ns) / 1e6, 2) }
        let json = ", \"stages\": {\"pnet_ms\": \(ms(st.pnetNanoseconds)), \"pnet_runs\": \(st.pnetRuns), \"pyramid_levels\": \(st.levels), \"pnet_boxes\": \(st.pnetBoxes), \"rnet_ms\": \(ms(st.rnetNanoseconds)), \"rnet_boxes\": \(st.rnetBoxes), \"onet_ms\": \(ms(st.onetNanoseconds)), \"onet_boxes\": \(st.onetBoxes)}, \"dropped_full\": \(st.dropped), \"dropped_outside_image\": \(st.outsideImage)"
        let text = "  stages  pnet \(ms(st.pnetNanoseconds)) ms (\(st.levels) levels, \(st.pnetRuns) runs, \(st.pnetBoxes) boxes)  rnet \(ms(st.rnetNanoseconds)) ms (\(st.rnetBoxes) boxes)  onet \(ms(st.onetNanoseconds)) ms (\(st.onetBoxes) boxes)"
        printResults(mtcnn, labelName: { _ in "face" }, image: path, latencyJSON: latency.json, latencyText: latency.text, detectMs: nil,
                     json: o.json, statsJSON: json, statsText: st.dropped > 0 ? text + "\n  dropped \(st.dropped) candidates (lists full)" : text,
                     none: "no faces (thresholds \(formatGeneral(mtcnn.options.thresholds.0, 3)), \(formatGeneral(mtcnn.options.thresholds.1, 3)), \(formatGeneral(mtcnn.options.thresholds.2, 3)))",
                     overlay: overlay)
    }
}

#endif
