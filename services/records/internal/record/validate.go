package record

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// The checks below each return nil or an errs.Invalid naming the field; a resource's
// validate lists them in field order and first reports the first failure. Messages
// never repeat the value: it may be PHI.

// first returns the first non-nil error.
func first(errors ...error) error {
	for _, err := range errors {
		if err != nil {
			return err
		}
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return errs.Field(errs.Invalid, field, format, args...)
}

// requiredID checks a reference or key that must be given.
func requiredID(field, id string) error {
	if id == "" {
		return invalid(field, "required")
	}
	return resource.CheckID(field, id)
}

// optionalID checks a reference that may be empty.
func optionalID(field, id string) error { return resource.CheckID(field, id) }

func requiredTime(field string, t time.Time) error {
	if t.IsZero() {
		return invalid(field, "required")
	}
	return nil
}

// requiredText checks a name, label or PHI value: present, at most 200 characters.
func requiredText(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return invalid(field, "required")
	case len(s) > 200:
		return invalid(field, "longer than 200 characters")
	}
	return nil
}

// oneOf checks that v is one of allowed; "" is refused as missing.
func oneOf(field, v string, allowed ...string) error {
	if v == "" {
		return invalid(field, "required")
	}
	if !slices.Contains(allowed, v) {
		return invalid(field, "must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}

// optionalOneOf is oneOf for a field that may be empty.
func optionalOneOf(field, v string, allowed ...string) error {
	if v == "" {
		return nil
	}
	return oneOf(field, v, allowed...)
}

// notBefore checks that a later moment does not precede an earlier one.
func notBefore(field string, later *time.Time, earlierField string, earlier time.Time) error {
	if later != nil && !earlier.IsZero() && later.Before(earlier) {
		return invalid(field, "before %s", earlierField)
	}
	return nil
}

func npi(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && !ident.ValidNPI(s):
		return invalid(field, "not a valid NPI (10 digits with a Luhn check digit)")
	}
	return nil
}

func tin(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && !ident.ValidTIN(s):
		return invalid(field, "not a valid TIN (9 digits)")
	}
	return nil
}

func ccn(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && !ident.ValidCCN(s):
		return invalid(field, "not a valid CCN (6 characters)")
	}
	return nil
}

// pos checks a CMS place-of-service code: two digits.
func pos(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && (len(s) != 2 || !digits(s)):
		return invalid(field, "a place-of-service code is two digits")
	}
	return nil
}

func entity(field string, e contract.Entity) error {
	var bad *errs.Error
	if err := ident.CheckEntity(e); errors.As(err, &bad) {
		return invalid(field, "%s", bad.Message)
	}
	return nil
}

// code checks a coded value: its system is one of systems, and its code is well formed
// for that system (a LOINC or SNOMED CT check digit, an RxNorm number, an ICD-10-CM
// pattern).
func code(field string, c contract.Code, systems ...string) error {
	switch {
	case c.System == "" && c.Code == "":
		return invalid(field, "required")
	case !slices.Contains(systems, c.System):
		return invalid(field+".system", "must be one of %s", strings.Join(systems, ", "))
	case c.Code == "":
		return invalid(field+".code", "required")
	}
	if ok, what := wellFormed(c); !ok {
		return invalid(field+".code", "not a valid %s code", what)
	}
	return nil
}

// optionalCode is code for a field that may be absent.
func optionalCode(field string, c *contract.Code, systems ...string) error {
	if c == nil {
		return nil
	}
	return code(field, *c, systems...)
}

var (
	loincRE    = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)
	snomedRE   = regexp.MustCompile(`^[1-9][0-9]{5,17}$`)
	rxnormRE   = regexp.MustCompile(`^[1-9][0-9]{0,7}$`)
	icd10RE    = regexp.MustCompile(`^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$`)
	cptRE      = regexp.MustCompile(`^[0-9]{4}[0-9FTU]$`)
	cvxRE      = regexp.MustCompile(`^[0-9]{1,3}$`)
	modalityRE = regexp.MustCompile(`^[A-Z]{2,4}$`)
)

// wellFormed checks c.Code against c.System's rules and names the system.
func wellFormed(c contract.Code) (bool, string) {
	switch c.System {
	case contract.SystemLOINC:
		return loincRE.MatchString(c.Code) && loincCheck(c.Code), "LOINC"
	case contract.SystemSNOMED:
		return snomedRE.MatchString(c.Code) && verhoeff(c.Code), "SNOMED CT"
	case contract.SystemRxNorm:
		return rxnormRE.MatchString(c.Code), "RxNorm"
	case contract.SystemICD10CM:
		return icd10RE.MatchString(c.Code), "ICD-10-CM"
	case contract.SystemCPT:
		return cptRE.MatchString(c.Code), "CPT"
	case contract.SystemCVX:
		return cvxRE.MatchString(c.Code), "CVX"
	}
	return len(c.Code) <= 64, "coded"
}

// loincCheck verifies a LOINC code's check digit, the "mod 10" of the LOINC Users'
// Guide: the Luhn algorithm over the digits before the hyphen.
func loincCheck(s string) bool {
	body, check, _ := strings.Cut(s, "-")
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 { // the rightmost digit and every other one
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10-sum%10)%10 == int(check[0]-'0')
}

// The Verhoeff tables: SNOMED CT identifiers end with a Verhoeff check digit
// (SNOMED CT Technical Implementation Guide, "Check-digit").
var (
	verhoeffD = [10][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeff reports whether the digit string s, check digit last, is valid.
func verhoeff(s string) bool {
	c := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		c = verhoeffD[c][verhoeffP[i%8][d]]
	}
	return c == 0
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// modalities are the DICOM modality codes (PS3.3 C.7.3.1.1.1) of studies and orders
// that duplicate detection compares.
var modalities = []string{"CR", "CT", "DX", "IO", "MG", "MR", "NM", "OT", "PT", "PX", "RF", "US", "XA"}

func modality(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && (!modalityRE.MatchString(s) || !slices.Contains(modalities, s)):
		return invalid(field, "must be a DICOM modality code: %s", strings.Join(modalities, ", "))
	}
	return nil
}

// bodySite checks a SNOMED CT body structure code.
func bodySite(field, s string, required bool) error {
	switch {
	case s == "" && required:
		return invalid(field, "required")
	case s != "" && !(snomedRE.MatchString(s) && verhoeff(s)):
		return invalid(field, "not a valid SNOMED CT code")
	}
	return nil
}

// unprocessable is a well-formed input that contradicts the stored record: a
// reference to nothing, a step out of order.
func unprocessable(field, format string, args ...any) error {
	return errs.Field(errs.Unprocessable, field, format, args...)
}

// orElse returns err when there is one, otherwise otherwise.
func orElse(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// sub is the path of a field within the object at prefix ("" for the body itself).
func sub(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

// WellFormed reports whether c's code has the form its system requires (LOINC and
// SNOMED CT check digits, RxNorm, ICD-10-CM, CPT and CVX patterns) and names the
// system: for callers that check every coded element, not only the first at fault
// (the FHIR mapping).
func WellFormed(c contract.Code) (bool, string) { return wellFormed(c) }
