package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/attest-ehr/attest/services/reporting"
)

// runVerify checks an exported attestation file offline (docs/attestation.md):
// canonical form, payload hash, key ID, Ed25519 signature and, with --public-key,
// that the reporting service's key signed it. It prints every check and fails
// naming the ones that did not pass.
func runVerify(_ context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(out)
	key := fs.String("public-key", getenv("REPORTING_PUBLIC_KEY"),
		"base64 Ed25519 public key the file must be signed with (default $REPORTING_PUBLIC_KEY; none: any key, named in the output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: attest verify [--public-key BASE64] FILE")
	}
	file, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("read attestation: %w", err)
	}
	v, err := reporting.VerifyAttestation(file, *key)
	if err != nil {
		return err
	}
	for _, c := range v.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(out, "%s %-22s %s\n", mark, c.Name, c.Detail)
	}
	if err := v.Err(); err != nil {
		return err
	}
	p, r := v.Payload, v.Payload.Report
	fmt.Fprintf(out, "verified: attestation %s of %s %s %d (%s to %s), frozen %s by %s, signed by key %s",
		p.ID, r.Entity, r.Program, r.Year, r.Period.From, r.Period.To, p.FrozenAt.Format("2006-01-02T15:04:05Z07:00"), p.FrozenBy, v.KeyID)
	if *key == "" {
		fmt.Fprint(out, " (not pinned: compare the key ID with the reporting service's, logged at its start)")
	}
	fmt.Fprintln(out)
	return nil
}
