package bulk

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Job statuses.
const (
	StatusUploading = "uploading" // the body is being received
	StatusQueued    = "queued"    // received, waiting for the runner
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Job is an import as its status endpoint shows it.
type Job struct {
	ID      string
	Format  string
	Status  string
	Lines   int // lines uploaded (blank lines included: line numbers count them)
	Done    int // lines processed
	Refused int // lines refused, each with an outcome
	Counts  map[string]Count
	Message string // why it failed
	Request string // the URL it was posted to
	Created time.Time
	Updated time.Time
}

// Count is what a job did with the lines of one resource type.
type Count struct {
	Created   int `json:"created"`   // stored, each with its event
	Unchanged int `json:"unchanged"` // repeats of stored resources (same id, same content): no event
}

// Finished reports whether the job will do no more.
func (j Job) Finished() bool {
	return j.Status == StatusCompleted || j.Status == StatusFailed || j.Status == StatusCancelled
}

// jobs is the jobs' storage.
type jobs struct {
	db  *store.DB
	now func() time.Time
}

func (s jobs) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

const jobColumns = `id, format, status, lines, done, refused, counts, message, request, created, updated`

func scanJob(row interface{ Scan(...any) error }) (Job, error) {
	var (
		j      Job
		counts string
	)
	err := row.Scan(&j.ID, &j.Format, &j.Status, &j.Lines, &j.Done, &j.Refused, &counts, &j.Message, &j.Request,
		&j.Created, &j.Updated)
	if err != nil {
		return Job{}, err
	}
	j.Created, j.Updated = j.Created.UTC(), j.Updated.UTC()
	if err := json.Unmarshal([]byte(counts), &j.Counts); err != nil {
		return Job{}, fmt.Errorf("decode counts of import %s: %w", j.ID, err)
	}
	return j, nil
}

// create records a new job, uploading.
func (s jobs) create(ctx context.Context, format, request string) (string, error) {
	id, now := resource.NewID(), s.stamp()
	_, err := s.db.ExecContext(ctx, `INSERT INTO import_jobs (id, format, status, request, created, updated)
		VALUES (?, ?, ?, ?, ?, ?)`, id, format, StatusUploading, request, now, now)
	if err != nil {
		return "", fmt.Errorf("create import: %w", err)
	}
	return id, nil
}

// addChunk stores a chunk of whole lines of an uploading job, in its own transaction:
// an upload never holds the database while the client sends.
func (s jobs) addChunk(ctx context.Context, id string, seq, firstLine, lines int, data []byte) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_chunks (job_id, seq, first_line, lines, data) VALUES (?, ?, ?, ?, ?)`,
			id, seq, firstLine, lines, data); err != nil {
			return fmt.Errorf("store import chunk: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET updated = ? WHERE id = ?`, s.stamp(), id)
		return err
	})
}

