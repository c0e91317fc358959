package record

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/phi"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Prescription is a prescription written for a patient, with what the e-Prescribing
// measures need: kind, discharge, controlled schedule, permissible, and later the
// formulary query and the transmission to a pharmacy (actions of their own).
type Prescription struct {
	resource.Meta
	PatientID    string                   `json:"patient_id"`
	Code         contract.Code            `json:"code"`
	Kind         string                   `json:"kind"`
	Discharge    bool                     `json:"discharge,omitempty"`
	Schedule     string                   `json:"schedule,omitempty"`
	Permissible  bool                     `json:"permissible"`
	Written      time.Time                `json:"written"`
	NPI          string                   `json:"npi"`
	TIN          string                   `json:"tin,omitempty"`
	CCN          string                   `json:"ccn,omitempty"`
	EncounterID  string                   `json:"encounter_id,omitempty"`
	ReplacesID   string                   `json:"replaces_id,omitempty"`
	Instructions phi.Text                 `json:"instructions,omitempty"`
	Formulary    *contract.FormularyQuery `json:"formulary,omitempty"`
	Transmission *contract.Transmission   `json:"transmission,omitempty"`
}

var (
	prescriptionKinds = []string{contract.PrescriptionNew, contract.PrescriptionChanged, contract.PrescriptionRefill}
	schedules         = []string{contract.ScheduleII, contract.ScheduleIII, contract.ScheduleIV, contract.ScheduleV}
	formularyResults  = []string{contract.FormularyCovered, contract.FormularyNotCovered, contract.FormularyUnavailable}
	transmitMethods   = []string{contract.TransmitElectronic, contract.TransmitFax, contract.TransmitPrint, contract.TransmitPhone}
	transmitOutcomes  = []string{contract.TransmitSucceeded, contract.TransmitFailed, contract.TransmitPending}
)

func (p *Prescription) validate() error {
	err := first(
		requiredID("patient_id", p.PatientID),
		code("code", p.Code, contract.SystemRxNorm),
		oneOf("kind", p.Kind, prescriptionKinds...),
		optionalOneOf("schedule", p.Schedule, schedules...),
		requiredTime("written", p.Written),
		npi("npi", p.NPI, true),
		tin("tin", p.TIN, false),
		ccn("ccn", p.CCN, p.Discharge),
		optionalID("encounter_id", p.EncounterID),
		optionalID("replaces_id", p.ReplacesID),
		formulary("formulary", p.Formulary),
		transmission("transmission", p.Transmission, p.Written),
	)
	if err == nil && p.ReplacesID != "" && p.Kind == contract.PrescriptionNew {
		err = invalid("replaces_id", "only a changed or refill prescription replaces another")
	}
	return err
}

func formulary(field string, f *contract.FormularyQuery) error {
	if f == nil {
		return nil
	}
	return first(requiredTime(sub(field, "queried"), f.Queried), oneOf(sub(field, "result"), f.Result, formularyResults...))
}

func transmission(field string, t *contract.Transmission, written time.Time) error {
	if t == nil {
		return nil
	}
	return first(
		requiredTime(sub(field, "transmitted"), t.Transmitted),
		notBefore(sub(field, "transmitted"), &t.Transmitted, "written", written),
		oneOf(sub(field, "method"), t.Method, transmitMethods...),
		oneOf(sub(field, "outcome"), t.Outcome, transmitOutcomes...),
		optionalID(sub(field, "pharmacy_id"), t.PharmacyID),
	)
}

func (p *Prescription) contract() contract.Prescription {
	c := contract.Prescription{
		PrescriptionID: p.ID, PatientID: p.PatientID, Code: p.Code, Kind: p.Kind, Discharge: p.Discharge,
		Schedule: p.Schedule, Permissible: p.Permissible, Written: p.Written.UTC(), NPI: p.NPI, TIN: p.TIN, CCN: p.CCN,
		EncounterID: p.EncounterID, ReplacesID: p.ReplacesID,
	}
	if f := p.Formulary; f != nil {
		c.Formulary = &contract.FormularyQuery{Queried: f.Queried.UTC(), Result: f.Result}
	}
	if t := p.Transmission; t != nil {
		c.Transmission = &contract.Transmission{Transmitted: t.Transmitted.UTC(), Method: t.Method, Outcome: t.Outcome,
			PharmacyID: t.PharmacyID}
	}
	return c
}

// PDMPQuery is a query of the prescription drug monitoring program.
type PDMPQuery struct {
	resource.Meta
	PatientID      string    `json:"patient_id"`
	PrescriptionID string    `json:"prescription_id,omitempty"`
	Schedule       string    `json:"schedule"`
	Queried        time.Time `json:"queried"`
	Outcome        string    `json:"outcome"`
	NPI            string    `json:"npi"`
	TIN            string    `json:"tin,omitempty"`
	CCN            string    `json:"ccn,omitempty"`
}

var pdmpOutcomes = []string{contract.PDMPQuerySucceeded, contract.PDMPQueryFailed, contract.PDMPQueryUnavailable}

