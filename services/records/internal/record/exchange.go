package record

import (
	"context"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/services/records/internal/resource"
)

// ClinicalSummary is a clinical summary of an office visit provided to the patient.
type ClinicalSummary struct {
	resource.Meta
	PatientID   string    `json:"patient_id"`
	EncounterID string    `json:"encounter_id"`
	Provided    time.Time `json:"provided"`
	Method      string    `json:"method"`
	NPI         string    `json:"npi,omitempty"`
}

var summaryMethods = []string{contract.SummaryPortal, contract.SummaryElectronic, contract.SummaryPaper, contract.SummaryDeclined}

func (c *ClinicalSummary) validate() error {
	return first(
		requiredID("patient_id", c.PatientID),
		requiredID("encounter_id", c.EncounterID),
		requiredTime("provided", c.Provided),
		oneOf("method", c.Method, summaryMethods...),
		npi("npi", c.NPI, false),
	)
}

// Transition is a transition of care or a referral, going out or coming in, with the
// steps of its summary of care. The steps are set at creation or, later, by the
// transition's actions; each step of one direction is refused on the other.
type Transition struct {
	resource.Meta
	PatientID   string         `json:"patient_id"`
	Direction   string         `json:"direction"`
	Kind        string         `json:"kind"`
	Occurred    time.Time      `json:"occurred"`
	EncounterID string         `json:"encounter_id,omitempty"`
	Sender      contract.Party `json:"sender"`
	Receiver    contract.Party `json:"receiver"`

	SummaryCreated   *time.Time                `json:"summary_created,omitempty"`
	Contents         *contract.SummaryContents `json:"contents,omitempty"`
	Sent             *time.Time                `json:"sent,omitempty"`
	Transport        string                    `json:"transport,omitempty"`
	ReceiptConfirmed *time.Time                `json:"receipt_confirmed,omitempty"`

	Received     *time.Time `json:"received,omitempty"`
	Requested    *time.Time `json:"requested,omitempty"`
	Unavailable  bool       `json:"unavailable,omitempty"`
	Incorporated *time.Time `json:"incorporated,omitempty"`
}

var (
	directions      = []string{contract.TransitionOut, contract.TransitionIn}
	transitionKinds = []string{contract.TransitionOfCare, contract.TransitionReferral}
	transports      = []string{contract.TransportDirect, contract.TransportHIE, contract.TransportEHealthExchange,
		contract.TransportTEFCA, contract.TransportFHIR, contract.TransportOtherElectronic, contract.TransportPaper,
		contract.TransportFax}
	contents = []string{contract.ContentPresent, contract.ContentNone, contract.ContentMissing}
)

func party(field string, p contract.Party) error {
	if p.NPI == "" && p.CCN == "" && p.OrganizationID == "" {
		return invalid(field, "needs an npi, a ccn or an organization_id")
	}
	return first(
		npi(field+".npi", p.NPI, false),
		ccn(field+".ccn", p.CCN, false),
		tin(field+".tin", p.TIN, false),
		optionalID(field+".organization_id", p.OrganizationID),
	)
}

func summaryContents(field string, c *contract.SummaryContents) error {
	return first(
		oneOf(sub(field, "problems"), c.Problems, contents...),
		oneOf(sub(field, "medications"), c.Medications, contents...),
		oneOf(sub(field, "allergies"), c.Allergies, contents...),
	)
}

func (t *Transition) validate() error {
	err := first(
		requiredID("patient_id", t.PatientID),
		oneOf("direction", t.Direction, directions...),
		oneOf("kind", t.Kind, transitionKinds...),
		requiredTime("occurred", t.Occurred),
		optionalID("encounter_id", t.EncounterID),
		party("sender", t.Sender),
		party("receiver", t.Receiver),
	)
	switch {
	case err != nil:
		return err
	case t.Sender == t.Receiver:
		return invalid("receiver", "the same as the sender")
	case t.Direction == contract.TransitionOut:
		return t.validateOut()
	}
	return t.validateIn()
}

