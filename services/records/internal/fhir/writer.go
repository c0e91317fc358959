package fhir

import (
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// Helpers that build FHIR JSON for the mappings' encode direction. Each mirrors a
// reader method, so that what one writes the other reads back to the same value.

func itoa(n int) string { return strconv.Itoa(n) }

// dateTime is a time as FHIR dateTime/instant, in the zone it was given in.
func dateTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

func coding(system, code string) obj { return obj{"system": system, "code": code} }

// concept is a CodeableConcept with one coding.
func concept(c contract.Code) obj { return obj{"coding": []any{coding(c.System, c.Code)}} }

// ours is a CodeableConcept with one coding of our own code system name.
func ours(name, code string) obj {
	return concept(contract.Code{System: CodeSystemBase + name, Code: code})
}

func reference(typ, id string) obj { return obj{"reference": typ + "/" + id} }

func identifier(system, value string) obj { return obj{"system": system, "value": value} }

// byIdentifier is a logical Reference: an NPI, TIN or CCN, not a stored resource.
func byIdentifier(system, value string) obj { return obj{"identifier": identifier(system, value)} }

// extension is one extension of ours.
func extension(name, valueKey string, value any) obj {
	return obj{"url": ExtensionBase + name, valueKey: value}
}

// exts collects extensions, skipping nils, and sets them on o (none: no element).
type exts []any

func (e *exts) add(name, valueKey string, value any) {
	*e = append(*e, extension(name, valueKey, value))
}

func (e *exts) str(name, value string) {
	if value != "" {
		e.add(name, "valueString", value)
	}
}

func (e *exts) code(name, value string) {
	if value != "" {
		e.add(name, "valueCode", value)
	}
}

func (e *exts) flag(name string, value bool) {
	if value {
		e.add(name, "valueBoolean", true)
	}
}

func (e *exts) time(name string, t *time.Time) {
	if t != nil {
		e.add(name, "valueDateTime", dateTime(*t))
	}
}

func (e *exts) ref(name, typ, id string) {
	if id != "" {
		e.add(name, "valueReference", reference(typ, id))
	}
}

func (e exts) set(o obj) {
	if len(e) > 0 {
		o["extension"] = []any(e)
	}
}

// setStr sets o[key] when s is not empty.
func setStr(o obj, key, s string) {
	if s != "" {
		o[key] = s
	}
}

func setTime(o obj, key string, t *time.Time) {
	if t != nil {
		o[key] = dateTime(*t)
	}
}

func setRef(o obj, key, typ, id string) {
	if id != "" {
		o[key] = reference(typ, id)
	}
}

// npiRef is a logical Reference to a clinician by NPI, or nothing.
func setNPI(o obj, key, npi string) {
	if npi != "" {
		o[key] = byIdentifier(SystemNPI, npi)
	}
}

// quantity is a UCUM Quantity.
func quantity(value float64, unit string) obj {
	return obj{"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
}

func codeOf(system, code string) contract.Code { return contract.Code{System: system, Code: code} }
