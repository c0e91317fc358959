package record

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Consent is a patient's decision about records shared by other institutions: permit
// or deny, from a moment, until another or for good, for some institutions or all.
type Consent struct {
	resource.Meta
	PatientID       string     `json:"patient_id"`
	Scope           string     `json:"scope"`
	Decision        string     `json:"decision"`
	From            time.Time  `json:"from"`
	To              *time.Time `json:"to,omitempty"`
	OrganizationIDs []string   `json:"organization_ids,omitempty"`
}

func (c *Consent) validate() error {
	err := first(
		requiredID("patient_id", c.PatientID),
		oneOf("scope", c.Scope, contract.ConsentSharing),
		oneOf("decision", c.Decision, contract.ConsentPermit, contract.ConsentDeny),
		requiredTime("from", c.From),
		notBefore("to", c.To, "from", c.From),
	)
	for i, id := range c.OrganizationIDs {
		err = first(err, requiredID(fmt.Sprintf("organization_ids[%d]", i), id))
	}
	return err
}

// covers reports whether the consent applies to records from source at t.
func (c Consent) covers(source string, t time.Time) bool {
	return c.Scope == contract.ConsentSharing && !t.Before(c.From) && (c.To == nil || t.Before(*c.To)) &&
		(len(c.OrganizationIDs) == 0 || slices.Contains(c.OrganizationIDs, source))
}

// SharedRecord is an exam or imaging result received from another institution: a
// document (DocumentReference) or an imaging study with the DICOMweb endpoint it can
// be retrieved from (ImagingStudy + Endpoint). It is kept only under a consent that
// permits it, and shown only while one does.
type SharedRecord struct {
	resource.Meta
	PatientID string         `json:"patient_id"`
	Kind      string         `json:"kind"`
	SourceID  string         `json:"source_id"` // the institution it came from
	Code      *contract.Code `json:"code,omitempty"`
	Modality  string         `json:"modality,omitempty"`
	BodySite  string         `json:"body_site,omitempty"`
	Performed time.Time      `json:"performed"`
	Received  time.Time      `json:"received"`
	// Endpoint is where the study or document is retrieved: a DICOMweb (WADO-RS) base
	// URL for a study, a document URL otherwise.
	Endpoint string   `json:"endpoint"`
	Title    phi.Text `json:"title,omitempty"`
	// ConsentID is the consent it was accepted under, found by the service. Read-only.
	ConsentID string `json:"consent_id,omitempty"`
}

func (r *SharedRecord) validate() error {
	imaging := r.Kind == contract.SharedImagingStudy
	err := first(
		requiredID("patient_id", r.PatientID),
		oneOf("kind", r.Kind, contract.SharedDocument, contract.SharedImagingStudy),
		requiredID("source_id", r.SourceID),
		optionalCode("code", r.Code, contract.SystemLOINC, contract.SystemSNOMED, contract.SystemCPT),
		modality("modality", r.Modality, imaging),
		bodySite("body_site", r.BodySite, imaging),
		requiredTime("performed", r.Performed),
		requiredTime("received", r.Received),
		notBefore("received", &r.Received, "performed", r.Performed),
		endpoint("endpoint", r.Endpoint),
		optionalID("consent_id", r.ConsentID),
	)
	if err == nil && !imaging && r.Modality != "" {
		err = invalid("modality", "only for imaging studies")
	}
	return err
}

