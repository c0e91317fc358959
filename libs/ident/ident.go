// Package ident validates the identifiers of reporting entities: the National Provider
// Identifier (NPI), the Taxpayer Identification Number of a group (TIN) and the CMS
// Certification Number of a hospital (CCN), and parses the "kind:id" entity form used
// in URLs and on the command line.
package ident

import (
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
)

// ValidNPI reports whether s is a 10-digit NPI whose last digit is the Luhn check digit
// computed over the digits prefixed with 80840, as CMS's NPI standard defines it.
func ValidNPI(s string) bool {
	if len(s) != 10 || !digits(s) || s[0] == '0' {
		return false
	}
	// Prefixing 80840 adds a constant 24 to the Luhn sum of the first nine digits.
	sum := 24
	for i := 8; i >= 0; i-- { // the first nine digits, rightmost first, doubled
		d := int(s[i] - '0')
		if (8-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[9]-'0')
}

// ValidTIN reports whether s is a 9-digit TIN (EIN or SSN form, without dashes).
func ValidTIN(s string) bool { return len(s) == 9 && digits(s) }

// ValidCCN reports whether s is a 6-character CMS Certification Number: two digits for
// the state, then four digits or a letter and three digits (e.g. "123456", "12C345").
func ValidCCN(s string) bool {
	if len(s) != 6 || !digits(s[:2]) || !digits(s[3:]) {
		return false
	}
	c := s[2]
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
}

// ParseEntity parses "npi:1234567893", "tin:123456789", "tin_npi:123456789/1234567893"
// or "ccn:123456" into an entity, checking the identifier.
func ParseEntity(s string) (contract.Entity, error) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return contract.Entity{}, errs.Field(errs.Invalid, "entity", "want kind:id, e.g. npi:1234567893")
	}
	e := contract.Entity{Kind: kind, ID: id}
	return e, CheckEntity(e)
}

// CheckEntity checks an entity's kind and identifier.
func CheckEntity(e contract.Entity) error {
	ok := false
	switch e.Kind {
	case contract.EntityNPI:
		ok = ValidNPI(e.ID)
	case contract.EntityTIN:
		ok = ValidTIN(e.ID)
	case contract.EntityCCN:
		ok = ValidCCN(e.ID)
	case contract.EntityTINNPI:
		tin, npi, found := strings.Cut(e.ID, "/")
		ok = found && ValidTIN(tin) && ValidNPI(npi)
	default:
		return errs.Field(errs.Invalid, "entity", "unknown entity kind %q (want npi, tin, tin_npi or ccn)", e.Kind)
	}
	if !ok {
		return errs.Field(errs.Invalid, "entity", "not a valid %s identifier", e.Kind)
	}
	return nil
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
