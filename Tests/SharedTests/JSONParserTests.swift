import BeaconCore
import Testing

@Suite struct JSONParserTests {
    @Test func parsesAndWritesBackTheSameDocument() throws {
        let text = #"{"type":"track","n":-12,"f":1.5,"e":2.5e-3,"ok":true,"no":null,"list":[1,"two",{"three":3}],"s":"q\"\\\n\u00e9\ud83d\ude00"}"#
        let value = try JSONParser.parse(text)
        #expect(value["type"] == "track")
        #expect(value["n"] == .integer(-12))
        #expect(value["f"] == .number(1.5))
        #expect(value["s"] == .string("q\"\\\né😀"))
        let again = try JSONParser.parse(JSONWriter.string(value))
        #expect(again == value)
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":2,"c":3}"#)
        #expect(JSONWriter.string(value) == #"{"b":1,"a":2,"c":3}"#)
    }

    @Test(arguments: [
        ("", "unexpected end of JSON"),
        ("{", "expected a string key"),
        (#"{"a":}"#, "unexpected character"),
        (#"{"a":1,}"#, "expected a string key"),
        ("[1 2]", "expected ',' or ']'"),
        (#"{"a":1} x"#, "unexpected data after the JSON value"),
        ("01", "unexpected data after the JSON value"),
        (#""\x""#, "invalid escape"),
        (#""\ud800""#, "unpaired surrogate"),
        ("tru", "invalid literal"),
        ("\"a\u{01}\"", "control character in string"),
        ("1e999", "number out of range"),
    ])
    func rejectsMalformedInputWithAReason(input: String, reason: String) {
        #expect {
            _ = try JSONParser.parse(input)
        } throws: { error in
            (error as? JSONParseError)?.message.contains(reason) == true
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError.self) { _ = try JSONParser.parse(bytes) }
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            _ = try JSONParser.parse(deep)
        } throws: { error in
            (error as? JSONParseError)?.message.contains("nested deeper") == true
        }
        let fine = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        _ = try JSONParser.parse(fine)
    }

    @Test func editsObjectsInPlace() throws {
        var value = try JSONParser.parse(#"{"a":1}"#)
        value["b"] = "x"
        value["a"] = nil
        #expect(JSONWriter.string(value) == #"{"b":"x"}"#)
    }
}

@Suite struct JSONWriterTests {
    @Test(arguments: [Int64.min, Int64.min + 1, -1_234_567, -1, 0, 7, 10, 99, 1_000_000, Int64.max])
    func writesIntegersAsSwiftPrintsThem(number: Int64) {
        #expect(JSONWriter.string(.integer(number)) == String(number))
    }

    @Test func writesWholeDoublesAsIntegersAndOthersRoundTripping() throws {
        #expect(JSONWriter.string(.number(12)) == "12")
        #expect(JSONWriter.string(.number(-3)) == "-3")
        #expect(JSONWriter.string(.number(12.5)) == "12.5")
        #expect(try JSONParser.parse(JSONWriter.string(.number(0.1))) == .number(0.1))
    }
}
