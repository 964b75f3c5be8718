// Package rules evaluates a stream's validation rules on the messages of a
// chunk and turns the first broken rule into the chunk's verdict,
// wire.Violation(code).
//
// # Why a package
//
// A stream's owner registers rules with the stream, and every validator
// that observes a chunk judges it by them. The verdict is part of the claim
// the validators vote on: if two honest validators judged the same bytes
// differently, their attestations would split and the chunk would be
// disputed instead of accepted. So the judgement is protocol, not policy:
// it must depend on the rules and the message bytes alone, and the codes it
// returns go on chain and never change meaning. Keeping it in one small
// package with no clock, no randomness, no storage and no network lets it
// be tested (and fuzzed against encoding/json) on its own, and gives every
// node one function to call.
//
// Determinism, concretely: no map is iterated in an order that can reach
// the result; the only floating point is strconv.ParseFloat of number
// literals (correctly rounded IEEE 754, the same on every machine and Go
// version) and comparisons of its results; nothing reads the time.
//
// # Rules
//
// Rules are a JSON object (Parse):
//
//	{"max_message_bytes": 4096, "max_chunk_bytes": 1048576, "json": true,
//	 "fields": [{"path": "temp", "type": "number", "min": -50, "max": 60, "required": true},
//	            {"path": "meta.unit", "type": "string", "required": true}],
//	 "monotonic": "ts"}
//
// Parse is strict: unknown or repeated keys, keys in another case, values
// of the wrong JSON type, data after the object, invalid UTF-8 and broken
// limits are errors that say what to fix. Empty input, blank input or null
// mean "no rules".
//
// # Order of evaluation
//
// Check returns the first violation in this order, and OK if there is none:
//
//  1. the chunk: the sum of the message lengths against max_chunk_bytes
//     (CodeChunkTooLarge);
//  2. then each message in turn, and for each message:
//     its length against max_message_bytes (CodeMessageTooLarge);
//     whether it is one JSON object (CodeNotObject), when "json" is set or
//     implied by fields or monotonic;
//     each field rule in the listed order (CodeFieldMissing,
//     CodeFieldType, CodeBelowMin, CodeAboveMax);
//     the monotonic field (CodeNotMonotonic).
//
// An empty chunk breaks no rule.
//
// # Messages as JSON
//
// A message passes the JSON check when it is exactly one JSON value as RFC
// 8259 defines it, that value is an object, and:
//
//   - it is valid UTF-8 (RFC 8259 requires it; encoding/json does not
//     check) and has no byte-order mark; JSON whitespace may surround it;
//   - arrays and objects nest at most 64 deep, the top-level object
//     counting as 1. The check is a single pass with a fixed-size stack: no
//     recursion, no allocation that grows with the nesting.
//
// A path names object members from the top-level object down, split at
// dots: "meta.unit" is member "unit" of member "meta". Keys are compared
// byte for byte after JSON unescaping ("\u0074emp" is "temp"; "Temp" is
// not); a lone UTF-16 surrogate escape stands for U+FFFD, as in
// encoding/json. A path never goes through an array, and a key that
// contains a dot cannot be named.
//
// Duplicate keys: the last occurrence of a key in an object wins, and the
// earlier ones are disregarded entirely, nested members included — what
// encoding/json gives when it decodes into map[string]any. So
// {"meta":{"unit":"C"},"meta":{}} has no meta.unit, and
// {"temp":100,"temp":20} has temp 20.
//
// A field is missing when some object on its path lacks the key, or the
// value on the path is not an object where the path goes on. JSON null is
// a present value; it matches only a field without a type. A field of type
// "number" must hold a number literal that strconv.ParseFloat reads as a
// finite float64: a literal beyond the float64 range, like 1e400, has the
// wrong type (CodeFieldType). Literals too small to represent read as 0.
// min and max are inclusive. The monotonic field must be such a number in
// every message (else CodeNotMonotonic), and no message's value may be
// below the previous message's; equal values pass. Numbers are compared
// as float64, so integers beyond 2^53 are compared after rounding.
//
// # Limits
//
// The rules body is at most 64 KiB with at most 64 field rules; a path has
// 1 to 8 segments of 1 to 64 bytes each. These are part of the protocol:
// every validator must use the same values.
package rules