// validateOut checks the steps of a transition out: summary created (with what it
// holds), sent (with the transport), receipt confirmed, in that order.
func (t *Transition) validateOut() error {
	switch {
	case t.Received != nil:
		return invalid("received", "only for a transition in")
	case t.Requested != nil || t.Unavailable:
		return invalid("requested", "only for a transition in")
	case t.Incorporated != nil:
		return invalid("incorporated", "only for a transition in")
	case (t.SummaryCreated == nil) != (t.Contents == nil):
		return invalid("contents", "given with summary_created, and only then")
	case t.Contents != nil:
		if err := summaryContents("contents", t.Contents); err != nil {
			return err
		}
	}
	switch {
	case t.Sent != nil && t.SummaryCreated == nil:
		return invalid("sent", "the summary of care must be created first")
	case (t.Sent == nil) != (t.Transport == ""):
		return invalid("transport", "given with sent, and only then")
	case t.Sent != nil:
		if err := first(oneOf("transport", t.Transport, transports...),
			notBefore("sent", t.Sent, "summary_created", *t.SummaryCreated)); err != nil {
			return err
		}
	}
	switch {
	case t.ReceiptConfirmed != nil && t.Sent == nil:
		return invalid("receipt_confirmed", "the summary of care must be sent first")
	case t.ReceiptConfirmed != nil:
		return notBefore("receipt_confirmed", t.ReceiptConfirmed, "sent", *t.Sent)
	}
	return nil
}

// validateIn checks the steps of a transition in: summary requested (or found
// unavailable), received, incorporated.
func (t *Transition) validateIn() error {
	switch {
	case t.SummaryCreated != nil || t.Contents != nil:
		return invalid("summary_created", "only for a transition out")
	case t.Sent != nil || t.Transport != "":
		return invalid("sent", "only for a transition out")
	case t.ReceiptConfirmed != nil:
		return invalid("receipt_confirmed", "only for a transition out")
	case t.Unavailable && t.Requested == nil:
		return invalid("unavailable", "a summary is found unavailable after a request")
	case t.Unavailable && t.Received != nil:
		return invalid("unavailable", "a summary was received")
	case t.Incorporated != nil && t.Received == nil:
		return invalid("incorporated", "the summary of care must be received first")
	case t.Incorporated != nil:
		return notBefore("incorporated", t.Incorporated, "received", *t.Received)
	}
	return nil
}

func (t *Transition) contract() contract.Transition {
	return contract.Transition{
		TransitionID: t.ID, PatientID: t.PatientID, Direction: t.Direction, Kind: t.Kind, Occurred: t.Occurred.UTC(),
		EncounterID: t.EncounterID, Sender: t.Sender, Receiver: t.Receiver,
		SummaryCreated: utc(t.SummaryCreated), Contents: t.Contents, Sent: utc(t.Sent), Transport: t.Transport,
		ReceiptConfirmed: utc(t.ReceiptConfirmed), Received: utc(t.Received), Requested: utc(t.Requested),
		Unavailable: t.Unavailable, Incorporated: utc(t.Incorporated),
	}
}

// Reconciliation is a clinical information reconciliation of medications, medication
// allergies and problems, for a transition in or a new patient's encounter.
type Reconciliation struct {
	resource.Meta
	PatientID    string     `json:"patient_id"`
	TransitionID string     `json:"transition_id,omitempty"`
	EncounterID  string     `json:"encounter_id,omitempty"`
	Medications  *time.Time `json:"medications,omitempty"`
	Allergies    *time.Time `json:"allergies,omitempty"`
	Problems     *time.Time `json:"problems,omitempty"`
	NPI          string     `json:"npi,omitempty"`
	CCN          string     `json:"ccn,omitempty"`
}

func (r *Reconciliation) validate() error {
	err := first(
		requiredID("patient_id", r.PatientID),
		optionalID("transition_id", r.TransitionID),
		optionalID("encounter_id", r.EncounterID),
		npi("npi", r.NPI, false),
		ccn("ccn", r.CCN, false),
	)
	switch {
	case err != nil:
	case r.Medications == nil && r.Allergies == nil && r.Problems == nil:
		err = invalid("medications", "reconcile at least one of medications, allergies, problems")
	case r.TransitionID == "" && r.EncounterID == "":
		err = invalid("transition_id", "name the transition in, or the new patient's encounter")
	}
	return err
}

// at is when the reconciliation finished: its latest component.
func (r *Reconciliation) at() time.Time {
	var last time.Time
	for _, t := range []*time.Time{r.Medications, r.Allergies, r.Problems} {
		if t != nil && t.After(last) {
			last = *t
		}
	}
	return last
}

