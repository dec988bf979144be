import Foundation
import SwiftletCore
import SwiftletVision
import Testing

// V4L2 capture on this machine: the error paths a host without cameras can reach (a missing device,
// a character device that is no camera, a regular file). Streaming from a real V4L2 driver (vivid)
// runs in the VM test, tools/camera/vm-test.

@Suite struct CameraOpenTests {
    @Test func missingDeviceIsNamedWithWhatToDo() {
        do {
            _ = try Camera(path: "/dev/video-swiftlet-missing")
            Issue.record("opened a missing device")
        } catch {
            #expect(error.message == "/dev/video-swiftlet-missing: no such camera device; list the cameras with 'swiftlet cameras' (is the camera plugged in, its driver loaded?)")
        }
    }

    @Test(arguments: ["/dev/null", "/dev/zero"])
    func characterDeviceThatIsNoCamera(path: String) {
        do {
            _ = try Camera(path: path)
            Issue.record("\(path) accepted as a camera")
        } catch {
            #expect(error.message == "\(path): not a V4L2 device (VIDIOC_QUERYCAP: ENOTTY); pass a /dev/videoN camera")
        }
    }

    @Test func regularFileIsNoCamera() throws {
        let path = NSTemporaryDirectory() + "swiftlet-not-a-camera-\(getpid())"
        _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Camera(path: path)
            Issue.record("a regular file accepted as a camera")
        } catch {
            #expect(error.message == "\(path): not a V4L2 device (VIDIOC_QUERYCAP: ENOTTY); pass a /dev/videoN camera")
        }
    }
}

@Suite struct CameraTextTests {
    @Test func fourccs() {
        #expect(fourccText(CameraPixelFormat.yuyv.fourcc) == "YUYV")
        #expect(fourccText(CameraPixelFormat.mjpeg.fourcc) == "MJPG")
        #expect(fourccText(CameraPixelFormat.nv12.fourcc) == "NV12")
        #expect(CameraPixelFormat(fourcc: CameraPixelFormat.rgb24.fourcc) == .rgb24)
        #expect(CameraPixelFormat(name: "gray") == .grey)
        #expect(CameraPixelFormat(name: "h264") == nil)
    }

    @Test func frameRates() {
        #expect(fpsText(num: 1, den: 30) == "30")
        #expect(fpsText(num: 1001, den: 30000) == "29.97")
        #expect(fpsText(num: 2, den: 5) == "2.50")
    }

    @Test func sizesAndRanges() {
        let fixed = CameraSize(width: 640, height: 480, maxWidth: 640, maxHeight: 480, stepWidth: 1, stepHeight: 1,
                               intervals: [(1, 30), (1, 15)])
        #expect(fixed.allows(width: 640, height: 480))
        #expect(!fixed.allows(width: 320, height: 240))
        #expect(fixed.text == "640x480@30,15")
        let range = CameraSize(width: 16, height: 16, maxWidth: 1920, maxHeight: 1080, stepWidth: 2, stepHeight: 2, intervals: [])
        #expect(range.allows(width: 640, height: 480))
        #expect(!range.allows(width: 641, height: 480))
        #expect(!range.allows(width: 2000, height: 480))
        #expect(range.text == "16x16-1920x1080")
    }

    @Test func offersNameTheConvertedFormatsFirst() {
        let size = CameraSize(width: 640, height: 480, maxWidth: 640, maxHeight: 480, stepWidth: 1, stepHeight: 1, intervals: [(1, 30)])
        let uyvy = CameraFormat(fourcc: 0x5956_5955, compressed: false, sizes: [size])  // "UYVY"
        let yuyv = CameraFormat(fourcc: CameraPixelFormat.yuyv.fourcc, compressed: false, sizes: [size, size])
        #expect(offersText([uyvy, yuyv]) == "YUYV (and UYVY, which Swiftlet does not convert)")
        #expect(offersText([uyvy]) == "UYVY, none of which Swiftlet converts")
        #expect(offersText([]) == "no formats")
        #expect(sizesText(yuyv) == "640x480@30 640x480@30")
    }
}
