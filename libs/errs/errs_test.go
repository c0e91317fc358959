package errs_test

import (
	"fmt"
	"testing"

	"github.com/attest-ehr/attest/libs/errs"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		kind errs.Kind
		want string
	}{
		{errs.Other, "internal"},
		{errs.Invalid, "invalid"},
		{errs.Unprocessable, "unprocessable"},
		{errs.NotFound, "not_found"},
		{errs.Conflict, "conflict"},
		{errs.Unauthenticated, "unauthenticated"},
		{errs.Forbidden, "forbidden"},
		{errs.TooLarge, "too_large"},
		{errs.RateLimited, "rate_limited"},
		{errs.Unavailable, "unavailable"},
		{errs.UnsupportedMediaType, "unsupported_media_type"},
		{errs.Kind(-1), "internal"},
		{errs.Kind(1000), "internal"},
	}
	for _, tt := range tests {
		if got := tt.kind.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(tt.kind), got, tt.want)
		}
	}
}

func TestKindAndFieldThroughWrapping(t *testing.T) {
	base := errs.Field(errs.UnsupportedMediaType, "Content-Type", "must be application/json")
	err := fmt.Errorf("decode: %w", errs.Wrap(errs.Other, base, "request"))
	if got := errs.KindOf(err); got != errs.Other {
		t.Errorf("KindOf = %v, want the outermost kind (Other)", got)
	}
	if got := errs.FieldOf(err); got != "Content-Type" {
		t.Errorf("FieldOf = %q", got)
	}
	if !errs.Is(errs.UnsupportedMediaType, base) {
		t.Errorf("Is(UnsupportedMediaType) = false")
	}
}
