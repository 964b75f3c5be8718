package rules

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/datadragon/datadragon/app/wire"
)

// Check judges a chunk's messages by the rules and returns wire.OK or the
// first violation, wire.Violation(code), in the order the package doc
// gives. A nil *Rules is no rules: wire.OK. Check reads the messages and
// keeps no reference to them; it does not modify r, so concurrent calls
// are safe.
//
// Rules that Parse would reject (a Rules built in code with a bad path,
// type name, min or max) cannot be judged by: Check returns wire.OK for
// them.
func (r *Rules) Check(msgs [][]byte) wire.Verdict {
	c := r.NewChecker()
	for _, m := range msgs {
		c.Add(m)
	}
	return c.Verdict()
}

// Checker judges a chunk message by message, with the verdict Check gives
// for the same messages at once: a validator hashing a large chunk as it
// arrives judges it without holding it whole. Not safe for concurrent
// use.
type Checker struct {
	pl    *plan // nil: no rules (or rules Check could not judge by)
	slots []slot
	buf   []byte
	prev  float64
	n     int    // messages added
	total uint64 // their bytes
	code  uint32 // the first per-message violation
}

// NewChecker starts judging a chunk. A nil *Rules is no rules.
func (r *Rules) NewChecker() *Checker {
	c := &Checker{}
	if r == nil {
		return c
	}
	pl, err := compile(r)
	if err != nil {
		return c
	}
	c.pl = pl
	if pl.json {
		c.slots = make([]slot, len(pl.nodes))
	}
	return c
}

// Add judges the chunk's next message; it keeps no reference to m.
func (c *Checker) Add(m []byte) {
	i := c.n
	c.n++
	c.total += uint64(len(m))
	if c.pl == nil || c.code != 0 {
		return
	}
	c.code = c.pl.message(i, m, c.slots, &c.buf, &c.prev)
}

// Verdict is wire.OK or the first violation of the messages added so far,
// in the order the package doc gives: a chunk over max_chunk_bytes first,
// whatever its messages hold.
func (c *Checker) Verdict() wire.Verdict {
	if c.pl == nil {
		return wire.OK
	}
	if c.pl.maxChunk > 0 && c.total > c.pl.maxChunk {
		return wire.Violation(CodeChunkTooLarge)
	}
	if c.code != 0 {
		return wire.Violation(c.code)
	}
	return wire.OK
}

// kind is the JSON type of a value.
type kind uint8

const (
	kindAny kind = iota // in a rule: any type; in a slot: missing
	kindNull
	kindBool
	kindNumber
	kindString
	kindObject
	kindArray
)

// kindMissing marks a slot whose member the message does not have.
const kindMissing = kindAny

// none is "no node".
const none int32 = -1

// plan is compiled rules. The paths of the field rules and of the
// monotonic rule form a trie, kept in depth-first order so that the
// subtree of nodes[i] is nodes[i:nodes[i].end]. nodes[0] is the
// top-level object.
type plan struct {
	maxMessage uint32
	maxChunk   uint64
	json       bool
	nodes      []node
	fields     []fieldPlan
	mono       int32 // node of the monotonic path, or none
}

type node struct {
	segment string
	kids    []int32
	end     int32
}

type fieldPlan struct {
	node           int32
	want           kind
	required       bool
	hasMin, hasMax bool
	min, max       float64
}

// slot is what one message holds at one node's path: its kind and, for
// numbers, where the literal is.
type slot struct {
	kind       kind
	start, end int
}

// flatten appends t's subtree to pl.nodes in depth-first order. The trie
// is at most 9 levels deep.
func (pl *plan) flatten(t *trieNode) int32 {
	i := int32(len(pl.nodes))
	t.index = i
	pl.nodes = append(pl.nodes, node{segment: t.segment})
	kids := make([]int32, len(t.kids))
	for j, k := range t.kids {
		kids[j] = pl.flatten(k)
	}
	pl.nodes[i].kids = kids
	pl.nodes[i].end = int32(len(pl.nodes))
	return i
}

