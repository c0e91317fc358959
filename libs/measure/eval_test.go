package measure_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/measure"
)

// at parses "2006-01-02 15:04" (UTC) or "2006-01-02 15:04:05".
func at(s string) time.Time {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	panic("bad time " + s)
}

var (
	npi1, npi2 = "1111111111", "2222222222"
	tinA, tinB = "111111111", "222222222"
	ccn        = "123456"
)

func a1() measure.Provider   { return measure.Provider{NPI: npi1, TIN: tinA} }
func hosp() measure.Provider { return measure.Provider{CCN: ccn} }
func opts() measure.Options  { return measure.Options{Calendar: calendar.New(nil)} }
func tinNPI(tin, npi string) contract.Entity {
	return contract.Entity{Kind: contract.EntityTINNPI, ID: tin + "/" + npi}
}

func year(y int) measure.Period {
	return measure.Period{Year: y, First: time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), Last: time.Date(y, 12, 31, 0, 0, 0, 0, time.UTC)}
}

func period(y int, first, last string) measure.Period {
	return measure.Period{Year: y, First: at(first), Last: at(last)}
}

func find(t testing.TB, p measure.Program, id string, y int, k measure.EntityKind) measure.Measure {
	t.Helper()
	m, ok := catalog(t).Measure(p, id, y, k)
	if !ok {
		t.Fatalf("%s %d %s not in the catalog", id, y, k)
	}
	return m
}

func evaluate(t testing.TB, m measure.Measure, e contract.Entity, p measure.Period, o measure.Options, pts ...measure.Patient) measure.Result {
	t.Helper()
	r, err := measure.Evaluate(m, e, p, pts, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// visit is a patient with one encounter with prov whose information is available at
// info, and the given shares of it (channel → time).
func visit(id string, prov measure.Provider, info time.Time, shares map[measure.Channel]time.Time) measure.Patient {
	p := measure.Patient{ID: id, Encounters: []measure.Encounter{{ID: id + "-e1", Provider: prov, Setting: measure.Office,
		Start: info.Add(-time.Hour), InfoAvailable: info}}}
	for ch, when := range shares {
		p.Shares = append(p.Shares, measure.Share{ID: fmt.Sprintf("%s-%s", id, ch), EncounterID: id + "-e1", Channel: ch, At: when})
	}
	return p
}

// TestTimelyAccessBusinessDays: "4 business days" across weekends and federal
// holidays, at the boundary to the nanosecond, for PI_PEA_1 (both VDT and API needed).
func TestTimelyAccessBusinessDays(t *testing.T) {
	m := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	tests := []struct {
		name      string
		info, vdt string
		api       string // "" = no API access
		want      measure.Code
		wantInNum bool
	}{
		{"Thursday + 4 skips the weekend, last minute", "2025-03-06 10:00", "2025-03-12 23:59:59", "2025-03-06 10:00", measure.Met, true},
		{"Thursday + 4: midnight after is late", "2025-03-06 10:00", "2025-03-13 00:00", "2025-03-06 10:00", measure.Late, false},
		{"Saturday counts from Monday", "2025-03-08 09:00", "2025-03-13 18:00", "2025-03-08 09:00", measure.Met, true},
		{"Saturday: Friday is late", "2025-03-08 09:00", "2025-03-14 00:00:01", "2025-03-08 09:00", measure.Late, false},
		{"over Thanksgiving", "2025-11-26 16:00", "2025-12-03 23:00", "2025-11-26 16:00", measure.Met, true},
		{"over Thanksgiving, a day late", "2025-11-26 16:00", "2025-12-04 08:00", "2025-11-26 16:00", measure.Late, false},
		{"over Christmas", "2025-12-23 12:00", "2025-12-30 12:00", "2025-12-23 12:00", measure.Met, true},
		{"same day", "2025-05-05 09:00", "2025-05-05 09:30", "2025-05-05 09:30", measure.Met, true},
		{"VDT only is not enough", "2025-05-05 09:00", "2025-05-05 09:30", "", measure.Missing, false},
		{"API late", "2025-03-06 10:00", "2025-03-06 10:00", "2025-03-13 00:00", measure.Late, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shares := map[measure.Channel]time.Time{measure.VDT: at(tt.vdt)}
			if tt.api != "" {
				shares[measure.API] = at(tt.api)
			}
			r := evaluate(t, m, tinNPI(tinA, npi1), year(2025), opts(), visit("p", a1(), at(tt.info), shares))
			if r.Denominator != 1 || len(r.Members) != 1 {
				t.Fatalf("denominator %d, members %d", r.Denominator, len(r.Members))
			}
			got := r.Members[0]
			if got.InNumerator != tt.wantInNum || got.Numerator.Code != tt.want {
				t.Errorf("numerator %v (%s: %s), want %v (%s)", got.InNumerator, got.Numerator.Code, got.Numerator.Note, tt.wantInNum, tt.want)
			}
		})
	}
}

// TestTimelyAccessHours: 36 hours after discharge (hospitals) and 48 hours after the
// information is available (Medicaid Stage 3), the boundary included.
func TestTimelyAccessHours(t *testing.T) {
	eh := find(t, measure.HospitalPI, "EHPI_PEA_1", 2025, measure.CCN)
	s3 := find(t, measure.Stage3, "S3-EP-05.1", 2021, measure.NPI)
	stay := func(share string) measure.Patient {
		return measure.Patient{ID: "p",
			Encounters: []measure.Encounter{{ID: "adm", Provider: hosp(), Setting: measure.Inpatient,
				Start: at("2025-03-01 08:00"), End: at("2025-03-04 10:00")}},
			Shares: []measure.Share{{ID: "v", EncounterID: "adm", Channel: measure.VDT, At: at(share)},
				{ID: "a", EncounterID: "adm", Channel: measure.API, At: at("2025-03-04 10:00")}}}
	}
	clinic := func(share string) measure.Patient {
		return visit("p", measure.Provider{NPI: npi1}, at("2021-06-01 10:00"),
			map[measure.Channel]time.Time{measure.VDT: at(share), measure.API: at("2021-06-01 10:00")})
	}
	hospital := contract.Entity{Kind: contract.EntityCCN, ID: ccn}
	clinician := contract.Entity{Kind: contract.EntityNPI, ID: npi1}
	tests := []struct {
		name string
		m    measure.Measure
		e    contract.Entity
		y    int
		p    measure.Patient
		want bool
	}{
		{"36 h exactly", eh, hospital, 2025, stay("2025-03-05 22:00"), true},
		{"36 h and a second", eh, hospital, 2025, stay("2025-03-05 22:00:01"), false},
		{"before discharge counts", eh, hospital, 2025, stay("2025-03-02 12:00"), true},
		{"48 h exactly", s3, clinician, 2021, clinic("2021-06-03 10:00"), true},
		{"48 h and a second", s3, clinician, 2021, clinic("2021-06-03 10:00:01"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, tt.m, tt.e, year(tt.y), opts(), tt.p)
			if r.Denominator != 1 || (r.Numerator == 1) != tt.want {
				t.Errorf("%d/%d, want numerator %v: %+v", r.Numerator, r.Denominator, tt.want, r.Members)
			}
		})
	}
}

