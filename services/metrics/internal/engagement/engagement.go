// Package engagement keeps the engagement KPIs clinic administrators watch, live:
// patient access provisioned (or declined) and used, secure messages sent, received and
// answered with their response times in business hours, requests answered, education
// provided and viewed, self-reported data uploaded, patient data incorporated, and
// shared tablets wiped. Each counted thing is one dated row, attributed to a clinic
// (the group's TIN, the hospital's CCN, or messaging's care-team pool) and a clinician
// (NPI) where its event names them; corrections replace it and deletions remove it, so
// reports add up exactly. Reports are per week, clinic and clinician; server-sent
// events tell watchers when something changed.
package engagement

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/store"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the package's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// Group is the consumer group that keeps the KPIs.
const Group = "metrics.engagement"

// Topics are the topics Group consumes.
func Topics() []string {
	return []string{contract.TopicAccessGrant, contract.TopicVDT, contract.TopicVitalSign, contract.TopicPGHD,
		contract.TopicTabletSession, contract.TopicMessage, contract.TopicRequest, contract.TopicMaterial}
}

// The KPIs, as rows are named.
const (
	AccessProvisioned = "access-provisioned" // a patient given online access (VDT or API)
	AccessDeclined    = "access-declined"    // offered access, and declined it
	PortalUse         = "portal-use"         // the patient (or a representative) viewed, downloaded, transmitted or used the API
	MessageSent       = "message-sent"       // a secure message from the care team
	MessageReceived   = "message-received"   // a secure message from the patient or a representative
	MessageAnswered   = "message-answered"   // a patient's message answered by the care team (keyed by the patient's message)
	RequestAnswered   = "request-answered"   // a refill or appointment request answered (keyed by the request)
	EducationProvided = "education-provided"
	EducationViewed   = "education-viewed"
	SelfReported      = "self-reported"     // a vital sign the patient uploaded (a shared tablet, a device)
	DataIncorporated  = "data-incorporated" // patient-generated data incorporated into the record
	TabletSession     = "tablet-session"    // a shared tablet checked out to a patient
	TabletWiped       = "tablet-wiped"      // checked in with a signed wipe of cache, cookies, storage and execution contexts
)

// wipe is what a complete wipe clears: the Clear-Site-Data directives.
var wipe = []string{"cache", "cookies", "storage", "executionContexts"}

// DefaultHours are the clinic hours response times are counted in.
var DefaultHours = calendar.Hours{Open: 8 * time.Hour, Close: 17 * time.Hour}

// ParseHours parses opening hours written "08:00-17:00".
func ParseHours(s string) (calendar.Hours, error) {
	var oh, om, ch, cm int
	if _, err := fmt.Sscanf(s, "%d:%d-%d:%d", &oh, &om, &ch, &cm); err != nil {
		return calendar.Hours{}, fmt.Errorf("opening hours %q: %w", s, err)
	}
	h := calendar.Hours{Open: time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute,
		Close: time.Duration(ch)*time.Hour + time.Duration(cm)*time.Minute}
	if om > 59 || cm > 59 || h.Open < 0 || h.Close > 24*time.Hour || h.Close <= h.Open {
		return calendar.Hours{}, fmt.Errorf("opening hours %q: not a span within a day", s)
	}
	return h, nil
}

// Change tells watchers what changed in one commit.
type Change struct {
	KPIs     []string `json:"kpis,omitempty"`     // the KPIs with rows added, changed or removed
	Weeks    []string `json:"weeks,omitempty"`    // the weeks they fall in
	Measures int      `json:"measures,omitempty"` // patients whose measure facts changed
}

// item is one KPI row.
type item struct {
	kpi, id, patient string
	at               time.Time
	clinic           string
	clinician        string
	value            int64
}

// Keeper is the event handler that keeps the KPI rows, in the tables named table.
type Keeper struct {
	db     *store.DB
	table  string
	group  string
	cal    *calendar.Calendar
	hours  calendar.Hours
	notify func(Change)
	log    *slog.Logger
	cache  *reports // the reports of the current data version (cache.go)
}

