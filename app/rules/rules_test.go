package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/datadragon/datadragon/app/wire"
)

func mustParse(t testing.TB, s string) *Rules {
	t.Helper()
	r, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return r
}

func chunk(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

func verdict(code uint32) wire.Verdict {
	if code == 0 {
		return wire.OK
	}
	return wire.Violation(code)
}

func f64(v float64) *float64 { return &v }

// nest returns a message whose member "a" is n nested arrays, so that the
// message nests n+1 deep.
func nest(n int) string {
	return `{"a":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
}

func TestCodesAreStable(t *testing.T) {
	// The codes go on chain: their values must never change.
	codes := []uint32{CodeMessageTooLarge, CodeChunkTooLarge, CodeNotObject, CodeFieldMissing,
		CodeFieldType, CodeBelowMin, CodeAboveMax, CodeNotMonotonic}
	for i, c := range codes {
		if c != uint32(i+1) {
			t.Errorf("code #%d is %d, want %d", i, c, i+1)
		}
	}
}

func TestDescribe(t *testing.T) {
	seen := map[string]uint32{}
	for c := uint32(1); c <= 8; c++ {
		d := Describe(c)
		if d == "" || strings.HasPrefix(d, "unknown") {
			t.Errorf("Describe(%d) = %q", c, d)
		}
		if o, dup := seen[d]; dup {
			t.Errorf("codes %d and %d share the description %q", o, c, d)
		}
		seen[d] = c
	}
	if d := Describe(CodeMessageTooLarge); d != "a message is larger than max_message_bytes" {
		t.Errorf("Describe(1) = %q", d)
	}
	for _, c := range []uint32{0, 9, math.MaxUint32} {
		if d := Describe(c); d != fmt.Sprintf("unknown rule violation code %d", c) {
			t.Errorf("Describe(%d) = %q", c, d)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want *Rules
	}{
		{"empty", "", nil},
		{"blank", " \n\t\r ", nil},
		{"null", "null", nil},
		{"null with spaces", " null\n", nil},
		{"empty object", "{}", &Rules{}},
		{"doc example", `{"max_message_bytes": 4096, "max_chunk_bytes": 1048576, "json": true,
			"fields": [{"path": "temp", "type": "number", "min": -50, "max": 60, "required": true},
			           {"path": "meta.unit", "type": "string", "required": true}],
			"monotonic": "ts"}`,
			&Rules{MaxMessageBytes: 4096, MaxChunkBytes: 1048576, JSON: true, Fields: []Field{
				{Path: "temp", Type: "number", Min: f64(-50), Max: f64(60), Required: true},
				{Path: "meta.unit", Type: "string", Required: true},
			}, Monotonic: "ts"}},
		{"defaults written out", `{"max_message_bytes":0,"max_chunk_bytes":0,"json":false,"fields":[],"monotonic":""}`, &Rules{}},
		{"largest sizes", `{"max_message_bytes":4294967295,"max_chunk_bytes":18446744073709551615}`,
			&Rules{MaxMessageBytes: math.MaxUint32, MaxChunkBytes: math.MaxUint64}},
		{"field defaults", `{"fields":[{"path":"a","type":"","required":false}]}`, &Rules{Fields: []Field{{Path: "a"}}}},
		{"min equals max", `{"fields":[{"path":"a","type":"number","min":1.5,"max":15e-1}]}`,
			&Rules{Fields: []Field{{Path: "a", Type: "number", Min: f64(1.5), Max: f64(1.5)}}}},
		{"only min", `{"fields":[{"path":"a","type":"number","min":-0.25}]}`,
			&Rules{Fields: []Field{{Path: "a", Type: "number", Min: f64(-0.25)}}}},
		{"tiny min reads as 0", `{"fields":[{"path":"a","type":"number","min":1e-400}]}`,
			&Rules{Fields: []Field{{Path: "a", Type: "number", Min: f64(0)}}}},
		{"every type", `{"fields":[{"path":"a","type":"number"},{"path":"b","type":"string"},{"path":"c","type":"bool"},{"path":"d","type":"object"},{"path":"e","type":"array"}]}`,
			&Rules{Fields: []Field{{Path: "a", Type: "number"}, {Path: "b", Type: "string"}, {Path: "c", Type: "bool"}, {Path: "d", Type: "object"}, {Path: "e", Type: "array"}}}},
		{"escaped path", `{"fields":[{"path":"m\u0065ta.\u00e9"}]}`, &Rules{Fields: []Field{{Path: "meta.é"}}}},
		{"8 segments of 64 bytes", `{"monotonic":"` + strings.TrimSuffix(strings.Repeat(strings.Repeat("x", 64)+".", 8), ".") + `"}`,
			&Rules{Monotonic: strings.TrimSuffix(strings.Repeat(strings.Repeat("x", 64)+".", 8), ".")}},
		{"same path twice", `{"fields":[{"path":"a","required":true},{"path":"a","type":"number"}],"monotonic":"a"}`,
			&Rules{Fields: []Field{{Path: "a", Required: true}, {Path: "a", Type: "number"}}, Monotonic: "a"}},
		{"surrounding space", " \n{\"json\":true}\n ", &Rules{JSON: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	field := `{"path":"a"}`
	fields := func(n int) string {
		return `{"fields":[` + strings.TrimSuffix(strings.Repeat(field+",", n), ",") + `]}`
	}
	if r, err := Parse([]byte(fields(maxFields))); err != nil || len(r.Fields) != maxFields {
		t.Fatalf("%d fields: %v", maxFields, err)
	}
	if _, err := Parse([]byte(fields(maxFields + 1))); err == nil || !strings.Contains(err.Error(), "more than 64 fields") {
		t.Fatalf("%d fields: %v", maxFields+1, err)
	}
	padded := func(n int) []byte { // {"json":true} padded with spaces to n bytes
		return []byte(`{"json":true` + strings.Repeat(" ", n-len(`{"json":true}`)) + `}`)
	}
	if r, err := Parse(padded(maxRulesBytes)); err != nil || !r.JSON {
		t.Fatalf("64 KiB: %v", err)
	}
	if _, err := Parse(padded(maxRulesBytes + 1)); err == nil || !strings.Contains(err.Error(), "64 KiB") {
		t.Fatalf("64 KiB + 1: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	seg64 := strings.Repeat("x", 64)
	cases := []struct {
		name, in, want string
	}{
		{"invalid UTF-8", "{\"monotonic\":\"\xff\"}", "UTF-8"},
		{"truncated", `{"json":true`, "ends early"},
		{"truncated string", `{"monotonic":"ts`, "ends early"},
		{"syntax", `{"json" true}`, "not valid JSON"},
		{"trailing comma", `{"json":true,}`, "not valid JSON"},
		{"trailing object", `{} {}`, "data after the closing brace"},
		{"trailing garbage", `{"json":true}x`, "data after the closing brace"},
		{"trailing null", `{} null`, "data after the closing brace"},
		{"array", `[]`, "the rules must be a JSON object, got an array"},
		{"string", `"json"`, "the rules must be a JSON object, got a string"},
		{"number", `5`, "the rules must be a JSON object, got the number 5"},
		{"true", `true`, "the rules must be a JSON object, got true"},
		{"unknown key", `{"jsn":true}`, `unknown key "jsn"`},
		{"key in another case", `{"JSON":true}`, `unknown key "JSON"`},
		{"duplicate key", `{"json":true,"json":false}`, `the rules has the key "json" twice`},
		{"json not bool", `{"json":1}`, "json must be true or false, got the number 1"},
		{"json null", `{"json":null}`, "json must be true or false, got null"},
		{"size as string", `{"max_message_bytes":"4096"}`, "max_message_bytes must be a number of bytes, got a string"},
		{"negative size", `{"max_message_bytes":-1}`, "max_message_bytes must be a whole number from 0 (no limit) to 4294967295, got -1"},
		{"fractional size", `{"max_chunk_bytes":1.5}`, "max_chunk_bytes must be a whole number"},
		{"exponent size", `{"max_chunk_bytes":1e3}`, "max_chunk_bytes must be a whole number"},
		{"message size overflow", `{"max_message_bytes":4294967296}`, "to 4294967295, got 4294967296"},
		{"chunk size overflow", `{"max_chunk_bytes":18446744073709551616}`, "to 18446744073709551615, got 18446744073709551616"},
		{"fields object", `{"fields":{"path":"a"}}`, "fields must be an array of field rules"},
		{"fields null", `{"fields":null}`, "fields must be an array of field rules"},
		{"field not object", `{"fields":[1]}`, "fields[0] must be a JSON object, got the number 1"},
		{"field unknown key", `{"fields":[{"path":"a"},{"path":"b","minimum":1}]}`, `fields[1] has unknown key "minimum"`},
		{"field duplicate key", `{"fields":[{"path":"a","path":"b"}]}`, `fields[0] has the key "path" twice`},
		{"field without path", `{"fields":[{"type":"number"}]}`, `fields[0] has no "path"`},
		{"path not string", `{"fields":[{"path":1}]}`, "fields[0].path must be a string, got the number 1"},
		{"empty path", `{"fields":[{"path":""}]}`, `fields[0] (""): path is empty`},
		{"leading dot", `{"fields":[{"path":".a"}]}`, "empty segment"},
		{"trailing dot", `{"fields":[{"path":"a."}]}`, "empty segment"},
		{"double dot", `{"fields":[{"path":"a..b"}]}`, "empty segment"},
		{"9 segments", `{"fields":[{"path":"a.b.c.d.e.f.g.h.i"}]}`, "has 9 segments; the limit is 8"},
		{"65-byte segment", `{"fields":[{"path":"a.` + seg64 + `x"}]}`, "segment of 65 bytes; the limit is 64"},
		{"type not string", `{"fields":[{"path":"a","type":true}]}`, "fields[0].type must be a string, got true"},
		{"unknown type", `{"fields":[{"path":"a","type":"integer"}]}`, `type "integer" is not`},
		{"type in another case", `{"fields":[{"path":"a","type":"Number"}]}`, `type "Number" is not`},
		{"null type", `{"fields":[{"path":"a","type":"null"}]}`, `type "null" is not`},
		{"min without type", `{"fields":[{"path":"a","min":1}]}`, `min and max need "type": "number"`},
		{"max with type string", `{"fields":[{"path":"a","type":"string","max":1}]}`, `min and max need "type": "number"`},
		{"min not number", `{"fields":[{"path":"a","type":"number","min":"1"}]}`, "fields[0].min must be a number, got a string"},
		{"max null", `{"fields":[{"path":"a","type":"number","max":null}]}`, "fields[0].max must be a number, got null"},
		{"min beyond float64", `{"fields":[{"path":"a","type":"number","min":1e999}]}`, "fields[0].min 1e999 is beyond the range"},
		{"max beyond float64", `{"fields":[{"path":"a","type":"number","max":-2e308}]}`, "fields[0].max -2e308 is beyond the range"},
		{"min just above max", `{"fields":[{"path":"t","type":"number","min":1.0000001,"max":1}]}`, "min 1.0000001 is above max 1"},
		{"min above max", `{"fields":[{"path":"t","type":"number","min":60,"max":-50}]}`, `fields[0] ("t"): min 60 is above max -50; swap them`},
		{"required not bool", `{"fields":[{"path":"a","required":"yes"}]}`, "fields[0].required must be true or false"},
		{"monotonic not string", `{"monotonic":1}`, "monotonic must be a string"},
		{"monotonic bad path", `{"monotonic":"ts."}`, `monotonic path "ts." has an empty segment`},
		{"monotonic 9 segments", `{"monotonic":"1.2.3.4.5.6.7.8.9"}`, "has 9 segments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(c.in))
			if err == nil {
				t.Fatalf("no error, rules %+v", r)
			}
			if r != nil {
				t.Errorf("rules %+v with the error", r)
			}
			if !strings.HasPrefix(err.Error(), "rules: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"max_message_bytes":1,"max_chunk_bytes":2,"json":true}`,
		`{"fields":[{"path":"a.b","type":"number","min":-0.1,"max":1e300,"required":true},{"path":"<&>"}],"monotonic":"t"}`,
		`{"fields":[{"path":"a","type":"number","min":5e-324,"max":1.7976931348623157e308}]}`,
	} {
		r := mustParse(t, in)
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if again := mustParse(t, string(out)); !reflect.DeepEqual(again, r) {
			t.Errorf("%s: round trip %s gives %+v, want %+v", in, out, again, r)
		}
	}
}

func TestNilRules(t *testing.T) {
	var r *Rules
	if v := r.Check(chunk("not json", "")); v != wire.OK {
		t.Fatalf("nil rules: %v", v)
	}
	r = mustParse(t, "")
	if r != nil {
		t.Fatalf("Parse(\"\") = %+v", r)
	}
	if v := r.Check(nil); v != wire.OK {
		t.Fatalf("nil rules, no messages: %v", v)
	}
	if v := (&Rules{}).Check(chunk("not json")); v != wire.OK {
		t.Fatalf("empty rules: %v", v)
	}
}

// Every case is also run through refCheck, the encoding/json reference,
// which must agree.
var checkCases = []struct {
	name  string
	rules string
	msgs  []string
	want  uint32
}{
	// Code 1: message size, inclusive limit.
	{"message at limit", `{"max_message_bytes":5}`, []string{"abcde", "", "a"}, 0},
	{"message over limit", `{"max_message_bytes":5}`, []string{"abcdef"}, CodeMessageTooLarge},
	{"later message over limit", `{"max_message_bytes":5}`, []string{"abc", "abcdef"}, CodeMessageTooLarge},
	{"size alone needs no JSON", `{"max_message_bytes":100}`, []string{"not json"}, 0},

	// Code 2: chunk size, sum of lengths, inclusive limit.
	{"chunk at limit", `{"max_chunk_bytes":10}`, []string{"abcde", "fghij"}, 0},
	{"chunk over limit", `{"max_chunk_bytes":10}`, []string{"abcde", "fghijk"}, CodeChunkTooLarge},
	{"empty chunk", `{"max_chunk_bytes":1,"json":true,"monotonic":"t"}`, nil, 0},

	// Code 3: one JSON object.
	{"objects", `{"json":true}`, []string{`{}`, " \t\r\n{\"a\":1} \n", `{"a":[1,-2.5e+3,{"b":null}],"c":"\u00e9\n\"","d":true,"e":false,"f":0,"g":-0.0E-0}`}, 0},
	{"array", `{"json":true}`, []string{`[]`}, CodeNotObject},
	{"null message", `{"json":true}`, []string{`null`}, CodeNotObject},
	{"number message", `{"json":true}`, []string{`1`}, CodeNotObject},
	{"string message", `{"json":true}`, []string{`"{}"`}, CodeNotObject},
	{"empty message", `{"json":true}`, []string{``}, CodeNotObject},
	{"blank message", `{"json":true}`, []string{"  "}, CodeNotObject},
	{"second message bad", `{"json":true}`, []string{`{}`, `{`}, CodeNotObject},
	{"unclosed", `{"json":true}`, []string{`{"a":1`}, CodeNotObject},
	{"unclosed string", `{"json":true}`, []string{`{"a":"1}`}, CodeNotObject},
	{"trailing comma", `{"json":true}`, []string{`{"a":1,}`}, CodeNotObject},
	{"array trailing comma", `{"json":true}`, []string{`{"a":[1,]}`}, CodeNotObject},
	{"missing comma", `{"json":true}`, []string{`{"a":1 "b":2}`}, CodeNotObject},
	{"array missing comma", `{"json":true}`, []string{`{"a":[1 2]}`}, CodeNotObject},
	{"missing colon", `{"json":true}`, []string{`{"a" 1}`}, CodeNotObject},
	{"missing value", `{"json":true}`, []string{`{"a":}`}, CodeNotObject},
	{"mismatched close", `{"json":true}`, []string{`{"a":[}`}, CodeNotObject},
	{"mismatched close 2", `{"json":true}`, []string{`{"a":{]}`}, CodeNotObject},
	{"number key", `{"json":true}`, []string{`{1:2}`}, CodeNotObject},
	{"single quotes", `{"json":true}`, []string{`{'a':1}`}, CodeNotObject},
	{"two objects", `{"json":true}`, []string{`{} {}`}, CodeNotObject},
	{"trailing garbage", `{"json":true}`, []string{`{}x`}, CodeNotObject},
	{"leading zero", `{"json":true}`, []string{`{"a":01}`}, CodeNotObject},
	{"bare dot", `{"json":true}`, []string{`{"a":1.}`}, CodeNotObject},
	{"leading dot", `{"json":true}`, []string{`{"a":.5}`}, CodeNotObject},
	{"bare minus", `{"json":true}`, []string{`{"a":-}`}, CodeNotObject},
	{"plus sign", `{"json":true}`, []string{`{"a":+1}`}, CodeNotObject},
	{"bare exponent", `{"json":true}`, []string{`{"a":1e}`}, CodeNotObject},
	{"signed bare exponent", `{"json":true}`, []string{`{"a":1e+}`}, CodeNotObject},
	{"hex", `{"json":true}`, []string{`{"a":0x1}`}, CodeNotObject},
	{"NaN", `{"json":true}`, []string{`{"a":NaN}`}, CodeNotObject},
	{"short literal", `{"json":true}`, []string{`{"a":tru}`}, CodeNotObject},
	{"long literal", `{"json":true}`, []string{`{"a":nulll}`}, CodeNotObject},
	{"bad escape", `{"json":true}`, []string{`{"a":"\x"}`}, CodeNotObject},
	{"bad unicode escape", `{"json":true}`, []string{`{"a":"\u12g4"}`}, CodeNotObject},
	{"short unicode escape", `{"json":true}`, []string{`{"a":"\u12"}`}, CodeNotObject},
	{"control character", `{"json":true}`, []string{"{\"a\":\"\x01\"}"}, CodeNotObject},
	{"unit separator in string", `{"json":true}`, []string{"{\"a\":\"\x1f\"}"}, CodeNotObject},
	{"DEL in string is fine", `{"json":true}`, []string{"{\"a\":\"\x7f\"}"}, 0},
	{"raw newline in string", `{"json":true}`, []string{"{\"a\":\"\n\"}"}, CodeNotObject},
	{"invalid UTF-8", `{"json":true}`, []string{"{\"a\":\"\xff\"}"}, CodeNotObject},
	{"invalid UTF-8 key", `{"json":true}`, []string{"{\"\xc3\":1}"}, CodeNotObject},
	{"UTF-8 surrogate", `{"json":true}`, []string{"{\"a\":\"\xed\xa0\x80\"}"}, CodeNotObject},
	{"byte-order mark", `{"json":true}`, []string{"\xef\xbb\xbf{}"}, CodeNotObject},
	{"lone surrogate escape is valid", `{"json":true}`, []string{`{"a":"\ud800"}`}, 0},
	{"64 deep", `{"json":true}`, []string{nest(63)}, 0},
	{"65 deep", `{"json":true}`, []string{nest(64)}, CodeNotObject},
	{"65 deep objects", `{"json":true}`, []string{strings.Repeat(`{"a":`, 64) + "{}" + strings.Repeat("}", 64)}, CodeNotObject},
	{"64 deep objects", `{"json":true}`, []string{strings.Repeat(`{"a":`, 63) + "{}" + strings.Repeat("}", 63)}, 0},
	{"fields imply JSON", `{"fields":[{"path":"a"}]}`, []string{`[]`}, CodeNotObject},
	{"monotonic implies JSON", `{"monotonic":"t"}`, []string{`nope`}, CodeNotObject},

	// Codes 4 to 7: one number field, required, inclusive bounds.
	{"in range", tempRules, []string{`{"temp":21.5}`}, 0},
	{"at min", tempRules, []string{`{"temp":-50}`}, 0},
	{"at max", tempRules, []string{`{"temp":60}`}, 0},
	{"at max in exponent form", tempRules, []string{`{"temp":6e1}`}, 0},
	{"at min in exponent form", tempRules, []string{`{"temp":-0.5E+2}`}, 0},
	{"below min", tempRules, []string{`{"temp":-50.000001}`}, CodeBelowMin},
	{"far below min", tempRules, []string{`{"temp":-1e300}`}, CodeBelowMin},
	{"above max", tempRules, []string{`{"temp":60.000001}`}, CodeAboveMax},
	{"above max in exponent form", tempRules, []string{`{"temp":6.1e1}`}, CodeAboveMax},
	{"tiny number is 0", tempRules, []string{`{"temp":1e-400}`}, 0},
	{"negative zero", tempRules, []string{`{"temp":-0}`}, 0},
	{"missing", tempRules, []string{`{"tmp":1}`}, CodeFieldMissing},
	{"key in another case", tempRules, []string{`{"Temp":1}`}, CodeFieldMissing},
	{"string for number", tempRules, []string{`{"temp":"20"}`}, CodeFieldType},
	{"null for number", tempRules, []string{`{"temp":null}`}, CodeFieldType},
	{"beyond float64", tempRules, []string{`{"temp":1e400}`}, CodeFieldType},
	{"beyond float64 negative", tempRules, []string{`{"temp":-1e400}`}, CodeFieldType},
	{"second message below min", tempRules, []string{`{"temp":0}`, `{"temp":-51}`}, CodeBelowMin},
	{"escaped key matches", tempRules, []string{`{"\u0074emp":61}`}, CodeAboveMax},
	{"nested member of same name", tempRules, []string{`{"a":{"temp":1}}`}, CodeFieldMissing},
	{"optional missing", `{"fields":[{"path":"temp","type":"number","max":60}]}`, []string{`{}`}, 0},
	{"optional present above max", `{"fields":[{"path":"temp","type":"number","max":60}]}`, []string{`{"temp":61}`}, CodeAboveMax},
	{"number without bounds beyond float64", `{"fields":[{"path":"n","type":"number"}]}`, []string{`{"n":1e309}`}, CodeFieldType},
	{"untyped field beyond float64", `{"fields":[{"path":"n","required":true}]}`, []string{`{"n":1e309}`}, 0},
	{"untyped required null", `{"fields":[{"path":"n","required":true}]}`, []string{`{"n":null}`}, 0},
	{"untyped required missing", `{"fields":[{"path":"n","required":true}]}`, []string{`{"m":null}`}, CodeFieldMissing},

	// Types.
	{"string ok", typed("string"), []string{`{"v":""}`}, 0},
	{"string wrong", typed("string"), []string{`{"v":1}`}, CodeFieldType},
	{"bool true", typed("bool"), []string{`{"v":true}`}, 0},
	{"bool false", typed("bool"), []string{`{"v":false}`}, 0},
	{"bool wrong", typed("bool"), []string{`{"v":"true"}`}, CodeFieldType},
	{"object ok", typed("object"), []string{`{"v":{"x":[]}}`}, 0},
	{"object wrong", typed("object"), []string{`{"v":[]}`}, CodeFieldType},
	{"array ok", typed("array"), []string{`{"v":[{}]}`}, 0},
	{"array wrong", typed("array"), []string{`{"v":{}}`}, CodeFieldType},
	{"number wrong", typed("number"), []string{`{"v":true}`}, CodeFieldType},
	{"null is not a string", typed("string"), []string{`{"v":null}`}, CodeFieldType},
	{"optional typed missing", typed("array"), []string{`{"w":1}`}, 0},

	// Nested paths.
	{"nested", unitRules, []string{`{"meta":{"unit":"C"}}`}, 0},
	{"nested among others", unitRules, []string{`{"a":[{"meta":1}],"meta":{"x":{"unit":1},"unit":"C","y":2},"z":null}`}, 0},
	{"nested missing", unitRules, []string{`{"meta":{}}`}, CodeFieldMissing},
	{"parent missing", unitRules, []string{`{"unit":"C"}`}, CodeFieldMissing},
	{"parent not object", unitRules, []string{`{"meta":"C"}`}, CodeFieldMissing},
	{"parent array", unitRules, []string{`{"meta":[{"unit":"C"}]}`}, CodeFieldMissing},
	{"too deep", unitRules, []string{`{"meta":{"meta":{"unit":"C"}}}`}, CodeFieldMissing},
	{"nested wrong type", unitRules, []string{`{"meta":{"unit":1}}`}, CodeFieldType},
	{"escaped parent", unitRules, []string{`{"m\u0065ta":{"\u0075nit":"C"}}`}, 0},
	{"8 segments", `{"fields":[{"path":"a.b.c.d.e.f.g.h","type":"number","max":1}]}`,
		[]string{`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":2}}}}}}}}`}, CodeAboveMax},
	{"object and member", `{"fields":[{"path":"m","type":"object","required":true},{"path":"m.u","type":"string","required":true}]}`,
		[]string{`{"m":{"u":"x"}}`, `{"m":{}}`}, CodeFieldMissing},
	{"surrogate pair key", `{"fields":[{"path":"😀","required":true}]}`, []string{`{"\ud83d\ude00":1}`}, 0},
	{"lone surrogate key is U+FFFD", `{"fields":[{"path":"\ufffd","required":true}]}`, []string{`{"\ud800":1}`}, 0},
	{"reversed surrogates are two U+FFFD", `{"fields":[{"path":"\ufffd\ufffd","required":true}]}`, []string{`{"\ude00\ud83d":1}`}, 0},
	{"key with escaped dot is not a path", `{"fields":[{"path":"a.b","required":true}]}`, []string{`{"a\u002eb":1}`}, CodeFieldMissing},

	// Duplicate keys: the last one wins, earlier contents disregarded.
	{"duplicate last ok", tempRules, []string{`{"temp":100,"temp":20}`}, 0},
	{"duplicate last bad", tempRules, []string{`{"temp":20,"temp":100}`}, CodeAboveMax},
	{"duplicate last wrong type", tempRules, []string{`{"temp":20,"temp":"x"}`}, CodeFieldType},
	{"duplicate parent empties", unitRules, []string{`{"meta":{"unit":"C"},"meta":{}}`}, CodeFieldMissing},
	{"duplicate parent fills", unitRules, []string{`{"meta":{},"meta":{"unit":"C"}}`}, 0},
	{"duplicate parent scalar", unitRules, []string{`{"meta":{"unit":"C"},"meta":5}`}, CodeFieldMissing},
	{"duplicate parent last has other type", unitRules, []string{`{"meta":{"unit":"C"},"meta":{"unit":1}}`}, CodeFieldType},
	{"duplicate member", unitRules, []string{`{"meta":{"unit":1,"unit":"C"}}`}, 0},
	{"escaped duplicate", tempRules, []string{`{"temp":20,"t\u0065mp":100}`}, CodeAboveMax},

	// Code 8: monotonic.
	{"increasing", monoRules, []string{`{"ts":1}`, `{"ts":2}`, `{"ts":2}`, `{"ts":3.5}`}, 0},
	{"single", monoRules, []string{`{"ts":-7}`}, 0},
	{"decreased", monoRules, []string{`{"ts":1}`, `{"ts":3}`, `{"ts":2}`}, CodeNotMonotonic},
	{"decreased slightly", monoRules, []string{`{"ts":1.5}`, `{"ts":1.4999999}`}, CodeNotMonotonic},
	{"zero signs equal", monoRules, []string{`{"ts":0}`, `{"ts":-0}`, `{"ts":0}`}, 0},
	{"first missing", monoRules, []string{`{"t":1}`}, CodeNotMonotonic},
	{"later missing", monoRules, []string{`{"ts":1}`, `{}`}, CodeNotMonotonic},
	{"string", monoRules, []string{`{"ts":"1"}`}, CodeNotMonotonic},
	{"null", monoRules, []string{`{"ts":null}`}, CodeNotMonotonic},
	{"beyond float64", monoRules, []string{`{"ts":1}`, `{"ts":1e400}`}, CodeNotMonotonic},
	{"nested monotonic", `{"monotonic":"h.ts"}`, []string{`{"h":{"ts":5}}`, `{"h":{"ts":4}}`}, CodeNotMonotonic},
	{"duplicate monotonic", monoRules, []string{`{"ts":5}`, `{"ts":9,"ts":4}`}, CodeNotMonotonic},
	{"large integers compare as floats", monoRules, []string{`{"ts":9007199254740993}`, `{"ts":9007199254740992}`}, 0},

	// Order: chunk size, then message by message: size, JSON, fields in
	// their order, monotonic.
	{"chunk before message size", `{"max_message_bytes":3,"max_chunk_bytes":5}`, []string{"abcdef"}, CodeChunkTooLarge},
	{"chunk before JSON", `{"json":true,"max_chunk_bytes":3}`, []string{`{"a":1}`}, CodeChunkTooLarge},
	{"chunk before earlier message", orderRules, []string{`{"a":2}`, strings.Repeat(" ", 200)}, CodeChunkTooLarge},
	{"message order wins over code order", orderRules, []string{`{"a":2,"b":1,"ts":1}`, strings.Repeat(" ", 50)}, CodeAboveMax},
	{"size before JSON", orderRules, []string{strings.Repeat("x", 41)}, CodeMessageTooLarge},
	{"JSON before fields", orderRules, []string{`{"a":2,"b":1,"ts":1}x`}, CodeNotObject},
	{"first field first", orderRules, []string{`{"a":2,"ts":1}`}, CodeAboveMax},
	{"second field", orderRules, []string{`{"a":1,"ts":1}`}, CodeFieldMissing},
	{"fields before monotonic", orderRules, []string{`{"a":"x","b":1}`}, CodeFieldType},
	{"monotonic last", orderRules, []string{`{"a":1,"b":1}`}, CodeNotMonotonic},
	{"earlier monotonic before later field", orderRules, []string{`{"a":1,"b":1,"ts":2}`, `{"a":1,"b":1,"ts":1}`, `{"a":5}`}, CodeNotMonotonic},
	{"all good", orderRules, []string{`{"a":1,"b":1,"ts":2}`, `{"a":-1e9,"b":[],"ts":2}`}, 0},
}

const (
	tempRules  = `{"fields":[{"path":"temp","type":"number","min":-50,"max":60,"required":true}]}`
	unitRules  = `{"fields":[{"path":"meta.unit","type":"string","required":true}]}`
	monoRules  = `{"monotonic":"ts"}`
	orderRules = `{"max_message_bytes":40,"max_chunk_bytes":100,"fields":[{"path":"a","type":"number","max":1},{"path":"b","required":true}],"monotonic":"ts"}`
)

func typed(typ string) string { return `{"fields":[{"path":"v","type":"` + typ + `"}]}` }

func TestCheck(t *testing.T) {
	for _, c := range checkCases {
		t.Run(c.name, func(t *testing.T) {
			r := mustParse(t, c.rules)
			msgs := chunk(c.msgs...)
			if got := r.Check(msgs); got != verdict(c.want) {
				t.Errorf("Check = %v, want %v", got, verdict(c.want))
			}
			if ref := refCheck(r, msgs); ref != verdict(c.want) {
				t.Errorf("reference = %v, want %v", ref, verdict(c.want))
			}
		})
	}
}

func TestCheckRulesParseRejects(t *testing.T) {
	// Such rules cannot be judged by; Check gives OK where valid rules of
	// the same shape would not.
	msgs := chunk(`{}`, `[]`)
	for _, r := range []*Rules{
		{Fields: []Field{{Path: "", Required: true}}},
		{Fields: []Field{{Path: "a..b", Required: true}}},
		{Fields: []Field{{Path: "a", Type: "integer", Required: true}}},
		{Fields: []Field{{Path: "a", Type: "string", Min: f64(1), Required: true}}},
		{Fields: []Field{{Path: "a", Type: "number", Min: f64(2), Max: f64(1), Required: true}}},
		{Fields: []Field{{Path: "a", Type: "number", Min: f64(math.NaN()), Required: true}}},
		{Fields: []Field{{Path: "a", Type: "number", Max: f64(math.Inf(1)), Required: true}}},
		{Fields: []Field{{Path: "\xff", Required: true}}},
		{Fields: make([]Field, maxFields+1)},
		{JSON: true, Monotonic: "a.b.c.d.e.f.g.h.i"},
	} {
		if v := r.Check(msgs); v != wire.OK {
			t.Errorf("%+v: %v", r, v)
		}
	}
	// The same check on valid rules does judge.
	if v := (&Rules{Fields: []Field{{Path: "a", Required: true}}}).Check(msgs); v != wire.Violation(CodeFieldMissing) {
		t.Errorf("valid rules built in code: %v", v)
	}
}

func TestDeterminism(t *testing.T) {
	rulesJSON := []byte(`{"max_message_bytes":200,"fields":[{"path":"temp","type":"number","min":-50,"max":60,"required":true},{"path":"meta.unit","type":"string","required":true}],"monotonic":"ts"}`)
	chunks := []struct {
		msgs []string
		want uint32
	}{
		{[]string{`{"ts":1,"temp":1,"meta":{"unit":"C"}}`, `{"ts":2,"temp":60,"meta":{"unit":"C"}}`}, 0},
		{[]string{`{"ts":1,"temp":1,"meta":{"unit":"C"}}`, `{"ts":0,"temp":1,"meta":{"unit":"C"}}`}, CodeNotMonotonic},
		{[]string{`{"ts":1,"temp":61,"meta":{"unit":"C"}}`}, CodeAboveMax},
		{[]string{`{"ts":1,"temp":1,"meta":{"unit":"C"}}`, `{"ts":1,"temp":1}`}, CodeFieldMissing},
		{[]string{`{"ts":1,"temp":1,"meta":{"unit":"C"}`}, CodeNotObject},
		{[]string{`{"ts":1,"temp":"1","meta":{"unit":"C"}}`}, CodeFieldType},
	}
	r1, err := Parse(rulesJSON)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Parse(bytes.Clone(rulesJSON))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range chunks {
		want := verdict(c.want)
		// One shared buffer, messages as sub-slices with capacity running
		// into their neighbours, which read past the end would see.
		var shared []byte
		for _, m := range c.msgs {
			shared = append(shared, m...)
		}
		inShared := make([][]byte, len(c.msgs))
		off := 0
		for j, m := range c.msgs {
			inShared[j] = shared[off : off+len(m)]
			off += len(m)
		}
		// Separate exact copies, and copies with garbage past their length.
		copies := chunk(c.msgs...)
		padded := make([][]byte, len(c.msgs))
		for j, m := range c.msgs {
			padded[j] = append([]byte(m), `}{"ts":-1e9,"temp":"x"`...)[:len(m)]
		}
		before := bytes.Clone(shared)
		for _, r := range []*Rules{r1, r2} {
			for k, msgs := range [][][]byte{inShared, copies, padded, inShared, copies} {
				if got := r.Check(msgs); got != want {
					t.Errorf("chunk %d, layout %d: %v, want %v", i, k, got, want)
				}
			}
		}
		if !bytes.Equal(shared, before) {
			t.Errorf("chunk %d: Check modified the messages", i)
		}
	}
	// Reusing a buffer with new contents gives the verdict of the new
	// contents: nothing is remembered between calls.
	buf := []byte(`{"ts":1,"temp":10,"meta":{"unit":"C"}}`)
	if v := r1.Check([][]byte{buf}); v != wire.OK {
		t.Fatal(v)
	}
	copy(buf, `{"ts":1,"temp":70`)
	if v := r1.Check([][]byte{buf}); v != wire.Violation(CodeAboveMax) {
		t.Fatal(v)
	}
}

func TestHostileMessages(t *testing.T) {
	r := mustParse(t, `{"fields":[{"path":"a.b","type":"number","max":1}]}`)
	cases := []struct {
		name string
		msg  string
		want uint32
	}{
		{"a million brackets", `{"a":` + strings.Repeat("[", 1e6), CodeNotObject},
		{"a million objects", strings.Repeat(`{"a":`, 1e6), CodeNotObject},
		{"a million closed brackets", `{"a":` + strings.Repeat("[", 1e6) + strings.Repeat("]", 1e6) + `}`, CodeNotObject},
		{"long number", `{"a":{"b":1` + strings.Repeat("0", 1e5) + `}}`, CodeFieldType},
		{"long fraction", `{"a":{"b":0.` + strings.Repeat("9", 1e5) + `}}`, 0},
		{"long fraction above", `{"a":{"b":2.` + strings.Repeat("0", 1e5) + `1}}`, CodeAboveMax},
		{"long fraction rounds to max", `{"a":{"b":1.` + strings.Repeat("0", 1e5) + `1}}`, 0},
		{"long escaped key", `{"a":{"` + strings.Repeat(`\u0062`, 1e5) + `":5}}`, 0},
		{"long key", `{"a":{"` + strings.Repeat("b", 1e5) + `":5}}`, 0},
		{"many keys", `{"a":{` + strings.Repeat(`"b":5,`, 1e5) + `"b":1}}`, 0},
	}
	for _, c := range cases {
		msgs := chunk(c.msg)
		if got := r.Check(msgs); got != verdict(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, verdict(c.want))
		}
		if ref := refCheck(r, msgs); ref != verdict(c.want) {
			t.Errorf("%s: reference %v, want %v", c.name, ref, verdict(c.want))
		}
	}
}

func TestUnescape(t *testing.T) {
	// unescape must decode keys the way encoding/json does.
	for _, s := range []string{
		``, `abc`, `\"\\\/\b\f\n\r\t`, `\u0041\u00e9\u20ac`, `\ud83d\ude00`, `\ud800`, `\udc00`,
		`\ud800x`, `\ud800\u0041`, `\ud800\ud800\udc00`, `\ude00\ud83d`, `é😀`, `\u0000`,
	} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if end, _, ok := scanString([]byte(`"`+s+`"`), 0); !ok || end != len(s)+2 {
			t.Fatalf("scanString(%q) = %d, %v", s, end, ok)
		}
		if got := string(unescape(nil, []byte(s))); got != want {
			t.Errorf("unescape(%s) = %q, want %q", s, got, want)
		}
	}
}

// refCheck is the reference: the rules as the package doc states them,
// with encoding/json doing the JSON. It recurses and is slow; it is only
// for tests, on rules that Parse accepts.
func refCheck(r *Rules, msgs [][]byte) wire.Verdict {
	if r == nil {
		return wire.OK
	}
	if r.MaxChunkBytes > 0 {
		var total uint64
		for _, m := range msgs {
			total += uint64(len(m))
		}
		if total > r.MaxChunkBytes {
			return wire.Violation(CodeChunkTooLarge)
		}
	}
	isJSON := r.JSON || len(r.Fields) > 0 || r.Monotonic != ""
	var prev float64
	for i, m := range msgs {
		if r.MaxMessageBytes > 0 && uint64(len(m)) > uint64(r.MaxMessageBytes) {
			return wire.Violation(CodeMessageTooLarge)
		}
		if !isJSON {
			continue
		}
		obj, ok := refObject(m)
		if !ok {
			return wire.Violation(CodeNotObject)
		}
		for _, f := range r.Fields {
			v, found := refLookup(obj, f.Path)
			if !found {
				if f.Required {
					return wire.Violation(CodeFieldMissing)
				}
				continue
			}
			if f.Type != "" && refType(v) != f.Type {
				return wire.Violation(CodeFieldType)
			}
			if f.Type == "number" {
				x, ok := refNumber(v)
				switch {
				case !ok:
					return wire.Violation(CodeFieldType)
				case f.Min != nil && x < *f.Min:
					return wire.Violation(CodeBelowMin)
				case f.Max != nil && x > *f.Max:
					return wire.Violation(CodeAboveMax)
				}
			}
		}
		if r.Monotonic != "" {
			v, _ := refLookup(obj, r.Monotonic)
			x, ok := refNumber(v)
			if !ok || i > 0 && x < prev {
				return wire.Violation(CodeNotMonotonic)
			}
			prev = x
		}
	}
	return wire.OK
}

func refObject(m []byte) (map[string]any, bool) {
	if !utf8.Valid(m) || !json.Valid(m) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(m))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok || refDepth(v) > 64 {
		return nil, false
	}
	return obj, true
}

func refDepth(v any) int {
	d := 0
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			d = max(d, refDepth(e))
		}
		return d + 1
	case []any:
		for _, e := range v {
			d = max(d, refDepth(e))
		}
		return d + 1
	}
	return 0
}

