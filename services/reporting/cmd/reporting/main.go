// Command reporting runs the reporting service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/reporting"
)

func main() {
	app.Main(reporting.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := reporting.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return reporting.New(ctx, cfg, d)
	})
}
