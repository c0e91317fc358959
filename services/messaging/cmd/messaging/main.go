// Command messaging runs the messaging service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/messaging"
)

func main() {
	app.Main(messaging.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := messaging.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return messaging.New(ctx, cfg, d)
	})
}
