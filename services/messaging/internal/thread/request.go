package thread

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// RequestItem is a refill or appointment request in a worklist; its content is read
// in its thread.
type RequestItem struct {
	RequestID       string     `json:"request_id"` // the request's message ID
	ThreadID        string     `json:"thread_id"`
	PatientID       string     `json:"patient_id"`
	ClinicID        string     `json:"clinic_id"`
	Kind            string     `json:"kind"`
	MedicationID    string     `json:"medication_id,omitempty"`
	Status          string     `json:"status"`
	Requested       time.Time  `json:"requested"`
	AnswerMessageID string     `json:"answer_message_id,omitempty"`
	Answered        *time.Time `json:"answered,omitempty"`
}

// RequestFilter narrows a request worklist.
type RequestFilter struct {
	ClinicID  string
	PatientID string
	Status    string // open, approved, denied, booked; "" for all
	Limit     int
}

// Requests lists the requests in threads the caller may read, oldest first, so a
// worklist of open requests is answered in order.
func (s *Service) Requests(ctx context.Context, p principal.Principal, f RequestFilter) ([]RequestItem, error) {
	switch f.Status {
	case "", RequestOpen, contract.OutcomeApproved, contract.OutcomeDenied, contract.OutcomeBooked:
	default:
		return nil, errs.Field(errs.Invalid, "status", "must be open, approved, denied or booked")
	}
	if err := checkID("clinic_id", f.ClinicID, false); err != nil {
		return nil, err
	}
	if err := checkID("patient_id", f.PatientID, false); err != nil {
		return nil, err
	}
	if err := checkLimit(&f.Limit); err != nil {
		return nil, err
	}
	where, args, err := s.visible(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct{ col, val string }{{"q.clinic_id", f.ClinicID}, {"q.patient_id", f.PatientID}, {"q.status", f.Status}} {
		if c.val != "" {
			where += " AND " + c.col + " = ?"
			args = append(args, c.val)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT q.message_id, q.thread_id, q.patient_id, q.clinic_id, q.kind,
		m.medication_id, q.status, q.requested_at, q.answer_message_id, q.answered_at
		FROM requests q JOIN threads t ON t.id = q.thread_id JOIN messages m ON m.id = q.message_id
		WHERE `+where+` ORDER BY q.requested_at, q.message_id LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []RequestItem{}
	for rows.Next() {
		var (
			r         RequestItem
			requested int64
			answered  sql.NullInt64
		)
		if err := rows.Scan(&r.RequestID, &r.ThreadID, &r.PatientID, &r.ClinicID, &r.Kind, &r.MedicationID,
			&r.Status, &requested, &r.AnswerMessageID, &answered); err != nil {
			return nil, fmt.Errorf("scan request: %w", err)
		}
		r.Requested, r.Answered = fromMicros(requested), fromNullMicros(answered)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Answer answers an open refill or appointment request with a message in its thread,
// in reply to the request. Only the care team answers; a request is answered once.
// Idempotency keys work as for Start.
func (s *Service) Answer(ctx context.Context, p principal.Principal, requestID string, a NewAnswer, key string) (_ Message, replayed bool, err error) {
	now := s.clock()
	if a.Outcome == "" {
		return Message{}, false, errs.Field(errs.Invalid, "outcome", "required: approved, denied or booked")
	}
	var (
		threadID string
		fresh    Message
	)
	id, replayed, err := s.write(ctx, p, key, "answer:"+requestID, a, func(tx *store.Tx) (string, error) {
		var kind, status, medicationID string
		err := tx.QueryRowContext(ctx, `SELECT q.thread_id, q.kind, q.status, m.medication_id FROM requests q
			JOIN messages m ON m.id = q.message_id WHERE q.message_id = ?`, requestID).
			Scan(&threadID, &kind, &status, &medicationID)
		if isNoRows(err) {
			return "", errs.E(errs.NotFound, "no such request")
		}
		if err != nil {
			return "", fmt.Errorf("read request: %w", err)
		}
		t, r, err := participation(ctx, tx, p, threadID, now)
		switch {
		case errs.Is(errs.NotFound, err):
			return "", errs.E(errs.NotFound, "no such request")
		case err != nil:
			return "", err
		case !r.answer:
			return "", errs.E(errs.Forbidden, "only the care team answers requests")
		case status != RequestOpen:
			return "", errs.E(errs.Conflict, "the request was already answered")
		}
		if err := a.validate(kind, now); err != nil {
			return "", err
		}
		// Claiming the request first locks its row: of two answers at once, the second
		// finds it answered.
		res, err := tx.ExecContext(ctx, `UPDATE requests SET status = ?, answered_at = ? WHERE message_id = ? AND status = ?`,
			a.Outcome, micros(now), requestID, RequestOpen)
		if err != nil {
			return "", fmt.Errorf("answer request: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return "", fmt.Errorf("answer request: %w", err)
		}
		if n == 0 {
			return "", errs.E(errs.Conflict, "the request was already answered")
		}
		by := partyOf(p)
		fresh, err = s.post(ctx, tx, t, outgoing{sender: by, msg: NewMessage{InReplyTo: requestID}, answer: &a, at: now})
		if err != nil {
			return "", err
		}
		answerID := fresh.ID
		if err := exec(ctx, tx, "link answer", `UPDATE requests SET answer_message_id = ? WHERE message_id = ?`,
			answerID, requestID); err != nil {
			return "", err
		}
		answered := contract.RequestAnswer{
			RequestID: requestID, ThreadID: t.id, PatientID: t.patientID, ClinicID: t.clinicID, Kind: kind,
			Outcome: a.Outcome, MedicationID: medicationID, AnswerMessageID: answerID,
			AnsweredByRole: by.Role, AnsweredByID: by.ID, Answered: now,
		}
		if by.Role == contract.RoleClinician {
			answered.NPI = by.ID
		}
		return answerID, addEvent(ctx, tx, contract.TopicRequest, contract.RequestAnswered, t.patientID, now, answered)
	})
	switch {
	case err != nil:
		return Message{}, false, err
	case !replayed:
		return fresh, false, nil
	}
	if threadID, err = s.ThreadOf(ctx, p, id); err != nil {
		return Message{}, false, err
	}
	msg, err := s.Message(ctx, p, threadID, id)
	return msg, true, err
}
