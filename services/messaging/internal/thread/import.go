package thread

import (
	"context"
	"fmt"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
)

// MaxImportMessages is how many messages one imported thread may carry.
const MaxImportMessages = 100

// importRoute names imports for idempotency keys (and exempts them from send rates).
const importRoute = "import"

// ImportThread is a conversation that took place in the source EHR, recorded by a
// service account (an integration): its participants named by IDs and NPIs, each
// message with who sent it and when. It is stored as a thread like any other (the
// participants read it as usual) and each message is published as
// messaging.message.sent at its own clinical time.
type ImportThread struct {
	PatientID  string          `json:"patient_id"`
	Kind       string          `json:"kind"` // pool, clinician or consult, as for POST /v1/threads
	ClinicID   string          `json:"clinic_id"`
	Clinicians []string        `json:"clinicians"`
	Subject    phi.Text        `json:"subject"`
	TIN        string          `json:"tin,omitempty"` // the group credited; default: the clinic's configured TIN
	CCN        string          `json:"ccn,omitempty"` // the hospital credited, when hospital staff sent the messages
	Messages   []ImportMessage `json:"messages"`
}

// ImportMessage is one message of an imported thread, in the order sent.
type ImportMessage struct {
	Sender  Party     `json:"sender"` // role patient, proxy, clinician (ID an NPI) or staff
	Body    phi.Text  `json:"body"`
	ReplyTo *int      `json:"reply_to,omitempty"` // the index of the earlier message it answers
	Sent    time.Time `json:"sent"`
}

// Imported is what an import created.
type Imported struct {
	ThreadID   string   `json:"thread_id"`
	MessageIDs []string `json:"message_ids"` // in the order of the request's messages
}

// validate checks an import as submitted, naming the first field at fault.
func (n ImportThread) validate(l Limits, now time.Time) error {
	if err := checkID("patient_id", n.PatientID, true); err != nil {
		return err
	}
	switch {
	case len(n.Messages) == 0:
		return errs.Field(errs.Invalid, "messages", "at least one message")
	case len(n.Messages) > MaxImportMessages:
		return errs.Field(errs.Invalid, "messages", "at most %d messages", MaxImportMessages)
	case n.TIN != "" && !ident.ValidTIN(n.TIN):
		return errs.Field(errs.Invalid, "tin", "must be 9 digits")
	case n.CCN != "" && !ident.ValidCCN(n.CCN):
		return errs.Field(errs.Invalid, "ccn", "not a valid CCN")
	}
	listed := map[string]bool{}
	for _, npi := range n.Clinicians {
		listed[npi] = true
	}
	for i, m := range n.Messages {
		f := func(name string) string { return fmt.Sprintf("messages[%d].%s", i, name) }
		if err := (NewMessage{Kind: contract.KindGeneral, Body: m.Body}).validate(fmt.Sprintf("messages[%d].", i), l, now); err != nil {
			return err
		}
		switch {
		case m.Sent.IsZero():
			return errs.Field(errs.Invalid, f("sent"), "required: when the message was sent in the source EHR")
		case m.Sent.After(now.Add(clockSkew)):
			return errs.Field(errs.Invalid, f("sent"), "is in the future")
		case i > 0 && m.Sent.Before(n.Messages[i-1].Sent):
			return errs.Field(errs.Invalid, f("sent"), "before the previous message: messages are listed in the order sent")
		case m.ReplyTo != nil && (*m.ReplyTo < 0 || *m.ReplyTo >= i):
			return errs.Field(errs.Invalid, f("reply_to"), "must be the index of an earlier message")
		}
		switch m.Sender.Role {
		case contract.RolePatient:
			if m.Sender.ID != n.PatientID {
				return errs.Field(errs.Invalid, f("sender.id"), "a patient sender is the thread's patient")
			}
		case contract.RoleClinician:
			if !ident.ValidNPI(m.Sender.ID) {
				return errs.Field(errs.Invalid, f("sender.id"), "a clinician sender is named by a valid NPI")
			}
			if n.Kind != PoolThread && !listed[m.Sender.ID] {
				return errs.Field(errs.Invalid, f("sender.id"), "the clinician is not among the thread's clinicians")
			}
		case contract.RoleProxy, contract.RoleStaff:
			if err := checkID(f("sender.id"), m.Sender.ID, true); err != nil {
				return err
			}
		default:
			return errs.Field(errs.Invalid, f("sender.role"), "must be patient, proxy, clinician or staff")
		}
	}
	// The thread's own rules (kind, clinic, clinicians, subject).
	return NewThread{PatientID: n.PatientID, Kind: n.Kind, ClinicID: n.ClinicID, Clinicians: n.Clinicians, Subject: n.Subject,
		Message: NewMessage{Kind: contract.KindGeneral, Body: n.Messages[0].Body}}.validate(l, now)
}

