package thread

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/libs/principal"
)

// Page sizes.
const (
	DefaultPage = 50
	MaxPage     = 200
)

// Filter narrows a listing of threads.
type Filter struct {
	Status    string // open or closed; "" for both
	PatientID string // one patient's threads
	ClinicID  string // one clinic's threads
	Limit     int    // 1 to MaxPage; 0 means DefaultPage
	Cursor    string // Page.Next of the previous page
}

// Page is one page of threads, most recently active first.
type Page struct {
	Threads []Thread `json:"threads"`
	Next    string   `json:"next,omitempty"` // the cursor of the next page, when there is one
}

// visible is the SQL condition, on threads t, of the threads p may read at now, with
// its arguments. Callers who never take part in threads see none.
func (s *Service) visible(ctx context.Context, p principal.Principal) (string, []any, error) {
	switch p.Kind {
	case principal.Patient:
		return "t.patient_id = ?", []any{p.ID}, nil
	case principal.Proxy:
		g, err := activeGrant(ctx, s.db, p.ID, p.For, s.clock())
		if err != nil || !g.has(ScopeRead) {
			return "1 = 0", nil, err
		}
		return "t.patient_id = ?", []any{p.For}, nil
	case principal.Clinician:
		cond := "t.id IN (SELECT thread_id FROM thread_clinicians WHERE npi = ?)"
		args := []any{p.ID}
		if len(p.Clinics) > 0 {
			cond = "(" + cond + " OR t.kind = ? AND t.clinic_id IN (" + placeholders(len(p.Clinics)) + "))"
			args = append(append(args, PoolThread), anys(p.Clinics)...)
		}
		return cond, args, nil
	case principal.Staff:
		if len(p.Clinics) == 0 {
			return "1 = 0", nil, nil
		}
		return "t.clinic_id IN (" + placeholders(len(p.Clinics)) + ")", anys(p.Clinics), nil
	}
	return "", nil, errs.E(errs.Forbidden, "only patients, their representatives and care teams have threads")
}

// Threads lists the threads the caller may read, most recently active first, each
// with the number of messages the caller has not read.
func (s *Service) Threads(ctx context.Context, p principal.Principal, f Filter) (Page, error) {
	if err := f.check(); err != nil {
		return Page{}, err
	}
	where, args, err := s.visible(ctx, p)
	if err != nil {
		return Page{}, err
	}
	if f.Status != "" {
		where += " AND t.status = ?"
		args = append(args, f.Status)
	}
	if f.PatientID != "" {
		where += " AND t.patient_id = ?"
		args = append(args, f.PatientID)
	}
	if f.ClinicID != "" {
		where += " AND t.clinic_id = ?"
		args = append(args, f.ClinicID)
	}
	if f.Cursor != "" {
		at, id, err := parseCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		where += " AND (t.last_message_at < ? OR t.last_message_at = ? AND t.id < ?)"
		args = append(args, at, at, id)
	}
	reader := partyOf(p)
	q := `SELECT ` + threadColumns + `, ` + unreadSQL + ` FROM threads t WHERE ` + where +
		` ORDER BY t.last_message_at DESC, t.id DESC LIMIT ?`
	args = append([]any{reader.Role, reader.ID, reader.Role, reader.ID}, args...)
	rows, err := s.db.QueryContext(ctx, q, append(args, f.Limit+1)...)
	if err != nil {
		return Page{}, fmt.Errorf("list threads: %w", err)
	}
	defer rows.Close()
	var (
		ts     []threadRow
		unread []int
		named  []string // threads that name clinicians: all but pool threads
	)
	for rows.Next() {
		var n int
		t, err := scanThread(rows, &n)
		if err != nil {
			return Page{}, fmt.Errorf("scan thread: %w", err)
		}
		ts, unread = append(ts, t), append(unread, n)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list threads: %w", err)
	}
	page := Page{Threads: []Thread{}}
	if len(ts) > f.Limit {
		last := ts[f.Limit-1]
		page.Next = cursor(last.lastMessageAt, last.id)
		ts = ts[:f.Limit]
	}
	for _, t := range ts {
		if t.kind != PoolThread {
			named = append(named, t.id)
		}
	}
	byThread, err := clinicians(ctx, s.db, named)
	if err != nil {
		return Page{}, err
	}
	for i, t := range ts {
		t.clinicians = byThread[t.id]
		v, err := t.view(s.keys, unread[i])
		if err != nil {
			return Page{}, err
		}
		page.Threads = append(page.Threads, v)
	}
	return page, nil
}

func (f *Filter) check() error {
	if f.Status != "" && f.Status != Open && f.Status != Closed {
		return errs.Field(errs.Invalid, "status", "must be open or closed")
	}
	if err := checkID("patient_id", f.PatientID, false); err != nil {
		return err
	}
	if err := checkID("clinic_id", f.ClinicID, false); err != nil {
		return err
	}
	return checkLimit(&f.Limit)
}

