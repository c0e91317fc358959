package measure_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
)

// TestONCRequiredTest2aEP replays ONC's (g)(2) Required Test 2a for MIPS (2025 deck,
// G2 EP, PI_PEA_1) at the level of this package: its five cumulative scenarios and
// the expected numerator/denominator for the four TIN/NPI combinations and the two
// groups. The deck's per-provider "Yes"/"No" for "access within 4 business days"
// become a share at the moment the information is available, or none. The deck's
// data is restated here (ONC test data, Apache-2.0, projectcypress/
// promoting-interoperability-test-artifacts, resources/RT2/EP_RT2a_G2.json).
func TestONCRequiredTest2aEP(t *testing.T) {
	m := find(t, measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	providers := []struct {
		name string
		p    measure.Provider
	}{
		{"A1", measure.Provider{NPI: npi1, TIN: tinA}},
		{"B1", measure.Provider{NPI: npi1, TIN: tinB}},
		{"A2", measure.Provider{NPI: npi2, TIN: tinA}},
		{"B2", measure.Provider{NPI: npi2, TIN: tinB}},
	}
	// One line per patient and scenario; per provider (A1 B1 A2 B2): seen (E) or not
	// (-), then VDT and API in time (Y/N).
	scenarios := [][]string{
		{"Vicki  EYY EYY EYY EYY", "Pauline EYY EYY EYY EYY", "Roberta EYY EYY EYY EYY",
			"Alberto EYN --- --- EYY", "Beverly EYY ENN EYY ENN"},
		{"Pauline ENY ENN ENN ENN", "Vicki  ENN ENN ENN ENN", "Roberta ENY ENN ENN ENN"},
		{"Leo EYY EYY EYY EYY", "Glenda EYY EYY EYY EYY", "Joe EYY EYY EYY EYY"},
		{"Katie ENN ENN ENN ENN", "Randall ENY ENY ENY ENY", "Fred ENN ENN ENN ENN"},
		{"Beverly EYY --- --- ENY"},
	}
	// Expected den/num: A1, B1, A2, B2, Group A, Group B.
	want := []string{
		"5/4 4/3 4/4 5/4 5/4 5/4",
		"5/1 4/0 4/1 5/1 5/1 5/1",
		"8/4 7/3 7/4 8/4 8/4 8/4",
		"11/4 10/3 10/4 11/4 11/4 11/4",
		"11/4 10/3 10/4 11/4 11/4 11/4",
	}
	patients := map[string]*measure.Patient{}
	var order []string
	for i, lines := range scenarios {
		day := time.Date(2025, time.Month(2+i), 3, 10, 0, 0, 0, time.UTC) // a Monday-to-Thursday each month
		for _, line := range lines {
			f := strings.Fields(line)
			name := f[0]
			p, ok := patients[name]
			if !ok {
				p = &measure.Patient{ID: name}
				patients[name] = p
				order = append(order, name)
			}
			for j, cell := range f[1:] {
				if cell[0] != 'E' {
					continue
				}
				id := fmt.Sprintf("%s-s%d-%s", name, i+1, providers[j].name)
				p.Encounters = append(p.Encounters, measure.Encounter{ID: id, Provider: providers[j].p,
					Setting: measure.Office, Start: day, InfoAvailable: day})
				for k, ch := range []measure.Channel{measure.VDT, measure.API} {
					if cell[1+k] == 'Y' {
						p.Shares = append(p.Shares, measure.Share{ID: id + string(ch), EncounterID: id, Channel: ch, At: day})
					}
				}
			}
		}
		var pts []measure.Patient
		for _, name := range order {
			pts = append(pts, *patients[name])
		}
		entities := []contract.Entity{tinNPI(tinA, npi1), tinNPI(tinB, npi1), tinNPI(tinA, npi2), tinNPI(tinB, npi2),
			{Kind: contract.EntityTIN, ID: tinA}, {Kind: contract.EntityTIN, ID: tinB}}
		var got []string
		for _, e := range entities {
			r := evaluate(t, m, e, year(2025), opts(), pts...)
			got = append(got, fmt.Sprintf("%d/%d", r.Denominator, r.Numerator))
		}
		if g := strings.Join(got, " "); g != want[i] {
			t.Errorf("scenario %d: %s, want %s", i+1, g, want[i])
		}
	}
}
