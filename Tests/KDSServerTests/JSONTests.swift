import KDSServer
import KDSTime
import Testing

@Suite("JSON and timestamps (unit)")
struct JSONTests {
  @Test func canonicalFormIgnoresKeyOrderAndWhitespace() throws {
    let a = try JSONValue.parse(#"{"b":[1,2,{"y":true,"x":null}],"a":"é\n","c":1.5}"#)
    let b = try JSONValue.parse(
      """
      {
        "c" : 1.5 ,
        "a" : "\\u00e9\\n",
        "b" : [ 1, 2.0, { "x" : null, "y" : true } ]
      }
      """)
    #expect(a.canonicalBytes == b.canonicalBytes)
    #expect(
      String(decoding: a.canonicalBytes, as: UTF8.self)
        == #"{"a":"é\n","b":[1,2,{"x":null,"y":true}],"c":1.5}"#)
    let c = try JSONValue.parse(#"{"a":"é\n","b":[1,2,{"x":null,"y":false}],"c":1.5}"#)
    #expect(c.canonicalBytes != a.canonicalBytes)
  }

  @Test func malformedJSONIsRejected() {
    for text in ["", "{", #"{"a":}"#, "{'a':1}", "[1,]", #"{"a":1} x"#, "01", #""\x""#, "nul"] {
      #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
    }
  }

  /// Where a container goes wrong, and what the error says.
  @Test func containerErrorsNameTheProblem() throws {
    let cases: [(String, String, Int)] = [
      ("[1 2]", "expected ',' or ']'", 3), (#"{"a":1 "b":2}"#, "expected ',' or '}'", 7),
      ("[1", "unterminated array", 2), (#"{"a":1"#, "unterminated object", 6),
    ]
    for (text, reason, offset) in cases {
      let error = #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(text) }
      #expect(error?.reason == reason, "\(text)")
      #expect(error?.offset == offset, "\(text)")
    }
    #expect(try JSONValue.parse(" [ ] ") == .array([]))
    #expect(
      try JSONValue.parse(#"{ "a" : [ ] , "b" : { } }"#)
        == .object([("a", .array([])), ("b", .object([]))]))
  }

  @Test func timestampsParseAnyRFC3339AndFormatWithThreeDigits() {
    #expect(RFC3339.parse("2025-11-21T14:35:00Z") == 1_763_735_700_000)
    #expect(RFC3339.parse("2025-11-21T14:35:00.123Z") == 1_763_735_700_123)
    #expect(RFC3339.parse("2025-11-21T14:35:00.1239Z") == 1_763_735_700_123)
    #expect(RFC3339.parse("2025-11-21T17:35:00.5+03:00") == 1_763_735_700_500)
    #expect(RFC3339.parse("2025-11-21") == nil)
    #expect(RFC3339.parse("yesterday") == nil)
    #expect(RFC3339.format(millis: 1_763_735_700_000) == "2025-11-21T14:35:00.000Z")
    #expect(RFC3339.format(millis: 1_763_735_700_123) == "2025-11-21T14:35:00.123Z")
    #expect(RFC3339.format(millis: 0) == "1970-01-01T00:00:00.000Z")
  }
}
