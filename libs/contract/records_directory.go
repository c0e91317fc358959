package contract

// Directory topics: the organizations, hospitals, groups, clinicians and locations the
// measures are reported for. Each is keyed by the entity's own ID.
const (
	TopicOrganization = "records.organization.v1"
	TopicHospital     = "records.hospital.v1"
	TopicGroup        = "records.group.v1"
	TopicClinician    = "records.clinician.v1"
	TopicLocation     = "records.location.v1"
)

// Directory event types.
const (
	OrganizationRecorded  = "records.organization.recorded"
	OrganizationCorrected = "records.organization.corrected"
	OrganizationDeleted   = "records.organization.deleted"

	HospitalRecorded  = "records.hospital.recorded"
	HospitalCorrected = "records.hospital.corrected"
	HospitalDeleted   = "records.hospital.deleted"

	GroupRecorded  = "records.group.recorded"
	GroupCorrected = "records.group.corrected"
	GroupDeleted   = "records.group.deleted"

	ClinicianRecorded  = "records.clinician.recorded"
	ClinicianCorrected = "records.clinician.corrected"
	ClinicianDeleted   = "records.clinician.deleted"

	LocationRecorded  = "records.location.recorded"
	LocationCorrected = "records.location.corrected"
	LocationDeleted   = "records.location.deleted"
)

// Organization kinds.
const (
	OrganizationPractice     = "practice"      // a clinic or practice
	OrganizationHealthSystem = "health-system" // owns hospitals and practices
	OrganizationPharmacy     = "pharmacy"
	OrganizationPublicHealth = "public-health" // a public health agency or registry
	OrganizationExchange     = "exchange"      // a health information exchange or network
	OrganizationOther        = "other"         // any other institution, e.g. one records are shared with
)

// Organization is an institution: a practice, a health system, a pharmacy, a public
// health agency. Its name stays in records.
type Organization struct {
	OrganizationID string `json:"organization_id"`
	Kind           string `json:"kind"`              // one of the Organization* constants
	PartOf         string `json:"part_of,omitempty"` // the parent organization's ID
}

// Hospital is an eligible hospital or critical access hospital, the reporting entity
// of the hospital measures.
type Hospital struct {
	HospitalID     string `json:"hospital_id"`
	OrganizationID string `json:"organization_id"`
	CCN            string `json:"ccn"`                       // CMS Certification Number
	CriticalAccess bool   `json:"critical_access,omitempty"` // a CAH rather than a subsection (d) hospital
}

// Group is a group practice billing under one TIN, the reporting entity of MIPS group
// reporting.
type Group struct {
	GroupID        string `json:"group_id"`
	OrganizationID string `json:"organization_id"`
	TIN            string `json:"tin"`
}

// Clinician credentials. CPOE counts an order entered by a licensed professional or
// a credentialed medical assistant (CMA, RMA); consumers decide which count.
const (
	CredentialMD    = "MD"
	CredentialDO    = "DO"
	CredentialDDS   = "DDS"
	CredentialDMD   = "DMD"
	CredentialDPM   = "DPM" // podiatrist
	CredentialOD    = "OD"  // optometrist
	CredentialDC    = "DC"  // chiropractor
	CredentialNP    = "NP"
	CredentialPA    = "PA"
	CredentialCNM   = "CNM"  // certified nurse-midwife
	CredentialCRNA  = "CRNA" // certified registered nurse anesthetist
	CredentialCNS   = "CNS"  // clinical nurse specialist
	CredentialRN    = "RN"
	CredentialLPN   = "LPN"
	CredentialPharm = "PharmD"
	CredentialCMA   = "CMA" // certified medical assistant
	CredentialRMA   = "RMA" // registered medical assistant
	CredentialMA    = "MA"  // medical assistant without a credential
	CredentialOther = "other"
)

// Clinician is a clinician with an NPI. One NPI may bill under many TINs: TINs lists
// them, so numerator actions can have their transitive effect across the clinician's
// groups (spec §2.4).
type Clinician struct {
	ClinicianID string   `json:"clinician_id"`
	NPI         string   `json:"npi"`
	Credential  string   `json:"credential"`     // one of the Credential* constants
	TINs        []string `json:"tins,omitempty"` // the groups the clinician bills under
}

// Location is a place care is given, with its CMS place-of-service code and whether it
// is equipped with certified EHR technology (CEHRT).
type Location struct {
	LocationID     string `json:"location_id"`
	OrganizationID string `json:"organization_id"`
	POS            string `json:"pos"`   // CMS place-of-service code: "11" office, "21" inpatient, "23" ED, "02" telehealth, ...
	CEHRT          bool   `json:"cehrt"` // equipped with certified EHR technology
	HospitalID     string `json:"hospital_id,omitempty"`
	TIN            string `json:"tin,omitempty"` // the group that bills for care given here, if one
}

// OrganizationRef, HospitalRef, GroupRef, ClinicianRef and LocationRef name a deleted
// directory entry.
type (
	OrganizationRef struct {
		OrganizationID string `json:"organization_id"`
	}
	HospitalRef struct {
		HospitalID string `json:"hospital_id"`
	}
	GroupRef struct {
		GroupID string `json:"group_id"`
	}
	ClinicianRef struct {
		ClinicianID string `json:"clinician_id"`
	}
	LocationRef struct {
		LocationID string `json:"location_id"`
	}
)

// directoryCatalog lists the events about reporting entities.
var directoryCatalog = []Spec{
	{OrganizationRecorded, TopicOrganization, "records", "organization ID", Organization{}, "An organization was added to the directory."},
	{OrganizationCorrected, TopicOrganization, "records", "organization ID", Organization{},
		"An organization changed; the payload replaces the previous one."},
	{OrganizationDeleted, TopicOrganization, "records", "organization ID", OrganizationRef{}, "An organization was removed."},
	{HospitalRecorded, TopicHospital, "records", "hospital ID", Hospital{}, "A hospital (CCN) was added to the directory."},
	{HospitalCorrected, TopicHospital, "records", "hospital ID", Hospital{}, "A hospital changed; the payload replaces the previous one."},
	{HospitalDeleted, TopicHospital, "records", "hospital ID", HospitalRef{}, "A hospital was removed."},
	{GroupRecorded, TopicGroup, "records", "group ID", Group{}, "A group practice (TIN) was added to the directory."},
	{GroupCorrected, TopicGroup, "records", "group ID", Group{}, "A group changed; the payload replaces the previous one."},
	{GroupDeleted, TopicGroup, "records", "group ID", GroupRef{}, "A group was removed."},
	{ClinicianRecorded, TopicClinician, "records", "clinician ID", Clinician{},
		"A clinician (NPI) was added to the directory, with the TINs they bill under."},
	{ClinicianCorrected, TopicClinician, "records", "clinician ID", Clinician{},
		"A clinician changed (credential, TINs); the payload replaces the previous one."},
	{ClinicianDeleted, TopicClinician, "records", "clinician ID", ClinicianRef{}, "A clinician was removed."},
	{LocationRecorded, TopicLocation, "records", "location ID", Location{},
		"A location was added, with its place-of-service code and whether it is CEHRT-equipped."},
	{LocationCorrected, TopicLocation, "records", "location ID", Location{},
		"A location changed; the payload replaces the previous one."},
	{LocationDeleted, TopicLocation, "records", "location ID", LocationRef{}, "A location was removed."},
}
