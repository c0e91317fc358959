// Package thread is secure messaging between patients (or their authorized
// representatives) and care teams: threads, messages with encrypted bodies and
// attachments, read receipts, refill and appointment requests and their answers,
// closure, proxy grants, and the response-time ledger of patient messages.
//
// Who may do what is decided here, per caller (libs/principal), and anything a
// caller may not see is reported as not found, so its existence does not leak.
// Every change is written with its events through the outbox in one transaction;
// events carry IDs and roles, never content.
package thread

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/phi"
)

// Thread kinds.
const (
	PoolThread      = "pool"      // the patient and a clinic's care-team pool: any clinician of the clinic may answer
	ClinicianThread = "clinician" // the patient and one named clinician
	ConsultThread   = "consult"   // two or more clinicians consulting each other, with the patient included
)

// Thread states.
const (
	Open   = "open"
	Closed = "closed"
)

// Sides of a conversation: whose turn a message is, for response times and direction.
const (
	patientSide  = "patient"
	careTeamSide = "care_team"
)

// RequestOpen is the state of a request not yet answered; an answered one has its
// outcome (contract.Outcome*) as its state.
const RequestOpen = "open"

// Limits on what a caller may send.
const (
	MaxBodyRunes    = 10000 // characters of a message body
	MaxSubjectRunes = 200   // characters of a thread subject
	MaxReasonRunes  = 2000  // characters of a denial reason
	MaxNameRunes    = 255   // characters of an attachment's file name
	MaxSlots        = 5     // preferred slots of an appointment request
	MaxClinicians   = 10    // clinicians named by one thread
	maxSlotLength   = 12 * time.Hour
	maxSlotAhead    = 366 * 24 * time.Hour
	maxID           = 64
)

// Party is who did something: a role (contract.Role*) and the ID that goes with it.
type Party struct {
	Role string `json:"role"`
	ID   string `json:"id"`
}

// Slot is a span of time for an appointment.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Thread is a conversation as a caller sees it.
type Thread struct {
	ID            string     `json:"id"`
	Kind          string     `json:"kind"`
	PatientID     string     `json:"patient_id"`
	ClinicID      string     `json:"clinic_id"`
	Clinicians    []string   `json:"clinicians"`
	Subject       phi.Text   `json:"subject"`
	Status        string     `json:"status"`
	CreatedBy     Party      `json:"created_by"`
	Created       time.Time  `json:"created"`
	LastMessageAt time.Time  `json:"last_message_at"`
	MessageCount  int        `json:"message_count"`
	Unread        int        `json:"unread"` // messages from the other side the caller has not read
	ClosedBy      *Party     `json:"closed_by,omitempty"`
	Closed        *time.Time `json:"closed,omitempty"`
}

// Message is a message as a caller sees it.
type Message struct {
	ID             string       `json:"id"`
	ThreadID       string       `json:"thread_id"`
	Seq            int          `json:"seq"`
	Kind           string       `json:"kind"`
	Sender         Party        `json:"sender"`
	Body           phi.Text     `json:"body"`
	InReplyTo      string       `json:"in_reply_to,omitempty"`
	MedicationID   string       `json:"medication_id,omitempty"`
	PreferredSlots []Slot       `json:"preferred_slots,omitempty"`
	Request        *Request     `json:"request,omitempty"` // for refill and appointment requests: their state
	Answer         *Answer      `json:"answer,omitempty"`  // for request answers: the outcome
	Attachments    []Attachment `json:"attachments"`
	ReadBy         []Receipt    `json:"read_by"`
	Sent           time.Time    `json:"sent"`
}

// Request is the state of a refill or appointment request.
type Request struct {
	Status          string     `json:"status"` // open, approved, denied, booked
	AnswerMessageID string     `json:"answer_message_id,omitempty"`
	Answered        *time.Time `json:"answered,omitempty"`
}