// defineExchange defines clinical summaries, transitions and reconciliations.
func (s *Service) defineExchange() {
	s.ClinicalSummaries = resource.New(s.store, resource.Def[ClinicalSummary]{
		Name: "clinical summary", Path: "clinical-summaries", Table: "clinical_summaries", Topic: contract.TopicClinicalSummary,
		Recorded: contract.ClinicalSummaryRecorded, Corrected: contract.ClinicalSummaryCorrected, Deleted: contract.ClinicalSummaryDeleted,
		Subject: func(c *ClinicalSummary) string { return c.PatientID }, SubjectField: "patient_id",
		At:       func(c *ClinicalSummary) time.Time { return c.Provided },
		Validate: (*ClinicalSummary).validate,
		Check: func(ctx context.Context, tx *resource.Tx, c *ClinicalSummary) error {
			if err := s.patientRefs(ctx, tx, c.PatientID, c.EncounterID); err != nil {
				return err
			}
			e, err := s.Encounters.Load(ctx, tx, c.EncounterID)
			if err != nil {
				return err
			}
			if c.Provided.Before(e.Start) {
				return unprocessable("provided", "before the encounter began")
			}
			return nil
		},
		Payload: func(c *ClinicalSummary) any {
			return contract.ClinicalSummary{ClinicalSummaryID: c.ID, PatientID: c.PatientID, EncounterID: c.EncounterID,
				Provided: c.Provided.UTC(), Method: c.Method, NPI: c.NPI}
		},
		Ref: func(c *ClinicalSummary) any {
			return contract.ClinicalSummaryRef{ClinicalSummaryID: c.ID, PatientID: c.PatientID}
		},
	})
	s.Transitions = resource.New(s.store, resource.Def[Transition]{
		Name: "transition", Path: "transitions", Table: "transitions", Topic: contract.TopicTransition,
		Recorded: contract.TransitionRecorded, Corrected: contract.TransitionCorrected, Deleted: contract.TransitionDeleted,
		Subject: func(t *Transition) string { return t.PatientID }, SubjectField: "patient_id",
		At:       func(t *Transition) time.Time { return t.Occurred },
		Validate: (*Transition).validate,
		Check: func(ctx context.Context, tx *resource.Tx, t *Transition) error {
			return first(
				s.patientRefs(ctx, tx, t.PatientID, t.EncounterID),
				s.Organizations.Require(ctx, tx, "sender.organization_id", t.Sender.OrganizationID, ""),
				s.Organizations.Require(ctx, tx, "receiver.organization_id", t.Receiver.OrganizationID, ""),
			)
		},
		Payload: func(t *Transition) any { return t.contract() },
		Ref:     func(t *Transition) any { return contract.TransitionRef{TransitionID: t.ID, PatientID: t.PatientID} },
	})
	s.Reconciliations = resource.New(s.store, resource.Def[Reconciliation]{
		Name: "reconciliation", Path: "reconciliations", Table: "reconciliations", Topic: contract.TopicReconciliation,
		Recorded: contract.ReconciliationRecorded, Corrected: contract.ReconciliationCorrected, Deleted: contract.ReconciliationDeleted,
		Subject: func(r *Reconciliation) string { return r.PatientID }, SubjectField: "patient_id",
		At:       (*Reconciliation).at,
		Validate: (*Reconciliation).validate,
		Check:    s.checkReconciliation,
		Payload: func(r *Reconciliation) any {
			return contract.Reconciliation{ReconciliationID: r.ID, PatientID: r.PatientID, TransitionID: r.TransitionID,
				EncounterID: r.EncounterID, Medications: utc(r.Medications), Allergies: utc(r.Allergies),
				Problems: utc(r.Problems), NPI: r.NPI, CCN: r.CCN}
		},
		Ref: func(r *Reconciliation) any {
			return contract.ReconciliationRef{ReconciliationID: r.ID, PatientID: r.PatientID}
		},
	})
}

// checkReconciliation resolves the patient, the encounter and the transition, which
// must be one coming in.
func (s *Service) checkReconciliation(ctx context.Context, tx *resource.Tx, r *Reconciliation) error {
	if err := first(s.patientRefs(ctx, tx, r.PatientID, r.EncounterID),
		s.Transitions.Require(ctx, tx, "transition_id", r.TransitionID, r.PatientID)); err != nil || r.TransitionID == "" {
		return err
	}
	t, err := s.Transitions.Load(ctx, tx, r.TransitionID)
	if err != nil {
		return err
	}
	if t.Direction != contract.TransitionIn {
		return unprocessable("transition_id", "reconciliation follows a transition in; this one goes out")
	}
	return nil
}

