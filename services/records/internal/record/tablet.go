package record

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/records/internal/resource"
	"github.com/attest-ehr/attest/services/records/internal/wipe"
)

// Device is a shared tablet or kiosk, enrolled with the Ed25519 public key it signs its
// wipe statements with. A device with sessions cannot be deleted; retire it instead.
type Device struct {
	resource.Meta
	OrganizationID string `json:"organization_id"`
	Kind           string `json:"kind"`
	Name           string `json:"name,omitempty"`
	PublicKey      []byte `json:"public_key"` // base64 of the 32-byte Ed25519 public key
	Retired        bool   `json:"retired,omitempty"`
}

func (d *Device) validate() error {
	err := first(
		requiredID("organization_id", d.OrganizationID),
		oneOf("kind", d.Kind, contract.DeviceTablet, contract.DeviceKiosk),
	)
	switch {
	case err != nil:
	case len(d.Name) > 200:
		err = invalid("name", "longer than 200 characters")
	case len(d.PublicKey) != ed25519.PublicKeySize:
		err = invalid("public_key", "base64 of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
	}
	return err
}

// TabletSession is a shared device checked out to a patient. The patient uploads
// self-reported observations until the device is checked in, which takes the device's
// signed statement of what it cleared.
type TabletSession struct {
	ID        string     `json:"id"`
	DeviceID  string     `json:"device_id"`
	PatientID string     `json:"patient_id"`
	Started   time.Time  `json:"started"`
	Wiped     *time.Time `json:"wiped,omitempty"`
	Cleared   []string   `json:"cleared,omitempty"`
	Uploads   int        `json:"uploads"`
	Version   int        `json:"version"`
}

func (t *TabletSession) contract() contract.TabletSession {
	return contract.TabletSession{SessionID: t.ID, PatientID: t.PatientID, DeviceID: t.DeviceID,
		Started: t.Started.UTC(), Wiped: utc(t.Wiped), Cleared: t.Cleared, Uploads: t.Uploads}
}

// CheckOut asks for a device to be checked out to a patient; ID is optional.
type CheckOut struct {
	ID        string `json:"id,omitempty"`
	DeviceID  string `json:"device_id"`
	PatientID string `json:"patient_id"`
}

// Upload is an observation the patient reports in a session: a vital sign whose
// patient, performer, device and session the session gives.
type Upload struct {
	ID         string        `json:"id,omitempty"`
	Code       contract.Code `json:"code"`
	Value      *Quantity     `json:"value,omitempty"`
	Components []Component   `json:"components,omitempty"`
	Effective  time.Time     `json:"effective"`
}

// Wipe is a check-in: the device's wipe statement and its Ed25519 signature, both
// base64 (see package wipe).
type Wipe struct {
	Statement []byte `json:"statement"`
	Signature []byte `json:"signature"`
}

// AuditEntry is one line of a device's audit trail: who used it, when, for what.
type AuditEntry struct {
	ID        string    `json:"id"`
	DeviceID  string    `json:"device_id"`
	SessionID string    `json:"session_id"`
	PatientID string    `json:"patient_id"`
	Action    string    `json:"action"` // checked-out, uploaded, wiped
	At        time.Time `json:"at"`
}

// Audit actions.
const (
	auditCheckedOut = "checked-out"
	auditUploaded   = "uploaded"
	auditWiped      = "wiped"
)

// clockSkew is how far in the future a device's wipe time may be: device clocks drift.
const clockSkew = 5 * time.Minute

// uploadKey marks the context of a tablet upload, the one flow that may set a vital
// sign's device and session.
type uploadKey struct{}

func uploading(ctx context.Context) bool {
	v, _ := ctx.Value(uploadKey{}).(bool)
	return v
}

func (s *Service) defineDevices() {
	s.Devices = resource.New(s.store, resource.Def[Device]{
		Name: "device", Path: "devices", Table: "devices", Topic: contract.TopicDevice,
		Recorded: contract.DeviceRecorded, Corrected: contract.DeviceCorrected, Deleted: contract.DeviceDeleted,
		Subject:  func(d *Device) string { return d.ID },
		Validate: (*Device).validate,
		Check: func(ctx context.Context, tx *resource.Tx, d *Device) error {
			return s.Organizations.Require(ctx, tx, "organization_id", d.OrganizationID, "")
		},
		OnDelete: func(ctx context.Context, tx *resource.Tx, d *Device) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tablet_sessions WHERE device_id = ?`, d.ID).Scan(&n); err != nil {
				return fmt.Errorf("count device sessions: %w", err)
			}
			if n > 0 {
				return errs.Field(errs.Conflict, "id", "the device has sessions; retire it (retired: true) instead")
			}
			return nil
		},
		Payload: func(d *Device) any {
			return contract.Device{DeviceID: d.ID, OrganizationID: d.OrganizationID, Kind: d.Kind}
		},
		Ref: func(d *Device) any { return contract.DeviceRef{DeviceID: d.ID} },
	})
}

// tabletRoutes registers the shared-tablet flow:
//
//	POST /v1/tablet-sessions               check a device out to a patient
//	GET  /v1/tablet-sessions/{id}
//	POST /v1/tablet-sessions/{id}/uploads  a self-reported observation (a vital sign)
//	POST /v1/tablet-sessions/{id}/wipe     check the device in with its signed wipe statement
//	GET  /v1/devices/{id}/audit            the device's audit trail
func (s *Service) tabletRoutes(m *resource.Mux) {
	log := m.Log()
	session := resource.TypeOf[TabletSession]()
	m.Handle("POST /v1/tablet-sessions", resource.Document(resource.Op{ID: "tablet-sessions.check-out",
		Summary: "Check a device out to a patient", Request: resource.TypeOf[CheckOut](), Idempotent: true,
		Responses: map[int]reflect.Type{http.StatusCreated: session, http.StatusOK: session}},
		resource.Idempotent(resource.Handler(log, resource.Body[CheckOut], s.checkOut), log)))
	m.Handle("GET /v1/tablet-sessions/{id}", resource.Document(resource.Op{ID: "tablet-sessions.read",
		Summary: "Read a tablet session", Responses: map[int]reflect.Type{http.StatusOK: session}},
		resource.Handler(log, resource.PathID, func(ctx context.Context, id string) (resource.Reply, error) {
			t, err := s.TabletSession(ctx, id)
			if err != nil {
				return resource.Reply{}, err
			}
			return resource.JSON(http.StatusOK, t)
		})))
	vital := resource.TypeOf[VitalSign]()
	m.Handle("POST /v1/tablet-sessions/{id}/uploads", resource.Document(resource.Op{ID: "tablet-sessions.upload",
		Summary: "Upload a self-reported observation", Request: resource.TypeOf[Upload](), Idempotent: true,
		Responses: map[int]reflect.Type{http.StatusCreated: vital, http.StatusOK: vital}},
		resource.Idempotent(resource.Handler(log, withID[Upload],
			func(ctx context.Context, r idAnd[Upload]) (resource.Reply, error) { return s.upload(ctx, r.id, r.in) }), log)))
	m.Handle("POST /v1/tablet-sessions/{id}/wipe", resource.Document(resource.Op{ID: "tablet-sessions.wipe",
		Summary: "Check the device in with its signed wipe statement", Request: resource.TypeOf[Wipe](), Idempotent: true,
		Responses: map[int]reflect.Type{http.StatusOK: session}},
		resource.Idempotent(resource.Handler(log, withID[Wipe],
			func(ctx context.Context, r idAnd[Wipe]) (resource.Reply, error) { return s.wipe(ctx, r.id, r.in) }), log)))
	m.Handle("GET /v1/devices/{id}/audit", resource.Document(resource.Op{ID: "devices.audit",
		Summary: "Read a device's audit trail", Responses: map[int]reflect.Type{http.StatusOK: resource.TypeOf[resource.Page[AuditEntry]]()}},
		resource.Handler(log, resource.PathID, func(ctx context.Context, id string) (resource.Reply, error) {
			entries, err := s.DeviceAudit(ctx, id)
			if err != nil {
				return resource.Reply{}, err
			}
			return resource.JSON(http.StatusOK, resource.Page[AuditEntry]{Items: entries})
		})))
}

// idAnd is a request naming a resource in its path, with a body.
type idAnd[A any] struct {
	id string
	in A
}

func withID[A any](r *http.Request) (idAnd[A], error) {
	id, err := resource.PathID(r)
	if err != nil {
		return idAnd[A]{}, err
	}
	in, err := resource.Body[A](r)
	return idAnd[A]{id, in}, err
}

// CheckOutDevice checks a device out to a patient and publishes
// records.tablet-session.started. A device whose last session is not wiped is a
// Conflict: it cannot go to a new patient before it was wiped. A retired device, an
// unknown device or patient is Unprocessable.
func (s *Service) CheckOutDevice(ctx context.Context, c CheckOut) (TabletSession, error) {
	return replyAs[TabletSession](s.checkOut(ctx, c))
}

func (s *Service) checkOut(ctx context.Context, c CheckOut) (resource.Reply, error) {
	if err := first(optionalID("id", c.ID), requiredID("device_id", c.DeviceID), requiredID("patient_id", c.PatientID)); err != nil {
		return resource.Reply{}, err
	}
	return s.store.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		if c.ID != "" {
			old, err := loadSession(ctx, tx, c.ID)
			switch {
			case err == nil && old.DeviceID == c.DeviceID && old.PatientID == c.PatientID:
				return resource.JSON(http.StatusOK, old) // a retry
			case err == nil:
				return resource.Reply{}, errs.Field(errs.Conflict, "id", "a different session with this id exists")
			case !errs.Is(errs.NotFound, err):
				return resource.Reply{}, err
			}
		}
		if err := first(s.Devices.Require(ctx, tx, "device_id", c.DeviceID, ""), s.requirePatient(ctx, tx, c.PatientID)); err != nil {
			return resource.Reply{}, err
		}
		d, err := s.Devices.Load(ctx, tx, c.DeviceID)
		if err != nil {
			return resource.Reply{}, err
		}
		if d.Retired {
			return resource.Reply{}, unprocessable("device_id", "the device is retired")
		}
		if open, err := openSession(ctx, tx, c.DeviceID); err != nil || open {
			return resource.Reply{}, orElse(err, errUnwiped())
		}
		t := TabletSession{ID: c.ID, DeviceID: c.DeviceID, PatientID: c.PatientID, Started: tx.Now, Version: 1}
		if t.ID == "" {
			t.ID = resource.NewID()
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO tablet_sessions (id, device_id, patient_id, started, version)
			VALUES (?, ?, ?, ?, ?)`, t.ID, t.DeviceID, t.PatientID, t.Started, t.Version)
		if store.IsUniqueViolation(err) {
			return resource.Reply{}, errUnwiped() // checked out concurrently: the open-session index holds
		}
		if err != nil {
			return resource.Reply{}, fmt.Errorf("insert tablet session: %w", err)
		}
		if err := s.audit(ctx, tx, &t, auditCheckedOut); err != nil {
			return resource.Reply{}, err
		}
		if err := tx.Publish(ctx, contract.TopicTabletSession, contract.TabletSessionStarted, t.PatientID, t.Started,
			t.contract()); err != nil {
			return resource.Reply{}, err
		}
		return resource.Created(true, t)
	})
}