// TestTimelyAccessSeveralEncounters is ONC RT2's notes 1–3 and 5: one denominator
// entry per patient; the first encounter sets the numerator; a later untimely one
// decrements it; access given only at a later encounter never counts; a deadline
// still ahead is pending.
func TestTimelyAccessSeveralEncounters(t *testing.T) {
	m := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	enc := func(id, start string) measure.Encounter {
		return measure.Encounter{ID: id, Provider: a1(), Setting: measure.Office, Start: at(start), InfoAvailable: at(start)}
	}
	both := func(enc, when string) []measure.Share {
		return []measure.Share{{ID: enc + "v", EncounterID: enc, Channel: measure.VDT, At: at(when)},
			{ID: enc + "a", EncounterID: enc, Channel: measure.API, At: at(when)}}
	}
	tests := []struct {
		name  string
		p     measure.Patient
		asOf  string
		inNum bool
		code  measure.Code
		ref   string
	}{
		{"timely twice", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00"), enc("e2", "2025-04-07 09:00")},
			Shares: append(both("e1", "2025-02-03 12:00"), both("e2", "2025-04-08 12:00")...)}, "", true, measure.Met, "e1v"},
		{"later untimely decrements", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00"), enc("e2", "2025-04-07 09:00")},
			Shares: append(both("e1", "2025-02-03 12:00"), both("e2", "2025-04-21 12:00")...)}, "", false, measure.Decremented, "e2"},
		{"later with no access decrements", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e2", "2025-04-07 09:00"), enc("e1", "2025-02-03 09:00")},
			Shares: both("e1", "2025-02-03 12:00")}, "", false, measure.Decremented, "e2"},
		{"late access at a later visit does not count", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00"), enc("e2", "2025-04-07 09:00")},
			Shares: both("e2", "2025-04-07 12:00")}, "", false, measure.Missing, "e1"},
		{"first deadline ahead: pending", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00")}},
			"2025-02-05 12:00", false, measure.Pending, "e1"},
		{"later deadline ahead: stays in", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00"), enc("e2", "2025-04-07 09:00")},
			Shares: both("e1", "2025-02-03 12:00")}, "2025-04-08 12:00", true, measure.Met, "e1v"},
		{"deadline passed at AsOf", measure.Patient{ID: "p", Encounters: []measure.Encounter{enc("e1", "2025-02-03 09:00")}},
			"2025-02-08 00:00", false, measure.Missing, "e1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			if tt.asOf != "" {
				o.AsOf = at(tt.asOf)
			}
			r := evaluate(t, m, tinNPI(tinA, npi1), year(2025), o, tt.p)
			if r.Denominator != 1 {
				t.Fatalf("denominator %d, want 1 (one entry per unique patient)", r.Denominator)
			}
			got := r.Members[0]
			if got.InNumerator != tt.inNum || got.Numerator.Code != tt.code || got.Numerator.Ref != tt.ref {
				t.Errorf("got %v %s ref %s (%s), want %v %s ref %s", got.InNumerator, got.Numerator.Code, got.Numerator.Ref,
					got.Numerator.Note, tt.inNum, tt.code, tt.ref)
			}
		})
	}
}