func refLookup(obj map[string]any, path string) (any, bool) {
	var v any = obj
	for _, seg := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[seg]; !ok {
			return nil, false
		}
	}
	return v, true
}

func refType(v any) string {
	switch v.(type) {
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

func refNumber(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	x, err := n.Float64()
	return x, err == nil && !math.IsInf(x, 0) && !math.IsNaN(x)
}

// fuzzRules judge FuzzCheck's messages when the fuzzed rules do not parse.
const fuzzRules = `{"max_message_bytes":300,"fields":[{"path":"a","type":"number","min":-1,"max":1},{"path":"b.c","type":"string"},{"path":"b","type":"object"},{"path":"d","required":true}],"monotonic":"t"}`

func FuzzCheck(f *testing.F) {
	f.Add([]byte(fuzzRules), []byte(`{"a":0.5,"b":{"c":"x"},"d":null,"t":1}`+"\n"+`{"a":1,"b":{"c":"y"},"d":[],"t":2}`))
	f.Add([]byte(`{"json":true}`), []byte(`{"a":[1,{"b":"\ud83d\ude00"}]}`))
	f.Add([]byte(unitRules), []byte(`{"meta":{"unit":"C"},"meta":{}}`))
	f.Add([]byte(`{"max_chunk_bytes":10}`), []byte("abcde\nfghij"))
	fallback, err := Parse([]byte(fuzzRules))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rulesJSON, data []byte) {
		r, err := Parse(rulesJSON)
		if err != nil || r == nil {
			r = fallback
		}
		msgs := bytes.Split(data, []byte{'\n'})
		got := r.Check(msgs)
		if err := got.Validate(); err != nil || got.Kind == wire.VerdictGap {
			t.Fatalf("verdict %v: %v", got, err)
		}
		if got.Kind == wire.VerdictViolation && strings.HasPrefix(Describe(got.Code), "unknown") {
			t.Fatalf("undefined code %d", got.Code)
		}
		if want := refCheck(r, msgs); got != want {
			t.Fatalf("Check = %v, reference = %v", got, want)
		}
		copies := make([][]byte, len(msgs))
		for i, m := range msgs {
			copies[i] = bytes.Clone(m)
		}
		if again := r.Check(copies); again != got {
			t.Fatalf("Check on copies = %v, first = %v", again, got)
		}
		// Every rule holds for a prefix of a chunk that passes.
		if got == wire.OK && len(msgs) > 1 {
			if v := r.Check(msgs[:len(msgs)-1]); v != wire.OK {
				t.Fatalf("chunk passes but its prefix gives %v", v)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(fuzzRules))
	f.Add([]byte(orderRules))
	f.Add([]byte(`{"fields":[{"path":"m\u0065ta.\u00e9","type":"number","min":1e-400}]}`))
	f.Add([]byte(`null`))
	msgs := chunk(`{"a":1,"b":{"c":"x"},"d":true,"t":1}`, `{"t":0}`, `[]`)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			if r != nil {
				t.Fatalf("rules %+v with error %v", r, err)
			}
			if !strings.HasPrefix(err.Error(), "rules: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if r == nil {
			return
		}
		if _, err := compile(r); err != nil {
			t.Fatalf("Parse accepted rules compile rejects: %v", err)
		}
		if got, want := r.Check(msgs), refCheck(r, msgs); got != want {
			t.Fatalf("Check = %v, reference = %v", got, want)
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if out.Len() > maxRulesBytes { // escapes can make the output longer
			return
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("%s does not parse again: %v", out.Bytes(), err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v, want %+v", again, r)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	r := mustParse(b, `{"fields":[
		{"path":"temp","type":"number","min":-50,"max":60,"required":true},
		{"path":"meta.unit","type":"string","required":true},
		{"path":"ts","type":"number","min":0,"required":true}]}`)
	msgs := make([][]byte, 100)
	size := 0
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, `{"ts":%d,"temp":%d.%d,"meta":{"unit":"C","sensor":"s-%d"},"ok":true}`, 1700000000000+i, i%50, i%10, i)
		size += len(msgs[i])
	}
	if v := r.Check(msgs); v != wire.OK {
		b.Fatal(v)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		r.Check(msgs)
	}
}
