import Foundation
import Testing

@testable import EpisodeStore

/// The JSON codec and the timestamp rules every value entering a store goes through.
@Suite struct JSONAndTimeTests {
    @Test func numbersKeepTheirLiteralAndEqualityIsNumeric() throws {
        let value = try JSONParser().parse(#"{"a": 9007199254740993, "b": -0.0, "c": 1.0, "d": 1e2}"#)
        #expect(value.jsonText == #"{"a":9007199254740993,"b":-0.0,"c":1.0,"d":1e2}"#)
        let o = try #require(value.objectValue)
        #expect(
            o["c"]!.isEquivalent(to: 1) && o["d"]!.isEquivalent(to: 100)
                && !o["a"]!.isEquivalent(to: .number(JSONNumber(literal: "9007199254740992")!)))
    }

    @Test func malformedAndHostileDocumentsAreRefusedWithTheirOffset() {
        func error(_ text: String, depth: Int = 64) -> String? {
            do { _ = try JSONParser(maxDepth: depth).parse(text); return nil } catch { return error.message }
        }
        #expect(error(#"{"a": 1, "a": 2}"#) == "duplicate key \"a\"")
        #expect(error(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))?.contains("nested deeper") == true)
        #expect(error(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
        #expect(error(#"{"a": 1e999}"#)?.contains("too large") == true)
        #expect(error(#""\ud800""#)?.contains("lone surrogate") == true)
        #expect(error("\"tab\there\"")?.contains("control character") == true)
        #expect(error("[01]") != nil && error("[1.]") != nil && error("[.5]") != nil && error("[+1]") != nil)
        #expect(error("{} x")?.contains("after the JSON value") == true)
        #expect(error("") != nil)
        let invalidUTF8: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        #expect(throws: JSONParseError.self) { try JSONParser().parse(invalidUTF8) }
        #expect((try? JSONParser().parse(#""\u00e9\ud83d\ude80\n""#)) == .string("é🚀\n"))
    }

    @Test func stringsAreEscapedSoTheyReadBack() throws {
        let tricky = "quote \" backslash \\ nul \u{0} bell \u{7} newline \n é 🚀"
        let text = JSONValue.string(tricky).jsonText
        #expect(try JSONParser().parse(text) == .string(tricky))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 })
        // Strings without a character to escape are written as they are (the fast path), and
        // one such character anywhere sends a string down the escaping path.
        #expect(JSONValue.string("plain é 🚀 text").jsonText == "\"plain é 🚀 text\"")
        for (raw, escaped) in [("\"", #"\""#), ("\\", #"\\"#), ("\u{1F}", #"\u001f"#), ("\t", #"\t"#)] {
            #expect(JSONValue.string("é" + raw + "x").jsonText == "\"é" + escaped + "x\"", "\(escaped)")
        }
    }

    @Test func rfc3339IsExactAndBounded() throws {
        #expect(EpisodeTime.rfc3339(try EpisodeTime.parse(rfc3339: "2024-05-01T09:30:00Z")) == "2024-05-01T09:30:00.000Z")
        #expect(EpisodeTime.rfc3339(try EpisodeTime.parse(rfc3339: "2024-05-01t11:30:00.123456+02:00")) == "2024-05-01T09:30:00.123Z")
        #expect(throws: EpisodeTime.ParseError.impossibleDate("2024-02-30")) { try EpisodeTime.parse(rfc3339: "2024-02-30T00:00:00Z") }
        #expect(throws: EpisodeTime.ParseError.impossibleDate("2023-02-29")) { try EpisodeTime.parse(rfc3339: "2023-02-29T00:00:00Z") }
        #expect((try? EpisodeTime.parse(rfc3339: "2000-02-29T00:00:00Z")) != nil)
        #expect(throws: EpisodeTime.ParseError.outOfRange) { try EpisodeTime.parse(rfc3339: "10000-01-01T00:00:00Z") }
        #expect(throws: EpisodeTime.ParseError.outOfRange) { try EpisodeTime.parse(rfc3339: "-0001-01-01T00:00:00Z") }
        #expect(throws: EpisodeTime.ParseError.outOfRange) { try EpisodeTime.parse(rfc3339: "0000-12-31T00:00:00Z") }
        #expect(throws: EpisodeTime.ParseError.outOfRange) { try EpisodeTime.parse(rfc3339: "9999-12-31T23:59:59-01:00") }
        #expect(throws: EpisodeTime.ParseError.self) { try EpisodeTime.parse(rfc3339: "2024-01-01T23:59:60Z") }
        #expect(throws: EpisodeTime.ParseError.malformed) { try EpisodeTime.parse(rfc3339: "2024-01-01") }
        #expect(throws: EpisodeTime.ParseError.malformed) { try EpisodeTime.parse(rfc3339: "2024-01-01T00:00:00") }
        #expect(EpisodeTime.date(unixSeconds: 253_402_300_800) == nil)
        #expect(EpisodeTime.date(unixSeconds: 253_402_300_799) != nil)
        // The stored text sorts as time does and reads back to the millisecond.
        let date = try EpisodeTime.parse(rfc3339: "0987-06-05T04:03:02.001Z")
        #expect(EpisodeTime.storedText(date) == "0987-06-05 04:03:02.001")
        #expect(EpisodeTime.date(storedText: EpisodeTime.storedText(date)) == date)
        #expect(EpisodeTime.date(storedText: "2024-01-01") == (try EpisodeTime.parse(rfc3339: "2024-01-01T00:00:00Z")))
    }
}
