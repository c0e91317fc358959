package export

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/border"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/props"

	"github.com/attest-ehr/attest/services/reporting/internal/report"
)

// Seal is what the PDF says about the attestation a report was frozen in.
type Seal struct {
	ID       string
	FrozenBy string
	FrozenAt time.Time
	SHA256   string // of the attestation's canonical payload
	KeyID    string
}

// PDF renders the report as an attestation packet: who, which program and period,
// when it was generated and how current its data was, the measure logic and log
// positions, the outcome and score, a tile per measure, a table of every measure
// with its reason, the money with its formula, and the attestation's SHA-256. Member
// lists are not printed (a million rows is not a packet); their counts are, and the
// CSV export carries them. Without a seal the packet is marked a draft and shows the
// SHA-256 of the report's JSON.
func PDF(r report.Report, seal *Seal) ([]byte, error) {
	hash, label := "", "Attestation SHA-256"
	if seal != nil {
		hash = seal.SHA256
	} else {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("pdf: %w", err)
		}
		sum := sha256.Sum256(b)
		hash, label = hex.EncodeToString(sum[:]), "Draft (not attested); report JSON SHA-256"
	}
	cfg := config.NewBuilder().WithPageNumber().WithLeftMargin(12).WithRightMargin(12).WithTopMargin(12).
		WithTitle("Attestation packet "+r.Entity.String(), true).WithCreator("Attest", true).
		WithCreationDate(r.GeneratedAt).Build()
	m := maroto.New(cfg)
	if err := m.RegisterFooter(text.NewRow(6, pdfText(label+": "+hash), props.Text{Size: 6, Align: align.Center})); err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	bold := props.Text{Style: fontstyle.Bold, Size: 9}
	small := props.Text{Size: 8}
	m.AddRows(text.NewRow(12, "Attestation packet", props.Text{Style: fontstyle.Bold, Size: 16, Align: align.Center}))
	m.AddRows(text.NewRow(8, pdfText(fmt.Sprintf("%s, performance year %d", r.Program, r.Year)), props.Text{Size: 11, Align: align.Center}))

	info := [][2]string{
		{"Entity", fmt.Sprintf("%s (%s)", r.Entity, r.EntityType)},
		{"Reporting period", r.Period.From + " to " + r.Period.To},
		{"Generated at", stamp(r.GeneratedAt)},
		{"Data current as of", stamp(r.DataAsOf)},
		{"Measure logic", r.LogicVersion},
		{"Log positions", positions(r.Positions)},
	}
	if r.CEHRTID != "" {
		info = append(info, [2]string{"CEHRT ID", r.CEHRTID})
	}
	if seal != nil {
		info = append(info, [2]string{"Attestation", seal.ID}, [2]string{"Frozen", stamp(seal.FrozenAt) + " by " + seal.FrozenBy},
			[2]string{"Signing key", seal.KeyID})
	}
	info = append(info, [2]string{label, hash})
	for _, kv := range info {
		m.AddAutoRow(text.NewCol(3, pdfText(kv[0]), bold), text.NewCol(9, pdfText(kv[1]), small))
	}

	outcome := "Outcome: does not pass"
	if r.Pass {
		outcome = "Outcome: passes"
	}
	if r.Score != nil {
		outcome += fmt.Sprintf("; score %d of %d", r.Score.Total, r.Score.Max)
		if r.Score.Minimum > 0 {
			outcome += fmt.Sprintf(" (minimum %d)", r.Score.Minimum)
		}
		if r.Score.Weighted != "" {
			outcome += "; weighted " + r.Score.Weighted
		}
	}
	m.AddRows(row.New(4))
	m.AddRows(text.NewRow(8, pdfText(outcome), props.Text{Style: fontstyle.Bold, Size: 11}))
	for _, f := range r.Failures {
		m.AddAutoRow(text.NewCol(12, pdfText("- "+f), small))
	}
	for _, o := range r.Objectives {
		m.AddAutoRow(text.NewCol(4, pdfText(o.Title), small), text.NewCol(2, pdfText(fmt.Sprintf("%s, %d points", o.Status, o.Points)), small),
			text.NewCol(6, pdfText(o.Reason), small))
	}

	m.AddRows(row.New(4), text.NewRow(8, "Measures", props.Text{Style: fontstyle.Bold, Size: 11}))
	m.AddRows(tiles(r.Measures)...)

	m.AddRows(row.New(4), text.NewRow(8, "Measure table", props.Text{Style: fontstyle.Bold, Size: 11}))
	head := []string{"Measure", "Status", "Num.", "Den.", "Rate", "Threshold", "Points", "Reason"}
	sizes := []int{2, 1, 1, 1, 1, 1, 1, 4}
	m.AddAutoRow(cells(head, sizes, props.Text{Style: fontstyle.Bold, Size: 7})...)
	for _, ms := range r.Measures {
		m.AddAutoRow(cells([]string{ms.ID, string(ms.Status), count(ms, ms.Numerator), count(ms, ms.Denominator),
			percent(ms), ms.Threshold, points(ms), ms.Reason}, sizes, props.Text{Size: 7})...)
	}

	if r.Money != nil || r.Incentive != nil {
		m.AddRows(row.New(4), text.NewRow(8, "Money", props.Text{Style: fontstyle.Bold, Size: 11}))
	}
	for _, mo := range []*report.Money{r.Incentive, r.Money} {
		if mo == nil {
			continue
		}
		line := fmt.Sprintf("%s (payment year %d)", mo.Outcome, mo.PaymentYear)
		if mo.Amount != nil {
			line += ": " + mo.Amount.String()
		}
		m.AddAutoRow(text.NewCol(12, pdfText(line), small))
		m.AddAutoRow(text.NewCol(12, pdfText("Formula: "+mo.Explanation.Formula), small))
		for _, in := range mo.Explanation.Inputs {
			m.AddAutoRow(text.NewCol(12, pdfText("Input: "+in.Name+" = "+in.Value), small))
		}
		for _, s := range mo.Explanation.Steps {
			m.AddAutoRow(text.NewCol(12, pdfText("- "+s), small))
		}
	}
	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("pdf: %w", err)
	}
	return doc.GetBytes(), nil
}

