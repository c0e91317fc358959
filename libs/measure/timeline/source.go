package timeline

import (
	"encoding/json"

	"github.com/attest-ehr/attest/libs/contract"
)

// source is how one kind of item arrives: the event types that carry the whole input,
// the one that deletes it, and how to read (and so validate) each payload.
type source struct {
	kind    Kind
	topic   string
	puts    []string
	deleted string
	put     reader // reads a payload carrying the whole input
	ref     reader // reads the payload of a deletion
}

// reader decodes a payload into its contract struct (a *T) and returns it with the
// input's ID and patient ID.
type reader func(data []byte) (v any, id, patient string, err error)

// read is the reader of payloads of type T.
func read[T any](ident func(*T) (string, string)) reader {
	return func(data []byte) (any, string, string, error) {
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return nil, "", "", err
		}
		id, patient := ident(v)
		return v, id, patient, nil
	}
}

// sources are every input the measures read, by topic.
var sources = []source{
	{Patient, contract.TopicPatient, []string{contract.PatientRegistered, contract.PatientUpdated}, "",
		read(func(p *contract.Patient) (string, string) { return p.PatientID, p.PatientID }), nil},
	{Encounter, contract.TopicEncounter, []string{contract.EncounterRecorded, contract.EncounterCorrected}, contract.EncounterDeleted,
		read(func(p *contract.Encounter) (string, string) { return p.EncounterID, p.PatientID }),
		read(func(p *contract.EncounterRef) (string, string) { return p.EncounterID, p.PatientID })},
	{Availability, contract.TopicAvailability, []string{contract.AvailabilityRecorded, contract.AvailabilityCorrected},
		contract.AvailabilityDeleted,
		read(func(p *contract.Availability) (string, string) { return p.AvailabilityID, p.PatientID }),
		read(func(p *contract.AvailabilityRef) (string, string) { return p.AvailabilityID, p.PatientID })},
	{AccessGrant, contract.TopicAccessGrant, []string{contract.AccessGrantRecorded, contract.AccessGrantCorrected},
		contract.AccessGrantDeleted,
		read(func(p *contract.AccessGrant) (string, string) { return p.AccessGrantID, p.PatientID }),
		read(func(p *contract.AccessGrantRef) (string, string) { return p.AccessGrantID, p.PatientID })},
	{VDT, contract.TopicVDT, []string{contract.VDTRecorded, contract.VDTCorrected}, contract.VDTDeleted,
		read(func(p *contract.VDT) (string, string) { return p.VDTID, p.PatientID }),
		read(func(p *contract.VDTRef) (string, string) { return p.VDTID, p.PatientID })},
	{PGHD, contract.TopicPGHD, []string{contract.PGHDRecorded, contract.PGHDCorrected}, contract.PGHDDeleted,
		read(func(p *contract.PGHD) (string, string) { return p.PGHDID, p.PatientID }),
		read(func(p *contract.PGHDRef) (string, string) { return p.PGHDID, p.PatientID })},
	{Problem, contract.TopicProblem, []string{contract.ProblemRecorded, contract.ProblemCorrected}, contract.ProblemDeleted,
		read(func(p *contract.Problem) (string, string) { return p.ProblemID, p.PatientID }),
		read(func(p *contract.ProblemRef) (string, string) { return p.ProblemID, p.PatientID })},
	{Medication, contract.TopicMed, []string{contract.MedicationRecorded, contract.MedicationCorrected}, contract.MedicationDeleted,
		read(func(p *contract.Medication) (string, string) { return p.MedicationID, p.PatientID }),
		read(func(p *contract.MedicationRef) (string, string) { return p.MedicationID, p.PatientID })},
	{Allergy, contract.TopicAllergy, []string{contract.AllergyRecorded, contract.AllergyCorrected}, contract.AllergyDeleted,
		read(func(p *contract.Allergy) (string, string) { return p.AllergyID, p.PatientID }),
		read(func(p *contract.AllergyRef) (string, string) { return p.AllergyID, p.PatientID })},
	{Result, contract.TopicResult, []string{contract.ResultRecorded, contract.ResultCorrected}, contract.ResultDeleted,
		read(func(p *contract.Result) (string, string) { return p.ResultID, p.PatientID }),
		read(func(p *contract.ResultRef) (string, string) { return p.ResultID, p.PatientID })},
	{VitalSign, contract.TopicVitalSign, []string{contract.VitalSignRecorded, contract.VitalSignCorrected}, contract.VitalSignDeleted,
		read(func(p *contract.VitalSign) (string, string) { return p.VitalSignID, p.PatientID }),
		read(func(p *contract.VitalSignRef) (string, string) { return p.VitalSignID, p.PatientID })},
	{SmokingStatus, contract.TopicSmokingStatus, []string{contract.SmokingStatusRecorded, contract.SmokingStatusCorrected},
		contract.SmokingStatusDeleted,
		read(func(p *contract.SmokingStatus) (string, string) { return p.SmokingStatusID, p.PatientID }),
		read(func(p *contract.SmokingStatusRef) (string, string) { return p.SmokingStatusID, p.PatientID })},
	{Prescription, contract.TopicPrescription, []string{contract.PrescriptionRecorded, contract.PrescriptionCorrected,
		contract.PrescriptionQueried, contract.PrescriptionTransmitted}, contract.PrescriptionDeleted,
		read(func(p *contract.Prescription) (string, string) { return p.PrescriptionID, p.PatientID }),
		read(func(p *contract.PrescriptionRef) (string, string) { return p.PrescriptionID, p.PatientID })},
	{Order, contract.TopicOrder, []string{contract.OrderRecorded, contract.OrderCorrected}, contract.OrderDeleted,
		read(func(p *contract.Order) (string, string) { return p.OrderID, p.PatientID }),
		read(func(p *contract.OrderRef) (string, string) { return p.OrderID, p.PatientID })},
	{Transition, contract.TopicTransition, []string{contract.TransitionRecorded, contract.TransitionCorrected,
		contract.TransitionSummarized, contract.TransitionTransmitted, contract.TransitionConfirmed,
		contract.TransitionReceived, contract.TransitionRequested, contract.TransitionIncorporated}, contract.TransitionDeleted,
		read(func(p *contract.Transition) (string, string) { return p.TransitionID, p.PatientID }),
		read(func(p *contract.TransitionRef) (string, string) { return p.TransitionID, p.PatientID })},
	{Reconciliation, contract.TopicReconciliation, []string{contract.ReconciliationRecorded, contract.ReconciliationCorrected},
		contract.ReconciliationDeleted,
		read(func(p *contract.Reconciliation) (string, string) { return p.ReconciliationID, p.PatientID }),
		read(func(p *contract.ReconciliationRef) (string, string) { return p.ReconciliationID, p.PatientID })},
	{ClinicalSummary, contract.TopicClinicalSummary, []string{contract.ClinicalSummaryRecorded, contract.ClinicalSummaryCorrected},
		contract.ClinicalSummaryDeleted,
		read(func(p *contract.ClinicalSummary) (string, string) { return p.ClinicalSummaryID, p.PatientID }),
		read(func(p *contract.ClinicalSummaryRef) (string, string) { return p.ClinicalSummaryID, p.PatientID })},
	// Messages and education provisions are never corrected nor deleted by their owners.
	{Message, contract.TopicMessage, []string{contract.MessageSent}, "",
		read(func(p *contract.SecureMessage) (string, string) { return p.MessageID, p.PatientID }), nil},
	{Education, contract.TopicMaterial, []string{contract.MaterialProvided}, "",
		read(func(p *contract.MaterialProvision) (string, string) { return p.ProvisionID, p.PatientID }), nil},
}