// NewKeeper returns a Keeper of db's live KPI rows; weeks and business hours are
// those of cal. notify, if not nil, is called after each commit that changed rows.
func NewKeeper(db *store.DB, cal *calendar.Calendar, hours calendar.Hours, notify func(Change), log *slog.Logger) *Keeper {
	if notify == nil {
		notify = func(Change) {}
	}
	return &Keeper{db: db, table: "kpi_items", group: Group, cal: cal, hours: hours, notify: notify, log: log,
		cache: newReports()}
}

// Rebuilding returns a Keeper like k that writes the rebuild table under group, and
// notifies no one: a replay fills it before swapping it in.
func (k *Keeper) Rebuilding(group string) *Keeper {
	r := *k
	r.table, r.group, r.notify = "rebuild_kpi_items", group, func(Change) {}
	r.cache = newReports()
	return &r
}

// Handle applies one event exactly once.
func (k *Keeper) Handle(ctx context.Context, e event.Event) error {
	return k.HandleBatch(ctx, []event.Event{e})
}

// HandleBatch applies events in one transaction.
func (k *Keeper) HandleBatch(ctx context.Context, es []event.Event) error {
	var c Change
	err := k.db.InTx(ctx, func(tx *store.Tx) error {
		c = Change{}
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.ID
		}
		first, err := outbox.ProcessedAll(ctx, tx, k.group, ids)
		if err != nil {
			return err
		}
		for i, e := range es {
			if !first[i] {
				continue
			}
			touched, err := k.apply(ctx, tx, e)
			if err != nil {
				return err
			}
			for _, it := range touched {
				c.add(it.kpi, k.week(it.at))
			}
		}
		if len(c.KPIs) == 0 {
			return nil
		}
		return k.bump(ctx, tx)
	})
	if err == nil && len(c.KPIs) > 0 {
		k.notify(c)
	}
	return err
}

func (c *Change) add(kpi, week string) {
	if !slices.Contains(c.KPIs, kpi) {
		c.KPIs = append(c.KPIs, kpi)
	}
	if week != "" && !slices.Contains(c.Weeks, week) {
		c.Weeks = append(c.Weeks, week)
	}
}

// week is the Monday of t's week in the calendar's zone, "" for the zero time.
func (k *Keeper) week(t time.Time) string { return weekOf(t, k.cal.Location()) }

func weekOf(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	monday := t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
	return monday.Format(time.DateOnly)
}

// clinicOf is the clinic a group's or hospital's event counts for.
func clinicOf(tin, ccn string) string {
	if tin != "" {
		return contract.Entity{Kind: contract.EntityTIN, ID: tin}.String()
	}
	if ccn != "" {
		return contract.Entity{Kind: contract.EntityCCN, ID: ccn}.String()
	}
	return ""
}

