package rulebook_test

import (
	"strings"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
	"github.com/attest-ehr/attest/services/reporting/internal/rulebook"
)

// Input builders.

func prop(num, den int64) rulebook.MeasureInput {
	return rulebook.MeasureInput{Numerator: num, Denominator: den}
}

func ans(yes bool) rulebook.MeasureInput { return rulebook.MeasureInput{Answer: &yes} }

func excl(id string) rulebook.MeasureInput { return rulebook.MeasureInput{Exclusion: id} }

func exclVol(id string, volume int64) rulebook.MeasureInput {
	return rulebook.MeasureInput{Exclusion: id, Volume: &volume}
}

// with returns base with the overrides applied; a zero MeasureInput deletes.
func with(base map[string]rulebook.MeasureInput, over map[string]rulebook.MeasureInput) map[string]rulebook.MeasureInput {
	out := make(map[string]rulebook.MeasureInput, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if v == (rulebook.MeasureInput{}) {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

var none = rulebook.MeasureInput{}

func evaluate(t *testing.T, p rulebook.Program, year int, e rulebook.EntityType, ms map[string]rulebook.MeasureInput) rulebook.Result {
	t.Helper()
	b, err := rulebook.Lookup(p, year, e)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rulebook.Evaluate(b, rulebook.Input{Measures: ms})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mipsAttest are the MIPS prerequisites answered yes.
func mipsAttest(year int) map[string]rulebook.MeasureInput {
	m := map[string]rulebook.MeasureInput{"PI_PPHI_1": ans(true), "PI_INFBLO_1": ans(true), "PI_ONCDIR_1": ans(true)}
	if year >= 2022 {
		m["PI_PPHI_2"] = ans(true)
	}
	return m
}

// mipsFull is a MIPS PI submission with every required measure at 100%.
func mipsFull(year int) map[string]rulebook.MeasureInput {
	m := mipsAttest(year)
	for _, id := range []string{"PI_EP_1", "PI_HIE_1", "PI_HIE_4", "PI_PEA_1"} {
		m[id] = prop(100, 100)
	}
	if year >= 2023 {
		m["PI_EP_2"] = ans(true)
	}
	if year >= 2022 {
		m["PI_PHCDRR_1"], m["PI_PHCDRR_3"] = ans(true), ans(true)
	} else {
		m["PI_PHCDRR_1"], m["PI_PHCDRR_2"] = ans(true), ans(true)
	}
	return m
}

func hospitalAttest(year int) map[string]rulebook.MeasureInput {
	m := map[string]rulebook.MeasureInput{"EHPI_PPHI_1": ans(true), "EHPI_INFBLO_1": ans(true), "EHPI_ONCDIR_1": ans(true)}
	if year >= 2022 {
		m["EHPI_PPHI_2"] = ans(true)
	}
	return m
}

// hospitalFull is a hospital submission with every required measure at 100%.
func hospitalFull(year int) map[string]rulebook.MeasureInput {
	m := hospitalAttest(year)
	for _, id := range []string{"EHPI_EP_1", "EHPI_HIE_1", "EHPI_HIE_4", "EHPI_PEA_1"} {
		m[id] = prop(100, 100)
	}
	if year >= 2023 {
		m["EHPI_EP_2"] = ans(true)
	}
	if year <= 2021 {
		m["EHPI_PH_IMM"], m["EHPI_PH_SS"] = ans(true), ans(true)
		return m
	}
	for _, id := range []string{"EHPI_PH_IMM", "EHPI_PH_SS", "EHPI_PH_ECR", "EHPI_PH_ELR"} {
		m[id] = ans(true)
	}
	switch {
	case year == 2024:
		m["EHPI_PH_AUR"] = ans(true)
	case year >= 2025:
		m["EHPI_PH_AU"], m["EHPI_PH_AR"] = ans(true), ans(true)
	}
	return m
}

// points returns a measure's points and max points.
func points(t *testing.T, r rulebook.Result, id string) (int64, string) {
	t.Helper()
	m, ok := r.Measure(id)
	if !ok {
		t.Fatalf("no result for %s", id)
	}
	return m.Points, m.MaxPoints
}

func TestQPPScoringExample(t *testing.T) {
	// CMS' published scoring-engine example (2019 rules): 49/115 × 10 = 4,
	// 1123/1951 × 20 = 12, public health 5 + 5; category 64, weighted 16.
	ms := with(mipsAttest(2019), map[string]rulebook.MeasureInput{
		"PI_EP_1": prop(49, 115), "PI_HIE_1": prop(1123, 1951), "PI_HIE_4": prop(923, 951), "PI_PEA_1": prop(861, 1809),
		"PI_PHCDRR_1": ans(true), "PI_PHCDRR_1_MULTI": ans(true),
	})
	r := evaluate(t, rulebook.MIPS, 2019, rulebook.EP, ms)
	want := map[string]int64{"PI_EP_1": 4, "PI_HIE_1": 12, "PI_HIE_4": 19, "PI_PEA_1": 19}
	for id, w := range want {
		if got, _ := points(t, r, id); got != w {
			t.Errorf("%s = %d points, want %d", id, got, w)
		}
	}
	if r.Score.Total != 64 || r.Score.Weighted != "16.00" || !r.Pass {
		t.Errorf("score = %+v pass=%v, want 64 / 16.00 / pass\n%s", r.Score, r.Pass, strings.Join(r.Steps, "\n"))
	}
	if m, _ := r.Measure("PI_EP_1"); m.Formula != "round(49/115 × 10) = round(4.2608) = 4" {
		t.Errorf("formula = %q", m.Formula)
	}
}

func TestScoreRoundingHalves(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		num, den int64
		want     int64
	}{
		{"eRx 1/4 × 10 = 2.5 → 3", "PI_EP_1", 1, 4, 3},
		{"eRx 3/4 × 10 = 7.5 → 8", "PI_EP_1", 3, 4, 8},
		{"HIE 1/8 × 20 = 2.5 → 3", "PI_HIE_1", 1, 8, 3},
		{"HIE 3/8 × 20 = 7.5 → 8", "PI_HIE_1", 3, 8, 8},
		{"HIE 1/40 × 20 = 0.5 → 1", "PI_HIE_4", 1, 40, 1},
		{"HIE 1/41 × 20 = 0.49 → 0", "PI_HIE_4", 1, 41, 0},
		{"PEA 1/16 × 40 = 2.5 → 3", "PI_PEA_1", 1, 16, 3},
		{"PEA 2023 1/10 × 25 = 2.5 → 3", "PI_PEA_1", 1, 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			year := 2022
			if strings.Contains(tt.name, "2023") {
				year = 2023
			}
			r := evaluate(t, rulebook.MIPS, year, rulebook.EP, with(mipsFull(year), map[string]rulebook.MeasureInput{tt.id: prop(tt.num, tt.den)}))
			if got, _ := points(t, r, tt.id); got != tt.want {
				t.Errorf("%s %d/%d = %d points, want %d", tt.id, tt.num, tt.den, got, tt.want)
			}
		})
	}
}

func TestRedistribution(t *testing.T) {
	type want struct {
		id     string
		max    string
		points int64
	}
	tests := []struct {
		name    string
		program rulebook.Program
		year    int
		entity  rulebook.EntityType
		ms      map[string]rulebook.MeasureInput
		want    []want
		total   int64
	}{
		{
			name: "MIPS 2019: e-Prescribing exclusion splits 10 over the two HIE measures", program: rulebook.MIPS, year: 2019, entity: rulebook.EP,
			ms:   with(mipsFull(2019), map[string]rulebook.MeasureInput{"PI_EP_1": exclVol("PI_LVPP_1", 99)}),
			want: []want{{"PI_EP_1", "", 0}, {"PI_HIE_1", "25", 25}, {"PI_HIE_4", "25", 25}, {"PI_PEA_1", "40", 40}}, total: 100,
		},
		{
			name: "MIPS 2019: HIE sending exclusion moves 20 to PEA", program: rulebook.MIPS, year: 2019, entity: rulebook.EP,
			ms:   with(mipsFull(2019), map[string]rulebook.MeasureInput{"PI_HIE_1": excl("PI_LVOTC_1"), "PI_PEA_1": prop(1, 2)}),
			want: []want{{"PI_PEA_1", "60", 30}, {"PI_HIE_4", "20", 20}}, total: 70,
		},
		{
			name: "MIPS 2019: both public health exclusions move 10 to PEA", program: rulebook.MIPS, year: 2019, entity: rulebook.EP,
			ms: with(mipsFull(2019), map[string]rulebook.MeasureInput{
				"PI_PHCDRR_1": excl("PI_PHCDRR_1_EX_1"), "PI_PHCDRR_2": excl("PI_PHCDRR_2_EX_2"), "PI_PEA_1": prop(1, 2)}),
			want: []want{{"PI_PEA_1", "50", 25}}, total: 75,
		},
		{
			name: "MIPS 2019: one registry yes and one excluded earns the full 10", program: rulebook.MIPS, year: 2019, entity: rulebook.EP,
			ms:   with(mipsFull(2019), map[string]rulebook.MeasureInput{"PI_PHCDRR_2": excl("PI_PHCDRR_2_EX_1")}),
			want: []want{{"PI_PEA_1", "40", 40}}, total: 100,
		},
		{
			name: "MIPS 2019: one registry alone earns 5 of 10", program: rulebook.MIPS, year: 2019, entity: rulebook.EP,
			ms:   with(mipsFull(2019), map[string]rulebook.MeasureInput{"PI_PHCDRR_2": none}),
			want: []want{{"PI_PEA_1", "40", 40}}, total: 95,
		},
		{
			name: "MIPS 2022: e-Prescribing exclusion goes whole to the bi-directional alternative", program: rulebook.MIPS, year: 2022, entity: rulebook.Group,
			ms: with(mipsFull(2022), map[string]rulebook.MeasureInput{
				"PI_EP_1": excl("PI_LVPP_1"), "PI_HIE_1": none, "PI_HIE_4": none, "PI_HIE_5": ans(true)}),
			want: []want{{"PI_HIE_5", "50", 50}, {"PI_PEA_1", "40", 40}}, total: 100,
		},
		{
			name: "MIPS 2023: PDMP exclusion moves 10 to e-Prescribing", program: rulebook.MIPS, year: 2023, entity: rulebook.EP,
			ms:   with(mipsFull(2023), map[string]rulebook.MeasureInput{"PI_EP_2": excl("PI_EP_2_EX_1"), "PI_EP_1": prop(1, 4)}),
			want: []want{{"PI_EP_1", "20", 5}, {"PI_EP_2", "", 0}}, total: 85,
		},
		{
			name: "MIPS 2023: PDMP and e-Prescribing excluded send 20 on to HIE, 10 each", program: rulebook.MIPS, year: 2023, entity: rulebook.EP,
			ms: with(mipsFull(2023), map[string]rulebook.MeasureInput{
				"PI_EP_2": excl("PI_EP_2_EX_2"), "PI_EP_1": excl("PI_LVPP_1"), "PI_HIE_1": prop(1, 2)}),
			want: []want{{"PI_HIE_1", "25", 13}, {"PI_HIE_4", "25", 25}}, total: 88,
		},
		{
			name: "MIPS 2023: both required registries excluded move 25 to PEA", program: rulebook.MIPS, year: 2023, entity: rulebook.EP,
			ms: with(mipsFull(2023), map[string]rulebook.MeasureInput{
				"PI_PHCDRR_1": excl("PI_PHCDRR_1_EX_3"), "PI_PHCDRR_3": excl("PI_PHCDRR_3_EX_4"), "PI_PEA_1": prop(3, 5)}),
			want: []want{{"PI_PEA_1", "50", 30}}, total: 80,
		},
		{
			name: "hospital 2019: e-Prescribing exclusion splits 10 over HIE", program: rulebook.HospitalPI, year: 2019, entity: rulebook.EH,
			ms:   with(hospitalFull(2019), map[string]rulebook.MeasureInput{"EHPI_EP_1": excl("EHPI_EP_1_EX_1"), "EHPI_HIE_4": prop(1, 2)}),
			want: []want{{"EHPI_HIE_1", "25", 25}, {"EHPI_HIE_4", "25", 13}}, total: 88,
		},
		{
			name: "hospital 2025: e-Prescribing exclusion splits 10 over HIE (15 + 5 each)", program: rulebook.HospitalPI, year: 2025, entity: rulebook.EH,
			ms:   with(hospitalFull(2025), map[string]rulebook.MeasureInput{"EHPI_EP_1": excl("EHPI_EP_1_EX_1")}),
			want: []want{{"EHPI_HIE_1", "20", 20}, {"EHPI_HIE_4", "20", 20}}, total: 100,
		},
		{
			name: "hospital 2025: every required registry excluded moves 25 to PEA", program: rulebook.HospitalPI, year: 2025, entity: rulebook.CAH,
			ms: with(hospitalFull(2025), map[string]rulebook.MeasureInput{
				"EHPI_PH_IMM": excl("EHPI_PH_IMM_EX_1"), "EHPI_PH_SS": excl("EHPI_PH_SS_EX_1"), "EHPI_PH_ECR": excl("EHPI_PH_ECR_EX_2"),
				"EHPI_PH_ELR": excl("EHPI_PH_ELR_EX_3"), "EHPI_PH_AU": excl("EHPI_PH_AU_EX_1"), "EHPI_PH_AR": excl("EHPI_PH_AR_EX_1"),
				"EHPI_PEA_1": prop(1, 2)}),
			want: []want{{"EHPI_PEA_1", "50", 25}}, total: 75,
		},
		{
			name: "hospital 2025: TEFCA alternative takes the e-Prescribing points", program: rulebook.HospitalPI, year: 2025, entity: rulebook.EH,
			ms: with(hospitalFull(2025), map[string]rulebook.MeasureInput{
				"EHPI_EP_1": excl("EHPI_EP_1_EX_1"), "EHPI_HIE_1": none, "EHPI_HIE_4": none, "EHPI_HIE_6": ans(true)}),
			want: []want{{"EHPI_HIE_6", "40", 40}}, total: 100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, tt.program, tt.year, tt.entity, tt.ms)
			for _, w := range tt.want {
				if p, m := points(t, r, w.id); p != w.points || m != w.max {
					t.Errorf("%s = %d of %q points, want %d of %q", w.id, p, m, w.points, w.max)
				}
			}
			if r.Score.Total != tt.total || !r.Pass {
				t.Errorf("total = %d pass=%v failures=%v, want %d and pass\n%s", r.Score.Total, r.Pass, r.Failures, tt.total, strings.Join(r.Steps, "\n"))
			}
		})
	}
}

