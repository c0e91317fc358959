package measure_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
)

// population builds n patients, each seen three times in 2025 by one of two
// clinicians of TIN A, with access given in time for most encounters, education for
// a third of them and two prescriptions each.
func population(n int) []measure.Patient {
	pts := make([]measure.Patient, n)
	provs := []measure.Provider{{NPI: npi1, TIN: tinA}, {NPI: npi2, TIN: tinA}}
	for i := range pts {
		p := measure.Patient{ID: fmt.Sprintf("p%07d", i)}
		for j := range 3 {
			start := time.Date(2025, time.Month(1+(i+4*j)%12), 1+i%27, 9, 0, 0, 0, time.UTC)
			id := fmt.Sprintf("%s-e%d", p.ID, j)
			prov := provs[(i+j)%2]
			p.Encounters = append(p.Encounters, measure.Encounter{ID: id, Provider: prov, Setting: measure.Office, Start: start})
			if (i+j)%7 != 0 {
				p.Shares = append(p.Shares,
					measure.Share{ID: id + "v", EncounterID: id, Channel: measure.VDT, At: start.Add(time.Hour)},
					measure.Share{ID: id + "a", EncounterID: id, Channel: measure.API, At: start.Add(time.Hour)})
			}
			p.Prescriptions = append(p.Prescriptions, measure.Prescription{ID: id + "rx", Provider: prov, Written: start,
				Change: measure.NewRx, Permissible: true, Controlled: j == 2, Transmitted: start})
		}
		if i%3 == 0 {
			p.Actions = append(p.Actions, measure.Action{ID: p.ID + "-edu", Kind: measure.EducationElectronic, Provider: provs[0],
				At: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
		}
		pts[i] = p
	}
	return pts
}

func BenchmarkEvaluate(b *testing.B) {
	c := catalog(b)
	pea, _ := c.Measure(measure.MIPS, "PI_PEA_1", 2025, measure.TINNPI)
	erx, _ := c.Measure(measure.MIPS, "PI_EP_1", 2025, measure.TINNPI)
	edu, _ := c.Measure(measure.MIPS, "PI_PEA_2", 2018, measure.TINNPI)
	pts := population(10_000)
	edu18 := population(10_000)
	for i := range edu18 {
		for j := range edu18[i].Encounters {
			edu18[i].Encounters[j].Start = edu18[i].Encounters[j].Start.AddDate(-7, 0, 0)
		}
		for j := range edu18[i].Actions {
			edu18[i].Actions[j].At = edu18[i].Actions[j].At.AddDate(-7, 0, 0)
		}
	}
	group := contract.Entity{Kind: contract.EntityTIN, ID: tinA}
	o := opts()
	o.Variant = measure.ControlledIncluded
	for _, bc := range []struct {
		name string
		m    measure.Measure
		e    contract.Entity
		y    int
		pts  []measure.Patient
	}{
		{"PI_PEA_1/tin_npi", pea, tinNPI(tinA, npi1), 2025, pts},
		{"PI_PEA_1/tin", pea, group, 2025, pts},
		{"PI_EP_1/tin", erx, group, 2025, pts},
		{"PI_PEA_2/tin", edu, group, 2018, edu18},
	} {
		b.Run(bc.name+"/10k-patients", func(b *testing.B) {
			for b.Loop() {
				if _, err := measure.Evaluate(bc.m, bc.e, year(bc.y), bc.pts, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
