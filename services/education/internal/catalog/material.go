// Package catalog owns the education catalog: materials (title, summary, language,
// reading level, format, a link or stored content, and the clinical codes each
// addresses), their versions and retirement, bulk import from CSV or JSON, and the
// starter catalog shipped with the product. Every write keeps each version, so a
// provision can say exactly what the patient was given.
package catalog

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
)

// Material statuses.
const (
	Active  = "active"
	Retired = "retired"
)

// Formats a material can be in.
const (
	FormatWeb   = "web"
	FormatPDF   = "pdf"
	FormatVideo = "video"
)

// Limits on a material's fields.
const (
	maxID      = 64
	maxTitle   = 200
	maxSummary = 2000
	maxContent = 64 << 10
	maxURL     = 2048
	maxCodes   = 100
)

// Material is one education material in one language. Translations of the same
// material share a Topic, which is how matching falls back to English.
type Material struct {
	ID           string          `json:"id"`              // client-chosen, stable: letters, digits, '-', '.', '_'
	Topic        string          `json:"topic,omitempty"` // default: ID
	Language     string          `json:"language"`        // ISO 639-1, lower case: "en", "es"
	Title        string          `json:"title"`
	Summary      string          `json:"summary"`
	ReadingLevel int             `json:"reading_level"`     // US school grade, 1 to 16
	Format       string          `json:"format"`            // web, pdf or video
	URL          string          `json:"url,omitempty"`     // where the material is, http(s)
	Content      string          `json:"content,omitempty"` // the material itself, plain text, when stored here
	Codes        []contract.Code `json:"codes"`             // what it addresses: ICD-10-CM, SNOMED CT, LOINC, RxNorm

	// Set by the catalog. On update, a non-zero Version is the version the caller
	// read: the update is refused if the material changed since.
	Version int       `json:"version,omitempty"`
	Status  string    `json:"status,omitempty"` // active or retired; on import, the wanted status
	Created time.Time `json:"created,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Normalize checks a material as submitted, naming the first field at fault, and
// returns it in canonical form: trimmed, topic defaulted, codes normalized, sorted and
// without repeats. Server fields are left for the caller.
func (m Material) Normalize() (Material, error) {
	m.ID, m.Topic = strings.TrimSpace(m.ID), strings.TrimSpace(m.Topic)
	m.Title, m.Summary = strings.TrimSpace(m.Title), strings.TrimSpace(m.Summary)
	m.Language, m.Format = strings.ToLower(strings.TrimSpace(m.Language)), strings.ToLower(strings.TrimSpace(m.Format))
	m.URL, m.Content = strings.TrimSpace(m.URL), strings.TrimSpace(m.Content)
	if err := CheckID("id", m.ID); err != nil {
		return Material{}, err
	}
	if m.Topic == "" {
		m.Topic = m.ID
	}
	if err := CheckID("topic", m.Topic); err != nil {
		return Material{}, err
	}
	if !ValidLanguage(m.Language) {
		return Material{}, errs.Field(errs.Invalid, "language", "an ISO 639-1 code of two lower-case letters, e.g. en or es")
	}
	if err := checkText("title", m.Title, maxTitle, true); err != nil {
		return Material{}, err
	}
	if err := checkText("summary", m.Summary, maxSummary, true); err != nil {
		return Material{}, err
	}
	if m.ReadingLevel < 1 || m.ReadingLevel > 16 {
		return Material{}, errs.Field(errs.Invalid, "reading_level", "a US school grade from 1 to 16")
	}
	switch m.Format {
	case FormatWeb, FormatPDF, FormatVideo:
	default:
		return Material{}, errs.Field(errs.Invalid, "format", "must be web, pdf or video")
	}
	if m.URL != "" {
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(m.URL) > maxURL {
			return Material{}, errs.Field(errs.Invalid, "url", "an absolute http(s) URL of at most %d characters", maxURL)
		}
	}
	if err := checkText("content", m.Content, maxContent, false); err != nil {
		return Material{}, err
	}
	switch {
	case m.URL == "" && m.Content == "":
		return Material{}, errs.Field(errs.Invalid, "url", "a material needs a url or stored content")
	case m.Format != FormatWeb && m.URL == "":
		return Material{}, errs.Field(errs.Invalid, "url", "required for %s materials", m.Format)
	}
	if len(m.Codes) == 0 || len(m.Codes) > maxCodes {
		return Material{}, errs.Field(errs.Invalid, "codes", "from 1 to %d codes", maxCodes)
	}
	codes := make([]contract.Code, 0, len(m.Codes))
	for i, c := range m.Codes {
		n, err := NormalizeCode("codes["+strconv.Itoa(i)+"]", c)
		if err != nil {
			return Material{}, err
		}
		codes = append(codes, n)
	}
	slices.SortFunc(codes, compareCodes)
	m.Codes = slices.Compact(codes)
	switch m.Status {
	case "", Active, Retired:
	default:
		return Material{}, errs.Field(errs.Invalid, "status", "must be active or retired")
	}
	return m, nil
}

func compareCodes(a, b contract.Code) int {
	if c := strings.Compare(a.System, b.System); c != 0 {
		return c
	}
	return strings.Compare(a.Code, b.Code)
}

// sameContent reports whether two normalized materials say the same thing, catalog
// fields aside.
func (m Material) sameContent(o Material) bool {
	return m.ID == o.ID && m.Topic == o.Topic && m.Language == o.Language && m.Title == o.Title &&
		m.Summary == o.Summary && m.ReadingLevel == o.ReadingLevel && m.Format == o.Format &&
		m.URL == o.URL && m.Content == o.Content && slices.Equal(m.Codes, o.Codes)
}

// CheckID checks a client-chosen identifier: 1 to 64 letters, digits, '-', '.' or '_'.
func CheckID(field, id string) error {
	if id == "" {
		return errs.Field(errs.Invalid, field, "required")
	}
	if len(id) > maxID {
		return errs.Field(errs.Invalid, field, "longer than %d characters", maxID)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return errs.Field(errs.Invalid, field, "may hold only letters, digits, '-', '.' and '_'")
		}
	}
	return nil
}

// ValidLanguage reports whether s is an ISO 639-1 code in lower case.
func ValidLanguage(s string) bool {
	return len(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z'
}

func checkText(field, s string, limit int, required bool) error {
	switch {
	case required && s == "":
		return errs.Field(errs.Invalid, field, "required")
	case !utf8.ValidString(s):
		return errs.Field(errs.Invalid, field, "not valid UTF-8")
	case len(s) > limit:
		return errs.Field(errs.Invalid, field, "longer than %d bytes", limit)
	}
	return nil
}
