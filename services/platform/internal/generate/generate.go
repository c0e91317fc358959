// Package generate builds a synthetic health system, deterministically from a seed:
// a health system with hospitals (inpatient and ED), clinics, TINs, clinicians with
// valid NPIs (some billing under several TINs), patients, and a year of their care —
// visits, admissions, ED visits, prescriptions, lab orders and results, referrals and
// transitions with summaries of care, portal and API access, and patients' use of it.
// Each clinic and hospital has its own quality, drifting over the year, so that some
// entities pass some measures, some fail them, and some pass only in part of the year.
//
// The output is records' JSON API requests (docs/records.md), one NDJSON line per
// POST /records/v1/<kind> body, one file per kind, each resource with a stable ID so
// that posting the files again changes nothing (see Post).
package generate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/progress"
)

// Config is what to generate.
type Config struct {
	Seed     uint64 // the same seed gives byte-identical output
	Patients int    // how many patients
	Year     int    // the calendar year of activity, e.g. 2025
	// Until, when set, replaces Year: the activity fills the 365 days before this
	// day (its date in UTC; nothing on or after it). A demo uses it so the year so far
	// (forecasts), the last weeks (live KPIs) and last week's visits (worklists) all
	// hold data on the day the platform starts.
	Until time.Time
	Rates Rates // how often things happen; all zero means DefaultRates
}

// Rates are the average frequencies of activity. Per-visit rates apply to every
// office or telehealth visit; the quality of the clinic or hospital then decides how
// much of it is done the way the measures count (electronically, in time).
type Rates struct {
	OfficeVisits  float64 // ambulatory visits per patient per year
	Telehealth    float64 // share of ambulatory visits that are telehealth
	Admissions    float64 // inpatient admissions per patient per year
	EDVisits      float64 // emergency department visits per patient per year
	Prescriptions float64 // prescriptions per visit
	Controlled    float64 // share of prescriptions that are controlled substances
	LabOrders     float64 // laboratory orders per visit
	ReferralsOut  float64 // referrals out per visit
	ReferralsIn   float64 // transitions in per visit
	PortalUse     float64 // share of patients with access who view, download or use the API
	Messages      float64 // secure-message threads per ambulatory visit (a question, the answer or a note)
	Education     float64 // education materials given per ambulatory visit
	Tablet        float64 // share of office visits with blood pressure entered on the clinic's tablet
	Registries    float64 // chance a clinic or hospital is engaged with each public health registry
}

// DefaultRates are roughly an adult primary-care population's.
func DefaultRates() Rates {
	return Rates{OfficeVisits: 3, Telehealth: 0.15, Admissions: 0.06, EDVisits: 0.15, Prescriptions: 0.9,
		Controlled: 0.1, LabOrders: 0.6, ReferralsOut: 0.1, ReferralsIn: 0.05, PortalUse: 0.5,
		Messages: 0.35, Education: 0.3, Tablet: 0.4, Registries: 0.6}
}

// Output receives the generated lines: kind is one of Kinds, lines one or more whole
// JSON lines (each ending in a newline), valid only during the call.
type Output interface {
	Lines(kind string, lines []byte) error
}

// MRNSystem is the identifier system of the generated patients' MRNs.
const MRNSystem = "urn:oid:2.16.840.1.113883.19.5.99"

// chunk is how many patients a worker generates at a time.
const chunk = 500

