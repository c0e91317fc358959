package contract

import "time"

// Messaging topics. Every messaging event is keyed by the opaque patient ID, so all of
// one patient's messaging events on a topic stay in order.
const (
	TopicMessage      = "messaging.message.v1"
	TopicRequest      = "messaging.request.v1"
	TopicThread       = "messaging.thread.v1"
	TopicNotification = "messaging.notification.v1"
)

// Messaging event types.
const (
	MessageSent           = "messaging.message.sent"
	MessageRead           = "messaging.message.read"
	RequestAnswered       = "messaging.request.answered"
	ThreadClosed          = "messaging.thread.closed"
	NotificationRequested = "messaging.notification.requested"
)

// Directions of a secure message, as the secure-messaging measures count them (spec
// §3.3 MS2-EP-09, §3.5 S3-06.2, event E12).
const (
	// DirectionPatientToProvider: sent by the patient or their authorized representative.
	DirectionPatientToProvider = "patient_to_provider"
	// DirectionProviderToPatient: sent by the care team to the patient, not in answer to a
	// patient message.
	DirectionProviderToPatient = "provider_to_patient"
	// DirectionReply: sent by the care team in reply to a message of the patient's side.
	DirectionReply = "reply"
	// DirectionProviderToProvider: sent by a clinician or staff member in a
	// clinician-to-clinician thread that includes the patient.
	DirectionProviderToProvider = "provider_to_provider"
)

// Roles of whoever sends or reads a message.
const (
	RolePatient   = "patient"   // the patient; ID = patient ID
	RoleProxy     = "proxy"     // an authorized representative; ID = their user ID
	RoleClinician = "clinician" // ID = NPI
	RoleStaff     = "staff"     // clinic staff; ID = user ID
)

// Message kinds.
const (
	KindGeneral            = "general"
	KindRefillRequest      = "refill_request"      // asks for a prescription refill; names a medication
	KindAppointmentRequest = "appointment_request" // asks for an appointment; carries preferred slots
	KindResultQuestion     = "result_question"     // asks about a result
	KindRequestAnswer      = "request_answer"      // the care team's answer to a refill or appointment request
)

// Request outcomes.
const (
	OutcomeApproved = "approved" // a refill was approved (or an appointment accepted, to be booked)
	OutcomeDenied   = "denied"   // refused; the reason is in the answer message, never in events
	OutcomeBooked   = "booked"   // an appointment was booked
)

// SecureMessage is a message sent in a secure thread. It carries IDs and roles, never
// the subject, body, attachments or their names.
type SecureMessage struct {
	MessageID     string    `json:"message_id"`
	ThreadID      string    `json:"thread_id"`
	PatientID     string    `json:"patient_id"`
	ClinicID      string    `json:"clinic_id"`                // the care-team pool that owns the thread
	Kind          string    `json:"kind"`                     // one of the Kind* constants
	Direction     string    `json:"direction"`                // one of the Direction* constants
	SenderRole    string    `json:"sender_role"`              // one of the Role* constants
	SenderID      string    `json:"sender_id"`                // patient ID, proxy user ID, NPI or staff user ID, by role
	NPI           string    `json:"npi,omitempty"`            // the sending clinician's NPI
	TIN           string    `json:"tin,omitempty"`            // the clinic's billing TIN, when configured
	CCN           string    `json:"ccn,omitempty"`            // the hospital, when hospital staff sent it
	RecipientNPIs []string  `json:"recipient_npis,omitempty"` // the clinicians the thread names, other than the sender
	InReplyTo     string    `json:"in_reply_to,omitempty"`    // the message this one answers
	Attachments   int       `json:"attachments"`              // how many files are attached
	Sent          time.Time `json:"sent"`
}

// MessageReceipt says that someone other than the sender read a message.
type MessageReceipt struct {
	MessageID  string    `json:"message_id"`
	ThreadID   string    `json:"thread_id"`
	PatientID  string    `json:"patient_id"`
	ReaderRole string    `json:"reader_role"` // one of the Role* constants
	ReaderID   string    `json:"reader_id"`
	Read       time.Time `json:"read"`
}

// RequestAnswer says that the care team answered a refill or appointment request.
// The answer itself is a message, published as messaging.message.sent too.
type RequestAnswer struct {
	RequestID       string    `json:"request_id"` // the message ID of the request
	ThreadID        string    `json:"thread_id"`
	PatientID       string    `json:"patient_id"`
	ClinicID        string    `json:"clinic_id"`
	Kind            string    `json:"kind"`                    // KindRefillRequest or KindAppointmentRequest
	Outcome         string    `json:"outcome"`                 // one of the Outcome* constants
	MedicationID    string    `json:"medication_id,omitempty"` // the medication a refill request names
	AnswerMessageID string    `json:"answer_message_id"`
	AnsweredByRole  string    `json:"answered_by_role"` // RoleClinician or RoleStaff
	AnsweredByID    string    `json:"answered_by_id"`
	NPI             string    `json:"npi,omitempty"` // the answering clinician's NPI
	Answered        time.Time `json:"answered"`
}

// ThreadClosure says that a thread was closed: no one can post to it any more.
type ThreadClosure struct {
	ThreadID     string    `json:"thread_id"`
	PatientID    string    `json:"patient_id"`
	ClinicID     string    `json:"clinic_id"`
	ClosedByRole string    `json:"closed_by_role"` // one of the Role* constants
	ClosedByID   string    `json:"closed_by_id"`
	Closed       time.Time `json:"closed"`
}

// Recipient kinds of a notification.
const (
	RecipientPatient   = "patient"   // ID = patient ID
	RecipientProxy     = "proxy"     // ID = the representative's user ID
	RecipientClinician = "clinician" // ID = NPI
	RecipientClinic    = "clinic"    // ID = clinic (care-team pool) ID: whoever watches its queue
)

// Notification asks for someone to be told that something awaits them in a thread.
// It never says what: no content, no diagnosis, no kind of request.
type Notification struct {
	RecipientKind string `json:"recipient_kind"` // one of the Recipient* constants
	RecipientID   string `json:"recipient_id"`
	PatientID     string `json:"patient_id"`
	ThreadID      string `json:"thread_id"`
	MessageID     string `json:"message_id"`
}

// messagingCatalog lists the events messaging publishes.
var messagingCatalog = []Spec{
	{MessageSent, TopicMessage, "messaging", "patient ID", SecureMessage{},
		"A secure message was sent in a thread (event E12): by the patient or a representative, by the care team " +
			"to the patient or in reply, or between clinicians with the patient included. Request answers are messages too."},
	{MessageRead, TopicMessage, "messaging", "patient ID", MessageReceipt{},
		"A participant other than the sender read a message for the first time (a read receipt)."},
	{RequestAnswered, TopicRequest, "messaging", "patient ID", RequestAnswer{},
		"The care team answered a refill or appointment request: approved, denied or booked."},
	{ThreadClosed, TopicThread, "messaging", "patient ID", ThreadClosure{},
		"A thread was closed; nothing more can be posted to it."},
	{NotificationRequested, TopicNotification, "messaging", "patient ID", Notification{},
		"A participant should be told that a thread has something new for them; a notification gateway delivers it. " +
			"It carries no content."},
}
