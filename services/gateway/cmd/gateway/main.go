// Command gateway runs the gateway service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/gateway"
)

func main() {
	app.Main(gateway.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := gateway.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return gateway.New(ctx, cfg, d)
	})
}
