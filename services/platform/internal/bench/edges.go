package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// AddEdges appends to the generated files a few patients of the first clinic's first
// clinician whose facts sit on the rules' boundaries — access at the last timely
// instant and a minute after, a deadline stretched by a federal holiday, encounters
// and prescriptions at the first and last instant of the year, actions after the
// period, controlled substances, summaries missing a section — so that the three
// ways must agree where they are most likely to differ. It returns the lines added.
func AddEdges(dir string, year int) (int64, error) {
	tin, npi, loc, err := firstClinician(dir)
	if err != nil {
		return 0, err
	}
	lines := map[string][]any{}
	add := func(kind string, v map[string]any) { lines[kind] = append(lines[kind], v) }
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(year, m, d, h, min, 0, 0, time.UTC) }
	n := 0
	patient := func() string {
		n++
		id := fmt.Sprintf("edge-%03d", n)
		add("patients", map[string]any{"id": id, "organization_id": "hs",
			"mrn":  map[string]string{"system": generate.MRNSystem, "value": "EDGE-" + id},
			"name": map[string]any{"given": []string{"Edge"}, "family": "Case"}, "birth_date": "1970-05-06", "sex": "male"})
		return id
	}
	last := ""
	visit := func(pid string, start, available time.Time) string {
		id := fmt.Sprintf("%s-e%d", pid, len(lines["encounters"])+1)
		last = id
		add("encounters", map[string]any{"id": id, "patient_id": pid, "class": "office", "start": start,
			"end": start.Add(20 * time.Minute), "rendering_npi": npi, "billing_tin": tin, "location_id": loc})
		if !available.IsZero() {
			add("availabilities", map[string]any{"id": id + "-a", "patient_id": pid, "kind": "encounter",
				"available": available, "encounter_id": id, "npi": npi, "tin": tin})
		}
		return id
	}
	grant := func(pid, enc string, granted time.Time, kinds ...string) {
		for _, k := range kinds {
			add("access-grants", map[string]any{"id": enc + "-g" + k, "patient_id": pid, "kind": k, "granted": granted,
				"npi": npi, "tin": tin, "encounter_id": enc})
		}
	}
	// Monday 2021-03-01-like: the first Monday of March; available at 10:00, so the
	// 4th business day after ends on Friday at midnight.
	mon := at(time.March, 1, 10, 0)
	for mon.Weekday() != time.Monday {
		mon = mon.AddDate(0, 0, 1)
	}
	fri := mon.AddDate(0, 0, 4)
	p := patient() // timely at the last minute
	e := visit(p, mon.Add(-time.Hour), mon)
	grant(p, e, time.Date(fri.Year(), fri.Month(), fri.Day(), 23, 59, 0, 0, time.UTC), "vdt", "api")
	p = patient() // a minute late
	e = visit(p, mon.Add(-time.Hour), mon)
	grant(p, e, time.Date(fri.Year(), fri.Month(), fri.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1).Add(time.Minute), "vdt", "api")
	p = patient() // VDT in time, API never
	e = visit(p, mon.Add(-time.Hour), mon)
	grant(p, e, mon.Add(time.Hour), "vdt")
	// Independence Day observed (2021: Monday 5 July): from Friday 2 July the 4th
	// business day is Friday 9 July, not Thursday 8.
	p = patient()
	e = visit(p, at(time.July, 2, 9, 0), at(time.July, 2, 10, 0))
	grant(p, e, at(time.July, 9, 12, 0), "vdt", "api")
	// Thanksgiving (fourth Thursday of November).
	thu := at(time.November, 22, 12, 0)
	for thu.Weekday() != time.Thursday {
		thu = thu.AddDate(0, 0, 1)
	}
	p = patient()
	e = visit(p, thu.AddDate(0, 0, -1).Add(-2*time.Hour), thu.AddDate(0, 0, -1))
	grant(p, e, thu.AddDate(0, 0, 4).Add(10*time.Hour), "vdt", "api") // Monday after: day 3 with the holiday, 4 without
	// The first and last instants of the year; access given after the year ends.
	p = patient()
	e = visit(p, at(time.January, 1, 0, 0), time.Time{}) // no availability: the clock starts at the end
	grant(p, e, at(time.January, 1, 1, 0), "vdt", "api")
	p = patient()
	e = visit(p, at(time.December, 31, 23, 30), at(time.December, 31, 23, 55))
	grant(p, e, at(time.December, 31, 23, 55).AddDate(0, 0, 3), "vdt", "api")
	p = patient()
	visit(p, at(time.January, 1, 0, 0).Add(-time.Minute), time.Time{}) // last minute of the year before
	// A first visit in time, a second never shared: decremented.
	p = patient()
	e = visit(p, mon.AddDate(0, 1, 0), mon.AddDate(0, 1, 0).Add(time.Hour))
	grant(p, e, mon.AddDate(0, 1, 0).Add(2*time.Hour), "vdt", "api")
	visit(p, mon.AddDate(0, 2, 0), mon.AddDate(0, 2, 0).Add(time.Hour))
	// Prescriptions: at the first instant, transmitted after the year; controlled and
	// transmitted; failed.
	rx := func(pid, id string, written time.Time, schedule string, transmitted time.Time, outcome string) {
		v := map[string]any{"id": id, "patient_id": pid, "code": map[string]string{"system": contract.SystemRxNorm, "code": "197361"},
			"kind": "new", "permissible": true, "written": written, "npi": npi, "tin": tin, "encounter_id": last}
		if schedule != "" {
			v["schedule"] = schedule
		}
		v["transmission"] = map[string]any{"transmitted": transmitted, "method": "electronic", "outcome": outcome, "pharmacy_id": "pharmacy-1"}
		add("prescriptions", v)
	}
	p = patient()
	visit(p, at(time.December, 31, 23, 0), time.Time{})
	rx(p, p+"-rx1", at(time.December, 31, 23, 59), "", at(time.December, 31, 23, 59).Add(2*time.Minute), "succeeded")
	rx(p, p+"-rx2", at(time.December, 31, 23, 10), "II", at(time.December, 31, 23, 20), "succeeded")
	rx(p, p+"-rx3", at(time.December, 31, 23, 15), "", at(time.December, 31, 23, 25), "failed")
	// Transitions out: confirmed after the year; a section missing; and transitions in
	// reconciled in part.
	p = patient()
	e = visit(p, at(time.December, 30, 10, 0), time.Time{})
	out := func(id string, sent, confirmed time.Time, meds string) {
		add("transitions", map[string]any{"id": id, "patient_id": p, "direction": "out", "kind": "referral",
			"occurred": at(time.December, 30, 10, 30), "encounter_id": e, "sender": map[string]string{"npi": npi, "tin": tin},
			"receiver": map[string]string{"npi": "1234567893"}, "summary_created": at(time.December, 30, 10, 40),
			"contents": map[string]string{"problems": "present", "medications": meds, "allergies": "none"},
			"sent":     sent, "transport": "direct", "receipt_confirmed": confirmed})
	}
	out(p+"-t1", at(time.December, 31, 20, 0), at(time.December, 31, 20, 0).AddDate(0, 0, 1), "present")
	out(p+"-t2", at(time.December, 30, 20, 0), at(time.December, 30, 21, 0), "missing")
	out(p+"-t3", at(time.December, 30, 20, 0), at(time.December, 30, 21, 0), "present")
	in := func(id string, received time.Time, problems time.Time) {
		add("transitions", map[string]any{"id": id, "patient_id": p, "direction": "in", "kind": "referral",
			"occurred": at(time.December, 30, 10, 0), "encounter_id": e, "sender": map[string]string{"npi": "1234567893"},
			"receiver": map[string]string{"npi": npi, "tin": tin}, "received": received})
		r := at(time.December, 30, 11, 0)
		add("reconciliations", map[string]any{"id": id + "-rc", "patient_id": p, "transition_id": id,
			"medications": r, "allergies": r, "problems": problems, "npi": npi})
	}
	in(p+"-t4", at(time.December, 29, 9, 0), at(time.December, 30, 11, 0))
	in(p+"-t5", at(time.December, 29, 9, 0), at(time.December, 30, 11, 0).AddDate(0, 0, 3))
	in(p+"-t6", at(time.January, 1, 0, 0).Add(-time.Minute), at(time.January, 2, 11, 0))

	var total int64
	for _, kind := range generate.Kinds {
		for _, v := range lines[kind] {
			b, err := json.Marshal(v)
			if err != nil {
				return total, err
			}
			if err := appendTo(filepath.Join(dir, generate.FileName(kind)), append(b, '\n')); err != nil {
				return total, err
			}
			// And to the one import of every line, when there is one.
			var wrapped bytes.Buffer
			if err := generate.AppendImportLine(&wrapped, kind, b); err != nil {
				return total, err
			}
			if err := appendTo(filepath.Join(dir, generate.ImportFile(kind)), wrapped.Bytes()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return total, err
			}
			total++
		}
	}
	return total, nil
}

