package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/httpapi"
	"github.com/attest-ehr/attest/services/records/internal/fhir"
	"github.com/attest-ehr/attest/services/records/internal/jsonpass"
	"github.com/attest-ehr/attest/services/records/internal/record"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Decoder turns one NDJSON line into a write, or into the issues that refuse it. It
// reads no stored state (references are checked when the write is stored), so lines
// are decoded in parallel.
type Decoder interface {
	// Decode returns the line's write and its type (the FHIR resourceType, or the
	// kind's path), or the issues refusing it, each with a FHIRPath or JSON path.
	Decode(line []byte) (w resource.Write, typ string, issues []fhir.Issue)
}

// The formats of an import.
const (
	FormatFHIR = "fhir" // one FHIR R4 resource per line
	FormatJSON = "json" // {"kind": "<path>", "body": {…}} per line: the JSON API's resources
)

// kinds are the record's kinds by path, with what a batch needs to look their rows up
// ahead.
type kinds map[string]kindEntry

type kindEntry struct {
	table  string
	keyOf  func(v any) string                      // the natural key of a *T of the kind
	refsOf func(v any, ref func(table, id string)) // the references of a *T of the kind
	decode func([]byte) (resource.Write, error)    // strictly, as the JSON API
	// decodeChecked decodes JSON that jsonpass.Check accepted (see
	// resource.Kind.DecodeWriteChecked); false: use decode.
	decodeChecked func([]byte) (resource.Write, bool)
}

func entry[T any, P resource.Ptr[T]](k *resource.Kind[T, P]) kindEntry {
	return kindEntry{table: k.Table, keyOf: k.KeyOf, refsOf: k.RefsOf, decode: k.DecodeWrite, decodeChecked: k.DecodeWriteChecked}
}

// kindsOf lists every kind a bulk import may create. Orders are recorded as they were
// placed in the source system: the duplicate-study check of a new order (POST
// /v1/orders) does not apply to history. Tablet sessions are not a kind: they exist
// only through the tablet flow.
func kindsOf(s *record.Service) kinds {
	return kinds{
		s.Organizations.Path: entry(s.Organizations), s.Hospitals.Path: entry(s.Hospitals),
		s.Groups.Path: entry(s.Groups), s.Clinicians.Path: entry(s.Clinicians), s.Locations.Path: entry(s.Locations),
		s.Devices.Path: entry(s.Devices), s.Patients.Path: entry(s.Patients), s.Encounters.Path: entry(s.Encounters),
		s.Problems.Path: entry(s.Problems), s.Allergies.Path: entry(s.Allergies), s.Medications.Path: entry(s.Medications),
		s.Results.Path: entry(s.Results), s.VitalSigns.Path: entry(s.VitalSigns),
		s.SmokingStatuses.Path: entry(s.SmokingStatuses), s.Prescriptions.Path: entry(s.Prescriptions),
		s.PDMPQueries.Path: entry(s.PDMPQueries), s.Orders.Path: entry(s.Orders),
		s.ClinicalSummaries.Path: entry(s.ClinicalSummaries), s.Transitions.Path: entry(s.Transitions),
		s.Reconciliations.Path: entry(s.Reconciliations), s.Availabilities.Path: entry(s.Availabilities),
		s.AccessGrants.Path: entry(s.AccessGrants), s.VDTs.Path: entry(s.VDTs), s.PGHD.Path: entry(s.PGHD),
		s.RegistrySubmissions.Path: entry(s.RegistrySubmissions), s.Consents.Path: entry(s.Consents),
		s.SharedRecords.Path: entry(s.SharedRecords), s.RegistryEngagements.Path: entry(s.RegistryEngagements),
		s.Attestations.Path: entry(s.Attestations),
	}
}

// jsonDecoder decodes the JSON format: {"kind": "<path>", "body": {…}} per line.
type jsonDecoder struct{ kinds kinds }

// jsonLine is a line of the JSON format.
type jsonLine struct {
	Kind string          `json:"kind"`
	Body json.RawMessage `json:"body"`
}