// Generate writes the health system cfg describes to out and returns how many lines
// it wrote. m, if not nil, counts the lines as they are written. Patients are
// generated on every CPU in chunks and written in patient order, so the output does
// not depend on the number of CPUs.
func Generate(ctx context.Context, cfg Config, out Output, m *progress.Meter) (int64, error) {
	if cfg.Patients < 1 {
		return 0, errors.New("generate: patients must be at least 1")
	}
	start, end := time.Date(cfg.Year, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(cfg.Year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	if !cfg.Until.IsZero() {
		y, m, d := cfg.Until.UTC().Date()
		end = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		start, cfg.Year = end.AddDate(0, 0, -365), y
	}
	if cfg.Year < 1900 || cfg.Year > 9000 {
		return 0, fmt.Errorf("generate: year %d out of range", cfg.Year)
	}
	if cfg.Rates == (Rates{}) {
		cfg.Rates = DefaultRates()
	}
	g := &generator{cfg: cfg, start: start, end: end}
	dir := &part{}
	g = g.stream(dir, 0) // the directory stream; the patients' streams copy what it draws
	if err := g.directory(); err != nil {
		return 0, err
	}
	lines, err := dir.flush(out, m)
	if err != nil {
		return lines, err
	}
	parts := make([]*part, runtime.GOMAXPROCS(0))
	for i := range parts {
		parts[i] = &part{}
	}
	for first := 0; first < cfg.Patients; first += len(parts) * chunk {
		if err := ctx.Err(); err != nil {
			return lines, err
		}
		var wg sync.WaitGroup
		for w, p := range parts {
			lo := first + w*chunk
			hi := min(lo+chunk, cfg.Patients)
			wg.Go(func() {
				s := g.stream(p, 0)
				for i := lo; i < hi && p.err == nil; i++ {
					// Each patient has their own random stream, so a patient's history
					// does not depend on how much randomness the ones before used.
					s.pcg.Seed(cfg.Seed, uint64(i)+1)
					p.err = s.patient(i)
				}
			})
		}
		wg.Wait()
		for _, p := range parts {
			n, err := p.flush(out, m)
			lines += n
			if err != nil {
				return lines, err
			}
		}
	}
	return lines, nil
}

// part holds the lines a worker generated, per kind, until they are written in order.
type part struct {
	bufs  map[string]*bytes.Buffer
	lines int64
	err   error
}

// Lines keeps lines for flush.
func (p *part) Lines(kind string, lines []byte) error {
	if p.bufs == nil {
		p.bufs = map[string]*bytes.Buffer{}
	}
	b := p.bufs[kind]
	if b == nil {
		b = &bytes.Buffer{}
		p.bufs[kind] = b
	}
	b.Write(lines)
	p.lines++
	return nil
}

// flush writes the kept lines to out in Kinds order and empties the part.
func (p *part) flush(out Output, m *progress.Meter) (int64, error) {
	if p.err != nil {
		return 0, p.err
	}
	for _, kind := range AllKinds {
		if b := p.bufs[kind]; b != nil && b.Len() > 0 {
			if err := out.Lines(kind, b.Bytes()); err != nil {
				return 0, err
			}
			b.Reset()
		}
	}
	n := p.lines
	p.lines = 0
	if m != nil {
		m.Add(n)
	}
	return n, nil
}

// stream returns a generator over g's directory that writes to p, with its own random
// stream (seeded with stream) and encoder.
func (g *generator) stream(p *part, stream uint64) *generator {
	s := *g
	s.out = p
	s.pcg = rand.NewPCG(g.cfg.Seed, stream)
	s.rnd = rand.New(s.pcg)
	s.buf = &bytes.Buffer{}
	s.enc = json.NewEncoder(s.buf)
	s.enc.SetEscapeHTML(false)
	return &s
}

// generator is one run's state.
type generator struct {
	cfg        Config
	start, end time.Time
	out        *part // where this stream's lines go
	pcg        *rand.PCG
	rnd        *rand.Rand
	buf        *bytes.Buffer
	enc        *json.Encoder

	hospitals  []*hospitalSite
	clinics    []*clinic
	pharmacies []string
	external   []string // NPIs of clinicians outside the system, for referrals
	weights    []float64
	totalW     float64
	npis, tins map[string]bool
}

// site is a clinic's or hospital's drifting quality: how much of what it does is done
// the way the measures count, at a time of the year.
type site struct {
	base, slope float64
}

func (s site) quality(g *generator, t time.Time) float64 {
	frac := t.Sub(g.start).Hours() / g.end.Sub(g.start).Hours()
	return min(max(s.base+s.slope*(frac-0.5), 0.02), 0.98)
}

type doctor struct {
	id, npi, credential string
	tins                []string
}

type clinic struct {
	site
	org, location, tin string
	doctors            []*doctor
}

type hospitalSite struct {
	site
	ccn, inpatient, ed string
	doctors            []*doctor
}

// emit encodes v as a line of kind.
func (g *generator) emit(kind string, v any) error {
	g.buf.Reset()
	if err := g.enc.Encode(v); err != nil {
		return fmt.Errorf("generate: encode %s: %w", kind, err)
	}
	return g.out.Lines(kind, g.buf.Bytes())
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rnd.Float64() < p }

// poisson draws a Poisson-distributed count with mean lambda (Knuth; lambda is small).
func (g *generator) poisson(lambda float64) int {
	limit, k, p := math.Exp(-lambda), 0, g.rnd.Float64()
	for p > limit {
		k++
		p *= g.rnd.Float64()
	}
	return k
}

func pick[T any](g *generator, s []T) T { return s[g.rnd.IntN(len(s))] }

func (g *generator) minutes(lo, hi int) time.Duration {
	return time.Duration(lo+g.rnd.IntN(hi-lo+1)) * time.Minute
}

// newNPI draws an unused NPI: 9 digits starting with 1 or 2, then the Luhn check digit
// over "80840" and those digits (the CMS NPI standard).
func (g *generator) newNPI() string {
	for {
		base := 100000000 + g.rnd.IntN(200000000)
		s := strconv.Itoa(base)
		npi := s + strconv.Itoa(luhnCheck("80840"+s))
		if !g.npis[npi] {
			g.npis[npi] = true
			return npi
		}
	}
}

// luhnCheck is the Luhn check digit of digits.
func luhnCheck(digits string) int {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 { // rightmost digit of the payload is doubled
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

func (g *generator) newTIN() string {
	for {
		tin := fmt.Sprintf("%09d", 100000000+g.rnd.IntN(800000000))
		if !g.tins[tin] {
			g.tins[tin] = true
			return tin
		}
	}
}

// newSite draws a quality: most sites are fair, some poor, some excellent; a third
// improve over the year, a third decline.
func (g *generator) newSite() site {
	return site{base: 0.35 + 0.6*g.rnd.Float64(), slope: pick(g, []float64{-0.5, 0, 0.5})}
}

func (g *generator) newDoctor(prefix string, n int, credential string, tins ...string) *doctor {
	return &doctor{id: prefix + "-dr" + strconv.Itoa(n), npi: g.newNPI(), credential: credential, tins: tins}
}

func (g *generator) emitDoctor(d *doctor) error {
	given := pick(g, givenFemale)
	if g.chance(0.5) {
		given = pick(g, givenMale)
	}
	return g.emit("clinicians", clinician{ID: d.id, NPI: d.npi, Credential: d.credential, TINs: d.tins,
		Name: personName{Given: []string{given}, Family: pick(g, surnames)}})
}

// directory writes the organizations, hospitals, groups, clinicians and locations:
// about one hospital per 10,000 patients and one clinic per 1,500.
func (g *generator) directory() error {
	g.npis, g.tins = map[string]bool{}, map[string]bool{}
	nHospitals := max(1, g.cfg.Patients/10000)
	nClinics := max(2, g.cfg.Patients/1500)
	var orgs []organization
	var hospitals []hospital
	var groups []group
	var locations []location
	var doctors []*doctor

	orgs = append(orgs, organization{ID: "hs", Name: "Synthetic Health", Kind: contract.OrganizationHealthSystem})
	for i := range 3 {
		id := "pharmacy-" + strconv.Itoa(i+1)
		g.pharmacies = append(g.pharmacies, id)
		orgs = append(orgs, organization{ID: id, Name: pick(g, places) + " Pharmacy", Kind: contract.OrganizationPharmacy})
	}
	// The state's registries, the public health agency's and a specialty society's.
	for _, r := range []struct{ measure, name string }{
		{contract.RegistryImmunization, "State Immunization Information System"},
		{contract.RegistrySyndromic, "State Syndromic Surveillance"},
		{contract.RegistryCaseReporting, "State Electronic Case Reporting"},
		{contract.RegistryLabReporting, "State Reportable Laboratory Results"},
		{contract.RegistryClinicalData, "Specialty Society Clinical Data Registry"},
	} {
		orgs = append(orgs, organization{ID: "reg-" + r.measure, Name: r.name, Kind: contract.OrganizationPublicHealth})
	}
	for i := range nHospitals {
		n := strconv.Itoa(i + 1)
		h := &hospitalSite{site: g.newSite(), ccn: fmt.Sprintf("%02d%04d", 10+i%40, 1+i), inpatient: "h" + n + "-ip", ed: "h" + n + "-ed"}
		name := pick(g, places) + " Hospital " + n
		tin := g.newTIN()
		hospitals = append(hospitals, hospital{ID: "h" + n, OrganizationID: "hs", Name: name, CCN: h.ccn})
		groups = append(groups, group{ID: "h" + n + "-group", OrganizationID: "hs", Name: name + " Physicians", TIN: tin})
		locations = append(locations,
			location{ID: h.inpatient, OrganizationID: "hs", Name: name + " Inpatient", POS: "21", CEHRT: true, HospitalID: "h" + n},
			location{ID: h.ed, OrganizationID: "hs", Name: name + " Emergency", POS: "23", CEHRT: true, HospitalID: "h" + n})
		for j := range 4 {
			d := g.newDoctor("h"+n, j+1, pick(g, []string{contract.CredentialMD, contract.CredentialDO}), tin)
			h.doctors = append(h.doctors, d)
			doctors = append(doctors, d)
		}
		g.hospitals = append(g.hospitals, h)
	}
	for i := range nClinics {
		n := strconv.Itoa(i + 1)
		c := &clinic{site: g.newSite(), org: "clinic" + n, location: "clinic" + n + "-office", tin: g.newTIN()}
		name := pick(g, places) + " Clinic " + n
		orgs = append(orgs, organization{ID: c.org, Name: name, Kind: contract.OrganizationPractice, PartOf: "hs"})
		groups = append(groups, group{ID: c.org + "-group", OrganizationID: c.org, Name: name + " Group", TIN: c.tin})
		// One clinic in ten still works without certified EHR technology.
		locations = append(locations, location{ID: c.location, OrganizationID: c.org, Name: name, POS: "11",
			CEHRT: i%10 != 9, TIN: c.tin})
		for j := range 3 + g.rnd.IntN(6) {
			d := g.newDoctor("clinic"+n, j+1, pick(g, []string{contract.CredentialMD, contract.CredentialMD,
				contract.CredentialDO, contract.CredentialNP, contract.CredentialPA}), c.tin)
			c.doctors = append(c.doctors, d)
			doctors = append(doctors, d)
		}
		g.clinics = append(g.clinics, c)
		w := 0.5 + g.rnd.Float64() // clinics differ in size
		g.weights = append(g.weights, w)
		g.totalW += w
	}
	// About one clinician in seven also bills under another clinic's TIN.
	home := make([][]*doctor, len(g.clinics))
	for i, c := range g.clinics {
		home[i] = slices.Clone(c.doctors)
	}
	for i, c := range g.clinics {
		other := g.clinics[(i+1)%len(g.clinics)]
		for _, d := range home[i] {
			if other != c && !slices.Contains(d.tins, other.tin) && g.chance(0.15) {
				d.tins = append(d.tins, other.tin)
				other.doctors = append(other.doctors, d)
			}
		}
	}
	for range 20 {
		g.external = append(g.external, g.newNPI())
	}

	if err := emitAll(g, "organizations", orgs); err != nil {
		return err
	}
	if err := emitAll(g, "hospitals", hospitals); err != nil {
		return err
	}
	if err := emitAll(g, "groups", groups); err != nil {
		return err
	}
	for _, d := range doctors {
		if err := g.emitDoctor(d); err != nil {
			return err
		}
	}
	if err := emitAll(g, "locations", locations); err != nil {
		return err
	}
	return g.registries()
}

// registries writes each clinic's and hospital's public health engagements: each
// registry with the configured chance, better sites more often; some registered
// before the year, some during it, so they pass in some windows only; some still
// testing or only registered.
func (g *generator) registries() error {
	type site struct {
		entity   contract.Entity
		q        float64
		measures []string
	}
	var sites []site
	for _, c := range g.clinics {
		sites = append(sites, site{contract.Entity{Kind: contract.EntityTIN, ID: c.tin}, c.base,
			[]string{contract.RegistryImmunization, contract.RegistrySyndromic, contract.RegistryClinicalData}})
	}
	for _, h := range g.hospitals {
		sites = append(sites, site{contract.Entity{Kind: contract.EntityCCN, ID: h.ccn}, h.base,
			[]string{contract.RegistrySyndromic, contract.RegistryImmunization, contract.RegistryCaseReporting,
				contract.RegistryLabReporting}})
	}
	days := int(g.end.Sub(g.start).Hours() / 24)
	for _, s := range sites {
		for _, m := range s.measures {
			if !g.chance(g.cfg.Rates.Registries * (0.5 + s.q/2)) {
				continue
			}
			registered := g.start.AddDate(0, 0, -g.rnd.IntN(700)) // most before the year
			if g.chance(0.25) {
				registered = g.start.AddDate(0, 0, g.rnd.IntN(days-30)) // during it
			}
			registered = registered.Add(time.Duration(9+g.rnd.IntN(8)) * time.Hour)
			status := pick(g, []string{contract.EngagementProduction, contract.EngagementProduction,
				contract.EngagementTesting, contract.EngagementRegistered})
			since := registered
			if status != contract.EngagementRegistered {
				since = registered.AddDate(0, 0, 7+g.rnd.IntN(120))
			}
			if !since.Before(g.end) { // nothing engaged after the year
				since = registered
				status = contract.EngagementRegistered
			}
			if err := g.emit("registry-engagements", registryEngagement{ID: s.entity.Kind + "-" + s.entity.ID + "-" + m,
				Entity: s.entity, Measure: m, RegistryID: "reg-" + m, Status: status, Registered: registered,
				Since: since}); err != nil {
				return err
			}
		}
	}
	return nil
}

// emitAll emits every one of vs as a line of kind.
func emitAll[T any](g *generator, kind string, vs []T) error {
	for _, v := range vs {
		if err := g.emit(kind, v); err != nil {
			return err
		}
	}
	return nil
}

// pickClinic draws a clinic in proportion to its size.
func (g *generator) pickClinic() *clinic {
	x := g.rnd.Float64() * g.totalW
	for i, w := range g.weights {
		if x < w {
			return g.clinics[i]
		}
		x -= w
	}
	return g.clinics[len(g.clinics)-1]
}

// visitTime draws a weekday business-hour time in the year (clinic hours in UTC for
// US Eastern: 13:00–21:45).
func (g *generator) visitTime() time.Time {
	days := int(g.end.Sub(g.start).Hours() / 24)
	t := g.start.AddDate(0, 0, g.rnd.IntN(days))
	switch t.Weekday() {
	case time.Saturday:
		t = t.AddDate(0, 0, -1)
	case time.Sunday:
		t = t.AddDate(0, 0, -2)
	}
	if t.Before(g.start) {
		t = t.AddDate(0, 0, 3)
	}
	return t.Add(time.Duration(13+g.rnd.IntN(9))*time.Hour + time.Duration(15*g.rnd.IntN(4))*time.Minute)
}

// anyTime draws any time in the year (hospital care does not keep office hours).
func (g *generator) anyTime() time.Time {
	return g.start.Add(time.Duration(g.rnd.Int64N(int64(g.end.Sub(g.start)))).Truncate(time.Minute))
}

// addBusinessDays adds n days, skipping Saturdays and Sundays.
func addBusinessDays(t time.Time, n int) time.Time {
	for n > 0 {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return t
}

// accessDelay is how long after the information is available the patient gets
// access: within 4 business days with probability q (the measure's window), later
// (5 to 30 business days) otherwise.
func (g *generator) accessDelay(available time.Time, q float64) time.Time {
	if g.chance(q) {
		return addBusinessDays(available, g.rnd.IntN(4)).Add(g.minutes(0, 120))
	}
	return addBusinessDays(available, 5+g.rnd.IntN(26))
}

// done reports whether something due at t has happened by the time the data is
// generated for: always for a past calendar year (its follow-ups spill into the next
// year, as they would), and only before Until otherwise — a result not yet issued,
// access not yet given, a patient still admitted are simply not there yet.
func (g *generator) done(t time.Time) bool {
	return g.cfg.Until.IsZero() || t.Before(g.cfg.Until)
}

func ptr[T any](v T) *T { return &v }

// patient writes patient i and their year of care.
func (g *generator) patient(i int) error {
	p := &patientGen{g: g, id: fmt.Sprintf("pt-%06d", i+1), clinic: g.pickClinic()}
	p.doctor = pick(g, p.clinic.doctors)
	sex, given := "female", pick(g, givenFemale)
	if g.chance(0.48) {
		sex, given = "male", pick(g, givenMale)
	}
	birth := time.Date(g.cfg.Year-g.rnd.IntN(90)-1, time.Month(1+g.rnd.IntN(12)), 1+g.rnd.IntN(28), 0, 0, 0, 0, time.UTC)
	if err := g.emit("patients", patient{ID: p.id, OrganizationID: p.clinic.org,
		MRN:  mrn{System: MRNSystem, Value: "MRN-" + p.id[3:]},
		Name: personName{Given: []string{given}, Family: pick(g, surnames)}, BirthDate: birth.Format(time.DateOnly),
		Sex: sex}); err != nil {
		return err
	}
	visits := make([]time.Time, g.poisson(g.cfg.Rates.OfficeVisits))
	for j := range visits {
		visits[j] = g.visitTime()
	}
	slices.SortFunc(visits, func(a, b time.Time) int { return a.Compare(b) })
	newPatient := g.chance(0.15)
	for j, t := range visits {
		if err := p.visit(t, j == 0, j == 0 && newPatient); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.Admissions) {
		if err := p.stay(contract.ClassInpatient); err != nil {
			return err
		}
	}
	for range g.poisson(g.cfg.Rates.EDVisits) {
		if err := p.stay(contract.ClassEmergency); err != nil {
			return err
		}
	}
	return nil
}
