package record

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Availability is the moment information became available to the provider: the
// start of the patient-access timeliness clock.
type Availability struct {
	resource.Meta
	PatientID   string    `json:"patient_id"`
	Kind        string    `json:"kind"`
	Available   time.Time `json:"available"`
	EncounterID string    `json:"encounter_id,omitempty"`
	ResultID    string    `json:"result_id,omitempty"`
	NPI         string    `json:"npi,omitempty"`
	TIN         string    `json:"tin,omitempty"`
	CCN         string    `json:"ccn,omitempty"`
}

var availableKinds = []string{contract.AvailableEncounter, contract.AvailableResult, contract.AvailableDischarge,
	contract.AvailableOther}

func (a *Availability) validate() error {
	return first(
		requiredID("patient_id", a.PatientID),
		oneOf("kind", a.Kind, availableKinds...),
		requiredTime("available", a.Available),
		optionalID("encounter_id", a.EncounterID),
		optionalID("result_id", a.ResultID),
		npi("npi", a.NPI, false),
		tin("tin", a.TIN, false),
		ccn("ccn", a.CCN, false),
	)
}

// AccessGrant is timely electronic access given to a patient: VDT through the portal,
// or their data through the API, or an offer of it the patient declined.
type AccessGrant struct {
	resource.Meta
	PatientID   string     `json:"patient_id"`
	Kind        string     `json:"kind"`
	Granted     time.Time  `json:"granted"`
	OptedOut    bool       `json:"opted_out,omitempty"`
	Revoked     *time.Time `json:"revoked,omitempty"`
	NPI         string     `json:"npi,omitempty"`
	TIN         string     `json:"tin,omitempty"`
	CCN         string     `json:"ccn,omitempty"`
	EncounterID string     `json:"encounter_id,omitempty"`
}

func (a *AccessGrant) validate() error {
	return first(
		requiredID("patient_id", a.PatientID),
		oneOf("kind", a.Kind, contract.AccessVDT, contract.AccessAPI),
		requiredTime("granted", a.Granted),
		notBefore("revoked", a.Revoked, "granted", a.Granted),
		npi("npi", a.NPI, false),
		tin("tin", a.TIN, false),
		ccn("ccn", a.CCN, false),
		optionalID("encounter_id", a.EncounterID),
	)
}

// VDT is the patient, or an authorized representative, viewing, downloading or
// transmitting their information, or an app of their choice reading it through the
// API.
type VDT struct {
	resource.Meta
	PatientID        string    `json:"patient_id"`
	Action           string    `json:"action"`
	Actor            string    `json:"actor"`
	RepresentativeID string    `json:"representative_id,omitempty"`
	Occurred         time.Time `json:"occurred"`
	AppID            string    `json:"app_id,omitempty"`
}

var vdtActions = []string{contract.VDTView, contract.VDTDownload, contract.VDTTransmit, contract.VDTAPI}

func (v *VDT) validate() error {
	err := first(
		requiredID("patient_id", v.PatientID),
		oneOf("action", v.Action, vdtActions...),
		oneOf("actor", v.Actor, contract.ActorPatient, contract.ActorProxy),
		optionalID("representative_id", v.RepresentativeID),
		requiredTime("occurred", v.Occurred),
		optionalID("app_id", v.AppID),
	)
	switch {
	case err != nil:
	case v.Actor == contract.ActorProxy && v.RepresentativeID == "":
		err = invalid("representative_id", "required when a representative acted")
	case v.Actor == contract.ActorPatient && v.RepresentativeID != "":
		err = invalid("representative_id", "only when a representative acted")
	case v.Action != contract.VDTAPI && v.AppID != "":
		err = invalid("app_id", "only for API access")
	}
	return err
}

// PGHD is patient-generated data, or data from a non-clinical setting, incorporated
// into the record.
type PGHD struct {
	resource.Meta
	PatientID    string         `json:"patient_id"`
	Source       string         `json:"source"`
	Incorporated time.Time      `json:"incorporated"`
	Code         *contract.Code `json:"code,omitempty"`
	VitalSignID  string         `json:"vital_sign_id,omitempty"`
	NPI          string         `json:"npi,omitempty"`
	TIN          string         `json:"tin,omitempty"`
	CCN          string         `json:"ccn,omitempty"`
}

func (p *PGHD) validate() error {
	return first(
		requiredID("patient_id", p.PatientID),
		oneOf("source", p.Source, contract.PGHDPatient, contract.PGHDNonClinical),
		requiredTime("incorporated", p.Incorporated),
		optionalCode("code", p.Code, contract.SystemLOINC, contract.SystemSNOMED),
		optionalID("vital_sign_id", p.VitalSignID),
		npi("npi", p.NPI, false),
		tin("tin", p.TIN, false),
		ccn("ccn", p.CCN, false),
	)
}

