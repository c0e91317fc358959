// Command education runs the education service on its own.
package main

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/services/education"
)

func main() {
	app.Main(education.Name, func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		cfg, err := education.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return education.New(ctx, cfg, d)
	})
}
