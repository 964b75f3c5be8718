// Package crashpoint kills the process at a named point of the gateway's
// write path, so that crash tests can stop a node exactly where a crash
// is hardest to recover from rather than only at random moments.
//
// It is armed by the environment variable DD_CRASH_AT=point:n, read once
// at start: the process sends itself SIGKILL the n-th time it reaches
// point (n defaults to 1). Unset, Hit costs one load and compare of a
// string; nothing else runs. The points:
//
//	batch-synced    a session batch record is synced, its messages not yet appended to the log
//	log-mid-write   part of an append's records is written to the log file, the rest not, nothing fsynced
//	log-synced      a batch's messages are durable, the producer not yet acknowledged
//	release-mid-write  part of a log release's chunk records is written to the released file, nothing fsynced
//	release-synced  a log release's records are durable, no segment file deleted yet
//	release-mid-delete  one segment file of a release is deleted, more are to go
//	released        every segment file of a release is deleted
//	retain-tombstoned  the tombstones of a retention pass are durable, no object deleted yet
//	retain-deleted  a retention pass's objects are deleted, its cursor not yet written
package crashpoint

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// The points the gateway reaches.
const (
	BatchSynced = "batch-synced"
	LogMidWrite = "log-mid-write"
	LogSynced   = "log-synced"

	ReleaseMidWrite  = "release-mid-write"
	ReleaseSynced    = "release-synced"
	ReleaseMidDelete = "release-mid-delete"
	Released         = "released"
	RetainTombstoned = "retain-tombstoned"
	RetainDeleted    = "retain-deleted"
)

var (
	armed string // the point, or "" when not armed
	at    int64  // kill on this hit
	hits  atomic.Int64
)

func init() {
	v := os.Getenv("DD_CRASH_AT")
	if v == "" {
		return
	}
	name, count, _ := strings.Cut(v, ":")
	at = 1
	if n, err := strconv.ParseInt(count, 10, 64); err == nil && n > 0 {
		at = n
	}
	armed = name
}

// Armed says whether a point is armed at all; callers use it to take a
// slower, splittable path only in crash tests.
func Armed() bool { return armed != "" }

// Hit kills the process if point is the armed one and this is the hit it
// waits for.
func Hit(point string) {
	if armed == "" || point != armed {
		return
	}
	if hits.Add(1) == at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // SIGKILL cannot be caught; wait for it to land
	}
}
