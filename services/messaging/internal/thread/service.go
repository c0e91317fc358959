package thread

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/messaging/internal/clinic"
	"github.com/attest-ehr/attest/services/messaging/internal/keyring"
)

// source is the ce_source of every event messaging publishes.
const source = "messaging"

// Limiter admits or refuses one more request for a key within limit per window;
// *cache.Cache is one, backed by Redis.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (allowed bool, retryAfter time.Duration, err error)
}

// Rate is a number of sends per window.
type Rate struct {
	N   int
	Per time.Duration
}

// Config wires a Service.
type Config struct {
	DB      *store.DB
	Keys    *keyring.Keyring
	Clinics *clinic.Directory
	Limits  Limits // zero: DefaultLimits

	// Limiter enforces PatientRate on the patient's side and CareTeamRate on the care
	// team's, per sender: threads started, messages sent and requests answered.
	Limiter      Limiter
	PatientRate  Rate
	CareTeamRate Rate

	// Notifier tells recipients that something awaits them. Default: OutboxNotifier.
	Notifier Notifier
	// Notify is called after every commit that wrote events: the relay's Notify.
	Notify func()
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Service holds the messaging use cases. It is safe for concurrent use.
type Service struct {
	db       *store.DB
	keys     *keyring.Keyring
	clinics  *clinic.Directory
	limits   Limits
	limiter  Limiter
	rates    map[string]Rate // by side
	notifier Notifier
	notify   func()
	now      func() time.Time
}

// New returns the use cases over cfg.DB, which must be migrated with Migrations.
func New(cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Keys == nil || cfg.Clinics == nil || cfg.Limiter == nil {
		return nil, errs.E(errs.Invalid, "thread: a database, keys, clinics and a limiter are required")
	}
	for _, r := range []Rate{cfg.PatientRate, cfg.CareTeamRate} {
		if r.N < 1 || r.Per < time.Millisecond {
			return nil, errs.E(errs.Invalid, "thread: rate limits need N ≥ 1 per ≥ 1ms")
		}
	}
	s := &Service{
		db: cfg.DB, keys: cfg.Keys, clinics: cfg.Clinics, limits: cfg.Limits, limiter: cfg.Limiter,
		rates:    map[string]Rate{patientSide: cfg.PatientRate, careTeamSide: cfg.CareTeamRate},
		notifier: cfg.Notifier, notify: cfg.Notify, now: cfg.Now,
	}
	if s.limits.MaxAttachments == 0 {
		s.limits = DefaultLimits
	}
	if s.notifier == nil {
		s.notifier = OutboxNotifier{}
	}
	if s.notify == nil {
		s.notify = func() {}
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Limits are the attachment limits in force.
func (s *Service) Limits() Limits { return s.limits }

// clock is the current time as stored: UTC, to the microsecond.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Started is a new thread with its first message.
type Started struct {
	Thread  Thread  `json:"thread"`
	Message Message `json:"message"`
}

// Start starts a thread with its first message. With an idempotency key, a retry of
// the same request returns what the first created (replayed true) and creates
// nothing; the same key with a different request is Unprocessable.
func (s *Service) Start(ctx context.Context, p principal.Principal, n NewThread, key string) (_ Started, replayed bool, err error) {
	now := s.clock()
	if err := n.validate(s.limits, now); err != nil {
		return Started{}, false, err
	}
	var fresh Started // what this call created, when it did not replay an earlier one
	id, replayed, err := s.write(ctx, p, key, "start", n, func(tx *store.Tx) (string, error) {
		if err := mayStart(ctx, tx, p, &n, now); err != nil {
			return "", err
		}
		known, err := patientKnown(ctx, tx, n.PatientID)
		if err != nil {
			return "", err
		}
		if !known {
			return "", errs.Field(errs.Unprocessable, "patient_id", "no such patient")
		}
		t := threadRow{
			id: newID(), kind: n.Kind, patientID: n.PatientID, clinicID: n.ClinicID, status: Open,
			createdBy: partyOf(p), created: micros(now), lastMessageAt: micros(now), clinicians: n.Clinicians,
		}
		if t.keyID, t.subject, err = seal(s.keys, []byte(n.Subject.Reveal()), "thread", t.id, "subject"); err != nil {
			return "", err
		}
		if err := insertThread(ctx, tx, t); err != nil {
			return "", err
		}
		m, err := s.post(ctx, tx, t, outgoing{sender: partyOf(p), msg: n.Message, at: now})
		if err != nil {
			return "", err
		}
		t.messageCount = 1
		fresh = Started{Thread: t.fresh(n.Subject), Message: m}
		return t.id, nil
	})
	switch {
	case err != nil:
		return Started{}, false, err
	case !replayed:
		return fresh, false, nil
	}
	t, err := s.Thread(ctx, p, id)
	if err != nil {
		return Started{}, false, err
	}
	ms, err := s.Messages(ctx, p, id, 0, 1)
	if err != nil {
		return Started{}, false, err
	}
	if len(ms) == 0 {
		return Started{}, false, fmt.Errorf("thread %s has no first message", id)
	}
	return Started{Thread: t, Message: ms[0]}, true, nil
}

// Send posts a message to a thread. A reply names a message of the same thread.
// Idempotency keys work as for Start.
func (s *Service) Send(ctx context.Context, p principal.Principal, threadID string, m NewMessage, key string) (_ Message, replayed bool, err error) {
	now := s.clock()
	if err := m.validate("", s.limits, now); err != nil {
		return Message{}, false, err
	}
	var fresh Message
	id, replayed, err := s.write(ctx, p, key, "send:"+threadID, m, func(tx *store.Tx) (string, error) {
		t, r, err := participation(ctx, tx, p, threadID, now)
		switch {
		case err != nil:
			return "", err
		case !r.post || isRequest(m.Kind) && !r.request:
			return "", errs.E(errs.Forbidden, "the caller may read this thread but not send this to it")
		case patientOnly[m.Kind] && sideOf(roleOf(p)) != patientSide:
			return "", errs.Field(errs.Invalid, "kind", "only the patient's side sends a %s", m.Kind)
		}
		fresh, err = s.post(ctx, tx, t, outgoing{sender: partyOf(p), msg: m, at: now})
		return fresh.ID, err
	})
	switch {
	case err != nil:
		return Message{}, false, err
	case !replayed:
		return fresh, false, nil
	}
	msg, err := s.Message(ctx, p, threadID, id)
	return msg, true, err
}

// outgoing is a message about to be posted.
type outgoing struct {
	sender Party
	msg    NewMessage
	answer *NewAnswer // set for a request answer: msg.InReplyTo is the request
	at     time.Time
	// imported is set for a message sent in the source EHR (Import): at is then when
	// it was sent there.
	imported *importedCredit
}

// post writes one message into thread t with everything that follows from it —
// attachments, the request it makes, the response-time ledger, its event and
// notifications — and returns it as its sender sees it. The thread must be open.
func (s *Service) post(ctx context.Context, tx *store.Tx, t threadRow, o outgoing) (Message, error) {
	side := sideOf(o.sender.Role)
	kind := o.msg.Kind
	c := content{Body: o.msg.Body, PreferredSlots: o.msg.PreferredSlots}
	if o.answer != nil {
		kind = contract.KindRequestAnswer
		c = content{Body: o.answer.Body, Outcome: o.answer.Outcome, Reason: o.answer.Reason, BookedSlot: o.answer.BookedSlot}
	}
	direction := contract.DirectionPatientToProvider
	if side == careTeamSide {
		direction = contract.DirectionProviderToPatient
		if t.kind == ConsultThread {
			direction = contract.DirectionProviderToProvider
		}
	}
	if o.msg.InReplyTo != "" {
		repliedSide, err := sideOfMessage(ctx, tx, t.id, o.msg.InReplyTo)
		if err != nil {
			return Message{}, err
		}
		if side == careTeamSide && repliedSide == patientSide && t.kind != ConsultThread {
			direction = contract.DirectionReply
		}
	}

	// Taking the next sequence number locks the thread row first, so concurrent posts
	// to one thread commit, and publish, in order; a closed thread takes no more.
	var seq int
	err := tx.QueryRowContext(ctx, `UPDATE threads SET message_count = message_count + 1, last_message_at = ?
		WHERE id = ? AND status = ? RETURNING message_count`, micros(o.at), t.id, Open).Scan(&seq)
	if err != nil {
		if isNoRows(err) {
			return Message{}, errs.E(errs.Conflict, "the thread is closed")
		}
		return Message{}, fmt.Errorf("number message: %w", err)
	}
	id := newID()
	plain, err := json.Marshal(c)
	if err != nil {
		return Message{}, fmt.Errorf("encode message content: %w", err)
	}
	kid, sealed, err := seal(s.keys, plain, "message", id, "content")
	if err != nil {
		return Message{}, err
	}
	if err := exec(ctx, tx, "insert message", `INSERT INTO messages (id, thread_id, seq, kind, side, sender_role,
		sender_id, in_reply_to, medication_id, key_id, content, attachments, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, t.id, seq, kind, side, o.sender.Role, o.sender.ID, o.msg.InReplyTo, o.msg.MedicationID, kid, sealed,
		len(o.msg.Attachments), micros(o.at)); err != nil {
		return Message{}, err
	}
	view := Message{
		ID: id, ThreadID: t.id, Seq: seq, Kind: kind, Sender: o.sender, Body: c.Body, InReplyTo: o.msg.InReplyTo,
		MedicationID: o.msg.MedicationID, PreferredSlots: c.PreferredSlots, Attachments: []Attachment{}, ReadBy: []Receipt{},
		Sent: o.at,
	}
	if o.answer != nil {
		view.Answer = &Answer{RequestID: o.msg.InReplyTo, Outcome: c.Outcome, Reason: c.Reason, BookedSlot: c.BookedSlot}
	}
	for i, a := range o.msg.Attachments {
		att, err := s.insertAttachment(ctx, tx, id, i, a)
		if err != nil {
			return Message{}, err
		}
		view.Attachments = append(view.Attachments, att)
	}
	if isRequest(kind) {
		view.Request = &Request{Status: RequestOpen}
		if err := exec(ctx, tx, "insert request", `INSERT INTO requests (message_id, thread_id, clinic_id, patient_id,
			kind, status, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, t.id, t.clinicID, t.patientID, kind, RequestOpen, micros(o.at)); err != nil {
			return Message{}, err
		}
	}
	if o.imported == nil {
		if err := s.ledger(ctx, tx, t, id, side, o.at); err != nil {
			return Message{}, err
		}
	}

	cl := s.clinics.Get(t.clinicID)
	sent := contract.SecureMessage{
		MessageID: id, ThreadID: t.id, PatientID: t.patientID, ClinicID: t.clinicID, Kind: kind,
		Direction: direction, SenderRole: o.sender.Role, SenderID: o.sender.ID, TIN: cl.TIN,
		InReplyTo: o.msg.InReplyTo, Attachments: len(o.msg.Attachments), Sent: o.at,
	}
	if o.sender.Role == contract.RoleClinician {
		sent.NPI = o.sender.ID
	}
	recorded := o.at
	if o.imported != nil {
		recorded = o.imported.recorded
		if o.imported.tin != "" {
			sent.TIN = o.imported.tin
		}
		sent.CCN = o.imported.ccn
	}
	for _, npi := range t.clinicians {
		if npi != sent.NPI {
			sent.RecipientNPIs = append(sent.RecipientNPIs, npi)
		}
	}
	if err := addEventRecorded(ctx, tx, contract.TopicMessage, contract.MessageSent, t.patientID, o.at, recorded, sent); err != nil {
		return Message{}, err
	}
	if o.imported != nil {
		return view, nil
	}
	return view, s.notifyRecipients(ctx, tx, t, o.sender, id, o.at)
}

func (s *Service) insertAttachment(ctx context.Context, tx *store.Tx, messageID string, pos int, a NewAttachment) (Attachment, error) {
	id := newID()
	kid, name, err := seal(s.keys, []byte(a.Name.Reveal()), "attachment", id, "name")
	if err != nil {
		return Attachment{}, err
	}
	// Sealed under the same key as the name: both come from the one active key.
	_, data, err := seal(s.keys, a.Data, "attachment", id, "data")
	if err != nil {
		return Attachment{}, err
	}
	err = exec(ctx, tx, "insert attachment", `INSERT INTO attachments (id, message_id, position, content_type, size,
		key_id, name, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, messageID, pos, a.ContentType, len(a.Data), kid, name, data)
	return Attachment{ID: id, ContentType: a.ContentType, Size: len(a.Data), Name: a.Name}, err
}

// sideOfMessage returns the side that sent a message of the thread. A message of
// another thread, or none, is Invalid: a reply stays in its thread.
func sideOfMessage(ctx context.Context, q queryer, threadID, messageID string) (string, error) {
	var side string
	err := q.QueryRowContext(ctx, `SELECT side FROM messages WHERE id = ? AND thread_id = ?`, messageID, threadID).Scan(&side)
	if isNoRows(err) {
		return "", errs.Field(errs.Invalid, "in_reply_to", "not a message of this thread")
	}
	if err != nil {
		return "", fmt.Errorf("read replied message: %w", err)
	}
	return side, nil
}

// ledger keeps the response-time ledger: a patient-side message waits for a
// response; a care-team message answers everything waiting in the thread, each
// measured in the clinic's business hours from when it was sent.
func (s *Service) ledger(ctx context.Context, tx *store.Tx, t threadRow, messageID, side string, at time.Time) error {
	if side == patientSide {
		return exec(ctx, tx, "open response", `INSERT INTO responses (message_id, thread_id, clinic_id, patient_id,
			sent_at, outcome) VALUES (?, ?, ?, ?, ?, ?)`, messageID, t.id, t.clinicID, t.patientID, micros(at), outcomeOpen)
	}
	waiting, err := waitingIn(ctx, tx, t.id)
	if err != nil {
		return err
	}
	cl := s.clinics.Get(t.clinicID)
	for _, w := range waiting {
		business := cl.BusinessTime(fromMicros(w.sent), at)
		if err := exec(ctx, tx, "record response", `UPDATE responses SET outcome = ?, response_message_id = ?,
			resolved_at = ?, business_seconds = ? WHERE message_id = ?`,
			outcomeResponded, messageID, micros(at), int64(business/time.Second), w.messageID); err != nil {
			return err
		}
	}
	return nil
}

// waiting is a patient-side message with no response yet.
type waiting struct {
	messageID string
	sent      int64
}

func waitingIn(ctx context.Context, q queryer, threadID string) ([]waiting, error) {
	rows, err := q.QueryContext(ctx, `SELECT message_id, sent_at FROM responses WHERE thread_id = ? AND outcome = ?`,
		threadID, outcomeOpen)
	if err != nil {
		return nil, fmt.Errorf("read waiting messages: %w", err)
	}
	defer rows.Close()
	var out []waiting
	for rows.Next() {
		var w waiting
		if err := rows.Scan(&w.messageID, &w.sent); err != nil {
			return nil, fmt.Errorf("scan waiting message: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// notifyRecipients asks the notifier to tell the other side: the patient and their
// representatives when the care team writes, the named clinicians (or the clinic's
// queue, for a pool thread) when the patient's side writes, and in a consult the
// other clinicians too. The sender is never told.
func (s *Service) notifyRecipients(ctx context.Context, tx *store.Tx, t threadRow, sender Party, messageID string, at time.Time) error {
	var to []Party
	if sideOf(sender.Role) == careTeamSide {
		to = append(to, Party{contract.RecipientPatient, t.patientID})
		proxies, err := readers(ctx, tx, t.patientID, at)
		if err != nil {
			return err
		}
		for _, p := range proxies {
			to = append(to, Party{contract.RecipientProxy, p})
		}
	}
	if sideOf(sender.Role) == patientSide || t.kind == ConsultThread {
		for _, npi := range t.clinicians {
			to = append(to, Party{contract.RecipientClinician, npi})
		}
		if t.kind == PoolThread {
			to = append(to, Party{contract.RecipientClinic, t.clinicID})
		}
	}
	senderAs := map[string]string{contract.RolePatient: contract.RecipientPatient, contract.RoleProxy: contract.RecipientProxy,
		contract.RoleClinician: contract.RecipientClinician}[sender.Role]
	for _, r := range to {
		if r.Role == senderAs && r.ID == sender.ID {
			continue
		}
		n := contract.Notification{RecipientKind: r.Role, RecipientID: r.ID, PatientID: t.patientID,
			ThreadID: t.id, MessageID: messageID}
		if err := s.notifier.Notify(ctx, tx, n, at); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	return nil
}

// readers are the representatives allowed to read the patient's threads at now.
func readers(ctx context.Context, q queryer, patientID string, now time.Time) ([]string, error) {
	at := micros(now)
	rows, err := q.QueryContext(ctx, `SELECT proxy_id, scopes FROM proxy_grants WHERE patient_id = ?
		AND valid_from <= ? AND (valid_until IS NULL OR valid_until > ?) ORDER BY proxy_id`, patientID, at, at)
	if err != nil {
		return nil, fmt.Errorf("read proxy grants: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, sc string
		if err := rows.Scan(&id, &sc); err != nil {
			return nil, fmt.Errorf("scan proxy grant: %w", err)
		}
		if (grant{scopes: splitScopes(sc)}).has(ScopeRead) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

func insertThread(ctx context.Context, tx *store.Tx, t threadRow) error {
	if err := exec(ctx, tx, "insert thread", `INSERT INTO threads (id, kind, patient_id, clinic_id, key_id, subject,
		status, created_by_role, created_by_id, created_at, last_message_at, message_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		t.id, t.kind, t.patientID, t.clinicID, t.keyID, t.subject, t.status, t.createdBy.Role, t.createdBy.ID,
		t.created, t.lastMessageAt); err != nil {
		return err
	}
	for _, npi := range t.clinicians {
		if err := exec(ctx, tx, "insert thread clinician", `INSERT INTO thread_clinicians (thread_id, npi) VALUES (?, ?)`,
			t.id, npi); err != nil {
			return err
		}
	}
	return nil
}

// addEvent writes one event, keyed by the patient, to the outbox in tx.
func addEvent(ctx context.Context, tx *store.Tx, topic, typ, patientID string, at time.Time, payload any) error {
	return addEventRecorded(ctx, tx, topic, typ, patientID, at, at, payload)
}

// addEventRecorded queues an event that happened at at and was recorded at recorded.
func addEventRecorded(ctx context.Context, tx *store.Tx, topic, typ, patientID string, at, recorded time.Time, payload any) error {
	ev, err := event.New(typ, source, patientID, at, recorded, payload)
	if err != nil {
		return err
	}
	return outbox.Add(ctx, tx, topic, ev)
}

// Close closes a thread: nothing more can be posted to it, and patient messages still
// waiting for a response leave the open list as closed unanswered. Closing a closed
// thread changes nothing.
func (s *Service) Close(ctx context.Context, p principal.Principal, threadID string) (Thread, error) {
	now := s.clock()
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		t, r, err := participation(ctx, tx, p, threadID, now)
		switch {
		case err != nil:
			return err
		case !r.post:
			return errs.E(errs.Forbidden, "the caller may read this thread but not close it")
		case t.status == Closed:
			return nil
		}
		by := partyOf(p)
		if err := exec(ctx, tx, "close thread", `UPDATE threads SET status = ?, closed_by_role = ?, closed_by_id = ?,
			closed_at = ? WHERE id = ?`, Closed, by.Role, by.ID, micros(now), t.id); err != nil {
			return err
		}
		if err := exec(ctx, tx, "close waiting responses", `UPDATE responses SET outcome = ?, resolved_at = ?
			WHERE thread_id = ? AND outcome = ?`, outcomeClosed, micros(now), t.id, outcomeOpen); err != nil {
			return err
		}
		changed = true
		return addEvent(ctx, tx, contract.TopicThread, contract.ThreadClosed, t.patientID, now, contract.ThreadClosure{
			ThreadID: t.id, PatientID: t.patientID, ClinicID: t.clinicID, ClosedByRole: by.Role, ClosedByID: by.ID, Closed: now,
		})
	})
	if err != nil {
		return Thread{}, err
	}
	if changed {
		s.notify()
	}
	return s.Thread(ctx, p, threadID)
}

// MarkRead records that the caller read a message. The first read by someone other
// than the sender publishes messaging.message.read; reading again, or one's own
// message, changes nothing.
func (s *Service) MarkRead(ctx context.Context, p principal.Principal, threadID, messageID string) error {
	now := s.clock()
	changed := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		t, _, err := participation(ctx, tx, p, threadID, now)
		if err != nil {
			return err
		}
		var sender Party
		err = tx.QueryRowContext(ctx, `SELECT sender_role, sender_id FROM messages WHERE id = ? AND thread_id = ?`,
			messageID, threadID).Scan(&sender.Role, &sender.ID)
		if isNoRows(err) {
			return errs.E(errs.NotFound, "no such message")
		}
		if err != nil {
			return fmt.Errorf("read message: %w", err)
		}
		reader := partyOf(p)
		if reader == sender {
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO receipts (message_id, thread_id, reader_role, reader_id, read_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, messageID, t.id, reader.Role, reader.ID, micros(now))
		if err != nil {
			return fmt.Errorf("insert receipt: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		changed = true
		return addEvent(ctx, tx, contract.TopicMessage, contract.MessageRead, t.patientID, now, contract.MessageReceipt{
			MessageID: messageID, ThreadID: t.id, PatientID: t.patientID, ReaderRole: reader.Role, ReaderID: reader.ID, Read: now,
		})
	})
	if err == nil && changed {
		s.notify()
	}
	return err
}

// mayReport reports whether p may see a clinic's response times: its care team and
// administrators, and compliance officers and auditors of every clinic.
func mayReport(p principal.Principal, clinicID string) error {
	switch p.Kind {
	case principal.Officer, principal.Auditor:
		return nil
	case principal.Clinician, principal.Staff, principal.ClinicAdmin:
		if slices.Contains(p.Clinics, clinicID) {
			return nil
		}
	}
	return errs.E(errs.Forbidden, "only the clinic's care team and administrators see its response times")
}
