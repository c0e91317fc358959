// Package provision is education for a patient: the ranked matches of the catalog to
// their record, the suggestions made automatically when a relevant fact arrives, the
// provision of a material (who, when, which version, why, by which channel, and
// whether the system identified it) and the patient opening it. Every change commits
// with its event (education.material.matched, .provided, .viewed) through the outbox.
package provision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/outbox"
	"github.com/attest-ehr/attest/libs/patientdir"
	"github.com/attest-ehr/attest/libs/principal"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/chart"
	"github.com/attest-ehr/attest/services/education/internal/match"
)

// source is the ce_source of every event education publishes.
const source = "education"

// systemActor is the principal recorded for provisions made by an automatic rule.
const systemActor = "system:education"

// Mode is what happens automatically when a relevant fact arrives.
type Mode string

// The modes.
const (
	ModeOff     Mode = "off"     // nothing: matches are only computed on request
	ModeSuggest Mode = "suggest" // the best matches become suggestions for the care team
	ModeProvide Mode = "provide" // and are provided to the patient's portal at once
)

// Config tunes the service.
type Config struct {
	Mode   Mode          // default ModeSuggest
	Limit  int           // suggestions per new fact; default 3
	Recent time.Duration // how long a result counts for matching; default chart.DefaultRecent
}

// Service holds the use cases.
type Service struct {
	db      *store.DB
	cat     *catalog.Catalog
	matcher *match.Matcher
	dir     *patientdir.Directory
	cfg     Config
	notify  func() // wakes the outbox relay after a commit with events
	now     func() time.Time
}

// New returns the service over db. notify is called after every commit that wrote
// events; pass the relay's Notify.
func New(db *store.DB, cat *catalog.Catalog, matcher *match.Matcher, dir *patientdir.Directory, cfg Config, notify func()) *Service {
	if cfg.Mode == "" {
		cfg.Mode = ModeSuggest
	}
	if cfg.Limit <= 0 {
		cfg.Limit = 3
	}
	if cfg.Recent <= 0 {
		cfg.Recent = chart.DefaultRecent
	}
	return &Service{db: db, cat: cat, matcher: matcher, dir: dir, cfg: cfg, notify: notify, now: time.Now}
}

// Suggestion is a material matched automatically when a fact arrived in the record.
type Suggestion struct {
	ID           string        `json:"id"`
	PatientID    string        `json:"patient_id"`
	MaterialID   string        `json:"material_id"`
	Topic        string        `json:"topic"`
	Version      int           `json:"version"`
	Language     string        `json:"language"`
	Code         contract.Code `json:"code"`          // the patient's code that triggered it
	MaterialCode contract.Code `json:"material_code"` // the material's code it matched
	Match        string        `json:"match"`         // exact or prefix
	Status       string        `json:"status"`        // open, or provided once the topic was provided
	Created      time.Time     `json:"created"`
}

// Suggestion statuses.
const (
	SuggestionOpen     = "open"
	SuggestionProvided = "provided"
)

// Provision is a material provided to a patient.
type Provision struct {
	ID                 string         `json:"id"`
	PatientID          string         `json:"patient_id"`
	MaterialID         string         `json:"material_id"`
	Topic              string         `json:"topic"`
	Version            int            `json:"version"`
	Language           string         `json:"language"`
	Channel            string         `json:"channel"`
	IdentifiedBySystem bool           `json:"identified_by_system"`
	Reason             *contract.Code `json:"reason,omitempty"`
	ProvidedBy         string         `json:"provided_by"` // clinician, staff or system
	Actor              string         `json:"actor"`       // the principal, "kind:id"
	NPI                string         `json:"npi,omitempty"`
	TIN                string         `json:"tin,omitempty"` // the group credited, when a service account named it
	CCN                string         `json:"ccn,omitempty"` // the hospital credited, when a service account named it
	Provided           time.Time      `json:"provided"`
	Views              int            `json:"views"`
	FirstViewed        *time.Time     `json:"first_viewed,omitempty"`
	LastViewed         *time.Time     `json:"last_viewed,omitempty"`
}

