package calendar_test

import (
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
)

func d(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestFederalHolidays checks observed dates against OPM's published schedules.
func TestFederalHolidays(t *testing.T) {
	want := map[int][]string{
		2021: {"2021-01-01", "2021-01-18", "2021-02-15", "2021-05-31", "2021-06-18", "2021-07-05", "2021-09-06",
			"2021-10-11", "2021-11-11", "2021-11-25", "2021-12-24"},
		2023: {"2023-01-02", "2023-01-16", "2023-02-20", "2023-05-29", "2023-06-19", "2023-07-04", "2023-09-04",
			"2023-10-09", "2023-11-10", "2023-11-23", "2023-12-25"},
		2025: {"2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04", "2025-09-01",
			"2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"},
		2019: {"2019-01-01", "2019-01-21", "2019-02-18", "2019-05-27", "2019-07-04", "2019-09-02",
			"2019-10-14", "2019-11-11", "2019-11-28", "2019-12-25"},
	}
	for year, days := range want {
		hs := calendar.FederalHolidays(year)
		if len(hs) != len(days) {
			t.Errorf("%d: %d holidays, want %d", year, len(hs), len(days))
			continue
		}
		for i, h := range hs {
			if got := h.Date.Format(time.DateOnly); got != days[i] {
				t.Errorf("%d %s: observed %s, want %s", year, h.Name, got, days[i])
			}
		}
	}
}

func TestNewYearObservedInDecember(t *testing.T) {
	// 1 January 2022 was a Saturday: observed on Friday 31 December 2021.
	c := calendar.New(nil)
	if c.IsBusinessDay(d("2021-12-31")) {
		t.Error("2021-12-31 should be closed (New Year's Day 2022 observed)")
	}
}

func TestAddBusinessDays(t *testing.T) {
	c := calendar.New(nil)
	tests := []struct {
		start string
		n     int
		want  string // the last day of the window
	}{
		{"2025-03-03", 4, "2025-03-07"}, // Monday + 4 → Friday
		{"2025-03-06", 4, "2025-03-12"}, // Thursday + 4 skips the weekend
		{"2025-03-08", 1, "2025-03-10"}, // a Saturday start: the next business day is Monday
		{"2025-11-26", 1, "2025-11-28"}, // over Thanksgiving
		{"2025-12-23", 4, "2025-12-30"}, // over Christmas
		{"2025-06-18", 1, "2025-06-20"}, // over Juneteenth
		{"2025-01-16", 4, "2025-01-23"}, // over the weekend and MLK Day
		{"2025-03-03", 0, "2025-03-03"},
	}
	for _, tt := range tests {
		got := c.AddBusinessDays(d(tt.start).Add(15*time.Hour), tt.n)
		if got.Format(time.DateOnly) != tt.want || got.Hour() != 23 {
			t.Errorf("AddBusinessDays(%s, %d) = %v, want end of %s", tt.start, tt.n, got, tt.want)
		}
	}
	start := d("2025-03-06").Add(10 * time.Hour)
	if !c.WithinBusinessDays(start, d("2025-03-12").Add(23*time.Hour+59*time.Minute), 4) {
		t.Error("23:59 on the 4th business day is within the window")
	}
	if c.WithinBusinessDays(start, d("2025-03-13"), 4) {
		t.Error("midnight after the 4th business day is outside the window")
	}
}

func TestExtraClosedDaysAndZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	c := calendar.New(ny, d("2025-03-07"))
	// 02:00 UTC on Saturday 8 March is Friday 7 March in New York: closed by configuration.
	if c.IsBusinessDay(time.Date(2025, 3, 8, 2, 0, 0, 0, time.UTC)) {
		t.Error("extra closed day in the calendar's zone")
	}
	if !c.IsBusinessDay(time.Date(2025, 3, 6, 2, 0, 0, 0, time.UTC)) {
		t.Error("Wednesday evening in New York is a business day")
	}
}

func TestBusinessDuration(t *testing.T) {
	c := calendar.New(nil)
	h := calendar.Hours{Open: 8 * time.Hour, Close: 17 * time.Hour}
	at := func(s string, hour int) time.Time { return d(s).Add(time.Duration(hour) * time.Hour) }
	tests := []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"same day", at("2025-03-04", 9), at("2025-03-04", 11), 2 * time.Hour},
		{"before opening", at("2025-03-04", 6), at("2025-03-04", 9), time.Hour},
		{"over a weekend", at("2025-03-07", 16), at("2025-03-10", 9), 2 * time.Hour},
		{"over Thanksgiving", at("2025-11-26", 16), at("2025-11-28", 9), 2 * time.Hour},
		{"reversed", at("2025-03-04", 11), at("2025-03-04", 9), 0},
		{"all weekend", at("2025-03-08", 9), at("2025-03-09", 17), 0},
	}
	for _, tt := range tests {
		if got := c.BusinessDuration(tt.from, tt.to, h); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestConcurrentUse asks many goroutines about years none has asked before: under
// -race this fails if the lazily filled holiday table is not guarded.
func TestConcurrentUse(t *testing.T) {
	c := calendar.New(nil)
	done := make(chan bool)
	for i := range 8 {
		go func() {
			done <- c.IsBusinessDay(d("2030-07-04").AddDate(i%4, 0, 0))
		}()
	}
	for range 8 {
		<-done
	}
	if c.Location() != time.UTC {
		t.Errorf("Location() = %v, want UTC", c.Location())
	}
}
