package gen

import (
	"fmt"
	"io"
	"os"
)

// ---- sensor ----

// Sensor emits JSON readings of eight environmental sensors in turn:
// temperature following a daily cycle, humidity moving against it,
// pressure drifting slowly, a battery that drains over a week and is
// recharged, occasional heat spikes, and a status that turns to "warn" when
// it gets hot (and, rarely, "fault").
type Sensor struct{ seed uint64 }

// NewSensor returns the sensor generator for seed.
func NewSensor(seed uint64) *Sensor { return &Sensor{seed} }

// Kind returns "sensor".
func (*Sensor) Kind() string { return "sensor" }

var sensorSites = [8]string{"north-greenhouse", "south-greenhouse", "cold-store", "server-room", "loading-dock", "roof", "lab-2", "office-3"}

// Payload returns one reading, e.g.
// {"sensor":"dd-sensor-03","site":"cold-store","seq":2,"time":"…","temperature_c":4.87,…}.
func (s *Sensor) Payload(seq uint64, t int64) ([]byte, error) {
	i := int64(seq % 8)
	r := newRNG(s.seed, seq, 1)
	sec := secondsOf(t)
	base := []int64{1850, 2200, 450, 2100, 1600, 1200, 2050, 2150}[i]              // centi-°C
	day := tri(sec+i*5400, 86400)                                                  // daily cycle
	temp := base + 350*day/1000 + r.between(-25, 25)                               // centi-°C
	hum := 5200 - 180*day/1000 + 40*tri(sec+i*777, 3600)/1000 + r.between(-30, 30) // 0.01 %
	pres := 101325 + 600*tri(sec+i*11, 7*86400+3)/1000 + r.between(-8, 8)          // 0.01 hPa
	batt := 4200 - 1000*((sec+i*40000)%(7*86400))/(7*86400) + r.between(-3, 3)     // mV
	if r.intn(300) == 0 {                                                          // a short heat spike: a door left open, a fan stopped
		temp += r.between(300, 600)
	}
	status := "ok"
	switch {
	case r.intn(2000) == 0:
		status = "fault"
	case temp > base+300:
		status = "warn"
	}
	b := make([]byte, 0, 224)
	b = append(b, `{"sensor":"dd-sensor-0`...)
	b = appendInt(b, i+1)
	b = append(b, `","site":"`...)
	b = append(b, sensorSites[i]...)
	b = append(b, `","seq":`...)
	b = appendUint(b, seq)
	b = append(b, `,"time":"`...)
	b = appendTime(b, t)
	b = append(b, `","temperature_c":`...)
	b = appendFixed(b, temp, 2)
	b = append(b, `,"humidity_pct":`...)
	b = appendFixed(b, hum, 2)
	b = append(b, `,"pressure_hpa":`...)
	b = appendFixed(b, pres, 2)
	b = append(b, `,"battery_v":`...)
	b = appendFixed(b, batt, 3)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `"}`...)
	return b, nil
}

// ---- ticker ----

// Ticker emits JSON quotes (best bid and ask with sizes) for eight
// made-up symbols. Each symbol's price wanders as the sum of three
// triangle waves of unrelated periods plus noise, so series look like a
// market without any state between frames.
type Ticker struct{ seed uint64 }

// NewTicker returns the ticker generator for seed.
func NewTicker(seed uint64) *Ticker { return &Ticker{seed} }

// Kind returns "ticker".
func (*Ticker) Kind() string { return "ticker" }

var tickerSymbols = [8]struct {
	sym  string
	base int64 // cents
}{{"ACME", 10123}, {"GLOBX", 4410}, {"INITX", 25875}, {"UMBRL", 1530}, {"WAYNE", 38990}, {"STARK", 61204}, {"TYREL", 9050}, {"CYBDN", 1275}}

// Payload returns one quote, e.g.
// {"symbol":"ACME","seq":5,"time":"…","bid":101.21,"ask":101.23,"bid_size":300,"ask_size":1200,"venue":"XDDG"}.
func (k *Ticker) Payload(seq uint64, t int64) ([]byte, error) {
	r := newRNG(k.seed, seq, 2)
	s := tickerSymbols[r.intn(int64(len(tickerSymbols)))]
	ms := t / 1e6
	off := int64(mix(k.seed^uint64(s.base)) % 1000000)
	// Relative move in millionths: ±3 %, ±1 %, ±0.3 % waves and noise.
	move := 30*tri(ms+off, 3607001) + 10*tri(ms+off/3, 613003) + 3*tri(ms+off/7, 97001) + r.between(-400, 400)
	mid := s.base * (1000000 + move) / 10000 // hundredths of a cent
	spread := r.between(1, 4)                // cents
	bid := mid/100 - spread/2
	if bid < 1 {
		bid = 1
	}
	ask := bid + spread
	b := make([]byte, 0, 160)
	b = append(b, `{"symbol":"`...)
	b = append(b, s.sym...)
	b = append(b, `","seq":`...)
	b = appendUint(b, seq)
	b = append(b, `,"time":"`...)
	b = appendTime(b, t)
	b = append(b, `","bid":`...)
	b = appendFixed(b, bid, 2)
	b = append(b, `,"ask":`...)
	b = appendFixed(b, ask, 2)
	b = append(b, `,"bid_size":`...)
	b = appendInt(b, 100*r.between(1, 60))
	b = append(b, `,"ask_size":`...)
	b = appendInt(b, 100*r.between(1, 60))
	b = append(b, `,"venue":"XDDG"}`...)
	return b, nil
}