// defineAccess defines patient electronic access: availability, grants, VDT actions
// and incorporated patient-generated data.
func (s *Service) defineAccess() {
	s.Availabilities = resource.New(s.store, resource.Def[Availability]{
		Name: "availability", Path: "availabilities", Table: "availabilities", Topic: contract.TopicAvailability,
		Recorded: contract.AvailabilityRecorded, Corrected: contract.AvailabilityCorrected, Deleted: contract.AvailabilityDeleted,
		Subject: func(a *Availability) string { return a.PatientID }, SubjectField: "patient_id",
		At:       func(a *Availability) time.Time { return a.Available },
		Validate: (*Availability).validate,
		Check: func(ctx context.Context, tx *resource.Tx, a *Availability) error {
			return first(
				s.patientRefs(ctx, tx, a.PatientID, a.EncounterID),
				s.Results.Require(ctx, tx, "result_id", a.ResultID, a.PatientID),
			)
		},
		Payload: func(a *Availability) any {
			return contract.Availability{AvailabilityID: a.ID, PatientID: a.PatientID, Kind: a.Kind,
				Available: a.Available.UTC(), EncounterID: a.EncounterID, ResultID: a.ResultID, NPI: a.NPI, TIN: a.TIN, CCN: a.CCN}
		},
		Ref: func(a *Availability) any {
			return contract.AvailabilityRef{AvailabilityID: a.ID, PatientID: a.PatientID}
		},
	})
	s.AccessGrants = resource.New(s.store, resource.Def[AccessGrant]{
		Name: "access grant", Path: "access-grants", Table: "access_grants", Topic: contract.TopicAccessGrant,
		Recorded: contract.AccessGrantRecorded, Corrected: contract.AccessGrantCorrected, Deleted: contract.AccessGrantDeleted,
		Subject: func(a *AccessGrant) string { return a.PatientID }, SubjectField: "patient_id",
		At:       func(a *AccessGrant) time.Time { return a.Granted },
		Validate: (*AccessGrant).validate,
		Check: func(ctx context.Context, tx *resource.Tx, a *AccessGrant) error {
			return s.patientRefs(ctx, tx, a.PatientID, a.EncounterID)
		},
		Payload: func(a *AccessGrant) any {
			return contract.AccessGrant{AccessGrantID: a.ID, PatientID: a.PatientID, Kind: a.Kind, Granted: a.Granted.UTC(),
				OptedOut: a.OptedOut, Revoked: utc(a.Revoked), NPI: a.NPI, TIN: a.TIN, CCN: a.CCN, EncounterID: a.EncounterID}
		},
		Ref: func(a *AccessGrant) any { return contract.AccessGrantRef{AccessGrantID: a.ID, PatientID: a.PatientID} },
	})
	s.VDTs = resource.New(s.store, resource.Def[VDT]{
		Name: "VDT action", Path: "vdt", Table: "vdt_actions", Topic: contract.TopicVDT,
		Recorded: contract.VDTRecorded, Corrected: contract.VDTCorrected, Deleted: contract.VDTDeleted,
		Subject: func(v *VDT) string { return v.PatientID }, SubjectField: "patient_id",
		At:       func(v *VDT) time.Time { return v.Occurred },
		Validate: (*VDT).validate,
		Check:    s.checkVDT,
		Payload: func(v *VDT) any {
			return contract.VDT{VDTID: v.ID, PatientID: v.PatientID, Action: v.Action, Actor: v.Actor,
				RepresentativeID: v.RepresentativeID, Occurred: v.Occurred.UTC(), AppID: v.AppID}
		},
		Ref: func(v *VDT) any { return contract.VDTRef{VDTID: v.ID, PatientID: v.PatientID} },
	})
	s.PGHD = resource.New(s.store, resource.Def[PGHD]{
		Name: "patient-generated data", Path: "pghd", Table: "pghd", Topic: contract.TopicPGHD,
		Recorded: contract.PGHDRecorded, Corrected: contract.PGHDCorrected, Deleted: contract.PGHDDeleted,
		Subject: func(p *PGHD) string { return p.PatientID }, SubjectField: "patient_id",
		At:       func(p *PGHD) time.Time { return p.Incorporated },
		Validate: (*PGHD).validate,
		Check: func(ctx context.Context, tx *resource.Tx, p *PGHD) error {
			return first(
				s.requirePatient(ctx, tx, p.PatientID),
				s.VitalSigns.Require(ctx, tx, "vital_sign_id", p.VitalSignID, p.PatientID),
			)
		},
		Payload: func(p *PGHD) any {
			return contract.PGHD{PGHDID: p.ID, PatientID: p.PatientID, Source: p.Source, Incorporated: p.Incorporated.UTC(),
				Code: p.Code, VitalSignID: p.VitalSignID, NPI: p.NPI, TIN: p.TIN, CCN: p.CCN}
		},
		Ref: func(p *PGHD) any { return contract.PGHDRef{PGHDID: p.ID, PatientID: p.PatientID} },
	})
}

// checkVDT resolves the patient and, for a representative's action, checks that they
// were the patient's authorized representative when they acted.
func (s *Service) checkVDT(ctx context.Context, tx *resource.Tx, v *VDT) error {
	if err := s.requirePatient(ctx, tx, v.PatientID); err != nil || v.Actor != contract.ActorProxy {
		return err
	}
	p, err := s.Patients.Load(ctx, tx, v.PatientID)
	if err != nil {
		return err
	}
	r, ok := p.representative(v.RepresentativeID)
	switch {
	case !ok:
		return unprocessable("representative_id", "not an authorized representative of the patient")
	case !r.authorizedAt(v.Occurred):
		return unprocessable("representative_id", "not authorized at the time of the action")
	}
	return nil
}
