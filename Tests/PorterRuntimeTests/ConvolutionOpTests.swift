import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct ConvolutionOpTests {
    let image: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9]  // 3×3

    @Test func conv2dValidSameAndExplicitPadding() throws {
        let x = f([1, 1, 3, 3], image)
        let ones = f([1, 1, 2, 2], [1, 1, 1, 1])
        expectClose(try run1("conv2d", [x, ones], ["padding": "valid"]), [1, 1, 2, 2], [12, 16, 24, 28])
        // TF "same" with an even kernel pads after: windows at the edge see zeros.
        expectClose(try run1("conv2d", [x, ones], ["padding": "same"]), [1, 1, 3, 3], [12, 16, 9, 24, 28, 15, 15, 17, 9])
        // PyTorch padding=1 with a 3×3 kernel of ones.
        let ones3 = f([1, 1, 3, 3], [Float](repeating: 1, count: 9))
        expectClose(try run1("conv2d", [x, ones3], ["padding": [1]]), [1, 1, 3, 3], [12, 21, 16, 27, 45, 33, 24, 39, 28])
        // Explicit before/after per axis: [top, bottom, left, right].
        expectClose(try run1("conv2d", [x, ones], ["padding": [1, 0, 0, 0]]), [1, 1, 3, 2], [3, 5, 12, 16, 24, 28])
    }

    @Test func conv2dStridesDilationsAndBias() throws {
        let x = f([1, 1, 3, 3], image)
        expectClose(try run1("conv2d", [x, f([1, 1, 1, 1], [2])], ["strides": [2, 2]]), [1, 1, 2, 2], [2, 6, 14, 18])
        let corners = f([1, 1, 2, 2], [1, 0, 0, 1])
        expectClose(try run1("conv2d", [x, corners, f([1], [0.5])], ["dilations": [2, 2]]), [1, 1, 1, 1], [10.5])
    }

    @Test func channelsLastHWIOMatchesChannelsFirstOIHW() throws {
        let x = f([1, 3, 3, 1], image)
        let ones = f([2, 2, 1, 1], [1, 1, 1, 1])
        expectClose(try run1("conv2d", [x, ones], ["padding": "same", "data_format": "channels_last", "kernel_layout": "HWIO"]),
                    [1, 3, 3, 1], [12, 16, 9, 24, 28, 15, 15, 17, 9])
        // Two input channels, two output channels, channels_last: out = x · W per pixel.
        let x2 = f([1, 1, 2, 2], [1, 2, 3, 4])  // pixels (1,2), (3,4)
        let w = f([1, 1, 2, 2], [1, 10, 100, 1000])  // [in, out]
        expectClose(try run1("conv2d", [x2, w], ["kernel_layout": "HWIO", "data_format": "channels_last"]), [1, 1, 2, 2],
                    [201, 2010, 403, 4030])
    }

    @Test func groupsAndDepthwise() throws {
        // Two groups of two input channels: o0 = x0 + x1, o1 = x2 − x3.
        let x = f([1, 4, 1, 1], [1, 2, 3, 4])
        let k = f([2, 2, 1, 1], [1, 1, 1, -1])
        expectClose(try run1("conv2d", [x, k], ["groups": 2]), [1, 2, 1, 1], [3, -1])
        // Depthwise, channels_first OIHW with groups = channels.
        let y = f([1, 2, 1, 2], [1, 2, 10, 20])
        expectClose(try run1("conv2d", [y, f([2, 1, 1, 1], [2, 3])], ["groups": 2]), [1, 2, 1, 2], [2, 4, 30, 60])
        // Keras depthwise HWIM (multiplier 2): output channel c·M + m = x_c · k[c, m].
        let z = f([1, 1, 2, 2], [1, 10, 2, 20])
        let hwim = f([1, 1, 2, 2], [1, 2, 3, 4])
        expectClose(try run1("conv2d", [z, hwim], ["kernel_layout": "HWIM", "data_format": "channels_last"]), [1, 1, 2, 4],
                    [1, 2, 30, 40, 2, 4, 60, 80])
        #expect(throws: RuntimeError.self) { try run1("conv2d", [x, k], ["groups": 3]) }
    }

    @Test func conv1dBothLayouts() throws {
        let x = f([1, 1, 5], [1, 2, 3, 4, 5])
        let k = f([1, 1, 3], [1, 0, -1])
        expectClose(try run1("conv1d", [x, k]), [1, 1, 3], [-2, -2, -2])
        expectClose(try run1("conv1d", [x, k, f([1], [0.5])], ["strides": [2]]), [1, 1, 2], [-1.5, -1.5])
        expectClose(try run1("conv1d", [x, k], ["dilations": [2]]), [1, 1, 1], [-4])
        expectClose(try run1("conv1d", [x, k], ["padding": "same"]), [1, 1, 5], [-2, -2, -2, -2, 4])
        let xl = f([1, 5, 1], [1, 2, 3, 4, 5])
        let wio = f([3, 1, 1], [1, 0, -1])
        expectClose(try run1("conv1d", [xl, wio], ["kernel_layout": "WIO", "data_format": "channels_last"]), [1, 3, 1], [-2, -2, -2])
    }

    @Test func poolingValidAndSameCounts() throws {
        let x = f([1, 3, 3, 1], image)
        expectClose(try run1("max_pool", [x], ["kernel": [2, 2], "strides": [1, 1]]), [1, 2, 2, 1], [5, 6, 8, 9])
        // "same" average divides by the in-bounds count (Keras/TF).
        expectClose(try run1("avg_pool", [x], ["kernel": [2, 2], "strides": [1, 1], "padding": "same"]), [1, 3, 3, 1],
                    [3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9])
        expectClose(try run1("max_pool", [x], ["kernel": [2, 2], "padding": "same"]), [1, 2, 2, 1], [5, 6, 8, 9])
        let cf = f([1, 1, 3, 3], image)
        expectClose(try run1("avg_pool", [cf], ["kernel": [2, 2], "data_format": "channels_first"]), [1, 1, 1, 1], [3])
        // 1-D.
        expectClose(try run1("max_pool", [f([1, 4, 1], [1, 3, 2, 0])], ["kernel": [2]]), [1, 2, 1], [3, 2])
    }

    @Test func globalPooling() throws {
        let cl = f([1, 2, 2, 2], [1, 10, 2, 20, 3, 30, 4, 40])  // NHWC
        expectClose(try run1("global_avg_pool", [cl]), [1, 2], [2.5, 25])
        expectClose(try run1("global_max_pool", [cl], ["keepdims": true]), [1, 1, 1, 2], [4, 40])
        let cf = f([1, 2, 2, 2], [1, 2, 3, 4, 10, 20, 30, 40])  // NCHW
        expectClose(try run1("global_avg_pool", [cf], ["data_format": "channels_first", "keepdims": true]), [1, 2, 1, 1], [2.5, 25])
    }

    @Test func batchNormPerChannel() throws {
        let x = f([1, 2, 2], [1, 3, 2, 4])  // channels on axis 1
        let r = try run1("batch_norm", [x, f([2], [1, 2]), f([2], [0, 1]), f([2], [2, 3]), f([2], [1, 4])], ["axis": 1, "epsilon": 0])
        expectClose(r, [1, 2, 2], [-1, 1, 0, 2])
        // gamma/beta omitted; channels last.
        let r2 = try run1("batch_norm", [f([2, 1], [4, 6]), nil, nil, f([1], [5]), f([1], [4])], ["epsilon": 0])
        expectClose(r2, [2, 1], [-0.5, 0.5])
    }
}
