// Command metrics runs the metrics service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/metrics"
)

func main() {
	app.Main(metrics.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := metrics.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return metrics.New(ctx, cfg, d)
	})
}