// Answer is what a request answer decided.
type Answer struct {
	RequestID  string   `json:"request_id"`
	Outcome    string   `json:"outcome"`
	Reason     phi.Text `json:"reason,omitempty"`      // why it was denied
	BookedSlot *Slot    `json:"booked_slot,omitempty"` // when the appointment is
}

// Attachment describes an attached file; its content is fetched on its own.
type Attachment struct {
	ID          string   `json:"id"`
	ContentType string   `json:"content_type"`
	Size        int      `json:"size"`
	Name        phi.Text `json:"name"`
}

// Receipt says who read a message, and when.
type Receipt struct {
	Party
	Read time.Time `json:"read"`
}

// NewThread starts a thread with its first message.
type NewThread struct {
	PatientID  string     `json:"patient_id"` // a patient or proxy may leave it empty: their own
	Kind       string     `json:"kind"`
	ClinicID   string     `json:"clinic_id"`
	Clinicians []string   `json:"clinicians"`
	Subject    phi.Text   `json:"subject"`
	Message    NewMessage `json:"message"`
}

// NewMessage is a message to send.
type NewMessage struct {
	Kind           string          `json:"kind"`
	Body           phi.Text        `json:"body"`
	InReplyTo      string          `json:"in_reply_to"`
	MedicationID   string          `json:"medication_id"`
	PreferredSlots []Slot          `json:"preferred_slots"`
	Attachments    []NewAttachment `json:"attachments"`
}

// NewAttachment is a file to attach, its content base64 in JSON.
type NewAttachment struct {
	ContentType string   `json:"content_type"`
	Name        phi.Text `json:"name"`
	Data        []byte   `json:"data"`
}

// NewAnswer answers a refill or appointment request.
type NewAnswer struct {
	Outcome    string   `json:"outcome"`
	Reason     phi.Text `json:"reason"`      // required to deny
	BookedSlot *Slot    `json:"booked_slot"` // required to book
	Body       phi.Text `json:"body"`        // an optional note to the patient
}

// sendable are the kinds a caller may name when sending; request answers come from
// the answer endpoint.
var sendable = map[string]bool{
	contract.KindGeneral: true, contract.KindRefillRequest: true,
	contract.KindAppointmentRequest: true, contract.KindResultQuestion: true,
}

// patientOnly are the kinds only the patient's side sends.
var patientOnly = map[string]bool{
	contract.KindRefillRequest: true, contract.KindAppointmentRequest: true, contract.KindResultQuestion: true,
}

// isRequest reports whether kind is answered through the answer endpoint.
func isRequest(kind string) bool {
	return kind == contract.KindRefillRequest || kind == contract.KindAppointmentRequest
}

// Limits are the configurable limits on attachments.
type Limits struct {
	MaxAttachments     int      // per message
	MaxAttachmentBytes int      // per attachment
	AttachmentTypes    []string // media types accepted
}

// DefaultLimits: three attachments of at most 2 MiB each, PDF, PNG, JPEG or plain text.
var DefaultLimits = Limits{
	MaxAttachments: 3, MaxAttachmentBytes: 2 << 20,
	AttachmentTypes: []string{"application/pdf", "image/png", "image/jpeg", "text/plain"},
}

