package clinic_test

import (
	"sync"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/messaging/internal/clinic"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, clinics, defaults string
		wantField               string
	}{
		{"nothing configured", "", "", ""},
		{"one clinic", `{"east":{"time_zone":"America/New_York","open":"07:30","close":"16:00","target_hours":4,"tin":"123456789","closed":["2025-12-24"]}}`, "", ""},
		{"defaults only", "", `{"time_zone":"America/Chicago","target_hours":16}`, ""},
		{"not JSON", `{`, "", "MESSAGING_CLINICS"},
		{"unknown setting", `{"east":{"hours":"8-5"}}`, "", "MESSAGING_CLINICS"},
		{"bad defaults", "", `{"open":"8"}`, "defaults.open"},
		{"bad zone", `{"east":{"time_zone":"Mars/Olympus"}}`, "", "east.time_zone"},
		{"bad open", `{"east":{"open":"25:00"}}`, "", "east.open"},
		{"close before open", `{"east":{"open":"17:00","close":"08:00"}}`, "", "east.close"},
		{"negative target", `{"east":{"target_hours":-1}}`, "", "east.target_hours"},
		{"bad TIN", `{"east":{"tin":"12-3456789"}}`, "", "east.tin"},
		{"bad closed day", `{"east":{"closed":["24/12/2025"]}}`, "", "east.closed[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := clinic.Parse(tt.clinics, tt.defaults)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tt.wantField {
				t.Fatalf("Parse error = %v, want Invalid on %s", err, tt.wantField)
			}
		})
	}
}

func TestBusinessTime(t *testing.T) {
	d, err := clinic.Parse(`{"east":{"time_zone":"America/New_York","open":"08:00","close":"17:00","target_hours":4,"tin":"123456789","closed":["2025-01-22"]}}`, "")
	if err != nil {
		t.Fatal(err)
	}
	east := d.Get("east")
	if east.Target != 4*time.Hour || east.TIN != "123456789" {
		t.Fatalf("east = %+v", east)
	}
	if other := d.Get("unconfigured"); other.Target != 9*time.Hour || other.Zone != time.UTC {
		t.Fatalf("an unconfigured clinic = %+v, want the defaults (UTC, 9h target)", other)
	}
	ny, _ := time.LoadLocation("America/New_York")
	at := func(day, hour, minute int) time.Time {
		return time.Date(2025, time.January, day, hour, minute, 0, 0, ny)
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"within one day", at(17, 9, 0), at(17, 11, 30), 150 * time.Minute},
		{"before opening counts from opening", at(17, 6, 0), at(17, 8, 45), 45 * time.Minute},
		// Friday 16:00 → Tuesday 09:30: the weekend and Monday 20 January 2025 (Martin
		// Luther King, Jr. Day, a federal holiday) do not count.
		{"across a weekend and a federal holiday", at(17, 16, 0), at(21, 9, 30), 150 * time.Minute},
		// Wednesday 22 January is the clinic's own closed day.
		{"across a configured closed day", at(21, 16, 0), at(23, 9, 0), 2 * time.Hour},
		{"answered before it was sent", at(21, 10, 0), at(21, 9, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := east.BusinessTime(tt.from, tt.to); got != tt.want {
				t.Errorf("BusinessTime = %v, want %v", got, tt.want)
			}
		})
	}
	// The clinic is shared by concurrent requests; the race detector checks this.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { east.BusinessTime(at(1, 8, 0), time.Date(2026+i, 1, 1, 0, 0, 0, 0, ny)) })
	}
	wg.Wait()
}
