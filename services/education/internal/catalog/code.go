package catalog

import (
	"strings"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
)

// systems maps every accepted spelling of a code system — the FHIR URI the contract
// uses, its HL7 OID (what Infobutton requests carry) and a short name for CSV files —
// to the FHIR URI.
var systems = map[string]string{
	contract.SystemICD10CM: contract.SystemICD10CM, "2.16.840.1.113883.6.90": contract.SystemICD10CM,
	"icd10cm": contract.SystemICD10CM, "icd-10-cm": contract.SystemICD10CM,
	contract.SystemSNOMED: contract.SystemSNOMED, "2.16.840.1.113883.6.96": contract.SystemSNOMED,
	"snomed": contract.SystemSNOMED, "sct": contract.SystemSNOMED,
	contract.SystemLOINC: contract.SystemLOINC, "2.16.840.1.113883.6.1": contract.SystemLOINC, "loinc": contract.SystemLOINC,
	contract.SystemRxNorm: contract.SystemRxNorm, "2.16.840.1.113883.6.88": contract.SystemRxNorm, "rxnorm": contract.SystemRxNorm,
}

// OIDs are the HL7 OIDs of the code systems materials may be coded in, as MedlinePlus
// Connect and other Infobutton services expect them.
var OIDs = map[string]string{
	contract.SystemICD10CM: "2.16.840.1.113883.6.90",
	contract.SystemSNOMED:  "2.16.840.1.113883.6.96",
	contract.SystemLOINC:   "2.16.840.1.113883.6.1",
	contract.SystemRxNorm:  "2.16.840.1.113883.6.88",
}

// NormalizeCode checks a code and returns it in canonical form: the system as its FHIR
// URI, ICD-10-CM upper-case with its dot after the category. It checks each system's
// syntax and, where the system has one, its check digit (SNOMED CT's Verhoeff digit,
// LOINC's mod-10 digit), so a mistyped code is refused rather than never matching.
// field names the input in errors.
func NormalizeCode(field string, c contract.Code) (contract.Code, error) {
	sys, ok := systems[strings.ToLower(strings.TrimSpace(c.System))]
	if !ok {
		if c.System == "" {
			return contract.Code{}, errs.Field(errs.Invalid, field+".system", "required")
		}
		return contract.Code{}, errs.Field(errs.Invalid, field+".system",
			"must be ICD-10-CM, SNOMED CT, LOINC or RxNorm (FHIR URI, OID, or icd10cm, snomed, loinc, rxnorm)")
	}
	code := strings.TrimSpace(c.Code)
	if code == "" {
		return contract.Code{}, errs.Field(errs.Invalid, field+".code", "required")
	}
	var reason string
	switch sys {
	case contract.SystemICD10CM:
		code, reason = normalizeICD10CM(code)
	case contract.SystemSNOMED:
		reason = checkSNOMED(code)
	case contract.SystemLOINC:
		reason = checkLOINC(code)
	case contract.SystemRxNorm:
		if len(code) > 8 || !digits(code) || code[0] == '0' {
			reason = "an RxNorm concept ID is 1 to 8 digits"
		}
	}
	if reason != "" {
		return contract.Code{}, errs.Field(errs.Invalid, field+".code", "%s", reason)
	}
	return contract.Code{System: sys, Code: code}, nil
}

// normalizeICD10CM accepts "E11.65" or "e1165" and returns "E11.65". A code is a
// category of a letter, a digit and a digit or letter, then optionally up to four more
// characters after the dot.
func normalizeICD10CM(code string) (string, string) {
	const bad = "an ICD-10-CM code is a letter, a digit, a digit or letter, then up to 4 more after a dot (E11, E11.65)"
	code = strings.ToUpper(strings.Replace(code, ".", "", 1))
	if len(code) < 3 || len(code) > 7 || code[0] < 'A' || code[0] > 'Z' || code[1] < '0' || code[1] > '9' {
		return "", bad
	}
	for _, r := range code[2:] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') {
			return "", bad
		}
	}
	if len(code) > 3 {
		code = code[:3] + "." + code[3:]
	}
	return code, ""
}

// Ancestors returns the ICD-10-CM codes that contain code, nearest first: E11.651 has
// E11.65, E11.6 and E11. The hierarchy of ICD-10-CM is its code prefixes. Other
// systems' codes have none here.
func Ancestors(c contract.Code) []string {
	if c.System != contract.SystemICD10CM || len(c.Code) <= 3 {
		return nil
	}
	var out []string
	for n := len(c.Code) - 1; n >= 3; n-- {
		p := c.Code[:n]
		if p[len(p)-1] == '.' {
			continue
		}
		out = append(out, p)
	}
	return out
}

// checkSNOMED checks a SNOMED CT concept ID: 6 to 18 digits, a concept partition
// ("00" in the international edition, "10" in an extension) and a valid Verhoeff
// check digit.
func checkSNOMED(code string) string {
	if len(code) < 6 || len(code) > 18 || !digits(code) || code[0] == '0' {
		return "a SNOMED CT concept ID is 6 to 18 digits"
	}
	if part := code[len(code)-3 : len(code)-1]; part != "00" && part != "10" {
		return "not a SNOMED CT concept ID (its partition digits are not 00 or 10)"
	}
	if !verhoeff(code) {
		return "not a SNOMED CT concept ID (check digit mismatch)"
	}
	return ""
}

// checkLOINC checks a LOINC code: up to 7 digits, a hyphen and the mod-10 check digit
// (the Luhn algorithm, as the LOINC manual describes it).
func checkLOINC(code string) string {
	num, check, ok := strings.Cut(code, "-")
	if !ok || len(num) == 0 || len(num) > 7 || len(check) != 1 || !digits(num) || !digits(check) {
		return "a LOINC code is up to 7 digits, a hyphen and a check digit (4548-4)"
	}
	if luhnDigit(num) != check[0]-'0' {
		return "not a LOINC code (check digit mismatch)"
	}
	return ""
}

// luhnDigit computes the check digit of the decimal string s.
func luhnDigit(s string) byte {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte((10 - sum%10) % 10)
}

// The Verhoeff scheme's tables: the dihedral group D5 and the permutation.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5}, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7}, {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3}, {8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4}, {5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7}, {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
)

// verhoeff reports whether the decimal string s ends in a valid Verhoeff check digit.
func verhoeff(s string) bool {
	var c byte
	for i := range len(s) {
		c = verhoeffD[c][verhoeffP[i%8][s[len(s)-1-i]-'0']]
	}
	return c == 0
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