func (d jsonDecoder) Decode(line []byte) (resource.Write, string, []fhir.Issue) {
	if w, kind, ok := d.decodeOnePass(line); ok {
		return w, kind, nil
	}
	// Refused by the one pass (or a line it does not check): the strict path says why.
	return d.decodeStrict(line)
}

// decodeStrict is Decode by httpapi's strict decoding of the line, then of the body.
func (d jsonDecoder) decodeStrict(line []byte) (resource.Write, string, []fhir.Issue) {
	var l jsonLine
	if err := resource.DecodeStrict(line, &l); err != nil {
		return nil, "", []fhir.Issue{issueOf(err, "")}
	}
	if l.Kind == "" {
		return nil, "", []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeRequired, Expression: "kind", Diagnostics: "required"}}
	}
	k, ok := d.kinds[l.Kind]
	if !ok {
		return nil, "", []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeNotSupported, Expression: "kind",
			Diagnostics: "not a kind of record a bulk import creates"}}
	}
	if len(bytes.TrimSpace(l.Body)) == 0 || bytes.Equal(bytes.TrimSpace(l.Body), []byte("null")) {
		return nil, l.Kind, []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeRequired, Expression: "body", Diagnostics: "required"}}
	}
	w, err := k.decode(l.Body)
	if err != nil {
		return nil, l.Kind, []fhir.Issue{issueOf(err, "body")}
	}
	if err := w.Validate(); err != nil {
		return nil, l.Kind, []fhir.Issue{issueOf(err, "body")}
	}
	return w, l.Kind, nil
}

// decodeOnePass is Decode for a line it accepts: the whole line, body included, is
// checked once (jsonpass.Check: what httpapi's token scan refuses, refused), then the
// envelope and the body are decoded without scanning them again. The strict path
// scans the line and then the body, twice the work for the same answer. ok is false
// for anything the line may be refused for; Decode then runs the strict path, so
// that a refusal is named exactly as before.
func (d jsonDecoder) decodeOnePass(line []byte) (resource.Write, string, bool) {
	if len(line) > httpapi.DefaultBodyLimit || !utf8.Valid(line) || !jsonpass.Check(line, httpapi.MaxJSONDepth) {
		return nil, "", false
	}
	var l jsonLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil || l.Kind == "" {
		return nil, "", false
	}
	k, ok := d.kinds[l.Kind]
	body := bytes.TrimSpace(l.Body)
	if !ok || len(body) == 0 || body[0] != '{' {
		return nil, "", false
	}
	w, ok := k.decodeChecked(body)
	if !ok || w.Validate() != nil {
		return nil, "", false
	}
	return w, l.Kind, true
}

// fhirDecoder decodes the FHIR format through the FHIR codec.
type fhirDecoder struct {
	codec *fhir.Codec
	kinds kinds
}

func (d fhirDecoder) Decode(line []byte) (resource.Write, string, []fhir.Issue) {
	if !utf8.Valid(line) {
		return nil, "", []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeStructure, Diagnostics: "not valid UTF-8"}}
	}
	w, issues := d.codec.Decode(line)
	if hasErrors(issues) {
		return nil, w.Type, issues
	}
	if refs := w.Refs(); len(refs) > 0 {
		// A urn:uuid reference names another entry of a Bundle; NDJSON lines have none.
		return nil, w.Type, w.Resolve(map[string]string{}, nil)
	}
	k, ok := d.kinds[w.Kind]
	if !ok {
		return nil, w.Type, []fhir.Issue{{Severity: fhir.SeverityError, Code: fhir.CodeNotSupported,
			Expression: w.Type, Diagnostics: "a bulk import does not create this kind of resource"}}
	}
	return &fhirWrite{codec: d.codec, w: w, table: k.table, key: k.keyOf(w.Value), refsOf: k.refsOf,
		also: d.codec.SharedTables(w)}, w.Type, nil
}

