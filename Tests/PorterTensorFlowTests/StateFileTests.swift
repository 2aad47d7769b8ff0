import Foundation
import PorterCore
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

/// A folder's `checkpoint` state file may not send Porter outside the folder
/// (fixtures/generate/gen_tensorflow_state.py; docs/security.md (output safety)).
@Suite struct StateFileTests {
    /// `../../tensorflow/saver/model.ckpt` names a real bundle outside the folder: a typed
    /// error naming the state file and the path, not a read of the other bundle.
    @Test func relativeEscapeIsRefused() throws {
        let folder = Fixtures.url("tensorflow-state/escape_relative")
        let state = folder.appendingPathComponent("checkpoint").path
        #expect(throws: TensorFlowError.stateFileOutsideFolder(stateFile: state, path: "../../tensorflow/saver/model.ckpt")) {
            _ = try TensorFlowCheckpointReader.prefix(for: folder)
        }
        #expect(throws: TensorFlowError.self) {
            _ = try TensorFlowCheckpointReader().read(folder, options: ReadOptions())
        }
        let message = TensorFlowError.stateFileOutsideFolder(stateFile: state, path: "../x").errorDescription ?? ""
        #expect(message.contains(state) && message.contains("../x"))
    }

    /// Named directly, the same bundle reads: the rule is about state files only.
    @Test func prefixNamedDirectlyIsRead() throws {
        let prefix = Fixtures.url("tensorflow-state/escape_relative/model.ckpt")
        #expect(try TensorFlowCheckpointReader.prefix(for: prefix) == prefix.path)
        let model = try TensorFlowCheckpointReader().read(prefix, options: ReadOptions())
        #expect(model.tensors.count > 0)
    }

    /// `run/../model.ckpt` stays inside the folder and is followed.
    @Test func dotDotInsideIsFollowed() throws {
        let folder = Fixtures.url("tensorflow-state/dotdot_inside")
        #expect(try TensorFlowCheckpointReader.prefix(for: folder) == folder.appendingPathComponent("model.ckpt").path)
    }

    /// An absolute path elsewhere is refused; an absolute path into the folder is followed;
    /// a link inside the folder that leads out is refused.
    @Test func absolutePathsAndLinks() throws {
        let dir = try Fixtures.scratchDirectory("porter-tf-state")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        let folder = dir.appendingPathComponent("ckpt")
        let elsewhere = dir.appendingPathComponent("elsewhere")
        for d in [folder, elsewhere] {
            try fm.createDirectory(at: d, withIntermediateDirectories: true)
            for f in try fm.contentsOfDirectory(atPath: Fixtures.url("tensorflow/saver").path) where f.hasPrefix("model.ckpt") {
                try fm.copyItem(at: Fixtures.url("tensorflow/saver/\(f)"), to: d.appendingPathComponent(f))
            }
        }
        let state = folder.appendingPathComponent("checkpoint")
        let outside = elsewhere.appendingPathComponent("model.ckpt").path
        try Data("model_checkpoint_path: \"\(outside)\"\n".utf8).write(to: state)
        #expect(throws: TensorFlowError.stateFileOutsideFolder(stateFile: state.path, path: outside)) {
            _ = try TensorFlowCheckpointReader.prefix(for: folder)
        }
        let inside = folder.appendingPathComponent("model.ckpt").path
        try Data("model_checkpoint_path: \"\(inside)\"\n".utf8).write(to: state)
        #expect(try TensorFlowCheckpointReader.prefix(for: folder) == inside)

        try fm.createSymbolicLink(atPath: folder.appendingPathComponent("link").path, withDestinationPath: elsewhere.path)
        try Data("model_checkpoint_path: \"link/model.ckpt\"\n".utf8).write(to: state)
        #expect(throws: TensorFlowError.stateFileOutsideFolder(stateFile: state.path, path: "link/model.ckpt")) {
            _ = try TensorFlowCheckpointReader.prefix(for: folder)
        }
    }
}
