package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/cache/cachetest"
	"github.com/attest-ehr/attest/services/gateway/internal/session"
)

func TestSession(t *testing.T) {
	ctx := context.Background()
	s := session.New(cachetest.New(t), time.Hour, time.Hour)
	token, sess, err := s.Create(ctx, session.Session{AccountID: "u-1", Principal: "officer:u-1", Method: "password+totp"})
	if err != nil || token == "" || sess.CSRF == "" || sess.Created.IsZero() {
		t.Fatalf("Create: %q %+v %v", token, sess, err)
	}
	got, err := s.Get(ctx, token)
	if err != nil || got.AccountID != "u-1" || got.CSRF != sess.CSRF {
		t.Fatalf("Get: %+v %v", got, err)
	}
	for _, bad := range []string{"", token + "x", string(make([]byte, 200))} {
		if _, err := s.Get(ctx, bad); !errors.Is(err, session.ErrExpired) {
			t.Errorf("Get(%q): %v", bad, err)
		}
	}
	if err := s.Delete(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, token); !errors.Is(err, session.ErrExpired) {
		t.Errorf("after Delete: %v", err)
	}
}

// TestAbsoluteLifetime: using a session keeps it alive only until its absolute
// lifetime, however active it is.
func TestAbsoluteLifetime(t *testing.T) {
	ctx := context.Background()
	s := session.New(cachetest.New(t), time.Hour, 700*time.Millisecond)
	token, _, err := s.Create(ctx, session.Session{AccountID: "u-1", Principal: "officer:u-1"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Get(ctx, token); err != nil {
			t.Fatalf("within the lifetime: %v", err)
		}
	}
	time.Sleep(800 * time.Millisecond)
	if _, err := s.Get(ctx, token); !errors.Is(err, session.ErrExpired) {
		t.Errorf("past the lifetime: %v", err)
	}
}
