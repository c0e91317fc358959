package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/progress"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// The EHR-shaped tables A and B read, in schema ehr of the bench database: what an
// EHR stores (encounters, the availability of their information, access given,
// prescriptions, transitions, reconciliations, messages and education given), with
// the indexes an EHR has (by patient, by provider and date).
const ehrSchema = `
DROP SCHEMA IF EXISTS ehr CASCADE;
CREATE SCHEMA ehr;
SET search_path = ehr;
CREATE TABLE locations (id text PRIMARY KEY, pos text NOT NULL, cehrt boolean NOT NULL);
CREATE TABLE clinicians (npi text NOT NULL, tin text NOT NULL, PRIMARY KEY (tin, npi));
CREATE TABLE hospitals (ccn text PRIMARY KEY);
CREATE TABLE encounters (id text PRIMARY KEY, pid text NOT NULL, class text NOT NULL, start_at timestamptz NOT NULL,
  end_at timestamptz, npi text NOT NULL, tin text NOT NULL, ccn text NOT NULL, location_id text NOT NULL);
CREATE TABLE results (id text PRIMARY KEY, pid text NOT NULL, encounter_id text NOT NULL, order_id text NOT NULL);
CREATE TABLE availability (id text PRIMARY KEY, pid text NOT NULL, encounter_id text NOT NULL, result_id text NOT NULL,
  available_at timestamptz NOT NULL);
CREATE TABLE access_log (id text PRIMARY KEY, pid text NOT NULL, kind text NOT NULL, granted_at timestamptz NOT NULL,
  encounter_id text NOT NULL);
CREATE TABLE prescriptions (id text PRIMARY KEY, pid text NOT NULL, kind text NOT NULL, discharge boolean NOT NULL,
  schedule text NOT NULL, permissible boolean NOT NULL, written_at timestamptz NOT NULL, npi text NOT NULL, tin text NOT NULL,
  ccn text NOT NULL, method text NOT NULL, outcome text NOT NULL, transmitted_at timestamptz);
CREATE TABLE transitions (id text PRIMARY KEY, pid text NOT NULL, direction text NOT NULL, occurred_at timestamptz NOT NULL,
  sender_npi text NOT NULL, sender_tin text NOT NULL, sender_ccn text NOT NULL,
  receiver_npi text NOT NULL, receiver_tin text NOT NULL, receiver_ccn text NOT NULL,
  summary_created timestamptz, problems text NOT NULL, medications text NOT NULL, allergies text NOT NULL,
  sent_at timestamptz, transport text NOT NULL, confirmed_at timestamptz, received_at timestamptz);
CREATE TABLE reconciliations (id text PRIMARY KEY, pid text NOT NULL, transition_id text NOT NULL,
  medications_at timestamptz, allergies_at timestamptz, problems_at timestamptz);
-- Secure messages (one row per message) and education given.
CREATE TABLE messages (id text PRIMARY KEY, pid text NOT NULL, direction text NOT NULL, npi text NOT NULL, tin text NOT NULL,
  ccn text NOT NULL, sent_at timestamptz NOT NULL, patient_included boolean NOT NULL);
CREATE TABLE education (id text PRIMARY KEY, pid text NOT NULL, electronic boolean NOT NULL, npi text NOT NULL, tin text NOT NULL,
  ccn text NOT NULL, provided_at timestamptz NOT NULL);
`

// ehrIndexes are built after the bulk load.
const ehrIndexes = `
SET search_path = ehr;
CREATE INDEX ON encounters (pid, start_at);
CREATE INDEX ON encounters (tin, npi, start_at);
CREATE INDEX ON encounters (npi, start_at);
CREATE INDEX ON encounters (ccn, end_at);
CREATE INDEX ON results (pid);
CREATE INDEX ON availability (pid);
CREATE INDEX ON access_log (pid);
CREATE INDEX ON access_log (encounter_id, kind, granted_at);
CREATE INDEX ON prescriptions (pid);
CREATE INDEX ON prescriptions (tin, npi, written_at);
CREATE INDEX ON prescriptions (ccn, written_at);
CREATE INDEX ON transitions (pid);
CREATE INDEX ON transitions (direction, sender_tin, sender_npi, occurred_at);
CREATE INDEX ON transitions (direction, sender_ccn, occurred_at);
CREATE INDEX ON transitions (direction, receiver_tin, receiver_npi, received_at);
CREATE INDEX ON transitions (direction, receiver_ccn, received_at);
CREATE INDEX ON reconciliations (pid);
CREATE INDEX ON reconciliations (transition_id);
CREATE INDEX ON messages (pid);
CREATE INDEX ON messages (npi, sent_at);
CREATE INDEX ON education (pid);
CREATE INDEX ON education (npi, provided_at);
ANALYZE;
`