// validate checks a thread as submitted, apart from who sends it and whether the
// patient exists. Fields are named as JSON paths of the request.
func (n NewThread) validate(l Limits, now time.Time) error {
	if err := checkID("patient_id", n.PatientID, false); err != nil {
		return err
	}
	if err := checkID("clinic_id", n.ClinicID, true); err != nil {
		return err
	}
	if err := checkText("subject", n.Subject, MaxSubjectRunes, false); err != nil {
		return err
	}
	if len(n.Clinicians) > MaxClinicians {
		return errs.Field(errs.Invalid, "clinicians", "at most %d clinicians", MaxClinicians)
	}
	seen := map[string]bool{}
	for i, npi := range n.Clinicians {
		field := fmt.Sprintf("clinicians[%d]", i)
		if !ident.ValidNPI(npi) {
			return errs.Field(errs.Invalid, field, "not a valid NPI (10 digits with a Luhn check digit)")
		}
		if seen[npi] {
			return errs.Field(errs.Invalid, field, "listed twice")
		}
		seen[npi] = true
	}
	switch n.Kind {
	case PoolThread:
		if len(n.Clinicians) > 0 {
			return errs.Field(errs.Invalid, "clinicians", "a pool thread names no clinicians: the clinic's pool answers")
		}
	case ClinicianThread:
		if len(n.Clinicians) != 1 {
			return errs.Field(errs.Invalid, "clinicians", "a clinician thread names exactly one clinician")
		}
	case ConsultThread:
		if len(n.Clinicians) < 2 {
			return errs.Field(errs.Invalid, "clinicians", "a consult thread names at least two clinicians")
		}
	case "":
		return errs.Field(errs.Invalid, "kind", "required: pool, clinician or consult")
	default:
		return errs.Field(errs.Invalid, "kind", "must be pool, clinician or consult")
	}
	if n.Message.InReplyTo != "" {
		return errs.Field(errs.Invalid, "message.in_reply_to", "a new thread has nothing to reply to")
	}
	return n.Message.validate("message.", l, now)
}

// validate checks a message as submitted; prefix is its JSON path in the request.
func (m NewMessage) validate(prefix string, l Limits, now time.Time) error {
	f := func(name string) string { return prefix + name }
	switch {
	case m.Kind == "":
		return errs.Field(errs.Invalid, f("kind"), "required: general, refill_request, appointment_request or result_question")
	case m.Kind == contract.KindRequestAnswer:
		return errs.Field(errs.Invalid, f("kind"), "answers are sent with POST /v1/requests/{id}/answer")
	case !sendable[m.Kind]:
		return errs.Field(errs.Invalid, f("kind"), "must be general, refill_request, appointment_request or result_question")
	}
	if err := checkText(f("body"), m.Body, MaxBodyRunes, true); err != nil {
		return err
	}
	if err := checkID(f("in_reply_to"), m.InReplyTo, false); err != nil {
		return err
	}
	switch {
	case m.Kind == contract.KindRefillRequest:
		if err := checkID(f("medication_id"), m.MedicationID, true); err != nil {
			return err
		}
	case m.MedicationID != "":
		return errs.Field(errs.Invalid, f("medication_id"), "only a refill_request names a medication")
	}
	switch {
	case m.Kind == contract.KindAppointmentRequest:
		if len(m.PreferredSlots) == 0 {
			return errs.Field(errs.Invalid, f("preferred_slots"), "an appointment request needs 1 to %d preferred slots", MaxSlots)
		}
		if len(m.PreferredSlots) > MaxSlots {
			return errs.Field(errs.Invalid, f("preferred_slots"), "at most %d preferred slots", MaxSlots)
		}
		for i, s := range m.PreferredSlots {
			if err := s.validate(fmt.Sprintf("%spreferred_slots[%d]", prefix, i), now); err != nil {
				return err
			}
		}
	case len(m.PreferredSlots) > 0:
		return errs.Field(errs.Invalid, f("preferred_slots"), "only an appointment_request has preferred slots")
	}
	return checkAttachments(prefix+"attachments", m.Attachments, l)
}

func (s Slot) validate(field string, now time.Time) error {
	switch {
	case s.Start.IsZero() || s.End.IsZero():
		return errs.Field(errs.Invalid, field, "needs a start and an end")
	case !s.End.After(s.Start):
		return errs.Field(errs.Invalid, field+".end", "must be after start")
	case s.End.Sub(s.Start) > maxSlotLength:
		return errs.Field(errs.Invalid, field+".end", "a slot is at most %d hours", int(maxSlotLength.Hours()))
	case !s.Start.After(now):
		return errs.Field(errs.Invalid, field+".start", "must be in the future")
	case s.Start.Sub(now) > maxSlotAhead:
		return errs.Field(errs.Invalid, field+".start", "must be within a year")
	}
	return nil
}