// clockSkew is how far in the future an imported message may be dated: the source
// EHR's clock may run a little ahead of ours.
const clockSkew = 5 * time.Minute

// Import records a thread that took place in the source EHR. Only service accounts
// import. Each message is published as messaging.message.sent dated when it was sent
// (recorded now), credited to the TIN or CCN the import names; imported messages
// enter neither the response-time ledger nor notifications, which are about this
// system's care team answering in it. Idempotency keys work as for Start.
func (s *Service) Import(ctx context.Context, p principal.Principal, n ImportThread, key string) (_ Imported, replayed bool, err error) {
	if p.Kind != principal.Service {
		return Imported{}, false, errs.E(errs.Forbidden, "only a service account imports threads")
	}
	now := s.clock()
	if err := n.validate(s.limits, now); err != nil {
		return Imported{}, false, err
	}
	var fresh Imported
	id, replayed, err := s.write(ctx, p, key, importRoute, n, func(tx *store.Tx) (string, error) {
		known, err := patientKnown(ctx, tx, n.PatientID)
		if err != nil {
			return "", err
		}
		if !known {
			return "", errs.Field(errs.Unprocessable, "patient_id", "no such patient")
		}
		first := n.Messages[0]
		t := threadRow{
			id: newID(), kind: n.Kind, patientID: n.PatientID, clinicID: n.ClinicID, status: Open,
			createdBy: first.Sender, created: micros(first.Sent.UTC()), lastMessageAt: micros(first.Sent.UTC()), clinicians: n.Clinicians,
		}
		if t.keyID, t.subject, err = seal(s.keys, []byte(n.Subject.Reveal()), "thread", t.id, "subject"); err != nil {
			return "", err
		}
		if err := insertThread(ctx, tx, t); err != nil {
			return "", err
		}
		fresh = Imported{ThreadID: t.id}
		for _, m := range n.Messages {
			msg := NewMessage{Kind: contract.KindGeneral, Body: m.Body}
			if m.ReplyTo != nil {
				msg.InReplyTo = fresh.MessageIDs[*m.ReplyTo]
			}
			posted, err := s.post(ctx, tx, t, outgoing{sender: m.Sender, msg: msg, at: m.Sent.UTC().Truncate(time.Microsecond),
				imported: &importedCredit{recorded: now, tin: n.TIN, ccn: n.CCN}})
			if err != nil {
				return "", err
			}
			fresh.MessageIDs = append(fresh.MessageIDs, posted.ID)
		}
		return t.id, nil
	})
	switch {
	case err != nil:
		return Imported{}, false, err
	case !replayed:
		return fresh, false, nil
	}
	out := Imported{ThreadID: id}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM messages WHERE thread_id = ? ORDER BY seq`, id)
	if err != nil {
		return Imported{}, false, fmt.Errorf("list imported messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid string
		if err := rows.Scan(&mid); err != nil {
			return Imported{}, false, fmt.Errorf("list imported messages: %w", err)
		}
		out.MessageIDs = append(out.MessageIDs, mid)
	}
	return out, true, rows.Err()
}

// importedCredit is what an imported message carries besides the message: when it was
// recorded here, and the TIN or CCN credited.
type importedCredit struct {
	recorded time.Time
	tin, ccn string
}
