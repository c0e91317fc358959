package console

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// The charts are drawn on the server as inline SVG from numbers only (nothing a user
// typed reaches the markup), so they need no script and print as they show. Each
// chart is decorative next to its numbers in words, or carries its own text
// alternative.

// thresholdPercent reads the percentage of a threshold such as "> 50%" or "≥ 10%";
// ok is false for "none" and yes/no measures.
func thresholdPercent(s string) (float64, bool) {
	m := percentRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}

var percentRE = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?)\s*%`)

// rateBar draws the rate as a bar from 0 to 100% with a marker at the threshold.
// rate and threshold are percentages; hasThreshold false draws no marker.
func rateBar(rate, threshold float64, hasThreshold bool) template.HTML {
	const w, h = 200.0, 16.0
	rate = clamp(rate, 0, 100)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" viewBox="0 0 %g %g" width="%g" height="%g" aria-hidden="true" focusable="false">`, w, h+8, w, h+8)
	fmt.Fprintf(&b, `<rect x="0" y="4" width="%g" height="%g" class="bar-track"/>`, w, h)
	fmt.Fprintf(&b, `<rect x="0" y="4" width="%.1f" height="%g" class="bar-fill"/>`, w*rate/100, h)
	if hasThreshold {
		x := w * clamp(threshold, 0, 100) / 100
		fmt.Fprintf(&b, `<line x1="%.1f" y1="0" x2="%.1f" y2="%g" class="bar-mark"/>`, x, x, h+8)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers only
}

// sparkline draws weekly rates (percentages; NaN for a week with no denominator) as a
// line, with the threshold as a dashed line. label is its text alternative.
func sparkline(rates []float64, threshold float64, hasThreshold bool, label string) template.HTML {
	const w, h, pad = 120.0, 32.0, 2.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		w, h, w, h, template.HTMLEscapeString(label))
	y := func(v float64) float64 { return pad + (h-2*pad)*(1-clamp(v, 0, 100)/100) }
	if hasThreshold {
		fmt.Fprintf(&b, `<line x1="0" y1="%.1f" x2="%g" y2="%.1f" class="spark-mark"/>`, y(threshold), w, y(threshold))
	}
	step := w
	if len(rates) > 1 {
		step = (w - 2*pad) / float64(len(rates)-1)
	}
	var pts []string
	flush := func() {
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline points="%s" class="spark-line"/>`, strings.Join(pts, " "))
		} else if len(pts) == 1 {
			var x, yy float64
			fmt.Sscanf(pts[0], "%g,%g", &x, &yy)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.5" class="spark-dot"/>`, x, yy)
		}
		pts = pts[:0]
	}
	for i, r := range rates {
		if math.IsNaN(r) {
			flush()
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", pad+step*float64(i), y(r)))
	}
	flush()
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and an escaped label
}

// trendBars draws a small bar per value (counts), scaled to the largest; for the
// KPI trends. label is its text alternative.
func trendBars(values []float64, label string) template.HTML {
	const w, h = 120.0, 28.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="trend" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		w, h, w, h, template.HTMLEscapeString(label))
	top := 0.0
	for _, v := range values {
		top = math.Max(top, v)
	}
	if len(values) > 0 && top > 0 {
		bw := w / float64(len(values))
		for i, v := range values {
			bh := (h - 2) * v / top
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="trend-bar"/>`,
				bw*float64(i)+1, h-bh, math.Max(bw-2, 1), bh)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // numbers and an escaped label
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
