package record

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// RegistryEngagement is a reporting entity's active engagement with a public health
// agency or clinical data registry.
type RegistryEngagement struct {
	resource.Meta
	Entity     contract.Entity `json:"entity"`
	Measure    string          `json:"measure"`
	RegistryID string          `json:"registry_id"`
	Status     string          `json:"status"`
	Registered time.Time       `json:"registered"`
	Since      time.Time       `json:"since"`
}

var (
	registryMeasures = []string{contract.RegistryImmunization, contract.RegistrySyndromic, contract.RegistryCaseReporting,
		contract.RegistryPublicHealth, contract.RegistryClinicalData, contract.RegistryLabReporting,
		contract.RegistryAntimicrobialUse, contract.RegistryAntimicrobialResistance}
	engagementStatuses = []string{contract.EngagementRegistered, contract.EngagementTesting, contract.EngagementProduction}
)

func (e *RegistryEngagement) validate() error {
	return first(
		entity("entity", e.Entity),
		oneOf("measure", e.Measure, registryMeasures...),
		requiredID("registry_id", e.RegistryID),
		oneOf("status", e.Status, engagementStatuses...),
		requiredTime("registered", e.Registered),
		requiredTime("since", e.Since),
		notBefore("since", &e.Since, "registered", e.Registered),
	)
}

// RegistrySubmission is one patient's data submitted to a registry.
type RegistrySubmission struct {
	resource.Meta
	PatientID   string         `json:"patient_id"`
	Measure     string         `json:"measure"`
	RegistryID  string         `json:"registry_id"`
	Submitted   time.Time      `json:"submitted"`
	Outcome     string         `json:"outcome"`
	Code        *contract.Code `json:"code,omitempty"`
	NPI         string         `json:"npi,omitempty"`
	TIN         string         `json:"tin,omitempty"`
	CCN         string         `json:"ccn,omitempty"`
	EncounterID string         `json:"encounter_id,omitempty"`
}

func (r *RegistrySubmission) validate() error {
	return first(
		requiredID("patient_id", r.PatientID),
		oneOf("measure", r.Measure, registryMeasures...),
		requiredID("registry_id", r.RegistryID),
		requiredTime("submitted", r.Submitted),
		oneOf("outcome", r.Outcome, contract.SubmissionAccepted, contract.SubmissionRejected, contract.SubmissionPending),
		optionalCode("code", r.Code, contract.SystemCVX, contract.SystemLOINC, contract.SystemSNOMED, contract.SystemICD10CM),
		npi("npi", r.NPI, false),
		tin("tin", r.TIN, false),
		ccn("ccn", r.CCN, false),
		optionalID("encounter_id", r.EncounterID),
	)
}

// Attestation is a yes/no fact about a reporting entity: a security risk analysis
// done, CDS or interaction checks enabled over an interval, an attestation answered.
type Attestation struct {
	resource.Meta
	Entity    contract.Entity `json:"entity"`
	Kind      string          `json:"kind"`
	Answer    bool            `json:"answer"`
	Performed time.Time       `json:"performed"`
	From      *time.Time      `json:"from,omitempty"`
	To        *time.Time      `json:"to,omitempty"`
}

var attestationKinds = []string{contract.AttestSecurityRiskAnalysis, contract.AttestCDS, contract.AttestInteractionChecks,
	contract.AttestSAFER, contract.AttestInformationBlocking, contract.AttestONCDirectReview, contract.AttestONCACB,
	contract.AttestHIEBidirectional, contract.AttestTEFCA}

func (a *Attestation) validate() error {
	err := first(
		entity("entity", a.Entity),
		oneOf("kind", a.Kind, attestationKinds...),
		requiredTime("performed", a.Performed),
		notBefore("to", a.To, "from", deref(a.From)),
	)
	if err == nil && a.To != nil && a.From == nil {
		err = invalid("from", "required with to")
	}
	return err
}