// Request asks to provide a material to a patient.
type Request struct {
	ID         string         `json:"id,omitempty"` // optional, client-chosen: a retry with the same ID is absorbed
	PatientID  string         `json:"patient_id"`
	MaterialID string         `json:"material_id"`
	Channel    string         `json:"channel"`          // portal, print or email_link
	Reason     *contract.Code `json:"reason,omitempty"` // the triggering code; default: the strongest match's

	// A service account (an integration) records a provision made in the source EHR:
	// when it happened, who provided it (NPI, with the group's TIN or the hospital's
	// CCN credited), and whether the source EHR's certified technology identified the
	// material for the patient. Only service accounts may send these fields.
	Provided           *time.Time `json:"provided,omitempty"`
	NPI                string     `json:"npi,omitempty"`
	TIN                string     `json:"tin,omitempty"`
	CCN                string     `json:"ccn,omitempty"`
	IdentifiedBySystem *bool      `json:"identified_by_system,omitempty"`
}

// imported reports whether the request records a provision made elsewhere: it names
// any of the fields only a service account may send.
func (r Request) imported() bool {
	return r.Provided != nil || r.NPI != "" || r.TIN != "" || r.CCN != "" || r.IdentifiedBySystem != nil
}

// validateImport checks the fields of a recorded provision against now.
func (r Request) validateImport(now time.Time) error {
	switch {
	case r.Provided == nil || r.Provided.IsZero():
		return errs.Field(errs.Invalid, "provided", "required when recording a provision made in the source EHR")
	case r.Provided.After(now.Add(clockSkew)):
		return errs.Field(errs.Invalid, "provided", "is in the future")
	case r.NPI != "" && !ident.ValidNPI(r.NPI):
		return errs.Field(errs.Invalid, "npi", "not a valid NPI")
	case r.TIN != "" && !ident.ValidTIN(r.TIN):
		return errs.Field(errs.Invalid, "tin", "must be 9 digits")
	case r.CCN != "" && !ident.ValidCCN(r.CCN):
		return errs.Field(errs.Invalid, "ccn", "not a valid CCN")
	case r.TIN != "" && r.CCN != "":
		return errs.Field(errs.Invalid, "ccn", "a provision is credited to a group (tin) or a hospital (ccn), not both")
	case r.TIN != "" && r.NPI == "":
		return errs.Field(errs.Invalid, "npi", "required with tin: a group is credited through its clinician")
	}
	return nil
}

// clockSkew is how far in the future a recorded provision may be dated: the source
// EHR's clock may run a little ahead of ours.
const clockSkew = 5 * time.Minute

var channels = map[string]bool{contract.ChannelPortal: true, contract.ChannelPrint: true, contract.ChannelEmailLink: true}

// Validate checks a request as submitted, naming the first field at fault, and
// returns it with its reason code normalized.
func (r Request) Validate() (Request, error) {
	if r.ID != "" {
		if err := catalog.CheckID("id", r.ID); err != nil {
			return Request{}, err
		}
	}
	if err := catalog.CheckID("patient_id", r.PatientID); err != nil {
		return Request{}, err
	}
	if err := catalog.CheckID("material_id", r.MaterialID); err != nil {
		return Request{}, err
	}
	if !channels[r.Channel] {
		return Request{}, errs.Field(errs.Invalid, "channel", "must be portal, print or email_link")
	}
	if r.Reason != nil {
		c, err := catalog.NormalizeCode("reason", *r.Reason)
		if err != nil {
			return Request{}, err
		}
		r.Reason = &c
	}
	return r, nil
}