// TestPeriodEdges: the first and last day are included, whole days in the calendar's
// zone; a period outside its year is refused.
func TestPeriodEdges(t *testing.T) {
	m := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	p := period(2025, "2025-04-01", "2025-06-29") // 90 days
	seen := func(start string) measure.Patient {
		return measure.Patient{ID: start, Encounters: []measure.Encounter{{ID: "e", Provider: a1(), Setting: measure.Office, Start: at(start)}}}
	}
	tests := []struct {
		start string
		in    bool
	}{
		{"2025-03-31 23:59:59", false},
		{"2025-04-01 00:00", true},
		{"2025-06-29 23:59:59", true},
		{"2025-06-30 00:00", false},
	}
	for _, tt := range tests {
		r := evaluate(t, m, tinNPI(tinA, npi1), p, opts(), seen(tt.start))
		if got := r.Denominator == 1; got != tt.in {
			t.Errorf("encounter at %s: in denominator %v, want %v (%+v)", tt.start, got, tt.in, r.Members)
		}
		if !tt.in && r.Members[0].Denominator.Code != measure.OutOfPeriod {
			t.Errorf("encounter at %s: reason %s, want out-of-period", tt.start, r.Members[0].Denominator.Code)
		}
	}

	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	local := measure.Options{Calendar: calendar.New(ny)}
	// 03:00 UTC on 1 January 2026 is still 31 December 2025 in New York.
	if r := evaluate(t, m, tinNPI(tinA, npi1), year(2025), local, seen("2026-01-01 03:00")); r.Denominator != 1 {
		t.Errorf("an encounter on the evening of 31 December in the calendar's zone is in the 2025 period")
	}

	// A hospital's fiscal year 2014 runs from 1 October 2013.
	s1 := find(t, measure.Stage1, "S1-EH-C03", 2014, measure.CCN)
	if _, err := measure.Evaluate(s1, contract.Entity{Kind: contract.EntityCCN, ID: ccn},
		period(2014, "2013-10-01", "2013-12-29"), nil, opts()); err != nil {
		t.Errorf("FY2014 period starting October 2013: %v", err)
	}
}

// TestEvaluateRefusesBadInput: each bad argument is errs.Invalid naming the field.
func TestEvaluateRefusesBadInput(t *testing.T) {
	c := catalog(t)
	pea, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	erx, _ := c.Measure(measure.MIPS, "PI_EP_1", 2025, measure.TINNPI)
	sra, _ := c.Measure(measure.MIPS, "PI_PPHI_1", 2025, measure.TINNPI)
	tests := []struct {
		name  string
		m     measure.Measure
		e     contract.Entity
		p     measure.Period
		o     measure.Options
		field string
	}{
		{"no calendar", pea, tinNPI(tinA, npi1), year(2025), measure.Options{}, "options.calendar"},
		{"hospital entity for a MIPS measure", pea, contract.Entity{Kind: contract.EntityCCN, ID: ccn}, year(2025), opts(), "entity.kind"},
		{"TIN/NPI without a slash", pea, contract.Entity{Kind: contract.EntityTINNPI, ID: npi1}, year(2025), opts(), "entity.id"},
		{"empty ID", pea, contract.Entity{Kind: contract.EntityTIN}, year(2025), opts(), "entity.id"},
		{"wrong year", pea, tinNPI(tinA, npi1), year(2016), opts(), "period.year"},
		{"period across years", pea, tinNPI(tinA, npi1), period(2025, "2025-10-01", "2026-03-31"), opts(), "period"},
		{"reversed period", pea, tinNPI(tinA, npi1), period(2025, "2025-06-01", "2025-05-01"), opts(), "period.last"},
		{"variant not chosen", erx, tinNPI(tinA, npi1), year(2025), opts(), "variant"},
		{"yes/no measure", sra, tinNPI(tinA, npi1), year(2025), opts(), "measure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := measure.Evaluate(tt.m, tt.e, tt.p, nil, tt.o)
			if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err = %v (field %q), want invalid %q", err, errs.FieldOf(err), tt.field)
			}
		})
	}
}
