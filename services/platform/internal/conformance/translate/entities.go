package translate

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
)

// Entities are the reporting entities of one replay: two clinicians billing under two
// groups (the decks' "Provider 1/2" and "TIN A/B") and a hospital. Each replay gets its
// own, so several replays can share one platform without their counts mixing.
type Entities struct {
	Prefix   string            // prefix of every ID this replay creates
	NPI      map[string]string // "1", "2" → NPI
	TIN      map[string]string // "A", "B" → TIN
	CCN      string
	External string // the NPI of the clinician outside the practice that transitions go to and come from
}

// NewEntities allocates the entities of replay number seq (0, 1, …): NPIs with a
// valid check digit, TINs and a CCN that no other seq gets.
func NewEntities(seq int) Entities {
	e := Entities{Prefix: fmt.Sprintf("c%03d", seq), NPI: map[string]string{}, TIN: map[string]string{}}
	for i, p := range []string{"1", "2"} {
		e.NPI[p] = npi(fmt.Sprintf("17%05d%02d", seq, i))
	}
	e.External = npi(fmt.Sprintf("18%05d%02d", seq, 9))
	for i, t := range []string{"A", "B"} {
		e.TIN[t] = fmt.Sprintf("9%05d%03d", seq, i+1)
	}
	e.CCN = fmt.Sprintf("%06d", 500000+seq)
	return e
}

// npi appends the Luhn check digit (computed with the 80840 prefix) to 9 digits.
func npi(nine string) string {
	digits := "80840" + nine
	sum := 0
	double := true // the check digit will be rightmost, so the last of these is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return nine + strconv.Itoa((10-sum%10)%10)
}

// Unit is who an entry's value is about: a clinician in a group, or the hospital.
type Unit struct {
	TIN      string // "A", "B"; empty for the hospital
	Provider string // "1", "2"; empty for the hospital
}

var (
	unitRE  = regexp.MustCompile(`^TIN ([A-Z])\s*/\s*Provider (\d+)$`)
	groupRE = regexp.MustCompile(`^Group\s*/\s*TIN ([A-Z])$`)
	provRE  = regexp.MustCompile(`^Provider (\d+)$`)
)

// ParseUnit reads a deck's provider name: "TIN A/Provider 1", "Provider 1", or "" for a
// hospital.
func ParseUnit(s string) (Unit, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Unit{}, nil
	}
	if m := unitRE.FindStringSubmatch(s); m != nil {
		return Unit{TIN: m[1], Provider: m[2]}, nil
	}
	if m := provRE.FindStringSubmatch(s); m != nil {
		// A clinician alone (Medicaid): seen in the practice's first group.
		return Unit{TIN: "A", Provider: m[1]}, nil
	}
	return Unit{}, fmt.Errorf("provider %q is not \"TIN <letter>/Provider <n>\"", s)
}

// Entity is the API's entity (kind:id) for a deck's expected-value entity:
// "TIN A/Provider 1" → tin_npi:TIN/NPI, "Group/TIN A" → tin:TIN, "Provider 1" → npi:NPI,
// "" → ccn:CCN.
func (e Entities) Entity(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return contract.EntityCCN + ":" + e.CCN, nil
	case unitRE.MatchString(name):
		m := unitRE.FindStringSubmatch(name)
		tin, npi, err := e.ids(m[1], m[2])
		if err != nil {
			return "", err
		}
		return contract.EntityTINNPI + ":" + tin + "/" + npi, nil
	case groupRE.MatchString(name):
		m := groupRE.FindStringSubmatch(name)
		tin, ok := e.TIN[m[1]]
		if !ok {
			return "", fmt.Errorf("entity %q: no TIN %s", name, m[1])
		}
		return contract.EntityTIN + ":" + tin, nil
	case provRE.MatchString(name):
		m := provRE.FindStringSubmatch(name)
		npi, ok := e.NPI[m[1]]
		if !ok {
			return "", fmt.Errorf("entity %q: no provider %s", name, m[1])
		}
		return contract.EntityNPI + ":" + npi, nil
	}
	return "", fmt.Errorf("entity %q is none of \"TIN <letter>/Provider <n>\", \"Group/TIN <letter>\", \"Provider <n>\" or the hospital", name)
}

func (e Entities) ids(tin, prov string) (string, string, error) {
	t, ok1 := e.TIN[tin]
	n, ok2 := e.NPI[prov]
	if !ok1 || !ok2 {
		return "", "", fmt.Errorf("no TIN %s or provider %s", tin, prov)
	}
	return t, n, nil
}