// Facts returns the codes of a patient's record that matching uses.
func (s *Service) Facts(ctx context.Context, patientID string) ([]match.Fact, error) {
	return chart.Facts(ctx, s.db, patientID, s.now().Add(-s.cfg.Recent))
}

// Matches ranks the catalog for a patient's record. An empty language means the
// patient's preference.
func (s *Service) Matches(ctx context.Context, patientID, language string, limit int) ([]match.Result, error) {
	if language == "" {
		var err error
		if language, err = Language(ctx, s.db, patientID); err != nil {
			return nil, err
		}
	}
	ix, err := s.matcher.Index(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := s.Facts(ctx, patientID)
	if err != nil {
		return nil, err
	}
	return ix.Match(facts, language, limit), nil
}

// Fact makes suggestions for a code that just became relevant in a patient's record,
// in the projection's transaction (it is chart's Hook). Each of the best matches
// becomes a suggestion, once per patient and topic, with an education.material.matched
// event; in ModeProvide the topic is also provided to the patient's portal, once.
func (s *Service) Fact(ctx context.Context, tx *store.Tx, patientID string, f match.Fact) error {
	if s.cfg.Mode == ModeOff {
		return nil
	}
	ix, err := s.matcher.Index(ctx)
	if err != nil {
		return err
	}
	language, err := Language(ctx, tx, patientID)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var events []event.Event
	for _, r := range ix.Match([]match.Fact{f}, language, s.cfg.Limit) {
		sg := Suggestion{ID: newID(), PatientID: patientID, MaterialID: r.Material.ID, Topic: r.Material.Topic,
			Version: r.Material.Version, Language: r.Material.Language, Code: r.Reasons[0].Code,
			MaterialCode: r.Reasons[0].MaterialCode, Match: r.Reasons[0].Match, Status: SuggestionOpen, Created: now}
		added, err := insertSuggestion(ctx, tx, sg)
		if err != nil || !added {
			if err != nil {
				return err
			}
			continue
		}
		ev, err := event.New(contract.MaterialMatched, source, patientID, now, now, contract.MaterialMatch{
			SuggestionID: sg.ID, PatientID: patientID, MaterialID: sg.MaterialID, Version: sg.Version,
			Language: sg.Language, Code: sg.Code, MaterialCode: sg.MaterialCode, Match: sg.Match})
		if err != nil {
			return err
		}
		events = append(events, ev)
		if s.cfg.Mode != ModeProvide {
			continue
		}
		ev, provided, err := s.autoProvide(ctx, tx, sg, now)
		if err != nil {
			return err
		}
		if provided {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		return nil
	}
	// The projection wakes the relay after its commit.
	return outbox.Add(ctx, tx, contract.TopicMaterial, events...)
}

// BatchFacts is Fact for each of fs in turn (chart's BatchHook), with a few
// statements for them all in ModeSuggest: one read of the patients' languages and of
// the topics they were suggested, one multi-row INSERT of the new suggestions (per
// 200), the outbox writes of their events. A topic matched twice within fs is
// suggested once, for the first fact, as Fact in turn would.
func (s *Service) BatchFacts(ctx context.Context, tx *store.Tx, fs []chart.PatientFact) error {
	if s.cfg.Mode != ModeSuggest {
		for _, f := range fs {
			if err := s.Fact(ctx, tx, f.PatientID, f.Fact); err != nil {
				return err
			}
		}
		return nil
	}
	ix, err := s.matcher.Index(ctx)
	if err != nil {
		return err
	}
	patients := make([]string, 0, len(fs))
	for _, f := range fs {
		patients = append(patients, f.PatientID)
	}
	// Topics suggested before are skipped here rather than left to the INSERT's
	// ON CONFLICT: most facts repeat a topic, and a row not sent costs nothing.
	languages, seen, err := patientState(ctx, tx, patients)
	if err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var sgs []Suggestion
	for _, f := range fs {
		language := languages[f.PatientID]
		if language == "" {
			language = match.Fallback
		}
		for _, r := range ix.Match([]match.Fact{f.Fact}, language, s.cfg.Limit) {
			if k := (patientTopic{f.PatientID, r.Material.Topic}); !seen[k] {
				seen[k] = true
				sgs = append(sgs, Suggestion{ID: newID(), PatientID: f.PatientID, MaterialID: r.Material.ID,
					Topic: r.Material.Topic, Version: r.Material.Version, Language: r.Material.Language,
					Code: r.Reasons[0].Code, MaterialCode: r.Reasons[0].MaterialCode, Match: r.Reasons[0].Match,
					Status: SuggestionOpen, Created: now})
			}
		}
	}
	added, err := insertSuggestions(ctx, tx, sgs)
	if err != nil {
		return err
	}
	var events []event.Event
	for _, sg := range sgs {
		if !added[sg.ID] {
			continue
		}
		ev, err := event.New(contract.MaterialMatched, source, sg.PatientID, now, now, contract.MaterialMatch{
			SuggestionID: sg.ID, PatientID: sg.PatientID, MaterialID: sg.MaterialID, Version: sg.Version,
			Language: sg.Language, Code: sg.Code, MaterialCode: sg.MaterialCode, Match: sg.Match})
		if err != nil {
			return err
		}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return nil
	}
	return outbox.Add(ctx, tx, contract.TopicMaterial, events...)
}

// Forget removes a deleted patient's suggestions and language preference, in the
// projection's transaction (it is chart's Hook). Provisions stay: they are the record
// of what was given.
func (s *Service) Forget(ctx context.Context, tx *store.Tx, patientID string) error {
	for _, table := range []string{"suggestions", "patient_preferences"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE patient_id = ?`, patientID); err != nil {
			return fmt.Errorf("forget patient in %s: %w", table, err)
		}
	}
	return nil
}

// autoProvide provides a suggestion's material to the patient's portal unless the
// topic was provided before.
func (s *Service) autoProvide(ctx context.Context, tx *store.Tx, sg Suggestion, now time.Time) (event.Event, bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM provisions WHERE patient_id = ? AND topic = ? LIMIT 1`,
		sg.PatientID, sg.Topic).Scan(&one)
	if err == nil {
		return event.Event{}, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return event.Event{}, false, fmt.Errorf("look for an earlier provision: %w", err)
	}
	reason := sg.Code
	p := Provision{ID: newID(), PatientID: sg.PatientID, MaterialID: sg.MaterialID, Topic: sg.Topic,
		Version: sg.Version, Language: sg.Language, Channel: contract.ChannelPortal, IdentifiedBySystem: true,
		Reason: &reason, ProvidedBy: contract.ProvidedBySystem, Actor: systemActor, Provided: now}
	ev, err := s.record(ctx, tx, p, now)
	return ev, err == nil, err
}

// Provide records that who provided a material to a patient and publishes
// education.material.provided. Clinicians, staff and service accounts may provide; a
// clinician's NPI, from their principal, is recorded. The provision is "identified by
// the system" when the material matches the patient's record now, or was suggested
// for it; the reason defaults to the strongest matching code. A request whose ID
// exists with the same content is returned as it is, with created false.
func (s *Service) Provide(ctx context.Context, who principal.Principal, req Request) (_ Provision, created bool, err error) {
	p := Provision{Actor: who.String()}
	if req.imported() && who.Kind != principal.Service {
		return Provision{}, false, errs.Field(errs.Forbidden, "provided", "only a service account records a provision made in the source EHR")
	}
	switch who.Kind {
	case principal.Clinician:
		if !ident.ValidNPI(who.ID) {
			return Provision{}, false, errs.Field(errs.Forbidden, principal.Header, "a clinician provides under a valid NPI")
		}
		p.ProvidedBy, p.NPI = contract.ProvidedByClinician, who.ID
	case principal.Staff, principal.Service:
		p.ProvidedBy = contract.ProvidedByStaff
	default:
		return Provision{}, false, errs.E(errs.Forbidden, "only the care team provides education")
	}
	if req, err = req.Validate(); err != nil {
		return Provision{}, false, err
	}
	if _, err := s.dir.Lookup(ctx, req.PatientID); err != nil {
		if errs.Is(errs.NotFound, err) {
			return Provision{}, false, errs.Field(errs.Unprocessable, "patient_id", "no such patient")
		}
		return Provision{}, false, err
	}
	m, err := s.cat.Get(ctx, req.MaterialID)
	switch {
	case errs.Is(errs.NotFound, err):
		return Provision{}, false, errs.Field(errs.Unprocessable, "material_id", "no such material")
	case err != nil:
		return Provision{}, false, err
	case m.Status != catalog.Active:
		return Provision{}, false, errs.Field(errs.Unprocessable, "material_id", "the material is retired")
	}
	matches, err := s.Matches(ctx, req.PatientID, m.Language, 0)
	if err != nil {
		return Provision{}, false, err
	}
	for _, r := range matches {
		if r.Material.Topic == m.Topic {
			p.IdentifiedBySystem = true
			if req.Reason == nil {
				code := r.Reasons[0].Code
				req.Reason = &code
			}
		}
	}
	p.ID, p.PatientID, p.MaterialID, p.Topic = req.ID, req.PatientID, m.ID, m.Topic
	p.Version, p.Language, p.Channel, p.Reason = m.Version, m.Language, req.Channel, req.Reason
	recorded := s.now().UTC().Truncate(time.Microsecond)
	p.Provided = recorded
	if req.imported() {
		if err := req.validateImport(recorded); err != nil {
			return Provision{}, false, err
		}
		p.Provided = req.Provided.UTC().Truncate(time.Microsecond)
		p.NPI, p.TIN, p.CCN = req.NPI, req.TIN, req.CCN
		if p.NPI != "" {
			p.ProvidedBy = contract.ProvidedByClinician
		}
	}
	if p.ID == "" {
		p.ID = newID()
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		old, err := get(ctx, tx, p.ID)
		switch {
		case err == nil && old.sameRequest(p) && (!req.imported() || old.Provided.Equal(p.Provided)):
			p = old
			return nil
		case err == nil:
			return errs.Field(errs.Conflict, "id", "a different provision with this id exists")
		case !errs.Is(errs.NotFound, err):
			return err
		}
		var sid string
		err = tx.QueryRowContext(ctx, `SELECT id FROM suggestions WHERE patient_id = ? AND topic = ?`, p.PatientID, p.Topic).Scan(&sid)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("look for a suggestion: %w", err)
		}
		p.IdentifiedBySystem = p.IdentifiedBySystem || sid != ""
		if req.IdentifiedBySystem != nil {
			// The source EHR's certified technology identified it (or did not) when it
			// was provided there; our record of the patient today does not decide.
			p.IdentifiedBySystem = *req.IdentifiedBySystem
		}
		ev, err := s.record(ctx, tx, p, recorded)
		if err != nil {
			return err
		}
		created = true
		return outbox.Add(ctx, tx, contract.TopicMaterial, ev)
	})
	if err != nil {
		return Provision{}, false, err
	}
	if created {
		s.notify()
	}
	return p, created, nil
}