func TestRequiredAndPrerequisites(t *testing.T) {
	tests := []struct {
		name     string
		program  rulebook.Program
		year     int
		entity   rulebook.EntityType
		ms       map[string]rulebook.MeasureInput
		pass     bool
		total    int64
		failWith string
	}{
		{"MIPS: a required measure with numerator 0 zeroes the category", rulebook.MIPS, 2024, rulebook.EP,
			with(mipsFull(2024), map[string]rulebook.MeasureInput{"PI_PEA_1": prop(0, 50)}), false, 0, "PI_PEA_1"},
		{"MIPS: numerator 1 is enough to be scored", rulebook.MIPS, 2024, rulebook.EP,
			with(mipsFull(2024), map[string]rulebook.MeasureInput{"PI_PEA_1": prop(1, 1000)}), true, 75, ""},
		{"MIPS: security risk analysis 'no' zeroes the category", rulebook.MIPS, 2021, rulebook.EP,
			with(mipsFull(2021), map[string]rulebook.MeasureInput{"PI_PPHI_1": ans(false)}), false, 0, "PI_PPHI_1"},
		{"MIPS 2022: SAFER 'no' is still an attestation", rulebook.MIPS, 2022, rulebook.EP,
			with(mipsFull(2022), map[string]rulebook.MeasureInput{"PI_PPHI_2": ans(false)}), true, 100, ""},
		{"MIPS 2024: SAFER must be 'yes'", rulebook.MIPS, 2024, rulebook.EP,
			with(mipsFull(2024), map[string]rulebook.MeasureInput{"PI_PPHI_2": ans(false)}), false, 0, "PI_PPHI_2"},
		{"MIPS 2023: PDMP is required", rulebook.MIPS, 2023, rulebook.EP,
			with(mipsFull(2023), map[string]rulebook.MeasureInput{"PI_EP_2": none}), false, 0, "PI_EP_2"},
		{"MIPS 2022: PDMP is a bonus", rulebook.MIPS, 2022, rulebook.EP,
			with(mipsFull(2022), map[string]rulebook.MeasureInput{"PI_EP_2": ans(true), "PI_PEA_1": prop(1, 2)}), true, 90, ""},
		{"MIPS 2023: immunization registry 'no' fails", rulebook.MIPS, 2023, rulebook.EP,
			with(mipsFull(2023), map[string]rulebook.MeasureInput{"PI_PHCDRR_1": ans(false)}), false, 0, "PI_PHCDRR_1"},
		{"MIPS: a volume exclusion that does not hold fails the measure", rulebook.MIPS, 2023, rulebook.EP,
			with(mipsFull(2023), map[string]rulebook.MeasureInput{"PI_EP_1": exclVol("PI_LVPP_1", 100)}), false, 0, "fewer than 100"},
		{"MIPS: HIE missing with no alternative fails", rulebook.MIPS, 2021, rulebook.EP,
			with(mipsFull(2021), map[string]rulebook.MeasureInput{"PI_HIE_4": none}), false, 0, "PI_HIE_4"},
		{"MIPS 2023: bonus registry adds 5, capped at 100", rulebook.MIPS, 2023, rulebook.EP,
			with(mipsFull(2023), map[string]rulebook.MeasureInput{"PI_PHCDRR_4": ans(true)}), true, 100, ""},
		{"hospital 2019: 49 points is below the minimum 50", rulebook.HospitalPI, 2019, rulebook.EH,
			with(hospitalFull(2019), map[string]rulebook.MeasureInput{"EHPI_PEA_1": prop(1, 2), "EHPI_HIE_1": prop(1, 4), "EHPI_HIE_4": prop(4, 20)}),
			false, 49, "minimum 50"},
		{"hospital 2019: 50 points meets the minimum", rulebook.HospitalPI, 2019, rulebook.EH,
			with(hospitalFull(2019), map[string]rulebook.MeasureInput{"EHPI_PEA_1": prop(1, 2), "EHPI_HIE_1": prop(1, 4), "EHPI_HIE_4": prop(1, 4)}),
			true, 50, ""},
		{"hospital 2022: 59 is below 60", rulebook.HospitalPI, 2022, rulebook.EH,
			with(hospitalFull(2022), map[string]rulebook.MeasureInput{"EHPI_PEA_1": prop(1, 8), "EHPI_HIE_1": prop(14, 20), "EHPI_HIE_4": prop(1, 1)}),
			false, 59, "minimum 60"},
		{"hospital 2025: 70 meets the minimum 70", rulebook.HospitalPI, 2025, rulebook.EH,
			with(hospitalFull(2025), map[string]rulebook.MeasureInput{"EHPI_PEA_1": prop(1, 5), "EHPI_HIE_1": prop(1, 3)}),
			true, 70, ""},
		{"hospital 2025: 69 fails the minimum 70", rulebook.HospitalPI, 2025, rulebook.EH,
			with(hospitalFull(2025), map[string]rulebook.MeasureInput{"EHPI_PEA_1": prop(1, 5), "EHPI_HIE_1": prop(1, 4)}),
			false, 69, "minimum 70"},
		{"hospital: numerator 0 on a required measure fails whatever the score", rulebook.HospitalPI, 2023, rulebook.EH,
			with(hospitalFull(2023), map[string]rulebook.MeasureInput{"EHPI_HIE_1": prop(0, 10)}), false, 85, "EHPI_HIE_1"},
		{"hospital 2024: AUR registry is required", rulebook.HospitalPI, 2024, rulebook.EH,
			with(hospitalFull(2024), map[string]rulebook.MeasureInput{"EHPI_PH_AUR": none}), false, 75, "EHPI_PH_AUR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, tt.program, tt.year, tt.entity, tt.ms)
			if r.Pass != tt.pass || r.Score.Total != tt.total {
				t.Errorf("pass=%v total=%d, want pass=%v total=%d\nfailures: %v\n%s", r.Pass, r.Score.Total, tt.pass, tt.total, r.Failures, strings.Join(r.Steps, "\n"))
			}
			if tt.failWith != "" && !strings.Contains(strings.Join(r.Failures, "\n"), tt.failWith) {
				t.Errorf("failures %v do not mention %q", r.Failures, tt.failWith)
			}
		})
	}
}

