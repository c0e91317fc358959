package generate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memory keeps the generated lines per kind.
type memory map[string]*bytes.Buffer

func (m memory) Lines(kind string, lines []byte) error {
	if m[kind] == nil {
		m[kind] = &bytes.Buffer{}
	}
	m[kind].Write(lines)
	return nil
}

func generated(t testing.TB, cfg generate.Config) memory {
	t.Helper()
	m := memory{}
	if _, err := generate.Generate(context.Background(), cfg, m, nil); err != nil {
		t.Fatal(err)
	}
	return m
}

// decode reads kind's lines as JSON objects.
func (m memory) decode(t testing.TB, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range bytes.Lines(m[kind].Bytes()) {
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		out = append(out, v)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := generate.Config{Seed: 7, Patients: 300, Year: 2025}
	a, b := generated(t, cfg), generated(t, cfg)
	cfg.Patients = 1300 // more than one chunk per CPU
	many := generated(t, cfg)
	procs := runtime.GOMAXPROCS(1)
	one := generated(t, cfg)
	runtime.GOMAXPROCS(procs)
	for _, kind := range generate.AllKinds {
		if !bytes.Equal(many[kind].Bytes(), one[kind].Bytes()) {
			t.Errorf("%s: output depends on the number of CPUs", kind)
		}
	}
	cfg.Patients, cfg.Seed = 300, 8
	c := generated(t, cfg)
	if len(a) != len(generate.AllKinds) {
		t.Errorf("%d kinds written, want %d", len(a), len(generate.AllKinds))
	}
	for _, kind := range generate.AllKinds {
		if a[kind] == nil || a[kind].Len() == 0 {
			t.Errorf("%s: nothing generated", kind)
			continue
		}
		if !bytes.Equal(a[kind].Bytes(), b[kind].Bytes()) {
			t.Errorf("%s: same seed, different output", kind)
		}
	}
	if bytes.Equal(a["encounters"].Bytes(), c["encounters"].Bytes()) {
		t.Error("different seeds, same encounters")
	}
}

func TestRejectsBadConfig(t *testing.T) {
	tests := []generate.Config{{Patients: 0, Year: 2025}, {Patients: 1, Year: 0}}
	for _, cfg := range tests {
		if _, err := generate.Generate(context.Background(), cfg, memory{}, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

func TestNPIs(t *testing.T) {
	m := generated(t, generate.Config{Seed: 1, Patients: 3000, Year: 2025})
	multi := 0
	seen := map[string]bool{}
	for _, c := range m.decode(t, "clinicians") {
		npi := c["npi"].(string)
		if !ident.ValidNPI(npi) || seen[npi] {
			t.Errorf("NPI %s: valid %v, seen before %v", npi, ident.ValidNPI(npi), seen[npi])
		}
		seen[npi] = true
		if len(c["tins"].([]any)) > 1 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no clinician bills under several TINs")
	}
	for _, tr := range m.decode(t, "transitions") {
		for _, party := range []string{"sender", "receiver"} {
			if npi, ok := tr[party].(map[string]any)["npi"].(string); ok && !ident.ValidNPI(npi) {
				t.Errorf("transition %s: %s NPI %s not valid", tr["id"], party, npi)
			}
		}
	}
}

// TestRates checks the generated frequencies against the configured rates, with
// bounds about five standard errors wide at this size.
func TestRates(t *testing.T) {
	const patients = 4000
	rates := generate.DefaultRates()
	rates.OfficeVisits, rates.Controlled = 4, 0.2
	m := generated(t, generate.Config{Seed: 3, Patients: patients, Year: 2025, Rates: rates})

	classes := map[string]int{}
	for _, e := range m.decode(t, "encounters") {
		classes[e["class"].(string)]++
	}
	ambulatory := classes[contract.ClassOffice] + classes[contract.ClassTelehealth]
	var controlled, rxs int
	for _, rx := range m.decode(t, "prescriptions") {
		rxs++
		if rx["schedule"] != nil {
			controlled++
		}
	}
	tests := []struct {
		name      string
		got       float64
		low, high float64
	}{
		{"ambulatory visits per patient", float64(ambulatory) / patients, 3.85, 4.15},
		{"telehealth share", float64(classes[contract.ClassTelehealth]) / float64(ambulatory), 0.135, 0.165},
		{"admissions per patient", float64(classes[contract.ClassInpatient]) / patients, 0.04, 0.08},
		{"ED visits per patient", float64(classes[contract.ClassEmergency]) / patients, 0.12, 0.18},
		{"controlled share", float64(controlled) / float64(rxs), 0.185, 0.215},
	}
	for _, tt := range tests {
		if tt.got < tt.low || tt.got > tt.high {
			t.Errorf("%s = %.3f, want %.3f..%.3f", tt.name, tt.got, tt.low, tt.high)
		}
	}
}

// TestEntitiesDiffer checks that the measures will separate entities: the share of
// lab orders entered through CPOE differs between clinics (by TIN), and within a
// clinic between the halves of the year.
func TestEntitiesDiffer(t *testing.T) {
	m := generated(t, generate.Config{Seed: 1, Patients: 6000, Year: 2025})
	type counts struct{ cpoe, all [2]int }
	byTIN := map[string]*counts{}
	for _, o := range m.decode(t, "orders") {
		c := byTIN[o["tin"].(string)]
		if c == nil {
			c = &counts{}
			byTIN[o["tin"].(string)] = c
		}
		half := 0
		if o["ordered"].(string) >= "2025-07" {
			half = 1
		}
		c.all[half]++
		if o["entry_method"] == contract.EntryCPOE {
			c.cpoe[half]++
		}
	}
	lowest, highest, drift := 1.0, 0.0, 0.0
	for _, c := range byTIN {
		share := float64(c.cpoe[0]+c.cpoe[1]) / float64(c.all[0]+c.all[1])
		lowest, highest = min(lowest, share), max(highest, share)
		first, second := float64(c.cpoe[0])/float64(c.all[0]), float64(c.cpoe[1])/float64(c.all[1])
		drift = max(drift, second-first, first-second)
	}
	if highest-lowest < 0.25 {
		t.Errorf("CPOE shares by TIN from %.2f to %.2f: want them at least 0.25 apart", lowest, highest)
	}
	if drift < 0.15 {
		t.Errorf("largest CPOE change between the halves of the year %.2f, want some clinic to drift by 0.15", drift)
	}
}

// TestEverythingTheIssueLists checks that each kind of activity the measures read is
// generated and differs between entities: secure messages with the patient's question
// and the clinician's reply, education given electronically and on paper, tablets'
// self-reported vitals incorporated or not, registry engagement during the year,
// referrals out with summaries of care and in, VDT and API use after access.
func TestEverythingTheIssueLists(t *testing.T) {
	m := generated(t, generate.Config{Seed: 5, Patients: 9000, Year: 2025})
	count := func(kind string, f func(map[string]any) bool) int {
		n := 0
		for _, v := range m.decode(t, kind) {
			if f(v) {
				n++
			}
		}
		return n
	}
	all := func(map[string]any) bool { return true }
	has := func(field string) func(map[string]any) bool {
		return func(v map[string]any) bool { return v[field] != nil }
	}
	is := func(field, value string) func(map[string]any) bool {
		return func(v map[string]any) bool { return v[field] == value }
	}
	replied := count("threads", func(v map[string]any) bool {
		for _, msg := range v["messages"].([]any) {
			if msg.(map[string]any)["reply_to"] != nil {
				return true
			}
		}
		return false
	})
	year := func(field string) func(map[string]any) bool {
		return func(v map[string]any) bool { s, _ := v[field].(string); return s >= "2025-02" }
	}
	tests := []struct {
		what string
		n    int
	}{
		{"message threads", count("threads", all)},
		{"patients' questions answered", replied},
		{"consults including the patient", count("threads", is("kind", "consult"))},
		{"education through the portal", count("education", is("channel", contract.ChannelPortal))},
		{"education printed", count("education", is("channel", contract.ChannelPrint))},
		{"education not identified by the EHR", count("education", func(v map[string]any) bool { return v["identified_by_system"] == false })},
		{"tablet vitals", count("vital-signs", is("performer", contract.PerformerPatient))},
		{"tablet vitals incorporated", count("pghd", all)},
		{"registry engagements in production", count("registry-engagements", is("status", contract.EngagementProduction))},
		{"registry engagements begun during the year", count("registry-engagements", year("since"))},
		{"referrals out with a summary sent", count("transitions", has("sent"))},
		{"transitions in received", count("transitions", has("received"))},
		{"API use", count("vdt", is("action", contract.VDTAPI))},
		{"views", count("vdt", is("action", contract.VDTView))},
	}
	for _, tt := range tests {
		if tt.n == 0 {
			t.Errorf("%s: none generated", tt.what)
		}
	}
	if vs, pg := count("vital-signs", all), count("pghd", all); pg >= vs {
		t.Errorf("%d tablet vitals, %d incorporated: want some not incorporated", vs, pg)
	}
	// Messages and education are never dated after the year (messaging and education
	// refuse the future).
	for _, v := range m.decode(t, "threads") {
		for _, msg := range v["messages"].([]any) {
			if s := msg.(map[string]any)["sent"].(string); s >= "2026" {
				t.Errorf("a message sent %s, after the year", s)
			}
		}
	}
	// Portal education differs between clinics (by TIN).
	portal, total := map[string]int{}, map[string]int{}
	for _, v := range m.decode(t, "education") {
		tin := v["tin"].(string)
		total[tin]++
		if v["channel"] != contract.ChannelPrint {
			portal[tin]++
		}
	}
	lowest, highest := 1.0, 0.0
	for tin, n := range total {
		share := float64(portal[tin]) / float64(n)
		lowest, highest = min(lowest, share), max(highest, share)
	}
	if highest-lowest < 0.25 {
		t.Errorf("electronic education shares by TIN from %.2f to %.2f: want them at least 0.25 apart", lowest, highest)
	}
}

// BenchmarkGenerate reports generated lines (events) per second of wall time, and per
// second of this process's CPU time, which does not depend on what else the machine runs.
func BenchmarkGenerate(b *testing.B) {
	const patients = 2000
	var lines int64
	cpu0 := cpuTime(b)
	for b.Loop() {
		n, err := generate.Generate(context.Background(), generate.Config{Seed: 1, Patients: patients, Year: 2025},
			discard{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		lines += n
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(lines)/(cpuTime(b)-cpu0).Seconds(), "events/cpu-s")
}

// cpuTime is the CPU time the process used so far (user and system, every thread).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type discard struct{}

func (discard) Lines(string, []byte) error { return nil }

// TestUntilWritesNothingAfterIt: with Until, the year ends at that moment — every
// timestamp in every line is before it (results not yet issued, access not yet given
// and patients still admitted are left out), and visits reach the last days before it.
func TestUntilWritesNothingAfterIt(t *testing.T) {
	until := time.Date(2026, 3, 18, 15, 30, 0, 0, time.UTC)
	m := generated(t, generate.Config{Seed: 3, Patients: 400, Until: until})
	var latest time.Time
	var walk func(kind string, v any)
	walk = func(kind string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, y := range x {
				walk(kind, y)
			}
		case []any:
			for _, y := range x {
				walk(kind, y)
			}
		case string:
			ts, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return
			}
			if !ts.Before(until) {
				t.Errorf("%s: %s is not before %s", kind, x, until.Format(time.RFC3339))
			}
			if kind == "encounters" && ts.After(latest) {
				latest = ts
			}
		}
	}
	for _, kind := range generate.AllKinds {
		for _, line := range m.decode(t, kind) {
			walk(kind, line)
		}
	}
	if until.Sub(latest) > 7*24*time.Hour {
		t.Errorf("the last encounter is at %s, more than a week before %s", latest, until)
	}
	// Without Until the calendar year's follow-ups spill into the next year, as before.
	if _, err := generate.Generate(context.Background(), generate.Config{Seed: 3, Patients: 10, Until: until, Year: 1},
		memory{}, nil); err != nil {
		t.Errorf("Until replaces Year: %v", err)
	}
}
