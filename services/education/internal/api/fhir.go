package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/education/internal/catalog"
	"github.com/attest-ehr/attest/services/education/internal/provision"
)

// FHIR R4 shapes, only the elements a provided material uses. A provision is a
// Communication (ecosystem convention: education given is a Communication or
// DocumentReference with the material as payload and the triggering code as
// reasonCode).
type (
	fhirCoding struct {
		System  string `json:"system,omitempty"`
		Code    string `json:"code,omitempty"`
		Display string `json:"display,omitempty"`
	}
	fhirConcept struct {
		Coding []fhirCoding `json:"coding,omitempty"`
		Text   string       `json:"text,omitempty"`
	}
	fhirIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirReference struct {
		Reference  string          `json:"reference,omitempty"`
		Identifier *fhirIdentifier `json:"identifier,omitempty"`
		Display    string          `json:"display,omitempty"`
	}
	fhirAttachment struct {
		ContentType string `json:"contentType,omitempty"`
		Language    string `json:"language,omitempty"`
		Data        string `json:"data,omitempty"`
		URL         string `json:"url,omitempty"`
		Title       string `json:"title,omitempty"`
	}
	fhirPayload struct {
		ContentAttachment fhirAttachment `json:"contentAttachment"`
	}
	communication struct {
		ResourceType string          `json:"resourceType"`
		ID           string          `json:"id"`
		Meta         fhirMeta        `json:"meta"`
		Status       string          `json:"status"`
		Category     []fhirConcept   `json:"category"`
		Medium       []fhirConcept   `json:"medium"`
		Subject      fhirReference   `json:"subject"`
		Sent         string          `json:"sent"`
		Received     string          `json:"received,omitempty"`
		Sender       *fhirReference  `json:"sender,omitempty"`
		ReasonCode   []fhirConcept   `json:"reasonCode,omitempty"`
		Payload      []fhirPayload   `json:"payload"`
		Extension    []fhirExtension `json:"extension"`
	}
	fhirMeta struct {
		LastUpdated string `json:"lastUpdated"`
	}
	fhirExtension struct {
		URL          string `json:"url"`
		ValueBoolean *bool  `json:"valueBoolean,omitempty"`
		ValueString  string `json:"valueString,omitempty"`
	}
	bundle struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Total        int           `json:"total"`
		Entry        []bundleEntry `json:"entry"`
	}
	bundleEntry struct {
		Resource communication `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	}
)

// Extensions Attest defines on a provided material's Communication.
const (
	extIdentified = "https://attest-ehr.example/fhir/StructureDefinition/identified-by-system"
	extMaterial   = "https://attest-ehr.example/fhir/StructureDefinition/education-material"
)

// mediums maps a channel to the HL7 v3 ParticipationMode it is.
var mediums = map[string]fhirCoding{
	contract.ChannelPortal:    {System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", Code: "ONLINEWRIT", Display: "online written"},
	contract.ChannelEmailLink: {System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", Code: "EMAILWRIT", Display: "email"},
	contract.ChannelPrint:     {System: "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode", Code: "WRITTEN", Display: "written"},
}

// toCommunication renders a provision and the material version it gave.
func toCommunication(p provision.Provision, m catalog.Material) communication {
	identified := p.IdentifiedBySystem
	c := communication{
		ResourceType: "Communication", ID: p.ID, Status: "completed",
		Meta: fhirMeta{LastUpdated: fhirTime(p.Provided)},
		Category: []fhirConcept{{Coding: []fhirCoding{{
			System: "http://terminology.hl7.org/CodeSystem/communication-category", Code: "instruction"}},
			Text: "Patient education"}},
		Medium:  []fhirConcept{{Coding: []fhirCoding{mediums[p.Channel]}, Text: p.Channel}},
		Subject: fhirReference{Reference: "Patient/" + p.PatientID},
		Sent:    fhirTime(p.Provided),
		Extension: []fhirExtension{
			{URL: extIdentified, ValueBoolean: &identified},
			{URL: extMaterial, ValueString: p.MaterialID + "|" + strconv.Itoa(p.Version)},
		},
	}
	if p.FirstViewed != nil {
		c.Received = fhirTime(*p.FirstViewed)
	}
	if p.NPI != "" {
		c.Sender = &fhirReference{Identifier: &fhirIdentifier{System: "http://hl7.org/fhir/sid/us-npi", Value: p.NPI}}
	}
	if p.Reason != nil {
		c.ReasonCode = []fhirConcept{{Coding: []fhirCoding{{System: p.Reason.System, Code: p.Reason.Code}}}}
	}
	att := fhirAttachment{Language: m.Language, Title: m.Title, URL: m.URL}
	if m.URL == "" {
		att.ContentType = "text/plain; charset=utf-8"
		att.Data = base64.StdEncoding.EncodeToString([]byte(m.Content))
	}
	c.Payload = []fhirPayload{{ContentAttachment: att}}
	return c
}

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (a *API) fhirRead(ctx context.Context, r *http.Request) (any, error) {
	p, err := a.visibleProvision(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := a.Catalog.Version(ctx, p.MaterialID, p.Version)
	if err != nil {
		return nil, err
	}
	// Served as application/json, which FHIR accepts beside application/fhir+json:
	// httpapi sets the JSON content type for every answer.
	return toCommunication(p, m), nil
}

// fhirSearch is GET /fhir/Communication?patient=<id>: a searchset of the patient's
// provided materials.
func (a *API) fhirSearch(ctx context.Context, r *http.Request) (any, error) {
	id := r.URL.Query().Get("patient")
	if id == "" {
		return nil, errs.Field(errs.Invalid, "patient", "required: search by patient")
	}
	if err := catalog.CheckID("patient", id); err != nil {
		return nil, err
	}
	if _, err := requirePatientAccess(ctx, id); err != nil {
		return nil, err
	}
	ps, err := a.Provisions.List(ctx, id)
	if err != nil {
		return nil, err
	}
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: len(ps), Entry: []bundleEntry{}}
	for _, p := range ps {
		m, err := a.Catalog.Version(ctx, p.MaterialID, p.Version)
		if err != nil {
			return nil, err
		}
		e := bundleEntry{Resource: toCommunication(p, m)}
		e.Search.Mode = "match"
		b.Entry = append(b.Entry, e)
	}
	return b, nil
}