// ms2EP is a Modified Stage 2 EP submission meeting every objective.
func ms2EP() map[string]rulebook.MeasureInput {
	return map[string]rulebook.MeasureInput{
		"MS2-EP-01": ans(true), "MS2-EP-02.1": ans(true), "MS2-EP-02.2": ans(true),
		"MS2-EP-03.1": prop(70, 100), "MS2-EP-03.2": prop(40, 100), "MS2-EP-03.3": prop(40, 100),
		"MS2-EP-04": prop(60, 100), "MS2-EP-05": prop(20, 100), "MS2-EP-06": prop(20, 100), "MS2-EP-07": prop(60, 100),
		"MS2-EP-08.1": prop(60, 100), "MS2-EP-08.2": prop(1, 100), "MS2-EP-09": prop(1, 100),
		"MS2-EP-10.1": ans(true), "MS2-EP-10.2": ans(true),
	}
}

func s3EP() map[string]rulebook.MeasureInput {
	return map[string]rulebook.MeasureInput{
		"S3-01": ans(true), "S3-02": prop(70, 100), "S3-03.1": ans(true), "S3-03.2": ans(true),
		"S3-04.1": prop(70, 100), "S3-04.2": prop(70, 100), "S3-04.3": prop(70, 100),
		"S3-05.1": prop(90, 100), "S3-05.2": prop(40, 100),
		"S3-06.1": prop(10, 100), "S3-06.2": prop(10, 100), "S3-06.3": prop(10, 100),
		"S3-07.1": prop(60, 100), "S3-07.2": prop(50, 100), "S3-07.3": prop(90, 100),
		"S3-08.1": ans(true), "S3-08.2": ans(true),
	}
}

