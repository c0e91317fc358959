package thread

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the service's schema migrations, one folder per dialect: the patient
// directory (libs/patientdir) and the messaging tables.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// micros is how times are stored: microseconds since the Unix epoch, UTC.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

// threadRow is a thread as stored, its subject still sealed.
type threadRow struct {
	id, kind, patientID, clinicID, keyID string
	subject                              []byte
	status                               string
	createdBy, closedBy                  Party
	created, lastMessageAt               int64
	messageCount                         int
	closed                               sql.NullInt64
	clinicians                           []string
}

const threadColumns = `t.id, t.kind, t.patient_id, t.clinic_id, t.key_id, t.subject, t.status,
	t.created_by_role, t.created_by_id, t.created_at, t.last_message_at, t.message_count,
	t.closed_by_role, t.closed_by_id, t.closed_at`

func scanThread(row interface{ Scan(...any) error }, extra ...any) (threadRow, error) {
	var t threadRow
	err := row.Scan(append([]any{&t.id, &t.kind, &t.patientID, &t.clinicID, &t.keyID, &t.subject, &t.status,
		&t.createdBy.Role, &t.createdBy.ID, &t.created, &t.lastMessageAt, &t.messageCount,
		&t.closedBy.Role, &t.closedBy.ID, &t.closed}, extra...)...)
	return t, err
}

