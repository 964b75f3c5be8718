package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the rules and of the JSON check. They are part of the
// protocol: every validator must use the same values.
const (
	maxRulesBytes   = 64 << 10 // longest rules body
	maxFields       = 64       // most field rules
	maxSegments     = 8        // most segments in a path
	maxSegmentBytes = 64       // longest path segment
	maxDepth        = 64       // deepest nesting of arrays and objects in a message
)

// Rules are a stream's validation rules. The zero value checks nothing; a
// nil *Rules means the stream has no rules. Rules are read with Parse; a
// Rules value built in code is judged only if Parse would accept it (see
// Check).
//
// As JSON:
//
//	{"max_message_bytes": 4096, "max_chunk_bytes": 1048576, "json": true,
//	 "fields": [{"path": "temp", "type": "number", "min": -50, "max": 60, "required": true},
//	            {"path": "meta.unit", "type": "string", "required": true}],
//	 "monotonic": "ts"}
type Rules struct {
	// MaxMessageBytes is the longest message in bytes; 0 means no limit.
	MaxMessageBytes uint32 `json:"max_message_bytes,omitempty"`
	// MaxChunkBytes bounds the sum of the lengths of a chunk's messages;
	// 0 means no limit.
	MaxChunkBytes uint64 `json:"max_chunk_bytes,omitempty"`
	// JSON requires every message to be one JSON object. Fields and
	// Monotonic imply it.
	JSON bool `json:"json,omitempty"`
	// Fields are checked on every message in this order; at most 64.
	Fields []Field `json:"fields,omitempty"`
	// Monotonic, if set, is the path of a number field that must be in
	// every message and must not decrease from one message of the chunk
	// to the next.
	Monotonic string `json:"monotonic,omitempty"`
}

// Field is a rule about one member of every message.
type Field struct {
	// Path names the member: object keys separated by dots, e.g.
	// "meta.unit"; 1 to 8 segments of 1 to 64 bytes each.
	Path string `json:"path"`
	// Type is the JSON type the member must have: "number", "string",
	// "bool", "object", "array", or "" for any (null included).
	Type string `json:"type,omitempty"`
	// Min is the smallest allowed value, inclusive; only with type
	// "number".
	Min *float64 `json:"min,omitempty"`
	// Max is the largest allowed value, inclusive; only with type
	// "number".
	Max *float64 `json:"max,omitempty"`
	// Required makes a missing member a violation. Without it, Type, Min
	// and Max apply only when the member is present.
	Required bool `json:"required,omitempty"`
}