// message returns the code of the first violation by message i of a
// chunk, or 0; slots, buf and prev carry state from message to message.
func (pl *plan) message(i int, m []byte, slots []slot, buf *[]byte, prev *float64) uint32 {
	if pl.maxMessage > 0 && uint64(len(m)) > uint64(pl.maxMessage) {
		return CodeMessageTooLarge
	}
	if !pl.json {
		return 0
	}
	if !pl.scan(m, slots, buf) {
		return CodeNotObject
	}
	for j := range pl.fields {
		if code := pl.fields[j].check(m, slots[pl.fields[j].node]); code != 0 {
			return code
		}
	}
	if pl.mono != none {
		v, ok := number(m, slots[pl.mono])
		if !ok || i > 0 && v < *prev {
			return CodeNotMonotonic
		}
		*prev = v
	}
	return 0
}

// check returns the code of the rule's violation by a member found as s,
// or 0.
func (f *fieldPlan) check(m []byte, s slot) uint32 {
	if s.kind == kindMissing {
		if f.required {
			return CodeFieldMissing
		}
		return 0
	}
	if f.want != kindAny && s.kind != f.want {
		return CodeFieldType
	}
	if f.want != kindNumber {
		return 0
	}
	v, ok := number(m, s)
	switch {
	case !ok:
		return CodeFieldType
	case f.hasMin && v < f.min:
		return CodeBelowMin
	case f.hasMax && v > f.max:
		return CodeAboveMax
	}
	return 0
}