// sameRequest reports whether two provisions record the same request: a retry.
func (p Provision) sameRequest(o Provision) bool {
	sameReason := (p.Reason == nil) == (o.Reason == nil) && (p.Reason == nil || *p.Reason == *o.Reason)
	return p.PatientID == o.PatientID && p.MaterialID == o.MaterialID && p.Channel == o.Channel &&
		p.Actor == o.Actor && sameReason && p.NPI == o.NPI && p.TIN == o.TIN && p.CCN == o.CCN
}

// record stores a provision, marks the topic's suggestion provided and returns the
// provided event, dated when it was provided and recorded at recorded; the caller adds
// it to the outbox.
func (s *Service) record(ctx context.Context, tx *store.Tx, p Provision, recorded time.Time) (event.Event, error) {
	var reasonSystem, reasonCode string
	if p.Reason != nil {
		reasonSystem, reasonCode = p.Reason.System, p.Reason.Code
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO provisions (id, patient_id, material_id, topic, version, language,
		channel, identified_by_system, reason_system, reason_code, provided_by, actor, npi, tin, ccn, provided)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.PatientID, p.MaterialID, p.Topic, p.Version, p.Language, p.Channel, p.IdentifiedBySystem,
		reasonSystem, reasonCode, p.ProvidedBy, p.Actor, p.NPI, p.TIN, p.CCN, p.Provided)
	if err != nil {
		return event.Event{}, fmt.Errorf("store provision: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE suggestions SET status = ? WHERE patient_id = ? AND topic = ?`,
		SuggestionProvided, p.PatientID, p.Topic); err != nil {
		return event.Event{}, fmt.Errorf("close suggestion: %w", err)
	}
	return event.New(contract.MaterialProvided, source, p.PatientID, p.Provided, recorded, contract.MaterialProvision{
		ProvisionID: p.ID, PatientID: p.PatientID, MaterialID: p.MaterialID, Version: p.Version,
		Language: p.Language, Channel: p.Channel, IdentifiedBySystem: p.IdentifiedBySystem, Reason: p.Reason,
		ProvidedBy: p.ProvidedBy, NPI: p.NPI, TIN: p.TIN, CCN: p.CCN, Provided: p.Provided,
	})
}

// Open records that the patient, or their representative, opened a provided
// material and returns the provision with the version of the material provided. The
// first opening publishes education.material.viewed; later ones are counted.
func (s *Service) Open(ctx context.Context, who principal.Principal, provisionID string) (Provision, catalog.Material, error) {
	var p Provision
	first := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = get(ctx, tx, provisionID); err != nil {
			return err
		}
		if !Owns(who, p.PatientID) {
			if who.Kind == principal.Patient || who.Kind == principal.Proxy {
				return errs.E(errs.NotFound, "no such provision") // another patient's: not even its existence
			}
			return errs.E(errs.Forbidden, "only the patient or their representative opens a provided material")
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		first = p.FirstViewed == nil
		if first {
			p.FirstViewed = &now
		}
		p.Views++
		p.LastViewed = &now
		if _, err := tx.ExecContext(ctx, `UPDATE provisions SET views = ?, first_viewed = ?, last_viewed = ? WHERE id = ?`,
			p.Views, *p.FirstViewed, now, p.ID); err != nil {
			return fmt.Errorf("record view: %w", err)
		}
		if !first {
			return nil
		}
		ev, err := event.New(contract.MaterialViewed, source, p.PatientID, now, now, contract.MaterialView{
			ProvisionID: p.ID, PatientID: p.PatientID, MaterialID: p.MaterialID, Version: p.Version,
			ByProxy: who.Kind == principal.Proxy, Viewed: now})
		if err != nil {
			return err
		}
		return outbox.Add(ctx, tx, contract.TopicMaterial, ev)
	})
	if err != nil {
		return Provision{}, catalog.Material{}, err
	}
	if first {
		s.notify()
	}
	m, err := s.cat.Version(ctx, p.MaterialID, p.Version)
	return p, m, err
}

