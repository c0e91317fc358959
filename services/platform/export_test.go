package platform

import (
	"context"

	"github.com/attest-ehr/attest/libs/app"
)

// NewFunc builds one service the way its own binary does, for split-mode tests.
func NewFunc(name string) app.NewFunc {
	return func(ctx context.Context, getenv func(string) string, d app.Deps) (app.Service, error) {
		return build(ctx, name, getenv, d, nil)
	}
}