// Entities are every entity the directory defines, by kind, sorted: a clinician
// under each TIN it bills under (tin_npi), each TIN (tin), each hospital (ccn), each
// clinician (npi).
type Entities map[string][]string

func (e Entities) add(kind, id string) {
	if !slices.Contains(e[kind], id) {
		e[kind] = append(e[kind], id)
	}
}

// table is one EHR table loaded from one generated file.
type table struct {
	name string
	cols []string
}

// Data is what Load learnt of the generated system besides the rows it copied.
type Data struct {
	Dir      string
	Lines    int64 // request bodies (events) in the files
	Rows     int64 // rows copied into the EHR tables
	Patients int
	Entities Entities
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

// Load creates the EHR tables in conn's database and streams the files Generate wrote
// in dir into them with COPY (nothing is held in memory but one line), then builds
// the indexes.
func Load(ctx context.Context, conn *pgx.Conn, dir string, meter *progress.Meter) (*Data, error) {
	if _, err := conn.Exec(ctx, ehrSchema); err != nil {
		return nil, fmt.Errorf("create EHR tables: %w", err)
	}
	d := &Data{Dir: dir, Entities: Entities{}}
	tab := func(name string, cols ...string) *table { return &table{name: name, cols: cols} }
	locations := tab("locations", "id", "pos", "cehrt")
	clinicians := tab("clinicians", "npi", "tin")
	hospitals := tab("hospitals", "ccn")
	encounters := tab("encounters", "id", "pid", "class", "start_at", "end_at", "npi", "tin", "ccn", "location_id")
	results := tab("results", "id", "pid", "encounter_id", "order_id")
	avail := tab("availability", "id", "pid", "encounter_id", "result_id", "available_at")
	access := tab("access_log", "id", "pid", "kind", "granted_at", "encounter_id")
	rxs := tab("prescriptions", "id", "pid", "kind", "discharge", "schedule", "permissible", "written_at", "npi", "tin", "ccn",
		"method", "outcome", "transmitted_at")
	trans := tab("transitions", "id", "pid", "direction", "occurred_at", "sender_npi", "sender_tin", "sender_ccn",
		"receiver_npi", "receiver_tin", "receiver_ccn", "summary_created", "problems", "medications", "allergies",
		"sent_at", "transport", "confirmed_at", "received_at")
	recs := tab("reconciliations", "id", "pid", "transition_id", "medications_at", "allergies_at", "problems_at")
	msgs := tab("messages", "id", "pid", "direction", "npi", "tin", "ccn", "sent_at", "patient_included")
	edu := tab("education", "id", "pid", "electronic", "npi", "tin", "ccn", "provided_at")
	threadN := 0
	// rows receives the row parsed from the current line, for COPY.
	var rows [][]any
	steps := []struct {
		kind string
		t    *table
		f    func([]byte) error
	}{
		{"organizations", nil, func([]byte) error { return nil }},
		{"groups", nil, func(b []byte) error {
			var v struct{ TIN string }
			err := json.Unmarshal(b, &v)
			d.Entities.add(contract.EntityTIN, v.TIN)
			return err
		}},
		{"hospitals", hospitals, func(b []byte) error {
			var v struct{ CCN string }
			err := json.Unmarshal(b, &v)
			d.Entities.add(contract.EntityCCN, v.CCN)
			rows = append(rows, []any{v.CCN})
			return err
		}},
		{"clinicians", clinicians, func(b []byte) error {
			var v struct {
				NPI  string
				TINs []string
			}
			err := json.Unmarshal(b, &v)
			d.Entities.add(contract.EntityNPI, v.NPI)
			for _, tin := range v.TINs {
				d.Entities.add(contract.EntityTINNPI, tin+"/"+v.NPI)
				rows = append(rows, []any{v.NPI, tin})
			}
			return err
		}},
		{"locations", locations, func(b []byte) error {
			var v struct {
				ID, POS string
				CEHRT   bool
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.POS, v.CEHRT})
			return err
		}},
		{"patients", nil, func([]byte) error { d.Patients++; return nil }},
		{"encounters", encounters, func(b []byte) error {
			var v struct {
				ID           string
				PatientID    string `json:"patient_id"`
				Class        string
				Start        time.Time
				End          *time.Time
				RenderingNPI string `json:"rendering_npi"`
				BillingTIN   string `json:"billing_tin"`
				CCN          string
				LocationID   string `json:"location_id"`
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.Class, v.Start, nullTime(v.End),
				v.RenderingNPI, v.BillingTIN, v.CCN, v.LocationID})
			return err
		}},
		{"orders", nil, func([]byte) error { return nil }},
		{"results", results, func(b []byte) error {
			var v struct {
				ID          string
				PatientID   string `json:"patient_id"`
				EncounterID string `json:"encounter_id"`
				OrderID     string `json:"order_id"`
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.EncounterID, v.OrderID})
			return err
		}},
		{"prescriptions", rxs, func(b []byte) error {
			var v struct {
				ID           string
				PatientID    string `json:"patient_id"`
				Kind         string
				Discharge    bool
				Schedule     string
				Permissible  bool
				Written      time.Time
				NPI, TIN     string
				CCN          string
				Transmission *contract.Transmission
			}
			err := json.Unmarshal(b, &v)
			method, outcome := "", ""
			var at *time.Time
			if t := v.Transmission; t != nil {
				method, outcome, at = t.Method, t.Outcome, &t.Transmitted
			}
			rows = append(rows, []any{v.ID, v.PatientID, v.Kind, v.Discharge, v.Schedule, v.Permissible, v.Written,
				v.NPI, v.TIN, v.CCN, method, outcome, nullTime(at)})
			return err
		}},
		{"transitions", trans, func(b []byte) error {
			var v struct {
				ID               string
				PatientID        string `json:"patient_id"`
				Direction        string
				Occurred         time.Time
				Sender, Receiver contract.Party
				SummaryCreated   *time.Time `json:"summary_created"`
				Contents         *contract.SummaryContents
				Sent             *time.Time
				Transport        string
				ReceiptConfirmed *time.Time `json:"receipt_confirmed"`
				Received         *time.Time
			}
			err := json.Unmarshal(b, &v)
			c := contract.SummaryContents{}
			if v.Contents != nil {
				c = *v.Contents
			}
			rows = append(rows, []any{v.ID, v.PatientID, v.Direction, v.Occurred,
				v.Sender.NPI, v.Sender.TIN, v.Sender.CCN, v.Receiver.NPI, v.Receiver.TIN, v.Receiver.CCN,
				nullTime(v.SummaryCreated), c.Problems, c.Medications, c.Allergies, nullTime(v.Sent), v.Transport,
				nullTime(v.ReceiptConfirmed), nullTime(v.Received)})
			return err
		}},
		{"reconciliations", recs, func(b []byte) error {
			var v struct {
				ID                               string
				PatientID                        string `json:"patient_id"`
				TransitionID                     string `json:"transition_id"`
				Medications, Allergies, Problems *time.Time
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.TransitionID, nullTime(v.Medications),
				nullTime(v.Allergies), nullTime(v.Problems)})
			return err
		}},
		{"availabilities", avail, func(b []byte) error {
			var v struct {
				ID          string
				PatientID   string `json:"patient_id"`
				EncounterID string `json:"encounter_id"`
				ResultID    string `json:"result_id"`
				Available   time.Time
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.EncounterID, v.ResultID, v.Available})
			return err
		}},
		{"access-grants", access, func(b []byte) error {
			var v struct {
				ID          string
				PatientID   string `json:"patient_id"`
				Kind        string
				Granted     time.Time
				EncounterID string `json:"encounter_id"`
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.Kind, v.Granted, v.EncounterID})
			return err
		}},
		{"vdt", nil, func([]byte) error { return nil }},
		// A conversation imported from the source EHR, one row per message, with the
		// direction messaging gives it: the patient's message, a clinician's reply to
		// it, a clinician's message to the patient, or clinicians consulting each
		// other with the patient included.
		{"threads", msgs, func(b []byte) error {
			var v struct {
				PatientID string `json:"patient_id"`
				Kind      string
				TIN, CCN  string
				Messages  []struct {
					Sender  struct{ Role, ID string }
					ReplyTo *int `json:"reply_to"`
					Sent    time.Time
				}
			}
			err := json.Unmarshal(b, &v)
			threadN++
			for i, m := range v.Messages {
				dir, npi := contract.DirectionProviderToPatient, ""
				switch {
				case m.Sender.Role == contract.RolePatient:
					dir = contract.DirectionPatientToProvider
				case v.Kind == "consult":
					dir, npi = contract.DirectionProviderToProvider, m.Sender.ID
				case m.ReplyTo != nil && v.Messages[*m.ReplyTo].Sender.Role == contract.RolePatient:
					dir, npi = contract.DirectionReply, m.Sender.ID
				default:
					npi = m.Sender.ID
				}
				rows = append(rows, []any{fmt.Sprintf("thread-%d-%d", threadN, i), v.PatientID, dir, npi, v.TIN, v.CCN,
					m.Sent, v.Kind == "consult"})
			}
			return err
		}},
		// Education given: it counts as electronic when the EHR's certified technology
		// identified it and it went through the portal or an email link.
		{"education", edu, func(b []byte) error {
			var v struct {
				ID, Channel   string
				PatientID     string `json:"patient_id"`
				NPI, TIN, CCN string
				Provided      time.Time
				Identified    bool `json:"identified_by_system"`
			}
			err := json.Unmarshal(b, &v)
			rows = append(rows, []any{v.ID, v.PatientID, v.Identified && v.Channel != contract.ChannelPrint,
				v.NPI, v.TIN, v.CCN, v.Provided})
			return err
		}},
	}
	for _, s := range steps {
		if err := copyFile(ctx, conn, dir, s.kind, s.t, s.f, &rows, d, meter); err != nil {
			return nil, fmt.Errorf("load generated files: %w", err)
		}
	}
	for _, ids := range d.Entities {
		slices.Sort(ids)
	}
	if _, err := conn.Exec(ctx, ehrIndexes); err != nil {
		return nil, fmt.Errorf("index EHR tables: %w", err)
	}
	return d, nil
}