// endpoint checks an absolute https (or, for local testing, http) URL.
func endpoint(field, s string) error {
	if s == "" {
		return invalid(field, "required")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 2048 {
		return invalid(field, "an absolute https URL of at most 2048 characters")
	}
	return nil
}

// defineSharing defines consents and the records shared under them.
func (s *Service) defineSharing() {
	s.Consents = resource.New(s.store, resource.Def[Consent]{
		Name: "consent", Path: "consents", Table: "consents", Topic: contract.TopicConsent,
		Recorded: contract.ConsentRecorded, Corrected: contract.ConsentCorrected, Deleted: contract.ConsentDeleted,
		Subject: func(c *Consent) string { return c.PatientID }, SubjectField: "patient_id",
		At:       func(c *Consent) time.Time { return c.From },
		Validate: (*Consent).validate,
		Check: func(ctx context.Context, tx *resource.Tx, c *Consent) error {
			err := s.requirePatient(ctx, tx, c.PatientID)
			for i, id := range c.OrganizationIDs {
				err = first(err, s.Organizations.Require(ctx, tx, fmt.Sprintf("organization_ids[%d]", i), id, ""))
			}
			return err
		},
		Payload: func(c *Consent) any {
			return contract.Consent{ConsentID: c.ID, PatientID: c.PatientID, Scope: c.Scope, Decision: c.Decision,
				From: c.From.UTC(), To: utc(c.To), OrganizationIDs: c.OrganizationIDs}
		},
		Ref: func(c *Consent) any { return contract.ConsentRef{ConsentID: c.ID, PatientID: c.PatientID} },
	})
	s.SharedRecords = resource.New(s.store, resource.Def[SharedRecord]{
		Name: "shared record", Path: "shared-records", Table: "shared_records", Topic: contract.TopicSharedRecord,
		Recorded: contract.SharedRecordRecorded, Corrected: contract.SharedRecordCorrected, Deleted: contract.SharedRecordDeleted,
		Subject: func(r *SharedRecord) string { return r.PatientID }, SubjectField: "patient_id",
		At:       func(r *SharedRecord) time.Time { return r.Performed },
		Validate: (*SharedRecord).validate,
		Check:    s.checkSharedRecord,
		Visible: func(ctx context.Context, q resource.Querier, r *SharedRecord) error {
			if _, ok, err := s.permitting(ctx, q, r.PatientID, r.SourceID, time.Now()); err != nil || !ok {
				return orElse(err, errs.E(errs.Forbidden, "the patient's consent no longer permits this shared record"))
			}
			return nil
		},
		Payload: func(r *SharedRecord) any {
			return contract.SharedRecord{SharedRecordID: r.ID, PatientID: r.PatientID, Kind: r.Kind, SourceID: r.SourceID,
				Code: r.Code, Modality: r.Modality, BodySite: r.BodySite, Performed: r.Performed.UTC(),
				Received: r.Received.UTC(), ConsentID: r.ConsentID}
		},
		Ref: func(r *SharedRecord) any {
			return contract.SharedRecordRef{SharedRecordID: r.ID, PatientID: r.PatientID}
		},
	})
}

// checkSharedRecord resolves the patient and the source institution, and honours the
// record only under a consent of the patient that permits records from that
// institution now; the consent is named in ConsentID.
func (s *Service) checkSharedRecord(ctx context.Context, tx *resource.Tx, r *SharedRecord) error {
	if err := first(s.requirePatient(ctx, tx, r.PatientID),
		s.Organizations.Require(ctx, tx, "source_id", r.SourceID, "")); err != nil {
		return err
	}
	id, ok, err := s.permitting(ctx, tx, r.PatientID, r.SourceID, tx.Now)
	switch {
	case err != nil:
		return err
	case !ok:
		return unprocessable("source_id", "no consent of the patient permits records from this institution")
	}
	r.ConsentID = id
	return nil
}

// permitting finds the consent under which the patient's records from source may be
// kept at t: a permit covering it and no deny covering it (a deny wins).
func (s *Service) permitting(ctx context.Context, q resource.Querier, patientID, source string, t time.Time) (string, bool, error) {
	consents, err := s.Consents.OfSubject(ctx, q, patientID)
	if err != nil {
		return "", false, err
	}
	permit := ""
	for _, c := range consents {
		if !c.covers(source, t) {
			continue
		}
		if c.Decision == contract.ConsentDeny {
			return "", false, nil
		}
		if permit == "" {
			permit = c.ID
		}
	}
	return permit, permit != "", nil
}