func checkLimit(limit *int) error {
	switch {
	case *limit == 0:
		*limit = DefaultPage
	case *limit < 0 || *limit > MaxPage:
		return errs.Field(errs.Invalid, "limit", "must be from 1 to %d", MaxPage)
	}
	return nil
}

// cursor encodes a position in the listing order; it is opaque to callers.
func cursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "|" + id))
}

func parseCursor(c string) (int64, string, error) {
	bad := errs.Field(errs.Invalid, "cursor", "not a cursor this API returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", bad
	}
	at, id, ok := strings.Cut(string(b), "|")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || checkID("cursor", id, true) != nil {
		return 0, "", bad
	}
	return n, id, nil
}

// unreadSQL is a reader's unread count in thread t: its messages, less the reader's
// own, less the reader's receipts (readers have none for their own messages). Its
// arguments are the reader's role and ID, twice.
const unreadSQL = `t.message_count
	- (SELECT count(*) FROM messages m WHERE m.thread_id = t.id AND m.sender_role = ? AND m.sender_id = ?)
	- (SELECT count(*) FROM receipts r WHERE r.thread_id = t.id AND r.reader_role = ? AND r.reader_id = ?)`

// readable returns the thread if p may read it, and errNoThread otherwise.
func (s *Service) readable(ctx context.Context, p principal.Principal, threadID string) (threadRow, error) {
	t, _, err := participation(ctx, s.db, p, threadID, s.clock())
	return t, err
}

// Thread returns a thread the caller may read.
func (s *Service) Thread(ctx context.Context, p principal.Principal, id string) (Thread, error) {
	t, err := s.readable(ctx, p, id)
	if err != nil {
		return Thread{}, err
	}
	reader := partyOf(p)
	var unread int
	err = s.db.QueryRowContext(ctx, `SELECT `+unreadSQL+` FROM threads t WHERE t.id = ?`,
		reader.Role, reader.ID, reader.Role, reader.ID, id).Scan(&unread)
	if err != nil {
		return Thread{}, fmt.Errorf("count unread messages: %w", err)
	}
	return t.view(s.keys, unread)
}

// Messages returns up to limit messages of a thread the caller may read, in order,
// those after sequence number after.
func (s *Service) Messages(ctx context.Context, p principal.Principal, threadID string, after, limit int) ([]Message, error) {
	if err := checkLimit(&limit); err != nil {
		return nil, err
	}
	if after < 0 {
		return nil, errs.Field(errs.Invalid, "after", "must not be negative")
	}
	if _, err := s.readable(ctx, p, threadID); err != nil {
		return nil, err
	}
	return s.messages(ctx, limit, `m.thread_id = ? AND m.seq > ? ORDER BY m.seq LIMIT ?`, threadID, after, limit)
}

// Message returns one message of a thread the caller may read.
func (s *Service) Message(ctx context.Context, p principal.Principal, threadID, messageID string) (Message, error) {
	if _, err := s.readable(ctx, p, threadID); err != nil {
		return Message{}, err
	}
	ms, err := s.messages(ctx, 1, `m.thread_id = ? AND m.id = ?`, threadID, messageID)
	if err != nil {
		return Message{}, err
	}
	if len(ms) == 0 {
		return Message{}, errs.E(errs.NotFound, "no such message")
	}
	return ms[0], nil
}

// ThreadOf returns the ID of the thread a message belongs to, if the caller may read
// it; otherwise the message is not found.
func (s *Service) ThreadOf(ctx context.Context, p principal.Principal, messageID string) (string, error) {
	var threadID string
	err := s.db.QueryRowContext(ctx, `SELECT thread_id FROM messages WHERE id = ?`, messageID).Scan(&threadID)
	if isNoRows(err) {
		return "", errs.E(errs.NotFound, "no such message")
	}
	if err != nil {
		return "", fmt.Errorf("find message: %w", err)
	}
	if _, err := s.readable(ctx, p, threadID); err != nil {
		return "", errs.E(errs.NotFound, "no such message")
	}
	return threadID, nil
}

