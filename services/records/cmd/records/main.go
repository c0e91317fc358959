// Command records runs the records service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/records"
)

func main() {
	app.Main(records.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := records.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return records.New(ctx, cfg, d)
	})
}
