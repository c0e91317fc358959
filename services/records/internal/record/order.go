package record

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// Order is a medication, laboratory or diagnostic imaging order, with how it was
// entered (CPOE or not) and by whom.
type Order struct {
	resource.Meta
	PatientID           string        `json:"patient_id"`
	Category            string        `json:"category"`
	Code                contract.Code `json:"code"`
	Ordered             time.Time     `json:"ordered"`
	NPI                 string        `json:"npi"`
	TIN                 string        `json:"tin,omitempty"`
	CCN                 string        `json:"ccn,omitempty"`
	EncounterID         string        `json:"encounter_id,omitempty"`
	EntryMethod         string        `json:"entry_method"`
	EnteredBy           string        `json:"entered_by"`
	EnteredByCredential string        `json:"entered_by_credential"`
	Modality            string        `json:"modality,omitempty"`  // imaging: DICOM modality code
	BodySite            string        `json:"body_site,omitempty"` // imaging: SNOMED CT body structure
	// DuplicateOf is set by the service when an imaging order was placed although a
	// recent shared study covers it (allow_duplicate). Read-only.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

var (
	orderCategories = []string{contract.OrderMedication, contract.OrderLaboratory, contract.OrderImaging}
	entryMethods    = []string{contract.EntryCPOE, contract.EntryPaper, contract.EntryVerbal, contract.EntryPhone, contract.EntryOther}
	// orderSystems are the code systems of each category's orders.
	orderSystems = map[string][]string{
		contract.OrderMedication: {contract.SystemRxNorm},
		contract.OrderLaboratory: {contract.SystemLOINC, contract.SystemCPT, contract.SystemSNOMED},
		contract.OrderImaging:    {contract.SystemCPT, contract.SystemLOINC, contract.SystemSNOMED},
	}
)

func (o *Order) validate() error {
	err := first(
		requiredID("patient_id", o.PatientID),
		oneOf("category", o.Category, orderCategories...),
	)
	if err != nil {
		return err
	}
	imaging := o.Category == contract.OrderImaging
	err = first(
		code("code", o.Code, orderSystems[o.Category]...),
		requiredTime("ordered", o.Ordered),
		npi("npi", o.NPI, true),
		tin("tin", o.TIN, false),
		ccn("ccn", o.CCN, false),
		optionalID("encounter_id", o.EncounterID),
		oneOf("entry_method", o.EntryMethod, entryMethods...),
		requiredID("entered_by", o.EnteredBy),
		oneOf("entered_by_credential", o.EnteredByCredential, credentials...),
		modality("modality", o.Modality, imaging),
		bodySite("body_site", o.BodySite, imaging),
		optionalID("duplicate_of", o.DuplicateOf),
	)
	switch {
	case err != nil:
	case !imaging && o.Modality != "":
		err = invalid("modality", "only for imaging orders")
	case !imaging && o.BodySite != "":
		err = invalid("body_site", "only for imaging orders")
	}
	return err
}

func (o *Order) contract() contract.Order {
	return contract.Order{
		OrderID: o.ID, PatientID: o.PatientID, Category: o.Category, Code: o.Code, Ordered: o.Ordered.UTC(),
		NPI: o.NPI, TIN: o.TIN, CCN: o.CCN, EncounterID: o.EncounterID, EntryMethod: o.EntryMethod,
		EnteredBy: o.EnteredBy, EnteredByCredential: o.EnteredByCredential, Modality: o.Modality,
		BodySite: o.BodySite, DuplicateOf: o.DuplicateOf,
	}
}

func (s *Service) defineOrders() {
	s.Orders = resource.New(s.store, resource.Def[Order]{
		Name: "order", Path: "orders", Table: "orders", Topic: contract.TopicOrder,
		Recorded: contract.OrderRecorded, Corrected: contract.OrderCorrected, Deleted: contract.OrderDeleted,
		Subject: func(o *Order) string { return o.PatientID }, SubjectField: "patient_id",
		At:       func(o *Order) time.Time { return o.Ordered },
		Validate: (*Order).validate,
		Refs: func(o *Order, ref func(string, string)) {
			s.factRefs(o.PatientID, o.EncounterID, ref)
			ref(s.SharedRecords.Table, o.DuplicateOf)
		},
		Check: func(ctx context.Context, tx *resource.Tx, o *Order) error {
			return first(
				s.patientRefs(ctx, tx, o.PatientID, o.EncounterID),
				s.SharedRecords.Require(ctx, tx, "duplicate_of", o.DuplicateOf, o.PatientID),
			)
		},
		Payload: func(o *Order) any { return o.contract() },
		Ref:     func(o *Order) any { return contract.OrderRef{OrderID: o.ID, PatientID: o.PatientID} },
	})
}

// OrderRequest is an order as posted: the order and whether to place it even when a
// recent shared study duplicates it.
type OrderRequest struct {
	Order
	AllowDuplicate bool `json:"allow_duplicate,omitempty"`
}

// Avoided is the answer to an imaging order that was not placed: a study of the same
// modality and body site, shared by another institution under the patient's consent,
// was performed within the duplicate window before it.
type Avoided struct {
	Placed    bool      `json:"placed"` // always false
	Duplicate Duplicate `json:"duplicate"`
}

// Duplicate describes an avoided duplicate study and the study that made it one.
type Duplicate struct {
	ID             string    `json:"id"` // the duplicate_id of the records.duplicate-study.avoided event
	SharedRecordID string    `json:"shared_record_id"`
	SourceID       string    `json:"source_id"`
	Modality       string    `json:"modality"`
	BodySite       string    `json:"body_site"`
	Performed      time.Time `json:"performed"`
}

// orderRoutes registers POST /v1/orders: 201 with the order placed, or 200 with an
// Avoided when it duplicates a recent shared study (unless allow_duplicate).
func (s *Service) orderRoutes(m *resource.Mux) {
	m.Handle("POST /v1/orders", resource.Document(resource.Op{ID: "orders.place", Summary: "Place an order",
		Request: resource.TypeOf[OrderRequest](), Idempotent: true,
		Responses: map[int]reflect.Type{http.StatusCreated: resource.TypeOf[Order]()},
		OneOf:     map[int][]reflect.Type{http.StatusOK: {resource.TypeOf[Order](), resource.TypeOf[Avoided]()}}},
		resource.Idempotent(resource.Handler(m.Log(), resource.Body[OrderRequest], s.placeOrder), m.Log())))
}

// PlaceOrder places an order and publishes records.order.recorded, unless it is an
// imaging order a recent consented shared study duplicates: then nothing is placed,
// records.duplicate-study.avoided is published and the Avoided says why. With
// AllowDuplicate the order is placed anyway, naming the study in DuplicateOf. A retry
// of an order already placed (same ID and content) is answered as placed.
func (s *Service) PlaceOrder(ctx context.Context, req OrderRequest) (Order, *Avoided, error) {
	r, err := s.placeOrder(ctx, req)
	if err != nil {
		return Order{}, nil, err
	}
	var probe struct {
		Placed *bool `json:"placed"`
	}
	if err := json.Unmarshal(r.Body, &probe); err != nil {
		return Order{}, nil, fmt.Errorf("decode order reply: %w", err)
	}
	if probe.Placed != nil {
		var a Avoided
		return Order{}, &a, json.Unmarshal(r.Body, &a)
	}
	var o Order
	return o, nil, json.Unmarshal(r.Body, &o)
}

func (s *Service) placeOrder(ctx context.Context, req OrderRequest) (resource.Reply, error) {
	return s.store.Write(ctx, func(tx *resource.Tx) (resource.Reply, error) {
		o, avoided, created, err := s.PlaceOrderIn(ctx, tx, req)
		switch {
		case err != nil:
			return resource.Reply{}, err
		case avoided != nil:
			return resource.JSON(http.StatusOK, avoided)
		}
		return resource.Created(created, &o)
	})
}

// PlaceOrderIn is PlaceOrder in tx, for flows that write more than one thing in a
// transaction (a FHIR Bundle): the order placed (created false for an idempotent
// retry), or the Avoided duplicate, whose event it published in tx.
func (s *Service) PlaceOrderIn(ctx context.Context, tx *resource.Tx, req OrderRequest) (Order, *Avoided, bool, error) {
	o := req.Order
	o.DuplicateOf = ""
	if o.Category == contract.OrderImaging {
		if err := s.Orders.Verify(ctx, tx, &o); err != nil {
			return Order{}, nil, false, err
		}
		placed, err := s.Orders.Exists(ctx, tx, o.ID)
		if err != nil {
			return Order{}, nil, false, err
		}
		study, found, err := s.duplicateStudy(ctx, tx, &o)
		switch {
		case err != nil:
			return Order{}, nil, false, err
		case found && !placed && !req.AllowDuplicate:
			a, err := s.avoid(ctx, tx, &o, study)
			return Order{}, a, false, err
		case found && req.AllowDuplicate:
			o.DuplicateOf = study.ID
		}
	}
	o, created, err := s.Orders.Insert(ctx, tx, o)
	return o, nil, created, err
}

// avoid publishes the avoided duplicate and describes it.
func (s *Service) avoid(ctx context.Context, tx *resource.Tx, o *Order, study SharedRecord) (*Avoided, error) {
	d := Duplicate{ID: resource.NewID(), SharedRecordID: study.ID, SourceID: study.SourceID,
		Modality: study.Modality, BodySite: study.BodySite, Performed: study.Performed}
	err := tx.Publish(ctx, contract.TopicDuplicateStudy, contract.DuplicateStudyAvoided, o.PatientID, o.Ordered.UTC(),
		contract.DuplicateStudy{DuplicateID: d.ID, PatientID: o.PatientID, SharedRecordID: study.ID, Modality: o.Modality,
			BodySite: o.BodySite, Code: o.Code, Ordered: o.Ordered.UTC(), NPI: o.NPI})
	if err != nil {
		return nil, err
	}
	return &Avoided{Placed: false, Duplicate: d}, nil
}

// duplicateStudy finds the most recent imaging study shared under a consent that
// permits it now, of the order's modality and body site, performed within the
// duplicate window before the order.
func (s *Service) duplicateStudy(ctx context.Context, tx *resource.Tx, o *Order) (SharedRecord, bool, error) {
	shared, err := s.SharedRecords.OfSubject(ctx, tx, o.PatientID)
	if err != nil {
		return SharedRecord{}, false, err
	}
	var (
		best  SharedRecord
		found bool
	)
	for _, r := range shared {
		age := o.Ordered.Sub(r.Performed)
		if r.Kind != contract.SharedImagingStudy || r.Modality != o.Modality || r.BodySite != o.BodySite ||
			age < 0 || age > s.cfg.DuplicateWindow || (found && !r.Performed.After(best.Performed)) {
			continue
		}
		if _, ok, err := s.permitting(ctx, tx, r.PatientID, r.SourceID, tx.Now); err != nil || !ok {
			if err != nil {
				return SharedRecord{}, false, err
			}
			continue
		}
		best, found = r, true
	}
	return best, found, nil
}
