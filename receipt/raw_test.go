package receipt

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestParseCaptured(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"{\"a\":1}\n{\"type\":\"heartbeat\"}\r\n\nplain text\n", []string{`{"a":1}`, `{"type":"heartbeat"}`, "plain text"}},
		{` [ {"a" : 1}, "text \"quoted\"", 7, {"b":[1, 2]} ] `, []string{`{"a" : 1}`, `text "quoted"`, "7", `{"b":[1, 2]}`}},
		{"[1]\n[2]\n", []string{"[1]", "[2]"}}, // not one JSON array: lines
		{"", nil},
	}
	for _, c := range cases {
		got, err := ParseCaptured([]byte(c.in))
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%q: %d messages %q, want %q", c.in, len(got), got, c.want)
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Fatalf("%q: message %d is %q, want %q", c.in, i, got[i], c.want[i])
			}
		}
	}
	many := bytes.Repeat([]byte("x\n"), MaxRawDataMessages+1)
	if _, err := ParseCaptured(many); err == nil {
		t.Fatal("more than the message bound accepted")
	}
}

func FuzzParseCaptured(f *testing.F) {
	f.Add([]byte("[\"a\",{\"b\":1}]"))
	f.Add([]byte("a\nb\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := ParseCaptured(b)
		if err != nil {
			return
		}
		if len(msgs) > MaxRawDataMessages {
			t.Fatalf("%d messages", len(msgs))
		}
		t2 := bytes.TrimSpace(b)
		if len(t2) > 0 && t2[0] == '[' && json.Valid(t2) {
			return
		}
		for _, m := range msgs {
			if len(m) == 0 || bytes.IndexByte(m, '\n') >= 0 {
				t.Fatalf("line message %q", m)
			}
		}
	})
}