// ---- log ----

// Log emits application log lines: a timestamp, a level (mostly INFO, some
// DEBUG and WARN, a few ERROR), a component and a message with varying
// numbers, and a trace id.
type Log struct{ seed uint64 }

// NewLog returns the log generator for seed.
func NewLog(seed uint64) *Log { return &Log{seed} }

// Kind returns "log".
func (*Log) Kind() string { return "log" }

var (
	logTables  = []string{"orders", "users", "payments", "sessions", "inventory"}
	logJobs    = []string{"nightly-report", "reindex", "purge-sessions", "sync-prices"}
	logMethods = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
)

// Payload returns one line, e.g.
// "2025-01-01T00:00:00.100Z INFO  api: GET /v1/items/4312 200 12ms trace=5c1d…".
func (l *Log) Payload(seq uint64, t int64) ([]byte, error) {
	r := newRNG(l.seed, seq, 3)
	b := make([]byte, 0, 160)
	b = appendTime(b, t)
	var msg string
	switch p := r.intn(100); {
	case p < 20:
		b = append(b, " DEBUG "...)
		switch r.intn(2) {
		case 0:
			msg = fmt.Sprintf("db: query on %s used index idx_%s_%d (%d rows)", pick(r, logTables), pick(r, logTables), r.intn(4), r.intn(500))
		default:
			msg = fmt.Sprintf("cache: key item:%d refreshed, ttl %ds", r.intn(100000), r.between(30, 600))
		}
	case p < 80:
		b = append(b, " INFO  "...)
		switch r.intn(3) {
		case 0:
			msg = fmt.Sprintf("api: %s /v1/items/%d %d %dms", pick(r, logMethods), r.intn(100000), []int{200, 200, 200, 201, 204, 404}[r.intn(6)], r.between(1, 90))
		case 1:
			msg = fmt.Sprintf("auth: user u%05d signed in", r.intn(100000))
		default:
			msg = fmt.Sprintf("scheduler: job %s finished in %dms", pick(r, logJobs), r.between(50, 20000))
		}
	case p < 95:
		b = append(b, " WARN  "...)
		switch r.intn(2) {
		case 0:
			msg = fmt.Sprintf("db: slow query on %s took %dms", pick(r, logTables), r.between(500, 5000))
		default:
			msg = fmt.Sprintf("api: rate limit reached for client c%04d", r.intn(10000))
		}
	default:
		b = append(b, " ERROR "...)
		switch r.intn(2) {
		case 0:
			msg = fmt.Sprintf("db: connection reset by peer (pool %d/%d in use)", r.between(8, 16), 16)
		default:
			msg = fmt.Sprintf("api: upstream timeout after %dms on POST /v1/payments", r.between(3000, 30000))
		}
	}
	b = append(b, msg...)
	b = fmt.Appendf(b, " trace=%016x", r.next())
	return b, nil
}

func pick(r *rng, s []string) string { return s[r.intn(int64(len(s)))] }

// ---- file ----

// DefaultPieceSize is the number of file bytes per frame unless configured.
const DefaultPieceSize = 4096

// File emits a file's bytes in pieces of a fixed size, frame k holding
// bytes [k·piece, (k+1)·piece), the last piece possibly shorter; then the
// stream ends. The file must not change while it is streamed: a read that
// no longer matches the size seen at opening is an error.
type File struct {
	f     *os.File
	size  int64
	piece int
}

// OpenFile opens path for streaming in pieces of piece bytes (0 means
// DefaultPieceSize; at most the frame payload limit).
func OpenFile(path string, piece int) (*File, error) {
	if piece == 0 {
		piece = DefaultPieceSize
	}
	if piece < 1 || piece > 1<<20 {
		return nil, fmt.Errorf("piece size %d is out of range: use 1 to 1048576 bytes", piece)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return &File{f: f, size: st.Size(), piece: piece}, nil
}

// Kind returns "file".
func (*File) Kind() string { return "file" }

// Frames returns the number of frames the file makes.
func (g *File) Frames() uint64 { return uint64((g.size + int64(g.piece) - 1) / int64(g.piece)) }

// Size returns the file's size in bytes.
func (g *File) Size() int64 { return g.size }

// Payload returns piece seq of the file, or ErrEnd past its end.
func (g *File) Payload(seq uint64, _ int64) ([]byte, error) {
	if seq >= g.Frames() {
		return nil, ErrEnd
	}
	off := int64(seq) * int64(g.piece)
	n := min(int64(g.piece), g.size-off)
	b := make([]byte, n)
	if _, err := g.f.ReadAt(b, off); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s shrank while being streamed: restart the source on a file that does not change", g.f.Name())
		}
		return nil, err
	}
	return b, nil
}

// Close closes the file.
func (g *File) Close() error { return g.f.Close() }
