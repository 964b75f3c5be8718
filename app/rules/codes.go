package rules

import "strconv"

// Violation codes: the Code of a wire.Violation verdict. They go on chain;
// a code's meaning never changes and codes are never reused.
const (
	// CodeMessageTooLarge: a message is longer than max_message_bytes.
	CodeMessageTooLarge uint32 = 1
	// CodeChunkTooLarge: the chunk's messages together are longer than
	// max_chunk_bytes.
	CodeChunkTooLarge uint32 = 2
	// CodeNotObject: a message is not exactly one JSON object (or nests
	// deeper than 64, or is not valid UTF-8).
	CodeNotObject uint32 = 3
	// CodeFieldMissing: a required field is missing.
	CodeFieldMissing uint32 = 4
	// CodeFieldType: a field has a different JSON type than its rule's
	// "type", or a number field holds a literal beyond the float64 range.
	CodeFieldType uint32 = 5
	// CodeBelowMin: a number field is below its rule's min.
	CodeBelowMin uint32 = 6
	// CodeAboveMax: a number field is above its rule's max.
	CodeAboveMax uint32 = 7
	// CodeNotMonotonic: the monotonic field is below its value in the
	// previous message of the chunk, or is missing or not a number.
	CodeNotMonotonic uint32 = 8
)

// Describe returns a short human description of a violation code, for
// logs and user interfaces, e.g. "a message is larger than
// max_message_bytes". Codes this package does not define get
// "unknown rule violation code N".
func Describe(code uint32) string {
	switch code {
	case CodeMessageTooLarge:
		return "a message is larger than max_message_bytes"
	case CodeChunkTooLarge:
		return "the chunk's messages together are larger than max_chunk_bytes"
	case CodeNotObject:
		return "a message is not a single JSON object"
	case CodeFieldMissing:
		return "a required field is missing"
	case CodeFieldType:
		return "a field has the wrong type"
	case CodeBelowMin:
		return "a number is below its field's min"
	case CodeAboveMax:
		return "a number is above its field's max"
	case CodeNotMonotonic:
		return "the monotonic field decreased, or is missing or not a number"
	}
	return "unknown rule violation code " + strconv.FormatUint(uint64(code), 10)
}