// Owns reports whether who is the patient or acts for them.
func Owns(who principal.Principal, patientID string) bool {
	return who.Kind == principal.Patient && who.ID == patientID || who.Kind == principal.Proxy && who.For == patientID
}

// Get returns a provision.
func (s *Service) Get(ctx context.Context, id string) (Provision, error) {
	return get(ctx, s.db, id)
}

// List returns a patient's provisions, oldest first.
func (s *Service) List(ctx context.Context, patientID string) ([]Provision, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE patient_id = ?
		ORDER BY provided, id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("list provisions: %w", err)
	}
	defer rows.Close()
	out := []Provision{}
	for rows.Next() {
		p, err := scanProvision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Suggestions returns a patient's suggestions, newest first.
func (s *Service) Suggestions(ctx context.Context, patientID string) ([]Suggestion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, patient_id, material_id, topic, version, language, code_system,
		code, material_system, material_code, match_kind, status, created FROM suggestions WHERE patient_id = ?
		ORDER BY created DESC, id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("list suggestions: %w", err)
	}
	defer rows.Close()
	out := []Suggestion{}
	for rows.Next() {
		var sg Suggestion
		if err := rows.Scan(&sg.ID, &sg.PatientID, &sg.MaterialID, &sg.Topic, &sg.Version, &sg.Language,
			&sg.Code.System, &sg.Code.Code, &sg.MaterialCode.System, &sg.MaterialCode.Code, &sg.Match,
			&sg.Status, &sg.Created); err != nil {
			return nil, fmt.Errorf("scan suggestion: %w", err)
		}
		sg.Created = sg.Created.UTC()
		out = append(out, sg)
	}
	return out, rows.Err()
}