// copyFile streams one generated file: each line parsed by f (which appends the
// line's row, if any, to *rows), and the rows copied into table t.
func copyFile(ctx context.Context, conn *pgx.Conn, dir, kind string, t *table, f func([]byte) error, rows *[][]any,
	d *Data, meter *progress.Meter) error {
	file, err := os.Open(filepath.Join(dir, generate.FileName(kind)))
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	*rows = (*rows)[:0] // nothing left from the previous file
	src := &lineSource{sc: sc, f: f, rows: rows, d: d, meter: meter, name: generate.FileName(kind)}
	if t == nil {
		for src.Next() {
		}
		return src.Err()
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"ehr", t.name}, t.cols, src)
	d.Rows += n
	if err == nil {
		err = src.Err()
	}
	return err
}

// lineSource is a pgx.CopyFromSource over a file's lines.
type lineSource struct {
	sc    *bufio.Scanner
	f     func([]byte) error
	rows  *[][]any
	d     *Data
	meter *progress.Meter
	name  string
	line  int
	cur   []any
	next  int // the index in *rows of the current line's next row
	err   error
}

func (s *lineSource) Next() bool {
	if s.err == nil && s.next < len(*s.rows) { // the current line's next row
		s.cur = (*s.rows)[s.next]
		s.next++
		return true
	}
	for s.err == nil && s.sc.Scan() {
		s.line++
		s.d.Lines++
		if s.meter != nil {
			s.meter.Add(1)
		}
		*s.rows = (*s.rows)[:0]
		s.next = 0
		if err := s.f(s.sc.Bytes()); err != nil {
			s.err = fmt.Errorf("%s:%d: %w", s.name, s.line, err)
			return false
		}
		if len(*s.rows) > 0 {
			s.cur, s.next = (*s.rows)[0], 1
			return true
		}
	}
	if s.err == nil {
		s.err = s.sc.Err()
	}
	return false
}

func (s *lineSource) Values() ([]any, error) { return s.cur, nil }

func (s *lineSource) Err() error { return s.err }
