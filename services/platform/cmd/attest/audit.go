package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/attest-ehr/attest/libs/app"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/services/gateway"
)

// runAudit verifies the gateway's audit log: the hash chain and every signed
// checkpoint. It fails naming the first altered, deleted, inserted or moved record.
func runAudit(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return errors.New("usage: attest audit verify")
	}
	env, err := app.EnvFrom(getenv)
	if err != nil {
		return err
	}
	cfg, err := gateway.ConfigFromEnv(getenv)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(env.DataDir)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, store.Config{URL: env.DatabaseURL, Service: gateway.Name, DataDir: dataDir})
	if err != nil {
		return err
	}
	defer db.Close()
	pub, err := gateway.AuditPublicKey(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	rep, err := gateway.VerifyAudit(ctx, db, pub)
	if err != nil {
		return err
	}
	if !rep.OK() {
		fmt.Fprintf(out, "audit log NOT intact: %d records read; first bad record: %d (%s)\n", rep.Records, rep.FirstBad, rep.Reason)
		return fmt.Errorf("audit log altered at record %d", rep.FirstBad)
	}
	fmt.Fprintf(out, "audit log intact: %d records, %d checkpoints, signed through record %d\n",
		rep.Records, rep.Checkpoints, rep.SignedThrough)
	return nil
}