func TestMeaningfulUse(t *testing.T) {
	tests := []struct {
		name      string
		program   rulebook.Program
		year      int
		entity    rulebook.EntityType
		ms        map[string]rulebook.MeasureInput
		pass      bool
		objective string // an objective whose status is checked
		status    rulebook.Status
	}{
		{"MS2 EP 2016: all met", rulebook.ModifiedStage2, 2016, rulebook.EP, ms2EP(), true, "MS2-EP-08", rulebook.Met},
		{"MS2 EP: eRx 50.00% fails more than 50%", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-04": prop(50, 100)}), false, "MS2-EP-04", rulebook.NotMet},
		{"MS2 EP: eRx 50.01% passes", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-04": prop(5001, 10000)}), true, "MS2-EP-04", rulebook.Met},
		{"MS2 EP: eRx excluded with fewer than 100 prescriptions", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-04": exclVol("LT100_RX", 99)}), true, "MS2-EP-04", rulebook.Excluded},
		{"MS2 EP: eRx exclusion with 100 prescriptions does not hold", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-04": exclVol("LT100_RX", 100)}), false, "MS2-EP-04", rulebook.NotMet},
		{"MS2 EP 2016: VDT at least one patient — zero fails", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-08.2": prop(0, 100)}), false, "MS2-EP-08", rulebook.NotMet},
		{"MS2 EP 2015: secure messaging is a yes/no capability", rulebook.ModifiedStage2, 2015, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-09": ans(true)}), true, "MS2-EP-09", rulebook.Met},
		{"MS2 EP 2017: secure messaging 5.00% fails more than 5%", rulebook.ModifiedStage2, 2017, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-09": prop(5, 100)}), false, "MS2-EP-09", rulebook.NotMet},
		{"MS2 EP 2015: alternate exclusion for education", rulebook.ModifiedStage2, 2015, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-06": excl("ALT_2015"), "MS2-EP-09": ans(true)}), true, "MS2-EP-06", rulebook.Excluded},
		{"MS2 EP: public health with one registry only fails", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-10.2": none}), false, "MS2-EP-10", rulebook.NotMet},
		{"MS2 EP: specialized registry counts twice", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-10.1": none, "MS2-EP-10.2": none, "MS2-EP-10.3": ans(true), "MS2-EP-10.4": ans(true)}),
			true, "MS2-EP-10", rulebook.Met},
		{"MS2 EP: one registry met and the rest excluded", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-10.2": excl("NO_CAPABLE_AGENCY"), "MS2-EP-10.3": excl("NOT_APPLICABLE"), "MS2-EP-10.4": excl("NOT_APPLICABLE")}),
			true, "MS2-EP-10", rulebook.Met},
		{"MS2 EP: every CPOE measure excluded excludes the objective", rulebook.ModifiedStage2, 2016, rulebook.EP,
			with(ms2EP(), map[string]rulebook.MeasureInput{"MS2-EP-03.1": excl("LT100_MED_ORDERS"), "MS2-EP-03.2": excl("LT100_LAB_ORDERS"), "MS2-EP-03.3": excl("LT100_RAD_ORDERS")}),
			true, "MS2-EP-03", rulebook.Excluded},
		{"Stage 3 EP: all met", rulebook.Stage3, 2019, rulebook.EP, s3EP(), true, "S3-06", rulebook.Met},
		{"Stage 3 EP: request/incorporate 40.00% fails, objective 7 still meets two", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-07.2": prop(40, 100)}), true, "S3-07", rulebook.Met},
		{"Stage 3 EP: two of objective 7 below threshold fails it", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-07.2": prop(40, 100), "S3-07.3": prop(80, 100)}), false, "S3-07", rulebook.NotMet},
		{"Stage 3 EP: 40.01% meets it", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-07.2": prop(4001, 10000), "S3-07.3": prop(80, 100)}), true, "S3-07", rulebook.Met},
		{"Stage 3 EP: attest to all three — a missing measure fails", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-06.3": none}), false, "S3-06", rulebook.NotMet},
		{"Stage 3 EP: one excluded, the other two must both be met", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-06.1": excl("BROADBAND"), "S3-06.2": prop(5, 100)}), false, "S3-06", rulebook.NotMet},
		{"Stage 3 EP: two excluded, the remaining one met", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-06.1": excl("BROADBAND"), "S3-06.2": excl("NO_OFFICE_VISITS"), "S3-06.3": prop(6, 100)}), true, "S3-06", rulebook.Met},
		{"Stage 3 EP: all three excluded excludes the objective", rulebook.Stage3, 2019, rulebook.EP,
			with(s3EP(), map[string]rulebook.MeasureInput{"S3-06.1": excl("BROADBAND"), "S3-06.2": excl("BROADBAND"), "S3-06.3": excl("BROADBAND")}), true, "S3-06", rulebook.Excluded},
		{"Stage 3 EH 2018: secure messaging needs more than 25%", rulebook.Stage3, 2018, rulebook.EH,
			map[string]rulebook.MeasureInput{"S3-06.1": prop(11, 100), "S3-06.2": prop(25, 100), "S3-06.3": prop(4, 100)}, false, "S3-06", rulebook.NotMet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, tt.program, tt.year, tt.entity, tt.ms)
			if r.Pass != tt.pass {
				t.Errorf("pass = %v, want %v; failures: %v", r.Pass, tt.pass, r.Failures)
			}
			for _, o := range r.Objectives {
				if o.ID == tt.objective && o.Status != tt.status {
					t.Errorf("objective %s = %s (%s), want %s", o.ID, o.Status, o.Reason, tt.status)
				}
			}
			if r.Score != nil {
				t.Errorf("a pass/fail book has no score: %+v", r.Score)
			}
		})
	}
}

func TestACI2017(t *testing.T) {
	base := map[string]rulebook.MeasureInput{
		"ACI_INFBLO_1": ans(true), "ACI_ONCDIR_1": ans(true), "ACI_PPHI_1": ans(true),
		"ACI_EP_1": prop(1, 100), "ACI_PEA_1": prop(95, 100), "ACI_HIE_1": prop(5, 100), "ACI_HIE_2": excl("ACI_LVITC_1"),
	}
	tests := []struct {
		name  string
		ms    map[string]rulebook.MeasureInput
		total int64
	}{
		// 50 base + PEA_1 decile 10 = 10 + HIE_1 5% decile 1 = 1.
		{"base and performance", base, 61},
		{"10.5% is the second decile", with(base, map[string]rulebook.MeasureInput{"ACI_HIE_1": prop(105, 1000)}), 62},
		{"10.0% is the first decile", with(base, map[string]rulebook.MeasureInput{"ACI_HIE_1": prop(10, 100)}), 61},
		{"immunization yes 10, an extra registry 5 once, CEHRT activity 10", with(base, map[string]rulebook.MeasureInput{
			"ACI_PHCDRR_1": ans(true), "ACI_PHCDRR_2": ans(true), "ACI_PHCDRR_3": ans(true), "ACI_IACEHRT_1": ans(true)}), 86},
		{"capped at 100", with(base, map[string]rulebook.MeasureInput{
			"ACI_PHCDRR_1": ans(true), "ACI_PHCDRR_2": ans(true), "ACI_IACEHRT_1": ans(true), "ACI_PEA_2": prop(1, 1), "ACI_CCTPE_1": prop(1, 1)}), 100},
		{"a base measure with numerator 0 scores 0", with(base, map[string]rulebook.MeasureInput{"ACI_EP_1": prop(0, 100)}), 0},
		{"security risk analysis 'no' scores 0", with(base, map[string]rulebook.MeasureInput{"ACI_PPHI_1": ans(false)}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(t, rulebook.MIPS, 2017, rulebook.EP, tt.ms)
			if r.Score.Total != tt.total {
				t.Errorf("total = %d, want %d\n%s", r.Score.Total, tt.total, strings.Join(r.Steps, "\n"))
			}
		})
	}
}

func TestEvaluateRejectsBadInput(t *testing.T) {
	b, err := rulebook.Lookup(rulebook.MIPS, 2023, rulebook.EP)
	if err != nil {
		t.Fatal(err)
	}
	neg := int64(-1)
	tests := []struct {
		name  string
		in    rulebook.Input
		kind  errs.Kind
		field string
	}{
		{"unknown measure", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_NOPE": prop(1, 1)}}, errs.Invalid, "measures.PI_NOPE"},
		{"numerator above denominator", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_PEA_1": prop(5, 4)}}, errs.Invalid, "measures.PI_PEA_1.numerator"},
		{"negative counts", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_PEA_1": prop(-1, 4)}}, errs.Invalid, "measures.PI_PEA_1"},
		{"an answer on a proportion", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_PEA_1": ans(true)}}, errs.Invalid, "measures.PI_PEA_1.answer"},
		{"counts on a yes/no", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_EP_2": prop(1, 2)}}, errs.Invalid, "measures.PI_EP_2"},
		{"yes/no without an answer", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_EP_2": {}}}, errs.Invalid, "measures.PI_EP_2.answer"},
		{"unknown exclusion", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_PEA_1": excl("PI_LVPP_1")}}, errs.Invalid, "measures.PI_PEA_1.exclusion"},
		{"measure and exclusion together", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_EP_1": {Numerator: 1, Denominator: 2, Exclusion: "PI_LVPP_1"}}}, errs.Invalid, "measures.PI_EP_1"},
		{"negative volume", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_EP_1": {Exclusion: "PI_LVPP_1", Volume: &neg}}}, errs.Invalid, "measures.PI_EP_1.volume"},
		{"alternative with what it replaces", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_HIE_5": ans(true), "PI_HIE_1": prop(1, 2)}}, errs.Invalid, "measures.PI_HIE_1"},
		{"two alternatives", rulebook.Input{Measures: map[string]rulebook.MeasureInput{"PI_HIE_5": ans(true), "PI_HIE_6": ans(true)}}, errs.Invalid, "measures.PI_HIE_5"},
		{"period too short", rulebook.Input{Period: &rulebook.Period{From: date("2023-01-01"), To: date("2023-03-30")}}, errs.Unprocessable, "period.to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rulebook.Evaluate(b, tt.in)
			if !errs.Is(tt.kind, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err = %v (kind %v, field %q), want %v on %q", err, errs.KindOf(err), errs.FieldOf(err), tt.kind, tt.field)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		program rulebook.Program
		year    int
		entity  rulebook.EntityType
		field   string
	}{
		{"unknown program", "stage-9", 2020, rulebook.EP, "program"},
		{"unknown entity", rulebook.MIPS, 2020, "clinic", "entity_type"},
		{"MIPS has no hospitals", rulebook.MIPS, 2020, rulebook.EH, "year"},
		{"hospital PI has no EPs", rulebook.HospitalPI, 2020, rulebook.EP, "year"},
		{"before MIPS", rulebook.MIPS, 2016, rulebook.EP, "year"},
		{"Modified Stage 2 ended in 2018", rulebook.ModifiedStage2, 2019, rulebook.EP, "year"},
		{"Stage 3 has no groups", rulebook.Stage3, 2019, rulebook.Group, "year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rulebook.Lookup(tt.program, tt.year, tt.entity)
			if !errs.Is(errs.Invalid, err) || errs.FieldOf(err) != tt.field {
				t.Errorf("err = %v, want invalid %q", err, tt.field)
			}
		})
	}
}