// apply applies one event and returns the rows it put or removed.
func (k *Keeper) apply(ctx context.Context, tx *store.Tx, e event.Event) ([]item, error) {
	switch e.Type {
	case contract.AccessGrantRecorded, contract.AccessGrantCorrected:
		var g contract.AccessGrant
		if err := decode(e, &g, &g.AccessGrantID, &g.PatientID); err != nil {
			return nil, err
		}
		kpi := AccessProvisioned
		if g.OptedOut {
			kpi = AccessDeclined
		}
		return k.replace(ctx, tx, []string{AccessProvisioned, AccessDeclined}, g.AccessGrantID,
			item{kpi: kpi, id: g.AccessGrantID, patient: g.PatientID, at: g.Granted, clinic: clinicOf(g.TIN, g.CCN), clinician: g.NPI})
	case contract.AccessGrantDeleted:
		var r contract.AccessGrantRef
		if err := decode(e, &r, &r.AccessGrantID, &r.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{AccessProvisioned, AccessDeclined}, r.AccessGrantID)
	case contract.VDTRecorded, contract.VDTCorrected:
		var v contract.VDT
		if err := decode(e, &v, &v.VDTID, &v.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{PortalUse}, v.VDTID, item{kpi: PortalUse, id: v.VDTID, patient: v.PatientID, at: v.Occurred})
	case contract.VDTDeleted:
		var r contract.VDTRef
		if err := decode(e, &r, &r.VDTID, &r.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{PortalUse}, r.VDTID)
	case contract.VitalSignRecorded, contract.VitalSignCorrected:
		var v contract.VitalSign
		if err := decode(e, &v, &v.VitalSignID, &v.PatientID); err != nil {
			return nil, err
		}
		var rows []item
		if v.Performer == contract.PerformerPatient {
			rows = append(rows, item{kpi: SelfReported, id: v.VitalSignID, patient: v.PatientID, at: v.Effective})
		}
		return k.replace(ctx, tx, []string{SelfReported}, v.VitalSignID, rows...)
	case contract.VitalSignDeleted:
		var r contract.VitalSignRef
		if err := decode(e, &r, &r.VitalSignID, &r.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{SelfReported}, r.VitalSignID)
	case contract.PGHDRecorded, contract.PGHDCorrected:
		var p contract.PGHD
		if err := decode(e, &p, &p.PGHDID, &p.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{DataIncorporated}, p.PGHDID, item{kpi: DataIncorporated, id: p.PGHDID,
			patient: p.PatientID, at: p.Incorporated, clinic: clinicOf(p.TIN, p.CCN), clinician: p.NPI})
	case contract.PGHDDeleted:
		var r contract.PGHDRef
		if err := decode(e, &r, &r.PGHDID, &r.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{DataIncorporated}, r.PGHDID)
	case contract.TabletSessionStarted, contract.TabletSessionWiped:
		var s contract.TabletSession
		if err := decode(e, &s, &s.SessionID, &s.PatientID); err != nil {
			return nil, err
		}
		rows := []item{{kpi: TabletSession, id: s.SessionID, patient: s.PatientID, at: s.Started}}
		if s.Wiped != nil && clearedAll(s.Cleared) {
			rows = append(rows, item{kpi: TabletWiped, id: s.SessionID, patient: s.PatientID, at: *s.Wiped,
				value: int64(s.Wiped.Sub(s.Started) / time.Second)})
		}
		return k.replace(ctx, tx, []string{TabletSession, TabletWiped}, s.SessionID, rows...)
	case contract.TabletSessionDeleted:
		var r contract.TabletSessionRef
		if err := decode(e, &r, &r.SessionID, &r.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{TabletSession, TabletWiped}, r.SessionID)
	case contract.MessageSent:
		var m contract.SecureMessage
		if err := decode(e, &m, &m.MessageID, &m.PatientID); err != nil {
			return nil, err
		}
		return k.message(ctx, tx, m)
	case contract.RequestAnswered:
		var a contract.RequestAnswer
		if err := decode(e, &a, &a.RequestID, &a.PatientID); err != nil {
			return nil, err
		}
		return k.first(ctx, tx, item{kpi: RequestAnswered, id: a.RequestID, patient: a.PatientID, at: a.Answered,
			clinic: a.ClinicID, clinician: a.NPI})
	case contract.MaterialProvided:
		var p contract.MaterialProvision
		if err := decode(e, &p, &p.ProvisionID, &p.PatientID); err != nil {
			return nil, err
		}
		return k.replace(ctx, tx, []string{EducationProvided}, p.ProvisionID, item{kpi: EducationProvided, id: p.ProvisionID,
			patient: p.PatientID, at: p.Provided, clinic: clinicOf(p.TIN, p.CCN), clinician: p.NPI})
	case contract.MaterialViewed:
		var v contract.MaterialView
		if err := decode(e, &v, &v.ProvisionID, &v.PatientID); err != nil {
			return nil, err
		}
		// The provision came first on the same topic and key: the view counts for
		// whoever provided the material.
		provided, err := k.row(ctx, tx, EducationProvided, v.ProvisionID)
		if err != nil {
			return nil, err
		}
		return k.first(ctx, tx, item{kpi: EducationViewed, id: v.ProvisionID, patient: v.PatientID, at: v.Viewed,
			clinic: provided.clinic, clinician: provided.clinician})
	}
	k.log.DebugContext(ctx, "ignoring event type", "type", e.Type, "id", e.ID)
	return nil, nil
}

// decode decodes e's payload into v and checks that it named an input and a patient:
// id and patient point into v.
func decode(e event.Event, v any, id, patient *string) error {
	if err := e.Decode(v); err != nil {
		return err
	}
	if *id == "" || *patient == "" {
		return event.Permanent(fmt.Errorf("%s %s: the input's ID and patient_id are required", e.Type, e.ID))
	}
	return nil
}

func clearedAll(cleared []string) bool {
	for _, d := range wipe {
		if !slices.Contains(cleared, d) {
			return false
		}
	}
	return true
}

