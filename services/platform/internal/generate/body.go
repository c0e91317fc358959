package generate

import (
	"time"

	"github.com/attest-ehr/attest/libs/contract"
)

// The request bodies of records' JSON API (docs/records.md), one struct per kind, with
// only the fields the generator sets. They mirror services/records/internal/record,
// which this module cannot import; the acceptance test posts every kind to the real
// service, so a drift fails there.

// Kinds are the records kinds the generator writes, in the order they must be posted:
// the directory first, then patients, then each patient's facts after what they refer to.
var Kinds = []string{
	"organizations", "hospitals", "groups", "clinicians", "locations", "registry-engagements",
	"patients", "encounters", "vital-signs", "orders", "results", "prescriptions",
	"transitions", "reconciliations", "availabilities", "access-grants", "vdt", "pghd",
}

// ServiceKinds are what the generator writes for the services that own them, not for
// records: secure messages (each line a body of messaging's POST /v1/threads/import)
// and education given (each line a body of education's POST /v1/provisions, recorded by
// a service account). They refer to patients, which messaging and education learn from
// records' events: post them after records' lines have gone through the pipeline.
var ServiceKinds = []string{"threads", "education"}

// AllKinds are every file the generator writes: Kinds, then ServiceKinds.
var AllKinds = append(append([]string{}, Kinds...), ServiceKinds...)

// ServicePath is the path, under the platform's base URL (the gateway), a line of a
// service kind is posted to; "" for records' kinds.
func ServicePath(kind string) string {
	switch kind {
	case "threads":
		return "/messaging/v1/threads/import"
	case "education":
		return "/education/v1/provisions"
	}
	return ""
}

type organization struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	PartOf string `json:"part_of,omitempty"`
}

type hospital struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	CCN            string `json:"ccn"`
}

type group struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	TIN            string `json:"tin"`
}

type personName struct {
	Given  []string `json:"given"`
	Family string   `json:"family"`
}

type clinician struct {
	ID         string     `json:"id"`
	NPI        string     `json:"npi"`
	Name       personName `json:"name"`
	Credential string     `json:"credential"`
	TINs       []string   `json:"tins"`
}

type location struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	POS            string `json:"pos"`
	CEHRT          bool   `json:"cehrt"`
	HospitalID     string `json:"hospital_id,omitempty"`
	TIN            string `json:"tin,omitempty"`
}

type mrn struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type patient struct {
	ID             string     `json:"id"`
	OrganizationID string     `json:"organization_id"`
	MRN            mrn        `json:"mrn"`
	Name           personName `json:"name"`
	BirthDate      string     `json:"birth_date"`
	Sex            string     `json:"sex"`
}

type encounter struct {
	ID           string     `json:"id"`
	PatientID    string     `json:"patient_id"`
	Class        string     `json:"class"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end,omitempty"`
	RenderingNPI string     `json:"rendering_npi,omitempty"`
	BillingTIN   string     `json:"billing_tin,omitempty"`
	CCN          string     `json:"ccn,omitempty"`
	LocationID   string     `json:"location_id,omitempty"`
	NewPatient   bool       `json:"new_patient,omitempty"`
}

type order struct {
	ID                  string        `json:"id"`
	PatientID           string        `json:"patient_id"`
	Category            string        `json:"category"`
	Code                contract.Code `json:"code"`
	Ordered             time.Time     `json:"ordered"`
	NPI                 string        `json:"npi"`
	TIN                 string        `json:"tin,omitempty"`
	CCN                 string        `json:"ccn,omitempty"`
	EncounterID         string        `json:"encounter_id"`
	EntryMethod         string        `json:"entry_method"`
	EnteredBy           string        `json:"entered_by"`
	EnteredByCredential string        `json:"entered_by_credential"`
}

type quantity struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

type result struct {
	ID          string        `json:"id"`
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Category    string        `json:"category"`
	Status      string        `json:"status"`
	Effective   time.Time     `json:"effective"`
	Issued      time.Time     `json:"issued"`
	Value       quantity      `json:"value"`
	OrderID     string        `json:"order_id"`
	NPI         string        `json:"npi"`
	EncounterID string        `json:"encounter_id"`
}

type prescription struct {
	ID           string                   `json:"id"`
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
	EncounterID  string                   `json:"encounter_id"`
	Formulary    *contract.FormularyQuery `json:"formulary,omitempty"`
	Transmission *contract.Transmission   `json:"transmission,omitempty"`
}