// The bodies of the transition actions.
type (
	// SummaryStep creates the summary of care of a transition out.
	SummaryStep struct {
		Created  time.Time                `json:"created"`
		Contents contract.SummaryContents `json:"contents"`
	}
	// SendStep sends it.
	SendStep struct {
		Sent      time.Time `json:"sent"`
		Transport string    `json:"transport"`
	}
	// ConfirmStep records that the receiver confirmed receipt.
	ConfirmStep struct {
		Confirmed time.Time `json:"confirmed"`
	}
	// ReceiveStep records the arrival of an electronic summary of care for a transition in.
	ReceiveStep struct {
		Received time.Time `json:"received"`
	}
	// RequestStep records a request for it, and whether none was available.
	RequestStep struct {
		Requested   time.Time `json:"requested"`
		Unavailable bool      `json:"unavailable,omitempty"`
	}
	// IncorporateStep records its incorporation into the record.
	IncorporateStep struct {
		Incorporated time.Time `json:"incorporated"`
	}
)

// transitionActions registers the steps of a transition's summary of care, each a
// POST /v1/transitions/{id}/<step> publishing its own event type:
//
//	out: summarize (records.transition.summarized), transmit (…transmitted), confirm-receipt (…confirmed)
//	in:  receive (…received), request (…requested), incorporate (…incorporated)
func (s *Service) transitionActions(m *resource.Mux) {
	resource.Action(m, s.Transitions, "summarize",
		func(_ context.Context, _ *resource.Tx, t *Transition, in SummaryStep) (string, time.Time, error) {
			if err := first(goingOut(t), requiredTime("created", in.Created), summaryContents("contents", &in.Contents)); err != nil {
				return "", time.Time{}, err
			}
			t.SummaryCreated, t.Contents = &in.Created, &in.Contents
			return contract.TransitionSummarized, in.Created, nil
		})
	resource.Action(m, s.Transitions, "transmit",
		func(_ context.Context, _ *resource.Tx, t *Transition, in SendStep) (string, time.Time, error) {
			if err := first(goingOut(t), requiredTime("sent", in.Sent), oneOf("transport", in.Transport, transports...)); err != nil {
				return "", time.Time{}, err
			}
			if t.SummaryCreated == nil {
				return "", time.Time{}, unprocessable("sent", "the summary of care must be created first (summarize)")
			}
			t.Sent, t.Transport = &in.Sent, in.Transport
			return contract.TransitionTransmitted, in.Sent, nil
		})
	resource.Action(m, s.Transitions, "confirm-receipt",
		func(_ context.Context, _ *resource.Tx, t *Transition, in ConfirmStep) (string, time.Time, error) {
			if err := first(goingOut(t), requiredTime("confirmed", in.Confirmed)); err != nil {
				return "", time.Time{}, err
			}
			if t.Sent == nil {
				return "", time.Time{}, unprocessable("confirmed", "the summary of care must be sent first (transmit)")
			}
			t.ReceiptConfirmed = &in.Confirmed
			return contract.TransitionConfirmed, in.Confirmed, nil
		})
	resource.Action(m, s.Transitions, "receive",
		func(_ context.Context, _ *resource.Tx, t *Transition, in ReceiveStep) (string, time.Time, error) {
			if err := first(comingIn(t), requiredTime("received", in.Received)); err != nil {
				return "", time.Time{}, err
			}
			t.Received, t.Unavailable = &in.Received, false
			return contract.TransitionReceived, in.Received, nil
		})
	resource.Action(m, s.Transitions, "request",
		func(_ context.Context, _ *resource.Tx, t *Transition, in RequestStep) (string, time.Time, error) {
			if err := first(comingIn(t), requiredTime("requested", in.Requested)); err != nil {
				return "", time.Time{}, err
			}
			if in.Unavailable && t.Received != nil {
				return "", time.Time{}, unprocessable("unavailable", "a summary of care was received")
			}
			t.Requested, t.Unavailable = &in.Requested, in.Unavailable
			return contract.TransitionRequested, in.Requested, nil
		})
	resource.Action(m, s.Transitions, "incorporate",
		func(_ context.Context, _ *resource.Tx, t *Transition, in IncorporateStep) (string, time.Time, error) {
			if err := first(comingIn(t), requiredTime("incorporated", in.Incorporated)); err != nil {
				return "", time.Time{}, err
			}
			if t.Received == nil {
				return "", time.Time{}, unprocessable("incorporated", "the summary of care must be received first (receive)")
			}
			t.Incorporated = &in.Incorporated
			return contract.TransitionIncorporated, in.Incorporated, nil
		})
}

func goingOut(t *Transition) error {
	if t.Direction != contract.TransitionOut {
		return unprocessable("direction", "a step of a transition out; this one comes in")
	}
	return nil
}

func comingIn(t *Transition) error {
	if t.Direction != contract.TransitionIn {
		return unprocessable("direction", "a step of a transition in; this one goes out")
	}
	return nil
}
