// Package record owns the clinical record and the directory behind it: every fact the
// Meaningful Use / Promoting Interoperability measures count, from patients and their
// encounters to prescriptions, orders, transitions of care, patient access, public
// health engagement and the yes/no attestation facts, plus shared tablets and records
// shared between institutions. Every accepted fact, correction and deletion is written
// together with exactly one event, in one transaction, through the outbox (package
// resource); the events carry opaque IDs and codes, never PHI.
package record

import (
	"embed"
	"io/fs"
	"time"

	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the service's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}

// source is the ce_source of every event records publishes.
const source = "records"

// Config is what the record's rules can be tuned with.
type Config struct {
	// DuplicateWindow is how recent a study shared by another institution must be for
	// a new imaging order of the same modality and body site to be a duplicate.
	// Default: 30 days.
	DuplicateWindow time.Duration
}

// DefaultDuplicateWindow is Config.DuplicateWindow's default.
const DefaultDuplicateWindow = 30 * 24 * time.Hour

// Service is the record: one resource.Kind per kind of fact, and the flows that span
// several (patients' deletion, orders' duplicate check, shared tablets, consent).
type Service struct {
	store *resource.Store
	cfg   Config

	// The directory of reporting entities and devices.
	Organizations *resource.Kind[Organization, *Organization]
	Hospitals     *resource.Kind[Hospital, *Hospital]
	Groups        *resource.Kind[Group, *Group]
	Clinicians    *resource.Kind[Clinician, *Clinician]
	Locations     *resource.Kind[Location, *Location]
	Devices       *resource.Kind[Device, *Device]

	// Patients and their facts.
	Patients            *resource.Kind[Patient, *Patient]
	Encounters          *resource.Kind[Encounter, *Encounter]
	Problems            *resource.Kind[Problem, *Problem]
	Allergies           *resource.Kind[Allergy, *Allergy]
	Medications         *resource.Kind[Medication, *Medication]
	Results             *resource.Kind[Result, *Result]
	VitalSigns          *resource.Kind[VitalSign, *VitalSign]
	SmokingStatuses     *resource.Kind[SmokingStatus, *SmokingStatus]
	Prescriptions       *resource.Kind[Prescription, *Prescription]
	PDMPQueries         *resource.Kind[PDMPQuery, *PDMPQuery]
	Orders              *resource.Kind[Order, *Order]
	ClinicalSummaries   *resource.Kind[ClinicalSummary, *ClinicalSummary]
	Transitions         *resource.Kind[Transition, *Transition]
	Reconciliations     *resource.Kind[Reconciliation, *Reconciliation]
	Availabilities      *resource.Kind[Availability, *Availability]
	AccessGrants        *resource.Kind[AccessGrant, *AccessGrant]
	VDTs                *resource.Kind[VDT, *VDT]
	PGHD                *resource.Kind[PGHD, *PGHD]
	RegistrySubmissions *resource.Kind[RegistrySubmission, *RegistrySubmission]
	Consents            *resource.Kind[Consent, *Consent]
	SharedRecords       *resource.Kind[SharedRecord, *SharedRecord]

	// Entity-level program facts.
	RegistryEngagements *resource.Kind[RegistryEngagement, *RegistryEngagement]
	Attestations        *resource.Kind[Attestation, *Attestation]
	PaymentInputs       *resource.Kind[PaymentInputs, *PaymentInputs]
}

// NewService returns the record over db. notify is called after every commit that
// wrote events; pass the outbox relay's Notify. The database must be migrated with
// Migrations.
func NewService(db *store.DB, notify func(), cfg Config) *Service {
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = DefaultDuplicateWindow
	}
	s := &Service{store: resource.NewStore(db, source, notify), cfg: cfg}
	s.defineDirectory()
	s.defineDevices()
	s.definePatients()
	s.defineClinical()
	s.definePrescribing()
	s.defineExchange()
	s.defineAccess()
	s.defineProgram()
	s.definePayment()
	s.defineSharing()
	return s
}

// Store is the service's write path, for the service's periodic upkeep.
func (s *Service) Store() *resource.Store { return s.store }

// Routes registers the JSON API on m: /v1/<kind> for every kind of resource, their
// actions, and the flows of orders and shared tablets. docs/records.md lists them.
func (s *Service) Routes(m *resource.Mux) {
	s.Organizations.Routes(m)
	s.Hospitals.Routes(m)
	s.Groups.Routes(m)
	s.Clinicians.Routes(m)
	s.Locations.Routes(m)
	s.Devices.Routes(m)

	s.Patients.Routes(m)
	s.Encounters.Routes(m)
	s.Problems.Routes(m)
	s.Allergies.Routes(m)
	s.Medications.Routes(m)
	s.Results.Routes(m)
	s.VitalSigns.Routes(m)
	s.SmokingStatuses.Routes(m)
	s.Prescriptions.Routes(m)
	s.PDMPQueries.Routes(m)
	s.Orders.ItemRoutes(m) // created through PlaceOrder, for the duplicate check
	s.ClinicalSummaries.Routes(m)
	s.Transitions.Routes(m)
	s.Reconciliations.Routes(m)
	s.Availabilities.Routes(m)
	s.AccessGrants.Routes(m)
	s.VDTs.Routes(m)
	s.PGHD.Routes(m)
	s.RegistrySubmissions.Routes(m)
	s.Consents.Routes(m)
	s.SharedRecords.Routes(m)
	s.RegistryEngagements.Routes(m)
	s.Attestations.Routes(m)
	s.PaymentInputs.Routes(m)

	s.prescriptionActions(m)
	s.transitionActions(m)
	s.orderRoutes(m)
	s.tabletRoutes(m)
}