// queue ends an upload of lines lines: the job waits for the runner.
func (s jobs) queue(ctx context.Context, id string, lines int) error {
	_, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET status = ?, lines = ?, updated = ? WHERE id = ? AND status = ?`,
		StatusQueued, lines, s.stamp(), id, StatusUploading)
	if err != nil {
		return fmt.Errorf("queue import: %w", err)
	}
	return nil
}

// abandon forgets a job whose upload failed.
func (s jobs) abandon(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM import_jobs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("abandon import: %w", err)
	}
	return nil
}

// get returns the job; NotFound when there is none.
func (s jobs) get(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM import_jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errs.E(errs.NotFound, "no such import")
	}
	if err != nil {
		return Job{}, fmt.Errorf("load import: %w", err)
	}
	return j, nil
}

// claim gives owner the oldest job that waits, or runs under a lease older than lease
// (its runner stopped: a restart, a crash), and returns it; false when there is none.
// Uploads silent for longer than lease are failed: their client is gone.
func (s jobs) claim(ctx context.Context, owner string, lease time.Duration) (Job, bool, error) {
	now := s.stamp()
	stale := now.Add(-lease)
	_, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET status = ?, message = ?, updated = ? WHERE status = ? AND updated < ?`,
		StatusFailed, "the upload was interrupted; nothing of it was imported", now, StatusUploading, stale)
	if err != nil {
		return Job{}, false, fmt.Errorf("expire uploads: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM import_chunks WHERE job_id IN (SELECT id FROM import_jobs WHERE status = ?)`,
		StatusFailed); err != nil {
		return Job{}, false, fmt.Errorf("drop failed uploads: %w", err)
	}
	for {
		var id string
		err := s.db.QueryRowContext(ctx, `SELECT id FROM import_jobs WHERE status = ? OR (status = ? AND updated < ?)
			ORDER BY created, id LIMIT 1`, StatusQueued, StatusRunning, stale).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, nil
		}
		if err != nil {
			return Job{}, false, fmt.Errorf("find an import to run: %w", err)
		}
		res, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET status = ?, owner = ?, updated = ?
			WHERE id = ? AND (status = ? OR (status = ? AND updated < ?))`,
			StatusRunning, owner, now, id, StatusQueued, StatusRunning, stale)
		if err != nil {
			return Job{}, false, fmt.Errorf("claim import: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			continue // another runner took it first
		}
		j, err := s.get(ctx, id)
		return j, err == nil, err
	}
}

// errLost is a job no longer this runner's: cancelled, or taken over after its lease
// ran out.
var errLost = errors.New("bulk: the import was cancelled or taken over")

// progress records, in the transaction of the lines' resources, that the job
// processed its lines up to done, refusing those in outcomes (line → OperationOutcome).
func (s jobs) progress(ctx context.Context, tx *resource.Tx, j *Job, owner string, outcomes map[int][]byte, lines []int) error {
	counts, err := json.Marshal(j.Counts)
	if err != nil {
		return fmt.Errorf("encode counts: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE import_jobs SET done = ?, refused = ?, counts = ?, updated = ?
		WHERE id = ? AND status = ? AND owner = ?`, j.Done, j.Refused, string(counts), tx.Now, j.ID, StatusRunning, owner)
	if err != nil {
		return fmt.Errorf("record import progress: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errLost
	}
	for start := 0; start < len(lines); start += 200 {
		part := lines[start:min(start+200, len(lines))]
		args := make([]any, 0, 3*len(part))
		for _, l := range part {
			args = append(args, j.ID, l, string(outcomes[l]))
		}
		q := `INSERT INTO import_issues (job_id, line, outcome) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(part)), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("record refused lines: %w", err)
		}
	}
	return nil
}

// end sets a job this runner holds to its final status and drops its body.
func (s jobs) end(ctx context.Context, id, owner, status, message string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = ?, message = ?, updated = ? WHERE id = ? AND status = ? AND owner = ?`,
			status, message, s.stamp(), id, StatusRunning, owner)
		if err != nil {
			return fmt.Errorf("end import: %w", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM import_chunks WHERE job_id = ?`, id)
		return err
	})
}

// cancel stops a job that has not finished (its body is dropped, what it imported
// stays) and forgets one that has. NotFound when there is none.
func (s jobs) cancel(ctx context.Context, id string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM import_jobs WHERE id = ?`, id).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "no such import")
		}
		if err != nil {
			return fmt.Errorf("load import: %w", err)
		}
		switch status {
		case StatusUploading, StatusQueued, StatusRunning:
			if _, err := tx.ExecContext(ctx, `UPDATE import_jobs SET status = ?, updated = ? WHERE id = ?`,
				StatusCancelled, s.stamp(), id); err != nil {
				return fmt.Errorf("cancel import: %w", err)
			}
			_, err = tx.ExecContext(ctx, `DELETE FROM import_chunks WHERE job_id = ?`, id)
		default:
			_, err = tx.ExecContext(ctx, `DELETE FROM import_jobs WHERE id = ?`, id)
		}
		if err != nil {
			return fmt.Errorf("cancel import: %w", err)
		}
		return nil
	})
}

// chunk is a stored piece of a job's body: whole lines, the first numbered first.
type chunk struct {
	seq, first, lines int
	data              []byte
}

// nextChunk returns the job's chunk after seq that holds lines after done; false at
// the end.
func (s jobs) nextChunk(ctx context.Context, id string, seq, done int) (chunk, bool, error) {
	var c chunk
	err := s.db.QueryRowContext(ctx, `SELECT seq, first_line, lines, data FROM import_chunks
		WHERE job_id = ? AND seq > ? AND first_line + lines > ? ORDER BY seq LIMIT 1`, id, seq, done+1).
		Scan(&c.seq, &c.first, &c.lines, &c.data)
	if errors.Is(err, sql.ErrNoRows) {
		return chunk{}, false, nil
	}
	if err != nil {
		return chunk{}, false, fmt.Errorf("read import chunk: %w", err)
	}
	return c, true, nil
}

// outcomes streams the job's refused lines' OperationOutcomes, by line, to fn.
func (s jobs) outcomes(ctx context.Context, id string, fn func(line int, outcome string) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT line, outcome FROM import_issues WHERE job_id = ? ORDER BY line`, id)
	if err != nil {
		return fmt.Errorf("list refused lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			line    int
			outcome string
		)
		if err := rows.Scan(&line, &outcome); err != nil {
			return fmt.Errorf("list refused lines: %w", err)
		}
		if err := fn(line, outcome); err != nil {
			return err
		}
	}
	return rows.Err()
}