// message counts a secure message: received from the patient's side, sent by the
// care team, and a reply as the answer to the message it replies to (the first reply
// only: response time is to the first answer).
func (k *Keeper) message(ctx context.Context, tx *store.Tx, m contract.SecureMessage) ([]item, error) {
	switch m.Direction {
	case contract.DirectionPatientToProvider:
		return k.first(ctx, tx, item{kpi: MessageReceived, id: m.MessageID, patient: m.PatientID, at: m.Sent, clinic: m.ClinicID})
	case contract.DirectionProviderToPatient, contract.DirectionReply, contract.DirectionProviderToProvider:
		rows, err := k.first(ctx, tx, item{kpi: MessageSent, id: m.MessageID, patient: m.PatientID, at: m.Sent,
			clinic: m.ClinicID, clinician: m.NPI})
		if err != nil || m.Direction != contract.DirectionReply || m.InReplyTo == "" {
			return rows, err
		}
		answered, err := k.first(ctx, tx, item{kpi: MessageAnswered, id: m.InReplyTo, patient: m.PatientID, at: m.Sent,
			clinic: m.ClinicID, clinician: m.NPI})
		return append(rows, answered...), err
	}
	return nil, nil
}

// replace removes the rows of the kpis keyed id and puts rows instead. It returns
// the rows put and removed.
func (k *Keeper) replace(ctx context.Context, tx *store.Tx, kpis []string, id string, rows ...item) ([]item, error) {
	var touched []item
	for _, kpi := range kpis {
		old, err := k.row(ctx, tx, kpi, id)
		if err != nil {
			return nil, err
		}
		if old.kpi == "" {
			continue
		}
		if err := exec(ctx, tx, fmt.Sprintf(`DELETE FROM %s WHERE kpi = ? AND item_id = ?`, k.table), kpi, id); err != nil {
			return nil, fmt.Errorf("remove %s %s: %w", kpi, id, err)
		}
		touched = append(touched, old)
	}
	for _, it := range rows {
		if err := k.insert(ctx, tx, it); err != nil {
			return nil, err
		}
		touched = append(touched, it)
	}
	return touched, nil
}

// first puts a row unless one with its KPI and ID is held: the first one counts.
func (k *Keeper) first(ctx context.Context, tx *store.Tx, it item) ([]item, error) {
	old, err := k.row(ctx, tx, it.kpi, it.id)
	if err != nil || old.kpi != "" {
		return nil, err
	}
	return []item{it}, k.insert(ctx, tx, it)
}

func (k *Keeper) insert(ctx context.Context, tx *store.Tx, it item) error {
	err := exec(ctx, tx, fmt.Sprintf(`INSERT INTO %s (kpi, item_id, patient_id, at, week, clinic, clinician, value)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.table),
		it.kpi, it.id, it.patient, stamp(it.at), k.week(it.at), it.clinic, it.clinician, it.value)
	if err != nil {
		return fmt.Errorf("store %s %s: %w", it.kpi, it.id, err)
	}
	return nil
}

// row loads the row of kpi keyed id; a zero item when there is none.
func (k *Keeper) row(ctx context.Context, tx *store.Tx, kpi, id string) (item, error) {
	it := item{kpi: kpi, id: id}
	var at string
	st, err := tx.Prepare(ctx, fmt.Sprintf(`SELECT patient_id, at, clinic, clinician, value FROM %s
		WHERE kpi = ? AND item_id = ?`, k.table))
	if err != nil {
		return item{}, fmt.Errorf("load %s %s: %w", kpi, id, err)
	}
	err = st.QueryRowContext(ctx, kpi, id).Scan(&it.patient, &at, &it.clinic, &it.clinician, &it.value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return item{}, nil
	case err != nil:
		return item{}, fmt.Errorf("load %s %s: %w", kpi, id, err)
	}
	it.at, err = parseStamp(at)
	return it, err
}

// exec runs one of the Keeper's statements, prepared once per connection: parsing it
// costs more than running it.
func exec(ctx context.Context, tx *store.Tx, query string, args ...any) error {
	st, err := tx.Prepare(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// stampLayout stores instants at a fixed width, so their text sorts in time order.
const stampLayout = "2006-01-02T15:04:05.000000000Z"

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

func parseStamp(s string) (time.Time, error) {
	t, err := time.Parse(stampLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored instant %q: %w", s, err)
	}
	return t, nil
}