type transition struct {
	ID               string                    `json:"id"`
	PatientID        string                    `json:"patient_id"`
	Direction        string                    `json:"direction"`
	Kind             string                    `json:"kind"`
	Occurred         time.Time                 `json:"occurred"`
	EncounterID      string                    `json:"encounter_id"`
	Sender           contract.Party            `json:"sender"`
	Receiver         contract.Party            `json:"receiver"`
	SummaryCreated   *time.Time                `json:"summary_created,omitempty"`
	Contents         *contract.SummaryContents `json:"contents,omitempty"`
	Sent             *time.Time                `json:"sent,omitempty"`
	Transport        string                    `json:"transport,omitempty"`
	ReceiptConfirmed *time.Time                `json:"receipt_confirmed,omitempty"`
	Received         *time.Time                `json:"received,omitempty"`
	Incorporated     *time.Time                `json:"incorporated,omitempty"`
}

type reconciliation struct {
	ID           string     `json:"id"`
	PatientID    string     `json:"patient_id"`
	TransitionID string     `json:"transition_id"`
	Medications  *time.Time `json:"medications,omitempty"`
	Allergies    *time.Time `json:"allergies,omitempty"`
	Problems     *time.Time `json:"problems,omitempty"`
	NPI          string     `json:"npi,omitempty"`
	CCN          string     `json:"ccn,omitempty"`
}

type availability struct {
	ID          string    `json:"id"`
	PatientID   string    `json:"patient_id"`
	Kind        string    `json:"kind"`
	Available   time.Time `json:"available"`
	EncounterID string    `json:"encounter_id,omitempty"`
	ResultID    string    `json:"result_id,omitempty"`
	NPI         string    `json:"npi,omitempty"`
	TIN         string    `json:"tin,omitempty"`
	CCN         string    `json:"ccn,omitempty"`
}

type accessGrant struct {
	ID          string    `json:"id"`
	PatientID   string    `json:"patient_id"`
	Kind        string    `json:"kind"`
	Granted     time.Time `json:"granted"`
	NPI         string    `json:"npi,omitempty"`
	TIN         string    `json:"tin,omitempty"`
	CCN         string    `json:"ccn,omitempty"`
	EncounterID string    `json:"encounter_id"`
}

type vdt struct {
	ID        string    `json:"id"`
	PatientID string    `json:"patient_id"`
	Action    string    `json:"action"`
	Actor     string    `json:"actor"`
	Occurred  time.Time `json:"occurred"`
	AppID     string    `json:"app_id,omitempty"`
}

type registryEngagement struct {
	ID         string          `json:"id"`
	Entity     contract.Entity `json:"entity"`
	Measure    string          `json:"measure"`
	RegistryID string          `json:"registry_id"`
	Status     string          `json:"status"`
	Registered time.Time       `json:"registered"`
	Since      time.Time       `json:"since"`
}

type component struct {
	Code  contract.Code `json:"code"`
	Value quantity      `json:"value"`
}

// vitalSign is a vital sign; the generator writes the blood pressure patients entered
// on the clinic's shared tablet at check-in, as the source EHR kept it: performer
// patient. (Records sets device_id and session_id only on a live tablet upload, dated
// now, so an import of last year's readings carries neither.)
type vitalSign struct {
	ID          string        `json:"id"`
	PatientID   string        `json:"patient_id"`
	Code        contract.Code `json:"code"`
	Components  []component   `json:"components"`
	Effective   time.Time     `json:"effective"`
	Performer   string        `json:"performer"`
	EncounterID string        `json:"encounter_id"`
}

type pghd struct {
	ID           string    `json:"id"`
	PatientID    string    `json:"patient_id"`
	Source       string    `json:"source"`
	Incorporated time.Time `json:"incorporated"`
	VitalSignID  string    `json:"vital_sign_id"`
	NPI          string    `json:"npi,omitempty"`
	TIN          string    `json:"tin,omitempty"`
}

// thread is messaging's import of a conversation of the source EHR.
type thread struct {
	PatientID  string    `json:"patient_id"`
	Kind       string    `json:"kind"`
	ClinicID   string    `json:"clinic_id"`
	Clinicians []string  `json:"clinicians"`
	Subject    string    `json:"subject"`
	TIN        string    `json:"tin,omitempty"`
	Messages   []message `json:"messages"`
}

type participant struct {
	Role string `json:"role"`
	ID   string `json:"id"`
}

type message struct {
	Sender  participant `json:"sender"`
	Body    string      `json:"body"`
	ReplyTo *int        `json:"reply_to,omitempty"`
	Sent    time.Time   `json:"sent"`
}

// provision is education given, recorded by a service account with its date and credit.
type provision struct {
	ID                 string    `json:"id"`
	PatientID          string    `json:"patient_id"`
	MaterialID         string    `json:"material_id"`
	Channel            string    `json:"channel"`
	Provided           time.Time `json:"provided"`
	NPI                string    `json:"npi"`
	TIN                string    `json:"tin"`
	IdentifiedBySystem bool      `json:"identified_by_system"`
}