func checkAttachments(field string, as []NewAttachment, l Limits) error {
	if len(as) > l.MaxAttachments {
		return errs.Field(errs.Invalid, field, "at most %d attachments", l.MaxAttachments)
	}
	for i, a := range as {
		f := fmt.Sprintf("%s[%d].", field, i)
		if !slices.Contains(l.AttachmentTypes, a.ContentType) {
			return errs.Field(errs.Invalid, f+"content_type", "must be one of %s", strings.Join(l.AttachmentTypes, ", "))
		}
		if len(a.Data) == 0 {
			return errs.Field(errs.Invalid, f+"data", "required: the file's content, base64")
		}
		if len(a.Data) > l.MaxAttachmentBytes {
			return errs.Field(errs.TooLarge, f+"data", "larger than %d bytes", l.MaxAttachmentBytes)
		}
		if sniffed := sniff(a.Data); sniffed != a.ContentType {
			return errs.Field(errs.Invalid, f+"data", "content is not %s", a.ContentType)
		}
		if err := checkText(f+"name", a.Name, MaxNameRunes, false); err != nil {
			return err
		}
		if strings.ContainsAny(a.Name.Reveal(), `/\`) {
			return errs.Field(errs.Invalid, f+"name", "a file name without a path")
		}
	}
	return nil
}

// validate checks an answer as submitted, for a request of the given kind.
func (a NewAnswer) validate(kind string, now time.Time) error {
	allowed := map[string][]string{
		contract.KindRefillRequest:      {contract.OutcomeApproved, contract.OutcomeDenied},
		contract.KindAppointmentRequest: {contract.OutcomeApproved, contract.OutcomeDenied, contract.OutcomeBooked},
	}[kind]
	if !slices.Contains(allowed, a.Outcome) {
		return errs.Field(errs.Invalid, "outcome", "for a %s must be %s", kind, strings.Join(allowed, " or "))
	}
	if err := checkText("body", a.Body, MaxBodyRunes, false); err != nil {
		return err
	}
	if err := checkText("reason", a.Reason, MaxReasonRunes, a.Outcome == contract.OutcomeDenied); err != nil {
		return err
	}
	if a.Outcome != contract.OutcomeDenied && a.Reason != "" {
		return errs.Field(errs.Invalid, "reason", "only a denial gives a reason")
	}
	switch {
	case a.Outcome == contract.OutcomeBooked && a.BookedSlot == nil:
		return errs.Field(errs.Invalid, "booked_slot", "required to book")
	case a.Outcome == contract.OutcomeBooked:
		return a.BookedSlot.validate("booked_slot", now)
	case a.BookedSlot != nil:
		return errs.Field(errs.Invalid, "booked_slot", "only a booking has a slot")
	}
	return nil
}

// checkID checks a client-supplied opaque ID: it becomes part of URLs and event keys.
func checkID(field, id string, required bool) error {
	if id == "" {
		if required {
			return errs.Field(errs.Invalid, field, "required")
		}
		return nil
	}
	if len(id) > maxID {
		return errs.Field(errs.Invalid, field, "longer than %d characters", maxID)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return errs.Field(errs.Invalid, field, "may hold only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// checkText checks free text: valid, without control characters other than line
// breaks and tabs, not blank when required, and at most max characters (TooLarge).
func checkText(field string, t phi.Text, max int, required bool) error {
	s := t.Reveal()
	if strings.TrimSpace(s) == "" {
		if required {
			return errs.Field(errs.Invalid, field, "required")
		}
		return nil
	}
	if n := utf8.RuneCountInString(s); n > max {
		return errs.Field(errs.TooLarge, field, "longer than %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return errs.Field(errs.Invalid, field, "contains a control character")
		}
	}
	return nil
}
