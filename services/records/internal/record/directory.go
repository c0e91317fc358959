package record

import (
	"context"
	"fmt"
	"slices"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Organization is an institution: a practice, health system, pharmacy, public health
// agency or registry, exchange, or another institution records are shared with.
type Organization struct {
	resource.Meta
	Name   string `json:"name"`
	Kind   string `json:"kind"`              // one of the contract.Organization* constants
	PartOf string `json:"part_of,omitempty"` // the parent organization's ID
}

var organizationKinds = []string{contract.OrganizationPractice, contract.OrganizationHealthSystem,
	contract.OrganizationPharmacy, contract.OrganizationPublicHealth, contract.OrganizationExchange,
	contract.OrganizationOther}

func (o *Organization) validate() error {
	return first(
		requiredText("name", o.Name),
		oneOf("kind", o.Kind, organizationKinds...),
		optionalID("part_of", o.PartOf),
	)
}

// Hospital is an eligible hospital or CAH, identified by its CCN.
type Hospital struct {
	resource.Meta
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	CCN            string `json:"ccn"`
	CriticalAccess bool   `json:"critical_access,omitempty"`
}

func (h *Hospital) validate() error {
	return first(
		requiredID("organization_id", h.OrganizationID),
		requiredText("name", h.Name),
		ccn("ccn", h.CCN, true),
	)
}

// Group is a group practice billing under one TIN.
type Group struct {
	resource.Meta
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	TIN            string `json:"tin"`
}

func (g *Group) validate() error {
	return first(
		requiredID("organization_id", g.OrganizationID),
		requiredText("name", g.Name),
		tin("tin", g.TIN, true),
	)
}

// Clinician is a clinician with an NPI and the TINs (groups) they bill under: one NPI,
// many TINs.
type Clinician struct {
	resource.Meta
	NPI        string   `json:"npi"`
	Name       Name     `json:"name"` // a clinician's name is not PHI, but has the shape of one
	Credential string   `json:"credential"`
	TINs       []string `json:"tins,omitempty"`
}

// Name is a clinician's or staff member's name.
type Name struct {
	Given  []string `json:"given,omitempty"`
	Family string   `json:"family"`
}

// credentials are the contract's Credential* constants.
var credentials = []string{contract.CredentialMD, contract.CredentialDO, contract.CredentialDDS,
	contract.CredentialDMD, contract.CredentialDPM, contract.CredentialOD, contract.CredentialDC,
	contract.CredentialNP, contract.CredentialPA, contract.CredentialCNM, contract.CredentialCRNA,
	contract.CredentialCNS, contract.CredentialRN, contract.CredentialLPN, contract.CredentialPharm,
	contract.CredentialCMA, contract.CredentialRMA, contract.CredentialMA, contract.CredentialOther}

func (c *Clinician) validate() error {
	err := first(
		npi("npi", c.NPI, true),
		requiredText("name.family", c.Name.Family),
		oneOf("credential", c.Credential, credentials...),
	)
	for i, t := range c.TINs {
		field := fmt.Sprintf("tins[%d]", i)
		err = first(err, tin(field, t, true))
		if slices.Index(c.TINs, t) != i {
			err = first(err, invalid(field, "listed twice"))
		}
	}
	return err
}

// Location is a place care is given: its place-of-service code and whether it is
// equipped with certified EHR technology decide which denominators its encounters
// enter.
type Location struct {
	resource.Meta
	OrganizationID string `json:"organization_id"`
	Name           string `json:"name"`
	POS            string `json:"pos"`
	CEHRT          bool   `json:"cehrt"`
	HospitalID     string `json:"hospital_id,omitempty"`
	TIN            string `json:"tin,omitempty"`
}

func (l *Location) validate() error {
	return first(
		requiredID("organization_id", l.OrganizationID),
		requiredText("name", l.Name),
		pos("pos", l.POS, true),
		optionalID("hospital_id", l.HospitalID),
		tin("tin", l.TIN, false),
	)
}

// defineDirectory defines the directory's kinds. Their events are keyed by their own
// IDs; a CCN, TIN or NPI belongs to one entry only.
func (s *Service) defineDirectory() {
	s.Organizations = resource.New(s.store, resource.Def[Organization]{
		Name: "organization", Path: "organizations", Table: "organizations", Topic: contract.TopicOrganization,
		Recorded: contract.OrganizationRecorded, Corrected: contract.OrganizationCorrected, Deleted: contract.OrganizationDeleted,
		Subject:  func(o *Organization) string { return o.ID },
		Validate: (*Organization).validate,
		Check: func(ctx context.Context, tx *resource.Tx, o *Organization) error {
			if o.PartOf != "" && o.PartOf == o.ID {
				return invalid("part_of", "an organization cannot be part of itself")
			}
			return s.Organizations.Require(ctx, tx, "part_of", o.PartOf, "")
		},
		Payload: func(o *Organization) any {
			return contract.Organization{OrganizationID: o.ID, Kind: o.Kind, PartOf: o.PartOf}
		},
		Ref: func(o *Organization) any { return contract.OrganizationRef{OrganizationID: o.ID} },
	})
	s.Hospitals = resource.New(s.store, resource.Def[Hospital]{
		Name: "hospital", Path: "hospitals", Table: "hospitals", Topic: contract.TopicHospital,
		Recorded: contract.HospitalRecorded, Corrected: contract.HospitalCorrected, Deleted: contract.HospitalDeleted,
		Subject: func(h *Hospital) string { return h.ID },
		Key:     func(h *Hospital) string { return h.CCN }, KeyField: "ccn",
		Validate: (*Hospital).validate,
		Check: func(ctx context.Context, tx *resource.Tx, h *Hospital) error {
			return s.Organizations.Require(ctx, tx, "organization_id", h.OrganizationID, "")
		},
		Payload: func(h *Hospital) any {
			return contract.Hospital{HospitalID: h.ID, OrganizationID: h.OrganizationID, CCN: h.CCN, CriticalAccess: h.CriticalAccess}
		},
		Ref: func(h *Hospital) any { return contract.HospitalRef{HospitalID: h.ID} },
	})
	s.Groups = resource.New(s.store, resource.Def[Group]{
		Name: "group", Path: "groups", Table: "practice_groups", Topic: contract.TopicGroup,
		Recorded: contract.GroupRecorded, Corrected: contract.GroupCorrected, Deleted: contract.GroupDeleted,
		Subject: func(g *Group) string { return g.ID },
		Key:     func(g *Group) string { return g.TIN }, KeyField: "tin",
		Validate: (*Group).validate,
		Check: func(ctx context.Context, tx *resource.Tx, g *Group) error {
			return s.Organizations.Require(ctx, tx, "organization_id", g.OrganizationID, "")
		},
		Payload: func(g *Group) any { return contract.Group{GroupID: g.ID, OrganizationID: g.OrganizationID, TIN: g.TIN} },
		Ref:     func(g *Group) any { return contract.GroupRef{GroupID: g.ID} },
	})
	s.Clinicians = resource.New(s.store, resource.Def[Clinician]{
		Name: "clinician", Path: "clinicians", Table: "clinicians", Topic: contract.TopicClinician,
		Recorded: contract.ClinicianRecorded, Corrected: contract.ClinicianCorrected, Deleted: contract.ClinicianDeleted,
		Subject: func(c *Clinician) string { return c.ID },
		Key:     func(c *Clinician) string { return c.NPI }, KeyField: "npi",
		Validate: (*Clinician).validate,
		Check: func(ctx context.Context, tx *resource.Tx, c *Clinician) error {
			for i, t := range c.TINs {
				if _, ok, err := s.Groups.ByKey(ctx, tx, t); err != nil || !ok {
					return orElse(err, unprocessable(fmt.Sprintf("tins[%d]", i), "no group has this TIN"))
				}
			}
			return nil
		},
		Payload: func(c *Clinician) any {
			return contract.Clinician{ClinicianID: c.ID, NPI: c.NPI, Credential: c.Credential, TINs: c.TINs}
		},
		Ref: func(c *Clinician) any { return contract.ClinicianRef{ClinicianID: c.ID} },
	})
	s.Locations = resource.New(s.store, resource.Def[Location]{
		Name: "location", Path: "locations", Table: "locations", Topic: contract.TopicLocation,
		Recorded: contract.LocationRecorded, Corrected: contract.LocationCorrected, Deleted: contract.LocationDeleted,
		Subject:  func(l *Location) string { return l.ID },
		Validate: (*Location).validate,
		Check: func(ctx context.Context, tx *resource.Tx, l *Location) error {
			return first(
				s.Organizations.Require(ctx, tx, "organization_id", l.OrganizationID, ""),
				s.Hospitals.Require(ctx, tx, "hospital_id", l.HospitalID, ""),
			)
		},
		Payload: func(l *Location) any {
			return contract.Location{LocationID: l.ID, OrganizationID: l.OrganizationID, POS: l.POS, CEHRT: l.CEHRT,
				HospitalID: l.HospitalID, TIN: l.TIN}
		},
		Ref: func(l *Location) any { return contract.LocationRef{LocationID: l.ID} },
	})
}