// Parse reads rules from JSON. Empty input, blank input and null give
// (nil, nil): no rules. Otherwise the input must be one JSON object of at
// most 64 KiB, in UTF-8, with only the keys of Rules and Field, each at
// most once and spelled exactly as in the json tags, values of the right
// JSON type, at most 64 fields, valid paths and type names, min and max
// only with type "number", finite, and min ≤ max. Errors say what to fix.
func Parse(b []byte) (*Rules, error) {
	if len(b) > maxRulesBytes {
		return nil, fmt.Errorf("rules: %d bytes, the limit is %d (64 KiB); drop rules or shorten them", len(b), maxRulesBytes)
	}
	body := bytes.Trim(b, " \t\r\n")
	if len(body) == 0 || string(body) == "null" {
		return nil, nil
	}
	if !utf8.Valid(b) {
		return nil, errors.New("rules: not valid UTF-8; write the rules as UTF-8 JSON")
	}
	p := parser{d: json.NewDecoder(bytes.NewReader(b))}
	p.d.UseNumber()
	r := p.rules()
	if p.err == nil {
		if _, err := p.d.Token(); err != io.EOF {
			p.err = errors.New("rules: data after the closing brace; the rules are exactly one JSON object")
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	if _, err := compile(r); err != nil {
		return nil, err
	}
	return r, nil
}

// parser reads the rules token by token. The schema bounds the nesting;
// the first error stops it.
type parser struct {
	d   *json.Decoder
	err error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("rules: "+format, args...)
	}
}

// token returns the next token, or nil once there has been an error.
func (p *parser) token() json.Token {
	if p.err != nil {
		return nil
	}
	t, err := p.d.Token()
	switch {
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		p.fail("the JSON ends early; close every string, bracket and brace")
	case err != nil:
		p.fail("not valid JSON near byte %d: %v", p.d.InputOffset(), err)
	}
	return t
}

// describe names a token's JSON type for error messages.
func describe(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	case string:
		return "a string"
	case json.Number:
		return "the number " + string(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return "null"
}

// object reads an object, calling member for each key with the decoder at
// the key's value; member must consume the value. Keys must be unique.
func (p *parser) object(what string, member func(key string)) {
	if t := p.token(); p.err == nil && t != json.Delim('{') {
		p.fail("%s must be a JSON object, got %s", what, describe(t))
		return
	}
	var seen []string
	for p.err == nil && p.d.More() {
		k, _ := p.token().(string)
		if p.err != nil {
			return
		}
		for _, s := range seen {
			if s == k {
				p.fail("%s has the key %q twice; keep one", what, k)
				return
			}
		}
		seen = append(seen, k)
		member(k)
	}
	p.token() // }
}

func (p *parser) rules() *Rules {
	r := new(Rules)
	p.object("the rules", func(k string) {
		switch k {
		case "max_message_bytes":
			r.MaxMessageBytes = uint32(p.uint(k, 32))
		case "max_chunk_bytes":
			r.MaxChunkBytes = p.uint(k, 64)
		case "json":
			r.JSON = p.bool(k)
		case "fields":
			r.Fields = p.fields()
		case "monotonic":
			r.Monotonic = p.string(k)
		default:
			p.fail("unknown key %q; the keys are max_message_bytes, max_chunk_bytes, json, fields and monotonic", k)
		}
	})
	return r
}

func (p *parser) fields() []Field {
	if t := p.token(); p.err == nil && t != json.Delim('[') {
		p.fail(`fields must be an array of field rules, like [{"path": "temp", "type": "number"}], got %s`, describe(t))
		return nil
	}
	var fs []Field
	for p.err == nil && p.d.More() {
		if len(fs) == maxFields {
			p.fail("more than %d fields; the limit is %d", maxFields, maxFields)
			return nil
		}
		fs = append(fs, p.field(len(fs)))
	}
	p.token() // ]
	return fs
}

func (p *parser) field(i int) Field {
	var f Field
	what := "fields[" + strconv.Itoa(i) + "]"
	hasPath := false
	p.object(what, func(k string) {
		switch k {
		case "path":
			f.Path, hasPath = p.string(what+".path"), true
		case "type":
			f.Type = p.string(what + ".type")
		case "min":
			f.Min = p.number(what + ".min")
		case "max":
			f.Max = p.number(what + ".max")
		case "required":
			f.Required = p.bool(what + ".required")
		default:
			p.fail("%s has unknown key %q; a field rule has path, type, min, max and required", what, k)
		}
	})
	if p.err == nil && !hasPath {
		p.fail(`%s has no "path"; name the member it checks, like "temp" or "meta.unit"`, what)
	}
	return f
}

func (p *parser) uint(what string, bits int) uint64 {
	t := p.token()
	if p.err != nil {
		return 0
	}
	n, ok := t.(json.Number)
	if !ok {
		p.fail("%s must be a number of bytes, got %s", what, describe(t))
		return 0
	}
	v, err := strconv.ParseUint(string(n), 10, bits)
	if err != nil {
		p.fail("%s must be a whole number from 0 (no limit) to %d, got %s", what, uint64(math.MaxUint64)>>(64-bits), n)
	}
	return v
}

func (p *parser) number(what string) *float64 {
	t := p.token()
	if p.err != nil {
		return nil
	}
	n, ok := t.(json.Number)
	if !ok {
		p.fail("%s must be a number, got %s", what, describe(t))
		return nil
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		p.fail("%s %s is beyond the range of a 64-bit float", what, n)
		return nil
	}
	return &v
}

func (p *parser) bool(what string) bool {
	t := p.token()
	if p.err != nil {
		return false
	}
	v, ok := t.(bool)
	if !ok {
		p.fail("%s must be true or false, got %s", what, describe(t))
	}
	return v
}

func (p *parser) string(what string) string {
	t := p.token()
	if p.err != nil {
		return ""
	}
	v, ok := t.(string)
	if !ok {
		p.fail("%s must be a string, got %s", what, describe(t))
	}
	return v
}

// checkPath checks a path's syntax.
func checkPath(path string) error {
	if path == "" {
		return errors.New(`is empty; name a member, like "temp" or "meta.unit"`)
	}
	if !utf8.ValidString(path) {
		return errors.New("is not valid UTF-8")
	}
	if n := strings.Count(path, ".") + 1; n > maxSegments {
		return fmt.Errorf("has %d segments; the limit is %d", n, maxSegments)
	}
	for seg := range strings.SplitSeq(path, ".") {
		if seg == "" {
			return errors.New("has an empty segment; remove the leading, trailing or doubled dot")
		}
		if len(seg) > maxSegmentBytes {
			return fmt.Errorf("has a segment of %d bytes; the limit is %d", len(seg), maxSegmentBytes)
		}
	}
	return nil
}

// kindOf returns the kind a type name requires.
func kindOf(typ string) (kind, bool) {
	switch typ {
	case "":
		return kindAny, true
	case "number":
		return kindNumber, true
	case "string":
		return kindString, true
	case "bool":
		return kindBool, true
	case "object":
		return kindObject, true
	case "array":
		return kindArray, true
	}
	return 0, false
}

func finite(f float64) bool { return !math.IsInf(f, 0) && !math.IsNaN(f) }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// compile checks rules that may not come from Parse and turns them into a
// plan for Check.
func compile(r *Rules) (*plan, error) {
	if len(r.Fields) > maxFields {
		return nil, fmt.Errorf("rules: %d fields; the limit is %d", len(r.Fields), maxFields)
	}
	pl := &plan{
		maxMessage: r.MaxMessageBytes,
		maxChunk:   r.MaxChunkBytes,
		json:       r.JSON || len(r.Fields) > 0 || r.Monotonic != "",
		mono:       none,
	}
	root := new(trieNode)
	ends := make([]*trieNode, len(r.Fields))
	pl.fields = make([]fieldPlan, len(r.Fields))
	for i, f := range r.Fields {
		bad := func(format string, args ...any) error {
			return fmt.Errorf("rules: fields[%d] (%q): %s", i, f.Path, fmt.Sprintf(format, args...))
		}
		if err := checkPath(f.Path); err != nil {
			return nil, bad("path %v", err)
		}
		k, ok := kindOf(f.Type)
		if !ok {
			return nil, bad(`type %q is not "number", "string", "bool", "object" or "array"; leave it out to allow any type`, f.Type)
		}
		fp := fieldPlan{want: k, required: f.Required}
		if (f.Min != nil || f.Max != nil) && k != kindNumber {
			return nil, bad(`min and max need "type": "number"`)
		}
		if f.Min != nil {
			if !finite(*f.Min) {
				return nil, bad("min must be a finite number")
			}
			fp.hasMin, fp.min = true, *f.Min
		}
		if f.Max != nil {
			if !finite(*f.Max) {
				return nil, bad("max must be a finite number")
			}
			fp.hasMax, fp.max = true, *f.Max
		}
		if fp.hasMin && fp.hasMax && fp.min > fp.max {
			return nil, bad("min %s is above max %s; swap them", formatFloat(fp.min), formatFloat(fp.max))
		}
		pl.fields[i] = fp
		ends[i] = root.insert(f.Path)
	}
	var monoEnd *trieNode
	if r.Monotonic != "" {
		if err := checkPath(r.Monotonic); err != nil {
			return nil, fmt.Errorf("rules: monotonic path %q %v", r.Monotonic, err)
		}
		monoEnd = root.insert(r.Monotonic)
	}
	pl.flatten(root)
	for i, e := range ends {
		pl.fields[i].node = e.index
	}
	if monoEnd != nil {
		pl.mono = monoEnd.index
	}
	return pl, nil
}

// trieNode is a node of the trie of paths that compile builds; flatten
// turns it into plan.nodes.
type trieNode struct {
	segment string
	kids    []*trieNode // in order of first appearance
	index   int32       // in plan.nodes
}

// insert adds a checked path and returns its last node.
func (t *trieNode) insert(path string) *trieNode {
	n := t
next:
	for seg := range strings.SplitSeq(path, ".") {
		for _, k := range n.kids {
			if k.segment == seg {
				n = k
				continue next
			}
		}
		k := &trieNode{segment: seg}
		n.kids = append(n.kids, k)
		n = k
	}
	return n
}
