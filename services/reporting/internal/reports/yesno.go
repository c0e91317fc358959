package reports

import (
	"context"
	"fmt"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// yesNoSource is where a yes/no measure's answer comes from: a kind of attestation
// (records.attestation.v1) or a registry (records.registry-engagement.v1). The rule
// book's IDs differ by program; the suffixes below are the same measure in each.
type yesNoSource struct {
	attestation string // a contract.Attest* kind
	registries  []string
}

// yesNoSources maps measure IDs (exact, or by the suffix after the program prefix) to
// their source. Measures absent here (PDMP query, opioid agreements, the _MULTI
// registry variants, MS2 secure messaging in 2015) have no published input and are
// answered "not attested".
var yesNoSources = []struct {
	ids []string
	src yesNoSource
}{
	{[]string{"_PPHI_1", "MS2-EP-01", "MS2-EH-01", "S3-01"}, yesNoSource{attestation: contract.AttestSecurityRiskAnalysis}},
	{[]string{"_PPHI_2"}, yesNoSource{attestation: contract.AttestSAFER}},
	{[]string{"_INFBLO_1"}, yesNoSource{attestation: contract.AttestInformationBlocking}},
	{[]string{"_ONCDIR_1"}, yesNoSource{attestation: contract.AttestONCDirectReview}},
	{[]string{"_ONCACB_1"}, yesNoSource{attestation: contract.AttestONCACB}},
	{[]string{"_HIE_5"}, yesNoSource{attestation: contract.AttestHIEBidirectional}},
	{[]string{"_HIE_6"}, yesNoSource{attestation: contract.AttestTEFCA}},
	{[]string{"MS2-EP-02.1", "MS2-EH-02.1", "S3-03.1"}, yesNoSource{attestation: contract.AttestCDS}},
	{[]string{"MS2-EP-02.2", "MS2-EH-02.2", "S3-03.2"}, yesNoSource{attestation: contract.AttestInteractionChecks}},
	{[]string{"_PHCDRR_1", "_PH_IMM", "MS2-EP-10.1", "MS2-EH-09.1", "S3-08.1"}, yesNoSource{registries: []string{contract.RegistryImmunization}}},
	{[]string{"_PHCDRR_2", "_PH_SS", "MS2-EP-10.2", "MS2-EH-09.2", "S3-08.2"}, yesNoSource{registries: []string{contract.RegistrySyndromic}}},
	{[]string{"_PHCDRR_3", "_PH_ECR", "S3-08.3"}, yesNoSource{registries: []string{contract.RegistryCaseReporting}}},
	{[]string{"_PHCDRR_4", "_PH_PHR", "S3-08.4"}, yesNoSource{registries: []string{contract.RegistryPublicHealth}}},
	{[]string{"_PHCDRR_5", "_PH_CDR", "S3-08.5"}, yesNoSource{registries: []string{contract.RegistryClinicalData}}},
	{[]string{"MS2-EP-10.3", "MS2-EH-09.3"}, yesNoSource{registries: []string{contract.RegistryPublicHealth, contract.RegistryClinicalData}}},
	{[]string{"_PH_ELR", "MS2-EH-09.4", "S3-08.6"}, yesNoSource{registries: []string{contract.RegistryLabReporting}}},
	{[]string{"_PH_AU"}, yesNoSource{registries: []string{contract.RegistryAntimicrobialUse}}},
	{[]string{"_PH_AR"}, yesNoSource{registries: []string{contract.RegistryAntimicrobialResistance}}},
}

func sourceOf(id string) (yesNoSource, bool) {
	for _, s := range yesNoSources {
		for _, k := range s.ids {
			if id == k || strings.HasPrefix(k, "_") && strings.HasSuffix(id, k) {
				return s.src, true
			}
		}
	}
	return yesNoSource{}, false
}

// answers are one yes/no measure's inputs, the level of each registry engagement in
// effect at the period's end, and why engagements recorded for it are not active
// engagement (the 60-day registration rule).
type answers struct {
	atts     []measure.Attestation
	levels   map[string]string // engagement ID → status
	inactive []string
}

// engagement is the QPP engagement level of the engagement that answered (ref).
func (a answers) engagement(ref string) report.Engagement {
	switch a.levels[ref] {
	case "":
		return ""
	case contract.EngagementProduction:
		return report.Production
	}
	return report.PreProduction
}

// yesNoInputs gathers the yes/no inputs of the query's entity — for a clinician in a
// group (tin_npi) also the group's (TIN) — by rule-book measure ID.
func (c *Computer) yesNoInputs(ctx context.Context, src facts.Source, q Query) (map[string]answers, error) {
	entities := []contract.Entity{q.Entity}
	if q.Entity.Kind == contract.EntityTINNPI {
		tin, _, _ := strings.Cut(q.Entity.ID, "/")
		entities = append(entities, contract.Entity{Kind: contract.EntityTIN, ID: tin})
	}
	var atts []contract.Attestation
	var engs []contract.RegistryEngagement
	for _, e := range entities {
		a, err := src.Attestations(ctx, e)
		if err != nil {
			return nil, err
		}
		g, err := src.Engagements(ctx, e)
		if err != nil {
			return nil, err
		}
		atts, engs = append(atts, a...), append(engs, g...)
	}
	out := map[string]answers{}
	for _, id := range yesNoIDs(q) {
		s, ok := sourceOf(id)
		if !ok {
			continue
		}
		cid := rulebook.CatalogID(q.Program, q.EntityType, id)
		ans := answers{levels: map[string]string{}}
		for _, a := range atts {
			if s.attestation != "" && a.Kind == s.attestation {
				at := a.Performed
				if a.From != nil {
					at = *a.From
				}
				ma := measure.Attestation{ID: a.AttestationID, MeasureID: cid, Yes: a.Answer, At: at}
				if a.To != nil {
					ma.Until = *a.To
				}
				ans.atts = append(ans.atts, ma)
			}
		}
		for _, g := range engs {
			for _, reg := range s.registries {
				if g.Measure != reg {
					continue
				}
				// Active engagement at the level in effect at the period's end, the
				// registration within 60 days of its start where the level needs it
				// (rulebook.CheckEngagement); the level goes to QPP as _PRE or _PROD.
				// An engagement that is not active answers nothing: another may.
				loc := c.cal.Location()
				v := rulebook.CheckEngagement(q.Year, rulebook.Period{From: q.From, To: q.To},
					rulebook.Engagement{Status: g.Status, Registered: g.Registered.In(loc), Since: g.Since.In(loc)})
				if !v.Active {
					ans.inactive = append(ans.inactive, fmt.Sprintf("%s: engagement %s is not active engagement: %s", id, g.RegistryEngagementID, v.Reason))
					continue
				}
				ans.atts = append(ans.atts, measure.Attestation{ID: g.RegistryEngagementID, MeasureID: cid, Yes: true, At: g.Since})
				ans.levels[g.RegistryEngagementID] = v.Level
			}
		}
		out[id] = ans
	}
	return out, nil
}

// yesNoIDs are the rule book's measure IDs of the query's book.
func yesNoIDs(q Query) []string {
	b, err := rulebookLookup(q)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range b.Measures {
		out = append(out, m.ID)
	}
	return out
}

func rulebookLookup(q Query) (*rulebook.Book, error) {
	return rulebook.Lookup(q.Program, q.Year, q.EntityType)
}