// messages reads the messages matching where (on messages m), at most limit of
// them, with their requests, attachments and receipts, opened.
func (s *Service) messages(ctx context.Context, limit int, where string, args ...any) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+messageColumns+messageFrom+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	defer rows.Close()
	var (
		// A page is filled to its limit more often than not: sized once, a page of 50
		// is not copied six times as it grows (a tenth of the listing's allocated bytes).
		out      = make([]Message, 0, limit)
		ids      = make([]string, 0, limit)
		attached []string
	)
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("scan message: %w", err)
		}
		v, err := m.view(s.keys)
		if err != nil {
			return nil, err
		}
		out, ids = append(out, v), append(ids, m.id)
		if m.attachments > 0 {
			attached = append(attached, m.id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages: %w", err)
	}
	if len(out) == 0 {
		return []Message{}, nil
	}
	at := map[string]int{}
	for i, id := range ids {
		at[id] = i
	}
	if err := s.addAttachments(ctx, out, at, attached); err != nil {
		return nil, err
	}
	return out, s.addReceipts(ctx, out, at, ids)
}

func (s *Service) addAttachments(ctx context.Context, ms []Message, at map[string]int, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, message_id, content_type, size, key_id, name FROM attachments
		WHERE message_id IN (`+placeholders(len(ids))+`) ORDER BY message_id, position`, anys(ids)...)
	if err != nil {
		return fmt.Errorf("list attachments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a          Attachment
			msgID, kid string
			sealed     []byte
		)
		if err := rows.Scan(&a.ID, &msgID, &a.ContentType, &a.Size, &kid, &sealed); err != nil {
			return fmt.Errorf("scan attachment: %w", err)
		}
		name, err := s.keys.Open(kid, sealed, aad("attachment", a.ID, "name"))
		if err != nil {
			return fmt.Errorf("open attachment %s: %w", a.ID, err)
		}
		a.Name = phi.Text(name)
		ms[at[msgID]].Attachments = append(ms[at[msgID]].Attachments, a)
	}
	return rows.Err()
}

func (s *Service) addReceipts(ctx context.Context, ms []Message, at map[string]int, ids []string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT message_id, reader_role, reader_id, read_at FROM receipts
		WHERE message_id IN (`+placeholders(len(ids))+`) ORDER BY read_at, reader_role, reader_id`, anys(ids)...)
	if err != nil {
		return fmt.Errorf("list receipts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r     Receipt
			msgID string
			read  int64
		)
		if err := rows.Scan(&msgID, &r.Role, &r.ID, &read); err != nil {
			return fmt.Errorf("scan receipt: %w", err)
		}
		r.Read = fromMicros(read)
		ms[at[msgID]].ReadBy = append(ms[at[msgID]].ReadBy, r)
	}
	return rows.Err()
}

// File is an attachment's content.
type File struct {
	ContentType string
	Name        phi.Text
	Data        []byte
}

// AttachmentFile returns an attachment of a message in a thread the caller may read.
func (s *Service) AttachmentFile(ctx context.Context, p principal.Principal, threadID, messageID, attachmentID string) (File, error) {
	if _, err := s.readable(ctx, p, threadID); err != nil {
		return File{}, err
	}
	var (
		f          File
		kid        string
		name, data []byte
	)
	err := s.db.QueryRowContext(ctx, `SELECT a.content_type, a.key_id, a.name, a.data FROM attachments a
		JOIN messages m ON m.id = a.message_id WHERE a.id = ? AND a.message_id = ? AND m.thread_id = ?`,
		attachmentID, messageID, threadID).Scan(&f.ContentType, &kid, &name, &data)
	if isNoRows(err) {
		return File{}, errs.E(errs.NotFound, "no such attachment")
	}
	if err != nil {
		return File{}, fmt.Errorf("read attachment: %w", err)
	}
	if name, err = s.keys.Open(kid, name, aad("attachment", attachmentID, "name")); err != nil {
		return File{}, fmt.Errorf("open attachment %s: %w", attachmentID, err)
	}
	if f.Data, err = s.keys.Open(kid, data, aad("attachment", attachmentID, "data")); err != nil {
		return File{}, fmt.Errorf("open attachment %s: %w", attachmentID, err)
	}
	f.Name = phi.Text(name)
	return f, nil
}

// PatientMessages returns the newest messages, up to limit, of the patient's threads
// the caller may read; with kinds, only messages of those kinds.
func (s *Service) PatientMessages(ctx context.Context, p principal.Principal, patientID string, kinds []string, limit int) ([]Message, error) {
	if err := checkID("patient", patientID, true); err != nil {
		return nil, err
	}
	if err := checkLimit(&limit); err != nil {
		return nil, err
	}
	where, args, err := s.visible(ctx, p)
	if err != nil {
		return nil, err
	}
	cond := `m.thread_id IN (SELECT t.id FROM threads t WHERE ` + where + ` AND t.patient_id = ?)`
	args = append(args, patientID)
	if len(kinds) > 0 {
		cond += ` AND m.kind IN (` + placeholders(len(kinds)) + `)`
		args = append(args, anys(kinds)...)
	}
	return s.messages(ctx, limit, cond+` ORDER BY m.sent_at DESC, m.id DESC LIMIT ?`, append(args, limit)...)
}