// defineProgram defines public health engagement and submissions and the attestation
// facts. Engagements and attestations are about a reporting entity and keyed by it,
// "kind:id"; list them with ?entity=kind:id.
func (s *Service) defineProgram() {
	s.RegistryEngagements = resource.New(s.store, resource.Def[RegistryEngagement]{
		Name: "registry engagement", Path: "registry-engagements", Table: "registry_engagements",
		Topic: contract.TopicRegistryEngagement, Recorded: contract.RegistryEngagementRecorded,
		Corrected: contract.RegistryEngagementCorrected, Deleted: contract.RegistryEngagementDeleted,
		Subject: func(e *RegistryEngagement) string { return e.Entity.String() }, SubjectField: "entity",
		At:       func(e *RegistryEngagement) time.Time { return e.Since },
		Validate: (*RegistryEngagement).validate,
		Check: func(ctx context.Context, tx *resource.Tx, e *RegistryEngagement) error {
			return s.Organizations.Require(ctx, tx, "registry_id", e.RegistryID, "")
		},
		Payload: func(e *RegistryEngagement) any {
			return contract.RegistryEngagement{RegistryEngagementID: e.ID, Entity: e.Entity, Measure: e.Measure,
				RegistryID: e.RegistryID, Status: e.Status, Registered: e.Registered.UTC(), Since: e.Since.UTC()}
		},
		Ref: func(e *RegistryEngagement) any {
			return contract.RegistryEngagementRef{RegistryEngagementID: e.ID, Entity: e.Entity}
		},
	})
	s.RegistrySubmissions = resource.New(s.store, resource.Def[RegistrySubmission]{
		Name: "registry submission", Path: "registry-submissions", Table: "registry_submissions",
		Topic: contract.TopicRegistrySubmission, Recorded: contract.RegistrySubmissionRecorded,
		Corrected: contract.RegistrySubmissionCorrected, Deleted: contract.RegistrySubmissionDeleted,
		Subject: func(r *RegistrySubmission) string { return r.PatientID }, SubjectField: "patient_id",
		At:       func(r *RegistrySubmission) time.Time { return r.Submitted },
		Validate: (*RegistrySubmission).validate,
		Check: func(ctx context.Context, tx *resource.Tx, r *RegistrySubmission) error {
			return first(
				s.patientRefs(ctx, tx, r.PatientID, r.EncounterID),
				s.Organizations.Require(ctx, tx, "registry_id", r.RegistryID, ""),
			)
		},
		Payload: func(r *RegistrySubmission) any {
			return contract.RegistrySubmission{RegistrySubmissionID: r.ID, PatientID: r.PatientID, Measure: r.Measure,
				RegistryID: r.RegistryID, Submitted: r.Submitted.UTC(), Outcome: r.Outcome, Code: r.Code, NPI: r.NPI,
				TIN: r.TIN, CCN: r.CCN, EncounterID: r.EncounterID}
		},
		Ref: func(r *RegistrySubmission) any {
			return contract.RegistrySubmissionRef{RegistrySubmissionID: r.ID, PatientID: r.PatientID}
		},
	})
	s.Attestations = resource.New(s.store, resource.Def[Attestation]{
		Name: "attestation", Path: "attestations", Table: "attestations", Topic: contract.TopicAttestation,
		Recorded: contract.AttestationRecorded, Corrected: contract.AttestationCorrected, Deleted: contract.AttestationDeleted,
		Subject: func(a *Attestation) string { return a.Entity.String() }, SubjectField: "entity",
		At:       func(a *Attestation) time.Time { return a.Performed },
		Validate: (*Attestation).validate,
		Payload: func(a *Attestation) any {
			return contract.Attestation{AttestationID: a.ID, Entity: a.Entity, Kind: a.Kind, Answer: a.Answer,
				Performed: a.Performed.UTC(), From: utc(a.From), To: utc(a.To)}
		},
		Ref: func(a *Attestation) any { return contract.AttestationRef{AttestationID: a.ID, Entity: a.Entity} },
	})
}
