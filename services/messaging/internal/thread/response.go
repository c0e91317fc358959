package thread

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/principal"
)

// Outcomes in the response-time ledger.
const (
	outcomeOpen      = "open"      // waiting for the care team
	outcomeResponded = "responded" // a care-team message followed it
	outcomeClosed    = "closed"    // the thread was closed before anyone responded
)

// maxReportSpan bounds a response-time report.
const maxReportSpan = 366 * 24 * time.Hour

// ResponseTime is one patient-side message and how long the care team took to
// respond, in the clinic's business hours.
type ResponseTime struct {
	MessageID         string     `json:"message_id"`
	ThreadID          string     `json:"thread_id"`
	PatientID         string     `json:"patient_id"`
	Sent              time.Time  `json:"sent"`
	Outcome           string     `json:"outcome"` // open, responded, closed
	ResponseMessageID string     `json:"response_message_id,omitempty"`
	Resolved          *time.Time `json:"resolved,omitempty"`
	BusinessHours     float64    `json:"business_hours"` // to the response; for open messages, waited so far
	WithinTarget      bool       `json:"within_target"`
}

// ResponseReport is a clinic's response times for patient messages sent in a period.
type ResponseReport struct {
	ClinicID    string         `json:"clinic_id"`
	TargetHours float64        `json:"target_hours"`
	From        time.Time      `json:"from"`
	To          time.Time      `json:"to"`
	Summary     Summary        `json:"summary"`
	Messages    []ResponseTime `json:"messages"`
}

// Summary counts a report's messages.
type Summary struct {
	Messages     int     `json:"messages"`
	Responded    int     `json:"responded"`
	Open         int     `json:"open"`
	Closed       int     `json:"closed_unanswered"`
	WithinTarget int     `json:"within_target"` // responded within the target
	MedianHours  float64 `json:"median_hours"`  // of the responded, in business hours
	P90Hours     float64 `json:"p90_hours"`
}

// ResponseTimes reports, for patient-side messages sent in [from, to), the time to
// the first care-team response in the clinic's business hours; open messages show
// the business time waited so far.
func (s *Service) ResponseTimes(ctx context.Context, p principal.Principal, clinicID string, from, to time.Time) (ResponseReport, error) {
	if err := checkID("clinic_id", clinicID, true); err != nil {
		return ResponseReport{}, err
	}
	switch {
	case from.IsZero() || to.IsZero():
		return ResponseReport{}, errs.Field(errs.Invalid, "from", "from and to are required")
	case !to.After(from):
		return ResponseReport{}, errs.Field(errs.Invalid, "to", "must be after from")
	case to.Sub(from) > maxReportSpan:
		return ResponseReport{}, errs.Field(errs.Invalid, "to", "a report spans at most 366 days")
	}
	if err := mayReport(p, clinicID); err != nil {
		return ResponseReport{}, err
	}
	cl := s.clinics.Get(clinicID)
	rs, err := s.ledgerRows(ctx, `clinic_id = ? AND sent_at >= ? AND sent_at < ? ORDER BY sent_at, message_id`,
		clinicID, micros(from), micros(to))
	if err != nil {
		return ResponseReport{}, err
	}
	rep := ResponseReport{ClinicID: clinicID, TargetHours: cl.Target.Hours(), From: from.UTC(), To: to.UTC(), Messages: rs}
	now := s.clock()
	var hours []float64
	for i := range rs {
		r := &rs[i]
		rep.Summary.Messages++
		switch r.Outcome {
		case outcomeOpen:
			rep.Summary.Open++
			r.BusinessHours = cl.BusinessTime(r.Sent, now).Hours()
		case outcomeClosed:
			rep.Summary.Closed++
		case outcomeResponded:
			rep.Summary.Responded++
			hours = append(hours, r.BusinessHours)
			if r.WithinTarget = r.BusinessHours <= cl.Target.Hours(); r.WithinTarget {
				rep.Summary.WithinTarget++
			}
		}
	}
	rep.Summary.MedianHours, rep.Summary.P90Hours = percentile(hours, 50), percentile(hours, 90)
	return rep, nil
}

// Overdue lists the clinic's patient-side messages still waiting for a response
// longer than the clinic's target, in business hours, longest wait first.
func (s *Service) Overdue(ctx context.Context, p principal.Principal, clinicID string) ([]ResponseTime, error) {
	if err := checkID("clinic_id", clinicID, true); err != nil {
		return nil, err
	}
	if err := mayReport(p, clinicID); err != nil {
		return nil, err
	}
	cl := s.clinics.Get(clinicID)
	now := s.clock()
	// Business time never exceeds wall time, so only messages older than the target
	// in wall time can be overdue.
	rs, err := s.ledgerRows(ctx, `clinic_id = ? AND outcome = ? AND sent_at <= ? ORDER BY sent_at, message_id`,
		clinicID, outcomeOpen, micros(now.Add(-cl.Target)))
	if err != nil {
		return nil, err
	}
	out := []ResponseTime{}
	for _, r := range rs {
		waited := cl.BusinessTime(r.Sent, now)
		if waited > cl.Target {
			r.BusinessHours = waited.Hours()
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b ResponseTime) int {
		switch {
		case a.BusinessHours > b.BusinessHours:
			return -1
		case a.BusinessHours < b.BusinessHours:
			return 1
		}
		return 0
	})
	return out, nil
}

func (s *Service) ledgerRows(ctx context.Context, where string, args ...any) ([]ResponseTime, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT message_id, thread_id, patient_id, sent_at, outcome,
		response_message_id, resolved_at, business_seconds FROM responses WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read response times: %w", err)
	}
	defer rows.Close()
	out := []ResponseTime{}
	for rows.Next() {
		var (
			r        ResponseTime
			sent     int64
			resolved sql.NullInt64
			seconds  sql.NullInt64
		)
		if err := rows.Scan(&r.MessageID, &r.ThreadID, &r.PatientID, &sent, &r.Outcome, &r.ResponseMessageID,
			&resolved, &seconds); err != nil {
			return nil, fmt.Errorf("scan response time: %w", err)
		}
		r.Sent, r.Resolved = fromMicros(sent), fromNullMicros(resolved)
		r.BusinessHours = (time.Duration(seconds.Int64) * time.Second).Hours()
		out = append(out, r)
	}
	return out, rows.Err()
}

// percentile is the nearest-rank percentile of xs; 0 for none.
func percentile(xs []float64, pct int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := (pct*len(s) + 99) / 100 // ceil(pct/100 × n)
	return s[max(rank, 1)-1]
}