// number reads the number literal of a slot; ok is false if the slot is
// not a number or the literal is beyond the float64 range.
func number(m []byte, s slot) (v float64, ok bool) {
	if s.kind != kindNumber {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[s.start:s.end]), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// frame is one open array or object. node is the trie node whose kids
// name this object's members of interest, or none.
type frame struct {
	object bool
	node   int32
}

// scan reports whether m is exactly one JSON object (see the package doc)
// and fills slots with what m holds at each node's path; missing members
// are kindMissing. It is one pass over m with a stack of at most maxDepth
// frames. buf is scratch space for unescaping keys.
func (pl *plan) scan(m []byte, slots []slot, buf *[]byte) bool {
	clear(slots)
	var stack [maxDepth]frame
	depth := 0
	i := skipSpace(m, 0)
	if i >= len(m) || m[i] != '{' {
		return false
	}
	bound := int32(0) // the node the value at m[i] is bound to, or none
	for {
		// A value starts at m[i], perhaps after whitespace.
		i = skipSpace(m, i)
		if i >= len(m) {
			return false
		}
		switch c := m[i]; c {
		case '{', '[':
			if depth == maxDepth {
				return false
			}
			f := frame{object: c == '{', node: none}
			if c == '{' {
				pl.set(slots, bound, kindObject, 0, 0)
				if bound != none && len(pl.nodes[bound].kids) > 0 {
					f.node = bound
				}
			} else {
				pl.set(slots, bound, kindArray, 0, 0)
			}
			stack[depth] = f
			depth++
			i = skipSpace(m, i+1)
			if i < len(m) && m[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				depth--
				break // an empty container is a complete value
			}
			if f.object {
				var ok bool
				if i, bound, ok = pl.key(m, i, f.node, slots, buf); !ok {
					return false
				}
			} else {
				bound = none
			}
			continue
		case '"':
			end, _, ok := scanString(m, i)
			if !ok {
				return false
			}
			pl.set(slots, bound, kindString, 0, 0)
			i = end
		case 't':
			if !hasPrefix(m[i:], "true") {
				return false
			}
			pl.set(slots, bound, kindBool, 0, 0)
			i += 4
		case 'f':
			if !hasPrefix(m[i:], "false") {
				return false
			}
			pl.set(slots, bound, kindBool, 0, 0)
			i += 5
		case 'n':
			if !hasPrefix(m[i:], "null") {
				return false
			}
			pl.set(slots, bound, kindNull, 0, 0)
			i += 4
		default:
			end, ok := scanNumber(m, i)
			if !ok {
				return false
			}
			pl.set(slots, bound, kindNumber, i, end)
			i = end
		}
		// A value just ended: close containers until a comma leads to
		// the next value.
		for {
			if depth == 0 {
				return skipSpace(m, i) == len(m)
			}
			i = skipSpace(m, i)
			if i >= len(m) {
				return false
			}
			top := stack[depth-1]
			c := m[i]
			i++
			if c == ',' {
				if top.object {
					var ok bool
					if i, bound, ok = pl.key(m, i, top.node, slots, buf); !ok {
						return false
					}
				} else {
					bound = none
				}
				break
			}
			if top.object && c == '}' || !top.object && c == ']' {
				depth--
				continue
			}
			return false
		}
	}
}

// set records a value of kind k at node n (if any).
func (pl *plan) set(slots []slot, n int32, k kind, start, end int) {
	if n != none {
		slots[n] = slot{kind: k, start: start, end: end}
	}
}

// key reads an object member's key and colon, starting at m[i] (perhaps
// after whitespace), and returns the index after the colon and the node
// the member's value is bound to: the kid of parent the key names, or
// none. A key that names a kid clears the kid's subtree of slots, so the
// last occurrence of a duplicate key wins.
func (pl *plan) key(m []byte, i int, parent int32, slots []slot, buf *[]byte) (int, int32, bool) {
	i = skipSpace(m, i)
	if i >= len(m) || m[i] != '"' {
		return i, none, false
	}
	end, escaped, ok := scanString(m, i)
	if !ok {
		return i, none, false
	}
	bound := none
	// An escape spells at most one byte in 6, so a longer key cannot be
	// a segment of a valid path.
	if k := m[i+1 : end-1]; parent != none && len(k) <= 6*maxSegmentBytes {
		if escaped {
			*buf = unescape((*buf)[:0], k)
			k = *buf
		}
		for _, kid := range pl.nodes[parent].kids {
			if pl.nodes[kid].segment == string(k) {
				bound = kid
				clear(slots[kid:pl.nodes[kid].end])
				break
			}
		}
	}
	i = skipSpace(m, end)
	if i >= len(m) || m[i] != ':' {
		return i, none, false
	}
	return i + 1, bound, true
}

func skipSpace(m []byte, i int) int {
	for i < len(m) {
		switch m[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func hasPrefix(m []byte, lit string) bool {
	return len(m) >= len(lit) && string(m[:len(lit)]) == lit
}

// scanString reads the string starting with the quote at m[i] and returns
// the index after its closing quote and whether it has escapes. It
// rejects control characters, bad escapes and invalid UTF-8.
func scanString(m []byte, i int) (end int, escaped, ok bool) {
	j := i + 1
	for j < len(m) {
		c := m[j]
		switch {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			if j+1 >= len(m) {
				return 0, false, false
			}
			switch m[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(m) {
					return 0, false, false
				}
				if _, ok := hex4(m[j+2 : j+6]); !ok {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(m[j:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, false
			}
			j += size
		}
	}
	return 0, false, false
}

// hex4 reads four hex digits.
func hex4(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// unescape appends the contents of a string that scanString accepted,
// escapes decoded, to dst. A UTF-16 surrogate pair of escapes is one
// character; a lone surrogate is U+FFFD, as in encoding/json.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2, _ = hex4(s[i+2 : i+6])
				}
				if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
					r = pair
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// scanNumber reads the number starting at m[i] and returns the index
// after it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(m []byte, i int) (int, bool) {
	if i < len(m) && m[i] == '-' {
		i++
	}
	switch {
	case i < len(m) && m[i] == '0':
		i++
	case i < len(m) && '1' <= m[i] && m[i] <= '9':
		i = digits(m, i+1)
	default:
		return 0, false
	}
	if i < len(m) && m[i] == '.' {
		j := digits(m, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(m) && (m[i] == 'e' || m[i] == 'E') {
		i++
		if i < len(m) && (m[i] == '+' || m[i] == '-') {
			i++
		}
		j := digits(m, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(m []byte, i int) int {
	for i < len(m) && '0' <= m[i] && m[i] <= '9' {
		i++
	}
	return i
}