func insertSuggestion(ctx context.Context, tx *store.Tx, sg Suggestion) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO suggestions (id, patient_id, material_id, topic, version, language,
		code_system, code, material_system, material_code, match_kind, status, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (patient_id, topic) DO NOTHING`,
		sg.ID, sg.PatientID, sg.MaterialID, sg.Topic, sg.Version, sg.Language, sg.Code.System, sg.Code.Code,
		sg.MaterialCode.System, sg.MaterialCode.Code, sg.Match, sg.Status, sg.Created)
	if err != nil {
		return false, fmt.Errorf("store suggestion: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store suggestion: %w", err)
	}
	return n == 1, nil
}

// suggestionRows bounds the rows of one multi-row INSERT of suggestions: 13
// parameters a row stays far below both engines' limits on bound parameters.
const suggestionRows = 200

// insertSuggestions stores sgs, skipping those whose patient already has their topic
// (as insertSuggestion does), and returns the IDs of those stored.
func insertSuggestions(ctx context.Context, tx *store.Tx, sgs []Suggestion) (map[string]bool, error) {
	added := map[string]bool{}
	for start := 0; start < len(sgs); start += suggestionRows {
		chunk := sgs[start:min(start+suggestionRows, len(sgs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO suggestions (id, patient_id, material_id, topic, version, language, code_system,
			code, material_system, material_code, match_kind, status, created) VALUES `)
		args := make([]any, 0, 13*len(chunk))
		for i, sg := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, sg.ID, sg.PatientID, sg.MaterialID, sg.Topic, sg.Version, sg.Language, sg.Code.System,
				sg.Code.Code, sg.MaterialCode.System, sg.MaterialCode.Code, sg.Match, sg.Status, sg.Created)
		}
		q.WriteString(` ON CONFLICT (patient_id, topic) DO NOTHING RETURNING id`)
		rows, err := tx.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("store suggestions: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store suggestions: %w", err)
			}
			added[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("store suggestions: %w", err)
		}
	}
	return added, nil
}