func errUnwiped() error {
	return errs.Field(errs.Conflict, "device_id", "the device's last session is not wiped; check it in first")
}

// UploadVitalSign records a self-reported observation in a session: a vital sign with
// the session's patient, performer patient, and the device and session set, published
// as records.vital-sign.recorded and audited. After check-in it is a Conflict.
func (s *Service) UploadVitalSign(ctx context.Context, sessionID string, u Upload) (VitalSign, error) {
	return replyAs[VitalSign](s.upload(ctx, sessionID, u))
}

func (s *Service) upload(ctx context.Context, sessionID string, u Upload) (resource.Reply, error) {
	return s.store.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		t, err := loadSession(ctx, tx, sessionID)
		if err != nil {
			return resource.Reply{}, err
		}
		if t.Wiped != nil {
			return resource.Reply{}, errs.Field(errs.Conflict, "id", "the session was checked in (wiped); uploads are refused")
		}
		v := VitalSign{Meta: resource.Meta{ID: u.ID}, PatientID: t.PatientID, Code: u.Code, Value: u.Value,
			Components: u.Components, Effective: u.Effective, Performer: contract.PerformerPatient,
			DeviceID: t.DeviceID, SessionID: t.ID}
		v, created, err := s.VitalSigns.Insert(context.WithValue(ctx, uploadKey{}, true), tx, v)
		if err != nil {
			return resource.Reply{}, err
		}
		if !created {
			return resource.Created(false, &v) // a retry of this upload
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tablet_sessions SET uploads = uploads + 1, version = version + 1
			WHERE id = ?`, t.ID); err != nil {
			return resource.Reply{}, fmt.Errorf("count upload: %w", err)
		}
		if err := s.audit(ctx, tx, &t, auditUploaded); err != nil {
			return resource.Reply{}, err
		}
		return resource.Created(true, &v)
	})
}

// WipeDevice checks a session's device in: the device's signed statement must verify
// with its enrolled key and name the device and session, say it cleared everything
// wipe.Required lists, and be timed within the session. It publishes
// records.tablet-session.wiped; after it the device may go to another patient and the
// session takes no upload.
func (s *Service) WipeDevice(ctx context.Context, sessionID string, w Wipe) (TabletSession, error) {
	return replyAs[TabletSession](s.wipe(ctx, sessionID, w))
}

func (s *Service) wipe(ctx context.Context, sessionID string, w Wipe) (resource.Reply, error) {
	return s.store.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		t, err := loadSession(ctx, tx, sessionID)
		if err != nil {
			return resource.Reply{}, err
		}
		if t.Wiped != nil {
			return resource.Reply{}, errs.Field(errs.Conflict, "id", "the session was already checked in")
		}
		d, err := s.Devices.Load(ctx, tx, t.DeviceID)
		if err != nil {
			return resource.Reply{}, err
		}
		st, err := wipe.Verify(d.PublicKey, w.Statement, w.Signature, t.DeviceID, t.ID)
		switch {
		case err != nil:
			return resource.Reply{}, err
		case st.Wiped.Before(t.Started):
			return resource.Reply{}, unprocessable("statement.wiped", "before the session started")
		case st.Wiped.After(tx.Now.Add(clockSkew)):
			return resource.Reply{}, unprocessable("statement.wiped", "in the future")
		}
		wiped := st.Wiped.UTC()
		cleared, err := json.Marshal(st.Cleared)
		if err != nil {
			return resource.Reply{}, fmt.Errorf("encode cleared: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE tablet_sessions SET wiped = ?, cleared = ?, statement = ?, signature = ?,
			version = version + 1 WHERE id = ? AND wiped IS NULL`, wiped, string(cleared),
			base64.StdEncoding.EncodeToString(w.Statement), base64.StdEncoding.EncodeToString(w.Signature), t.ID)
		if err != nil {
			return resource.Reply{}, fmt.Errorf("wipe tablet session: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return resource.Reply{}, orElse(err, errs.Field(errs.Conflict, "id", "the session was already checked in"))
		}
		t.Wiped, t.Cleared, t.Version = &wiped, st.Cleared, t.Version+1
		if err := s.audit(ctx, tx, &t, auditWiped); err != nil {
			return resource.Reply{}, err
		}
		if err := tx.Publish(ctx, contract.TopicTabletSession, contract.TabletSessionWiped, t.PatientID, wiped,
			t.contract()); err != nil {
			return resource.Reply{}, err
		}
		return resource.JSON(http.StatusOK, t)
	})
}

