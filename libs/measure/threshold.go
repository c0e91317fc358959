package measure

import "fmt"

// Op is how a ratio is compared with its threshold.
type Op string

// The comparisons.
const (
	NoThreshold Op = ""             // yes/no measures, and ratios reported without a pass mark
	MoreThan    Op = "more than"    // numerator/denominator > P% (§2.3: "more than X percent")
	AtLeast     Op = "at least"     // numerator/denominator ≥ P% (Stage 1 timely access, "at least 10 percent")
	AtLeastOne  Op = "at least one" // numerator ≥ 1 (MIPS and hospital PI from 2019, some Modified Stage 2 years)
	Attested    Op = "yes"          // a yes/no measure: the answer must be yes
)

// Threshold is a measure's pass mark.
type Threshold struct {
	Op      Op
	Percent int // for MoreThan and AtLeast; every CMS threshold is a whole percent
}

// Over is "more than p percent".
func Over(p int) Threshold { return Threshold{Op: MoreThan, Percent: p} }

// String is how CMS words it: "more than 50%", "at least one", "yes".
func (t Threshold) String() string {
	switch t.Op {
	case MoreThan, AtLeast:
		return fmt.Sprintf("%s %d%%", t.Op, t.Percent)
	case NoThreshold:
		return "none"
	}
	return string(t.Op)
}

// Met reports whether numerator num of denominator den passes, exactly: the rule text
// ("more than 40 percent") compared in integers, num×100 > P×den, so no rounding can
// pass a rate that is not above the mark. A zero denominator never passes a
// percentage (the measure is then excluded or failed, which the caller decides).
func (t Threshold) Met(num, den int) bool {
	switch t.Op {
	case MoreThan:
		return den > 0 && int64(num)*100 > int64(t.Percent)*int64(den)
	case AtLeast:
		return den > 0 && int64(num)*100 >= int64(t.Percent)*int64(den)
	case AtLeastOne:
		return num >= 1
	}
	return false
}

// Borderline reports whether the exact comparison and CMS's attestation portal could
// disagree: the portal showed percentages to hundredths (§2.3, [TN-S1CM4]), so a rate
// just above a "more than" mark (40.004%) shows as 40.00%, which the portal failed.
// Whether it rounded or truncated is not documented; a borderline result should be
// reviewed before attesting.
func (t Threshold) Borderline(num, den int) bool {
	if t.Op != MoreThan || den <= 0 {
		return false
	}
	// Met exactly, but below P + 0.005 percent: num×100×200 < (200P + 1)×den.
	return t.Met(num, den) && int64(num)*20000 < (200*int64(t.Percent)+1)*int64(den)
}
