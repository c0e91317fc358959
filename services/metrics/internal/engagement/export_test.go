package engagement

import (
	"context"
	"time"
)

// ScanReport is the report computed from the KPI rows, bypassing the kept reports.
func (k *Keeper) ScanReport(ctx context.Context, from, to time.Time, by []string) (Report, error) {
	return k.scanReport(ctx, from, to, by)
}
