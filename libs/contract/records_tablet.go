package contract

import "time"

// Topics of shared tablets: devices (keyed by the device ID) and the sessions patients
// use them in (keyed by the patient ID).
const (
	TopicDevice        = "records.device.v1"
	TopicTabletSession = "records.tablet-session.v1"
)

// Event types of devices and tablet sessions. An upload made in a session is a vital
// sign, published as records.vital-sign.recorded with the device and session set.
const (
	DeviceRecorded  = "records.device.recorded"
	DeviceCorrected = "records.device.corrected"
	DeviceDeleted   = "records.device.deleted"

	// TabletSessionStarted: a device was checked out to a patient.
	TabletSessionStarted = "records.tablet-session.started"
	// TabletSessionWiped: the device was checked in with a signed wipe confirmation.
	TabletSessionWiped = "records.tablet-session.wiped"
	// TabletSessionDeleted: the session was removed with its patient (entered in error).
	TabletSessionDeleted = "records.tablet-session.deleted"
)

// Device kinds.
const (
	DeviceTablet = "tablet" // a shared tablet handed to patients
	DeviceKiosk  = "kiosk"  // a fixed kiosk
)

// Device is a shared device enrolled with its own signing key (FHIR Device).
type Device struct {
	DeviceID       string `json:"device_id"`
	OrganizationID string `json:"organization_id"`
	Kind           string `json:"kind"` // one of the Device* kind constants
}

// TabletSession is a shared device checked out to a patient and, once wiped, checked
// in. Cleared lists what the device's signed statement says it cleared (the
// Clear-Site-Data directives: cache, cookies, storage, executionContexts).
type TabletSession struct {
	SessionID string     `json:"session_id"`
	PatientID string     `json:"patient_id"`
	DeviceID  string     `json:"device_id"`
	Started   time.Time  `json:"started"`
	Wiped     *time.Time `json:"wiped,omitempty"`
	Cleared   []string   `json:"cleared,omitempty"`
	Uploads   int        `json:"uploads"` // how many observations the patient uploaded in it
}

// DeviceRef and TabletSessionRef name a deleted device or session.
type (
	DeviceRef struct {
		DeviceID string `json:"device_id"`
	}
	TabletSessionRef struct {
		SessionID string `json:"session_id"`
		PatientID string `json:"patient_id"`
		DeviceID  string `json:"device_id"`
	}
)

// tabletCatalog lists the device and tablet session events.
var tabletCatalog = []Spec{
	{DeviceRecorded, TopicDevice, "records", "device ID", Device{},
		"A shared tablet or kiosk was enrolled with its public key."},
	{DeviceCorrected, TopicDevice, "records", "device ID", Device{},
		"A device changed (organization, key rotated); the payload replaces the previous one."},
	{DeviceDeleted, TopicDevice, "records", "device ID", DeviceRef{}, "A device was retired."},
	{TabletSessionStarted, TopicTabletSession, "records", "patient ID", TabletSession{},
		"A shared device was checked out to a patient; the patient may upload self-reported data until it is wiped."},
	{TabletSessionWiped, TopicTabletSession, "records", "patient ID", TabletSession{},
		"A shared device was checked in with a signed statement of what it cleared; no upload is accepted after."},
	{TabletSessionDeleted, TopicTabletSession, "records", "patient ID", TabletSessionRef{},
		"A tablet session was deleted with its patient (entered in error)."},
}
