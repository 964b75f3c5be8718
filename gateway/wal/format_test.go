package wal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"testing"
)

// TestLayout pins the byte layout doc.go documents.
func TestLayout(t *testing.T) {
	rec := appendRecord(nil, recHeader{kind: kindData, flags: flagEnd, seq: 0x0102030405060708, off: 0x1112131415161718}, []byte("abc"))
	want, _ := hex.DecodeString("01010000" + "03000000" + "0807060504030201" + "1817161514131211" + "616263")
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(want, crc32.MakeTable(crc32.Castagnoli)))
	if !bytes.Equal(rec, want) {
		t.Fatalf("data record\n got %x\nwant %x", rec, want)
	}
	marker := appendRecord(nil, recHeader{kind: kindEnd, seq: 9, off: 10}, nil)
	want, _ = hex.DecodeString("02000000" + "00000000" + "0900000000000000" + "0a00000000000000")
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(want, crc32.MakeTable(crc32.Castagnoli)))
	if !bytes.Equal(marker, want) {
		t.Fatalf("end marker\n got %x\nwant %x", marker, want)
	}
	hdr := appendSegHeader(nil, segHeader{first: 5, offset: 6})
	want, _ = hex.DecodeString(hex.EncodeToString([]byte("DDWALSEG")) + "01000000" + "00000000" + "0500000000000000" + "0600000000000000")
	want = binary.LittleEndian.AppendUint32(want, crc32.Checksum(want, crc32.MakeTable(crc32.Castagnoli)))
	if !bytes.Equal(hdr, want) || len(hdr) != segHeaderSize {
		t.Fatalf("segment header\n got %x\nwant %x", hdr, want)
	}
	if h, err := parseSegHeader(hdr); err != nil || h != (segHeader{5, 6}) {
		t.Fatalf("parseSegHeader = %+v, %v", h, err)
	}
	v2 := bytes.Clone(hdr)
	v2[8] = 2
	binary.LittleEndian.PutUint32(v2[32:], crc32.Checksum(v2[:32], castagnoli))
	if _, err := parseSegHeader(v2); err == nil {
		t.Fatal("a version 2 header was accepted")
	}
}

// FuzzDecode feeds arbitrary bytes to the record decoders: decodeRecord (on
// a buffer, used by Read) and the scanner (on a stream, used by recovery)
// must never panic, must agree record by record on what is valid, torn or
// bad and where, and whatever decodes must re-encode to the same bytes.
// Then a record built from the input must survive a round trip.
func FuzzDecode(f *testing.F) {
	// Seeds beyond those in testdata: an intact record longer than the limit.
	f.Add(appendRecord(nil, recHeader{kind: kindData, seq: 1}, make([]byte, 65)))
	f.Fuzz(func(t *testing.T, b []byte) {
		// A small limit, so that inputs reach it, and bufio's smallest buffer,
		// so that records straddle refills.
		const max = 64
		sc := newScanner(bytes.NewReader(b), 0, max, 16)
		pos := 0
		for {
			h, serr := sc.next()
			if pos == len(b) {
				if serr != io.EOF {
					t.Fatalf("scanner at the end: %v, want io.EOF", serr)
				}
				break
			}
			rec, n, err := decodeRecord(b[pos:], max)
			if err != nil {
				var bad, sbad *badRecord
				if !errors.As(err, &bad) || !errors.As(serr, &sbad) {
					t.Fatalf("at %d: decodeRecord: %v; scanner: %v; want both *badRecord", pos, err, serr)
				}
				if bad.short != sbad.short || bad.tooLong != sbad.tooLong || bad.intact {
					t.Fatalf("at %d: decodeRecord: %+v; scanner: %+v", pos, bad, sbad)
				}
				if sc.pos != int64(pos) {
					t.Fatalf("scanner moved to %d past a bad record at %d", sc.pos, pos)
				}
				if sbad.intact {
					if _, _, err := decodeRecord(b[pos:], maxMessageLimit); err != nil {
						t.Fatalf("at %d: scanner says an intact record, decodeRecord with no limit: %v", pos, err)
					}
				}
				break
			}
			if serr != nil || h != rec.recHeader {
				t.Fatalf("at %d: decodeRecord: %+v; scanner: %+v, %v", pos, rec.recHeader, h, serr)
			}
			if n != recOverhead+len(rec.data) || int(rec.n) != len(rec.data) {
				t.Fatalf("at %d: %d bytes decoded for %d of data", pos, n, len(rec.data))
			}
			if enc := appendRecord(nil, rec.recHeader, rec.data); !bytes.Equal(enc, b[pos:pos+n]) {
				t.Fatalf("at %d: re-encoded\n%x\nfrom\n%x", pos, enc, b[pos:pos+n])
			}
			pos += n
			if sc.pos != int64(pos) {
				t.Fatalf("scanner at %d, decoder at %d", sc.pos, pos)
			}
		}

		if len(b) < 18 {
			return
		}
		h := recHeader{kind: kindData, flags: b[1] & flagEnd, seq: binary.LittleEndian.Uint64(b[2:]), off: binary.LittleEndian.Uint64(b[10:])}
		data := b[18:]
		if b[0]&1 == 1 {
			h.kind, h.flags, data = kindEnd, 0, nil
		}
		enc := appendRecord(nil, h, data)
		rec, n, err := decodeRecord(enc, len(data))
		h.n = uint32(len(data))
		if err != nil || n != len(enc) || rec.recHeader != h || !bytes.Equal(rec.data, data) {
			t.Fatalf("round trip of %+v: %+v, %d, %v", h, rec, n, err)
		}
		for _, cut := range []int{0, 1, recHeaderSize - 1, recHeaderSize, len(enc) - 1} {
			if cut < 0 || cut >= len(enc) {
				continue
			}
			if _, _, err := decodeRecord(enc[:cut], len(data)); err == nil || !err.(*badRecord).short {
				t.Fatalf("record cut to %d of %d bytes: %v; want a short record", cut, len(enc), err)
			}
		}
		if len(data) > 0 {
			if _, _, err := decodeRecord(enc, len(data)-1); err == nil || !err.(*badRecord).tooLong {
				t.Fatalf("record above the limit: %v", err)
			}
		}
		bent := bytes.Clone(enc)
		bent[len(bent)/2] ^= 0x10
		if _, _, err := decodeRecord(bent, len(data)); err == nil {
			t.Fatalf("record with a flipped bit decoded")
		}
	})
}