// tiles lays the measures out three to a row: ID, title, numbers, threshold,
// points and status, with the member count behind the numbers.
func tiles(ms []report.Measure) []core.Row {
	var rows []core.Row
	for i := 0; i < len(ms); i += 3 {
		r := row.New(30)
		for _, m := range ms[i:min(i+3, len(ms))] {
			nums := answer(m)
			if m.Kind == report.Proportion && m.Exclusion == "" && m.Reported {
				nums = fmt.Sprintf("%d / %d = %s", m.Numerator, m.Denominator, percent(m))
			}
			c := col.New(4).Add(
				text.New(pdfText(m.ID), props.Text{Style: fontstyle.Bold, Size: 9, Top: 1, Left: 1}),
				text.New(pdfText(m.Title), props.Text{Size: 6, Top: 5, Left: 1, Right: 1}),
				text.New(pdfText(nums), props.Text{Style: fontstyle.Bold, Size: 9, Top: 12, Left: 1}),
				text.New(pdfText("Threshold "+m.Threshold+" | points "+points(m)), props.Text{Size: 7, Top: 17, Left: 1}),
				text.New(pdfText(fmt.Sprintf("Status: %s | %d listed", m.Status, len(m.Members))), props.Text{Size: 7, Top: 22, Left: 1}),
			).WithStyle(&props.Cell{BorderType: border.Full, BorderThickness: 0.2})
			r.Add(c)
		}
		rows = append(rows, r)
	}
	return rows
}

func cells(values []string, sizes []int, p props.Text) []core.Col {
	out := make([]core.Col, len(values))
	for i, v := range values {
		out[i] = text.NewCol(sizes[i], pdfText(v), p)
	}
	return out
}

func percent(m report.Measure) string {
	if m.Percent == "" {
		return ""
	}
	return m.Percent + "%"
}

func points(m report.Measure) string {
	if m.MaxPoints == "" {
		return fmt.Sprint(m.Points)
	}
	return fmt.Sprintf("%d of %s", m.Points, m.MaxPoints)
}

func answer(m report.Measure) string {
	switch {
	case !m.Reported:
		return "not reported"
	case m.Exclusion != "":
		return "excluded: " + m.Exclusion
	case m.Answer != nil && *m.Answer:
		return "yes"
	case m.Answer != nil:
		return "no"
	}
	return ""
}

func positions(ps []report.Position) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s/%d@%d", p.Topic, p.Partition, p.Offset)
	}
	return strings.Join(parts, ", ")
}

// pdfSymbols maps the symbols our texts use that the PDF core fonts
// (Windows-1252) lack to ASCII, so they print as meant rather than as "?".
var pdfSymbols = strings.NewReplacer("≥", ">=", "≤", "<=", "→", "->", "⚠", "(!)", "−", "-", "½", "1/2", "…", "...")

// pdfText prepares text for the PDF's core fonts.
func pdfText(s string) string { return pdfSymbols.Replace(s) }