// fhirWrite stores a decoded FHIR resource through the codec, so that it is stored
// exactly as a FHIR create would store it, with its refusals located as FHIRPaths.
type fhirWrite struct {
	codec      *fhir.Codec
	w          fhir.Write
	table, key string
	refsOf     func(v any, ref func(table, id string))
	also       []string // the tables of the other kinds of its FHIR type
}

func (f *fhirWrite) Kind() string         { return f.w.Kind }
func (f *fhirWrite) ID() string           { return f.w.ID }
func (f *fhirWrite) Table() string        { return f.table }
func (f *fhirWrite) Key() string          { return f.key }
func (f *fhirWrite) Validate() error      { return nil } // Decode validated it
func (f *fhirWrite) AlsoTables() []string { return f.also }

func (f *fhirWrite) Refs(ref func(table, id string)) { f.refsOf(f.w.Value, ref) }

func (f *fhirWrite) Create(ctx context.Context, tx *resource.Tx) (string, bool, error) {
	stored, issues := f.codec.CreateUnanswered(ctx, tx, f.w) // the import answers with counts, not resources
	if len(issues) > 0 {
		for _, is := range issues {
			if is.Severity == fhir.SeverityFatal || is.Code == fhir.CodeProcessing {
				return "", false, errStore // not the line's fault: Batch fails, and is retried line by line
			}
		}
		return "", false, refusal(issues)
	}
	if len(stored.Outcome) > 0 && stored.ID == "" {
		return "", false, refusal(stored.Outcome)
	}
	return stored.ID, stored.Created, nil
}

var errStore = errors.New("bulk: the resource could not be stored")

// issuesError carries a refusal's issues through resource.Batch, which reports it in
// the line's Outcome.
type issuesError struct{ issues []fhir.Issue }

func (e *issuesError) Error() string { return "refused: " + e.issues[0].Diagnostics }

// refusal wraps issues as a refusal Batch recognises (an errs kind other than Other).
func refusal(issues []fhir.Issue) error {
	return errs.Wrap(errs.Unprocessable, &issuesError{issues}, "refused")
}

// issuesOf is the issues of a refused write's error.
func issuesOf(err error, root string) []fhir.Issue {
	var ie *issuesError
	if errors.As(err, &ie) {
		return ie.issues
	}
	return []fhir.Issue{issueOf(err, root)}
}

// issueOf is an errs error as an issue at its field, under root ("body"): invalid input
// is a structure or value problem, a clash with stored state a conflict, a reference
// to nothing not-found, the rest business rules.
func issueOf(err error, root string) fhir.Issue {
	field := errs.FieldOf(err)
	expr := root
	switch {
	case field != "" && root != "":
		expr = root + "." + field
	case field != "":
		expr = field
	}
	is := fhir.Issue{Severity: fhir.SeverityError, Expression: expr, Diagnostics: message(err)}
	switch errs.KindOf(err) {
	case errs.Invalid:
		is.Code = fhir.CodeValue
		if field == "" {
			is.Code = fhir.CodeStructure
		}
	case errs.TooLarge:
		is.Code = fhir.CodeTooLong
	case errs.Conflict:
		is.Code = fhir.CodeConflict
	case errs.NotFound:
		is.Code = fhir.CodeNotFound
	case errs.Unprocessable:
		is.Code = fhir.CodeBusinessRule
		if isDangling(err) {
			is.Code = fhir.CodeNotFound
		}
	case errs.Forbidden:
		is.Code = fhir.CodeForbidden
	default:
		is.Severity, is.Code, is.Diagnostics = fhir.SeverityFatal, fhir.CodeProcessing, "the line could not be processed"
	}
	return is
}

// isDangling reports a reference to nothing: resource.Require's "no such …".
func isDangling(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && len(e.Message) > 8 && e.Message[:8] == "no such "
}

// message is the error's message for the caller; errs messages never hold PHI.
func message(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "refused"
}

func hasErrors(issues []fhir.Issue) bool {
	for _, is := range issues {
		if is.Severity == fhir.SeverityError || is.Severity == fhir.SeverityFatal {
			return true
		}
	}
	return false
}
