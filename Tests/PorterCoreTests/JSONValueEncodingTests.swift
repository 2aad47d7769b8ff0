import Foundation
import Testing
@testable import PorterCore

@Suite struct JSONValueEncodingTests {
    static let sample: JSONValue = [
        "b": [1, 2, ["x": "y/z", "e": [], "o": [:]]], "a": "tab\there \"q\" \\ \u{1}é при", "B": nil, "n": -3,
        "f": 0.02, "g": 1e-5, "h": 1.2345678901234568e+17, "t": true, "nested": ["k": [[1], []]],
    ]

    @Test(arguments: [true, false])
    func layoutMatchesFoundationsEncoder(pretty: Bool) throws {
        let ours = String(decoding: try Self.sample.encoded(pretty: pretty), as: UTF8.self)
        let foundation = String(decoding: try JSONValue.encoder(pretty: pretty).encode(Self.sample), as: UTF8.self)
        #expect(ours == foundation)
    }

    @Test func integralFloatsKeepTheirPoint() throws {
        let v: JSONValue = ["length_penalty": .double(1.0), "dropout": .double(0), "count": .int(1), "big": .double(1e16)]
        let text = String(decoding: try v.encoded(pretty: false), as: UTF8.self)
        #expect(text == #"{"big":1e+16,"count":1,"dropout":0.0,"length_penalty":1.0}"#)
    }
}