// getThread reads a thread and its clinicians. A missing thread is errNoThread.
func getThread(ctx context.Context, q queryer, id string) (threadRow, error) {
	t, err := scanThread(q.QueryRowContext(ctx, `SELECT `+threadColumns+` FROM threads t WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return threadRow{}, errNoThread()
	}
	if err != nil {
		return threadRow{}, fmt.Errorf("read thread: %w", err)
	}
	if t.kind == PoolThread {
		return t, nil // the pool answers: no clinicians are named
	}
	byThread, err := clinicians(ctx, q, []string{id})
	if err != nil {
		return threadRow{}, err
	}
	t.clinicians = byThread[id]
	return t, nil
}

// clinicians returns the NPIs each of the threads names, in NPI order.
func clinicians(ctx context.Context, q queryer, threadIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(threadIDs) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT thread_id, npi FROM thread_clinicians WHERE thread_id IN (`+
		placeholders(len(threadIDs))+`) ORDER BY thread_id, npi`, anys(threadIDs)...)
	if err != nil {
		return nil, fmt.Errorf("read thread clinicians: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tid, npi string
		if err := rows.Scan(&tid, &npi); err != nil {
			return nil, fmt.Errorf("scan thread clinician: %w", err)
		}
		out[tid] = append(out[tid], npi)
	}
	return out, rows.Err()
}

// view opens a thread row for a caller.
func (t threadRow) view(keys *keyring.Keyring, unread int) (Thread, error) {
	subject, err := keys.Open(t.keyID, t.subject, aad("thread", t.id, "subject"))
	if err != nil {
		return Thread{}, fmt.Errorf("open subject of thread %s: %w", t.id, err)
	}
	v := Thread{
		ID: t.id, Kind: t.kind, PatientID: t.patientID, ClinicID: t.clinicID, Clinicians: t.clinicians,
		Subject: phi.Text(subject), Status: t.status, CreatedBy: t.createdBy, Created: fromMicros(t.created),
		LastMessageAt: fromMicros(t.lastMessageAt), MessageCount: t.messageCount, Unread: unread,
		Closed: fromNullMicros(t.closed),
	}
	if v.Clinicians == nil {
		v.Clinicians = []string{}
	}
	if t.closed.Valid {
		by := t.closedBy
		v.ClosedBy = &by
	}
	return v, nil
}

// fresh is the view of a thread just started, with its first message, by its creator.
func (t threadRow) fresh(subject phi.Text) Thread {
	v := Thread{
		ID: t.id, Kind: t.kind, PatientID: t.patientID, ClinicID: t.clinicID, Clinicians: t.clinicians,
		Subject: subject, Status: t.status, CreatedBy: t.createdBy, Created: fromMicros(t.created),
		LastMessageAt: fromMicros(t.lastMessageAt), MessageCount: t.messageCount,
	}
	if v.Clinicians == nil {
		v.Clinicians = []string{}
	}
	return v
}

// content is the sealed part of a message: everything in it may be PHI.
type content struct {
	Body           phi.Text `json:"body,omitempty"`
	PreferredSlots []Slot   `json:"preferred_slots,omitempty"`
	Outcome        string   `json:"outcome,omitempty"`
	Reason         phi.Text `json:"reason,omitempty"`
	BookedSlot     *Slot    `json:"booked_slot,omitempty"`
}

// messageRow is a message as stored, its content still sealed.
type messageRow struct {
	id, threadID                   string
	seq                            int
	kind, side                     string
	sender                         Party
	inReplyTo, medicationID, keyID string
	content                        []byte
	attachments                    int
	sent                           int64
	requestStatus, requestAnswer   sql.NullString
	requestAnswered                sql.NullInt64
}

const messageColumns = `m.id, m.thread_id, m.seq, m.kind, m.side, m.sender_role, m.sender_id, m.in_reply_to,
	m.medication_id, m.key_id, m.content, m.attachments, m.sent_at, r.status, r.answer_message_id, r.answered_at`

// messageFrom is the FROM clause that goes with messageColumns.
const messageFrom = ` FROM messages m LEFT JOIN requests r ON r.message_id = m.id `

func scanMessage(row interface{ Scan(...any) error }) (messageRow, error) {
	var m messageRow
	err := row.Scan(&m.id, &m.threadID, &m.seq, &m.kind, &m.side, &m.sender.Role, &m.sender.ID, &m.inReplyTo,
		&m.medicationID, &m.keyID, &m.content, &m.attachments, &m.sent,
		&m.requestStatus, &m.requestAnswer, &m.requestAnswered)
	return m, err
}

// view opens a message row; attachments and receipts are added by the caller.
func (m messageRow) view(keys *keyring.Keyring) (Message, error) {
	plain, err := keys.Open(m.keyID, m.content, aad("message", m.id, "content"))
	if err != nil {
		return Message{}, fmt.Errorf("open message %s: %w", m.id, err)
	}
	var c content
	if err := json.Unmarshal(plain, &c); err != nil {
		return Message{}, fmt.Errorf("decode message %s: %w", m.id, err)
	}
	v := Message{
		ID: m.id, ThreadID: m.threadID, Seq: m.seq, Kind: m.kind, Sender: m.sender, Body: c.Body,
		InReplyTo: m.inReplyTo, MedicationID: m.medicationID, PreferredSlots: c.PreferredSlots,
		Attachments: []Attachment{}, ReadBy: []Receipt{}, Sent: fromMicros(m.sent),
	}
	if m.requestStatus.Valid {
		v.Request = &Request{Status: m.requestStatus.String, AnswerMessageID: m.requestAnswer.String,
			Answered: fromNullMicros(m.requestAnswered)}
	}
	if m.kind == contract.KindRequestAnswer {
		v.Answer = &Answer{RequestID: m.inReplyTo, Outcome: c.Outcome, Reason: c.Reason, BookedSlot: c.BookedSlot}
	}
	return v, nil
}

// aad binds a sealed value to its row and column, so it opens nowhere else.
func aad(table, id, column string) []byte { return []byte(table + ":" + id + ":" + column) }

// seal seals v (a string or a JSON value) for a row's column.
func seal(keys *keyring.Keyring, plaintext []byte, table, id, column string) (kid string, sealed []byte, err error) {
	kid, sealed, err = keys.Seal(plaintext, aad(table, id, column))
	if err != nil {
		return "", nil, fmt.Errorf("seal %s %s: %w", table, column, err)
	}
	return kid, sealed, nil
}

// patientKnown reports whether the patient directory knows the patient.
func patientKnown(ctx context.Context, q queryer, patientID string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM patients WHERE patient_id = ?`, patientID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up patient: %w", err)
	}
	return true, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// exec runs a statement in tx, wrapping its error with what it was for.
func exec(ctx context.Context, tx *store.Tx, what, query string, args ...any) error {
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