func (q *PDMPQuery) validate() error {
	return first(
		requiredID("patient_id", q.PatientID),
		optionalID("prescription_id", q.PrescriptionID),
		oneOf("schedule", q.Schedule, schedules...),
		requiredTime("queried", q.Queried),
		oneOf("outcome", q.Outcome, pdmpOutcomes...),
		npi("npi", q.NPI, true),
		tin("tin", q.TIN, false),
		ccn("ccn", q.CCN, false),
	)
}

// definePrescribing defines prescriptions, PDMP queries and orders.
func (s *Service) definePrescribing() {
	s.Prescriptions = resource.New(s.store, resource.Def[Prescription]{
		Name: "prescription", Path: "prescriptions", Table: "prescriptions", Topic: contract.TopicPrescription,
		Recorded: contract.PrescriptionRecorded, Corrected: contract.PrescriptionCorrected, Deleted: contract.PrescriptionDeleted,
		Subject: func(p *Prescription) string { return p.PatientID }, SubjectField: "patient_id",
		At:       func(p *Prescription) time.Time { return p.Written },
		Validate: (*Prescription).validate,
		Refs: func(p *Prescription, ref func(string, string)) {
			s.factRefs(p.PatientID, p.EncounterID, ref)
			ref(s.Prescriptions.Table, p.ReplacesID)
			if p.Transmission != nil {
				ref(s.Organizations.Table, p.Transmission.PharmacyID)
			}
		},
		Check: func(ctx context.Context, tx *resource.Tx, p *Prescription) error {
			if p.ReplacesID != "" && p.ReplacesID == p.ID {
				return invalid("replaces_id", "a prescription cannot replace itself")
			}
			pharmacy := ""
			if p.Transmission != nil {
				pharmacy = p.Transmission.PharmacyID
			}
			return first(
				s.patientRefs(ctx, tx, p.PatientID, p.EncounterID),
				s.Prescriptions.Require(ctx, tx, "replaces_id", p.ReplacesID, p.PatientID),
				s.Organizations.Require(ctx, tx, "transmission.pharmacy_id", pharmacy, ""),
			)
		},
		Payload: func(p *Prescription) any { return p.contract() },
		Ref: func(p *Prescription) any {
			return contract.PrescriptionRef{PrescriptionID: p.ID, PatientID: p.PatientID}
		},
	})
	s.PDMPQueries = resource.New(s.store, resource.Def[PDMPQuery]{
		Name: "PDMP query", Path: "pdmp-queries", Table: "pdmp_queries", Topic: contract.TopicPDMPQuery,
		Recorded: contract.PDMPQueryRecorded, Corrected: contract.PDMPQueryCorrected, Deleted: contract.PDMPQueryDeleted,
		Subject: func(q *PDMPQuery) string { return q.PatientID }, SubjectField: "patient_id",
		At:       func(q *PDMPQuery) time.Time { return q.Queried },
		Validate: (*PDMPQuery).validate,
		Check: func(ctx context.Context, tx *resource.Tx, q *PDMPQuery) error {
			return first(
				s.requirePatient(ctx, tx, q.PatientID),
				s.Prescriptions.Require(ctx, tx, "prescription_id", q.PrescriptionID, q.PatientID),
			)
		},
		Payload: func(q *PDMPQuery) any {
			return contract.PDMPQuery{PDMPQueryID: q.ID, PatientID: q.PatientID, PrescriptionID: q.PrescriptionID,
				Schedule: q.Schedule, Queried: q.Queried.UTC(), Outcome: q.Outcome, NPI: q.NPI, TIN: q.TIN, CCN: q.CCN}
		},
		Ref: func(q *PDMPQuery) any { return contract.PDMPQueryRef{PDMPQueryID: q.ID, PatientID: q.PatientID} },
	})
	s.defineOrders()
}

// prescriptionActions registers the formulary query and the transmission of a
// prescription:
//
//	POST /v1/prescriptions/{id}/query-formulary  {"queried", "result"}                → records.prescription.queried
//	POST /v1/prescriptions/{id}/transmit         {"transmitted", "method", "outcome"}  → records.prescription.transmitted
func (s *Service) prescriptionActions(m *resource.Mux) {
	resource.Action(m, s.Prescriptions, "query-formulary", queryFormulary)
	resource.Action(m, s.Prescriptions, "transmit", transmit)
}

// queryFormulary records the formulary query of a prescription.
func queryFormulary(_ context.Context, _ *resource.Tx, p *Prescription, q contract.FormularyQuery) (string, time.Time, error) {
	p.Formulary = &q
	return contract.PrescriptionQueried, q.Queried, formulary("", &q)
}

// transmit records how a prescription was sent to a pharmacy, and the outcome.
func transmit(_ context.Context, _ *resource.Tx, p *Prescription, t contract.Transmission) (string, time.Time, error) {
	p.Transmission = &t
	return contract.PrescriptionTransmitted, t.Transmitted, transmission("", &t, p.Written)
}