// TabletSession returns a session.
func (s *Service) TabletSession(ctx context.Context, id string) (TabletSession, error) {
	return loadSession(ctx, s.store.DB(), id)
}

// DeviceAudit returns a device's audit trail, oldest first.
func (s *Service) DeviceAudit(ctx context.Context, deviceID string) ([]AuditEntry, error) {
	if ok, err := s.Devices.Exists(ctx, s.store.DB(), deviceID); err != nil || !ok {
		return nil, orElse(err, errs.E(errs.NotFound, "no such device"))
	}
	rows, err := s.store.DB().QueryContext(ctx, `SELECT id, device_id, session_id, patient_id, action, at
		FROM tablet_audit WHERE device_id = ? ORDER BY at, id`, deviceID)
	if err != nil {
		return nil, fmt.Errorf("list device audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var a AuditEntry
		if err := rows.Scan(&a.ID, &a.DeviceID, &a.SessionID, &a.PatientID, &a.Action, &a.At); err != nil {
			return nil, fmt.Errorf("scan device audit: %w", err)
		}
		a.At = a.At.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// audit records one use of a device, in the transaction of the use.
func (s *Service) audit(ctx context.Context, tx *resource.Tx, t *TabletSession, action string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tablet_audit (id, device_id, session_id, patient_id, action, at)
		VALUES (?, ?, ?, ?, ?, ?)`, resource.NewID(), t.DeviceID, t.ID, t.PatientID, action, tx.Now)
	if err != nil {
		return fmt.Errorf("audit device use: %w", err)
	}
	return nil
}

// removeTabletSessions deletes a patient's tablet sessions, each with
// records.tablet-session.deleted, for the patient's deletion. A device still checked
// out to the patient is a Conflict: it must be wiped first. The audit trail stays.
func (s *Service) removeTabletSessions(ctx context.Context, tx *resource.Tx, patientID string) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+sessionColumns+` FROM tablet_sessions WHERE patient_id = ? ORDER BY id`, patientID)
	if err != nil {
		return fmt.Errorf("list tablet sessions: %w", err)
	}
	var sessions []TabletSession
	for rows.Next() {
		t, err := scanSession(rows)
		if err != nil {
			rows.Close()
			return err
		}
		sessions = append(sessions, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("list tablet sessions: %w", err)
	}
	for _, t := range sessions {
		if t.Wiped == nil {
			return errs.Field(errs.Conflict, "id", "a device is checked out to the patient; check it in (wipe) first")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tablet_sessions WHERE id = ?`, t.ID); err != nil {
			return fmt.Errorf("delete tablet session: %w", err)
		}
		if err := tx.Publish(ctx, contract.TopicTabletSession, contract.TabletSessionDeleted, t.PatientID, tx.Now,
			contract.TabletSessionRef{SessionID: t.ID, PatientID: t.PatientID, DeviceID: t.DeviceID}); err != nil {
			return err
		}
	}
	return nil
}

const sessionColumns = `id, device_id, patient_id, started, wiped, cleared, uploads, version`

func scanSession(row interface{ Scan(...any) error }) (TabletSession, error) {
	var (
		t       TabletSession
		wiped   sql.NullTime
		cleared string
	)
	if err := row.Scan(&t.ID, &t.DeviceID, &t.PatientID, &t.Started, &wiped, &cleared, &t.Uploads, &t.Version); err != nil {
		return TabletSession{}, err
	}
	t.Started = t.Started.UTC()
	if wiped.Valid {
		w := wiped.Time.UTC()
		t.Wiped = &w
	}
	if err := json.Unmarshal([]byte(cleared), &t.Cleared); err != nil {
		return TabletSession{}, fmt.Errorf("decode cleared of session %s: %w", t.ID, err)
	}
	return t, nil
}

func loadSession(ctx context.Context, q resource.Querier, id string) (TabletSession, error) {
	t, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM tablet_sessions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return TabletSession{}, errs.E(errs.NotFound, "no such tablet session")
	}
	if err != nil {
		return TabletSession{}, fmt.Errorf("load tablet session: %w", err)
	}
	return t, nil
}

// openSession reports whether the device has a session not wiped.
func openSession(ctx context.Context, q resource.Querier, deviceID string) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM tablet_sessions WHERE device_id = ? AND wiped IS NULL`,
		deviceID).Scan(&n); err != nil {
		return false, fmt.Errorf("find open session: %w", err)
	}
	return n > 0, nil
}

// replyAs decodes a reply's body, for the typed operations.
func replyAs[T any](r resource.Reply, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		return v, fmt.Errorf("decode reply: %w", err)
	}
	return v, nil
}
