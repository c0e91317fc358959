package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
)

// Checkpoint is a signed statement "the record at Seq has hash Hash".
type Checkpoint struct {
	Seq       int64
	Hash      string
	At        string // when it was signed, UTC RFC 3339
	KeyID     string // see KeyID
	Signature string // base64 Ed25519 signature over the message below
}

// KeyID names a public key: the first 8 bytes of its SHA-256, hex. Checkpoints carry
// it so a key rotation is visible.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

func message(c Checkpoint) []byte {
	return []byte("attest-audit-checkpoint-v1\n" + strconv.FormatInt(c.Seq, 10) + "\n" + c.Hash + "\n" + c.At + "\n" + c.KeyID)
}

func sign(key ed25519.PrivateKey, c Checkpoint) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, message(c)))
}

func verifySignature(pub ed25519.PublicKey, c Checkpoint) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	return err == nil && c.KeyID == KeyID(pub) && ed25519.Verify(pub, message(c), sig)
}

// Querier is what Verify reads through: a *store.DB, or a *store.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Report is what Verify found.
type Report struct {
	Records       int64  // records read
	Checkpoints   int    // checkpoints read
	SignedThrough int64  // the last seq covered by a valid checkpoint (0: none)
	FirstBad      int64  // the first record that fails, 0 when the log is intact
	Reason        string // why FirstBad fails, without PHI
}

// OK reports whether the log verified.
func (r Report) OK() bool { return r.FirstBad == 0 }

// Verify checks the whole log against pub and names the first bad record:
//
//   - seqs must run 1, 2, 3, … (a gap is a deleted record, reported at the missing seq);
//   - each record's PrevHash must be the previous record's Hash, and its Hash must be
//     Sum of its fields (an edit, insert or reorder breaks one of these);
//   - each checkpoint's signature must verify with pub, and the record at its seq must
//     exist and have its hash; a mismatch there means the records since the previous
//     checkpoint were rewritten consistently, and the first of them is reported.
//
// Records after the last checkpoint are covered by the chain alone: someone who can
// write the database could rewrite that tail (see docs/security.md); SignedThrough
// says how far the signatures reach. The error is for a failure to read, not for a
// bad log.
func Verify(ctx context.Context, q Querier, pub ed25519.PublicKey) (Report, error) {
	cps, err := checkpoints(ctx, q)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Checkpoints: len(cps)}
	bad := func(seq int64, format string, args ...any) {
		if rep.FirstBad == 0 || seq < rep.FirstBad {
			rep.FirstBad, rep.Reason = seq, fmt.Sprintf(format, args...)
		}
	}
	for _, c := range cps {
		if !verifySignature(pub, c) {
			bad(c.Seq, "checkpoint at seq %d: signature does not verify with key %s", c.Seq, KeyID(pub))
		}
	}

	rows, err := q.QueryContext(ctx, `SELECT `+recordColumns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return Report{}, fmt.Errorf("audit: read records: %w", err)
	}
	defer rows.Close()
	prev, signedFrom, next := Genesis, int64(1), 0 // next: index of the next checkpoint to meet
	chainBroken := false                           // a record itself failed: more precise than a checkpoint
	var mismatch *Checkpoint                       // the record at this checkpoint has another hash
	mismatchFrom := int64(0)
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Report{}, err
		}
		if mismatch != nil {
			// The record after a mismatched checkpoint tells which case it is: if it
			// follows the signed hash, the record at the checkpoint alone was altered;
			// if it carries the signed hash, a record was slipped in before it.
			switch {
			case r.PrevHash == mismatch.Hash:
				bad(mismatch.Seq, "record %d was altered (its hash differs from the one signed)", mismatch.Seq)
				prev = mismatch.Hash
			case r.Hash == mismatch.Hash:
				bad(mismatch.Seq, "record %d was inserted (the signed record follows it)", mismatch.Seq)
			default:
				bad(mismatchFrom, "records %d to %d do not match the checkpoint signed at %d", mismatchFrom, mismatch.Seq, mismatch.Seq)
			}
			mismatch = nil
		}
		want := rep.Records + 1
		rep.Records++
		switch {
		case rep.FirstBad != 0 && rep.FirstBad <= r.Seq:
			// Past the first bad record nothing more is learned; keep counting.
		case r.Seq != want:
			chainBroken = true
			bad(want, "record %d is missing (the next stored record is %d)", want, r.Seq)
		case r.PrevHash != prev:
			chainBroken = true
			bad(r.Seq, "record %d does not follow record %d (prev_hash differs)", r.Seq, r.Seq-1)
		case Sum(r) != r.Hash:
			chainBroken = true
			bad(r.Seq, "record %d was altered (its hash does not match its fields)", r.Seq)
		}
		prev = r.Hash
		for next < len(cps) && cps[next].Seq <= r.Seq {
			c := cps[next]
			if c.Seq == r.Seq && c.Hash != r.Hash && !chainBroken {
				mismatch, mismatchFrom = &c, signedFrom
			}
			if rep.FirstBad == 0 && mismatch == nil {
				rep.SignedThrough = c.Seq
			}
			signedFrom = c.Seq + 1
			next++
		}
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: read records: %w", err)
	}
	if mismatch != nil {
		bad(mismatchFrom, "records %d to %d do not match the checkpoint signed at %d", mismatchFrom, mismatch.Seq, mismatch.Seq)
	}
	if next < len(cps) {
		bad(rep.Records+1, "records from %d are missing: a checkpoint was signed at %d", rep.Records+1, cps[next].Seq)
	}
	if rep.FirstBad != 0 && rep.SignedThrough >= rep.FirstBad {
		rep.SignedThrough = rep.FirstBad - 1
	}
	return rep, nil
}

func checkpoints(ctx context.Context, q Querier) ([]Checkpoint, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []Checkpoint
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.At, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("audit: read checkpoint: %w", err)
		}
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	return cps, nil
}