// appendTo appends b to the file at path, which must exist.
func appendTo(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// firstClinician is the first clinician of the first clinic: a TIN and NPI it bills
// under and the clinic's office.
func firstClinician(dir string) (tin, npi, loc string, err error) {
	scan := func(kind string, f func([]byte) bool) error {
		file, err := os.Open(filepath.Join(dir, generate.FileName(kind)))
		if err != nil {
			return err
		}
		defer file.Close()
		sc := bufio.NewScanner(file)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			if f(sc.Bytes()) {
				return nil
			}
		}
		return sc.Err()
	}
	err = scan("locations", func(b []byte) bool {
		var v struct {
			ID, POS, TIN string
			CEHRT        bool
		}
		if json.Unmarshal(b, &v) == nil && v.POS == "11" && v.CEHRT && v.TIN != "" {
			loc, tin = v.ID, v.TIN
			return true
		}
		return false
	})
	if err == nil {
		err = scan("clinicians", func(b []byte) bool {
			var v struct {
				NPI  string
				TINs []string
			}
			if json.Unmarshal(b, &v) == nil && len(v.TINs) > 0 && v.TINs[0] == tin {
				npi = v.NPI
				return true
			}
			return false
		})
	}
	if err == nil && (tin == "" || npi == "" || loc == "") {
		err = fmt.Errorf("edge cases: no clinic with a clinician in the generated directory")
	}
	return tin, npi, loc, err
}
