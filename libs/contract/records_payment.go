package contract

// TopicPaymentInputs carries the owner-entered figures the EHR incentive payments are
// computed from (docs/payments.md): one entry per reporting entity and year, keyed by
// the entity ("kind:id"). They are cost-report and claims figures no event of the
// record yields, so the entity's owner enters them.
const TopicPaymentInputs = "records.payment-inputs.v1"

// Event types of payment inputs.
const (
	PaymentInputsRecorded  = "records.payment-inputs.recorded"
	PaymentInputsCorrected = "records.payment-inputs.corrected"
	PaymentInputsDeleted   = "records.payment-inputs.deleted"
)

// Incentive programs an eligible professional is paid under (an EP chooses one).
const (
	IncentiveMedicare = "medicare"
	IncentiveMedicaid = "medicaid"
)

// PaymentInputs are one reporting entity's incentive-payment figures for one payment
// year: the calendar year for a professional (npi), the federal fiscal year for a
// hospital or CAH (ccn). Amounts are integer cents. Every figure is optional: a
// payment whose figures are missing is not computed, and the report says which are
// missing.
type PaymentInputs struct {
	PaymentInputsID string `json:"payment_inputs_id"`
	Entity          Entity `json:"entity"` // the professional (npi) or hospital (ccn)
	Year            int    `json:"year"`   // the payment year the figures are for
	PaymentFigures
}

// PaymentFigures are the figures of PaymentInputs (records' API takes them inline).
type PaymentFigures struct {
	// Program is the incentive program a professional is paid under: IncentiveMedicare
	// or IncentiveMedicaid. Hospitals: IncentiveMedicare (the Medicare formula).
	Program string `json:"program"`
	// FirstPaymentYear is the year of the entity's first incentive payment (it picks
	// the Medicare EP caps, the hospital transition factor, the Medicaid schedule).
	FirstPaymentYear int `json:"first_payment_year,omitempty"`

	// Medicare EP (42 CFR 495.102).
	AllowedChargesCents *int64 `json:"allowed_charges_cents,omitempty"` // Part B allowed charges for covered services in the year
	HPSA                *bool  `json:"hpsa,omitempty"`                  // > 50% of services in a geographic HPSA

	// Medicaid EP (42 CFR 495.306, 495.310).
	ParticipationYear     int    `json:"participation_year,omitempty"`       // 1–6
	MedicaidEncounters    *int64 `json:"medicaid_encounters,omitempty"`      // Medicaid encounters in the volume period
	TotalEncounters       *int64 `json:"total_encounters,omitempty"`         // all encounters in the same period
	Pediatrician          *bool  `json:"pediatrician,omitempty"`             // qualifies at 20% volume, paid two-thirds below 30%
	NetAllowableCostCents *int64 `json:"net_allowable_cost_cents,omitempty"` // net average allowable cost of CEHRT
	PaidBeforeCents       *int64 `json:"paid_before_cents,omitempty"`        // Medicaid incentive payments already received

	// Hospital and CAH (SSA §1886(n), §1814(l)): the 12-month cost report.
	Discharges           *int64 `json:"discharges,omitempty"`             // acute inpatient discharges, all payers
	MedicarePartADays    *int64 `json:"medicare_part_a_days,omitempty"`   // Medicare Part A inpatient bed-days
	MedicarePartCDays    *int64 `json:"medicare_part_c_days,omitempty"`   // Medicare Advantage inpatient bed-days
	TotalInpatientDays   *int64 `json:"total_inpatient_days,omitempty"`   // all inpatient bed-days
	TotalChargesCents    *int64 `json:"total_charges_cents,omitempty"`    // total hospital charges
	CharityChargesCents  *int64 `json:"charity_charges_cents,omitempty"`  // charity care charges
	ReasonableCostsCents *int64 `json:"reasonable_costs_cents,omitempty"` // CAH: reasonable costs of CEHRT expensed in the year
}

// PaymentInputsRef names deleted payment inputs.
type PaymentInputsRef struct {
	PaymentInputsID string `json:"payment_inputs_id"`
	Entity          Entity `json:"entity"`
}

// paymentCatalog lists the payment-input events.
var paymentCatalog = []Spec{
	{PaymentInputsRecorded, TopicPaymentInputs, "records", "entity (kind:id)", PaymentInputs{},
		"An entity's incentive-payment figures for a payment year were entered: allowed charges, patient volume, discharges, inpatient days and charges, CAH costs."},
	{PaymentInputsCorrected, TopicPaymentInputs, "records", "entity (kind:id)", PaymentInputs{},
		"Payment figures changed (e.g. the final cost report); the payload replaces the previous one."},
	{PaymentInputsDeleted, TopicPaymentInputs, "records", "entity (kind:id)", PaymentInputsRef{},
		"Payment figures were deleted (entered in error)."},
}