// patientTopic is a topic suggested to a patient.
type patientTopic struct{ patient, topic string }

// patientChunk bounds the patients of one query.
const patientChunk = 500

// patientState returns what BatchFacts needs to know of patients: their language
// preferences, and the topics already suggested to them. One query (per
// patientChunk patients): a round trip is what a loaded database server makes a
// batch wait for. On PostgreSQL the patients are one array parameter, so the
// statement's text is the same whatever their number.
func patientState(ctx context.Context, tx *store.Tx, patients []string) (map[string]string, map[patientTopic]bool, error) {
	languages, suggested := map[string]string{}, map[patientTopic]bool{}
	patients = slices.Compact(slices.Sorted(slices.Values(patients)))
	for start := 0; start < len(patients); start += patientChunk {
		chunk := patients[start:min(start+patientChunk, len(patients))]
		var (
			cond string
			args []any
		)
		if tx.Dialect() == store.Postgres {
			cond, args = `patient_id = ANY(?::text[])`, []any{chunk}
		} else {
			cond = `patient_id IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ") + `)`
			for _, p := range chunk {
				args = append(args, p)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT 'language', patient_id, language FROM patient_preferences WHERE `+cond+
			` UNION ALL SELECT 'topic', patient_id, topic FROM suggestions WHERE `+cond, append(args, args...)...)
		if err != nil {
			return nil, nil, fmt.Errorf("read patients' languages and suggestions: %w", err)
		}
		for rows.Next() {
			var what, patient, value string
			if err := rows.Scan(&what, &patient, &value); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("read patients' languages and suggestions: %w", err)
			}
			if what == "language" {
				languages[patient] = value
			} else {
				suggested[patientTopic{patient, value}] = true
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, nil, fmt.Errorf("read patients' languages and suggestions: %w", err)
		}
	}
	return languages, suggested, nil
}

