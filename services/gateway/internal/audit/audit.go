// Package audit is the gateway's tamper-evident audit log: every access to PHI,
// every export, every sign-in and every privilege change, as records appended to a
// hash chain in the gateway's database, with periodic Ed25519-signed checkpoints.
//
// Each record carries the hash of the record before it (PrevHash) and its own Hash =
// SHA-256("attest-audit-v1" ‖ canonical fields ‖ PrevHash), so editing, deleting,
// inserting or reordering a record breaks the chain at that record. Someone able to
// rewrite the database could recompute every later hash; a checkpoint — the hash at a
// seq, signed with a key the database does not hold — catches that. Verify checks both
// and names the first bad record. The tables refuse UPDATE and DELETE (triggers on
// both engines, REVOKE on PostgreSQL), so the application cannot change history even
// by mistake.
//
// Records hold opaque IDs (actor, patient), the action and route pattern, never PHI.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes.
const (
	Success Outcome = "success" // done
	Denied  Outcome = "denied"  // refused by policy, sign-in or rate limit
	Failure Outcome = "failure" // attempted and failed (5xx)
)

// Entry is what a caller records: who did what to which patient, from where, and how
// it ended. Seq, time and hashes are the log's to fill in.
type Entry struct {
	Actor     string  // the principal ("officer:u-1"), or "anonymous"
	Action    string  // what was done, e.g. "signin", "records.patients.read"
	PatientID string  // the opaque patient ID the action touched, if one
	Remote    string  // the client's address
	Outcome   Outcome // how it ended
	Detail    string  // more context without PHI: the route pattern, a reason code
}

// Record is one stored audit record.
type Record struct {
	Seq int64  // 1, 2, 3, … without gaps
	At  string // UTC, RFC 3339 with nanoseconds, as stored and hashed
	Entry
	PrevHash string // hex SHA-256 of the previous record; Genesis for the first
	Hash     string // hex SHA-256 of this record, see Sum
}

// Genesis is the PrevHash of the first record.
var Genesis = hex.EncodeToString(make([]byte, sha256.Size))

// Time parses At.
func (r Record) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.At) // written by formatTime, so it parses
	return t
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Sum is the record's hash: SHA-256 over a domain tag, every field length-prefixed in
// a fixed order (so no two different records share an encoding), and the previous
// hash. The seq is hashed too, so a record moved to another position no longer fits.
func Sum(r Record) string {
	h := sha256.New()
	h.Write([]byte("attest-audit-v1"))
	var n [8]byte
	for _, f := range []string{strconv.FormatInt(r.Seq, 10), r.At, r.Actor, r.Action, r.PatientID, r.Remote,
		string(r.Outcome), r.Detail, r.PrevHash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}
