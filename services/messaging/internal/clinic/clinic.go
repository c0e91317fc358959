// Package clinic is what messaging knows of each clinic — a care-team pool that owns
// threads: its time zone, opening hours, days closed beyond the federal holidays, the
// response-time target for patient messages, and the TIN it bills under. It answers
// how much business time lies between two moments for a clinic.
//
// Clinics come from configuration (MESSAGING_CLINICS); a clinic not listed gets the
// defaults (MESSAGING_CLINIC_DEFAULTS), so a new pool works before anyone configures it.
package clinic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
)

// Settings is one clinic's configuration, as JSON. Empty fields take the defaults'.
type Settings struct {
	TimeZone    string   `json:"time_zone,omitempty"`    // IANA name, e.g. "America/New_York"
	Open        string   `json:"open,omitempty"`         // opening time on business days, "HH:MM"
	Close       string   `json:"close,omitempty"`        // closing time, "HH:MM", after Open
	TargetHours float64  `json:"target_hours,omitempty"` // response target in business hours; default: one business day
	TIN         string   `json:"tin,omitempty"`          // the billing TIN events carry
	Closed      []string `json:"closed,omitempty"`       // extra closed days, YYYY-MM-DD
}

// Defaults are the settings of a clinic nobody configured: Monday to Friday, 08:00 to
// 17:00 UTC, federal holidays closed, a target of one business day (9 hours).
var Defaults = Settings{TimeZone: "UTC", Open: "08:00", Close: "17:00"}

// Clinic is one clinic's resolved configuration. It is safe for concurrent use.
type Clinic struct {
	ID     string
	TIN    string
	Zone   *time.Location
	Hours  calendar.Hours
	Target time.Duration // the response target, in business time

	mu  sync.Mutex // calendar.Calendar caches holidays per year and is not safe for concurrent use
	cal *calendar.Calendar
}

// BusinessTime is the time between from and to that falls within the clinic's opening
// hours on its business days.
func (c *Clinic) BusinessTime(from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cal.BusinessDuration(from, to, c.Hours)
}

// Directory resolves clinic IDs to their configuration.
type Directory struct {
	defaults Settings
	settings map[string]Settings

	mu      sync.Mutex
	clinics map[string]*Clinic
}

// Parse reads MESSAGING_CLINICS, a JSON object of clinic ID → Settings, and
// MESSAGING_CLINIC_DEFAULTS, one Settings applied to clinics not listed and to fields
// a listed clinic leaves empty. Either may be empty. Every clinic is checked at once,
// so a mistake is found at start, not at the first message.
func Parse(clinicsJSON, defaultsJSON string) (*Directory, error) {
	d := &Directory{defaults: Defaults, settings: map[string]Settings{}, clinics: map[string]*Clinic{}}
	if defaultsJSON != "" {
		var s Settings
		if err := decodeStrict(defaultsJSON, &s); err != nil {
			return nil, errs.Field(errs.Invalid, "MESSAGING_CLINIC_DEFAULTS", "not a JSON object of clinic settings: %v", err)
		}
		d.defaults = merge(Defaults, s)
	}
	if _, err := build("defaults", d.defaults); err != nil {
		return nil, fmt.Errorf("MESSAGING_CLINIC_DEFAULTS: %w", err)
	}
	if clinicsJSON != "" {
		if err := decodeStrict(clinicsJSON, &d.settings); err != nil {
			return nil, errs.Field(errs.Invalid, "MESSAGING_CLINICS", "not a JSON object of clinic ID to settings: %v", err)
		}
	}
	for id, s := range d.settings {
		c, err := build(id, merge(d.defaults, s))
		if err != nil {
			return nil, fmt.Errorf("MESSAGING_CLINICS: %w", err)
		}
		d.clinics[id] = c
	}
	return d, nil
}

// Get returns the clinic's configuration: its own, or the defaults.
func (d *Directory) Get(id string) *Clinic {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clinics[id]; ok {
		return c
	}
	c, err := build(id, d.defaults)
	if err != nil {
		// Parse built the defaults once already; they cannot fail now.
		c = &Clinic{ID: id, Zone: time.UTC, cal: calendar.New(time.UTC)}
	}
	d.clinics[id] = c
	return c
}

func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func merge(base, over Settings) Settings {
	if over.TimeZone != "" {
		base.TimeZone = over.TimeZone
	}
	if over.Open != "" {
		base.Open = over.Open
	}
	if over.Close != "" {
		base.Close = over.Close
	}
	if over.TargetHours != 0 {
		base.TargetHours = over.TargetHours
	}
	if over.TIN != "" {
		base.TIN = over.TIN
	}
	if over.Closed != nil {
		base.Closed = over.Closed
	}
	return base
}

func build(id string, s Settings) (*Clinic, error) {
	field := func(name string) string { return id + "." + name }
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, errs.Field(errs.Invalid, field("time_zone"), "not an IANA time zone name")
	}
	open, err := timeOfDay(s.Open)
	if err != nil {
		return nil, errs.Field(errs.Invalid, field("open"), "%s", err.Error())
	}
	closing, err := timeOfDay(s.Close)
	if err != nil {
		return nil, errs.Field(errs.Invalid, field("close"), "%s", err.Error())
	}
	if closing <= open {
		return nil, errs.Field(errs.Invalid, field("close"), "must be after open")
	}
	if s.TargetHours < 0 || s.TargetHours > 24*365 {
		return nil, errs.Field(errs.Invalid, field("target_hours"), "must be from 0 to 8760")
	}
	target := time.Duration(s.TargetHours * float64(time.Hour))
	if target == 0 {
		target = closing - open // one business day
	}
	if s.TIN != "" && !ident.ValidTIN(s.TIN) {
		return nil, errs.Field(errs.Invalid, field("tin"), "a TIN is 9 digits")
	}
	var closed []time.Time
	for i, day := range s.Closed {
		t, err := time.ParseInLocation(time.DateOnly, day, loc)
		if err != nil {
			return nil, errs.Field(errs.Invalid, fmt.Sprintf("%s[%d]", field("closed"), i), "must be a date YYYY-MM-DD")
		}
		closed = append(closed, t)
	}
	return &Clinic{
		ID: id, TIN: s.TIN, Zone: loc, Target: target,
		Hours: calendar.Hours{Open: open, Close: closing},
		cal:   calendar.New(loc, closed...),
	}, nil
}

// timeOfDay parses "HH:MM" (00:00 to 24:00) as the time since midnight.
func timeOfDay(s string) (time.Duration, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, errs.E(errs.Invalid, "must be a time of day HH:MM")
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 24 || m > 59 || h == 24 && m > 0 || h < 0 || m < 0 {
		return 0, errs.E(errs.Invalid, "must be a time of day HH:MM from 00:00 to 24:00")
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}