const provisionColumns = `id, patient_id, material_id, topic, version, language, channel, identified_by_system,
	reason_system, reason_code, provided_by, actor, npi, tin, ccn, provided, views, first_viewed, last_viewed`

// querier reads: the database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func get(ctx context.Context, q querier, id string) (Provision, error) {
	p, err := scanProvision(q.QueryRowContext(ctx, `SELECT `+provisionColumns+` FROM provisions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Provision{}, errs.E(errs.NotFound, "no such provision")
	}
	return p, err
}

func scanProvision(row interface{ Scan(...any) error }) (Provision, error) {
	var (
		p                        Provision
		reasonSystem, reasonCode string
		first, last              sql.NullTime
	)
	err := row.Scan(&p.ID, &p.PatientID, &p.MaterialID, &p.Topic, &p.Version, &p.Language, &p.Channel,
		&p.IdentifiedBySystem, &reasonSystem, &reasonCode, &p.ProvidedBy, &p.Actor, &p.NPI, &p.TIN, &p.CCN, &p.Provided,
		&p.Views, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Provision{}, err
	}
	if err != nil {
		return Provision{}, fmt.Errorf("read provision: %w", err)
	}
	if reasonCode != "" {
		p.Reason = &contract.Code{System: reasonSystem, Code: reasonCode}
	}
	p.Provided = p.Provided.UTC()
	if first.Valid {
		t := first.Time.UTC()
		p.FirstViewed = &t
	}
	if last.Valid {
		t := last.Time.UTC()
		p.LastViewed = &t
	}
	return p, nil
}

// Language is a patient's preferred language for materials; English unless set.
func Language(ctx context.Context, q querier, patientID string) (string, error) {
	var lang string
	err := q.QueryRowContext(ctx, `SELECT language FROM patient_preferences WHERE patient_id = ?`, patientID).Scan(&lang)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return match.Fallback, nil
	case err != nil:
		return "", fmt.Errorf("read language preference: %w", err)
	}
	return lang, nil
}

// SetLanguage records a patient's preferred language (ISO 639-1, e.g. "es").
func (s *Service) SetLanguage(ctx context.Context, patientID, language string) error {
	if !catalog.ValidLanguage(language) {
		return errs.Field(errs.Invalid, "language", "an ISO 639-1 code of two lower-case letters, e.g. en or es")
	}
	if _, err := s.dir.Lookup(ctx, patientID); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO patient_preferences (patient_id, language) VALUES (?, ?)
		ON CONFLICT (patient_id) DO UPDATE SET language = excluded.language`, patientID, language)
	if err != nil {
		return fmt.Errorf("store language preference: %w", err)
	}
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
